package study

import (
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"strconv"

	"github.com/cairn-storage/cairn/payments"
	"github.com/cairn-storage/cairn/sim/economy"
	"github.com/cairn-storage/cairn/sim/network"
)

// Files of the protocol study (with [protocol]).
const (
	FileProtocol      = "protocol.csv" // network.Sample rows (deterministic)
	FileEconomy       = "economy.csv"  // one row per settled epoch (deterministic)
	FileRepairPNG     = "repair.png"   // repair traffic over time
	FileLostPNG       = "lost.png"     // segments and files lost over time, with repair
	FileStoredPNG     = "stored.png"   // stored bytes per live node at the end, with the Gini
	FileReputationPNG = "reputation.png"
	FilePayoutsPNG    = "payouts.png"
)

// ProtocolSummary is summary.json's "protocol": the network model's summary, the workload
// as it ran, and the settlement totals over every closed epoch.
type ProtocolSummary struct {
	Network  network.Summary `json:"network"`
	Workload WorkloadSummary `json:"workload"`
	Economy  EconomySummary  `json:"economy"`
}

// WorkloadSummary counts the workload's arrivals; Skipped ones found no live node to act
// (or, for downloads, no file yet).
type WorkloadSummary struct {
	Uploads   uint64 `json:"uploads"`
	Downloads uint64 `json:"downloads"`
	Skipped   int64  `json:"skipped"`
	// DownloadMS is the time of the downloads served, over sim/netmodel's latency and
	// bandwidth (protocol.go's downloadSeconds).
	DownloadMS *LatencyStats `json:"download_ms,omitempty"`
}

// EconomySummary sums the epochs' statements. Amounts are micro-units; Conserved checks
// charges = payouts + partner shares + fee + remainder over the whole run.
type EconomySummary struct {
	Epochs         int                        `json:"epochs"`
	LastRoot       string                     `json:"last_root,omitempty"`
	Charges        payments.Amount            `json:"charges"`
	StorageCharges payments.Amount            `json:"storage_charges"`
	EgressCharges  payments.Amount            `json:"egress_charges"`
	Payouts        payments.Amount            `json:"payouts"`
	PartnerShares  payments.Amount            `json:"partner_shares"`
	Fee            payments.Amount            `json:"fee"`
	Remainder      payments.Amount            `json:"remainder"`
	Conserved      bool                       `json:"conserved"`
	PayoutsByClass map[string]payments.Amount `json:"payouts_by_class"`
	Partners       []PartnerTotal             `json:"partners"`
}

// PartnerTotal is one registered partner's share over the run, against its tagged revenue.
type PartnerTotal struct {
	ID            string          `json:"id"`
	ShareBPS      uint32          `json:"share_bps"`
	TaggedRevenue payments.Amount `json:"tagged_revenue"`
	Amount        payments.Amount `json:"amount"`
}

func (p *protocolStudy) summary(partners []economy.Partner) *ProtocolSummary {
	s := &ProtocolSummary{Network: p.net.Summary(),
		Workload: WorkloadSummary{Uploads: p.gen.Uploads(), Downloads: p.gen.Downloads(), Skipped: p.skipped}}
	if p.dlTime.n > 0 {
		s.Workload.DownloadMS = p.dlTime.stats()
	}
	e := &s.Economy
	e.Epochs = len(p.epochs)
	e.PayoutsByClass = map[string]payments.Amount{}
	byID := map[string]*PartnerTotal{}
	for _, pt := range partners {
		e.Partners = append(e.Partners, PartnerTotal{ID: pt.ID, ShareBPS: pt.ShareBPS})
	}
	for i := range e.Partners {
		byID[e.Partners[i].ID] = &e.Partners[i]
	}
	for _, r := range p.epochs {
		e.Charges += r.Charges
		e.StorageCharges += r.StorageCharges
		e.EgressCharges += r.Egress
		e.Payouts += r.Payouts
		e.PartnerShares += r.PartnerShares
		e.Fee += r.Fee
		e.Remainder += r.Remain
		for c, a := range r.PayoutsByClass {
			e.PayoutsByClass[network.Class(c).String()] += a
		}
		for _, pa := range r.Partners {
			if t := byID[pa.ID]; t != nil {
				t.Amount += pa.Amount
				t.TaggedRevenue += pa.TaggedRevenue
			}
		}
		e.LastRoot = hex.EncodeToString(r.Root[:])
	}
	e.Conserved = e.Charges == e.Payouts+e.PartnerShares+e.Fee+e.Remainder
	return s
}

// ProtocolCSV is protocol.csv's bytes (nil without [protocol]).
func (r *Result) ProtocolCSV() []byte {
	if r.protocol == nil {
		return nil
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(network.SampleHeader())
	for _, s := range r.protocol.net.Samples() {
		_ = w.Write(s.Record())
	}
	w.Flush()
	return b.Bytes()
}

// EconomyCSV is economy.csv's bytes (nil without [protocol]): per epoch the statement's
// root and totals, operator payouts by node class and each registered partner's share.
func (r *Result) EconomyCSV() []byte {
	if r.protocol == nil {
		return nil
	}
	partners := r.Scenario.Economy.Partners
	head := []string{"epoch", "root", "entries", "attestations", "receipts", "charges", "storage_charges",
		"egress_charges", "payouts", "partner_shares", "fee", "remainder", "operators_paid"}
	for c := range network.NumClasses {
		head = append(head, "payouts_"+network.Class(c).String())
	}
	for _, pt := range partners {
		head = append(head, "partner_"+pt.ID)
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(head)
	a := func(v payments.Amount) string { return strconv.FormatInt(int64(v), 10) }
	for _, e := range r.protocol.epochs {
		row := []string{strconv.FormatUint(e.Epoch, 10), hex.EncodeToString(e.Root[:]), strconv.FormatUint(e.Entries, 10),
			strconv.Itoa(e.Attestations), strconv.Itoa(e.Receipts), a(e.Charges), a(e.StorageCharges), a(e.Egress),
			a(e.Payouts), a(e.PartnerShares), a(e.Fee), a(e.Remain), strconv.Itoa(e.OperatorsPaid)}
		for _, v := range e.PayoutsByClass {
			row = append(row, a(v))
		}
		for _, pt := range partners {
			var v payments.Amount
			for _, pa := range e.Partners {
				if pa.ID == pt.ID {
					v = pa.Amount
				}
			}
			row = append(row, a(v))
		}
		_ = w.Write(row)
	}
	w.Flush()
	return b.Bytes()
}

// ProtocolLine is the protocol study's summary `cairn sim` prints, or "".
func (r *Result) ProtocolLine() string {
	s := r.Summary.Protocol
	if s == nil {
		return ""
	}
	n := s.Network
	line := "protocol: " + strconv.Itoa(n.Files) + " files, " + strconv.Itoa(n.SegmentsLost) + " of " +
		strconv.Itoa(n.Segments) + " segments lost; repair read " + gib(n.RepairBytesRead) + " and wrote " +
		gib(n.RepairBytesWritten) + "; audits " + strconv.FormatInt(n.AuditPass, 10) + " passed, " +
		strconv.FormatInt(n.AuditFail, 10) + " failed, " + strconv.FormatInt(n.AuditMiss, 10) + " missed; Gini " +
		strconv.FormatFloat(n.Gini, 'f', 3, 64)
	for _, c := range n.Classes {
		if c.Class == network.Honest.String() || c.TurnedBad == 0 {
			continue
		}
		line += "; " + c.Class + " detected " + strconv.Itoa(c.Detected) + "/" + strconv.Itoa(c.TurnedBad) +
			" (median " + c.TTDMedian.String() + ")"
	}
	if d := s.Workload.DownloadMS; d != nil {
		line += "\ndownloads: " + strconv.FormatInt(n.Downloads-n.DownloadsFailed, 10) + " served, " +
			strconv.FormatInt(n.DownloadsFailed, 10) + " failed; time p50 " + secs(d.P50) + ", p95 " + secs(d.P95) +
			", p99 " + secs(d.P99)
	}
	e := s.Economy
	return line + "\neconomy: " + strconv.Itoa(e.Epochs) + " epochs settled; charges " + units(e.Charges) +
		", operators " + units(e.Payouts) + ", partners " + units(e.PartnerShares) + ", fee " + units(e.Fee) +
		", remainder " + strconv.FormatInt(int64(e.Remainder), 10) + " micro-units (conserved: " +
		strconv.FormatBool(e.Conserved) + ")"
}

func gib(b int64) string { return strconv.FormatFloat(float64(b)/(1<<30), 'f', 1, 64) + " GiB" }

// units formats micro-units as whole units with six decimals.
func units(a payments.Amount) string {
	v := int64(a)
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return sign + strconv.FormatInt(v/1_000_000, 10) + "." + leftPad(strconv.FormatInt(v%1_000_000, 10), 6)
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

func secs(ms float64) string { return strconv.FormatFloat(ms/1000, 'f', 2, 64) + " s" }
