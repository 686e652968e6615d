package testnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	cdht "github.com/cairn-storage/cairn/dht"
	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/libp2p/go-libp2p"
	kad "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	tls "github.com/libp2p/go-libp2p/p2p/security/tls"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

// Adversary is a real libp2p host, with its own identity, listening on TCP on one loopback
// address, that speaks Cairn's protocols badly on purpose. Several adversaries on one IP are
// Sybils: many identities from one subnet. Unlike a node it has no resource limits of its own.
type Adversary struct {
	Host host.Host
	// Trickle is how often a flooding stream sends one more body byte after a go-ahead;
	// 0 stalls (sends nothing more). Either way it reads at most 512 bytes a second.
	Trickle time.Duration
	// Fill, if set, is how many body bytes a flooding stream sends at full speed after a go-ahead
	// and before it trickles or stalls, so the target actually buffers them (e.g. the claimed
	// size minus one).
	Fill func(protocol.ID) int64
	dht  *kad.IpfsDHT
}

// NewAdversary starts an adversary with a fresh key on ip (e.g. "127.0.200.1"); it is closed on
// t's cleanup.
func NewAdversary(t testing.TB, ip string) *Adversary {
	t.Helper()
	a, err := StartAdversary(ip)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// StartAdversary starts an adversary with a fresh key on ip, outside a test (e.g. for a
// benchmark); the caller closes it.
func StartAdversary(ip string) (*Adversary, error) {
	priv, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		return nil, err
	}
	h, err := libp2p.New(
		libp2p.Identity(priv),
		// Listening on ip makes outgoing TCP dials leave from ip (port reuse), so targets see
		// the adversary's own address and subnet.
		libp2p.ListenAddrStrings("/ip4/"+ip+"/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(tls.ID, tls.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ResourceManager(&network.NullResourceManager{}),
		libp2p.DisableRelay(),
		libp2p.UserAgent("cairn-adversary"),
	)
	if err != nil {
		return nil, fmt.Errorf("adversary on %s: %w", ip, err)
	}
	return &Adversary{Host: h, Trickle: time.Second}, nil
}

// Close stops the adversary's DHT and host.
func (a *Adversary) Close() error {
	var errs []error
	if a.dht != nil {
		errs = append(errs, a.dht.Close())
	}
	return errors.Join(append(errs, a.Host.Close())...)
}

// ID is the adversary's peer ID.
func (a *Adversary) ID() peer.ID { return a.Host.ID() }

// AddrInfo is how others reach the adversary.
func (a *Adversary) AddrInfo() peer.AddrInfo {
	return peer.AddrInfo{ID: a.Host.ID(), Addrs: a.Host.Addrs()}
}

// Connect dials ai.
func (a *Adversary) Connect(ctx context.Context, ai peer.AddrInfo) error {
	if err := a.Host.Connect(ctx, ai); err != nil {
		return fmt.Errorf("adversary %s connect to %s: %w", a.ID().ShortString(), ai.ID.ShortString(), err)
	}
	return nil
}

// JoinDHT runs a server-mode DHT under prefix (e.g. "/cairn") through boot, so nodes route to
// the adversary and it can answer or poison lookups. It returns once the routing table holds
// every boot peer (or ctx ends; at most 10 s).
func (a *Adversary) JoinDHT(ctx context.Context, prefix string, boot ...peer.AddrInfo) (*kad.IpfsDHT, error) {
	d, err := cdht.New(a.Host, cdht.Config{Prefix: prefix, Bootstrap: boot})
	if err != nil {
		return nil, fmt.Errorf("adversary dht: %w", err)
	}
	a.dht = d
	for _, b := range boot {
		if err := a.Connect(ctx, b); err != nil {
			return nil, err
		}
	}
	if err := d.Bootstrap(ctx); err != nil {
		return nil, fmt.Errorf("adversary dht bootstrap: %w", err)
	}
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for d.RoutingTable().Size() < len(boot) {
		select {
		case <-wait.Done():
			return nil, fmt.Errorf("adversary dht: %d of %d boot peers in the routing table: %w", d.RoutingTable().Size(), len(boot), wait.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return d, nil
}

// Stream opens a raw stream to target on proto, for attacks that speak the protocol directly
// with wire.Write and wire.Read. The caller closes or resets it.
func (a *Adversary) Stream(ctx context.Context, target peer.ID, proto protocol.ID) (network.Stream, error) {
	s, err := a.Host.NewStream(ctx, target, proto)
	if err != nil {
		return nil, fmt.Errorf("adversary stream %s to %s: %w", proto, target.ShortString(), err)
	}
	return s, nil
}

// FloodCounts is what became of one protocol's flooding streams.
type FloodCounts struct {
	NotOpened int            // the stream could not even be opened
	Reset     int            // reset or closed before any answer: the resource manager refused it
	Refused   map[string]int // answered with a failed status, by code (e.g. "busy")
	Accepted  int            // answered OK: given a go-ahead, or served
	Ended     int            // of Accepted, closed or reset by the target before the flood ended
	Held      int            // of Accepted, still open when the flood ended
}

// FloodReport is a Flood's outcome per protocol.
type FloodReport map[protocol.ID]*FloodCounts

// Total sums the counts over every protocol.
func (r FloodReport) Total() FloodCounts {
	t := FloodCounts{Refused: map[string]int{}}
	for _, c := range r {
		t.add(c)
	}
	return t
}

// Merge adds o's counts into r (e.g. the reports of several Sybils).
func (r FloodReport) Merge(o FloodReport) {
	for p, c := range o {
		t := r[p]
		if t == nil {
			t = &FloodCounts{Refused: map[string]int{}}
			r[p] = t
		}
		t.add(c)
	}
}

func (t *FloodCounts) add(c *FloodCounts) {
	t.NotOpened += c.NotOpened
	t.Reset += c.Reset
	t.Accepted += c.Accepted
	t.Ended += c.Ended
	t.Held += c.Held
	for code, n := range c.Refused {
		t.Refused[code] += n
	}
}

func (c FloodCounts) String() string {
	return fmt.Sprintf("not opened %d, reset %d, refused %v, accepted %d (ended %d, held %d)",
		c.NotOpened, c.Reset, c.Refused, c.Accepted, c.Ended, c.Held)
}

type outcome int

const (
	notOpened outcome = iota
	reset
	refused
	ended
	held
)

// Flood opens streamsPerProto concurrent streams to target on each of protos, sends on each the
// header claim(proto) (typically claiming the largest allowed body), and then, once answered
// OK, sends Fill bytes, then trickles (Trickle) or stalls, reading at most 512 bytes a second,
// until ctx ends or the target ends the stream. It returns when every stream is done, and resets all that are still open.
func (a *Adversary) Flood(ctx context.Context, target peer.ID, protos []protocol.ID, streamsPerProto int, claim func(protocol.ID) any) FloodReport {
	rep := FloodReport{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, proto := range protos {
		rep[proto] = &FloodCounts{Refused: map[string]int{}}
		for range streamsPerProto {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, code := a.floodOne(ctx, target, proto, claim(proto))
				mu.Lock()
				defer mu.Unlock()
				c := rep[proto]
				switch out {
				case notOpened:
					c.NotOpened++
				case reset:
					c.Reset++
				case refused:
					c.Refused[code]++
				case ended:
					c.Accepted++
					c.Ended++
				case held:
					c.Accepted++
					c.Held++
				}
			}()
		}
	}
	wg.Wait()
	return rep
}

func (a *Adversary) floodOne(ctx context.Context, target peer.ID, proto protocol.ID, hdr any) (outcome, string) {
	s, err := a.Host.NewStream(ctx, target, proto)
	if err != nil {
		return notOpened, ""
	}
	defer s.Reset()
	stop := context.AfterFunc(ctx, func() { _ = s.Reset() })
	defer stop()
	if err := wire.Write(s, hdr); err != nil {
		return reset, ""
	}
	var resp map[string]any
	if err := wire.Read(s, &resp); err != nil {
		return reset, ""
	}
	if ok, _ := resp["ok"].(bool); !ok {
		code, _ := resp["code"].(string)
		return refused, code
	}
	if a.Fill != nil {
		if _, err := io.CopyN(s, zeros{}, a.Fill(proto)); err != nil {
			return outcomeAfter(ctx), ""
		}
	}
	// Trickle (or stall) and, once per tick, peek whether the target has ended the stream: a
	// write to a stream the target closed may still succeed, a read sees it. Reading 512 bytes
	// a tick also makes this a very slow reader of anything the target serves.
	every, write := a.Trickle, a.Trickle > 0
	if !write {
		every = time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	buf := make([]byte, 512)
	for {
		select {
		case <-ctx.Done():
			return held, ""
		case <-tick.C:
		}
		if write {
			if _, err := s.Write([]byte{0}); err != nil {
				return outcomeAfter(ctx), ""
			}
		}
		_ = s.SetReadDeadline(time.Now().Add(time.Millisecond))
		if _, err := s.Read(buf); err != nil && !isTimeout(err) {
			return outcomeAfter(ctx), ""
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// outcomeAfter classifies a stream that ended after an OK answer: ended by the target, or
// held until the flood ended.
func outcomeAfter(ctx context.Context) outcome {
	if ctx.Err() != nil {
		return held
	}
	return ended
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// MaxClaim is the nastiest well-formed request header for proto: a valid-looking CID and the
// largest body the protocol allows, so a handler gets as far as reserving memory for it.
func MaxClaim(proto protocol.ID) any {
	c := codec.ShardCID([]byte("flood")).String()
	hex32 := strings.Repeat("ab", 32)
	switch proto {
	case transfer.ProtoShardPut:
		return transfer.ShardPutReq{CID: c, Size: transfer.MaxShard, DeleteHash: hex32}
	case transfer.ProtoShardGet:
		return transfer.ShardGetReq{CID: c}
	case transfer.ProtoShardHas:
		cids := make([]string, transfer.MaxHasBatch)
		for i := range cids {
			cids[i] = c
		}
		return transfer.HasReq{CIDs: cids}
	case transfer.ProtoShardDelete, transfer.ProtoManifestDel:
		return transfer.DeleteReq{CID: c, Token: hex32}
	case transfer.ProtoManifestPut:
		return transfer.ManifestPutReq{CID: c, Size: transfer.MaxManifest, LocationsLen: transfer.MaxLocations}
	case transfer.ProtoManifestGet:
		return transfer.ManifestGetReq{CID: c}
	case transfer.ProtoShardReceipt:
		return map[string]any{"manifest": c, "count": transfer.MaxReceiptShards}
	case transfer.ProtoManifestTombstone:
		return map[string]any{"cid": c, "len": transfer.MaxLocations}
	default:
		return transfer.InfoReq{}
	}
}

// MaxFill is how many body bytes Fill should send for proto so the target holds the most it
// can: the claimed in-memory body minus one byte. Bodies that stream to disk (shard puts) get 0.
func MaxFill(proto protocol.ID) int64 {
	switch proto {
	case transfer.ProtoManifestPut:
		return transfer.MaxManifest + transfer.MaxLocations - 1
	case transfer.ProtoManifestTombstone:
		return transfer.MaxLocations - 1
	case transfer.ProtoShardReceipt:
		return transfer.MaxReceiptShards*(4+32+32) - 1 // position, digest, delete hash per item
	}
	return 0
}
