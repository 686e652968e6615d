package study

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/cairn-storage/cairn/payments"
	"github.com/cairn-storage/cairn/reputation"
	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/churn"
	"github.com/cairn-storage/cairn/sim/economy"
	"github.com/cairn-storage/cairn/sim/netmodel"
	"github.com/cairn-storage/cairn/sim/network"
	"github.com/cairn-storage/cairn/sim/scenario"
	"github.com/cairn-storage/cairn/sim/workload"
)

// StreamActors picks which live node uploads or downloads each workload arrival.
const StreamActors = "study/actors"

// EpochRow is one settled epoch: a row of economy.csv. Amounts are micro-units.
type EpochRow struct {
	Epoch                               uint64
	Root                                payments.Root
	Entries                             uint64
	Attestations, Receipts              int
	Charges, StorageCharges, Egress     payments.Amount
	Payouts, PartnerShares, Fee, Remain payments.Amount
	PayoutsByClass                      [network.NumClasses]payments.Amount
	OperatorsPaid                       int
	Partners                            []economy.PartnerAmount
}

// protocolStudy plays [protocol] with its workload and economy on the run's engine and churn.
type protocolStudy struct {
	eng     *sim.Engine
	net     *network.Network
	gen     *workload.Generator
	led     *economy.Ledger
	nm      *netmodel.Model // times downloads
	dlTime  latencyHist     // download times, ms
	drv     *churn.Driver
	rng     *rand.Rand
	served  []network.Served
	epochs  []EpochRow
	skipped int64 // workload arrivals with no live node to act, or nothing to download yet
	err     error
	kClose  sim.Kind
	nextEp  uint64
	lastEnd sim.Time
}

func newProtocolStudy(eng *sim.Engine, sc scenario.Scenario, streams sim.Streams) (*protocolStudy, error) {
	net, err := network.New(eng, *sc.Protocol, sc.Nodes, streams)
	if err != nil {
		return nil, fmt.Errorf("protocol: %w", err)
	}
	gen, err := workload.New(eng, *sc.Workload, streams)
	if err != nil {
		return nil, err
	}
	led, err := economy.New(*sc.Economy, streams)
	if err != nil {
		return nil, err
	}
	ncfg := scenario.DefaultNetwork()
	if sc.Network != nil {
		ncfg = *sc.Network
	}
	nm, err := netmodel.New(ncfg.Model(), streams, sc.Nodes)
	if err != nil {
		return nil, err
	}
	p := &protocolStudy{eng: eng, net: net, gen: gen, led: led, nm: nm, rng: streams.Named(StreamActors)}
	gen.OnUpload = p.upload
	gen.OnDownload = p.download
	if p.kClose, err = eng.Register("study.epoch", func(e *sim.Engine, ev sim.Event) { p.closeEpoch(e) }); err != nil {
		return nil, err
	}
	return p, nil
}

// start attaches the churn and schedules the workload and the first epoch close.
func (p *protocolStudy) start(eng *sim.Engine, drv *churn.Driver, end sim.Time) error {
	p.drv, p.lastEnd = drv, end
	if err := p.net.Attach(drv); err != nil {
		return err
	}
	arrive := drv.OnArrive
	drv.OnArrive = func(node int32, at sim.Time) {
		arrive(node, at)
		if err := p.nm.Grow(int(node) + 1); err != nil {
			p.fail(err)
		}
	}
	if err := p.gen.Start(0); err != nil {
		return err
	}
	return p.scheduleClose(eng)
}

func (p *protocolStudy) scheduleClose(eng *sim.Engine) error {
	at, ok := p.led.EpochEnd(p.nextEp)
	if !ok || at > p.lastEnd {
		return nil // the run ends first
	}
	return eng.Schedule(at, p.kClose, -1, 0)
}

// randomUp is a uniformly random node that is up, or -1 if a few hundred draws find none.
func (p *protocolStudy) randomUp() int32 {
	n := p.drv.Len()
	for range 256 {
		if i := int32(p.rng.IntN(n)); p.drv.IsUp(i) {
			return i
		}
	}
	return -1
}

func (p *protocolStudy) upload(at sim.Time, size int64, partner string) {
	u := p.randomUp()
	if u < 0 {
		p.skipped++
		return
	}
	// A failed upload (too few eligible nodes) is counted by the network and is part of the
	// result, not an error of the run.
	if _, err := p.net.Upload(at, u, size, partner); err != nil && !isTooFew(err) {
		p.fail(err)
	}
}

func (p *protocolStudy) download(at sim.Time, pick workload.Picker) {
	nf := p.net.Files()
	d := p.randomUp()
	if nf == 0 || d < 0 {
		p.skipped++
		return
	}
	f := pick(nf)
	var err error
	p.served, err = p.net.Download(at, d, f, p.served[:0])
	if errors.Is(err, network.ErrUnavailable) {
		return // counted by the network
	}
	if err != nil {
		p.fail(err)
		return
	}
	p.dlTime.add(1000 * p.downloadSeconds(d))
	fi := p.net.File(f)
	for _, s := range p.served {
		if s.Node == d {
			continue // a node reading its own shard writes no receipt, as node.Get
		}
		if err := p.led.Download(at, d, s.Node, uint64(f), fi.Owner, fi.Partner, s.Bytes, s.Bytes); err != nil {
			p.fail(err)
			return
		}
	}
}

// closeEpoch hands the ended epoch's evidence, as each file's leader steward would attest it,
// to the ledger's settlement and records the statement.
func (p *protocolStudy) closeEpoch(eng *sim.Engine) {
	e := p.nextEp
	ev := p.net.EpochEvidence(e)
	genesis := p.net.Config().Genesis
	sev := make([]economy.StewardEvidence, len(ev.Stewards))
	for i, st := range ev.Stewards {
		files := make([]economy.FileEvidence, len(st.Files))
		for j, f := range st.Files {
			hs := make([]economy.HolderEvidence, len(f.Holders))
			for k, h := range f.Holders {
				shards := make([]economy.Shard, len(h.Shards))
				for m, s := range h.Shards {
					shards[m] = economy.Shard{ID: uint64(s.Shard), Bytes: s.Bytes}
				}
				hs[k] = economy.HolderEvidence{Node: h.Holder, ReceiptTime: sim.Time((h.ReceiptTime - genesis) * int64(sim.Second)),
					Shards: shards, Passes: h.Passes, Fails: h.Fails, Misses: h.Misses}
			}
			files[j] = economy.FileEvidence{File: uint64(f.File), Owner: f.Owner, Partner: f.Partner, Holders: hs}
		}
		sev[i] = economy.StewardEvidence{Steward: st.Steward, Files: files}
	}
	res, err := p.led.CloseEpoch(e, sev)
	if err != nil {
		p.fail(fmt.Errorf("epoch %d: %w", e, err))
		return
	}
	row := EpochRow{Epoch: e, Root: res.Root, Entries: res.Entries, Attestations: res.Attestations, Receipts: res.Receipts,
		Charges: res.Charges, StorageCharges: res.StorageCharges, Egress: res.EgressCharges,
		Payouts: res.Payouts, PartnerShares: res.PartnerShares, Fee: res.Fee, Remain: res.Remainder,
		Partners: res.PartnerByID}
	for _, na := range res.PayoutByNode {
		row.PayoutsByClass[p.net.NodeClass(na.Node)] += na.Total()
		row.OperatorsPaid++
	}
	p.epochs = append(p.epochs, row)
	p.nextEp++
	if err := p.scheduleClose(eng); err != nil {
		p.fail(err)
	}
}

// fail keeps the first error and stops the run.
func (p *protocolStudy) fail(err error) {
	if p.err == nil {
		p.err = err
		p.eng.Stop()
	}
}

// Err is the first error of the study, the network's or the workload's.
func (p *protocolStudy) Err() error {
	return errors.Join(p.err, p.net.Err(), p.gen.Err())
}

func isTooFew(err error) bool {
	var tf *reputation.TooFewError
	return errors.As(err, &tf)
}

// downloadSeconds is how long the download just served takes over sim/netmodel's paths: each
// segment's K shards come in parallel (the slowest decides), segments one after another, each
// shard a round trip to ask plus its bytes at the slower of the holder's upload and the
// downloader's download rate. Conservative: node.Get overlaps the next segments' fetches, and
// a shard the downloader holds itself costs nothing.
func (p *protocolStudy) downloadSeconds(d int32) float64 {
	n := int32(p.net.Config().N)
	var total, seg float64
	cur := int32(-1)
	for _, s := range p.served {
		if g := s.Shard / n; g != cur {
			total += seg
			seg, cur = 0, g
		}
		if s.Node != d {
			seg = max(seg, p.nm.TransferTime(s.Node, d, s.Bytes))
		}
	}
	return total + seg
}
