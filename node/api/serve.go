package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// shutdownGrace is how long Serve lets requests finish after ctx ends, then again how long it
// waits for aborted handlers to return. Devnet SIGKILLs a daemon 10 s after SIGTERM, so both
// together must stay well below that.
const shutdownGrace = 3 * time.Second

// Serve serves h on ln until ctx ends, then shuts down gracefully: in-flight requests get
// shutdownGrace to finish before their contexts are canceled and connections closed. It returns
// only after handlers have returned (or a second grace period passed), so the caller can close
// the backend afterwards. A nil error means ctx ended.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	// Request contexts descend from base, not ctx, so the grace period is real.
	base, abort := context.WithCancel(context.Background())
	defer abort()
	var active atomic.Int64
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			active.Add(1)
			defer active.Add(-1)
			h.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		abort()
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// Close does not wait for handlers; give aborted ones a moment to notice.
	deadline := time.Now().Add(shutdownGrace)
	for active.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}
