package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestExitEndpoint(t *testing.T) {
	_, c := newTestServer(t, newFake())
	res, err := c.Exit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if *res != (ExitResult{Shards: 3, Moved: 3, Files: 2, Complete: true}) {
		t.Fatalf("exit result %+v", res)
	}
}

// The exit endpoint makes the node leave the network: nothing but an authenticated local POST
// may reach the backend.
func TestExitGuarded(t *testing.T) {
	fb := newFake()
	srv, _ := newTestServer(t, fb)
	auth := "Bearer " + testToken
	for _, bad := range []string{"", "Bearer wrong", testToken} {
		resp, e := rawPost(t, srv, "/api/v1/exit", bad, nil, nil)
		if resp.StatusCode != http.StatusUnauthorized || e.Code != CodeUnauthorized {
			t.Errorf("auth %q: status %d %v, want 401", bad, resp.StatusCode, e)
		}
	}
	if _, err := NewClient(srv.URL, "wrong").Exit(context.Background()); err == nil {
		t.Error("client with a wrong token: exit accepted")
	} else {
		wantCode(t, err, CodeUnauthorized)
	}
	resp, _ := rawPost(t, srv, "/api/v1/exit", auth, nil, func(r *http.Request) { r.Header.Set("Origin", "http://localhost") })
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("Origin: status %d, want 403", resp.StatusCode)
	}
	resp, _ = rawPost(t, srv, "/api/v1/exit", auth, nil, func(r *http.Request) { r.Host = "evil.example" })
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign Host: status %d, want 403", resp.StatusCode)
	}
	resp, _ = rawPost(t, srv, "/api/v1/exit", auth, strings.NewReader(`{"force":true}`), nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown field: status %d, want 400", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/exit", nil)
	req.Header.Set("Authorization", auth)
	if resp, err := srv.Client().Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d, want 405", resp.StatusCode)
	}
	if n := fb.exitCount(); n != 0 {
		t.Fatalf("%d refused requests reached the backend", n)
	}
	for _, body := range []string{"", "{}"} {
		if resp, e := rawPost(t, srv, "/api/v1/exit", auth, strings.NewReader(body), nil); resp.StatusCode != http.StatusOK {
			t.Errorf("body %q: status %d %v, want 200", body, resp.StatusCode, e)
		}
	}
	if n := fb.exitCount(); n != 2 {
		t.Fatalf("backend called %d times, want 2", n)
	}
}

func TestExitResultsAndErrors(t *testing.T) {
	fb := newFake()
	_, c := newTestServer(t, fb)
	ctx := context.Background()
	exitWith := func(res *ExitResult, err error) (*ExitResult, error) {
		fb.set(func() {
			fb.exitHook = func(context.Context) (*ExitResult, error) { return res, err }
		})
		return c.Exit(ctx)
	}

	// Not complete is a result, not an error.
	want := ExitResult{Shards: 5, Moved: 3, Failed: 2, Files: 1, Error: "2 shards found no taker"}
	got, err := exitWith(&want, nil)
	if err != nil || *got != want {
		t.Fatalf("incomplete pass: %+v %v, want %+v", got, err, want)
	}
	// A pass cut short still reports what moved, never as complete.
	got, err = exitWith(&ExitResult{Shards: 5, Moved: 4, Failed: 1, Complete: true}, errors.New("node shutting down"))
	if err != nil || got.Complete || got.Moved != 4 || got.Error != "node shutting down" {
		t.Fatalf("partial result with error: %+v %v", got, err)
	}
	// Without a result the error and its code come through.
	_, err = exitWith(nil, codedErr{CodeTooFewNodes, "no node can take shards"})
	wantCode(t, err, CodeTooFewNodes)
	_, err = exitWith(nil, errors.New("store closed"))
	wantCode(t, err, CodeInternal)
	if !strings.Contains(err.Error(), "store closed") {
		t.Fatalf("message lost: %v", err)
	}
	_, err = exitWith(nil, nil)
	wantCode(t, err, CodeInternal)
}

// A user who stops waiting (Ctrl-C) cancels the pass's context in the daemon.
func TestExitCancelReachesBackend(t *testing.T) {
	fb := newFake()
	started, ended := make(chan struct{}), make(chan error, 1)
	fb.exitHook = func(ctx context.Context) (*ExitResult, error) {
		close(started)
		select {
		case <-ctx.Done():
			ended <- ctx.Err()
		case <-time.After(10 * time.Second):
			ended <- errors.New("context never canceled")
		}
		return nil, ctx.Err()
	}
	_, c := newTestServer(t, fb)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := c.Exit(ctx); errc <- err }()
	select {
	case <-started:
	case err := <-errc:
		t.Fatalf("exit never reached the backend: %v", err)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("client: %v, want context.Canceled", err)
	}
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("backend: %v", err)
	}
}

// When exit completes the node stops the daemon; the answer must still reach the user.
func TestExitThatStopsDaemonStillAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fb := newFake()
	ctx, stopDaemon := context.WithCancel(context.Background())
	defer stopDaemon()
	fb.exitHook = func(context.Context) (*ExitResult, error) {
		stopDaemon()                      // what the node does once nothing is left
		time.Sleep(50 * time.Millisecond) // and some last bookkeeping
		return &ExitResult{Shards: 1, Moved: 1, Files: 1, Complete: true}, nil
	}
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, NewServer(fb, testToken)) }()
	res, err := NewClient("http://"+ln.Addr().String(), testToken).Exit(context.Background())
	if err != nil || !res.Complete {
		t.Fatalf("exit: %+v %v", res, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(2 * shutdownGrace):
		t.Fatal("Serve did not return")
	}
}
