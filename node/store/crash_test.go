package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
)

// TestCrashLeavesNothingCharged fabricates what a crash mid-Put, mid-Delete
// and a stale lease index leave behind, and checks that Open charges exactly
// the committed refs and expires exactly the committed leases.
func TestCrashLeavesNothingCharged(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{NoSync: true})
	must(t, err)
	_, hA := token("a")
	tokB, hB := token("b")
	kept, deleted, inflight := randBytes(1, 20_000), randBytes(2, 7000), randBytes(3, 9000)
	ck := cidOf(t, kept)
	for _, r := range []Ref{{DeleteHash: hA, Account: "A", Subnet: "10.0.0.0/24", Lease: 300}, {DeleteHash: hB, Account: "B", Subnet: "10.0.0.0/24"}} {
		if _, err := s.Put(ck, int64(len(kept)), bytes.NewReader(kept), r); err != nil {
			t.Fatal(err)
		}
	}
	cd := cidOf(t, deleted)
	if _, err := s.Put(cd, int64(len(deleted)), bytes.NewReader(deleted), Ref{DeleteHash: hB, Account: "B"}); err != nil {
		t.Fatal(err)
	}
	deletedPath, inflightPath := fileOf(t, s, cd), fileOf(t, s, cidOf(t, inflight))
	must(t, s.Delete(cd, tokB))
	must(t, s.Close())

	// Delete crashed after its commit: the file is still there.
	must(t, os.WriteFile(deletedPath, deleted, 0o644))
	// A's Put of inflight crashed before its commit, after and before the rename.
	must(t, os.MkdirAll(filepath.Dir(inflightPath), 0o755))
	must(t, os.WriteFile(inflightPath, inflight, 0o644))
	must(t, os.WriteFile(filepath.Join(filepath.Dir(inflightPath), tmpPrefix+"9"), inflight[:10], 0o644))
	// The lease index lost a key and gained one that matches nothing.
	db, err := bolt.Open(filepath.Join(dir, "index.db"), 0o600, nil)
	must(t, err)
	must(t, db.Update(func(tx *bolt.Tx) error {
		lb := tx.Bucket(leasesBucket)
		must(t, lb.Delete(leaseKey(300, ck.Bytes(), hA)))
		return lb.Put(leaseKey(5, cd.Bytes(), hB), nil)
	}))
	must(t, db.Close())

	s = openTest(t, dir, Options{NoSync: true, PeerQuota: 20_000})
	if s.Used() != 20_000 || s.Usage("A") != 20_000 || s.Usage("B") != 20_000 || s.SubnetUsage("10.0.0.0/24") != 40_000 {
		t.Fatalf("Used=%d A=%d B=%d subnet=%d", s.Used(), s.Usage("A"), s.Usage("B"), s.SubnetUsage("10.0.0.0/24"))
	}
	if got := expired(t, s, 1000); len(got) != 1 || got[0].c != ck || got[0].ref.DeleteHash != hA {
		t.Fatalf("Expired after recovery = %+v", got)
	}
	if exists(deletedPath) || exists(inflightPath) || len(blobFiles(t, dir)) != 1 {
		t.Fatalf("files left: %v", blobFiles(t, dir))
	}
	// B's quota is full from its committed ref alone: nothing else was charged.
	_, err = s.Put(cidOf(t, inflight), int64(len(inflight)), failReader{t}, Ref{DeleteHash: hB, Account: "B"})
	wantErr(t, err, ErrQuota)
}

// Version 1 entries (delete hashes only) survive as this node's confirmed refs.
func TestVersion1EntriesKept(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{NoSync: true})
	must(t, err)
	tok, h := token("1")
	data := randBytes(1, 30_000)
	c := mustPut(t, s, data, h)
	must(t, s.Close())
	db, err := bolt.Open(filepath.Join(dir, "index.db"), 0o600, nil)
	must(t, err)
	must(t, db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(blobsBucket)
		e, err := decodeEntry(b.Get(c.Bytes()))
		must(t, err)
		return b.Put(c.Bytes(), marshalV1(e))
	}))
	must(t, db.Close())

	s = openTest(t, dir, Options{NoSync: true})
	refs, err := s.Refs(c)
	if err != nil || len(refs) != 1 || !reflect.DeepEqual(refs[0], Ref{DeleteHash: h}) || s.Usage("") != 30_000 {
		t.Fatalf("v1 entry: %+v %v, Usage(self) %d", refs, err, s.Usage(""))
	}
	_, h2 := token("2")
	if _, err := s.Put(c, 30_000, bytes.NewReader(data), Ref{DeleteHash: h2, Account: "A", Lease: 9}); err != nil {
		t.Fatal(err)
	}
	must(t, s.Delete(c, tok))
	if refs, _ := s.Refs(c); len(refs) != 1 || refs[0].Account != "A" || refs[0].Lease != 9 {
		t.Fatalf("rewritten entry refs %+v", refs)
	}
}

// TestKillDuringTraffic SIGKILLs a process in the middle of Puts, Deletes,
// Claims, DropRefs and records (with fsync on), then checks that Open leaves
// the charges exactly what the index holds and no file unaccounted for.
func TestKillDuringTraffic(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillHelper$")
		cmd.Env = append(os.Environ(), "STORE_KILL_DIR="+dir, fmt.Sprint("STORE_KILL_SEED=", round))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		must(t, cmd.Start())
		time.Sleep(time.Duration(150+100*round) * time.Millisecond)
		must(t, cmd.Process.Kill())
		cmd.Wait()
		if bytes.Contains(out.Bytes(), []byte("FAIL")) {
			t.Fatalf("helper failed:\n%s", out.Bytes())
		}

		s, err := Open(dir, Options{})
		must(t, err)
		blobs := checkAccounting(t, s, dir)
		t.Logf("round %d: %d blobs, %d bytes used after the kill", round, blobs, s.Used())
		if blobs == 0 {
			t.Errorf("round %d: the helper stored nothing before it was killed", round)
		}
		must(t, s.Close())
	}
}

// checkAccounting recomputes every charge by walking the store's public API
// and compares it with what Open computed.
func checkAccounting(t *testing.T, s *Store, dir string) (blobs int) {
	t.Helper()
	var used int64
	usage := map[string]int64{}
	files := 0
	must(t, s.List(func(c cid.Cid, size int64) error {
		files++
		used += size
		refs, err := s.Refs(c)
		must(t, err)
		for _, r := range refs {
			usage[r.Account] += size
			usage["subnet "+r.Subnet] += size
		}
		if err := s.Verify(c); err != nil {
			t.Errorf("%s: %v", c, err)
		}
		return nil
	}))
	must(t, s.ListRecords("", func(k string, v []byte) error {
		used += recordSize(k, v)
		return nil
	}))
	if s.Used() != used {
		t.Errorf("Used %d, index holds %d", s.Used(), used)
	}
	for k, v := range usage {
		var got int64
		if sn, ok := bytes.CutPrefix([]byte(k), []byte("subnet ")); ok {
			if len(sn) == 0 {
				continue
			}
			got = s.SubnetUsage(string(sn))
		} else {
			got = s.Usage(k)
		}
		if got != v {
			t.Errorf("usage of %q: %d, index holds %d", k, got, v)
		}
	}
	if n := len(blobFiles(t, dir)); n != files {
		t.Errorf("%d files for %d blobs", n, files)
	}
	return files
}

// TestKillHelper is the process TestKillDuringTraffic kills.
func TestKillHelper(t *testing.T) {
	dir := os.Getenv("STORE_KILL_DIR")
	if dir == "" {
		t.Skip("run by TestKillDuringTraffic")
	}
	var seed uint64
	fmt.Sscan(os.Getenv("STORE_KILL_SEED"), &seed)
	s, err := Open(dir, Options{PeerQuota: 4 << 20})
	must(t, err)
	accounts := []string{"", "A", "B"}
	for i := uint64(0); ; i++ {
		j := i % 40 // the same blobs again and again: proofs of possession
		data := randBytes(seed<<32|j, int(j*7919%(300<<10))+1)
		c := cidOf(t, data)
		tok, h := token(fmt.Sprint(seed, i))
		a := accounts[i%3]
		ref := Ref{DeleteHash: h, Account: a, Subnet: map[string]string{"A": "10.1.0.0/24", "B": "10.1.0.0/24"}[a], Lease: int64(i % 2 * 100)}
		if _, err := s.Put(c, int64(len(data)), bytes.NewReader(data), ref); err != nil && !errors.Is(err, ErrQuota) {
			t.Fatal(err)
		}
		switch i % 5 {
		case 1:
			s.Delete(c, tok)
		case 2:
			s.Claim(c, h, []byte{1, 2}, 50)
		case 3:
			s.Expired(60, func(c cid.Cid, r Ref) error { return s.DropRef(c, r.DeleteHash) })
		case 4:
			must(t, s.PutRecord(fmt.Sprint("rec", i%7), make([]byte, int(i%5)*10_000)))
			if i%3 == 0 {
				must(t, s.DeleteRecord(fmt.Sprint("rec", (i+1)%7)))
			}
		}
	}
}
