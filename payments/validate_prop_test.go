package payments

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"lukechampine.com/blake3"
	"pgregory.net/rapid"
)

// genChains draws 1..4 authors, each with a valid chain of 0..6 entries of random kinds and
// non-decreasing times. chains[a] are author a's encoded entries in Seq order.
func genChains(t *rapid.T) (authors []*chain, chains [][][]byte) {
	server := newTestKey(t, 100)
	n := rapid.IntRange(1, 4).Draw(t, "authors")
	for a := 0; a < n; a++ {
		c := newChain(t, byte(a+1))
		var out [][]byte
		now := int64(fixtureTime - 10_000)
		epoch := uint64(0)
		for i, l := 0, rapid.IntRange(0, 6).Draw(t, fmt.Sprintf("len%d", a)); i < l; i++ {
			now += rapid.Int64Range(0, 100).Draw(t, "dt")
			var b []byte
			switch rapid.IntRange(0, 4).Draw(t, "kind") {
			case 0:
				b = c.price(now)
			case 1:
				b = c.add(KindPartner, testPartner(server), now)
			case 2:
				epoch += rapid.Uint64Range(1, 3).Draw(t, "epoch step")
				b = c.add(KindStatement, testStatement(epoch), now)
			case 3:
				b = c.add(KindStorage, c.storage(server, now), now)
			case 4:
				b = c.add(KindDownload, c.download(server, byte(i)), now)
			}
			out = append(out, b)
		}
		authors = append(authors, c)
		chains = append(chains, out)
	}
	return authors, chains
}

// interleave draws an order of all entries that keeps each author's entries in Seq order.
func interleave(t *rapid.T, chains [][][]byte) [][]byte {
	next := make([]int, len(chains))
	var order [][]byte
	for {
		var open []int
		for a := range chains {
			if next[a] < len(chains[a]) {
				open = append(open, a)
			}
		}
		if len(open) == 0 {
			return order
		}
		a := rapid.SampledFrom(open).Draw(t, "author")
		order = append(order, chains[a][next[a]])
		next[a]++
	}
}

// (a) Valid chains are accepted under any interleaving that keeps each author's order.
func TestPropValidChainsAccepted(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		authors, chains := genChains(t)
		v, s := newTestValidator()
		for i, b := range interleave(t, chains) {
			if err := s.add(v, b); err != nil {
				t.Fatalf("entry %d refused: %v", i, err)
			}
		}
		total := 0
		front := v.Frontier()
		for a, c := range chains {
			total += len(c)
			if got := front[peer.ID(authors[a].key.id).String()]; got != uint64(len(c)) {
				t.Fatalf("author %d frontier %d, want %d", a, got, len(c))
			}
		}
		if v.Accepted() != total || len(v.ForkProofs()) != 0 {
			t.Fatalf("accepted %d of %d, %d fork proofs", v.Accepted(), total, len(v.ForkProofs()))
		}
	})
}

// (b) Every single-byte change of a valid entry is refused, without panicking.
func TestPropCorruptionRefused(t *testing.T) {
	entries := oneOfEachKind(t)
	rapid.Check(t, func(t *rapid.T) {
		b := bytes.Clone(rapid.SampledFrom(entries).Draw(t, "entry"))
		i := rapid.IntRange(0, len(b)-1).Draw(t, "at")
		b[i] ^= rapid.ByteRange(1, 255).Draw(t, "xor")
		v, _ := newTestValidator()
		if _, _, err := v.Add(b, testNow); err == nil {
			t.Fatalf("corrupted byte %d accepted", i)
		} else if ReasonOf(err) == "" {
			t.Fatalf("refusal without a reason: %v", err)
		}
	})
}

// TestEveryBitFlipRefused is (b) exhaustively for one bit position per byte.
func TestEveryBitFlipRefused(t *testing.T) {
	for k, good := range oneOfEachKind(t) {
		for i := range good {
			b := bytes.Clone(good)
			b[i] ^= 1 << (i % 8)
			v, _ := newTestValidator()
			if _, _, err := v.Add(b, testNow); ReasonOf(err) == "" {
				t.Fatalf("kind %d: flip at byte %d: %v", k+1, i, err)
			}
		}
	}
}

// (c) Whatever is offered, in whatever order and however often, no entry is accepted twice, and
// an already accepted entry is refused as a duplicate.
func TestPropNoEntryAcceptedTwice(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		_, chains := genChains(t)
		var all [][]byte
		for _, c := range chains {
			all = append(all, c...)
		}
		if len(all) == 0 {
			return
		}
		v, s := newTestValidator()
		accepted := map[ID]bool{}
		offers := rapid.SliceOfN(rapid.IntRange(0, len(all)-1), 0, 4*len(all)).Draw(t, "offers")
		for _, i := range offers {
			id := ID(blake3.Sum256(all[i]))
			err := s.add(v, all[i])
			switch {
			case err == nil && accepted[id]:
				t.Fatalf("entry %d accepted twice", i)
			case err != nil && accepted[id] && ReasonOf(err) != ReasonDuplicate:
				t.Fatalf("accepted entry %d offered again: %v, want duplicate", i, err)
			}
			if err == nil {
				accepted[id] = true
			}
		}
		if v.Accepted() != len(accepted) {
			t.Fatalf("Accepted() = %d, distinct accepted %d", v.Accepted(), len(accepted))
		}
	})
}

// (d) A second signed entry at an accepted Seq is a fork; the author is excluded from then on,
// whatever it sends, while other authors are unaffected.
func TestPropForkExcludesAuthor(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		authors, chains := genChains(t)
		a := rapid.IntRange(0, len(chains)-1).Draw(t, "forker")
		if len(chains[a]) == 0 {
			return
		}
		v, s := newTestValidator()
		for _, b := range interleave(t, chains) {
			if err := s.add(v, b); err != nil {
				t.Fatal(err)
			}
		}
		c := authors[a]
		at := rapid.IntRange(1, len(chains[a])).Draw(t, "fork seq")
		c.last = nil
		if at > 1 {
			c.last = c.history[at-2]
		}
		_, fork := c.entry(KindStatement, testStatement(1_000_000), c.history[at-1].Time)
		if err := s.add(v, fork); ReasonOf(err) != ReasonFork {
			t.Fatalf("second entry at seq %d: %v", at, err)
		}
		if len(v.ForkProofs()) != 1 || !v.Excluded(string(c.key.id)) {
			t.Fatal("fork left no proof or did not exclude")
		}
		c.last = c.history[len(c.history)-1]
		later := c.price(c.last.Time)
		for _, b := range append([][]byte{fork, later}, chains[a]...) {
			if err := s.add(v, b); ReasonOf(err) != ReasonForkedAuthor {
				t.Fatalf("forked author's entry: %v", err)
			}
		}
		for o := range authors {
			if o == a {
				continue
			}
			if err := s.add(v, authors[o].price(fixtureTime)); err != nil {
				t.Fatalf("other author %d refused after the fork: %v", o, err)
			}
		}
	})
}
