package store

import (
	"bytes"
	"errors"
	"io"
	"os"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
	"lukechampine.com/blake3/bao"
)

func TestPutOpenRead(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	_, h := token("a")
	sizes := []int{0, 1, 1023, 1024, 16 << 10, 16<<10 + 1, 100_000, 1 << 20}
	var total int64
	want := map[cid.Cid]int64{}
	for i, n := range sizes {
		data := randBytes(uint64(i), n)
		c := cidOf(t, data)
		existed, err := s.Put(c, int64(n), bytes.NewReader(data), Ref{DeleteHash: h})
		if err != nil || existed {
			t.Fatalf("Put size %d: existed=%v err=%v", n, existed, err)
		}
		if !s.Has(c) {
			t.Fatalf("Has false after Put")
		}
		if got := readBack(t, s, c); !bytes.Equal(got, data) {
			t.Fatalf("size %d: read back differs", n)
		}
		b, err := s.Stat(c)
		if err != nil || b.Size != int64(n) || len(b.Outboard) != bao.EncodedSize(n, baoGroup, true) {
			t.Fatalf("Stat size %d: %+v (outboard %d) %v", n, b.Size, len(b.Outboard), err)
		}
		total += int64(n)
		want[c] = int64(n)
	}
	if s.Used() != total {
		t.Fatalf("Used = %d, want %d", s.Used(), total)
	}
	got := map[cid.Cid]int64{}
	if err := s.List(func(c cid.Cid, size int64) error { got[c] = size; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("List: %d entries, want %d", len(got), len(want))
	}
	for c, n := range want {
		if got[c] != n {
			t.Fatalf("List: %s size %d, want %d", c, got[c], n)
		}
	}
	stop := errors.New("stop")
	if err := s.List(func(cid.Cid, int64) error { return stop }); err != stop {
		t.Fatalf("List did not return fn's error: %v", err)
	}
}

func TestListPages(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	_, h := token("a")
	n := listPage*2 + 3
	for i := range n {
		mustPut(t, s, randBytes(uint64(i), 8), h)
	}
	seen := map[cid.Cid]bool{}
	err := s.List(func(c cid.Cid, _ int64) error {
		if seen[c] {
			t.Fatalf("List repeated %s", c)
		}
		seen[c] = true
		return nil
	})
	if err != nil || len(seen) != n {
		t.Fatalf("List saw %d of %d (%v)", len(seen), n, err)
	}
}

func TestOutboardVerifiesData(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	_, h := token("a")
	data := randBytes(7, 300_000)
	c := mustPut(t, s, data, h)
	f, b, err := s.Open(c)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	digest, _ := digestOf(c)
	var out bytes.Buffer
	ok, err := bao.Decode(&out, f, bytes.NewReader(b.Outboard), baoGroup, digest)
	if err != nil || !ok || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("bao.Decode: ok=%v err=%v equal=%v", ok, err, bytes.Equal(out.Bytes(), data))
	}
	// And a single chunk group can be checked on its own (ranged serving).
	group := data[16<<10 : 32<<10]
	if !bao.VerifyChunk(group, b.Outboard, baoGroup, 16<<10, digest) {
		t.Fatal("VerifyChunk rejected a good group")
	}
}

func TestMismatchKeepsNothing(t *testing.T) {
	dir := t.TempDir()
	data := randBytes(1, 50_000)
	s := openTest(t, dir, Options{NoSync: true, Capacity: int64(len(data))})
	_, h := token("a")
	c := cidOf(t, data)
	bad := slices.Clone(data)
	bad[len(bad)/2] ^= 1
	_, err := s.Put(c, int64(len(bad)), bytes.NewReader(bad), Ref{DeleteHash: h})
	wantErr(t, err, ErrMismatch)
	if s.Has(c) || len(blobFiles(t, dir)) != 0 || s.Used() != 0 || s.reservedBytes() != 0 {
		t.Fatalf("after mismatch: has=%v files=%v used=%d reserved=%d",
			s.Has(c), blobFiles(t, dir), s.Used(), s.reservedBytes())
	}
	if _, err := s.Stat(c); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Stat: %v", err)
	}
	// The reservation was released: the whole capacity is usable again.
	mustPut(t, s, data, h)
	if s.Free() != 0 {
		t.Fatalf("Free = %d, want 0", s.Free())
	}
}

func TestShortReaderKeepsNothing(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Options{NoSync: true, Capacity: 1 << 20})
	_, h := token("a")
	data := randBytes(2, 40_000)
	c := cidOf(t, data)
	for _, n := range []int{0, 1000, 16 << 10, len(data) - 1} {
		_, err := s.Put(c, int64(len(data)), bytes.NewReader(data[:n]), Ref{DeleteHash: h})
		wantErr(t, err, io.ErrUnexpectedEOF)
		if s.Has(c) || len(blobFiles(t, dir)) != 0 || s.Used() != 0 || s.reservedBytes() != 0 {
			t.Fatalf("short %d: has=%v files=%v used=%d reserved=%d",
				n, s.Has(c), blobFiles(t, dir), s.Used(), s.reservedBytes())
		}
	}
}

func TestPutReadsExactlySize(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	_, h := token("a")
	data := randBytes(3, 20_000)
	r := bytes.NewReader(append(slices.Clone(data), "trailing"...))
	if _, err := s.Put(cidOf(t, data), int64(len(data)), r, Ref{DeleteHash: h}); err != nil {
		t.Fatal(err)
	}
	if r.Len() != len("trailing") {
		t.Fatalf("Put left %d bytes unread, want %d", r.Len(), len("trailing"))
	}
}

func TestExistingBlobGainsRefWithProof(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Options{NoSync: true})
	tok1, h1 := token("1")
	tok2, h2 := token("2")
	data := randBytes(4, 70_000)
	c := mustPut(t, s, data, h1)
	before, _ := os.Stat(fileOf(t, s, c))
	r2 := Ref{DeleteHash: h2, Account: "peer2", Subnet: "10.0.2.0/24"}

	// Knowing the CID and size is not enough: wrong or missing bytes add nothing.
	bad := slices.Clone(data)
	bad[len(bad)-1] ^= 1
	for _, tc := range []struct {
		name string
		r    io.Reader
		want error
	}{
		{"wrong bytes", bytes.NewReader(bad), ErrMismatch},
		{"short", bytes.NewReader(data[:len(data)-1]), io.ErrUnexpectedEOF},
		{"empty", bytes.NewReader(nil), io.ErrUnexpectedEOF},
	} {
		existed, err := s.Put(c, int64(len(data)), tc.r, r2)
		wantErr(t, err, tc.want)
		if existed || s.HasRef(c, h2) || s.Usage("peer2") != 0 || s.SubnetUsage("10.0.2.0/24") != 0 {
			t.Fatalf("%s: existed=%v ref=%v usage=%d", tc.name, existed, s.HasRef(c, h2), s.Usage("peer2"))
		}
	}
	_, err := s.Put(c, int64(len(data))+1, failReader{t}, r2)
	wantErr(t, err, ErrMismatch)

	// The right bytes add the ref and charge its account, not Used; the file stays.
	r := bytes.NewReader(append(slices.Clone(data), "trailing"...))
	existed, err := s.Put(c, int64(len(data)), r, r2)
	if err != nil || !existed {
		t.Fatalf("second Put: existed=%v err=%v", existed, err)
	}
	if r.Len() != len("trailing") {
		t.Fatalf("proof read %d bytes too many", len("trailing")-r.Len())
	}
	if s.Used() != int64(len(data)) || s.Usage("peer2") != int64(len(data)) ||
		s.SubnetUsage("10.0.2.0/24") != int64(len(data)) || s.Usage("") != int64(len(data)) {
		t.Fatalf("Used=%d Usage(peer2)=%d Usage(self)=%d", s.Used(), s.Usage("peer2"), s.Usage(""))
	}
	refs, err := s.Refs(c)
	if err != nil || len(refs) != 2 || refs[1].Account != "peer2" || refs[1].Subnet != "10.0.2.0/24" {
		t.Fatalf("Refs = %+v, %v", refs, err)
	}
	if after, _ := os.Stat(fileOf(t, s, c)); !os.SameFile(before, after) {
		t.Fatal("proof of possession rewrote the file")
	}

	// Two refs: the first delete keeps the file.
	wantErr(t, s.Delete(c, [32]byte{}), ErrForbidden)
	if err := s.Delete(c, tok1); err != nil {
		t.Fatal(err)
	}
	if !s.Has(c) || !exists(fileOf(t, s, c)) || !bytes.Equal(readBack(t, s, c), data) || s.Usage("") != 0 {
		t.Fatal("blob gone after deleting one of two refs")
	}
	wantErr(t, s.Delete(c, tok1), ErrForbidden) // that ref is spent
	if err := s.Delete(c, tok2); err != nil {
		t.Fatal(err)
	}
	if s.Has(c) || exists(fileOf(t, s, c)) || s.Used() != 0 || s.Usage("peer2") != 0 || s.SubnetUsage("10.0.2.0/24") != 0 {
		t.Fatalf("after last delete: has=%v file=%v used=%d", s.Has(c), exists(fileOf(t, s, c)), s.Used())
	}
	wantErr(t, s.Delete(c, tok2), ErrNotFound)
}

func TestSameRefTwiceIsOneRef(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	tok, h := token("1")
	data := randBytes(5, 100)
	c := mustPut(t, s, data, h)
	// The same hash from another account: the bytes are still checked, and
	// the ref (and who pays for it) is unchanged.
	other := Ref{DeleteHash: h, Account: "other"}
	_, err := s.Put(c, 100, bytes.NewReader(make([]byte, 100)), other)
	wantErr(t, err, ErrMismatch)
	if existed, err := s.Put(c, 100, bytes.NewReader(data), other); !existed || err != nil {
		t.Fatalf("existed=%v err=%v", existed, err)
	}
	if refs, _ := s.Refs(c); len(refs) != 1 || refs[0].Account != "" || s.Usage("other") != 0 {
		t.Fatalf("refs %+v, Usage(other)=%d", refs, s.Usage("other"))
	}
	if err := s.Delete(c, tok); err != nil {
		t.Fatal(err)
	}
	if s.Has(c) {
		t.Fatal("refs are a set: one delete should remove the blob")
	}
}

func TestDeleteWrongTokenKeepsBlob(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Options{NoSync: true})
	tok, h := token("right")
	wrong, _ := token("wrong")
	data := randBytes(6, 5000)
	c := mustPut(t, s, data, h)
	wantErr(t, s.Delete(c, wrong), ErrForbidden)
	// The delete hash itself is not a token.
	wantErr(t, s.Delete(c, h), ErrForbidden)
	if !s.Has(c) || !bytes.Equal(readBack(t, s, c), data) {
		t.Fatal("wrong token damaged the blob")
	}
	if err := s.Delete(c, tok); err != nil {
		t.Fatal(err)
	}
	if s.Has(c) || len(blobFiles(t, dir)) != 0 || s.Used() != 0 {
		t.Fatal("right token did not remove the blob")
	}
	if _, _, err := s.Open(c); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open after delete: %v", err)
	}
}

func TestOpenFileSurvivesDelete(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	tok, h := token("1")
	data := randBytes(8, 30_000)
	c := mustPut(t, s, data, h)
	f, _, err := s.Open(c)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := s.Delete(c, tok); err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(f); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("reading an open blob after delete: %v", err)
	}
}

func TestVerifyDetectsCorruption(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	_, h := token("1")
	data := randBytes(9, 200_000)
	c := mustPut(t, s, data, h)
	if err := s.Verify(c); err != nil {
		t.Fatalf("Verify good blob: %v", err)
	}
	f, err := os.OpenFile(fileOf(t, s, c), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte{0}
	f.ReadAt(b, 123_456)
	b[0] ^= 0x40
	if _, err := f.WriteAt(b, 123_456); err != nil {
		t.Fatal(err)
	}
	f.Close()
	wantErr(t, s.Verify(c), ErrMismatch)

	wantErr(t, s.Verify(cidOf(t, []byte("absent"))), ErrNotFound)
}

func TestVerifyDetectsTruncation(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	_, h := token("1")
	c := mustPut(t, s, randBytes(10, 50_000), h)
	if err := os.Truncate(fileOf(t, s, c), 49_999); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.Verify(c), ErrMismatch)
}

func TestBadCIDAndLimits(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true, MaxBlob: 1000})
	_, h := token("1")
	mh, _ := multihash.Sum([]byte("x"), multihash.SHA2_256, -1)
	sha := cid.NewCidV1(cid.Raw, mh)
	_, err := s.Put(sha, 1, bytes.NewReader([]byte("x")), Ref{DeleteHash: h})
	wantErr(t, err, ErrBadCID)
	wantErr(t, s.Delete(sha, h), ErrBadCID)
	_, err = s.Put(cid.Undef, 1, bytes.NewReader([]byte("x")), Ref{DeleteHash: h})
	wantErr(t, err, ErrBadCID)
	if s.Has(sha) || s.Has(cid.Undef) {
		t.Fatal("Has true for invalid CID")
	}

	big := randBytes(11, 1001)
	_, err = s.Put(cidOf(t, big), 1001, failReader{t}, Ref{DeleteHash: h})
	wantErr(t, err, ErrTooLarge)
	mustPut(t, s, big[:1000], h)
	if _, err := s.Put(cidOf(t, big), -1, failReader{t}, Ref{DeleteHash: h}); err == nil {
		t.Fatal("negative size accepted")
	}
}

func TestManifestCodecIsSeparateBlob(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	tok, h := token("1")
	data := []byte(`{"manifest":true}`)
	raw := mustPut(t, s, data, h)
	js := cid.NewCidV1(0x0200, raw.Hash())
	if s.Has(js) {
		t.Fatal("json CID reported present")
	}
	if _, err := s.Put(js, int64(len(data)), bytes.NewReader(data), Ref{DeleteHash: h}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(raw, tok); err != nil {
		t.Fatal(err)
	}
	if !s.Has(js) || !bytes.Equal(readBack(t, s, js), data) {
		t.Fatal("deleting the raw CID affected the json CID")
	}
}

func TestRecords(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	if _, err := s.GetRecord("k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetRecord absent: %v", err)
	}
	val := []byte("location record")
	if err := s.PutRecord("k", val); err != nil {
		t.Fatal(err)
	}
	val[0] = 'X' // the store must have copied
	got, err := s.GetRecord("k")
	if err != nil || string(got) != "location record" {
		t.Fatalf("GetRecord = %q, %v", got, err)
	}
	if err := s.PutRecord("k", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetRecord("k"); string(got) != "v2" {
		t.Fatalf("overwrite: %q", got)
	}
	if err := s.PutRecord("empty", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetRecord("empty"); err != nil || len(got) != 0 {
		t.Fatalf("empty record: %q %v", got, err)
	}
	wantErr(t, s.PutRecord("big", make([]byte, MaxRecord)), ErrTooLarge)
	if err := s.PutRecord("almost", make([]byte, MaxRecord-1)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRecord("", val); err == nil {
		t.Fatal("empty key accepted")
	}
	if err := s.DeleteRecord("k"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, func() error { _, err := s.GetRecord("k"); return err }(), ErrNotFound)
	if err := s.DeleteRecord("k"); err != nil {
		t.Fatalf("deleting an absent record: %v", err)
	}
	// What is left counts in Used: key and value bytes.
	if want := int64(len("empty") + len("almost") + MaxRecord - 1); s.Used() != want {
		t.Fatalf("Used = %d, want %d", s.Used(), want)
	}
}
