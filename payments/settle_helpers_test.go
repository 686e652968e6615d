package payments

import (
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Helpers that build entries for settlement tests without the entry encoding of entry.go:
// settlement reads only Kind, Author, Seq, Time and Body, and trusts the caller's validation.

var testBodyEnc = func() cbor.EncMode {
	m, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// testPeer returns Ed25519-shaped peer ID bytes for a small name number.
func testPeer(n int) []byte {
	b := []byte{0x00, 0x24, 0x08, 0x01, 0x12, 0x20}
	var key [32]byte
	copy(key[:], fmt.Sprintf("peer-%08d", n))
	return append(b, key[:]...)
}

func testBody(v any) cbor.RawMessage {
	b, err := testBodyEnc.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func kindOf(v any) Kind {
	switch v.(type) {
	case Download, *Download:
		return KindDownload
	case Storage, *Storage:
		return KindStorage
	case Price, *Price:
		return KindPrice
	case Partner, *Partner:
		return KindPartner
	}
	panic(fmt.Sprintf("no kind for %T", v))
}

// testEntry wraps a body in an envelope; Sig is a stand-in so entries differ like real ones.
func testEntry(author []byte, seq uint64, t int64, body any) Entry {
	return Entry{Version: Version, Kind: kindOf(body), Author: author, Seq: seq, Time: t, Body: testBody(body),
		Sig: []byte(fmt.Sprintf("sig-%x-%d", author[len(author)-4:], seq))}
}

func testShard(n int) []byte { return []byte(fmt.Sprintf("shard-%06d", n)) }

func testNonce(n int) []byte { return []byte(fmt.Sprintf("nonce-%010d", n)) }

// account is a test's name for a peer's statement account.
func account(n int) string { return accountName(string(testPeer(n))) }

func lineOf(lines []Line, acct string) (Line, bool) {
	for _, l := range lines {
		if l.Account == acct {
			return l, true
		}
	}
	return Line{}, false
}

// checkConservation returns an error unless the statement conserves money exactly and the
// remainder is below floors, the number of rounded-down parts (2 per operator with usage, 1 per
// partner, 1 for the fee).
func checkConservation(s *Settlement, floors int) error {
	charges, payouts, shares := Total(s.Charges), Total(s.Payouts), Total(s.PartnerShares)
	if charges != payouts+shares+s.Fee+s.Remainder {
		return fmt.Errorf("charges %d != payouts %d + shares %d + fee %d + remainder %d", charges, payouts, shares, s.Fee, s.Remainder)
	}
	if s.Remainder < 0 || s.Fee < 0 {
		return fmt.Errorf("negative fee %d or remainder %d", s.Fee, s.Remainder)
	}
	if s.Remainder > 0 && s.Remainder >= Amount(floors) {
		return fmt.Errorf("remainder %d not below the %d floors", s.Remainder, floors)
	}
	for _, sec := range [][]Line{s.Charges, s.Payouts} {
		for _, l := range sec {
			if l.Storage+l.Egress != l.Amount || l.Storage < 0 || l.Egress < 0 || l.Amount <= 0 {
				return fmt.Errorf("line %s %s: parts do not add up", l.Account, l)
			}
		}
	}
	return nil
}
