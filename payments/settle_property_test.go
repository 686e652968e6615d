package payments

import (
	"errors"
	"math"
	"math/big"
	"reflect"
	"slices"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"pgregory.net/rapid"
)

// Peer numbers of the generated worlds.
const (
	opBase        = 1   // operators 1..
	ownerBase     = 101 // uploaders 101..
	partnerBase   = 201 // partner authors 201..
	readerBase    = 301 // downloaders 301..
	stewardBase   = 401 // stewards 401..
	excludedPeer  = 999
	outsidePeer   = 998 // author of entries that must not count for being outside the epoch
	maxGenEntries = 24
)

var partnerTags = []string{"", "p0", "p1", "p2", "unregistered"}

// world is a generated epoch: parameters and the entries a node holds.
type world struct {
	epoch      uint64
	p          SettleParams
	start, end int64
	ops        int
	entries    []Entry
	seq        uint64 // next Seq, so generated entries differ
	nonce      int
	huge       bool // sizes and prices up to the int64 limits
}

func (w *world) next() uint64 { w.seq++; return w.seq }

func genWorld(t *rapid.T) *world {
	w := &world{huge: rapid.IntRange(0, 4).Draw(t, "huge") == 0}
	w.p.Epoch = EpochParams{
		Genesis: rapid.Int64Range(-1e9, 1e9).Draw(t, "genesis"),
		Length:  rapid.Int64Range(1, 40*86400).Draw(t, "length"),
	}
	w.epoch = rapid.Uint64Range(0, 5).Draw(t, "epoch")
	w.p.FeeBPS = rapid.Uint32Range(0, 10000).Draw(t, "fee")
	w.p.DefaultPrice = w.price(t, "default")
	var err error
	if w.start, w.end, err = w.p.Epoch.Bounds(w.epoch); err != nil {
		t.Fatal(err)
	}
	w.ops = rapid.IntRange(1, 4).Draw(t, "ops")
	for range rapid.IntRange(0, 6).Draw(t, "prices") {
		op := rapid.IntRange(0, w.ops-1).Draw(t, "price op")
		pr := w.price(t, "price")
		pr.FromEpoch = rapid.Uint64Range(0, w.epoch+1).Draw(t, "from epoch")
		w.add(testEntry(testPeer(opBase+op), w.next(), w.timeAround(t), pr))
	}
	for range rapid.IntRange(0, 6).Draw(t, "partners") {
		author := rapid.IntRange(0, 2).Draw(t, "partner author")
		reg := Partner{
			ID:       rapid.SampledFrom(partnerTags[1:4]).Draw(t, "partner id"),
			Name:     "a partner",
			Payout:   testPeer(partnerBase + 10 + rapid.IntRange(0, 3).Draw(t, "payout")),
			ShareBPS: rapid.Uint32Range(0, 10000).Draw(t, "share"),
		}
		w.add(testEntry(testPeer(partnerBase+author), w.next(), w.timeAround(t), reg))
	}
	for range rapid.IntRange(0, maxGenEntries).Draw(t, "storage") {
		from, to := w.spanAround(t)
		w.add(w.storage(t, from, to))
	}
	for range rapid.IntRange(0, maxGenEntries).Draw(t, "downloads") {
		w.add(w.download(t, w.timeAround(t)))
	}
	return w
}

func (w *world) add(e Entry) { w.entries = append(w.entries, e) }

func (w *world) price(t *rapid.T, label string) Price {
	return Price{
		StorageGiBMonth: Amount(w.spread(t, label+" storage", 0, 1e9)),
		EgressGiB:       Amount(w.spread(t, label+" egress", 0, 1e9)),
	}
}

func (w *world) size(t *rapid.T) int64 { return w.spread(t, "bytes", 1, 1<<34) }

// spread draws from [lo, hi], or up to the int64 limit in huge worlds, often from the top
// quarter: rapid favours small values, which would make most charges round to zero.
func (w *world) spread(t *rapid.T, label string, lo, hi int64) int64 {
	if w.huge {
		hi = math.MaxInt64
	}
	return rapid.OneOf(rapid.Int64Range(lo, hi), rapid.Int64Range(hi-hi/4, hi)).Draw(t, label)
}

// timeAround is a time within one epoch length of the epoch, either side.
func (w *world) timeAround(t *rapid.T) int64 {
	L := w.p.Epoch.Length
	return rapid.Int64Range(w.start-L, w.end+L-1).Draw(t, "time")
}

func (w *world) spanAround(t *rapid.T) (from, to int64) {
	L := w.p.Epoch.Length
	from = rapid.Int64Range(w.start-L, w.end+L-1).Draw(t, "from")
	return from, from + rapid.Int64Range(1, 2*L).Draw(t, "span")
}

func (w *world) storage(t *rapid.T, from, to int64) Entry {
	st := Storage{
		Holder:   testPeer(opBase + rapid.IntRange(0, w.ops-1).Draw(t, "holder")),
		Manifest: []byte("manifest"),
		Shard:    testShard(rapid.IntRange(0, 5).Draw(t, "shard")),
		Owner:    testPeer(ownerBase + rapid.IntRange(0, 3).Draw(t, "owner")),
		Partner:  rapid.SampledFrom(partnerTags).Draw(t, "tag"),
		Bytes:    w.size(t),
		From:     from,
		To:       to,
		Audits:   1,
	}
	return testEntry(testPeer(stewardBase+rapid.IntRange(0, 2).Draw(t, "steward")), w.next(), to, st)
}

func (w *world) download(t *rapid.T, at int64) Entry {
	w.nonce++
	d := Download{
		Server:    testPeer(opBase + rapid.IntRange(0, w.ops-1).Draw(t, "server")),
		Manifest:  []byte("manifest"),
		Shard:     testShard(rapid.IntRange(0, 5).Draw(t, "shard")),
		Owner:     testPeer(ownerBase + rapid.IntRange(0, 3).Draw(t, "owner")),
		Partner:   rapid.SampledFrom(partnerTags).Draw(t, "tag"),
		Bytes:     w.size(t),
		ShardSize: math.MaxInt64,
		Nonce:     testNonce(w.nonce),
		ServerSig: []byte("countersigned"),
	}
	return testEntry(testPeer(readerBase+rapid.IntRange(0, 2).Draw(t, "reader")), w.next(), at, d)
}

// floors bounds the remainder: 2 per operator, 1 per partner ID, 1 for the fee.
func (w *world) floors() int { return 2*w.ops + 3 + 1 }

func settleWorld(t *rapid.T, w *world, entries []Entry) (*Settlement, error) {
	s, err := Settle(w.epoch, entries, w.p)
	if err != nil && !errors.Is(err, ErrOverflow) {
		t.Fatalf("settle: %v", err)
	}
	return s, err
}

func TestSettleConservation(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := genWorld(t)
		s, err := settleWorld(t, w, w.entries)
		if err != nil {
			return // ErrOverflow: permitted for huge worlds, checked to be order-independent below
		}
		if err := checkConservation(s, w.floors()); err != nil {
			t.Fatal(err)
		}
		var tagged Amount
		for _, l := range s.PartnerShares {
			want := new(big.Int).Mul(big.NewInt(int64(l.Revenue)), big.NewInt(int64(l.ShareBPS)))
			want.Quo(want, big.NewInt(10000))
			if want.Int64() != int64(l.Amount) || l.ShareBPS > 10000-w.p.FeeBPS {
				t.Fatalf("partner %s: share %d of revenue %d at %d bps, want %d", l.Partner, l.Amount, l.Revenue, l.ShareBPS, want)
			}
			tagged += l.Revenue
		}
		total := Total(s.Charges)
		if tagged > total {
			t.Fatalf("tagged revenue %d above all charges %d", tagged, total)
		}
		fee := new(big.Int).Mul(big.NewInt(int64(total)), big.NewInt(int64(w.p.FeeBPS)))
		if fee.Quo(fee, big.NewInt(10000)).Int64() != int64(s.Fee) {
			t.Fatalf("fee %d, want floor(%d·%d/10000) = %d", s.Fee, total, w.p.FeeBPS, fee)
		}
		if s.Root != MerkleRoot(s.Leaves()) {
			t.Fatal("root is not the root of the leaves")
		}
	})
}

// sameResult fails unless two Settle results are identical, root included.
func sameResult(t *rapid.T, what string, a *Settlement, aErr error, b *Settlement, bErr error) {
	t.Helper()
	if (aErr == nil) != (bErr == nil) || (aErr != nil && aErr.Error() != bErr.Error()) {
		t.Fatalf("%s: errors differ: %v vs %v", what, aErr, bErr)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("%s: statements differ: %v", what, Diff(a, b))
	}
}

func TestSettleOrderAndDuplicatesDoNotMatter(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := genWorld(t)
		base, baseErr := settleWorld(t, w, w.entries)

		more := slices.Clone(w.entries)
		for _, i := range rapid.SliceOfN(rapid.IntRange(0, max(len(w.entries)-1, 0)), 0, 8).Draw(t, "dups") {
			if len(w.entries) == 0 {
				break
			}
			e := w.entries[i]
			e.Body = slices.Clone(e.Body) // equal bytes, distinct memory
			more = append(more, e)
			if e.Kind == KindDownload || e.Kind == KindStorage {
				// The same body carried by another entry, written later: still counted once.
				again := e
				again.Author, again.Seq = testPeer(readerBase+7), w.next()
				again.Time += rapid.Int64Range(0, 3*w.p.Epoch.Length).Draw(t, "later")
				more = append(more, again)
			}
		}
		shuffled := rapid.Permutation(more).Draw(t, "order")
		got, gotErr := settleWorld(t, w, shuffled)
		sameResult(t, "shuffled with duplicates", base, baseErr, got, gotErr)
	})
}

func TestSettleIgnoresOutsideAndExcluded(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := genWorld(t)
		// The excluded peer also operates, so its ignored prices would matter.
		w.add(w.withServer(w.download(t, w.start), excludedPeer))
		w.p.Excluded = map[string]bool{string(testPeer(excludedPeer)): true}
		base, baseErr := settleWorld(t, w, w.entries)
		w.p.Excluded[string(testPeer(12345))] = true // excluding an absent author changes nothing
		again, againErr := settleWorld(t, w, w.entries)
		sameResult(t, "more exclusions", base, baseErr, again, againErr)

		extra := slices.Clone(w.entries)
		L := w.p.Epoch.Length
		for range rapid.IntRange(1, 10).Draw(t, "outside") {
			switch rapid.IntRange(0, 5).Draw(t, "outside kind") {
			case 0: // storage wholly before or after the epoch
				if rapid.Bool().Draw(t, "before") {
					from := rapid.Int64Range(w.start-3*L, w.start-1).Draw(t, "from")
					extra = append(extra, w.storage(t, from, rapid.Int64Range(from+1, w.start).Draw(t, "to")))
				} else {
					from := rapid.Int64Range(w.end, w.end+3*L).Draw(t, "from")
					extra = append(extra, w.storage(t, from, from+rapid.Int64Range(1, L).Draw(t, "span")))
				}
			case 1: // a receipt written before or after the epoch
				at := rapid.OneOf(rapid.Int64Range(w.start-3*L, w.start-1), rapid.Int64Range(w.end, w.end+3*L)).Draw(t, "at")
				extra = append(extra, w.download(t, at))
			case 2: // a price from a later epoch, or written after the epoch ended
				pr := w.price(t, "late price")
				at := w.timeAround(t)
				if rapid.Bool().Draw(t, "future epoch") {
					pr.FromEpoch = w.epoch + 1 + rapid.Uint64Range(0, 3).Draw(t, "ahead")
				} else {
					at = rapid.Int64Range(w.end, w.end+3*L).Draw(t, "late")
				}
				op := testPeer(opBase + rapid.IntRange(0, w.ops-1).Draw(t, "op"))
				extra = append(extra, testEntry(op, w.next(), at, pr))
			case 3: // a registration written after the epoch ended, even an earlier-sorting author
				reg := Partner{ID: rapid.SampledFrom(partnerTags[1:4]).Draw(t, "id"), Payout: testPeer(outsidePeer), ShareBPS: 10000}
				extra = append(extra, testEntry(testPeer(1), w.next(), rapid.Int64Range(w.end, w.end+3*L).Draw(t, "late"), reg))
			default: // anything by the excluded author, in the epoch
				ex := testPeer(excludedPeer)
				switch rapid.IntRange(0, 3).Draw(t, "excluded kind") {
				case 0:
					pr := w.price(t, "excluded price")
					extra = append(extra, testEntry(ex, w.next(), w.start-L, pr))
				case 1:
					reg := Partner{ID: "p0", Payout: ex, ShareBPS: 10000}
					extra = append(extra, testEntry(ex, w.next(), w.start-10*L, reg))
				case 2:
					e := w.storage(t, w.start, w.end)
					e.Author = ex
					extra = append(extra, e)
				default:
					e := w.download(t, w.start)
					e.Author = ex
					extra = append(extra, e)
				}
			}
		}
		got, gotErr := settleWorld(t, w, rapid.Permutation(extra).Draw(t, "order"))
		sameResult(t, "with outside and excluded entries", base, baseErr, got, gotErr)
	})
}

// withServer re-issues a download entry's body with another server.
func (w *world) withServer(e Entry, server int) Entry {
	var d Download
	if err := cbor.Unmarshal(e.Body, &d); err != nil {
		panic(err)
	}
	d.Server = testPeer(server)
	e.Body = testBody(d)
	return e
}
