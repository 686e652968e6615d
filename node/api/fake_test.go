package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// codedErr is how a backend attaches an API code.
type codedErr struct{ code, msg string }

func (e codedErr) Error() string   { return e.msg }
func (e codedErr) APICode() string { return e.code }

// fakeBackend stores files in memory; its hooks inject failures.
type fakeBackend struct {
	mu      sync.Mutex
	files   map[string][]byte
	lastPut PutOptions
	// putFailAfter >= 0 makes Put fail with putErr after reading that many bytes.
	putFailAfter int64
	putErr       error
	getErr       error // returned before start
	// getCutAfter >= 0 makes Get stop after writing that many bytes; with getCutErr nil it
	// returns success anyway (a buggy backend), otherwise getCutErr.
	getCutAfter int64
	getCutErr   error
	statErr     error
	// getHook, if set, replaces Get entirely.
	getHook   func(w io.Writer, start func(int64)) error
	peersHook func() []PeerInfo // nil: one routing-table peer
	// exitHook, if set, replaces Exit; exitCalls counts calls that reached the backend.
	exitHook  func(ctx context.Context) (*ExitResult, error)
	exitCalls int
}

func newFake() *fakeBackend {
	return &fakeBackend{files: map[string][]byte{}, putFailAfter: -1, getCutAfter: -1}
}

func (f *fakeBackend) Put(ctx context.Context, r io.Reader, size int64, opt PutOptions) (*PutResult, error) {
	f.mu.Lock()
	failAfter, putErr := f.putFailAfter, f.putErr
	f.mu.Unlock()
	if failAfter >= 0 {
		io.CopyN(io.Discard, r, failAfter)
		return nil, putErr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != size {
		return nil, fmt.Errorf("read %d bytes, want %d", len(b), size)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastPut = opt
	c := fmt.Sprintf("cairn:r:fake%d", len(f.files))
	f.files[c] = b
	return &PutResult{Cap: c, CID: "bafkfake", Size: size, K: opt.K, N: opt.N, Segments: 1}, nil
}

// set changes hooks while handlers of earlier requests may still be running.
func (f *fakeBackend) set(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func (f *fakeBackend) Get(ctx context.Context, capability string, w io.Writer, start func(int64)) error {
	f.mu.Lock()
	b, ok := f.files[capability]
	getErr, cutAfter, cutErr, hook := f.getErr, f.getCutAfter, f.getCutErr, f.getHook
	f.mu.Unlock()
	if hook != nil {
		return hook(w, start)
	}
	if getErr != nil {
		return getErr
	}
	if !ok {
		return codedErr{CodeNotFound, "file " + capability + " not found"}
	}
	start(int64(len(b)))
	if cutAfter >= 0 {
		if _, err := w.Write(b[:cutAfter]); err != nil {
			return err
		}
		return cutErr
	}
	_, err := io.Copy(w, bytes.NewReader(b))
	return err
}

func (f *fakeBackend) Stat(ctx context.Context, capability string) (*StatResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.statErr != nil {
		return nil, f.statErr
	}
	return &StatResult{CID: "bafkfake", Retrievable: true}, nil
}

func (f *fakeBackend) List(ctx context.Context) ([]ListEntry, error) { return nil, nil }

func (f *fakeBackend) Remove(ctx context.Context, capability string) (*RemoveResult, error) {
	return nil, errors.New("disk on fire")
}

func (f *fakeBackend) ID(ctx context.Context) (*IDResult, error) {
	return &IDResult{PeerID: "12D3KooWfake", Addresses: []string{"/ip4/127.0.0.1/tcp/1/p2p/12D3KooWfake"}}, nil
}

func (f *fakeBackend) Peers(ctx context.Context) ([]PeerInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.peersHook != nil {
		return f.peersHook(), nil
	}
	return []PeerInfo{{PeerID: "12D3KooWother", InRoutingTable: true}}, nil
}

func (f *fakeBackend) Exit(ctx context.Context) (*ExitResult, error) {
	f.mu.Lock()
	f.exitCalls++
	hook := f.exitHook
	f.mu.Unlock()
	if hook != nil {
		return hook(ctx)
	}
	return &ExitResult{Shards: 3, Moved: 3, Files: 2, Complete: true}, nil
}

func (f *fakeBackend) exitCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exitCalls
}
