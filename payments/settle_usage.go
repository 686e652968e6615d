package payments

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"unsafe"
)

// Usage kinds of a bucket.
const (
	usageStorage uint8 = iota
	usageEgress
)

// bucketKey names one charge before division: who pays, who served, which partner, what for.
type bucketKey struct {
	owner, operator, partner int32
	kind                     uint8
}

// add adds a·b units of usage to the bucket.
func (s *settler) add(k bucketKey, a, b uint64) error {
	i, ok := s.buckets[k]
	if !ok {
		i = int32(len(s.usage))
		s.buckets[k] = i
		s.usage = append(s.usage, wide{})
	}
	if !s.usage[i].addProduct(a, b) {
		return fmt.Errorf("usage: %w", ErrOverflow)
	}
	return nil
}

// attestation is a Storage body clipped to the epoch, kept small: a million of them may be live.
type attestation struct {
	holder, owner, partner int32
	shardAt, shardLen      int32 // the shard CID's bytes in settler.shards
	entry                  int32 // index of the carrying entry: its Body is the identity and last tie-break
	bytes                  int64
	from, to               int64 // clipped to [start, end)
}

// collectUsage turns the epoch's Storage and Download bodies into bucket usage.
func (s *settler) collectUsage(entries []Entry) error {
	var st storageView
	// The earliest carrier of every Download body written before the epoch's end. Keys alias
	// the entries' bodies, which Settle never modifies, so the map copies no body; sized
	// up front, it never rehashes.
	receipts, attested := 0, 0
	for i := range entries {
		switch entries[i].Kind {
		case KindDownload:
			if entries[i].Time < s.end {
				receipts++
			}
		case KindStorage:
			attested++
		}
	}
	earliest := make(map[string]int32, receipts)
	atts := make([]attestation, 0, attested)
	for i := range entries {
		e := &entries[i]
		if (e.Kind != KindStorage && e.Kind != KindDownload) || s.excluded(e) {
			continue
		}
		if e.Kind == KindDownload {
			if e.Time < s.end {
				k := bodyKey(e.Body)
				if j, ok := earliest[k]; !ok || e.Time < entries[j].Time {
					earliest[k] = int32(i)
				}
			}
			continue
		}
		if err := st.decode(e.Body); err != nil {
			return fmt.Errorf("storage entry %x seq %d: %w", e.Author, e.Seq, err)
		}
		from, to := max(st.From, s.start), min(st.To, s.end)
		if st.Bytes <= 0 || to <= from {
			continue
		}
		if len(s.shards)+len(st.Shard) > math.MaxInt32 {
			return errors.New("storage attestations: shard CIDs exceed 2 GiB")
		}
		atts = append(atts, attestation{
			holder: s.account(st.Holder), owner: s.account(st.Owner), partner: s.partner(st.Partner),
			shardAt: int32(len(s.shards)), shardLen: int32(len(st.Shard)), entry: int32(i), bytes: st.Bytes, from: from, to: to,
		})
		s.shards = append(s.shards, st.Shard...)
	}
	if err := s.countDownloads(entries, earliest); err != nil {
		return err
	}
	return s.countStorage(entries, atts)
}

// bodyKey views a body as a map key without copying it.
func bodyKey(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// countDownloads counts each Download body once, in the epoch of its earliest carrier. It reads
// the counted entries in input order so that an error names the same entry on every run.
func (s *settler) countDownloads(entries []Entry, earliest map[string]int32) error {
	counted := make([]int32, 0, len(earliest))
	for _, i := range earliest {
		if entries[i].Time >= s.start {
			counted = append(counted, i)
		}
	}
	slices.Sort(counted)
	var d downloadView
	for _, i := range counted {
		e := &entries[i]
		if err := d.decode(e.Body); err != nil {
			return fmt.Errorf("download entry %x seq %d: %w", e.Author, e.Seq, err)
		}
		if d.Bytes <= 0 {
			continue
		}
		s.counted++
		k := bucketKey{owner: s.account(d.Owner), operator: s.account(d.Server), partner: s.partner(d.Partner), kind: usageEgress}
		if err := s.add(k, uint64(d.Bytes), 1); err != nil {
			return err
		}
	}
	return nil
}

func (s *settler) shard(a *attestation) []byte { return s.shards[a.shardAt : a.shardAt+a.shardLen] }

// countStorage groups attestations by (holder, shard) and counts, at each instant, only the
// covering attestation with the most bytes (ties: the smallest body).
func (s *settler) countStorage(entries []Entry, atts []attestation) error {
	body := func(a *attestation) []byte { return entries[a.entry].Body }
	slices.SortFunc(atts, func(a, b attestation) int {
		if c := cmp.Compare(a.holder, b.holder); c != 0 {
			return c
		}
		if c := bytes.Compare(s.shard(&a), s.shard(&b)); c != 0 {
			return c
		}
		return bytes.Compare(body(&a), body(&b))
	})
	sw := sweep{body: body}
	for lo := 0; lo < len(atts); {
		hi := lo + 1
		for hi < len(atts) && atts[hi].holder == atts[lo].holder && bytes.Equal(s.shard(&atts[hi]), s.shard(&atts[lo])) {
			hi++
		}
		group := atts[lo:hi]
		lo = hi
		// Identical bodies are adjacent: keep one.
		group = slices.CompactFunc(group, func(a, b attestation) bool { return bytes.Equal(body(&a), body(&b)) })
		s.counted += uint64(len(group))
		if err := sw.run(group, s.addStorage); err != nil {
			return err
		}
	}
	return nil
}

func (s *settler) addStorage(a *attestation, seconds int64) error {
	k := bucketKey{owner: a.owner, operator: a.holder, partner: a.partner, kind: usageStorage}
	return s.add(k, uint64(a.bytes), uint64(seconds))
}

// sweep finds, for one (holder, shard) group, the winning attestation over each elementary span.
// Its buffers are reused across groups.
type sweep struct {
	body   func(*attestation) []byte
	points []int64
	heap   []int32 // indices into the group, best on top
}

// beats orders attestations of one group: more bytes first, then the smaller body.
func (w *sweep) beats(a, b *attestation) bool {
	if a.bytes != b.bytes {
		return a.bytes > b.bytes
	}
	return bytes.Compare(w.body(a), w.body(b)) < 0
}

// run calls credit(winner, seconds) for every maximal elementary span covered by the group.
// It costs O(m log m) for m attestations, so a flood of overlapping attestations stays cheap.
func (w *sweep) run(g []attestation, credit func(*attestation, int64) error) error {
	if len(g) == 1 {
		return credit(&g[0], g[0].to-g[0].from)
	}
	slices.SortFunc(g, func(a, b attestation) int { return cmp.Compare(a.from, b.from) })
	w.points = w.points[:0]
	for i := range g {
		w.points = append(w.points, g[i].from, g[i].to)
	}
	slices.Sort(w.points)
	w.points = slices.Compact(w.points)
	w.heap = w.heap[:0]
	next := 0
	for k := 0; k+1 < len(w.points); k++ {
		t := w.points[k]
		for next < len(g) && g[next].from <= t {
			w.push(g, int32(next))
			next++
		}
		for len(w.heap) > 0 && g[w.heap[0]].to <= t {
			w.pop(g)
		}
		if len(w.heap) == 0 {
			continue
		}
		if err := credit(&g[w.heap[0]], w.points[k+1]-t); err != nil {
			return err
		}
	}
	return nil
}

func (w *sweep) push(g []attestation, i int32) {
	w.heap = append(w.heap, i)
	for c := len(w.heap) - 1; c > 0; {
		p := (c - 1) / 2
		if !w.beats(&g[w.heap[c]], &g[w.heap[p]]) {
			break
		}
		w.heap[c], w.heap[p] = w.heap[p], w.heap[c]
		c = p
	}
}

func (w *sweep) pop(g []attestation) {
	n := len(w.heap) - 1
	w.heap[0] = w.heap[n]
	w.heap = w.heap[:n]
	for p := 0; ; {
		best, l, r := p, 2*p+1, 2*p+2
		if l < n && w.beats(&g[w.heap[l]], &g[w.heap[best]]) {
			best = l
		}
		if r < n && w.beats(&g[w.heap[r]], &g[w.heap[best]]) {
			best = r
		}
		if best == p {
			return
		}
		w.heap[p], w.heap[best] = w.heap[best], w.heap[p]
		p = best
	}
}
