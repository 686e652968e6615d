package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/repo"
	"github.com/spf13/cobra"
)

// app is what every command shares: the repo flag and where output goes (swapped in tests).
type app struct {
	repoPath  string
	stdout    io.Writer
	stderr    io.Writer
	stderrTTY bool // progress bars only when a human watches
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "cairn",
		Short: "Cairn peer-to-peer storage",
		Long: "Cairn stores files erasure-coded and encrypted across peers.\n" +
			"Start a node with 'cairn init' then 'cairn daemon'; the other commands talk to it.",
		SilenceUsage:  true, // errors are printed once, by run, as "cairn: <message>"
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&a.repoPath, "repo", repo.DefaultPath(),
		"repo directory (default $"+repo.EnvPath+" or ~/.cairn)")
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())
	})
	root.AddCommand(
		newInitCmd(a), newDaemonCmd(a), newDevnetCmd(a),
		newPutCmd(a), newGetCmd(a), newStatCmd(a), newLsCmd(a), newRmCmd(a),
		newIDCmd(a), newPeersCmd(a), newExitCmd(a),
		newPartnerCmd(a), newLedgerCmd(a),
		newSimCmd(a),
	)
	return root
}

// argNames makes a cobra arg validator that names what is missing instead of counting.
func argNames(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < len(names) {
			return fmt.Errorf("missing %s argument (usage: %s)", names[len(args)], cmd.UseLine())
		}
		if len(args) > len(names) {
			return fmt.Errorf("unexpected argument %q (usage: %s)", args[len(names)], cmd.UseLine())
		}
		return nil
	}
}

// client connects to the daemon of the selected repo.
func (a *app) client() (*api.Client, error) {
	return api.NewClientFromRepo(a.repoPath)
}

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (a *app) printf(format string, args ...any) {
	fmt.Fprintf(a.stdout, format, args...)
}

// shellQuote quotes a path for a copy-pasteable hint when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?&;|<>(){}[]#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
