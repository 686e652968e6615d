package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
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
	var jsonOut, scores bool
	cmd := &cobra.Command{
		Use:   "peers",
		Short: "List known peers, and with --scores how this node rates them",
		Long: "List the peers this node is connected to, has in its routing table, or has scored.\n" +
			"--scores shows this node's own view of each peer, best first: status, audit score,\n" +
			"suspension (availability; low means timeouts, not lies), rank (the placement weight;\n" +
			"0 gets no new data), audits passed/failed/timed out, and whether it is vetted.",
		Args: argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			peers, err := c.Peers(cmd.Context())
			if err != nil {
				return err
			}
			sortPeers(peers, scores)
			if jsonOut {
				if peers == nil {
					peers = []api.PeerInfo{} // scripts get an array, never null
				}
				return a.printJSON(peers)
			}
			if len(peers) == 0 {
				a.printf("no peers\n")
				return nil
			}
			if scores {
				return printPeerScores(a.stdout, peers)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PEER\tROUTING TABLE\tADDRESSES")
			for _, p := range peers {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", peerID(p), yesNo(p.InRoutingTable), strings.Join(p.Address, " "))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the result as JSON")
	cmd.Flags().BoolVar(&scores, "scores", false, "show reputation: status, score, suspension, rank, audits; best first")
	return cmd
}

// sortPeers orders by ID, or with byRank best placement weight first (ties by ID), so the
// output is stable from one call to the next.
func sortPeers(peers []api.PeerInfo, byRank bool) {
	slices.SortStableFunc(peers, func(x, y api.PeerInfo) int {
		if byRank {
			if c := cmp.Compare(y.Rank, x.Rank); c != 0 {
				return c
			}
		}
		return strings.Compare(peerID(x), peerID(y))
	})
}

func printPeerScores(w io.Writer, peers []api.PeerInfo) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PEER\tSTATUS\tSCORE\tSUSPENSION\tRANK\tAUDITS PASSED/FAILED/TIMED-OUT\tVETTED")
	for _, p := range peers {
		status := p.Status
		if status == "" {
			status = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d/%d\t%s\n", shortID(peerID(p)), status,
			fixed4(p.Score), fixed4(p.Suspension), fixed4(p.Rank),
			p.AuditsPassed, p.AuditsFailed, p.AuditsTimedOut, yesNo(p.Vetted))
	}
	return tw.Flush()
}
