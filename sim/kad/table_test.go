package kad

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// checkTable verifies a table against its Space by brute force: bucket b
// holds distinct peers at CPL b, the last bucket at CPL ≥ b, at most K each;
// when full is set, the table is the converged kbucket table: the least
// number of buckets whose last holds every deeper peer, each other bucket
// min(K, population) peers.
func checkTable(t testing.TB, tab *Table, full bool) {
	t.Helper()
	s := tab.Space()
	n := s.Len()
	for i := range int32(n) {
		var pop [65]int
		for j := range int32(n) {
			if j != i {
				pop[CommonPrefixLen(s.ID(i), s.ID(j))]++
			}
		}
		nb := tab.Buckets(i)
		if full {
			deeper, want := 0, 0
			for b := 63; b >= 0; b-- {
				if deeper += pop[b]; deeper > tab.K() {
					want = b + 1
					break
				}
			}
			if nb != want+1 {
				t.Fatalf("node %d has %d buckets, want %d (populations %v)", i, nb, want+1, pop[:want+1])
			}
		}
		for b := range nb {
			bucket := tab.Bucket(i, b)
			inRange := pop[b]
			if b == nb-1 {
				inRange = 0
				for _, c := range pop[b:64] {
					inRange += c
				}
			}
			if len(bucket) > tab.K() || tab.Cap(i, b) != tab.K() || full && len(bucket) != min(tab.K(), inRange) {
				t.Fatalf("node %d bucket %d: %d peers, cap %d, population %d", i, b, len(bucket), tab.Cap(i, b), inRange)
			}
			for x, p := range bucket {
				c := CommonPrefixLen(s.ID(i), s.ID(p))
				if c != b && !(b == nb-1 && c > b) || p == i || slices.Contains(bucket[x+1:], p) {
					t.Fatalf("node %d bucket %d holds %d wrongly: %v", i, b, p, bucket)
				}
			}
		}
	}
}

func TestBuildIdealBuckets(t *testing.T) {
	for _, n := range []int{1, 2, 3, 21, 800} {
		s, err := RandomSpace(n, seeded(uint64(n)))
		if err != nil {
			t.Fatal(err)
		}
		tab, err := BuildIdeal(s, 8, seeded(7))
		if err != nil {
			t.Fatal(err)
		}
		checkTable(t, tab, true)
	}
	s, _ := RandomSpace(10, seeded(1))
	if _, err := BuildIdeal(s, 0, seeded(1)); err == nil {
		t.Error("k = 0 accepted")
	}
}

// Over many builds each candidate of an over-full bucket is drawn about equally
// often (the sample is uniform).
func TestBuildIdealSamplesUniformly(t *testing.T) {
	s, _ := RandomSpace(64, seeded(5))
	pop := 0
	for j := range int32(64) {
		if CommonPrefixLen(s.ID(0), s.ID(j)) == 0 {
			pop++
		}
	}
	counts := map[int32]int{}
	const builds = 4000
	for seed := range uint64(builds) {
		tab, _ := BuildIdeal(s, 4, seeded(seed))
		for _, p := range tab.Bucket(0, 0) {
			counts[p]++
		}
	}
	want := float64(builds*4) / float64(pop)
	for p, c := range counts {
		if float64(c) < 0.8*want || float64(c) > 1.2*want {
			t.Errorf("peer %d drawn %d times, want about %.0f", p, c, want)
		}
	}
	if len(counts) != pop {
		t.Errorf("%d of %d candidates ever drawn", len(counts), pop)
	}
}

func TestNearestMatchesBruteForce(t *testing.T) {
	s, _ := RandomSpace(3000, seeded(11))
	tab, _ := BuildIdeal(s, 20, seeded(12))
	rapid.Check(t, func(t *rapid.T) {
		node := int32(rapid.IntRange(0, s.Len()-1).Draw(t, "node"))
		key := rapid.Uint64().Draw(t, "key")
		if rapid.Bool().Draw(t, "nearNode") { // keys deep in node's own buckets
			key = s.ID(node) ^ rapid.Uint64Range(0, 1<<20).Draw(t, "offset")
		}
		count := rapid.IntRange(0, 45).Draw(t, "count")
		var known []int32
		for b := range tab.Buckets(node) {
			known = append(known, tab.Bucket(node, b)...)
		}
		exclude := int32(-1)
		if rapid.Bool().Draw(t, "exclude") && len(known) > 0 {
			exclude = known[rapid.IntRange(0, len(known)-1).Draw(t, "excluded")]
		}
		known = slices.DeleteFunc(known, func(p int32) bool { return p == exclude })
		slices.SortFunc(known, func(a, b int32) int { return cmp.Compare(s.ID(a)^key, s.ID(b)^key) })
		want := known[:min(count, len(known))]
		if got := tab.Nearest(nil, node, key, count, exclude); !slices.Equal(got, want) {
			t.Fatalf("Nearest = %v, want %v", got, want)
		}
	})
}

func TestAddRemoveReplace(t *testing.T) {
	s, _ := RandomSpace(2000, seeded(21))
	tab, _ := BuildIdeal(s, 20, seeded(22))
	node := int32(0)
	b0 := slices.Clone(tab.Bucket(node, 0))
	dead := b0[3]
	// Substitutes at the same CPL that the bucket does not hold.
	var subs []int32
	for j := range int32(s.Len()) {
		if j != node && CommonPrefixLen(s.ID(node), s.ID(j)) == 0 && !slices.Contains(b0, j) {
			subs = append(subs, j)
		}
	}
	sub := subs[0]
	other := tab.Bucket(node, 1)[0] // a peer of another bucket
	switch {
	case tab.Add(node, sub):
		t.Error("Add into a full bucket")
	case tab.Replace(node, dead, other):
		t.Error("Replace across buckets")
	case tab.Replace(node, dead, b0[4]):
		t.Error("Replace with a peer already there")
	case tab.Replace(node, subs[1], sub):
		t.Error("Replace of a peer not there")
	case !tab.Replace(node, dead, sub):
		t.Fatal("Replace refused")
	}
	want := slices.Clone(b0)
	want[3] = sub
	if !slices.Equal(tab.Bucket(node, 0), want) {
		t.Fatalf("after Replace %v, want %v", tab.Bucket(node, 0), want)
	}
	if !tab.Remove(node, sub) || tab.Remove(node, sub) {
		t.Fatal("Remove: want true then false")
	}
	want = slices.Delete(want, 3, 4)
	if !slices.Equal(tab.Bucket(node, 0), want) {
		t.Fatalf("after Remove %v, want %v", tab.Bucket(node, 0), want)
	}
	if tab.Add(node, node) || !tab.Add(node, dead) || tab.Add(node, dead) {
		t.Fatal("Add: self refused, then dead back in, then refused as present")
	}
	if got := tab.Bucket(node, 0); len(got) != 20 || got[19] != dead {
		t.Fatalf("after Add %v", got)
	}
	checkTable(t, tab, false)
}

func TestFromContacts(t *testing.T) {
	s, _ := RandomSpace(300, seeded(31))
	ideal, _ := BuildIdeal(s, 6, seeded(32))
	// Feed the ideal table back, with self, repeats and an overfull bucket.
	tab, err := FromContacts(s, 6, func(node int32) []int32 {
		var out []int32
		for b := range ideal.Buckets(node) {
			out = append(out, ideal.Bucket(node, b)...)
		}
		out = append(out, node, out[0])
		for j := range int32(s.Len()) { // every peer at CPL 0: only the first 6 (already there) stay
			if CommonPrefixLen(s.ID(node), s.ID(j)) == 0 {
				out = append(out, j)
			}
		}
		return out
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range int32(s.Len()) {
		if tab.Buckets(i) != ideal.Buckets(i) {
			t.Fatalf("node %d: %d buckets, want %d", i, tab.Buckets(i), ideal.Buckets(i))
		}
		for b := range tab.Buckets(i) {
			if !slices.Equal(tab.Bucket(i, b), ideal.Bucket(i, b)) {
				t.Fatalf("node %d bucket %d: %v, want %v", i, b, tab.Bucket(i, b), ideal.Bucket(i, b))
			}
		}
	}
	if _, err := FromContacts(s, 6, func(int32) []int32 { return []int32{300} }); err == nil {
		t.Error("out-of-range peer accepted")
	}
}

// Starting from nothing, a node offered every peer unfolds its last bucket as
// go-libp2p-kbucket does: it ends with at least the converged bucket count,
// every peer it lacks meets a full bucket, and the table stays well formed.
func TestAddSplitsLastBucket(t *testing.T) {
	s, _ := RandomSpace(3000, seeded(41))
	ideal, _ := BuildIdeal(s, 8, seeded(42))
	tab, err := FromContacts(s, 8, func(int32) []int32 { return nil })
	if err != nil {
		t.Fatal(err)
	}
	for _, node := range []int32{0, 1, 2} {
		if tab.Buckets(node) != 1 {
			t.Fatalf("empty table has %d buckets", tab.Buckets(node))
		}
		for p := range int32(s.Len()) {
			tab.Add(node, p)
		}
		if tab.Buckets(node) < ideal.Buckets(node) {
			t.Errorf("node %d: %d buckets after every add, converged table has %d", node, tab.Buckets(node), ideal.Buckets(node))
		}
		for p := range int32(s.Len()) {
			if g, ok := tab.bucketOf(node, p); ok && !tab.Has(node, p) && int(tab.fill[g]) < tab.K() {
				t.Fatalf("node %d lacks %d though its bucket has room", node, p)
			}
		}
	}
	if tab.Unused() == 0 {
		t.Error("no split happened")
	}
	checkTable(t, tab, false)
}
