package economy

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/payments"
	"github.com/cairn-storage/cairn/sim"
)

// Ledger is the simulated network's signed gossip ledger, reduced to what settlement reads:
// download receipts recorded as they happen, storage attestations planned at each epoch's close
// by payments.PlanStorage from the stewards' evidence, and partner registrations; each epoch is
// settled by payments.Settle, the node's own code, so the simulator adds no rule of its own
// between usage and money.
//
// Entries are built as the node builds them (node/usage_download.go, node/attest.go): the
// same bodies, authored by the downloader or steward, chained per author with payments.Next,
// timed as the node times them. They are not signed: Settle takes entries the caller has
// validated and never checks signatures or countersignatures, and the simulator trusts the
// entries it writes itself. What validation costs is measured by the payments package's
// benchmarks (BenchmarkValidate, BenchmarkEd25519Verify), not here;
// TestEntriesValidateOnceSigned checks that signatures are all these entries lack.
//
// Memory: pending receipts cost 56 bytes each until their epoch closes; an epoch's entries
// exist only during its CloseEpoch and are dropped once settled (a storage attestation counts
// only in the epoch it spans, a receipt in the epoch of its time, so no later epoch needs
// them). Per author the ledger keeps its chain head: 40 bytes indexed by node, and the
// 32-byte ID of its last entry.
type Ledger struct {
	cfg    Config
	params payments.SettleParams
	ids    *Identities

	registrations []payments.Entry // the partners', written at sim time 0
	heads         []chainHead      // per author node
	tags          map[string]int32 // partner tags seen in receipts, interned
	tagNames      []string

	pending    []receipt // receipts of epochs not yet closed, in recording order
	nonces     uint64
	closed     bool
	lastClosed uint64
	failed     error
	scratch    scratch
	// onEntries, if set (tests), sees each epoch's entries just before Settle.
	onEntries func(epoch uint64, entries []payments.Entry)
}

// chainHead is what the next entry of an author needs: payments.Next of its last entry, and
// that entry's time (an author's times never go back).
type chainHead struct {
	seq  uint64
	prev []byte
	time int64
}

// receipt is a download recorded and not yet settled.
type receipt struct {
	at                        int64 // unix seconds
	file                      uint64
	nonce                     uint64
	bytes, shardSize          int64
	downloader, server, owner int32
	tag                       int32 // index into tagNames; -1 = untagged
}

// New returns the ledger of a run under cfg (validated here), deriving keys from streams.
// Each configured partner is registered at sim time 0 by its own key, which is also its payout
// key.
func New(cfg Config, streams sim.Streams) (*Ledger, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l := &Ledger{cfg: cfg, params: cfg.settleParams(), ids: NewIdentities(streams), tags: make(map[string]int32)}
	for _, p := range cfg.Partners {
		key, err := l.ids.PartnerPeer(p.ID)
		if err != nil {
			return nil, err
		}
		body, err := payments.EncodeBody(&payments.Partner{ID: p.ID, Name: p.ID, Payout: key, ShareBPS: p.ShareBPS})
		if err != nil {
			return nil, fmt.Errorf("economy: partner %q: %w", p.ID, err)
		}
		seq, prev := payments.Next(nil)
		l.registrations = append(l.registrations, payments.Entry{Version: payments.Version, Kind: payments.KindPartner,
			Author: key, Seq: seq, Prev: prev, Time: cfg.Genesis, Body: body})
	}
	return l, nil
}

// Config is the ledger's configuration.
func (l *Ledger) Config() Config { return l.cfg }

// Identities maps node indices to the peer IDs the ledger names them by.
func (l *Ledger) Identities() *Identities { return l.ids }

// Params are the settlement parameters every CloseEpoch passes to payments.Settle.
func (l *Ledger) Params() payments.SettleParams { return l.params }

// EpochOf is the epoch sim time at falls in.
func (l *Ledger) EpochOf(at sim.Time) uint64 { return uint64(at) / uint64(l.cfg.Epoch) }

// EpochEnd is the sim time epoch e ends (the next one's start); false if it is past virtual
// time.
func (l *Ledger) EpochEnd(e uint64) (sim.Time, bool) {
	if e >= uint64(sim.MaxTime)/uint64(l.cfg.Epoch) {
		return 0, false
	}
	return sim.Time((e + 1) * uint64(l.cfg.Epoch)), true
}

// Pending is the number of receipts recorded and not yet settled.
func (l *Ledger) Pending() int { return len(l.pending) }

// unix is sim time at in unix seconds.
func (l *Ledger) unix(at sim.Time) int64 { return l.cfg.Genesis + int64(at/sim.Time(sim.Second)) }

// Download records downloader's receipt for bytes of a shard of file served by server, as the
// node writes one after a get (node/usage_download.go): owner and partner are the manifest's,
// shardSize the shard's size (the node sets Bytes = ShardSize for whole shards). The receipt
// counts in the epoch of at, charged to owner and paid to server; it names a synthetic shard
// derived from (file, server), which settlement does not read. Receipts of an epoch must be
// recorded before it closes.
func (l *Ledger) Download(at sim.Time, downloader, server int32, file uint64, owner int32, partner string, bytes, shardSize int64) error {
	if l.failed != nil {
		return l.failed
	}
	switch {
	case at < 0:
		return fmt.Errorf("economy: download at %v, before the run", at)
	case l.closed && l.EpochOf(at) <= l.lastClosed:
		return fmt.Errorf("economy: download at %v in epoch %d, already closed", at, l.EpochOf(at))
	case downloader < 0 || downloader >= MaxNodes || server < 0 || server >= MaxNodes || owner < 0 || owner >= MaxNodes:
		return fmt.Errorf("economy: download nodes %d (downloader), %d (server), %d (owner): want 0..%d", downloader, server, owner, MaxNodes-1)
	case downloader == server:
		return fmt.Errorf("economy: node %d receipts a download from itself (the ledger refuses it; the node reads its own shards without a receipt)", server)
	case shardSize < 1 || shardSize > payments.MaxShardSize || bytes < 1 || bytes > shardSize:
		return fmt.Errorf("economy: download of %d bytes of a %d-byte shard: want 1 <= bytes <= shard size <= %d", bytes, shardSize, payments.MaxShardSize)
	}
	tag, err := l.tag(partner)
	if err != nil {
		return err
	}
	l.nonces++
	l.pending = append(l.pending, receipt{at: l.unix(at), file: file, nonce: l.nonces, bytes: bytes, shardSize: shardSize,
		downloader: downloader, server: server, owner: owner, tag: tag})
	return nil
}

// tag interns a partner tag, checking it once as node/manifest does.
func (l *Ledger) tag(p string) (int32, error) {
	if p == "" {
		return -1, nil
	}
	if i, ok := l.tags[p]; ok {
		return i, nil
	}
	if err := manifest.CheckPartner(p); err != nil {
		return 0, fmt.Errorf("economy: %w", err)
	}
	i := int32(len(l.tagNames))
	l.tags[p] = i
	l.tagNames = append(l.tagNames, p)
	return i, nil
}

// appendEntry appends author's next entry of kind, at time t or its previous entry's time if
// later, as the node's Ledger.appendOwn does (without the signature).
func (l *Ledger) appendEntry(entries []payments.Entry, author int32, kind payments.Kind, t int64, body []byte) ([]payments.Entry, error) {
	key, err := l.ids.Peer(author)
	if err != nil {
		return entries, err
	}
	if int(author) >= len(l.heads) {
		l.heads = append(l.heads, make([]chainHead, int(author)+1-len(l.heads))...)
	}
	h := &l.heads[author]
	seq, prevID := payments.Next(nil)
	if h.seq > 0 {
		seq, prevID = h.seq, h.prev
		t = max(t, h.time)
	}
	entries = append(entries, payments.Entry{Version: payments.Version, Kind: kind, Author: key, Seq: seq, Prev: prevID, Time: t, Body: body})
	if h.seq, h.prev = payments.Next(&entries[len(entries)-1]); h.seq == 0 {
		return entries, errors.New("economy: an entry does not encode")
	}
	h.time = t
	return entries, nil
}

// downloadBody is the receipt the node's downloadBodies writes, before the countersignature.
func (l *Ledger) downloadBody(r *receipt) (*payments.Download, error) {
	server, err := l.ids.Peer(r.server)
	if err != nil {
		return nil, err
	}
	owner, err := l.ids.Peer(r.owner)
	if err != nil {
		return nil, err
	}
	downloader, err := l.ids.Peer(r.downloader)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, payments.NonceSize)
	binary.BigEndian.PutUint64(nonce, r.nonce) // unique per receipt, so no two bodies are equal
	d := &payments.Download{Server: server, Manifest: ManifestCID(r.file),
		Shard: servedShardCID(r.file, r.server), Owner: owner,
		Bytes: r.bytes, ShardSize: r.shardSize, Nonce: nonce, Downloader: downloader}
	if r.tag >= 0 {
		d.Partner = l.tagNames[r.tag]
	}
	return d, nil
}
