package network

import (
	"math"
	"slices"
	"strconv"
	"unsafe"

	"github.com/cairn-storage/cairn/reputation"
	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/churn"
)

// Sample is the network at one instant; the interval counts cover the time since the
// previous sample.
type Sample struct {
	At                         sim.Time
	Up, Live                   int // nodes up; nodes not departed
	Files, Segments            int
	SegmentsLost, FilesLost    int // so far
	Uploads, UploadsFailed     int64
	Downloads, DownloadsFailed int64
	RepairBytesRead            int64 // K shards read per rebuilt segment
	RepairBytesWritten         int64
	ShardsRebuilt              int64
	RepairsFailed              int64 // segment repairs abandoned: a read found no bytes
	Handovers                  int64 // steward replacements
	AuditPass, AuditFail       int64
	AuditMiss                  int64 // items of audits that got no answer
	CopiesLost                 int64 // listed copies whose holder lost the bytes
	// Per class (Honest, DataDropping, AuditCheating, Sybil), over live nodes: how many, their
	// mean audit score (Record.Score in the shared book, 0 when the class has none), how many
	// are disqualified and suspended now; Detected counts every node of the class ever
	// disqualified, departed or not.
	Nodes        [NumClasses]int
	MeanScore    [NumClasses]float64
	Disqualified [NumClasses]int
	Suspended    [NumClasses]int
	Detected     [NumClasses]int
	// Gini is the Gini coefficient of the bytes stored (listed) per live node; StoredBytes
	// their sum.
	Gini        float64
	StoredBytes int64
}

// Samples are the samples taken so far.
func (n *Network) Samples() []Sample { return n.samples }

func (n *Network) sample() {
	t := n.Unix(n.now())
	iv := n.interval
	s := Sample{At: n.now(), Up: len(n.upList), Live: n.live, Files: len(n.fKey), Segments: len(n.segFile),
		SegmentsLost: n.segsLost, FilesLost: n.filesLost,
		Uploads: iv.Uploads, UploadsFailed: iv.UploadsFailed, Downloads: iv.Downloads, DownloadsFailed: iv.DownloadsFailed,
		RepairBytesRead: iv.RepairBytesRead, RepairBytesWritten: iv.RepairBytesWritten, ShardsRebuilt: iv.ShardsRebuilt,
		RepairsFailed: iv.RepairsFailed, Handovers: iv.Handovers,
		AuditPass: iv.AuditPass, AuditFail: iv.AuditFail, AuditMiss: iv.AuditMiss, CopiesLost: iv.CopiesLost}
	n.interval = counters{}
	var score [NumClasses]float64
	for i := range int32(n.Len()) {
		c := n.class[i]
		if n.dqAt[i] != never {
			s.Detected[c]++
		}
		if n.state[i] == churn.Gone {
			continue
		}
		s.Nodes[c]++
		r := n.book.get(i)
		score[c] += float64(r.Score()) / float64(reputation.One)
		switch n.params.Status(r, t) {
		case reputation.Disqualified:
			s.Disqualified[c]++
		case reputation.Suspended:
			s.Suspended[c]++
		}
	}
	for c := range NumClasses {
		if s.Nodes[c] > 0 {
			s.MeanScore[c] = score[c] / float64(s.Nodes[c])
		}
	}
	s.Gini, s.StoredBytes = n.storedGini()
	n.samples = append(n.samples, s)
	if n.OnSample != nil {
		n.OnSample(s)
	}
}

// storedGini is the Gini coefficient and total of the bytes live nodes store.
func (n *Network) storedGini() (float64, int64) {
	n.scratch.gini = n.StoredBytes(n.scratch.gini[:0])
	v := n.scratch.gini
	slices.Sort(v)
	var sum int64
	for _, x := range v {
		sum += x
	}
	return giniSorted(v), sum
}

// StoredBytes appends the bytes each live node stores (is listed for), in node order: for a
// histogram of storage per node.
func (n *Network) StoredBytes(dst []int64) []int64 {
	for i, u := range n.used {
		if n.state[i] != churn.Gone {
			dst = append(dst, u)
		}
	}
	return dst
}

// Gini is the Gini coefficient of values (non-negative): 0 when all are equal, towards 1 when
// one holds everything; 0 for no values or a zero sum. values is not modified.
func Gini(values []int64) float64 {
	v := slices.Clone(values)
	slices.Sort(v)
	return giniSorted(v)
}

// giniSorted is Gini of ascending v: Σ(2i − n − 1)·x_i / (n·Σx), i from 1.
func giniSorted(v []int64) float64 {
	nv := len(v)
	var sum, weighted float64
	for i, x := range v {
		sum += float64(x)
		weighted += float64(2*(i+1)-nv-1) * float64(x)
	}
	if nv == 0 || sum <= 0 {
		return 0
	}
	return weighted / (float64(nv) * sum)
}

// SampleHeader names the columns of Sample.Record, for a CSV file.
func SampleHeader() []string {
	h := []string{"time_h", "up", "live", "files", "segments", "segments_lost", "files_lost",
		"uploads", "uploads_failed", "downloads", "downloads_failed",
		"repair_bytes_read", "repair_bytes_written", "shards_rebuilt", "repairs_failed", "handovers",
		"audit_pass", "audit_fail", "audit_miss", "copies_lost"}
	for _, col := range []string{"nodes", "mean_score", "disqualified", "suspended", "detected"} {
		for c := range NumClasses {
			h = append(h, col+"_"+classNames[c])
		}
	}
	return append(h, "gini", "stored_bytes")
}

// Record is s as a CSV row matching SampleHeader (deterministic formatting).
func (s Sample) Record() []string {
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 10, 64) }
	r := []string{f(s.At.Hours()), i(int64(s.Up)), i(int64(s.Live)), i(int64(s.Files)), i(int64(s.Segments)),
		i(int64(s.SegmentsLost)), i(int64(s.FilesLost)), i(s.Uploads), i(s.UploadsFailed), i(s.Downloads), i(s.DownloadsFailed),
		i(s.RepairBytesRead), i(s.RepairBytesWritten), i(s.ShardsRebuilt), i(s.RepairsFailed), i(s.Handovers),
		i(s.AuditPass), i(s.AuditFail), i(s.AuditMiss), i(s.CopiesLost)}
	for c := range NumClasses {
		r = append(r, i(int64(s.Nodes[c])))
	}
	for c := range NumClasses {
		r = append(r, f(s.MeanScore[c]))
	}
	for _, a := range [][NumClasses]int{s.Disqualified, s.Suspended, s.Detected} {
		for c := range NumClasses {
			r = append(r, i(int64(a[c])))
		}
	}
	return append(r, f(s.Gini), i(s.StoredBytes))
}

// Summary is the run so far.
type Summary struct {
	Nodes                  int     `json:"nodes"` // initial population
	Arrivals               int     `json:"arrivals"`
	Departed               int     `json:"departed"`
	Live                   int     `json:"live"`
	Up                     int     `json:"up"`
	Files                  int     `json:"files"`
	Segments               int     `json:"segments"`
	SegmentsLost           int     `json:"segments_lost"`
	FilesLost              int     `json:"files_lost"`
	SegmentDurability      float64 `json:"segment_durability"` // 1 − lost / segments
	FileDurability         float64 `json:"file_durability"`
	Uploads                int64   `json:"uploads"`
	UploadsFailed          int64   `json:"uploads_failed"`
	Downloads              int64   `json:"downloads"`
	DownloadsFailed        int64   `json:"downloads_failed"`
	AuditPass              int64   `json:"audit_pass"`
	AuditFail              int64   `json:"audit_fail"`
	AuditMiss              int64   `json:"audit_miss"`
	RepairBytesRead        int64   `json:"repair_bytes_read"`
	RepairBytesWritten     int64   `json:"repair_bytes_written"`
	ShardsRebuilt          int64   `json:"shards_rebuilt"`
	RepairsFailed          int64   `json:"repairs_failed"`
	Handovers              int64   `json:"handovers"`
	CopiesLost             int64   `json:"copies_lost"`
	RepairBytesPerLostCopy float64 `json:"repair_bytes_per_lost_copy"` // (read + written) / copies lost
	// FalseDisqualifications counts honest nodes ever disqualified.
	FalseDisqualifications int            `json:"false_disqualifications"`
	Gini                   float64        `json:"gini"` // stored bytes over live nodes, now
	StoredBytes            int64          `json:"stored_bytes"`
	Classes                []ClassSummary `json:"classes"` // Honest, DataDropping, AuditCheating, Sybil
}

// ClassSummary is one class of nodes. For a bad class, time to detection runs from a node's
// onset to its first disqualification; for honest nodes, detections are false ones.
type ClassSummary struct {
	Class            string       `json:"class"`
	Nodes            int          `json:"nodes"`             // ever, arrivals included
	TurnedBad        int          `json:"turned_bad"`        // onset reached (0 for honest)
	Detected         int          `json:"detected"`          // ever disqualified
	DetectedFraction float64      `json:"detected_fraction"` // Detected / TurnedBad (bad classes)
	Suspended        int          `json:"suspended"`         // ever suspended
	TTDMedian        sim.Duration `json:"ttd_median"`
	TTDP90           sim.Duration `json:"ttd_p90"`
	TTDMax           sim.Duration `json:"ttd_max"`
	MeanScore        float64      `json:"mean_score"` // live nodes, now
	// Audits of the class's nodes once bad (all audits for honest nodes).
	AuditPass int64   `json:"audit_pass"`
	AuditFail int64   `json:"audit_fail"`
	AuditMiss int64   `json:"audit_miss"`
	PassRate  float64 `json:"pass_rate"` // pass / (pass + fail)
}

// Summary summarises the run up to now.
func (n *Network) Summary() Summary {
	tot := n.total
	initial := n.initial()
	s := Summary{Nodes: initial, Arrivals: n.Len() - initial, Live: n.live, Up: len(n.upList),
		Files: len(n.fKey), Segments: len(n.segFile), SegmentsLost: n.segsLost, FilesLost: n.filesLost,
		Uploads: tot.Uploads, UploadsFailed: tot.UploadsFailed, Downloads: tot.Downloads, DownloadsFailed: tot.DownloadsFailed,
		AuditPass: tot.AuditPass, AuditFail: tot.AuditFail, AuditMiss: tot.AuditMiss,
		RepairBytesRead: tot.RepairBytesRead, RepairBytesWritten: tot.RepairBytesWritten, ShardsRebuilt: tot.ShardsRebuilt,
		RepairsFailed: tot.RepairsFailed, Handovers: tot.Handovers, CopiesLost: tot.CopiesLost}
	s.Departed = n.Len() - n.live
	s.SegmentDurability = 1 - frac(int64(s.SegmentsLost), int64(s.Segments))
	s.FileDurability = 1 - frac(int64(s.FilesLost), int64(s.Files))
	s.RepairBytesPerLostCopy = frac(tot.RepairBytesRead+tot.RepairBytesWritten, tot.CopiesLost)
	s.Gini, s.StoredBytes = n.storedGini()
	var ttd [NumClasses][]sim.Duration
	var score [NumClasses]float64
	var live [NumClasses]int
	cs := make([]ClassSummary, NumClasses)
	for i := range int32(n.Len()) {
		c := n.class[i]
		x := &cs[c]
		x.Nodes++
		if c != Honest && n.bad(i) {
			x.TurnedBad++
		}
		if n.suspAt[i] != never {
			x.Suspended++
		}
		if n.dqAt[i] != never {
			x.Detected++
			if c != Honest {
				ttd[c] = append(ttd[c], n.dqAt[i].Sub(n.badSince[i]))
			}
		}
		if n.state[i] != churn.Gone {
			r := n.book.get(i)
			score[c] += float64(r.Score()) / float64(reputation.One)
			live[c]++
		}
	}
	for c := range NumClasses {
		x := &cs[c]
		x.Class = classNames[c]
		if x.TurnedBad > 0 {
			x.DetectedFraction = float64(x.Detected) / float64(x.TurnedBad)
		}
		d := ttd[c]
		slices.Sort(d)
		x.TTDMedian, x.TTDP90 = quantile(d, 0.5), quantile(d, 0.9)
		if len(d) > 0 {
			x.TTDMax = d[len(d)-1]
		}
		if live[c] > 0 {
			x.MeanScore = score[c] / float64(live[c])
		}
		a := n.classAudits[c]
		x.AuditPass, x.AuditFail, x.AuditMiss = a[0], a[1], a[2]
		x.PassRate = frac(a[0], a[0]+a[1])
	}
	s.FalseDisqualifications = cs[Honest].Detected
	s.Classes = cs
	return s
}

// initial is the initial population.
func (n *Network) initial() int { return n.initialN }

// quantile is the nearest-rank q-quantile of ascending d (0 when empty).
func quantile(d []sim.Duration, q float64) sim.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(d)))) - 1
	return d[max(0, min(i, len(d)-1))]
}

// TimeToDetection is node's time from turning bad to its first disqualification, and whether
// it has been disqualified (a disqualified honest node reports its time since time 0).
func (n *Network) TimeToDetection(node int32) (sim.Duration, bool) {
	if n.dqAt[node] == never {
		return 0, false
	}
	from := n.badSince[node]
	if from == never {
		from = 0
	}
	return n.dqAt[node].Sub(from), true
}

// Leader is file f's leader now: the first steward up in rendezvous order (reputation.IsLeader
// with alive = up), which audits the file and attests its evidence; -1 if none is up.
func (n *Network) Leader(f int) int32 { return n.leader(f) }

// StateBytes is the memory the model's arrays hold (capacities, so what is allocated), for
// run reports; the records' hearsay slices and strings' bytes are counted at their sizes.
func (n *Network) StateBytes() int64 {
	var b int64
	i32 := func(s []int32) { b += 4 * int64(cap(s)) }
	i64 := func(s []int64) { b += 8 * int64(cap(s)) }
	tm := func(s []sim.Time) { b += 8 * int64(cap(s)) }
	// Nodes.
	b += 8*int64(cap(n.id)) + 32*int64(cap(n.nid)) + int64(cap(n.class)+cap(n.dq)+cap(n.state)+cap(n.viewDown)+cap(n.candVetted)+cap(n.candOK))
	b += 8*int64(cap(n.candScore)) + int64(cap(n.book.recs))*int64(unsafe.Sizeof(reputation.Record{}))
	i32(n.subnet)
	i64(n.capacity)
	i64(n.used)
	tm(n.badSince)
	tm(n.dqAt)
	tm(n.suspAt)
	tm(n.since)
	i32(n.upList)
	i32(n.upPos)
	i32(n.copyHead)
	i32(n.stored)
	i32(n.stewHead)
	i32(n.dqList)
	b += int64(n.space.space.Bytes()) + 4*int64(cap(n.space.pending))
	// Files, segments, shards.
	b += 8*int64(cap(n.fKey)) + 8*int64(cap(n.fSize)) + int64(cap(n.fOrder)+cap(n.segLost)+cap(n.segAvail)+cap(n.shCopies)+cap(n.shPresent))
	for _, s := range [][]int32{n.fOwner, n.fPartner, n.fSeg, n.fSegs, n.fStew, n.sPrev, n.sNext, n.fLostSegs, n.segFile, n.shFirst} {
		i32(s)
	}
	tm(n.fAt)
	tm(n.fBelow)
	tm(n.fHanded)
	// Copies.
	for _, s := range [][]int32{n.cShard, n.cHolder, n.cPrev, n.cNext, n.cNextS, n.freeC} {
		i32(s)
	}
	tm(n.cAt)
	b += int64(cap(n.cFlags)) + 4*int64(cap(n.cPass)+cap(n.cFail)+cap(n.cMiss))
	return b
}
