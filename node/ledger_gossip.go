package node

import (
	"context"
	"encoding/hex"
	"time"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/ledgersync"
	"github.com/cairn-storage/cairn/payments"
	"github.com/libp2p/go-libp2p/core/peer"
	"lukechampine.com/blake3"
)

// ledgerStore is the ledger as ledgersync sees it.
type ledgerStore struct{ l *Ledger }

func (s ledgerStore) Add(bs [][]byte) []error { return s.l.AddEntries(bs) }

func (s ledgerStore) Heads() ([]ledgersync.Head, error) {
	hs, err := s.l.Heads()
	out := make([]ledgersync.Head, len(hs))
	for i, h := range hs {
		out[i] = ledgersync.Head{Author: h.Author, Seq: h.Seq}
	}
	return out, err
}

func (s ledgerStore) Range(author []byte, from uint64, limit int) ([][]byte, error) {
	return s.l.Range(author, from, limit)
}

// startGossip joins the ledger's gossip and anti-entropy and publishes this node's own new
// entries as the ledger stores them.
func (n *Node) startGossip() error {
	cfg := n.repo.Config
	g, err := ledgersync.New(n.ctx, n.host, ledgerStore{n.led}, ledgersync.Config{
		Topic:        ledgersync.DefaultTopic,
		SyncProtocol: ledgersync.DefaultSyncProtocol,
		SyncInterval: cfg.Ledger.Sync.D(),
		Logger:       n.log.With("part", "ledger"),
	})
	if err != nil {
		return err
	}
	n.gossip = g
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for {
			select {
			case <-n.ctx.Done():
				return
			case b := <-n.led.Outbox():
				ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
				if err := g.Publish(ctx, b); err != nil && n.ctx.Err() == nil {
					n.log.Debug("publish ledger entry", "err", err) // anti-entropy carries it
				}
				cancel()
			}
		}
	}()
	return nil
}

// explainDisagreement first runs anti-entropy with each disagreeing node this node can reach
// and settles again (a statement signed before every entry arrived is the common cause), then
// lists the entries each side still holds that the other does not.
func (n *Node) explainDisagreement(ctx context.Context, res *api.VerifyResult) {
	if n.gossip == nil {
		for _, s := range res.Statements {
			if !s.Agrees {
				res.Unreachable = append(res.Unreachable, s.Author)
			}
		}
		return
	}
	const maxPeers = 4
	asked := 0
	for _, s := range res.Statements {
		if s.Agrees {
			continue
		}
		p, err := peer.Decode(s.Author)
		if asked++; err != nil || asked > maxPeers {
			res.Unreachable = append(res.Unreachable, s.Author)
			continue
		}
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		n.gossip.SyncWith(ctx, p) // best effort: what it brings is validated like any entry
		diffs, err := n.gossip.CompareHeads(ctx, p)
		cancel()
		if err != nil {
			res.Unreachable = append(res.Unreachable, s.Author)
			continue
		}
		n.describeDifferences(res, s.Author, diffs)
	}
	// This node's own root may have moved with what the syncs brought: report it afresh.
	if again, err := n.led.verifyLocal(&res.Epoch); err == nil {
		res.Root, res.Entries, res.Agree, res.Agreeing, res.Statements = again.Root, again.Entries, again.Agree, again.Agreeing, again.Statements
	}
}

// describeDifferences adds, up to api.MaxVerifyDifferences, the entries behind diffs: those
// this node holds and the peer does not are described from the ledger; those only the peer
// holds (or that this node refused) are named by author and Seq.
func (n *Node) describeDifferences(res *api.VerifyResult, p string, diffs []ledgersync.HeadDiff) {
	room := func() bool { return len(res.Differences) < api.MaxVerifyDifferences }
	for _, d := range diffs {
		author := peer.ID(d.Author).String()
		for seq := d.Ours + 1; seq <= d.Theirs && room(); seq++ {
			res.Differences = append(res.Differences, api.EntryDifference{Peer: p, Side: "missing_here", Author: author, Seq: seq})
		}
		if d.Ours <= d.Theirs || !room() {
			continue
		}
		bs, err := n.led.Range(d.Author, d.Theirs+1, min(int(d.Ours-d.Theirs), api.MaxVerifyDifferences))
		if err != nil {
			continue
		}
		for _, b := range bs {
			if !room() {
				break
			}
			e, err := payments.Decode(b)
			if err != nil {
				continue
			}
			id := blake3.Sum256(b)
			res.Differences = append(res.Differences, api.EntryDifference{Peer: p, Side: "missing_there", Author: author,
				Seq: e.Seq, Kind: kindNames[e.Kind], Time: e.Time, ID: hex.EncodeToString(id[:])})
		}
	}
}

// LedgerPeerScore is p's gossipsub score at this node (0 with the ledger off): negative once p
// sent invalid entries.
func (n *Node) LedgerPeerScore(p peer.ID) float64 {
	if n.gossip == nil {
		return 0
	}
	return n.gossip.PeerScore(p)
}
