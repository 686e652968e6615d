package payments

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// EpochParams fixes the epoch grid in unix seconds: epoch e covers [Genesis+e·Length,
// Genesis+(e+1)·Length).
type EpochParams struct {
	Genesis int64
	Length  int64
}

// Bounds returns the half-open span [start, end) of epoch e, or an error if it does not fit in
// int64 seconds.
func (p EpochParams) Bounds(e uint64) (start, end int64, err error) {
	if p.Length <= 0 {
		return 0, 0, fmt.Errorf("payments: epoch length %d: must be positive", p.Length)
	}
	hi, off := bits.Mul64(e, uint64(p.Length))
	if hi != 0 || off > math.MaxInt64 {
		return 0, 0, fmt.Errorf("payments: epoch %d starts beyond int64 seconds", e)
	}
	start = p.Genesis + int64(off)
	end = start + p.Length
	if (p.Genesis > 0 && start < p.Genesis) || end < start {
		return 0, 0, fmt.Errorf("payments: epoch %d ends beyond int64 seconds", e)
	}
	return start, end, nil
}

// Of returns the epoch that contains unix time t; false if t is before Genesis or the params are
// invalid.
func (p EpochParams) Of(t int64) (uint64, bool) {
	if p.Length <= 0 || t < p.Genesis {
		return 0, false
	}
	return uint64(t-p.Genesis) / uint64(p.Length), true
}

// SettleParams are the network's settlement parameters; every node must use the same ones.
type SettleParams struct {
	Epoch EpochParams
	// FeeBPS is the network fee in basis points (0..10000), kept out of every charge.
	FeeBPS uint32
	// DefaultPrice applies to operators that announced no price for the epoch; its FromEpoch is
	// ignored.
	DefaultPrice Price
	// Excluded lists authors (key: string(Entry.Author)) whose entries are ignored, typically
	// those proven to have forked their feed. Nil excludes nobody.
	Excluded map[string]bool
}

// ErrOverflow reports that an epoch's charges do not fit the Amount range.
var ErrOverflow = errors.New("amounts overflow int64 micro-units")

// Settle computes the statement of epoch from entries. It is pure and deterministic: every node
// that holds the same entries computes the same bits, whatever order the entries arrived in and
// however often each was received. It does not modify entries, and costs O(n log n) time and
// O(n) memory beyond its input for n entries (measured: BenchmarkSettleMillion). The rules, in
// the order it applies them:
//
//   - Input: every validated entry the node holds, of any epoch, in any order, duplicates
//     allowed. Entries whose author is in p.Excluded (forked authors) are ignored entirely, as
//     are Statement and ForkProof entries. A body that does not decode is an error naming the
//     entry (the caller validated them), never a panic.
//   - Duplicates: usage counts per body, not per entry: the same entry received twice, or the
//     same Download or Storage body carried by several entries, counts once. Prices and partner
//     registrations are chosen by total orders, so duplicates cannot change the choice.
//   - Cut-off: Price and Partner entries count only if written (entry Time) before the epoch
//     ends, so an ended epoch cannot be repriced or have its partners reassigned afterwards.
//   - Prices: operator X's price is that of the Price entry authored by X with the largest
//     FromEpoch <= epoch, ties broken by the largest Seq (then, for a fork not yet excluded, the
//     smallest body bytes). Entries with a negative price are ignored. Without one,
//     p.DefaultPrice applies.
//   - Partners: a partner ID belongs to the author of its earliest registration, the smallest
//     (Time, Author bytes, Seq, body bytes); other authors' claims are ignored. The terms (payout
//     key, share) are those of the owning author's registration of the ID with the largest Seq,
//     so a partner can rotate its payout key but nobody can take its ID. A tag that names no
//     registered partner earns no share. The effective share is min(ShareBPS, 10000-FeeBPS), so
//     an operator's part never goes negative.
//   - Storage: an attestation contributes its Bytes over the overlap of [From, To) with the
//     epoch; Bytes <= 0 or no overlap contributes nothing. Several stewards attest to the same
//     holder and shard, so attestations are grouped by (Holder, Shard) and never add up: at each
//     instant the group counts the one covering attestation with the most Bytes (ties: the
//     smallest body bytes), whose Owner is charged and whose Partner is credited. Overlapping
//     attestations of a holder and shard thus count as the union of their spans, at the largest
//     attested size.
//   - Egress: a Download body counts once, in the epoch of the earliest entry Time among the
//     entries carrying it; Bytes <= 0 counts nothing. The Owner is charged, the Server paid.
//   - Charges: usage is summed exactly per (owner, operator, partner, kind) as byte·seconds
//     (storage) or bytes (egress), then divided once at the operator's price:
//     storage = floor(Σ bytes·seconds · StorageGiBMonth / (GiB · 30 days)),
//     egress = floor(Σ bytes · EgressGiB / GiB), with up to 256-bit intermediates. Fractions of
//     a micro-unit below a charge's floor are not charged.
//   - Split: a charge c tagged with partner share s, under fee f (basis points), owes exactly
//     c·s/10000 to the partner, c·f/10000 to the network and c·(10000-s-f)/10000 to the
//     operator. Each recipient's exact total is floored once: partner share =
//     floor(s · tagged revenue / 10000), Fee = floor(f · all charges / 10000), operator payout =
//     floor(Σ c·(10000-s-f) / 10000), separately for storage and egress. The units these floors
//     drop are the Remainder, so Σ charges = Σ payouts + Σ partner shares + Fee + Remainder
//     exactly, with 0 <= Remainder < 2·operators + partners + 1.
//   - Overflow: amounts are int64 micro-units; if a charge, an owner's total or the epoch's
//     total would not fit, Settle fails with ErrOverflow rather than saturate. The validator's
//     bounds (MaxShardSize, MaxStorageSpan, MaxPrice) keep honest epochs far below it.
//   - Output: lines whose amounts are all zero are left out; each section is sorted by account
//     (peer ID in base58), partner shares then by partner ID; Root commits to the statement.
func Settle(epoch uint64, entries []Entry, p SettleParams) (*Settlement, error) {
	if p.FeeBPS > bpsDenominator {
		return nil, fmt.Errorf("payments: settle: fee %d basis points: above 10000", p.FeeBPS)
	}
	if p.DefaultPrice.StorageGiBMonth < 0 || p.DefaultPrice.EgressGiB < 0 {
		return nil, fmt.Errorf("payments: settle: negative default price %+v", p.DefaultPrice)
	}
	if len(entries) > math.MaxInt32 {
		return nil, fmt.Errorf("payments: settle: %d entries, above %d", len(entries), math.MaxInt32)
	}
	start, end, err := p.Epoch.Bounds(epoch)
	if err != nil {
		return nil, fmt.Errorf("payments: settle: %w", err)
	}
	s := newSettler(epoch, start, end, p)
	if err := s.choosePricesAndPartners(entries); err != nil {
		return nil, fmt.Errorf("payments: settle epoch %d: %w", epoch, err)
	}
	if err := s.collectUsage(entries); err != nil {
		return nil, fmt.Errorf("payments: settle epoch %d: %w", epoch, err)
	}
	st, err := s.statement()
	if err != nil {
		return nil, fmt.Errorf("payments: settle epoch %d: %w", epoch, err)
	}
	return st, nil
}

// settler holds one Settle call's working state.
type settler struct {
	epoch      uint64
	start, end int64
	p          SettleParams

	accounts map[string]int32 // raw peer ID bytes → index into raw
	raw      []string         // raw peer ID bytes by index

	prices   map[string]priceChoice // operator (raw bytes) → chosen Price entry
	partners map[string]int32       // registered partner ID → index into terms
	terms    []partnerTerms

	buckets map[bucketKey]int32 // → index into usage
	usage   []wide              // exact byte·seconds (storage) or bytes (egress) per bucket
	counted uint64              // distinct usage bodies settled
	shards  []byte              // the shard CIDs of the epoch's attestations, end to end
}

func newSettler(epoch uint64, start, end int64, p SettleParams) *settler {
	return &settler{
		epoch: epoch, start: start, end: end, p: p,
		accounts: make(map[string]int32),
		prices:   make(map[string]priceChoice),
		partners: make(map[string]int32),
		buckets:  make(map[bucketKey]int32),
	}
}

// account interns raw peer ID bytes; the map lookup does not allocate for known accounts.
func (s *settler) account(b []byte) int32 {
	if i, ok := s.accounts[string(b)]; ok {
		return i
	}
	i := int32(len(s.raw))
	s.raw = append(s.raw, string(b))
	s.accounts[s.raw[i]] = i
	return i
}

// partner returns the index of a registered partner ID, or noPartner.
func (s *settler) partner(id []byte) int32 {
	if len(id) == 0 {
		return noPartner
	}
	if i, ok := s.partners[string(id)]; ok {
		return i
	}
	return noPartner
}

func (s *settler) excluded(e *Entry) bool {
	return len(s.p.Excluded) > 0 && s.p.Excluded[string(e.Author)]
}
