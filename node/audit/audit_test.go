package audit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

var sizes = []int{1, 100, GroupSize - 1, GroupSize, GroupSize + 1, 3*GroupSize + 5, 3<<20 + 123, 4 << 20}

func TestHonestProofVerifies(t *testing.T) {
	for _, size := range sizes {
		s := newShard(t, uint64(size), size)
		for _, count := range []int{1, DefaultRangesPerShard, 8} {
			rs := Ranges(nonce(7), s.cid, s.size(), count)
			if err := Verify(s.cid, s.size(), rs, s.prove(t, rs)); err != nil {
				t.Errorf("size %d, %d ranges: %v", size, count, err)
			}
		}
	}
}

func TestRangesOfSmallShards(t *testing.T) {
	c := newShard(t, 1, 1).cid
	cases := []struct {
		size  int64
		count int
		want  []Range
	}{
		{1, 2, []Range{{0, 1}}},
		{GroupSize, 2, []Range{{0, GroupSize}}},
		{GroupSize + 1, 2, []Range{{0, GroupSize}, {GroupSize, 1}}},
		{GroupSize + 1, 5, []Range{{0, GroupSize}, {GroupSize, 1}}},
		{0, 2, nil},
		{-1, 2, nil},
		{GroupSize, 0, nil},
	}
	for _, tc := range cases {
		if got := Ranges(nonce(3), c, tc.size, tc.count); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("Ranges(size %d, count %d) = %v, want %v", tc.size, tc.count, got, tc.want)
		}
	}
	if rs := Ranges(nonce(3), c, GroupSize+1, 1); len(rs) != 1 {
		t.Errorf("one range of two groups: %v", rs)
	}
}

// Every range is one whole group (shorter only at the end), inside the shard, distinct, sorted.
func checkRanges(t tb, rs []Range, size int64, count int) {
	t.Helper()
	groups := int((size + GroupSize - 1) / GroupSize)
	if len(rs) != min(count, groups) {
		t.Fatalf("%d ranges for %d of %d groups", len(rs), count, groups)
	}
	for i, r := range rs {
		if r.Off%GroupSize != 0 || r.Len != min(GroupSize, uint64(size)-r.Off) || r.check(size) != nil {
			t.Fatalf("range %d %+v is not one group of a %d-byte shard", i, r, size)
		}
		if i > 0 && r.Off <= rs[i-1].Off {
			t.Fatalf("ranges not sorted and distinct: %v", rs)
		}
	}
}

func TestRangesDependOnNonceAndShard(t *testing.T) {
	a, b := newShard(t, 1, 4<<20), newShard(t, 2, 4<<20)
	seen := map[string]bool{}
	for i := range uint64(64) {
		rs := Ranges(nonce(i), a.cid, a.size(), DefaultRangesPerShard)
		checkRanges(t, rs, a.size(), DefaultRangesPerShard)
		if again := Ranges(nonce(i), a.cid, a.size(), DefaultRangesPerShard); fmt.Sprint(again) != fmt.Sprint(rs) {
			t.Fatalf("nonce %d: ranges not deterministic: %v then %v", i, rs, again)
		}
		seen[fmt.Sprint(rs)] = true
	}
	// 256 groups, pairs of them: 32,640 possible answers, so 64 nonces nearly never collide.
	if len(seen) < 60 {
		t.Fatalf("64 nonces gave only %d different range sets", len(seen))
	}
	if fmt.Sprint(Ranges(nonce(0), a.cid, a.size(), 2)) == fmt.Sprint(Ranges(nonce(1), a.cid, a.size(), 2)) {
		t.Fatal("nonces 0 and 1 challenge the same ranges")
	}
	if fmt.Sprint(Ranges(nonce(0), a.cid, a.size(), 8)) == fmt.Sprint(Ranges(nonce(0), b.cid, b.size(), 8)) {
		t.Fatal("two shards challenged at the same ranges with one nonce")
	}
}

// Each group is challenged about equally often: a holder cannot keep the likely ones only.
func TestRangesAreUniform(t *testing.T) {
	s := newShard(t, 1, 4*GroupSize)
	const draws = 4000
	var hits [4]int
	for i := range uint64(draws) {
		for _, r := range Ranges(nonce(i), s.cid, s.size(), 1) {
			hits[r.Off/GroupSize]++
		}
	}
	for g, n := range hits {
		if n < draws/4*8/10 || n > draws/4*12/10 {
			t.Fatalf("group %d challenged %d times of %d, want about %d: %v", g, n, draws, draws/4, hits)
		}
	}
	// Drawing k of n is the start of a uniform shuffle: every value of a small range appears.
	picks := pickDistinct(strings.NewReader(strings.Repeat("\xff\x00\x13\x77\x42\x01\x99\xab", 64)), 5, 4)
	if len(picks) != 4 || picks[0] == picks[1] {
		t.Fatalf("pickDistinct gave %v", picks)
	}
}

// A byte flipped in a challenged group fails the audit; one flipped elsewhere is not seen (an
// audit samples), which is why audits repeat with fresh nonces.
func TestDamagedShardFailsWhereChallenged(t *testing.T) {
	s := newShard(t, 9, 1<<20+77)
	rs := Ranges(nonce(5), s.cid, s.size(), DefaultRangesPerShard)
	inRange := func(off uint64) bool {
		for _, r := range rs {
			if off >= r.Off && off < r.Off+r.Len {
				return true
			}
		}
		return false
	}
	for _, off := range []uint64{rs[0].Off, rs[0].Off + rs[0].Len - 1, rs[1].Off + 1000, 0, uint64(s.size()) - 1, GroupSize * 7} {
		s.data[off] ^= 0x01
		err := Verify(s.cid, s.size(), rs, s.prove(t, rs))
		s.data[off] ^= 0x01
		if inRange(off) && !errors.Is(err, ErrBadProof) {
			t.Errorf("byte %d flipped inside a challenged range: %v, want ErrBadProof", off, err)
		}
		if !inRange(off) && err != nil {
			t.Errorf("byte %d flipped outside the challenged ranges: %v, want pass", off, err)
		}
	}
	// A damaged outboard breaks the path of every challenged group.
	ob := bytes.Clone(s.outboard)
	for i := 8; i < len(ob); i++ {
		ob[i] = 0
	}
	var buf bytes.Buffer
	if err := Prove(&buf, bytes.NewReader(s.data), ob, s.size(), rs); err != nil {
		t.Fatal(err)
	}
	if err := Verify(s.cid, s.size(), rs, buf.Bytes()); !errors.Is(err, ErrBadProof) {
		t.Errorf("proof from a zeroed outboard: %v, want ErrBadProof", err)
	}
}

// Every header and tree byte of a proof matters, and so does every data byte (sampled here).
func TestFlippedProofByteFails(t *testing.T) {
	for _, size := range []int{1, GroupSize + 1, 5*GroupSize + 3, 4 << 20} {
		s := newShard(t, uint64(size), size)
		rs := Ranges(nonce(11), s.cid, s.size(), DefaultRangesPerShard)
		proof := s.prove(t, rs)
		tested := 0
		for i := 0; i < len(proof); i++ {
			if isData(s.size(), rs, i) && i%251 != 0 {
				continue
			}
			proof[i] ^= 0x80
			if err := Verify(s.cid, s.size(), rs, proof); !errors.Is(err, ErrBadProof) {
				t.Fatalf("size %d: proof byte %d of %d flipped: %v, want ErrBadProof", size, i, len(proof), err)
			}
			proof[i] ^= 0x80
			tested++
		}
		if err := Verify(s.cid, s.size(), rs, proof); err != nil || tested == 0 {
			t.Fatalf("size %d: proof no longer verifies after restoring it (%d flips): %v", size, tested, err)
		}
	}
}

// isData tells whether proof byte i is shard data rather than a size header or tree node.
func isData(size int64, rs []Range, i int) bool {
	for _, r := range rs {
		n := sliceSize(uint64(size), r)
		if i < n {
			return i >= n-int(r.Len)
		}
		i -= n
	}
	return false
}

func TestWrongProofLengthAndQuestions(t *testing.T) {
	s := newShard(t, 4, 3*GroupSize)
	rs := Ranges(nonce(1), s.cid, s.size(), 2)
	proof := s.prove(t, rs)
	for name, p := range map[string][]byte{
		"truncated": proof[:len(proof)-1],
		"extended":  append(bytes.Clone(proof), 0),
		"empty":     nil,
	} {
		if err := Verify(s.cid, s.size(), rs, p); !errors.Is(err, ErrBadProof) || !strings.Contains(err.Error(), "want") {
			t.Errorf("%s proof: %v, want ErrBadProof naming the expected length", name, err)
		}
	}
	// The proof of another shard, or of other ranges, does not pass for this one.
	other := newShard(t, 5, 3*GroupSize)
	if err := Verify(s.cid, s.size(), rs, other.prove(t, rs)); !errors.Is(err, ErrBadProof) {
		t.Errorf("another shard's proof: %v", err)
	}
	if err := Verify(s.cid, s.size(), []Range{{0, GroupSize}, {GroupSize, GroupSize}}, s.prove(t, []Range{{GroupSize, GroupSize}, {2 * GroupSize, GroupSize}})); !errors.Is(err, ErrBadProof) {
		t.Errorf("proof of other ranges: %v", err)
	}
	// Invalid questions are errors, not bad proofs.
	sha, _ := cid.V1Builder{Codec: codec.CodecRaw, MhType: mh.SHA2_256}.Sum(s.data)
	for _, c := range []cid.Cid{cid.Undef, sha} {
		if err := Verify(c, s.size(), rs, proof); err == nil || errors.Is(err, ErrBadProof) {
			t.Errorf("verify against %v: %v, want a not-a-BLAKE3-CID error", c, err)
		}
	}
	bad := []Range{{Off: uint64(s.size()), Len: 1}}
	if err := Verify(s.cid, s.size(), bad, proof); err == nil || errors.Is(err, ErrBadProof) {
		t.Errorf("range outside the shard: %v, want an invalid-question error", err)
	}
	if ProofSize(s.size(), bad) != -1 || ProofSize(s.size(), []Range{{0, 0}}) != -1 || ProofSize(s.size(), []Range{{1, ^uint64(0)}}) != -1 {
		t.Error("ProofSize accepted an invalid range")
	}
	if err := Prove(&bytes.Buffer{}, bytes.NewReader(s.data), s.outboard, s.size(), bad); err == nil {
		t.Error("Prove accepted a range outside the shard")
	}
	if err := Prove(&bytes.Buffer{}, bytes.NewReader(s.data), s.outboard[:len(s.outboard)-1], s.size(), rs); err == nil {
		t.Error("Prove accepted an outboard of the wrong size")
	}
	if err := Prove(&bytes.Buffer{}, bytes.NewReader(s.data[:2*GroupSize]), s.outboard, s.size(), []Range{{2 * GroupSize, GroupSize}}); err == nil {
		t.Error("Prove of a range past the end of short data succeeded")
	}
}

// The proof is the size header, the tree path and the group: about 16.9 KiB per range of a
// 4 MiB shard (256 groups, 8 levels).
func TestProofSizeOf4MiBShard(t *testing.T) {
	s := newShard(t, 1, 4<<20)
	rs := Ranges(nonce(1), s.cid, s.size(), DefaultRangesPerShard)
	if got, want := ProofSize(s.size(), rs), 2*(8+8*64+GroupSize); got != want {
		t.Fatalf("proof of 2 ranges of a 4 MiB shard is %d bytes, want %d", got, want)
	}
}

// A slice's size header is authenticated only by the tree shape: 3 and 4 groups share the path
// to group 0, so a slice claiming 4 would pass bao alone. Verify holds it to the known size.
func TestSizeHeaderMustMatch(t *testing.T) {
	s := newShard(t, 6, 3*GroupSize)
	rs := []Range{{0, GroupSize}}
	proof := s.prove(t, rs)
	binary.LittleEndian.PutUint64(proof, 4*GroupSize)
	if err := Verify(s.cid, s.size(), rs, proof); !errors.Is(err, ErrBadProof) || !strings.Contains(err.Error(), "claims") {
		t.Fatalf("slice with a forged size header: %v, want ErrBadProof", err)
	}
}
