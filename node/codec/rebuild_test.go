package codec

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// TestRebuildMatchesEncoder drops up to N-K shards of real encoded segments and
// checks the rebuilt ones are byte-identical to the encoder's, CIDs included.
func TestRebuildMatchesEncoder(tt *testing.T) {
	rapid.Check(tt, func(t *rapid.T) {
		k := rapid.IntRange(2, 6).Draw(t, "k")
		n := rapid.IntRange(k+1, k+6).Draw(t, "n")
		p := Params{K: k, N: n, SegmentSize: MinSegmentSize}
		size := rapid.IntRange(0, 2*MinSegmentSize).Draw(t, "size")
		segs := encodeFile(tt, p, testKey(3), randBytes(rapid.Uint64().Draw(t, "seed"), size))
		seg := segs[rapid.IntRange(0, len(segs)-1).Draw(t, "seg")]

		lost := rapid.SliceOfNDistinct(rapid.IntRange(0, n-1), 0, n-k, rapid.ID[int]).Draw(t, "lost")
		have := slices.Clone(seg.shards)
		for _, i := range lost {
			have[i] = nil
		}
		before := cloneShards(have)
		// Sometimes also ask for a present shard: it must come back as a copy.
		want := slices.Clone(lost)
		if rapid.Bool().Draw(t, "wantPresent") && len(lost) < n {
			for i := range n {
				if have[i] != nil {
					want = append(want, i)
					break
				}
			}
		}

		r, err := NewRebuilder(k, n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Rebuild(seg.ss, have, want)
		if err != nil {
			t.Fatalf("rebuild %v of %d-of-%d: %v", want, k, n, err)
		}
		if len(got) != len(want) {
			t.Fatalf("got %d shards, want %d", len(got), len(want))
		}
		for j, w := range want {
			if !bytes.Equal(got[j], seg.shards[w]) {
				t.Fatalf("shard %d: rebuilt bytes differ from encoder's", w)
			}
			if ShardCID(got[j]) != ShardCID(seg.shards[w]) {
				t.Fatalf("shard %d: CID differs", w)
			}
			if have[w] != nil && &got[j][0] == &have[w][0] {
				t.Fatalf("shard %d: returned the caller's slice, not a copy", w)
			}
		}
		for i := range have {
			if !bytes.Equal(have[i], before[i]) || (have[i] == nil) != (before[i] == nil) {
				t.Fatalf("input shard %d was modified", i)
			}
		}
	})
}

// TestRebuildReuse checks one Rebuilder gives the same answer as a fresh one
// across segments of different shard sizes.
func TestRebuildReuse(t *testing.T) {
	p := Params{K: 3, N: 6, SegmentSize: MinSegmentSize}
	segs := encodeFile(t, p, testKey(9), randBytes(5, MinSegmentSize+1000)) // one full, one short segment
	r, err := NewRebuilder(p.K, p.N)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		for _, seg := range segs {
			have := slices.Clone(seg.shards)
			have[0], have[4], have[5] = nil, nil, nil
			got, err := r.Rebuild(seg.ss, have, []int{5, 0, 4})
			if err != nil {
				t.Fatalf("round %d segment %d: %v", round, seg.index, err)
			}
			for j, w := range []int{5, 0, 4} {
				if !bytes.Equal(got[j], seg.shards[w]) {
					t.Fatalf("round %d segment %d shard %d differs", round, seg.index, w)
				}
			}
		}
	}
}

func TestRebuildErrors(t *testing.T) {
	p := Params{K: 3, N: 5, SegmentSize: MinSegmentSize}
	seg := encodeFile(t, p, testKey(1), randBytes(2, 1000))[0]
	missing := func(idx ...int) [][]byte {
		s := slices.Clone(seg.shards)
		for _, i := range idx {
			s[i] = nil
		}
		return s
	}
	short := slices.Clone(seg.shards)
	short[2] = short[2][:seg.ss-1]

	tests := []struct {
		name    string
		k, n    int
		ss      int
		have    [][]byte
		want    []int
		errText string
		tooFew  bool
	}{
		{"k too small", 1, 5, seg.ss, seg.shards, nil, "K=1", false},
		{"n not above k", 3, 3, seg.ss, seg.shards[:3], nil, "need N > K", false},
		{"n too big", 3, 256, seg.ss, nil, nil, "N=256", false},
		{"zero shard size", 3, 5, 0, missing(0), []int{0}, "shardSize 0", false},
		{"negative shard size", 3, 5, -4, missing(0), []int{0}, "shardSize -4", false},
		{"too few slots", 3, 5, seg.ss, seg.shards[:4], []int{0}, "got 4 shard slots", false},
		{"nil slots", 3, 5, seg.ss, nil, []int{0}, "got 0 shard slots", false},
		{"short shard", 3, 5, seg.ss, short, []int{0}, "shard 2 has", false},
		{"want negative", 3, 5, seg.ss, missing(0), []int{-1}, "wanted shard -1 out of range", false},
		{"want too big", 3, 5, seg.ss, missing(0), []int{5}, "wanted shard 5 out of range", false},
		{"want twice", 3, 5, seg.ss, missing(0), []int{0, 0}, "shard 0 wanted twice", false},
		{"fewer than k", 3, 5, seg.ss, missing(0, 1, 4), []int{0}, "has 2 of 5 shards, need 3", true},
		{"none present", 3, 5, seg.ss, make([][]byte, 5), []int{0}, "has 0 of 5", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Rebuild(tc.k, tc.n, tc.ss, tc.have, tc.want)
			if err == nil {
				t.Fatalf("no error, got %d shards", len(got))
			}
			if !strings.Contains(err.Error(), tc.errText) {
				t.Fatalf("error %q does not mention %q", err, tc.errText)
			}
			if errors.Is(err, ErrTooFewShards) != tc.tooFew {
				t.Fatalf("errors.Is(ErrTooFewShards) = %v, want %v (%v)", !tc.tooFew, tc.tooFew, err)
			}
		})
	}
}

// TestRebuildNothingWanted: an empty want is a no-op, still checked for K.
func TestRebuildNothingWanted(t *testing.T) {
	p := Params{K: 2, N: 4, SegmentSize: MinSegmentSize}
	seg := encodeFile(t, p, testKey(4), randBytes(8, 100))[0]
	got, err := Rebuild(p.K, p.N, seg.ss, seg.shards, nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("got %d shards, err %v; want none, nil", len(got), err)
	}
}
