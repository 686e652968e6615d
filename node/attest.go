package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/cairn-storage/cairn/payments"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

const (
	// attestFile remembers in the repo the last epoch this node attested, so a restart does
	// not attest it again.
	attestFile = "attest.json"
	// attestChunk is how many attestations one ledger append signs and stores at once.
	attestChunk = 256
	// maxAttestTallies bounds the (holder, shard) tallies kept per epoch. Audits draw their
	// shards from the records this node stewards, so the number is already bounded by them;
	// this caps it against a huge stewardship.
	maxAttestTallies = 1 << 20
	// maxAttestEpochs bounds the epochs whose tallies are kept: the closed one awaiting its
	// attestation, the current one, and one more while a failed pass is retried.
	maxAttestEpochs = 3
)

// attestTracker is what a steward's audits found per epoch, and which epoch it last attested.
// Tallies live in memory: after a restart, the epoch under way counts only the audits since.
// A nil tracker (attestations off) ignores audits.
type attestTracker struct {
	mu      sync.Mutex
	grid    payments.EpochParams
	tallies map[uint64]map[holderShard]auditTally

	pass  sync.Mutex // one attestation pass at a time; guards state
	path  string
	state attestState
}

// attestState is attest.json: the last epoch attested and its end (unix seconds). The end
// decides: it stays meaningful if the epoch grid is reconfigured.
type attestState struct {
	Epoch uint64 `json:"epoch"`
	End   int64  `json:"end"`
}

// startAttest starts tracking audits and signing the storage attestations of each epoch once
// it closes. The check runs often enough to attest well before the epoch's statement.
func (n *Node) startAttest() {
	t, err := openAttestTracker(n.repo.Path)
	if err != nil {
		// Lost track of the last attested epoch: attesting it again costs only duplicates,
		// which settlement counts once.
		n.log.Warn("storage attestations: starting afresh", "err", err)
	}
	t.grid = n.led.epochParams()
	n.attests = t
	cfg := n.repo.Config.Ledger
	every := min(cfg.EpochLength.D()/4, time.Minute)
	if d := cfg.StatementDelay.D() / 2; d > 0 {
		every = min(every, d)
	}
	n.runChore("attest storage", max(every, time.Second), func(ctx context.Context) {
		if _, err := n.attestPass(ctx, time.Now()); err != nil && ctx.Err() == nil {
			n.log.Warn("storage attestations", "err", err)
		}
	})
}

// openAttestTracker loads attest.json from the repo; on error it still returns a usable tracker
// that has attested nothing.
func openAttestTracker(repoPath string) (*attestTracker, error) {
	t := &attestTracker{path: filepath.Join(repoPath, attestFile), tallies: map[uint64]map[holderShard]auditTally{}}
	b, err := os.ReadFile(t.path)
	if errors.Is(err, fs.ErrNotExist) {
		return t, nil
	}
	if err == nil {
		err = json.Unmarshal(b, &t.state)
	}
	if err != nil {
		t.state = attestState{}
		return t, fmt.Errorf("read %s: %w", t.path, err)
	}
	return t, nil
}

// audited records an audit answer from h: per shard, passed or failed.
func (t *attestTracker) audited(h peer.ID, shards []cid.Cid, passed []bool, now time.Time) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, c := range shards {
		t.count(h, c, now, func(a *auditTally) {
			if passed[i] {
				a.passes = addSat(a.passes, 1)
			} else {
				a.fails = addSat(a.fails, 1)
			}
		})
	}
}

// missed records that h gave no usable answer to an audit of items.
func (t *attestTracker) missed(h peer.ID, items []transfer.AuditItem, now time.Time) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, it := range items {
		t.count(h, it.Shard, now, func(a *auditTally) { a.misses = addSat(a.misses, 1) })
	}
}

// count applies f to the tally of (h, c) in now's epoch; t.mu is held.
func (t *attestTracker) count(h peer.ID, c cid.Cid, now time.Time, f func(*auditTally)) {
	e, ok := t.grid.Of(now.Unix())
	if !ok {
		return // no grid yet: the first pass sets it
	}
	m := t.tallies[e]
	if m == nil {
		m = map[holderShard]auditTally{}
		t.tallies[e] = m
		for len(t.tallies) > maxAttestEpochs {
			delete(t.tallies, slices.Min(slices.Collect(maps.Keys(t.tallies))))
		}
	}
	k := holderShard{h, c}
	a, ok := m[k]
	if !ok && len(m) >= maxAttestTallies {
		return
	}
	f(&a)
	m[k] = a
}

// setGrid adopts the ledger's epoch grid; tallies kept under another grid are dropped.
func (t *attestTracker) setGrid(p payments.EpochParams) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p != t.grid {
		t.grid = p
		clear(t.tallies)
	}
}

// epoch returns a copy of epoch e's tallies.
func (t *attestTracker) epoch(e uint64) map[holderShard]auditTally {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.tallies[e])
}

// attested records in the repo that epoch e (ending at end) is attested, and drops its tallies
// and older ones: files no longer stewarded leave nothing behind. t.pass is held.
func (t *attestTracker) attested(e uint64, end int64) error {
	st := attestState{Epoch: e, End: end}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := config.WriteFileAtomic(t.path, append(b, '\n'), 0o600); err != nil {
		return err
	}
	t.state = st
	t.mu.Lock()
	defer t.mu.Unlock()
	maps.DeleteFunc(t.tallies, func(x uint64, _ map[holderShard]auditTally) bool { return x <= e })
	return nil
}

// attestPass signs, as of now, the storage attestations of the last closed epoch if this node
// has not yet: for each stewarded file it leads (attestLeader), what payments.PlanStorage
// decides from the file's signed record and this epoch's audit tallies. Epochs missed while
// the node was down are skipped: it has no audits of them. It returns how many it signed.
func (n *Node) attestPass(ctx context.Context, now time.Time) (int, error) {
	t := n.attests
	t.pass.Lock()
	defer t.pass.Unlock()
	grid := n.led.epochParams()
	t.setGrid(grid)
	cur, ok := grid.Of(now.Unix())
	if !ok || cur == 0 {
		return 0, nil
	}
	e := cur - 1
	_, end, err := grid.Bounds(e)
	if err != nil {
		return 0, err
	}
	if end <= t.state.End {
		return 0, nil
	}
	self := n.host.ID()
	if _, err := payments.PlanStorage(e, grid, []byte(self), nil); err != nil {
		// A grid no attestation can span: say so once per epoch, not on every round.
		return 0, errors.Join(err, t.attested(e, end))
	}
	tallies := t.epoch(e)
	alive := n.probeCache(ctx)
	var pending []any
	signed, files := 0, 0
	err = n.forEachStewarded(func(f stewardedFile) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !attestLeader(f, self, alive) {
			return nil
		}
		files++
		bodies, err := payments.PlanStorage(e, grid, []byte(self), []payments.FileEvidence{attestEvidence(f, tallies)})
		if err != nil {
			return err
		}
		for i := range bodies {
			pending = append(pending, &bodies[i])
		}
		if len(pending) >= attestChunk {
			k, err := n.appendAttestations(pending)
			signed, pending = signed+k, pending[:0]
			return err
		}
		return nil
	})
	if err == nil {
		var k int
		k, err = n.appendAttestations(pending)
		signed += k
	}
	if err != nil {
		return signed, fmt.Errorf("epoch %d: %w", e, err) // retried next round: duplicates count once
	}
	if err := t.attested(e, end); err != nil {
		return signed, err
	}
	if signed > 0 {
		n.log.Info("signed storage attestations", "epoch", e, "files", files, "attestations", signed)
	}
	return signed, nil
}

// appendAttestations signs and stores bodies, attestChunk per ledger write. A body the
// validator refuses is logged and skipped (PlanStorage should have left it out); any other
// failure stops.
func (n *Node) appendAttestations(bodies []any) (int, error) {
	signed := 0
	for len(bodies) > 0 {
		chunk := bodies[:min(len(bodies), attestChunk)]
		out, err := n.led.AppendOwn(payments.KindStorage, chunk...)
		signed += len(out)
		switch {
		case err == nil:
			bodies = bodies[len(chunk):]
		case payments.ReasonOf(err) != "" && len(out) < len(chunk):
			n.log.Warn("storage attestation refused", "err", err)
			bodies = bodies[len(out)+1:]
		default:
			return signed, err
		}
	}
	return signed, nil
}
