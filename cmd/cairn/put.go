package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/spf13/cobra"
)

type putFlags struct {
	k, n    int
	partner string
	json    bool
	quiet   bool
}

func newPutCmd(a *app) *cobra.Command {
	var f putFlags
	cmd := &cobra.Command{
		Use:   "put FILE",
		Short: "Store a file in the network and print its capability",
		Long: "Store a file in the network. The capability printed on the last line is the only way to\n" +
			"read or remove the file again: keep it, and keep it secret.",
		Args: argNames("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.put(cmd.Context(), args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.k, "k", 0, "shards needed to recover each segment (default from the node's config)")
	fl.IntVar(&f.n, "n", 0, "shards stored per segment (default from the node's config)")
	fl.StringVar(&f.partner, "partner", "", "tag the file for an open source partner's revenue share (default: the node's put.partner); fixed at put time")
	fl.BoolVar(&f.json, "json", false, "print the result as JSON")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print only the capability, no progress")
	return cmd
}

func (f putFlags) validate() error {
	if f.k < 0 || f.n < 0 {
		return errors.New("--k and --n must be positive")
	}
	if f.n > 255 {
		return errors.New("--n must be at most 255")
	}
	if f.k > 0 && f.n > 0 && f.k >= f.n {
		return fmt.Errorf("--k %d --n %d: k must be smaller than n", f.k, f.n)
	}
	return nil
}

// openInput opens a regular file and returns its size, with messages that name the problem.
func openInput(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, 0, fmt.Errorf("input file %s does not exist", path)
		case errors.Is(err, fs.ErrPermission):
			return nil, 0, fmt.Errorf("cannot read input file %s: permission denied", path)
		}
		return nil, 0, fmt.Errorf("open input file: %w", err)
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		err = fmt.Errorf("%s is a directory; put stores one file", path)
	} else if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file; put needs its size up front", path)
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

func (a *app) put(ctx context.Context, path string, f putFlags) error {
	if err := f.validate(); err != nil {
		return err
	}
	in, size, err := openInput(path)
	if err != nil {
		return err
	}
	defer in.Close()
	c, err := a.client()
	if err != nil {
		return err
	}
	bar := a.newProgress(ctx, "put", size, !f.quiet)
	// Send exactly the size announced, even if the file grows meanwhile.
	body := bar.reader(io.LimitReader(in, size))
	res, err := c.Put(ctx, body, size, api.PutOptions{K: f.k, N: f.n, Name: filepath.Base(path), Partner: f.partner})
	bar.done(err == nil)
	if err != nil {
		return err
	}
	switch {
	case f.json:
		return a.printJSON(res)
	case f.quiet:
		a.printf("%s\n", res.Cap)
	default:
		a.printf("stored %s: %s in %s, k=%d n=%d, manifest on %s\ncid %s\n%s\n",
			filepath.Base(path), humanSize(res.Size), plural(res.Segments, "segment", "segments"),
			res.K, res.N, plural(res.Stewards, "node", "nodes"), res.CID, res.Cap)
	}
	return nil
}
