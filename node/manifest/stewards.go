package manifest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

const (
	// MaxStewards bounds the members of one steward set.
	MaxStewards = 16
	// MaxStewardEpochs bounds the steward chain of one record.
	MaxStewardEpochs = 256
)

// StewardSet is one epoch of the stewards that may endorse receipts for a
// manifest. The Owner appoints epoch 0; a strict majority of epoch e
// appoints epoch e+1, so stewards hand over without the owner.
type StewardSet struct {
	Epoch   uint64
	Members []peer.ID // distinct, sorted by bytes, 1..MaxStewards
	// Sigs: epoch 0 by the Owner alone; epoch e>0 by a strict majority of
	// epoch e-1's members. Sorted by signer, distinct.
	Sigs []Signature
}

func (s *StewardSet) signingBytes(m cid.Cid) []byte {
	b := []byte(stewardsDomain)
	b = appendLP(b, m.Bytes())
	b = binary.BigEndian.AppendUint64(b, s.Epoch)
	b = binary.AppendUvarint(b, uint64(len(s.Members)))
	for _, p := range s.Members {
		b = appendLP(b, []byte(p))
	}
	return b
}

// SignBy sorts Members and adds priv's signature of this set for the given
// manifest, replacing an earlier one by the same signer.
func (s *StewardSet) SignBy(priv crypto.PrivKey, manifest cid.Cid) error {
	if err := checkCID(manifest, codecCBOR); err != nil {
		return fmt.Errorf("stewards: sign: manifest: %w", err)
	}
	slices.Sort(s.Members)
	if err := checkMembers(s.Members); err != nil {
		return fmt.Errorf("stewards: sign: %w", err)
	}
	id, sig, err := sign(priv, s.signingBytes(manifest))
	if err != nil {
		return fmt.Errorf("stewards: sign: %w", err)
	}
	s.Sigs = addSignature(s.Sigs, Signature{Signer: id, Sig: sig})
	return nil
}

// check is the structural part: what a decoder can check without keys.
func (s *StewardSet) check(epoch int) error {
	if s.Epoch != uint64(epoch) {
		return fmt.Errorf("epoch %d at position %d of the chain", s.Epoch, epoch)
	}
	if err := checkMembers(s.Members); err != nil {
		return err
	}
	if len(s.Sigs) == 0 || len(s.Sigs) > MaxStewards {
		return fmt.Errorf("%d signatures, want 1..%d", len(s.Sigs), MaxStewards)
	}
	return checkSignatures(s.Sigs)
}

func checkMembers(ms []peer.ID) error {
	if len(ms) == 0 || len(ms) > MaxStewards {
		return fmt.Errorf("%d members, want 1..%d", len(ms), MaxStewards)
	}
	for i, p := range ms {
		if err := checkPeerID(p); err != nil {
			return fmt.Errorf("member %d: %w", i, err)
		}
		if i > 0 && ms[i-1] >= p {
			return fmt.Errorf("members not sorted and distinct at %d (%s)", i, p)
		}
	}
	return nil
}

// checkSignatures checks that sigs are sorted by distinct signers and
// structurally plausible.
func checkSignatures(sigs []Signature) error {
	for i, s := range sigs {
		if err := checkPeerID(s.Signer); err != nil {
			return fmt.Errorf("signature %d: signer: %w", i, err)
		}
		if err := checkSig(s.Sig); err != nil {
			return fmt.Errorf("signature %d by %s: %w", i, s.Signer, err)
		}
		if i > 0 && sigs[i-1].Signer >= s.Signer {
			return fmt.Errorf("signatures not sorted by distinct signers at %d (%s)", i, s.Signer)
		}
	}
	return nil
}

// addSignature inserts s keeping sigs sorted by signer; a signer appears
// once, keeping the lower signature bytes so the result does not depend on
// the order signatures arrive in.
func addSignature(sigs []Signature, s Signature) []Signature {
	i, found := slices.BinarySearchFunc(sigs, s.Signer, func(x Signature, p peer.ID) int {
		return cmpID(x.Signer, p)
	})
	if found {
		if bytes.Compare(s.Sig, sigs[i].Sig) < 0 {
			sigs[i] = s
		}
		return sigs
	}
	return slices.Insert(sigs, i, s)
}

func cmpID(a, b peer.ID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// verifyChain checks chain for the manifest and returns how many leading
// epochs are valid; err says why the next one is not.
func verifyChain(v *manifestView, chain []StewardSet) (int, error) {
	if len(chain) > MaxStewardEpochs {
		return 0, fmt.Errorf("%d steward epochs, max %d", len(chain), MaxStewardEpochs)
	}
	for e := range chain {
		if err := verifySet(v, chain, e); err != nil {
			return e, fmt.Errorf("steward epoch %d: %w", e, err)
		}
	}
	return len(chain), nil
}

func verifySet(v *manifestView, chain []StewardSet, e int) error {
	s := &chain[e]
	if err := s.check(e); err != nil {
		return err
	}
	if e == 0 {
		if len(s.Sigs) != 1 || s.Sigs[0].Signer != v.m.Owner {
			return fmt.Errorf("must be signed by the owner %s alone", v.m.Owner)
		}
	} else {
		prev := chain[e-1].Members
		for _, sig := range s.Sigs {
			if _, ok := slices.BinarySearch(prev, sig.Signer); !ok {
				return fmt.Errorf("signer %s is not a member of epoch %d", sig.Signer, e-1)
			}
		}
		if 2*len(s.Sigs) <= len(prev) {
			return fmt.Errorf("signed by %d of epoch %d's %d members, want a strict majority", len(s.Sigs), e-1, len(prev))
		}
	}
	msg := s.signingBytes(v.id)
	for _, sig := range s.Sigs {
		if err := verifySig(sig.Signer, msg, sig.Sig); err != nil {
			return err
		}
	}
	return nil
}

// authority answers who may endorse receipts under one valid chain.
type authority struct {
	owner peer.ID
	chain []StewardSet
}

func (a *authority) knows(p peer.ID) bool {
	if p == a.owner {
		return true
	}
	for i := range a.chain {
		if _, ok := slices.BinarySearch(a.chain[i].Members, p); ok {
			return true
		}
	}
	return false
}

// justifying returns the endorsements that make an entry count: the
// owner's alone if present, else those of the latest epoch whose members
// endorsed by strict majority; nil if there are none. sigs must be sorted.
func (a *authority) justifying(sigs []Signature) []Signature {
	for _, s := range sigs {
		if s.Signer == a.owner {
			return []Signature{s}
		}
	}
	for e := len(a.chain) - 1; e >= 0; e-- {
		members := a.chain[e].Members
		var got []Signature
		for _, s := range sigs {
			if _, ok := slices.BinarySearch(members, s.Signer); ok {
				got = append(got, s)
			}
		}
		if 2*len(got) > len(members) {
			return got
		}
	}
	return nil
}

var errNotEndorsed = errors.New("receipt is endorsed neither by the owner nor by a majority of any steward set")
