package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cairn-storage/cairn/node/repo"
)

// dialTimeout bounds connecting to the local daemon. Requests themselves have no timeout:
// a put or get moves gigabytes; callers bound them with their context.
const dialTimeout = 5 * time.Second

// Client talks to a daemon's API. It implements Backend, so anything written against Backend
// works in-process or remotely.
type Client struct {
	base  string
	token string
	repo  string // for error messages; empty when made from a URL
	hc    *http.Client
}

var _ Backend = (*Client)(nil)

// NewClient returns a client for the API at baseURL (e.g. "http://127.0.0.1:5101").
func NewClient(baseURL, token string) *Client {
	tr := &http.Transport{
		Proxy:               nil, // the daemon is local; a proxy would only leak the token
		DialContext:         (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true, // file data is usually incompressible and the link is loopback
	}
	return &Client{
		base:  strings.TrimRight(baseURL, "/"),
		token: token,
		hc: &http.Client{
			Transport: tr,
			// The server never redirects; following one would resend the token elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// NewClientFromRepo returns a client for the daemon running on the repo at repoPath.
func NewClientFromRepo(repoPath string) (*Client, error) {
	base, err := repo.ReadAPIAddr(repoPath)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read daemon API address: %w", err)
		}
		if _, serr := os.Stat(filepath.Join(repoPath, repo.ConfigFile)); serr != nil {
			return nil, fmt.Errorf("%w at %s (create one with: cairn init --repo %s)", repo.ErrNoRepo, repoPath, repoPath)
		}
		return nil, notRunning(repoPath, "")
	}
	token, err := repo.ReadToken(repoPath)
	if err != nil {
		return nil, err
	}
	c := NewClient(base, token)
	c.repo = repoPath
	return c, nil
}

func notRunning(repoPath, base string) error {
	if repoPath == "" {
		return fmt.Errorf("%w at %s", ErrDaemonNotRunning, base)
	}
	return fmt.Errorf("%w at repo %s (start it with: cairn daemon --repo %s)", ErrDaemonNotRunning, repoPath, repoPath)
}

// Put uploads size bytes from r.
func (c *Client) Put(ctx context.Context, r io.Reader, size int64, opt PutOptions) (*PutResult, error) {
	q := url.Values{}
	if opt.K > 0 {
		q.Set("k", strconv.Itoa(opt.K))
	}
	if opt.N > 0 {
		q.Set("n", strconv.Itoa(opt.N))
	}
	if opt.Name != "" {
		q.Set("name", opt.Name)
	}
	if opt.Partner != "" {
		q.Set("partner", opt.Partner)
	}
	u := c.base + Prefix + "put"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	body := io.NopCloser(r)
	if size == 0 {
		body = http.NoBody // with a non-nil body, ContentLength 0 would mean "unknown"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	var res PutResult
	if err := c.roundTrip(req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Get downloads the file behind capability into w. onSize (may be nil) learns the size before the
// first byte. A connection cut mid-file is an error, never a short success.
func (c *Client) Get(ctx context.Context, capability string, w io.Writer, onSize func(int64)) error {
	resp, err := c.post(ctx, "get", capRequest{Cap: capability})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return decodeError(resp)
	}
	if onSize != nil && resp.ContentLength >= 0 {
		onSize(resp.ContentLength)
	}
	body := &errTagReader{r: resp.Body}
	n, err := io.Copy(w, body)
	if body.err != nil && !errors.Is(body.err, io.EOF) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return c.truncated(n, resp.ContentLength, body.err)
	}
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return c.truncated(n, resp.ContentLength, io.ErrUnexpectedEOF)
	}
	return nil
}

func (c *Client) truncated(got, want int64, err error) error {
	if want >= 0 {
		return fmt.Errorf("download failed after %d of %d bytes (the daemon aborted the transfer; see its log): %w", got, want, err)
	}
	return fmt.Errorf("download failed after %d bytes (the daemon aborted the transfer; see its log): %w", got, err)
}

// errTagReader remembers read errors, so Get can tell a cut connection from a failing writer.
type errTagReader struct {
	r   io.Reader
	err error
}

func (t *errTagReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil {
		t.err = err
	}
	return n, err
}

func (c *Client) Stat(ctx context.Context, capability string) (*StatResult, error) {
	var res StatResult
	if err := c.call(ctx, "stat", capRequest{Cap: capability}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

func (c *Client) List(ctx context.Context) ([]ListEntry, error) {
	var res []ListEntry
	if err := c.call(ctx, "ls", struct{}{}, &res); err != nil {
		return nil, err
	}
	return res, nil
}

func (c *Client) Remove(ctx context.Context, capability string) (*RemoveResult, error) {
	var res RemoveResult
	if err := c.call(ctx, "rm", capRequest{Cap: capability}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

func (c *Client) ID(ctx context.Context) (*IDResult, error) {
	var res IDResult
	if err := c.call(ctx, "id", struct{}{}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

func (c *Client) Peers(ctx context.Context) ([]PeerInfo, error) {
	var res []PeerInfo
	if err := c.call(ctx, "peers", struct{}{}, &res); err != nil {
		return nil, err
	}
	return res, nil
}

// call posts in as JSON and decodes the JSON answer into out.
func (c *Client) call(ctx context.Context, endpoint string, in, out any) error {
	resp, err := c.post(ctx, endpoint, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return c.decode(resp, out)
}

func (c *Client) post(ctx context.Context, endpoint string, in any) (*http.Response, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+Prefix+endpoint, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	// Replaying a small JSON request is harmless, and lets the transport retry on a fresh
	// connection when a kept-alive one turns out dead (daemon restarted); a nil value is not sent.
	req.Header["Idempotency-Key"] = nil
	return c.do(req)
}

func (c *Client) roundTrip(req *http.Request, out any) error {
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return c.decode(resp, out)
}

func (c *Client) do(req *http.Request) (*http.Response, error) {
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err == nil {
		return resp, nil
	}
	if ctxErr := req.Context().Err(); ctxErr != nil {
		return nil, ctxErr
	}
	// A stale api file (daemon killed) looks exactly like this.
	if errors.Is(err, syscall.ECONNREFUSED) {
		return nil, notRunning(c.repo, c.base)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return nil, fmt.Errorf("the daemon at %s closed the connection without answering (did it stop or crash? see its log): %w", c.base, err)
	}
	return nil, fmt.Errorf("cairn daemon API at %s: %w", c.base, err)
}

func (c *Client) decode(resp *http.Response, out any) error {
	if resp.StatusCode != http.StatusOK {
		return decodeError(resp)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("cairn daemon API: bad response: %w", err)
	}
	return nil
}

// decodeError turns an error response into *Error, whatever its body.
func decodeError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxJSONBody))
	var e Error
	if err := json.Unmarshal(b, &e); err == nil && e.Message != "" {
		if e.Code == "" {
			e.Code = codeFromStatus(resp.StatusCode)
		}
		return &e
	}
	msg := strings.TrimSpace(string(b))
	if msg == "" {
		msg = resp.Status
	}
	return &Error{Code: codeFromStatus(resp.StatusCode), Message: "cairn daemon API: " + msg}
}

// Exit asks the daemon to hand every shard it holds to other nodes and waits for the pass to
// end, which can take minutes; bound it with ctx. Canceling ctx closes the request, which
// cancels the pass's context in the daemon. Not complete is a result, not an error: see
// ExitResult.Complete and Error.
func (c *Client) Exit(ctx context.Context) (*ExitResult, error) {
	var res ExitResult
	if err := c.call(ctx, "exit", struct{}{}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
