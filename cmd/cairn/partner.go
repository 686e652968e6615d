package main

import (
	"errors"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newPartnerCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "partner", Short: "Register open source partners and list them"}
	var id, name string
	var share uint32
	var jsonOut bool
	reg := &cobra.Command{
		Use:   "register --name NAME --share-bps N [--id ID]",
		Short: "Register a partner ID with this node as its key and payout",
		Long: "Register signs a partner registration into this node's ledger chain. Uploaders tag\n" +
			"files with the ID (cairn put --partner ID); the partner earns N basis points of the\n" +
			"revenue of tagged files. The ID defaults to the name, lowercased, spaces as '-'.",
		Args: argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				id = partnerIDFromName(name)
				if id == "" {
					return errors.New("the name gives no valid partner ID: pass --id (1..64 of a-z 0-9 . _ -)")
				}
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			res, err := c.RegisterPartner(cmd.Context(), id, name, share)
			if err != nil {
				return err
			}
			if jsonOut {
				return a.printJSON(res)
			}
			a.printf("registered partner %s (%q) at %d bps, payout %s\n", res.ID, res.Name, res.ShareBPS, res.Payout)
			if !res.Mine && res.Owner != "" {
				a.printf("warning: %s registered this ID first; it keeps it\n", res.Owner)
			}
			return nil
		},
	}
	reg.Flags().StringVar(&name, "name", "", "the partner's display name (required)")
	reg.Flags().Uint32Var(&share, "share-bps", 0, "share of tagged revenue in basis points, 0..10000 (required)")
	reg.Flags().StringVar(&id, "id", "", "partner ID uploaders tag files with (default: from the name)")
	reg.Flags().BoolVar(&jsonOut, "json", false, "print the result as JSON")
	reg.MarkFlagRequired("name")
	reg.MarkFlagRequired("share-bps")

	var lsJSON bool
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List the partner IDs registered in this node's ledger",
		Args:  argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			parts, err := c.Partners(cmd.Context())
			if err != nil {
				return err
			}
			if lsJSON {
				return a.printJSON(parts)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			tw.Write([]byte("ID\tNAME\tSHARE_BPS\tPAYOUT\tMINE\n"))
			for _, p := range parts {
				mine := "no"
				if p.Mine {
					mine = "yes"
				}
				tw.Write([]byte(strings.Join([]string{p.ID, p.Name, strconv.FormatUint(uint64(p.ShareBPS), 10), p.Payout, mine}, "\t") + "\n"))
			}
			return tw.Flush()
		},
	}
	ls.Flags().BoolVar(&lsJSON, "json", false, "print the list as JSON")
	cmd.AddCommand(reg, ls)
	return cmd
}

// partnerIDFromName lowercases name, turns spaces into '-' and drops what a partner tag may
// not hold ([a-z0-9._-] only, at most 64 bytes).
func partnerIDFromName(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(name)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		}
	}
	s := b.String()
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}
