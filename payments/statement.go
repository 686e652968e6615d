package payments

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Settlement is an epoch's statement: who is charged, who is paid, what the partners and the
// network keep. Charges = Σ Payouts + Σ PartnerShares + Fee + Remainder, exactly. Root commits to
// all of it (see Leaves), so two nodes agree on the root iff their statements are identical.
type Settlement struct {
	Epoch uint64 `json:"epoch"`
	Root  Root   `json:"root"`
	// Entries counts the distinct usage bodies settled: Download bodies counted in this epoch
	// and Storage bodies overlapping it.
	Entries uint64 `json:"entries"`
	FeeBPS  uint32 `json:"fee_bps"`
	// Charges: one line per uploader, Storage + Egress = Amount.
	Charges []Line `json:"charges"`
	// Payouts: one line per operator, Storage + Egress = Amount.
	Payouts []Line `json:"payouts"`
	// PartnerShares: one line per partner ID with tagged revenue; Account is its payout key.
	PartnerShares []Line `json:"partner_shares"`
	Fee           Amount `json:"fee"`
	Remainder     Amount `json:"remainder"` // micro-units lost to rounding the parts down
}

// newSettlement returns a statement with empty, non-nil sections, so that JSON shows [] rather
// than null.
func newSettlement(epoch, entries uint64, feeBPS uint32) *Settlement {
	return &Settlement{Epoch: epoch, Entries: entries, FeeBPS: feeBPS, Charges: []Line{}, Payouts: []Line{}, PartnerShares: []Line{}}
}

// Line is one account's amount in a section of the statement. Charges and payouts fill Storage
// and Egress; partner shares fill Partner, Revenue (the charges tagged with the partner) and
// ShareBPS, with Amount = floor(Revenue·ShareBPS/10000).
type Line struct {
	Account  string `json:"account"` // peer ID (base58)
	Amount   Amount `json:"amount"`
	Storage  Amount `json:"storage,omitempty"`
	Egress   Amount `json:"egress,omitempty"`
	Partner  string `json:"partner,omitempty"`
	Revenue  Amount `json:"revenue,omitempty"`
	ShareBPS uint32 `json:"share_bps,omitempty"`
}

// String renders a line's numbers for people (ledger verify).
func (l Line) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "amount=%d", l.Amount)
	if l.Storage != 0 || l.Egress != 0 {
		fmt.Fprintf(&b, " storage=%d egress=%d", l.Storage, l.Egress)
	}
	if l.Partner != "" {
		fmt.Fprintf(&b, " partner=%s revenue=%d share_bps=%d", l.Partner, l.Revenue, l.ShareBPS)
	}
	return b.String()
}

// Total returns the sum of the lines' amounts (no overflow for a Settle result: every section
// sums to at most the epoch's charges).
func Total(lines []Line) Amount {
	var t Amount
	for _, l := range lines {
		t += l.Amount
	}
	return t
}

// Root is a statement's RFC 6962 Merkle root; it reads and writes as hex in JSON and text.
type Root [32]byte

func (r Root) String() string { return hex.EncodeToString(r[:]) }

// MarshalText writes the root as 64 hex digits.
func (r Root) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads 64 hex digits.
func (r *Root) UnmarshalText(b []byte) error {
	if len(b) != 2*len(r) {
		return fmt.Errorf("payments: root: %d hex digits, want %d", len(b), 2*len(r))
	}
	_, err := hex.Decode(r[:], b)
	if err != nil {
		return fmt.Errorf("payments: root: %w", err)
	}
	return nil
}

// Section names, as in the JSON form.
const (
	SectionHeader        = "header"
	SectionCharges       = "charges"
	SectionPayouts       = "payouts"
	SectionPartnerShares = "partner_shares"
)

// Difference is one place where two statements of an epoch disagree.
type Difference struct {
	Section string `json:"section"` // one of the Section names
	// Key is the header field (epoch, entries, fee_bps, fee, remainder), or the line's account;
	// for partner shares, the partner ID.
	Key    string `json:"key"`
	Ours   string `json:"ours"` // the value or Line.String(); "" if absent on that side
	Theirs string `json:"theirs"`
}

// Diff lists where ours and theirs differ: header fields first, then lines per section, sorted by
// key. It is empty iff both statements have the same leaves (and so the same root).
func Diff(ours, theirs *Settlement) []Difference {
	var out []Difference
	header := func(key, a, b string) {
		if a != b {
			out = append(out, Difference{Section: SectionHeader, Key: key, Ours: a, Theirs: b})
		}
	}
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	i := func(v Amount) string { return strconv.FormatInt(int64(v), 10) }
	header("epoch", u(ours.Epoch), u(theirs.Epoch))
	header("entries", u(ours.Entries), u(theirs.Entries))
	header("fee_bps", u(uint64(ours.FeeBPS)), u(uint64(theirs.FeeBPS)))
	header("fee", i(ours.Fee), i(theirs.Fee))
	header("remainder", i(ours.Remainder), i(theirs.Remainder))
	out = append(out, diffLines(SectionCharges, ours.Charges, theirs.Charges)...)
	out = append(out, diffLines(SectionPayouts, ours.Payouts, theirs.Payouts)...)
	out = append(out, diffLines(SectionPartnerShares, ours.PartnerShares, theirs.PartnerShares)...)
	return out
}

func diffLines(section string, ours, theirs []Line) []Difference {
	key, render := func(l Line) string { return l.Account }, Line.String
	if section == SectionPartnerShares {
		// Keyed by partner ID: its payout account is one of the values that may differ.
		key = func(l Line) string { return l.Partner }
		render = func(l Line) string { return "payout=" + l.Account + " " + l.String() }
	}
	a := make(map[string]Line, len(ours))
	for _, l := range ours {
		a[key(l)] = l
	}
	b := make(map[string]Line, len(theirs))
	for _, l := range theirs {
		b[key(l)] = l
	}
	var out []Difference
	for k, la := range a {
		lb, ok := b[k]
		switch {
		case !ok:
			out = append(out, Difference{Section: section, Key: k, Ours: render(la)})
		case la != lb:
			out = append(out, Difference{Section: section, Key: k, Ours: render(la), Theirs: render(lb)})
		}
	}
	for k, lb := range b {
		if _, ok := a[k]; !ok {
			out = append(out, Difference{Section: section, Key: k, Theirs: render(lb)})
		}
	}
	slices.SortFunc(out, func(x, y Difference) int { return strings.Compare(x.Key, y.Key) })
	return out
}
