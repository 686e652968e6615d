package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/spf13/cobra"
)

// resumeHint is how a user carries on with an exit that did not finish.
const resumeHint = "run 'cairn exit' again (or restart the daemon) to resume"

func newExitCmd(a *app) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "exit",
		Short: "Leave the network gracefully: hand every shard to other nodes, then stop the daemon",
		Long: "Exit asks the daemon to hand every shard it holds to other nodes, chosen as for a new\n" +
			"upload, and to record the new holders in each file's locations, so no file loses\n" +
			"redundancy when this node goes away. It can take minutes. Once nothing is left to\n" +
			"hand over, the daemon stops.\n\n" +
			"Exit is resumable: the daemon remembers it is exiting. If some shards could not be\n" +
			"moved, or the command was interrupted, run 'cairn exit' again, or restart the daemon,\n" +
			"and it carries on where it stopped.\n\n" +
			"The exit status is 0 only when the exit is complete.",
		Args: argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.exit(cmd.Context(), jsonOut)
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the result as JSON (the exit status still says whether it is complete)")
	return cmd
}

func (a *app) exit(ctx context.Context, jsonOut bool) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	if a.stderrTTY && !jsonOut {
		fmt.Fprintln(a.stderr, "exit: handing this node's shards to other nodes; this can take minutes…")
	}
	res, err := c.Exit(ctx)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return errors.New("interrupted before the exit finished; " + resumeHint)
		}
		var ae *api.Error
		if errors.As(err, &ae) {
			return err // the daemon's own reason, e.g. too few nodes to take the shards
		}
		return fmt.Errorf("%w; %s", err, resumeHint)
	}
	if jsonOut {
		if err := a.printJSON(res); err != nil {
			return err
		}
	} else {
		a.printf("%s\n", exitSummary(res))
	}
	if !res.Complete {
		return incompleteExit(res)
	}
	return nil
}

// exitSummary is the one-line human result.
func exitSummary(res *api.ExitResult) string {
	if res.Complete && res.Shards == 0 && res.Moved == 0 {
		return "exit complete: this node holds no shards; the daemon is stopping"
	}
	s := fmt.Sprintf("%s held, %d moved, %d failed; locations of %s updated",
		plural(res.Shards, "shard", "shards"), res.Moved, res.Failed, plural(res.Files, "file", "files"))
	if res.Complete {
		return "exit complete: " + s + "; the daemon is stopping"
	}
	return "exit incomplete: " + s
}

// incompleteExit is the error, and so the non-zero exit status, of a pass that left shards here.
func incompleteExit(res *api.ExitResult) error {
	msg := "exit not complete"
	switch {
	case res.Failed > 0:
		msg += fmt.Sprintf(": %s still on this node", plural(res.Failed, "shard is", "shards are"))
	case res.Moved < res.Shards:
		msg += fmt.Sprintf(": %d of %s moved", res.Moved, plural(res.Shards, "shard", "shards"))
	}
	if res.Error != "" {
		msg += " (" + oneLine(res.Error, 200) + ")"
	}
	return errors.New(msg + "; " + resumeHint)
}
