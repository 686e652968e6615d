package payments

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/fxamacker/cbor/v2"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// A statement's Merkle tree (RFC 6962, SHA-256) has one leaf per line in a fixed order: the
// header (epoch, entries, fee, remainder), then the charges, the payouts and the partner shares,
// each section sorted as in Settlement. A leaf is the canonical CBOR of a map whose key 1 is the
// section, so a line can never be read as a line of another section. Two statements have the
// same root iff they have the same leaves, and a peer can send its leaves to be checked against
// the root it signed (SettlementFromLeaves) and compared line by line (Diff).

// StatementVersion is the leaf format version, carried in the header leaf.
const StatementVersion = 1

// Leaf sections (key 1 of every leaf).
const (
	leafHeader uint8 = iota
	leafCharge
	leafPayout
	leafPartnerShare
)

type headerLeaf struct {
	Section   uint8  `cbor:"1,keyasint"`
	Version   uint8  `cbor:"2,keyasint"`
	Epoch     uint64 `cbor:"3,keyasint"`
	Entries   uint64 `cbor:"4,keyasint"`
	FeeBPS    uint32 `cbor:"5,keyasint"`
	Fee       Amount `cbor:"6,keyasint"`
	Remainder Amount `cbor:"7,keyasint"`
}

type lineLeaf struct {
	Section  uint8  `cbor:"1,keyasint"`
	Account  string `cbor:"2,keyasint"`
	Amount   Amount `cbor:"3,keyasint"`
	Storage  Amount `cbor:"4,keyasint,omitempty"`
	Egress   Amount `cbor:"5,keyasint,omitempty"`
	Partner  string `cbor:"6,keyasint,omitempty"`
	Revenue  Amount `cbor:"7,keyasint,omitempty"`
	ShareBPS uint32 `cbor:"8,keyasint,omitempty"`
}

// Leaf decoding limits: a leaf is a flat map of at most 8 small fields.
const (
	maxLeafSize    = 512
	maxLeafPairs   = 16 // the library minimum
	maxLeafNesting = 4  // the library minimum
)

var (
	leafEnc cbor.EncMode
	leafDec cbor.DecMode
)

func init() {
	var err error
	if leafEnc, err = cbor.CoreDetEncOptions().EncMode(); err != nil {
		panic(fmt.Sprintf("payments: statement leaf encoder options: %v", err))
	}
	leafDec, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxMapPairs:       maxLeafPairs,
		MaxArrayElements:  16,
		MaxNestedLevels:   maxLeafNesting,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(fmt.Sprintf("payments: statement leaf decoder options: %v", err))
	}
}

// Leaves returns the statement's Merkle leaves: header, charges, payouts, partner shares.
func (s *Settlement) Leaves() [][]byte {
	leaves := make([][]byte, 0, 1+len(s.Charges)+len(s.Payouts)+len(s.PartnerShares))
	leaves = append(leaves, mustLeaf(headerLeaf{Section: leafHeader, Version: StatementVersion,
		Epoch: s.Epoch, Entries: s.Entries, FeeBPS: s.FeeBPS, Fee: s.Fee, Remainder: s.Remainder}))
	for _, sec := range []struct {
		section uint8
		lines   []Line
	}{{leafCharge, s.Charges}, {leafPayout, s.Payouts}, {leafPartnerShare, s.PartnerShares}} {
		for _, l := range sec.lines {
			leaves = append(leaves, mustLeaf(lineLeaf{Section: sec.section, Account: l.Account, Amount: l.Amount,
				Storage: l.Storage, Egress: l.Egress, Partner: l.Partner, Revenue: l.Revenue, ShareBPS: l.ShareBPS}))
		}
	}
	return leaves
}

// mustLeaf encodes a leaf. Structs of integers and strings always encode; a failure would be a
// bug in this file, not bad input.
func mustLeaf(v any) []byte {
	b, err := leafEnc.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("payments: encode statement leaf: %v", err))
	}
	return b
}

// MerkleRoot returns the RFC 6962 (SHA-256) root of the leaves; for no leaves, the hash of the
// empty string as RFC 6962 defines it.
func MerkleRoot(leaves [][]byte) Root {
	h := rfc6962.DefaultHasher
	var root Root
	if len(leaves) == 0 {
		copy(root[:], h.EmptyRoot())
		return root
	}
	rf := compact.RangeFactory{Hash: h.HashChildren}
	r := rf.NewEmptyRange(0)
	for _, l := range leaves {
		// Append fails only for a range not starting at 0 or a visitor error: neither here.
		if err := r.Append(h.HashLeaf(l), nil); err != nil {
			panic(fmt.Sprintf("payments: merkle append: %v", err))
		}
	}
	sum, err := r.GetRootHash(nil)
	if err != nil {
		panic(fmt.Sprintf("payments: merkle root: %v", err))
	}
	copy(root[:], sum)
	return root
}

// MaxStatementLeaves bounds how many leaves SettlementFromLeaves reads.
const MaxStatementLeaves = 1 << 22

// SettlementFromLeaves rebuilds a statement from its leaves, as a peer sends them, and computes
// its root. It accepts only leaves Leaves would produce: canonical encodings, header first,
// sections in order, lines sorted and unique, so a parsed statement re-encodes to the same bytes.
// It checks the shape, not the arithmetic: compare with the local Settle result (Diff) for that.
func SettlementFromLeaves(leaves [][]byte) (*Settlement, error) {
	if len(leaves) == 0 || len(leaves) > MaxStatementLeaves {
		return nil, fmt.Errorf("payments: statement: %d leaves, want 1..%d", len(leaves), MaxStatementLeaves)
	}
	var h headerLeaf
	if err := decodeLeaf(leaves[0], &h); err != nil {
		return nil, fmt.Errorf("payments: statement header: %w", err)
	}
	if h.Section != leafHeader || h.Version != StatementVersion {
		return nil, fmt.Errorf("payments: statement header: section %d version %d, want %d and %d", h.Section, h.Version, leafHeader, StatementVersion)
	}
	s := newSettlement(h.Epoch, h.Entries, h.FeeBPS)
	s.Fee, s.Remainder = h.Fee, h.Remainder
	last := leafHeader
	for i, b := range leaves[1:] {
		var l lineLeaf
		if err := decodeLeaf(b, &l); err != nil {
			return nil, fmt.Errorf("payments: statement leaf %d: %w", i+1, err)
		}
		if l.Section < last || l.Section > leafPartnerShare || l.Section == leafHeader {
			return nil, fmt.Errorf("payments: statement leaf %d: section %d after %d", i+1, l.Section, last)
		}
		last = l.Section
		line := Line{Account: l.Account, Amount: l.Amount, Storage: l.Storage, Egress: l.Egress,
			Partner: l.Partner, Revenue: l.Revenue, ShareBPS: l.ShareBPS}
		switch l.Section {
		case leafCharge:
			s.Charges = append(s.Charges, line)
		case leafPayout:
			s.Payouts = append(s.Payouts, line)
		default:
			s.PartnerShares = append(s.PartnerShares, line)
		}
	}
	for _, ls := range [][]Line{s.Charges, s.Payouts, s.PartnerShares} {
		if !slices.IsSortedFunc(ls, compareLines) {
			return nil, errors.New("payments: statement: lines not sorted by account")
		}
		for i := 1; i < len(ls); i++ {
			if compareLines(ls[i-1], ls[i]) == 0 {
				return nil, fmt.Errorf("payments: statement: account %s listed twice", ls[i].Account)
			}
		}
	}
	partners := make(map[string]bool, len(s.PartnerShares))
	for _, l := range s.PartnerShares {
		if partners[l.Partner] {
			return nil, fmt.Errorf("payments: statement: partner %q listed twice", l.Partner)
		}
		partners[l.Partner] = true
	}
	s.Root = MerkleRoot(leaves)
	return s, nil
}

// decodeLeaf decodes one bounded leaf and insists it is in canonical form.
func decodeLeaf(b []byte, v any) error {
	if len(b) > maxLeafSize {
		return fmt.Errorf("%d bytes, above %d", len(b), maxLeafSize)
	}
	if err := leafDec.Unmarshal(b, v); err != nil {
		return err
	}
	canon, err := leafEnc.Marshal(v)
	if err != nil {
		return err
	}
	if !bytes.Equal(canon, b) {
		return errors.New("not in canonical form")
	}
	return nil
}

// compareLines is the order of lines within a section: by account, then partner ID.
func compareLines(a, b Line) int {
	if c := strings.Compare(a.Account, b.Account); c != 0 {
		return c
	}
	return strings.Compare(a.Partner, b.Partner)
}
