package store

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
	"lukechampine.com/blake3"
	"lukechampine.com/blake3/bao"
)

func openTest(t testing.TB, dir string, opt Options) *Store {
	t.Helper()
	s, err := Open(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func randBytes(seed uint64, n int) []byte {
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	b := make([]byte, n)
	r.Read(b)
	return b
}

// cidOf builds a raw CID the way the contract says: digest = bao root (group 4).
func cidOf(t testing.TB, data []byte) cid.Cid {
	t.Helper()
	_, root := bao.EncodeBuf(data, baoGroup, true)
	if root != blake3.Sum256(data) {
		t.Fatal("bao root differs from BLAKE3 hash")
	}
	mh, err := multihash.Encode(root[:], multihash.BLAKE3)
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV1(cid.Raw, mh)
}

// token and its delete hash, derived from a label for readability.
func token(label string) (tok, hash [32]byte) {
	tok = blake3.Sum256([]byte("token " + label))
	return tok, blake3.Sum256(tok[:])
}

func mustPut(t testing.TB, s *Store, data []byte, h [32]byte) cid.Cid {
	t.Helper()
	c := cidOf(t, data)
	if _, err := s.Put(c, int64(len(data)), bytes.NewReader(data), Ref{DeleteHash: h}); err != nil {
		t.Fatalf("Put(%d bytes): %v", len(data), err)
	}
	return c
}

func readBack(t testing.TB, s *Store, c cid.Cid) []byte {
	t.Helper()
	f, _, err := s.Open(c)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// blobFiles lists every file (including temp files) under dir/blobs.
func blobFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(dir, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			out = append(out, strings.TrimPrefix(p, dir))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func fileOf(t testing.TB, s *Store, c cid.Cid) string {
	t.Helper()
	d, err := digestOf(c)
	if err != nil {
		t.Fatal(err)
	}
	return s.blobPath(c, d)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

func (s *Store) reservedBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reserved
}

// failReader fails the test if Put reads it.
type failReader struct{ t testing.TB }

func (r failReader) Read([]byte) (int, error) {
	r.t.Error("reader was read")
	return 0, io.ErrUnexpectedEOF
}

func (s *Store) pending(account string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.chargesOf(s.accounts, account).pending
}
