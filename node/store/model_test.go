package store

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"
	"pgregory.net/rapid"
)

// modelStore is what the store's accounting must agree with.
type modelStore struct {
	blobs   map[int]map[[32]byte]Ref // blob index → refs by delete hash
	records map[string]int
}

var (
	modelSizes    = []int{0, 700, 3000, 9000, 17_000}
	modelAccounts = []string{"", "A", "B", "C"}
	modelSubnets  = map[string]string{"": "", "A": "10.0.0.0/24", "B": "10.0.0.0/24", "C": "fd00::/48"}
)

const (
	modelPeerQuota   = 30_000
	modelSubnetQuota = 45_000
	modelCapacity    = 60_000
)

func (m *modelStore) used() int64 {
	var n int64
	for i := range m.blobs {
		n += int64(modelSizes[i])
	}
	for _, v := range m.records {
		n += int64(v)
	}
	return n
}

func (m *modelStore) usage(account string, bySubnet bool) int64 {
	var n int64
	for i, refs := range m.blobs {
		for _, r := range refs {
			if (!bySubnet && r.Account == account) || (bySubnet && r.Subnet == account) {
				n += int64(modelSizes[i])
			}
		}
	}
	return n
}

// TestAccountingModel runs random Puts (good and bad bytes), Deletes,
// DropRefs, Claims, Confirms, records and reopens against a model of what
// must be charged, stored and expired.
func TestAccountingModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		dir := t.TempDir()
		opt := Options{NoSync: true, Capacity: modelCapacity, PeerQuota: modelPeerQuota, SubnetQuota: modelSubnetQuota}
		s, err := Open(dir, opt)
		if err != nil {
			rt.Fatal(err)
		}
		defer func() { s.Close() }()
		datas := make([][]byte, len(modelSizes))
		cids := make([]cid.Cid, len(modelSizes))
		for i, n := range modelSizes {
			datas[i] = randBytes(uint64(i), n)
			cids[i] = cidOf(t, datas[i])
		}
		m := &modelStore{blobs: map[int]map[[32]byte]Ref{}, records: map[string]int{}}
		hashes := make([][32]byte, 4)
		tokens := make([][32]byte, 4)
		for i := range hashes {
			tokens[i], hashes[i] = token(fmt.Sprint("m", i))
		}

		check := func(what string) {
			if s.Used() != m.used() {
				rt.Fatalf("%s: Used %d, model %d", what, s.Used(), m.used())
			}
			for _, a := range modelAccounts {
				if s.Usage(a) != m.usage(a, false) {
					rt.Fatalf("%s: Usage(%q) %d, model %d", what, a, s.Usage(a), m.usage(a, false))
				}
				if sn := modelSubnets[a]; sn != "" && s.SubnetUsage(sn) != m.usage(sn, true) {
					rt.Fatalf("%s: SubnetUsage(%q) %d, model %d", what, sn, s.SubnetUsage(sn), m.usage(sn, true))
				}
			}
			if s.reservedBytes() != 0 {
				rt.Fatalf("%s: %d bytes still reserved", what, s.reservedBytes())
			}
			var got []string
			must(t, s.Expired(500, func(c cid.Cid, r Ref) error {
				got = append(got, fmt.Sprint(c, r.DeleteHash[0], r.Lease))
				return nil
			}))
			var want []string
			for i, refs := range m.blobs {
				for _, r := range refs {
					if r.Lease != 0 && r.Lease <= 500 {
						want = append(want, fmt.Sprint(cids[i], r.DeleteHash[0], r.Lease))
					}
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				rt.Fatalf("%s: Expired %v, model %v", what, got, want)
			}
		}

		rt.Repeat(map[string]func(*rapid.T){
			"put": func(rt *rapid.T) {
				b := rapid.IntRange(0, len(modelSizes)-1).Draw(rt, "blob")
				hi := rapid.IntRange(0, len(hashes)-1).Draw(rt, "hash")
				a := rapid.SampledFrom(modelAccounts).Draw(rt, "account")
				good := rapid.IntRange(0, 4).Draw(rt, "good") > 0
				lease := int64(rapid.SampledFrom([]int{0, 100, 400, 900}).Draw(rt, "lease"))
				ref := Ref{DeleteHash: hashes[hi], Account: a, Subnet: modelSubnets[a], Lease: lease}
				r := bytes.NewReader(datas[b])
				if !good {
					r = bytes.NewReader(append(bytes.Clone(datas[b]), 1)[1:]) // same length, wrong bytes (or short if empty)
				}
				_, err := s.Put(cids[b], int64(modelSizes[b]), r, ref)
				refs, stored := m.blobs[b]
				_, present := refs[ref.DeleteHash]
				size := int64(modelSizes[b])
				var want error
				switch {
				case present:
				case a != "" && (m.usage(a, false)+size > modelPeerQuota ||
					(ref.Subnet != "" && m.usage(ref.Subnet, true)+size > modelSubnetQuota)):
					want = ErrQuota
				case !stored && m.used()+size > modelCapacity:
					want = ErrFull
				}
				if want == nil && !good && modelSizes[b] > 0 {
					want = ErrMismatch
				}
				if (want == nil) != (err == nil) || (want != nil && !errors.Is(err, want)) {
					rt.Fatalf("Put(blob %d, %+v, good=%v) = %v, want %v", b, ref, good, err, want)
				}
				if err == nil && !present {
					if !stored {
						m.blobs[b] = map[[32]byte]Ref{}
					}
					m.blobs[b][ref.DeleteHash] = ref
				}
			},
			"delete": func(rt *rapid.T) {
				b := rapid.IntRange(0, len(modelSizes)-1).Draw(rt, "blob")
				hi := rapid.IntRange(0, len(hashes)-1).Draw(rt, "hash")
				drop := rapid.Bool().Draw(rt, "drop")
				var err error
				if drop {
					err = s.DropRef(cids[b], hashes[hi])
				} else {
					err = s.Delete(cids[b], tokens[hi])
				}
				_, present := m.blobs[b][hashes[hi]]
				if present != (err == nil) {
					rt.Fatalf("Delete/DropRef(blob %d, hash %d) = %v, present %v", b, hi, err, present)
				}
				if present {
					delete(m.blobs[b], hashes[hi])
					if len(m.blobs[b]) == 0 {
						delete(m.blobs, b)
						if exists(fileOf(t, s, cids[b])) {
							rt.Fatalf("file of blob %d kept after its last ref", b)
						}
					}
				}
			},
			"claim": func(rt *rapid.T) {
				b := rapid.IntRange(0, len(modelSizes)-1).Draw(rt, "blob")
				hi := rapid.IntRange(0, len(hashes)-1).Draw(rt, "hash")
				lease := int64(rapid.SampledFrom([]int{0, 200, 800}).Draw(rt, "lease"))
				err := s.Claim(cids[b], hashes[hi], []byte{byte(b), byte(hi)}, lease)
				r, present := m.blobs[b][hashes[hi]]
				if present != (err == nil) {
					rt.Fatalf("Claim: %v, present %v", err, present)
				}
				if present {
					r.Lease, r.Manifest = lease, []byte{byte(b), byte(hi)}
					m.blobs[b][hashes[hi]] = r
				}
			},
			"confirm": func(rt *rapid.T) {
				b := rapid.IntRange(0, len(modelSizes)-1).Draw(rt, "blob")
				hi := rapid.IntRange(0, len(hashes)-1).Draw(rt, "hash")
				err := s.Confirm(cids[b], hashes[hi])
				r, present := m.blobs[b][hashes[hi]]
				if present != (err == nil) {
					rt.Fatalf("Confirm: %v, present %v", err, present)
				}
				if present {
					r.Lease = 0
					m.blobs[b][hashes[hi]] = r
				}
			},
			"record": func(rt *rapid.T) {
				k := rapid.SampledFrom([]string{"r1", "r2"}).Draw(rt, "key")
				n := rapid.SampledFrom([]int{-1, 0, 500, 20_000}).Draw(rt, "len")
				if n < 0 {
					must(t, s.DeleteRecord(k))
					delete(m.records, k)
					return
				}
				err := s.PutRecord(k, make([]byte, n))
				grow := int64(len(k)+n) - int64(m.records[k])
				if _, ok := m.records[k]; !ok {
					grow = int64(len(k) + n)
				}
				if full := grow > 0 && m.used()+grow > modelCapacity; full != errors.Is(err, ErrFull) || (!full && err != nil) {
					rt.Fatalf("PutRecord(%s, %d) = %v, full %v", k, n, err, full)
				}
				if err == nil {
					m.records[k] = len(k) + n
				}
			},
			"reopen": func(rt *rapid.T) {
				must(t, s.Close())
				s, err = Open(dir, opt)
				if err != nil {
					rt.Fatal(err)
				}
			},
			"": func(rt *rapid.T) {
				check("after op")
				for i, refs := range m.blobs {
					got, err := s.Refs(cids[i])
					if err != nil {
						rt.Fatal(err)
					}
					gotM := map[[32]byte]Ref{}
					for _, r := range got {
						gotM[r.DeleteHash] = r
					}
					if !maps.EqualFunc(gotM, refs, func(a, b Ref) bool {
						return a.Account == b.Account && a.Subnet == b.Subnet && a.Lease == b.Lease && bytes.Equal(a.Manifest, b.Manifest)
					}) {
						rt.Fatalf("blob %d refs %+v, model %+v", i, got, refs)
					}
				}
			},
		})
	})
}
