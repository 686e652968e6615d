package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/spf13/cobra"
)

func newStatCmd(a *app) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "stat CAP",
		Short: "Show a file's layout, which shard holders answer and how healthy it is",
		Args:  argNames("CAP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.stat(cmd.Context(), args[0], jsonOut)
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the result as JSON")
	return cmd
}

func (a *app) stat(ctx context.Context, capArg string, jsonOut bool) error {
	capability, err := checkCapability(capArg)
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	st, err := c.Stat(ctx, capability)
	if err != nil {
		return err
	}
	if jsonOut {
		return a.printJSON(st)
	}
	printStat(a.stdout, st)
	return nil
}

func printStat(w io.Writer, st *api.StatResult) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "cid\t%s\n", st.CID)
	if st.Name != "" {
		fmt.Fprintf(tw, "name\t%s\n", st.Name)
	}
	fmt.Fprintf(tw, "size\t%s (%d bytes)\n", humanSize(st.Size), st.Size)
	fmt.Fprintf(tw, "k/n\t%d/%d\n", st.K, st.N)
	fmt.Fprintf(tw, "segments\t%d of up to %s\n", len(st.Segments), humanSize(st.SegmentSize))
	if st.Cipher != "" {
		fmt.Fprintf(tw, "cipher\t%s\n", st.Cipher)
	}
	if st.Partner != "" {
		fmt.Fprintf(tw, "partner\t%s\n", st.Partner)
	}
	fmt.Fprintf(tw, "stewards\t%d\n", len(st.Stewards))
	tw.Flush()
	for _, seg := range st.Segments {
		n := st.N
		if n <= 0 { // a stat without n: count the shards listed
			n = len(seg.Shards)
		}
		answer := 0
		for _, sh := range seg.Shards {
			if sh.Answers {
				answer++
			}
		}
		fmt.Fprintf(w, "\nsegment %d: %s, healthy %d/%d, %d of %d shards answer (need %d)\n",
			seg.Index, humanSize(seg.Size), seg.Healthy, n, answer, len(seg.Shards), st.K)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  SHARD\tHOLDER\tHEALTHY\tANSWERS")
		for _, sh := range seg.Shards {
			ans := yesNo(sh.Answers)
			if sh.Error != "" {
				ans += " (" + oneLine(sh.Error, 100) + ")"
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\n", sh.Index, shortID(sh.Holder), yesNo(sh.Healthy), ans)
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\nretrievable: %s\nfull health: %s\nlast repair: %s\n",
		yesNo(st.Retrievable), yesNo(st.FullHealth), lastRepair(st.LastRepair))
}

// lastRepair names when a steward majority last re-placed a shard of the file.
func lastRepair(sec int64) string {
	if sec == 0 {
		return "never"
	}
	return unixTime(sec)
}

func newLsCmd(a *app) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the files this node stored",
		Args:  argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ls, err := c.List(cmd.Context())
			if err != nil {
				return err
			}
			if jsonOut {
				if ls == nil {
					ls = []api.ListEntry{}
				}
				return a.printJSON(ls)
			}
			printList(a.stdout, ls)
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the result as JSON")
	return cmd
}

func printList(w io.Writer, ls []api.ListEntry) {
	if len(ls) == 0 {
		fmt.Fprintln(w, "no files")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CAP\tNAME\tSIZE\tCREATED")
	for _, e := range ls {
		name := e.Name
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Cap, name, humanSize(e.Size), unixTime(e.Created))
	}
	tw.Flush()
}

func newRmCmd(a *app) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "rm CAP",
		Short: "Delete a file's shards and manifest copies from the network",
		Args:  argNames("CAP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			capability, err := checkCapability(args[0])
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			res, err := c.Remove(cmd.Context(), capability)
			if err != nil {
				return err
			}
			if jsonOut {
				return a.printJSON(res)
			}
			if !res.Complete {
				// Not a success: shards remain until their holders return.
				a.printf("removal pending for %s: %s deleted; %s on holders that did not answer; %s will finish when they return, and serve the file to nobody meanwhile\n",
					res.CID, plural(res.ShardsDeleted, "shard", "shards"), plural(res.Pending, "shard is", "shards are"),
					plural(res.Tombstones, "steward", "stewards"))
				return nil
			}
			if res.ManifestCopies == 0 {
				// Every shard is gone; a steward was down, so the others drop the copies later.
				a.printf("removed %s: %s deleted; %s drop the manifest copies once every steward answers\n", res.CID,
					plural(res.ShardsDeleted, "shard", "shards"), plural(res.Tombstones, "steward", "stewards"))
				return nil
			}
			a.printf("removed %s: %s deleted, %s of the manifest deleted\n", res.CID,
				plural(res.ShardsDeleted, "shard", "shards"), plural(res.ManifestCopies, "copy", "copies"))
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the result as JSON")
	return cmd
}
