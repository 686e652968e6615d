package netmodel

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/cairn-storage/cairn/sim"
)

// Stream names the model draws from; each attribute has its own, so changing
// one distribution never shifts another's draws.
const (
	StreamPlace     = "net/place"     // region and scatter
	StreamAccess    = "net/access"    // access delays
	StreamBandwidth = "net/bandwidth" // upload and download rates
	StreamJitter    = "net/jitter"    // keys the per-pair hash (no draws)
)

// MaxNodes bounds a Model: node numbers are int32.
const MaxNodes = math.MaxInt32

// Model holds each node's place and rates as parallel arrays indexed by node.
type Model struct {
	cfg      Config
	cum      []float64 // cumulative region weights
	place    *rand.Rand
	access   *rand.Rand
	band     *rand.Rand
	pairKey  uint64  // mixes into the per-pair jitter hash
	rttScale float64 // seconds of round trip per km of great circle

	x, y, z []float32 // unit vector of the node's place
	acc     []float32 // access delay, seconds
	up      []float32 // bytes/s
	down    []float32 // bytes/s
	region  []uint8
}

// New draws n nodes' places and rates from streams.
func New(cfg Config, streams sim.Streams, n int) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Model{
		cfg:      cfg,
		place:    streams.Named(StreamPlace),
		access:   streams.Named(StreamAccess),
		band:     streams.Named(StreamBandwidth),
		pairKey:  mix64(streams.Seed() ^ sim.StreamID(StreamJitter)),
		rttScale: 2 * cfg.Stretch / FibreKmPerSecond,
	}
	m.cfg.Regions = append([]Region(nil), cfg.Regions...)
	if n > 0 && n <= MaxNodes { // exact sizes: a million nodes is 25 MB, not twice that
		m.x, m.y, m.z = make([]float32, 0, n), make([]float32, 0, n), make([]float32, 0, n)
		m.acc, m.up, m.down = make([]float32, 0, n), make([]float32, 0, n), make([]float32, 0, n)
		m.region = make([]uint8, 0, n)
	}
	total := 0.0
	for _, r := range cfg.Regions {
		total += r.Weight
		m.cum = append(m.cum, total)
	}
	if err := m.Grow(n); err != nil {
		return nil, err
	}
	return m, nil
}

// Grow draws nodes Len() .. n-1 (arrivals), continuing each stream where it
// stopped, so New(n) then Grow(m) is the same model as New(m).
func (m *Model) Grow(n int) error {
	if n < 0 || n > MaxNodes {
		return fmt.Errorf("netmodel: %d nodes, want 0..%d", n, MaxNodes)
	}
	for i := m.Len(); i < n; i++ {
		m.draw()
	}
	return nil
}

func (m *Model) draw() {
	c := m.cfg
	// Region, then a normal scatter around its centre.
	u := m.place.Float64() * m.cum[len(m.cum)-1]
	r := 0
	for r < len(m.cum)-1 && u >= m.cum[r] {
		r++
	}
	reg := c.Regions[r]
	dn, de := m.place.NormFloat64()*reg.Radius, m.place.NormFloat64()*reg.Radius
	x, y, z := destination(reg.Lat, reg.Lon, dn, de)
	m.x, m.y, m.z = append(m.x, float32(x)), append(m.y, float32(y)), append(m.z, float32(z))
	m.region = append(m.region, uint8(r))

	acc := float64(c.AccessMedian) / float64(sim.Second) * math.Exp(c.AccessSigma*m.access.NormFloat64())
	m.acc = append(m.acc, float32(acc))

	z1, z2 := m.band.NormFloat64(), m.band.NormFloat64()
	s, rho := c.BandwidthSigma, c.Correlation
	m.up = append(m.up, float32(c.UpMedian*math.Exp(s*z1)))
	m.down = append(m.down, float32(c.DownMedian*math.Exp(s*(rho*z1+math.Sqrt(1-rho*rho)*z2))))
}

// destination is the unit vector of the point dn km north and de km east of
// (lat, lon) along the great circle in that direction.
func destination(lat, lon, dn, de float64) (x, y, z float64) {
	phi1, lam1 := lat*math.Pi/180, lon*math.Pi/180
	d := math.Hypot(dn, de) / EarthRadiusKm
	th := math.Atan2(de, dn)
	phi2 := math.Asin(math.Sin(phi1)*math.Cos(d) + math.Cos(phi1)*math.Sin(d)*math.Cos(th))
	lam2 := lam1 + math.Atan2(math.Sin(th)*math.Sin(d)*math.Cos(phi1), math.Cos(d)-math.Sin(phi1)*math.Sin(phi2))
	return unit(phi2, lam2)
}

func unit(phi, lam float64) (x, y, z float64) {
	return math.Cos(phi) * math.Cos(lam), math.Cos(phi) * math.Sin(lam), math.Sin(phi)
}

// GreatCircleKm is the great-circle distance between two points in degrees.
func GreatCircleKm(lat1, lon1, lat2, lon2 float64) float64 {
	x1, y1, z1 := unit(lat1*math.Pi/180, lon1*math.Pi/180)
	x2, y2, z2 := unit(lat2*math.Pi/180, lon2*math.Pi/180)
	return chordKm(x1-x2, y1-y2, z1-z2)
}

func chordKm(dx, dy, dz float64) float64 {
	c := math.Sqrt(dx*dx + dy*dy + dz*dz)
	return 2 * EarthRadiusKm * math.Asin(min(1, c/2))
}

// Len is the number of nodes.
func (m *Model) Len() int { return len(m.acc) }

// Config is the model's configuration.
func (m *Model) Config() Config { return m.cfg }

// DistanceKm is the great-circle distance between a and b.
func (m *Model) DistanceKm(a, b int32) float64 {
	return chordKm(float64(m.x[a])-float64(m.x[b]), float64(m.y[a])-float64(m.y[b]), float64(m.z[a])-float64(m.z[b]))
}

// Propagation is the round trip's propagation part, in seconds: the great
// circle there and back in fibre, stretched, with the pair's jitter. It is
// symmetric and 0 for a node with itself.
func (m *Model) Propagation(a, b int32) float64 {
	if a == b {
		return 0
	}
	p := m.DistanceKm(a, b) * m.rttScale
	if m.cfg.Jitter > 0 {
		p *= 1 + m.cfg.Jitter*m.pairUniform(a, b)
	}
	return p
}

// pairUniform is the pair's fixed draw in [0, 1), the same both ways.
func (m *Model) pairUniform(a, b int32) float64 {
	lo, hi := min(a, b), max(a, b)
	h := mix64(m.pairKey ^ mix64(uint64(uint32(lo))<<32|uint64(uint32(hi))))
	return float64(h>>11) * 0x1p-53
}

// RTT is the round-trip time between a and b in seconds: propagation plus
// both access delays (0 for a node with itself).
func (m *Model) RTT(a, b int32) float64 {
	if a == b {
		return 0
	}
	lo, hi := min(a, b), max(a, b) // one order of addition, so RTT is exactly symmetric
	return m.Propagation(a, b) + float64(m.acc[lo]) + float64(m.acc[hi])
}

// Access is node's access delay in seconds.
func (m *Model) Access(node int32) float64 { return float64(m.acc[node]) }

// Up and Down are node's upload and download rates in bytes/s.
func (m *Model) Up(node int32) float64   { return float64(m.up[node]) }
func (m *Model) Down(node int32) float64 { return float64(m.down[node]) }

// Region is the index in Config().Regions of node's region.
func (m *Model) Region(node int32) int { return int(m.region[node]) }

// TransferTime is the seconds to move bytes from one node to another over an
// otherwise idle path: a round trip to ask, then the bytes at the slower of
// the sender's upload and the receiver's download rate.
func (m *Model) TransferTime(from, to int32, bytes int64) float64 {
	rate := min(float64(m.up[from]), float64(m.down[to]))
	return m.RTT(from, to) + float64(max(bytes, 0))/rate
}

// Bytes is the memory the model's arrays hold.
func (m *Model) Bytes() int {
	return 4*(cap(m.x)+cap(m.y)+cap(m.z)+cap(m.acc)+cap(m.up)+cap(m.down)) + cap(m.region)
}

// mix64 is the SplitMix64 finalizer.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
