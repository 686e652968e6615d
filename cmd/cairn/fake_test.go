package main

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/repo"
)

// fakeNode is an in-memory api.Backend, standing in for a daemon's node.
type fakeNode struct {
	mu      sync.Mutex
	files   map[string][]byte
	names   map[string]string
	putErr  error
	getCut  int // >0: Get fails after writing this many bytes
	lastPut api.PutOptions
	// lastRepair is what Stat reports as the file's last repair (0 = never).
	lastRepair int64
	peers      []api.PeerInfo // nil: one routing-table peer without scores
	// exitRes and exitErr are what Exit returns; both nil: a complete exit.
	exitRes *api.ExitResult
	exitErr error
}

type apiErr struct{ code, msg string }

func (e apiErr) Error() string   { return e.msg }
func (e apiErr) APICode() string { return e.code }

func newFakeNode() *fakeNode {
	return &fakeNode{files: map[string][]byte{}, names: map[string]string{}}
}

func testCap(data []byte) string {
	c := manifest.Capability{Manifest: codec.BlobCID(codec.CodecCBOR, data)}
	c.Key[0] = 1
	return c.String()
}

func (f *fakeNode) Put(ctx context.Context, r io.Reader, size int64, opt api.PutOptions) (*api.PutResult, error) {
	f.mu.Lock()
	putErr := f.putErr
	f.mu.Unlock()
	if putErr != nil {
		return nil, putErr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	c := testCap(b)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[c], f.names[c], f.lastPut = b, opt.Name, opt
	return &api.PutResult{Cap: c, CID: "bagfake", Size: size, K: 2, N: 4, Segments: 1, Stewards: 3}, nil
}

func (f *fakeNode) Get(ctx context.Context, capability string, w io.Writer, start func(int64)) error {
	f.mu.Lock()
	b, ok := f.files[capability]
	cut := f.getCut
	f.mu.Unlock()
	if !ok {
		return apiErr{api.CodeNotFound, "manifest not found: none of the 5 nodes asked holds it"}
	}
	start(int64(len(b)))
	if cut > 0 {
		w.Write(b[:cut])
		return apiErr{api.CodeTooFewShards, "segment 1: only 1 of 4 shards"}
	}
	_, err := io.Copy(w, bytes.NewReader(b))
	return err
}

func (f *fakeNode) Stat(ctx context.Context, capability string) (*api.StatResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.files[capability]
	if !ok {
		return nil, apiErr{api.CodeNotFound, "manifest not found"}
	}
	return &api.StatResult{CID: "bagfake", Name: f.names[capability], Size: int64(len(b)), K: 2, N: 4,
		SegmentSize: 16 << 20, Cipher: "aes-256-gcm", Stewards: []string{"a", "b"},
		Segments: []api.SegmentStat{{Index: 0, Size: int64(len(b)), Healthy: 1, Shards: []api.ShardStat{
			{Index: 0, Holder: "12D3KooWAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", Answers: true, Healthy: true},
			{Index: 1, Holder: "12D3KooWBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", Error: "dial failed:\n  * refused"},
			{Index: 2, Holder: "12D3KooWCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC", Answers: true}, // a disqualified holder
		}}},
		Retrievable: false, LastRepair: f.lastRepair}, nil
}

func (f *fakeNode) List(ctx context.Context) ([]api.ListEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []api.ListEntry
	for c, b := range f.files {
		out = append(out, api.ListEntry{Cap: c, CID: "bagfake", Name: f.names[c], Size: int64(len(b))})
	}
	return out, nil
}

func (f *fakeNode) Remove(ctx context.Context, capability string) (*api.RemoveResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.files, capability)
	return &api.RemoveResult{CID: "bagfake", ShardsDeleted: 4, ManifestCopies: 1}, nil
}

func (f *fakeNode) ID(ctx context.Context) (*api.IDResult, error) {
	return &api.IDResult{PeerID: "12D3KooWfake", Agent: "cairn/test",
		Addresses: []string{"/ip4/127.0.1.1/tcp/4001/p2p/12D3KooWfake"}}, nil
}

func (f *fakeNode) Peers(ctx context.Context) ([]api.PeerInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.peers != nil {
		return slices.Clone(f.peers), nil
	}
	return []api.PeerInfo{{PeerID: "12D3KooWpeer", Address: []string{"/ip4/127.0.2.1/tcp/1"}, InRoutingTable: true}}, nil
}

// fakeDaemon makes a repo whose api file points at an in-process API server over fn.
func fakeDaemon(t *testing.T, fn api.Backend) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	r, err := repo.Init(dir, config.Default())
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := r.Token()
	srv := httptest.NewServer(api.NewServer(fn, tok))
	t.Cleanup(srv.Close)
	if err := r.WriteRunFiles(srv.URL); err != nil {
		t.Fatal(err)
	}
	return dir
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) lastLine() string {
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	return lines[len(lines)-1]
}

func cli(t *testing.T, args ...string) result {
	return cliTTY(t, false, args...)
}

func cliTTY(t *testing.T, tty bool, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(&app{stdout: &out, stderr: &errb, stderrTTY: tty}, args)
	return result{code, out.String(), errb.String()}
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustFail(t *testing.T, r result, want string) {
	t.Helper()
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (stdout %q, stderr %q)", r.code, r.stdout, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "cairn: ") || !strings.Contains(r.stderr, want) {
		t.Fatalf("stderr %q, want \"cairn: ...%s...\"", r.stderr, want)
	}
}

func mustOK(t *testing.T, r result) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
}

func (f *fakeNode) Exit(context.Context) (*api.ExitResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.exitRes == nil && f.exitErr == nil {
		return &api.ExitResult{Shards: 7, Moved: 7, Files: 3, Complete: true}, nil
	}
	return f.exitRes, f.exitErr
}
