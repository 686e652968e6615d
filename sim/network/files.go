package network

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/reputation"
	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/churn"
	"github.com/ipfs/go-cid"
)

// files is every file, segment, shard and listed copy, struct-of-arrays.
//
// A file has segments fSeg[f] .. fSeg[f]+fSegs[f]−1; segment g has shards g·N .. g·N+N−1;
// a shard has up to manifest.MaxHoldersPerShard copies, one per holder listed for it in the
// record (the newest receipts are kept, as manifest.Merge does).
type files struct {
	fKey       []uint64 // the file's key: its manifest CID, for steward choice and ranks
	fOwner     []int32
	fPartner   []int32 // index into partners
	fAt        []sim.Time
	fSize      []int64
	fSeg       []int32
	fSegs      []int32
	fStew      []int32 // Stewards slots a file: member node, or -1
	fOrder     []uint8 // Stewards a file: slots in the file's rendezvous order (StewardRank)
	sPrev      []int32 // stewardship list links, by slot id file·S+slot
	sNext      []int32
	fBelow     []sim.Time // since when it has been below threshold, or never
	fLostSegs  []int32
	fHanded    []sim.Time // last steward handover
	partners   []string
	partnerIdx map[string]int32

	segFile   []int32
	segAvail  []uint8 // shards with at least one copy whose holder has the bytes
	segLost   []bool  // fewer than K such shards, ever: lost for good
	segsLost  int
	filesLost int

	shFirst   []int32 // first copy, -1
	shCopies  []uint8
	shPresent []uint8 // copies whose holder has the bytes
}

// copies are the (shard, holder) listings.
type copies struct {
	cShard, cHolder []int32
	cAt             []sim.Time // receipt time
	cFlags          []uint8
	cPrev, cNext    []int32 // the holder's list
	cNextS          []int32 // the shard's list
	cPass           []uint32
	cFail           []uint32
	cMiss           []uint32
	freeC           []int32
	inUse           int
}

const (
	flagPresent = 1 << iota // the holder has every byte (ground truth)
	flagFailed              // its latest audit failed (the stewards' view)
)

// Files is the number of files uploaded.
func (n *Network) Files() int { return len(n.fKey) }

// Segments is the number of segments uploaded.
func (n *Network) Segments() int { return len(n.segFile) }

// SegmentsLost and FilesLost count segments that fell below K shards whose holders still
// have the bytes (lost for good), and files with such a segment.
func (n *Network) SegmentsLost() int { return n.segsLost }
func (n *Network) FilesLost() int    { return n.filesLost }

// FileKey is file f's key as the stewards' cores take it (the manifest CID's bytes in the
// node): 8 bytes, big-endian.
func (n *Network) FileKey(f int) []byte { return binary.BigEndian.AppendUint64(nil, n.fKey[f]) }

// Stewards appends file f's steward set, in rendezvous (StewardRank) order.
func (n *Network) Stewards(dst []int32, f int) []int32 {
	S := n.cfg.Stewards
	for _, sl := range n.fOrder[f*S : (f+1)*S] {
		if m := n.fStew[f*S+int(sl)]; m >= 0 {
			dst = append(dst, m)
		}
	}
	return dst
}

// FileInfo describes file f.
type FileInfo struct {
	Owner    int32
	Partner  string
	At       sim.Time
	Size     int64
	Segments int
	Lost     bool
}

// File describes file f.
func (n *Network) File(f int) FileInfo {
	return FileInfo{Owner: n.fOwner[f], Partner: n.partners[n.fPartner[f]], At: n.fAt[f], Size: n.fSize[f],
		Segments: int(n.fSegs[f]), Lost: n.fLostSegs[f] > 0}
}

// ShardCID is the CID of shard j of file f's segment seg: codec.ShardCID of the bytes (file
// key ‖ segment ‖ j), so it is fixed by the seed and survives repair.
func (n *Network) ShardCID(f, seg, j int) cid.Cid {
	var b [13]byte
	binary.BigEndian.PutUint64(b[:8], n.fKey[f])
	binary.BigEndian.PutUint32(b[8:12], uint32(seg))
	b[12] = byte(j)
	return codec.ShardCID(b[:])
}

// shardCIDOf is ShardCID for a global shard index.
func (n *Network) shardCIDOf(s int32) cid.Cid {
	g := s / int32(n.cfg.N)
	f := n.segFile[g]
	return n.ShardCID(int(f), int(g-n.fSeg[f]), int(s%int32(n.cfg.N)))
}

// shardSize is the size of each shard of segment si of a file of size bytes.
func (n *Network) shardSize(size int64, si int) int64 {
	return int64(codec.ShardSize(codec.SegmentPlainSize(size, int(n.cfg.SegmentSize), si), n.cfg.K))
}

// segShardSize is the shard size of global segment g.
func (n *Network) segShardSize(g int32) int64 {
	f := n.segFile[g]
	return n.shardSize(n.fSize[f], int(g-n.fSeg[f]))
}

// Upload stores a file of size bytes for uploader at virtual time at (the engine's now), as
// node.Put does: uploader discovers Candidates live nodes (itself included), checks with
// reputation.Place that the first segment can be placed, then places each segment's N shards
// with reputation.Place over those candidates (each chosen holder's advertised Free is
// charged, standing for the holder's own space check), and the file's Stewards are the
// nodes up closest to its key (kad.Space.Closest). Receipts are dated at. It returns the
// file's index, or an error and stores nothing (a *reputation.TooFewError inside when too
// few nodes qualify).
func (n *Network) Upload(at sim.Time, uploader int32, size int64, partner string) (int, error) {
	switch {
	case at != n.now():
		return -1, fmt.Errorf("network: upload at %v, but the engine is at %v", at, n.now())
	case uploader < 0 || int(uploader) >= n.Len():
		return -1, fmt.Errorf("network: uploader %d out of range", uploader)
	case n.state[uploader] != churn.Up:
		return -1, fmt.Errorf("network: uploader %d is %v", uploader, n.state[uploader])
	case size < 0:
		return -1, fmt.Errorf("network: file size %d < 0", size)
	}
	if err := manifest.CheckPartner(partner); err != nil {
		return -1, fmt.Errorf("network: partner: %w", err)
	}
	segs := codec.SegmentCount(size, int(n.cfg.SegmentSize))
	if int64(len(n.segFile)+segs)*int64(n.cfg.N) > math.MaxInt32 || len(n.fKey) >= math.MaxInt32 {
		return -1, errors.New("network: too many shards for int32 indices")
	}
	n.total.Uploads++
	n.interval.Uploads++
	n.discover(uploader, false)
	s := &n.scratch
	first := n.shardSize(size, 0)
	if _, err := n.place(s.cands, reputation.Rules{N: n.cfg.N, ShardSize: first, UnvettedShare: n.cfg.UnvettedShare}); err != nil {
		n.total.UploadsFailed++
		n.interval.UploadsFailed++
		return -1, fmt.Errorf("network: too few nodes for k=%d n=%d: %w", n.cfg.K, n.cfg.N, err)
	}
	s.holders = s.holders[:0]
	for si := range segs {
		ss := n.shardSize(size, si)
		idx, err := n.place(s.cands, reputation.Rules{N: n.cfg.N, ShardSize: ss, UnvettedShare: n.cfg.UnvettedShare})
		if err != nil {
			n.total.UploadsFailed++
			n.interval.UploadsFailed++
			return -1, fmt.Errorf("network: segment %d: %w", si, err)
		}
		for _, ci := range idx {
			s.holders = append(s.holders, s.picked[ci])
			s.cands[ci].Free -= ss
		}
	}
	return n.commit(at, uploader, size, partner, segs), nil
}

// place is reputation.Place, reported to the test hook.
func (n *Network) place(cands []reputation.Candidate, r reputation.Rules) ([]int, error) {
	var st []byte
	if n.onPlace != nil {
		st, _ = n.pcgPlace.MarshalBinary()
	}
	idx, err := reputation.Place(cands, r, n.rngPlace)
	if n.onPlace != nil {
		n.onPlace(cands, r, st, idx, err)
	}
	return idx, err
}

// commit records an upload whose holders are in scratch.holders.
func (n *Network) commit(at sim.Time, owner int32, size int64, partner string, segs int) int {
	f := int32(len(n.fKey))
	pi, ok := n.partnerIdx[partner]
	if !ok {
		pi = int32(len(n.partners))
		n.partners = append(n.partners, partner)
		n.partnerIdx[partner] = pi
	}
	key := n.rngKey.Uint64()
	n.fKey = append(n.fKey, key)
	n.fOwner = append(n.fOwner, owner)
	n.fPartner = append(n.fPartner, pi)
	n.fAt = append(n.fAt, at)
	n.fSize = append(n.fSize, size)
	n.fSeg = append(n.fSeg, int32(len(n.segFile)))
	n.fSegs = append(n.fSegs, int32(segs))
	n.fBelow = append(n.fBelow, never)
	n.fLostSegs = append(n.fLostSegs, 0)
	n.fHanded = append(n.fHanded, never)
	n.scratch.workStamp = append(n.scratch.workStamp, 0)
	n.chooseStewards(f, key)
	N := n.cfg.N
	for si := range segs {
		g := int32(len(n.segFile))
		n.segFile = append(n.segFile, f)
		n.segAvail = append(n.segAvail, 0)
		n.segLost = append(n.segLost, false)
		for range N {
			n.shFirst = append(n.shFirst, -1)
			n.shCopies = append(n.shCopies, 0)
			n.shPresent = append(n.shPresent, 0)
		}
		for j := range N {
			n.addCopy(g*int32(N)+int32(j), n.scratch.holders[si*N+j], at)
		}
		if int(n.segAvail[g]) < n.cfg.K {
			n.markLost(g)
		}
	}
	return int(f)
}

// chooseStewards makes the Stewards up nodes closest to key file f's steward set, ordered
// by reputation.StewardRank.
func (n *Network) chooseStewards(f int32, key uint64) {
	S := n.cfg.Stewards
	s := &n.scratch
	s.closest = n.space.closest(s.closest[:0], key, S, n.isUp)
	for slot := range S {
		m := int32(-1)
		if slot < len(s.closest) {
			m = s.closest[slot]
		}
		n.fStew = append(n.fStew, m)
		n.fOrder = append(n.fOrder, uint8(slot))
		n.sPrev = append(n.sPrev, -1)
		n.sNext = append(n.sNext, -1)
		if m >= 0 {
			n.linkSteward(f, slot)
		}
	}
	n.rankStewards(f)
}

func (n *Network) isUp(i int32) bool { return n.state[i] == churn.Up }

// rankStewards orders file f's slots by reputation.StewardRank of their members (empty
// slots last).
func (n *Network) rankStewards(f int32) {
	S := n.cfg.Stewards
	s := &n.scratch
	s.members = s.members[:0]
	for _, m := range n.fStew[int(f)*S : (int(f)+1)*S] {
		if m >= 0 {
			s.members = append(s.members, n.nid[m])
		}
	}
	key := n.FileKey(int(f))
	order := n.fOrder[int(f)*S : (int(f)+1)*S]
	next := len(s.members)
	for slot, m := range n.fStew[int(f)*S : (int(f)+1)*S] {
		if m < 0 {
			order[next] = uint8(slot)
			next++
			continue
		}
		order[reputation.StewardRank(key, s.members, n.nid[m])] = uint8(slot)
	}
}

// rerank moves slot, whose member just changed, to its place in file f's rendezvous order:
// the others keep their relative order, so one reputation.StewardRank call (the newcomer's
// rank among the new set) places it.
func (n *Network) rerank(f int32, slot int) {
	S := n.cfg.Stewards
	order := n.fOrder[int(f)*S : (int(f)+1)*S]
	k := 0
	for _, sl := range order {
		if int(sl) != slot {
			order[k] = sl
			k++
		}
	}
	order = order[:S-1]
	m := n.fStew[int(f)*S+slot]
	pos := S - 1 // an empty slot goes last
	if m >= 0 {
		s := &n.scratch
		s.members = s.members[:0]
		for _, x := range n.fStew[int(f)*S : (int(f)+1)*S] {
			if x >= 0 {
				s.members = append(s.members, n.nid[x])
			}
		}
		pos = reputation.StewardRank(n.FileKey(int(f)), s.members, n.nid[m])
	}
	order = order[:S]
	copy(order[pos+1:], order[pos:S-1])
	order[pos] = uint8(slot)
}

// linkSteward adds slot of file f to its member's stewardship list.
func (n *Network) linkSteward(f int32, slot int) {
	id := f*int32(n.cfg.Stewards) + int32(slot)
	m := n.fStew[id]
	n.sPrev[id], n.sNext[id] = -1, n.stewHead[m]
	if h := n.stewHead[m]; h >= 0 {
		n.sPrev[h] = id
	}
	n.stewHead[m] = id
}

// unlinkSteward removes slot id from its member's stewardship list.
func (n *Network) unlinkSteward(id int32) {
	m := n.fStew[id]
	p, x := n.sPrev[id], n.sNext[id]
	if p >= 0 {
		n.sNext[p] = x
	} else {
		n.stewHead[m] = x
	}
	if x >= 0 {
		n.sPrev[x] = p
	}
	n.sPrev[id], n.sNext[id] = -1, -1
}

// addCopy lists holder for shard s with a receipt dated at, or refreshes its listing. A new
// copy beyond MaxHoldersPerShard evicts the oldest receipt. The holder keeps the bytes unless
// it misbehaves.
func (n *Network) addCopy(s, h int32, at sim.Time) int32 {
	for c := n.shFirst[s]; c >= 0; c = n.cNextS[c] {
		if n.cHolder[c] == h {
			n.cAt[c] = at
			n.cFlags[c] &^= flagFailed
			if n.cFlags[c]&flagPresent == 0 && n.keeps(h) && n.state[h] != churn.Gone {
				n.setPresent(c)
			}
			return c
		}
	}
	if int(n.shCopies[s]) >= manifest.MaxHoldersPerShard {
		n.dropCopy(n.oldestCopy(s))
	}
	var c int32
	if k := len(n.freeC); k > 0 {
		c = n.freeC[k-1]
		n.freeC = n.freeC[:k-1]
		n.cShard[c], n.cHolder[c], n.cAt[c], n.cFlags[c] = s, h, at, 0
		n.cPass[c], n.cFail[c], n.cMiss[c] = 0, 0, 0
	} else {
		c = int32(len(n.cShard))
		n.cShard = append(n.cShard, s)
		n.cHolder = append(n.cHolder, h)
		n.cAt = append(n.cAt, at)
		n.cFlags = append(n.cFlags, 0)
		n.cPrev = append(n.cPrev, -1)
		n.cNext = append(n.cNext, -1)
		n.cNextS = append(n.cNextS, -1)
		n.cPass = append(n.cPass, 0)
		n.cFail = append(n.cFail, 0)
		n.cMiss = append(n.cMiss, 0)
	}
	n.inUse++
	n.cNextS[c] = n.shFirst[s]
	n.shFirst[s] = c
	n.shCopies[s]++
	n.cPrev[c], n.cNext[c] = -1, n.copyHead[h]
	if hd := n.copyHead[h]; hd >= 0 {
		n.cPrev[hd] = c
	}
	n.copyHead[h] = c
	n.used[h] += n.segShardSize(s / int32(n.cfg.N))
	n.stored[h]++
	if n.keeps(h) && n.state[h] != churn.Gone {
		n.setPresent(c)
	}
	return c
}

// oldestCopy is the copy of s that manifest.Merge's limit drops first: the oldest receipt,
// ties going to the holder with the greater ID.
func (n *Network) oldestCopy(s int32) int32 {
	best := int32(-1)
	for c := n.shFirst[s]; c >= 0; c = n.cNextS[c] {
		if best < 0 || n.cAt[c] < n.cAt[best] || n.cAt[c] == n.cAt[best] && n.nid[n.cHolder[c]] > n.nid[n.cHolder[best]] {
			best = c
		}
	}
	return best
}

// dropCopy removes a listing: the holder no longer counts it (and frees its space).
func (n *Network) dropCopy(c int32) {
	s, h := n.cShard[c], n.cHolder[c]
	if n.cFlags[c]&flagPresent != 0 {
		n.clearPresent(c)
	}
	// Unlink from the shard's list.
	if n.shFirst[s] == c {
		n.shFirst[s] = n.cNextS[c]
	} else {
		for p := n.shFirst[s]; p >= 0; p = n.cNextS[p] {
			if n.cNextS[p] == c {
				n.cNextS[p] = n.cNextS[c]
				break
			}
		}
	}
	n.shCopies[s]--
	// Unlink from the holder's list.
	p, x := n.cPrev[c], n.cNext[c]
	if p >= 0 {
		n.cNext[p] = x
	} else {
		n.copyHead[h] = x
	}
	if x >= 0 {
		n.cPrev[x] = p
	}
	n.used[h] -= n.segShardSize(s / int32(n.cfg.N))
	n.stored[h]--
	n.cShard[c], n.cHolder[c], n.cFlags[c] = -1, -1, 0
	n.cPrev[c], n.cNext[c], n.cNextS[c] = -1, -1, -1
	n.freeC = append(n.freeC, c)
	n.inUse--
}

func (n *Network) setPresent(c int32) {
	n.cFlags[c] |= flagPresent
	s := n.cShard[c]
	n.shPresent[s]++
	if n.shPresent[s] == 1 {
		n.segAvail[s/int32(n.cfg.N)]++
	}
}

func (n *Network) clearPresent(c int32) {
	n.cFlags[c] &^= flagPresent
	s := n.cShard[c]
	n.shPresent[s]--
	if n.shPresent[s] == 0 {
		g := s / int32(n.cfg.N)
		n.segAvail[g]--
		if int(n.segAvail[g]) < n.cfg.K && !n.segLost[g] {
			n.markLost(g)
		}
	}
}

// loseBytes records that c's holder no longer has the bytes (departed, dropped, truncated).
func (n *Network) loseBytes(c int32) {
	if n.cFlags[c]&flagPresent != 0 {
		n.clearPresent(c)
		n.total.CopiesLost++
		n.interval.CopiesLost++
	}
}

func (n *Network) markLost(g int32) {
	n.segLost[g] = true
	n.segsLost++
	f := n.segFile[g]
	n.fLostSegs[f]++
	if n.fLostSegs[f] == 1 {
		n.filesLost++
	}
}
