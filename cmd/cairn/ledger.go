package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"slices"
	"strconv"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/payments"
	"github.com/spf13/cobra"
)

func newLedgerCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "ledger", Short: "Inspect, export, import and settle this node's ledger"}

	var showJSON bool
	show := &cobra.Command{
		Use: "show", Short: "Summarize the ledger: entries per kind, authors, own chain, excluded authors",
		Args: argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			s, err := c.LedgerShow(cmd.Context())
			if err != nil {
				return err
			}
			if showJSON {
				return a.printJSON(s)
			}
			a.printf("entries: %d from %d authors\n", s.Entries, s.Authors)
			kinds := make([]string, 0, len(s.Kinds))
			for k := range s.Kinds {
				kinds = append(kinds, k)
			}
			slices.Sort(kinds)
			for _, k := range kinds {
				a.printf("  %s: %d\n", k, s.Kinds[k])
			}
			a.printf("own chain: %s at seq %d %s\n", s.Self, s.Frontier.Seq, s.Frontier.ID)
			a.printf("excluded (forked) authors: %d\n", len(s.Excluded))
			for _, x := range s.Excluded {
				a.printf("  %s\n", x)
			}
			a.printf("epoch: %d (length %d s)\n", s.Epoch, s.EpochLength)
			return nil
		},
	}
	show.Flags().BoolVar(&showJSON, "json", false, "print the summary as JSON")

	var epoch uint64
	var settleJSON, settleCSV bool
	settle := &cobra.Command{
		Use: "settle [--epoch E]", Short: "Settle an epoch (default: the last closed one) from this node's entries",
		Args: argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if settleJSON && settleCSV {
				return fmt.Errorf("--json and --csv exclude each other")
			}
			var ep *uint64
			if cmd.Flags().Changed("epoch") {
				ep = &epoch
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			st, err := c.LedgerSettle(cmd.Context(), ep)
			if err != nil {
				return err
			}
			switch {
			case settleJSON:
				return a.printJSON(st)
			case settleCSV:
				return a.settlementCSV(st)
			}
			a.printf("epoch %d root %s: %d usage entries\n", st.Epoch, st.Root, st.Entries)
			for _, sec := range []struct {
				name  string
				lines []payments.Line
			}{{"charges", st.Charges}, {"payouts", st.Payouts}, {"partner shares", st.PartnerShares}} {
				a.printf("%s: %d\n", sec.name, payments.Total(sec.lines))
				for _, l := range sec.lines {
					a.printf("  %s %s\n", l.Account, l)
				}
			}
			a.printf("fee: %d\nremainder: %d\n", st.Fee, st.Remainder)
			return nil
		},
	}
	settle.Flags().Uint64Var(&epoch, "epoch", 0, "epoch to settle (default: the last closed one)")
	settle.Flags().BoolVar(&settleJSON, "json", false, "print the statement as JSON")
	settle.Flags().BoolVar(&settleCSV, "csv", false, "print the statement as CSV")

	export := &cobra.Command{
		Use: "export", Short: "Write every entry to stdout, one base64 line each, in (author, seq) order",
		Args: argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			return c.LedgerExport(cmd.Context(), a.stdout)
		},
	}

	var importJSON bool
	imp := &cobra.Command{
		Use: "import FILE", Short: "Validate and store the entries of an export; fails if any was rejected",
		Args: argNames("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
			defer f.Close()
			c, err := a.client()
			if err != nil {
				return err
			}
			res, err := c.LedgerImport(cmd.Context(), f)
			if err != nil {
				return err
			}
			if importJSON {
				if err := a.printJSON(res); err != nil {
					return err
				}
			} else {
				a.printf("accepted: %d\nrejected: %d\n", res.Accepted, res.RejectedCount)
				for _, r := range res.Rejected {
					a.printf("  line %d: %s: %s\n", r.Line, r.Reason, r.Detail)
				}
				if more := res.RejectedCount - len(res.Rejected); more > 0 {
					a.printf("  ... and %d more\n", more)
				}
			}
			if res.RejectedCount > 0 {
				return fmt.Errorf("%d of %d entries rejected", res.RejectedCount, res.RejectedCount+res.Accepted)
			}
			return nil
		},
	}
	imp.Flags().BoolVar(&importJSON, "json", false, "print the result as JSON")

	cmd.AddCommand(show, settle, newLedgerVerifyCmd(a), export, imp)
	return cmd
}

// newLedgerVerifyCmd compares this node's statement of an epoch with the other nodes' and
// exits non-zero when they disagree, like diff.
func newLedgerVerifyCmd(a *app) *cobra.Command {
	var epoch uint64
	var asJSON bool
	cmd := &cobra.Command{
		Use: "verify [--epoch E]", Short: "Check this node's statement of an epoch against the roots other nodes signed",
		Args: argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ep *uint64
			if cmd.Flags().Changed("epoch") {
				ep = &epoch
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			res, err := c.LedgerVerify(cmd.Context(), ep)
			if err != nil {
				return err
			}
			if asJSON {
				if err := a.printJSON(res); err != nil {
					return err
				}
			} else {
				a.printVerify(res)
			}
			if !res.Agree {
				return fmt.Errorf("epoch %d: %d of %d other statements disagree with this node's root",
					res.Epoch, len(res.Statements)-res.Agreeing, len(res.Statements))
			}
			return nil
		},
	}
	cmd.Flags().Uint64Var(&epoch, "epoch", 0, "epoch to verify (default: the last closed one)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func (a *app) printVerify(res *api.VerifyResult) {
	verdict := "agrees with"
	if !res.Agree {
		verdict = "DISAGREES with"
	}
	a.printf("epoch %d root %s (%d usage entries): %s %d other statement(s), %d agreeing\n",
		res.Epoch, res.Root, res.Entries, verdict, len(res.Statements), res.Agreeing)
	for _, s := range res.Statements {
		mark := "ok"
		if !s.Agrees {
			mark = "differs"
		}
		a.printf("  %-7s %s root %s (%d entries)\n", mark, s.Author, s.Root, s.Entries)
	}
	for _, d := range res.Differences {
		a.printf("  %s vs %s: %s seq %d %s %s\n", d.Side, d.Peer, d.Author, d.Seq, d.Kind, d.ID)
	}
	for _, p := range res.Unreachable {
		a.printf("  could not compare entries with %s\n", p)
	}
}

// settlementCSV writes one row per statement line, then the fee and the remainder.
func (a *app) settlementCSV(st *payments.Settlement) error {
	w := csv.NewWriter(a.stdout)
	w.Write([]string{"section", "account", "partner", "amount", "storage", "egress", "revenue", "share_bps"})
	i := func(v payments.Amount) string { return strconv.FormatInt(int64(v), 10) }
	for _, sec := range []struct {
		name  string
		lines []payments.Line
	}{{payments.SectionCharges, st.Charges}, {payments.SectionPayouts, st.Payouts}, {payments.SectionPartnerShares, st.PartnerShares}} {
		for _, l := range sec.lines {
			w.Write([]string{sec.name, l.Account, l.Partner, i(l.Amount), i(l.Storage), i(l.Egress), i(l.Revenue),
				strconv.FormatUint(uint64(l.ShareBPS), 10)})
		}
	}
	w.Write([]string{"fee", "", "", i(st.Fee), "", "", "", ""})
	w.Write([]string{"remainder", "", "", i(st.Remainder), "", "", "", ""})
	w.Flush()
	return w.Error()
}
