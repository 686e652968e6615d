package main

import (
	"context"
	"io"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// progress is a byte-count bar on stderr. A nil *progress (no terminal, or -q) does nothing,
// so callers never branch on it.
type progress struct {
	p   *mpb.Progress
	bar *mpb.Bar
}

// newProgress starts a bar; total <= 0 means unknown until setTotal.
func (a *app) newProgress(ctx context.Context, label string, total int64, enabled bool) *progress {
	if !enabled || !a.stderrTTY {
		return nil
	}
	// WithAutoRefresh: stderrTTY already decided; mpb would otherwise re-check a.stderr itself.
	p := mpb.NewWithContext(ctx, mpb.WithOutput(a.stderr), mpb.WithWidth(40),
		mpb.WithRefreshRate(150*time.Millisecond), mpb.WithAutoRefresh())
	bar := p.New(total, mpb.BarStyle(),
		mpb.PrependDecorators(
			decor.Name(label, decor.WC{C: decor.DindentRight | decor.DextraSpace}),
			decor.CountersKibiByte("% .1f / % .1f"),
		),
		mpb.AppendDecorators(
			decor.AverageSpeed(decor.SizeB1024(0), "% .1f"),
			decor.Name(" "),
			decor.Percentage(),
		),
	)
	return &progress{p: p, bar: bar}
}

// readOnly hides io.WriterTo: with it, a copy reports all its bytes at the very end.
type readOnly struct{ io.Reader }

func (pr *progress) reader(r io.Reader) io.Reader {
	if pr == nil {
		return r
	}
	if pr := pr.bar.ProxyReader(readOnly{r}); pr != nil {
		return pr
	}
	return r
}

type writeOnly struct{ io.Writer }

func (pr *progress) writer(w io.Writer) io.Writer {
	if pr == nil {
		return w
	}
	if pw := pr.bar.ProxyWriter(writeOnly{w}); pw != nil {
		return pw
	}
	return w
}

func (pr *progress) setTotal(n int64) {
	if pr != nil {
		pr.bar.SetTotal(n, false)
	}
}

// done completes the bar on success and waits for its last draw. A failed transfer keeps its
// bar to show where it stopped, unless nothing moved: then only the error message remains.
func (pr *progress) done(ok bool) {
	if pr == nil {
		return
	}
	if ok {
		pr.bar.SetTotal(-1, true) // completes a bar whose total was unknown; no-op otherwise
	}
	pr.bar.Abort(pr.bar.Current() == 0) // no-op on a completed bar; guarantees Wait returns
	pr.p.Wait()
}
