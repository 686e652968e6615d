package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/spf13/cobra"
)

func newIDCmd(a *app) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "id",
		Short: "Show this node's peer ID, addresses and storage",
		Args:  argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			id, err := c.ID(cmd.Context())
			if err != nil {
				return err
			}
			if jsonOut {
				return a.printJSON(id)
			}
			a.printf("peer id: %s\nagent:   %s\nstorage: %s used of %s, %s free\naddresses:\n",
				id.PeerID, id.Agent, humanSize(id.Used), humanSize(id.Capacity), humanSize(id.Free))
			for _, addr := range id.Addresses {
				a.printf("  %s\n", addr)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the result as JSON")
	return cmd
}

func newPeersCmd(a *app) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "peers",
		Short: "List connected peers",
		Args:  argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			peers, err := c.Peers(cmd.Context())
			if err != nil {
				return err
			}
			if jsonOut {
				if peers == nil {
					peers = []api.PeerInfo{}
				}
				return a.printJSON(peers)
			}
			if len(peers) == 0 {
				a.printf("no peers\n")
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PEER\tROUTING TABLE\tADDRESSES")
			for _, p := range peers {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", p.PeerID, yesNo(p.InRoutingTable), strings.Join(p.Address, " "))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the result as JSON")
	return cmd
}
