package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/repo"
)

const testToken = "s3cret"

func newTestServer(t *testing.T, b Backend) (*httptest.Server, *Client) {
	t.Helper()
	srv := httptest.NewServer(NewServer(b, testToken))
	t.Cleanup(srv.Close)
	return srv, NewClient(srv.URL, testToken)
}

func rawPost(t *testing.T, srv *httptest.Server, path, auth string, body io.Reader, edit func(*http.Request)) (*http.Response, *Error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if edit != nil {
		edit(req)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return resp, nil
	}
	return resp, decodeError(resp).(*Error)
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T): want *api.Error with code %s", err, err, code)
	}
	if e.Code != code {
		t.Fatalf("code %q (%s), want %q", e.Code, e.Message, code)
	}
}

func TestTokenRequired(t *testing.T) {
	srv, c := newTestServer(t, newFake())
	for _, auth := range []string{"", "Bearer wrong", "Bearer " + testToken + "x", testToken, "Basic " + testToken} {
		resp, e := rawPost(t, srv, "/api/v1/id", auth, nil, nil)
		if resp.StatusCode != http.StatusUnauthorized || e.Code != CodeUnauthorized {
			t.Errorf("auth %q: status %d code %v, want 401 unauthorized", auth, resp.StatusCode, e)
		}
	}
	if _, err := NewClient(srv.URL, "wrong").ID(context.Background()); err == nil {
		t.Fatal("wrong token accepted")
	} else {
		wantCode(t, err, CodeUnauthorized)
	}
	id, err := c.ID(context.Background())
	if err != nil || id.PeerID != "12D3KooWfake" {
		t.Fatalf("ID with token: %v %v", id, err)
	}
}

func TestEmptyServerTokenLocksAPI(t *testing.T) {
	srv := httptest.NewServer(NewServer(newFake(), ""))
	defer srv.Close()
	if _, err := NewClient(srv.URL, "").ID(context.Background()); err == nil {
		t.Fatal("empty token accepted")
	}
}

func TestMethodNotAllowed(t *testing.T) {
	srv, _ := newTestServer(t, newFake())
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodOptions} {
		req, _ := http.NewRequest(m, srv.URL+"/api/v1/id", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s: status %d, want 405", m, resp.StatusCode)
		}
	}
}

func TestOriginAndHostRejected(t *testing.T) {
	srv, _ := newTestServer(t, newFake())
	auth := "Bearer " + testToken
	resp, _ := rawPost(t, srv, "/api/v1/id", auth, nil, func(r *http.Request) { r.Header.Set("Origin", "http://127.0.0.1:5101") })
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("Origin: status %d, want 403", resp.StatusCode)
	}
	for _, host := range []string{"evil.example", "evil.example:5101", "127.0.0.1.evil.example", "10.0.0.1:80"} {
		resp, _ := rawPost(t, srv, "/api/v1/id", auth, nil, func(r *http.Request) { r.Host = host })
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("Host %q: status %d, want 403", host, resp.StatusCode)
		}
	}
	for _, host := range []string{"localhost:5101", "127.0.0.1", "[::1]:5101", "127.1.2.3:9"} {
		resp, _ := rawPost(t, srv, "/api/v1/id", auth, nil, func(r *http.Request) { r.Host = host })
		if resp.StatusCode != http.StatusOK {
			t.Errorf("Host %q: status %d, want 200", host, resp.StatusCode)
		}
	}
}

func TestIsLoopbackAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:5101": true, "localhost:0": true, "[::1]:1": true,
		"0.0.0.0:5101": false, ":5101": false, "192.168.1.2:5101": false, "127.0.0.1": false,
	} {
		if got := IsLoopbackAddr(addr); got != want {
			t.Errorf("IsLoopbackAddr(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestPutGetRoundTrip(t *testing.T) {
	fb := newFake()
	_, c := newTestServer(t, fb)
	ctx := context.Background()
	for _, size := range []int{0, 1, 3 << 20} {
		data := make([]byte, size)
		rand.Read(data)
		res, err := c.Put(ctx, bytes.NewReader(data), int64(size), PutOptions{K: 3, N: 5, Name: "a b&c.txt"})
		if err != nil {
			t.Fatalf("put %d: %v", size, err)
		}
		if fb.lastPut != (PutOptions{K: 3, N: 5, Name: "a b&c.txt"}) {
			t.Fatalf("options arrived as %+v", fb.lastPut)
		}
		if res.Size != int64(size) || res.Cap == "" {
			t.Fatalf("put result %+v", res)
		}
		var out bytes.Buffer
		gotSize := int64(-1)
		if err := c.Get(ctx, res.Cap, &out, func(n int64) { gotSize = n }); err != nil {
			t.Fatalf("get %d: %v", size, err)
		}
		if gotSize != int64(size) || !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("get %d: onSize %d, %d bytes back, equal=%v", size, gotSize, out.Len(), bytes.Equal(out.Bytes(), data))
		}
	}
}

func TestOtherEndpoints(t *testing.T) {
	_, c := newTestServer(t, newFake())
	ctx := context.Background()
	if st, err := c.Stat(ctx, "cairn:r:x"); err != nil || !st.Retrievable {
		t.Fatalf("stat: %+v %v", st, err)
	}
	if ls, err := c.List(ctx); err != nil || len(ls) != 0 {
		t.Fatalf("ls: %+v %v", ls, err)
	}
	if ps, err := c.Peers(ctx); err != nil || len(ps) != 1 || !ps[0].InRoutingTable {
		t.Fatalf("peers: %+v %v", ps, err)
	}
	_, err := c.Remove(ctx, "cairn:r:x")
	wantCode(t, err, CodeInternal)
	if !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("message lost: %v", err)
	}
}

func TestErrorCodeMapping(t *testing.T) {
	fb := newFake()
	srv, c := newTestServer(t, fb)
	cases := []struct {
		err    error
		code   string
		status int
	}{
		{codedErr{CodeBadRequest, "bad"}, CodeBadRequest, 400},
		{codedErr{CodeBadCap, "bad cap"}, CodeBadCap, 400},
		{codedErr{CodeNotFound, "no manifest"}, CodeNotFound, 404},
		{codedErr{CodeTooFewNodes, "need 8 nodes, found 3"}, CodeTooFewNodes, 503},
		{codedErr{CodeTooFewShards, "segment 2: 3 of 4 shards"}, CodeTooFewShards, 503},
		{&Error{Code: CodeTooFewShards, Message: "direct"}, CodeTooFewShards, 503},
		{codedErr{"something_new", "?"}, "something_new", 500},
		{errors.New("plain"), CodeInternal, 500},
	}
	for _, tc := range cases {
		fb.set(func() { fb.statErr = tc.err })
		_, err := c.Stat(context.Background(), "cairn:r:x")
		wantCode(t, err, tc.code)
		if err.Error() != tc.err.Error() {
			t.Errorf("message %q, want %q", err.Error(), tc.err.Error())
		}
		resp, _ := rawPost(t, srv, "/api/v1/stat", "Bearer "+testToken, strings.NewReader(`{"cap":"cairn:r:x"}`), nil)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.code, resp.StatusCode, tc.status)
		}
	}
	// Wrapped coded errors keep their code.
	fb.set(func() { fb.getErr = errors.Join(errors.New("context"), codedErr{CodeNotFound, "gone"}) })
	wantCode(t, c.Get(context.Background(), "cairn:r:x", io.Discard, nil), CodeNotFound)
}

func TestBadRequests(t *testing.T) {
	srv, _ := newTestServer(t, newFake())
	auth := "Bearer " + testToken
	for name, tc := range map[string]struct {
		path, body string
		status     int
	}{
		"unknown endpoint": {"/api/v1/nope", "{}", 404},
		"no prefix":        {"/id", "{}", 404},
		"no cap":           {"/api/v1/stat", "{}", 400},
		"unknown field":    {"/api/v1/stat", `{"capability":"x"}`, 400},
		"not json":         {"/api/v1/get", "cairn:r:x", 400},
		"two values":       {"/api/v1/get", `{"cap":"a"}{"cap":"b"}`, 400},
		"too big":          {"/api/v1/stat", `{"cap":"` + strings.Repeat("x", 70<<10) + `"}`, 400},
		"empty id":         {"/api/v1/id", "", 200},
		"bad k":            {"/api/v1/put?k=x", "abc", 400},
		"negative n":       {"/api/v1/put?n=-1", "abc", 400},
	} {
		resp, _ := rawPost(t, srv, tc.path, auth, strings.NewReader(tc.body), nil)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", name, resp.StatusCode, tc.status)
		}
	}
	// A chunked upload has no Content-Length.
	resp, _ := rawPost(t, srv, "/api/v1/put", auth, io.MultiReader(strings.NewReader("abc")), func(r *http.Request) { r.ContentLength = -1 })
	if resp.StatusCode != http.StatusLengthRequired {
		t.Errorf("chunked put: status %d, want 411", resp.StatusCode)
	}
}

func TestTruncatedGetDetected(t *testing.T) {
	fb := newFake()
	_, c := newTestServer(t, fb)
	ctx := context.Background()
	data := make([]byte, 1<<20)
	res, err := c.Put(ctx, bytes.NewReader(data), int64(len(data)), PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, cutErr := range map[string]error{
		"backend error":          codedErr{CodeTooFewShards, "segment 1 lost"},
		"backend lies about EOF": nil,
	} {
		for _, cut := range []int64{0, 100, 512 << 10} {
			fb.set(func() { fb.getCutAfter, fb.getCutErr = cut, cutErr })
			var out bytes.Buffer
			err := c.Get(ctx, res.Cap, &out, nil)
			if err == nil {
				t.Errorf("%s, cut at %d: Get succeeded with %d bytes", name, cut, out.Len())
			}
		}
	}
}

func TestPutFailingMidBodyReportsServerError(t *testing.T) {
	fb := newFake()
	fb.putFailAfter, fb.putErr = 1<<20, codedErr{CodeTooFewNodes, "need 8 nodes, found 3"}
	_, c := newTestServer(t, fb)
	data := make([]byte, 64<<20)
	for i := 0; i < 5; i++ {
		_, err := c.Put(context.Background(), bytes.NewReader(data), int64(len(data)), PutOptions{})
		wantCode(t, err, CodeTooFewNodes)
	}
	fb.set(func() { fb.putFailAfter = 0 })
	_, err := c.Put(context.Background(), bytes.NewReader(data), int64(len(data)), PutOptions{})
	wantCode(t, err, CodeTooFewNodes)
}

func TestShortPutBodyFails(t *testing.T) {
	_, c := newTestServer(t, newFake())
	if _, err := c.Put(context.Background(), strings.NewReader("abc"), 10, PutOptions{}); err == nil {
		t.Fatal("put with fewer bytes than size succeeded")
	}
}

func TestClientFromRepo(t *testing.T) {
	dir := t.TempDir()
	_, err := NewClientFromRepo(filepath.Join(dir, "none"))
	if !errors.Is(err, repo.ErrNoRepo) {
		t.Fatalf("no repo: %v", err)
	}
	r, err := repo.Init(filepath.Join(dir, "r"), config.Default())
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewClientFromRepo(r.Path)
	if !errors.Is(err, ErrDaemonNotRunning) || !strings.Contains(err.Error(), "cairn daemon --repo "+r.Path) {
		t.Fatalf("no api file: %v", err)
	}
	// A stale api file: the port is closed.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	if err := r.WriteRunFiles("http://" + addr); err != nil {
		t.Fatal(err)
	}
	c, err := NewClientFromRepo(r.Path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ID(context.Background())
	if !errors.Is(err, ErrDaemonNotRunning) || !strings.Contains(err.Error(), r.Path) {
		t.Fatalf("stale api file: %v", err)
	}
	// A live daemon with the repo's token.
	tok, _ := r.Token()
	srv := httptest.NewServer(NewServer(newFake(), tok))
	defer srv.Close()
	os.WriteFile(filepath.Join(r.Path, repo.APIFile), []byte(srv.URL+"\n"), 0o644)
	c, err = NewClientFromRepo(r.Path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ID(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestServeShutsDownOnCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, NewServer(newFake(), testToken)) }()
	c := NewClient("http://"+ln.Addr().String(), testToken)
	if _, err := c.ID(context.Background()); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := c.ID(context.Background()); !errors.Is(err, ErrDaemonNotRunning) {
		t.Fatalf("after shutdown: %v", err)
	}
}

// blockingBackend's Get never finishes on its own; Serve must cancel it after the grace period.
type blockingBackend struct {
	*fakeBackend
	started chan struct{}
}

func (b blockingBackend) Get(ctx context.Context, _ string, w io.Writer, start func(int64)) error {
	start(10)
	w.Write([]byte("12345"))
	w.(http.Flusher).Flush()
	close(b.started)
	<-ctx.Done()
	return ctx.Err()
}

func TestServeAbortsStuckRequests(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	b := blockingBackend{newFake(), make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, NewServer(b, testToken)) }()
	c := NewClient("http://"+ln.Addr().String(), testToken)
	getErr := make(chan error, 1)
	go func() { getErr <- c.Get(context.Background(), "cairn:r:x", io.Discard, nil) }()
	<-b.started
	cancel()
	if err := <-getErr; err == nil {
		t.Fatal("cut get succeeded")
	}
	select {
	case <-done:
	case <-time.After(3 * shutdownGrace):
		t.Fatal("Serve did not return")
	}
}

func TestGetStreamingEdgeCases(t *testing.T) {
	fb := newFake()
	_, c := newTestServer(t, fb)
	ctx := context.Background()
	cases := []struct {
		name    string
		hook    func(w io.Writer, start func(int64)) error
		want    string // expected output; "" with wantErr
		wantErr string // expected *Error code, "-" for any non-API error
	}{
		{"error after start, before data", func(w io.Writer, start func(int64)) error {
			start(100)
			return codedErr{CodeTooFewShards, "segment 0: 1 of 2 shards"}
		}, "", CodeTooFewShards},
		{"no start, data", func(w io.Writer, start func(int64)) error {
			w.Write([]byte("hello"))
			return nil
		}, "hello", ""},
		{"no start, data, error", func(w io.Writer, start func(int64)) error {
			w.Write([]byte("hello"))
			w.(http.Flusher).Flush()
			return errors.New("boom")
		}, "", "-"},
		{"no start, no data", func(w io.Writer, start func(int64)) error { return nil }, "", ""},
		{"start 0", func(w io.Writer, start func(int64)) error { start(0); return nil }, "", ""},
		{"start, short success", func(w io.Writer, start func(int64)) error {
			start(10)
			w.Write([]byte("12345"))
			return nil
		}, "", "-"},
		{"write more than announced", func(w io.Writer, start func(int64)) error {
			start(2)
			_, err := w.Write([]byte("12345"))
			return err
		}, "", "-"},
	}
	for _, tc := range cases {
		fb.set(func() { fb.getHook = tc.hook })
		var out bytes.Buffer
		err := c.Get(ctx, "cairn:r:x", &out, nil)
		switch tc.wantErr {
		case "":
			if err != nil || out.String() != tc.want {
				t.Errorf("%s: got %q, %v; want %q", tc.name, out.String(), err, tc.want)
			}
		case "-":
			if err == nil {
				t.Errorf("%s: succeeded with %q", tc.name, out.String())
			}
		default:
			wantCode(t, err, tc.wantErr)
		}
	}
}
