package store

import (
	"io"
	"testing"
	"time"
)

// A Put whose uploader stalls mid-body holds no lock: deletes, lease changes and other Puts of the
// same CID go ahead at once. (A stalled attacker used to freeze a steward's deletes this way.)
func TestStalledPutBlocksNothing(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Options{NoSync: true})
	tok, h := token("owner")
	_, h2 := token("stranger")
	data := randBytes(41, 100_000)
	c := mustPut(t, s, data, h)

	pr, pw := io.Pipe()
	stalled := make(chan error, 1)
	go func() {
		_, err := s.Put(c, int64(len(data)), pr, Ref{DeleteHash: h2, Account: "stranger"})
		stalled <- err
	}()
	_, _ = pw.Write(data[:1000]) // then nothing more

	done := make(chan error, 1)
	go func() { done <- s.Delete(c, tok) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Delete waited for a stalled Put of the same CID")
	}
	if s.Has(c) {
		t.Fatal("blob survived the delete of its only reference")
	}
	// The stalled uploader finishes late with the right bytes: its proof now stores a fresh copy
	// under its own reference, charged to it.
	_, _ = pw.Write(data[1000:])
	if err := <-stalled; err != nil {
		t.Fatal(err)
	}
	refs, err := s.Refs(c)
	if err != nil || len(refs) != 1 || refs[0].DeleteHash != h2 || s.Usage("stranger") != int64(len(data)) {
		t.Fatalf("after the late put: refs %v (%v), stranger charged %d", refs, err, s.Usage("stranger"))
	}
}
