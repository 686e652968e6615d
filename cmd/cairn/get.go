package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"
)

func newGetCmd(a *app) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "get CAP -o OUT",
		Short: "Fetch a file by its capability",
		Long: "Fetch a file by its capability into OUT (\"-\" for stdout). OUT appears only once the whole\n" +
			"file has arrived; on failure an existing OUT is left untouched.",
		Args: argNames("CAP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.get(cmd.Context(), args[0], out)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", `output file ("-" for stdout); required`)
	return cmd
}

func (a *app) get(ctx context.Context, capArg, out string) error {
	capability, err := checkCapability(capArg)
	if err != nil {
		return err
	}
	if out == "" {
		return errors.New("missing -o OUT: the file to write (-o - writes to stdout)")
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	var dst output = stream{a.stdout}
	if out != "-" {
		if dst, err = createOutput(out); err != nil {
			return err
		}
	}
	bar := a.newProgress(ctx, "get", 0, true)
	err = c.Get(ctx, capability, bar.writer(dst), bar.setTotal)
	bar.done(err == nil)
	if err != nil {
		dst.abort()
		return err
	}
	return dst.commit()
}
