package store

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/ipfs/go-cid"
)

type expiredRef struct {
	c   cid.Cid
	ref Ref
}

func expired(t testing.TB, s *Store, now int64) []expiredRef {
	t.Helper()
	var out []expiredRef
	must(t, s.Expired(now, func(c cid.Cid, r Ref) error {
		out = append(out, expiredRef{c, r})
		return nil
	}))
	return out
}

func TestLeaseLifecycle(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Options{NoSync: true})
	_, hA := token("a")
	_, hB := token("b")
	data := randBytes(1, 30_000)
	c := cidOf(t, data)
	refA := Ref{DeleteHash: hA, Account: "A", Subnet: "10.0.0.0/24", Lease: 100}
	if _, err := s.Put(c, 30_000, bytes.NewReader(data), refA); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(c, 30_000, bytes.NewReader(data), Ref{DeleteHash: hB, Account: "B", Lease: 50}); err != nil {
		t.Fatal(err)
	}
	if got := expired(t, s, 49); len(got) != 0 {
		t.Fatalf("Expired(49) = %v", got)
	}
	if got := expired(t, s, 100); len(got) != 2 || got[0].ref.DeleteHash != hB || !reflect.DeepEqual(got[1].ref, refA) || got[1].c != c {
		t.Fatalf("Expired(100) = %+v", got)
	}

	// A holder receipt ties A's ref to a manifest and extends its lease.
	manifest := []byte{1, 0x71, 0x1e, 0x20, 9, 9}
	if err := s.Claim(c, hA, manifest, 200); err != nil {
		t.Fatal(err)
	}
	manifest[0] = 0 // the store copied it
	if got := expired(t, s, 150); len(got) != 1 || got[0].ref.DeleteHash != hB {
		t.Fatalf("Expired(150) after Claim = %+v", got)
	}
	refs, _ := s.Refs(c)
	if refs[0].Lease != 200 || !bytes.Equal(refs[0].Manifest, []byte{1, 0x71, 0x1e, 0x20, 9, 9}) {
		t.Fatalf("claimed ref = %+v", refs[0])
	}
	refs[0].Manifest[0] = 7 // Refs returns copies
	if r, _ := s.Refs(c); r[0].Manifest[0] != 1 {
		t.Fatal("Refs shares memory with the store")
	}

	// Published: confirmed refs never expire.
	must(t, s.Confirm(c, hA))
	if got := expired(t, s, 1<<62); len(got) != 1 || got[0].ref.DeleteHash != hB {
		t.Fatalf("Expired after Confirm = %+v", got)
	}

	// GC drops B's ref: the blob stays (A's ref), B's charge goes.
	must(t, s.DropRef(c, hB))
	if !s.Has(c) || s.Usage("B") != 0 || s.Usage("A") != 30_000 || s.HasRef(c, hB) || !s.HasRef(c, hA) {
		t.Fatalf("after DropRef B: has=%v usage B=%d A=%d", s.Has(c), s.Usage("B"), s.Usage("A"))
	}
	wantErr(t, s.DropRef(c, hB), ErrNotFound)
	wantErr(t, s.Claim(c, hB, nil, 5), ErrNotFound)
	wantErr(t, s.Confirm(c, hB), ErrNotFound)
	if err := s.Claim(c, hA, make([]byte, maxManifest+1), 5); err == nil {
		t.Fatal("oversized manifest accepted")
	}

	// Dropping the last ref deletes the blob and its file.
	must(t, s.DropRef(c, hA))
	if s.Has(c) || exists(fileOf(t, s, c)) || s.Used() != 0 || s.Usage("A") != 0 || s.SubnetUsage("10.0.0.0/24") != 0 {
		t.Fatalf("after last DropRef: has=%v file=%v used=%d", s.Has(c), exists(fileOf(t, s, c)), s.Used())
	}
	wantErr(t, s.DropRef(c, hA), ErrNotFound)
	wantErr(t, s.Confirm(c, hA), ErrNotFound)
	if got := expired(t, s, 1<<62); len(got) != 0 {
		t.Fatalf("Expired after all dropped = %+v", got)
	}
}

// Expired pages: fn may drop what it is given, and every expired ref is
// seen exactly once, earliest first.
func TestExpiredPagesAndDrops(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	n := listPage*2 + 5
	type key struct {
		c cid.Cid
		h [32]byte
	}
	want := map[key]bool{}
	for i := range n {
		data := randBytes(uint64(i), 8)
		_, h := token(string(rune(i)))
		lease := int64(1000 + (i*7919)%n) // not in Put order
		if i%3 == 0 {
			lease = 1_000_000 // not yet expired
		} else {
			want[key{cidOf(t, data), h}] = true
		}
		c := cidOf(t, data)
		if _, err := s.Put(c, 8, bytes.NewReader(data), Ref{DeleteHash: h, Account: "A", Lease: lease}); err != nil {
			t.Fatal(err)
		}
	}
	var last int64
	seen := 0
	err := s.Expired(999_999, func(c cid.Cid, r Ref) error {
		if !want[key{c, r.DeleteHash}] || r.Lease < last {
			t.Fatalf("Expired gave %s lease %d (after %d), unexpected or out of order", c, r.Lease, last)
		}
		last = r.Lease
		delete(want, key{c, r.DeleteHash})
		seen++
		return s.DropRef(c, r.DeleteHash)
	})
	if err != nil || len(want) != 0 {
		t.Fatalf("Expired: %v, %d not seen (%d seen)", err, len(want), seen)
	}
	left := 0
	must(t, s.List(func(cid.Cid, int64) error { left++; return nil }))
	if left != (n+2)/3 || s.Usage("A") != int64(8*left) {
		t.Fatalf("%d blobs left, Usage %d", left, s.Usage("A"))
	}
	stop := errors.New("stop")
	if err := s.Expired(1<<62, func(cid.Cid, Ref) error { return stop }); err != stop {
		t.Fatalf("Expired did not return fn's error: %v", err)
	}
}
