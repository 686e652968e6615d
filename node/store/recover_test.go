package store

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
)

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tok1, h1 := token("1")
	_, h2 := token("2")
	a := randBytes(1, 100_000)
	b := randBytes(2, 3)
	ca := mustPut(t, s, a, h1)
	mustPut(t, s, a, h2)
	cb := mustPut(t, s, b, h1)
	if err := s.PutRecord("loc", []byte("here")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, dir, Options{})
	if !s.Has(ca) || !s.Has(cb) || s.Used() != int64(len(a)+len(b)+len("loc")+len("here")) {
		t.Fatalf("after reopen: has a=%v b=%v used=%d", s.Has(ca), s.Has(cb), s.Used())
	}
	if !bytes.Equal(readBack(t, s, ca), a) || !bytes.Equal(readBack(t, s, cb), b) {
		t.Fatal("data changed across reopen")
	}
	if v, err := s.GetRecord("loc"); err != nil || string(v) != "here" {
		t.Fatalf("record after reopen: %q %v", v, err)
	}
	// Both refs survived: one delete leaves the blob.
	if err := s.Delete(ca, tok1); err != nil || !s.Has(ca) {
		t.Fatalf("refs lost across reopen: %v", err)
	}
	if err := s.Verify(ca); err != nil {
		t.Fatal(err)
	}
}

func TestSecondOpenFails(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir, Options{NoSync: true})
	if s, err := Open(dir, Options{NoSync: true}); err == nil {
		s.Close()
		t.Fatal("a second Open of a live store succeeded (its sweep could delete in-flight files)")
	}
}

// TestCrashRecovery fabricates each state a crash can leave and checks that
// Open repairs it: broken blobs disappear entirely, good ones are untouched.
func TestCrashRecovery(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	_, h := token("1")
	good1 := randBytes(1, 50_000)
	good2 := randBytes(2, 0)
	missing := randBytes(3, 20_000)
	truncated := randBytes(4, 30_000)
	grown := randBytes(5, 30_000)
	orphan := randBytes(6, 10_000)
	c1, c2 := mustPut(t, s, good1, h), mustPut(t, s, good2, h)
	cMissing, cTrunc, cGrown := mustPut(t, s, missing, h), mustPut(t, s, truncated, h), mustPut(t, s, grown, h)
	if err := s.PutRecord("r", []byte("v")); err != nil {
		t.Fatal(err)
	}
	cOrphan := cidOf(t, orphan)
	orphanPath, tmpPath := fileOf(t, s, cOrphan), filepath.Join(filepath.Dir(fileOf(t, s, c1)), tmpPrefix+"123")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	junk := filepath.Join(dir, "blobs", "00", "not-a-cid")
	for _, p := range []string{orphanPath, junk} {
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	}
	// Put crashed after rename, before the index commit.
	must(t, os.WriteFile(orphanPath, orphan, 0o644))
	// Put crashed mid-write.
	must(t, os.WriteFile(tmpPath, orphan[:100], 0o644))
	// File lost or damaged while the index kept its entry.
	must(t, os.Remove(fileOf(t, s, cMissing)))
	must(t, os.Truncate(fileOf(t, s, cTrunc), 29_999))
	f, err := os.OpenFile(fileOf(t, s, cGrown), os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	f.Write([]byte("x"))
	f.Close()
	// A junk file and a malformed index entry (e.g. a torn foreign write).
	must(t, os.WriteFile(junk, []byte("junk"), 0o644))
	db, err := bolt.Open(filepath.Join(dir, "index.db"), 0o600, nil)
	must(t, err)
	must(t, db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(blobsBucket).Put([]byte("garbage-key"), []byte{1, 2, 3})
	}))
	must(t, db.Close())

	s = openTest(t, dir, Options{NoSync: true})
	for _, c := range []struct {
		name string
		has  bool
		path string
	}{
		{"good1", true, fileOf(t, s, c1)},
		{"good2", true, fileOf(t, s, c2)},
		{"missing", false, fileOf(t, s, cMissing)},
		{"truncated", false, fileOf(t, s, cTrunc)},
		{"grown", false, fileOf(t, s, cGrown)},
		{"orphan", false, orphanPath},
		{"tmp", false, tmpPath},
		{"junk", false, junk},
	} {
		if exists(c.path) != c.has {
			t.Errorf("%s: file exists=%v, want %v", c.name, exists(c.path), c.has)
		}
	}
	for c, want := range map[string]bool{"good1": s.Has(c1), "good2": s.Has(c2)} {
		if !want {
			t.Errorf("%s: Has false", c)
		}
	}
	if s.Has(cMissing) || s.Has(cTrunc) || s.Has(cGrown) || s.Has(cOrphan) {
		t.Error("Has true for a broken blob")
	}
	if want := int64(len(good1) + len(good2) + len("r") + len("v")); s.Used() != want {
		t.Errorf("Used = %d, want %d", s.Used(), want)
	}
	n := 0
	must(t, s.List(func(cid.Cid, int64) error { n++; return nil }))
	if n != 2 {
		t.Errorf("List: %d entries, want 2 (garbage entry not dropped?)", n)
	}
	if got := len(blobFiles(t, dir)); got != 2 {
		t.Errorf("%d files under blobs/, want 2: %v", got, blobFiles(t, dir))
	}
	if !bytes.Equal(readBack(t, s, c1), good1) {
		t.Error("good blob changed")
	}
	if v, err := s.GetRecord("r"); err != nil || string(v) != "v" {
		t.Errorf("record lost: %v", err)
	}
	// The broken blobs can be stored again.
	mustPut(t, s, truncated, h)
	mustPut(t, s, orphan, h)
	if err := s.Verify(cTrunc); err != nil {
		t.Fatal(err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
