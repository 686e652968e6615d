package netmodel

import (
	"errors"
	"fmt"
	"math"

	"github.com/cairn-storage/cairn/sim"
)

// Region is a place nodes cluster around.
type Region struct {
	Name   string
	Weight float64 // relative share of nodes
	Lat    float64 // centre, degrees north
	Lon    float64 // centre, degrees east
	// Radius is the scatter around the centre: each of the north and east
	// offsets is normal with this standard deviation, in km.
	Radius float64
}

// DefaultRegions places nodes roughly where public peer-to-peer DHT servers
// are: most in North America and Europe, then East Asia (ProbeLab's Nebula
// crawls of the IPFS DHT find the bulk of servers in the US and Germany and
// other European countries, then East Asia). The shares are an assumption in
// that spirit, not a measurement; a scenario's RTT distribution depends more on
// the intercontinental share than on the exact split.
func DefaultRegions() []Region {
	return []Region{
		{Name: "north-america-east", Weight: 0.20, Lat: 40.0, Lon: -77.0, Radius: 700},
		{Name: "north-america-west", Weight: 0.12, Lat: 40.0, Lon: -120.0, Radius: 600},
		{Name: "europe", Weight: 0.32, Lat: 50.0, Lon: 8.0, Radius: 800},
		{Name: "east-asia", Weight: 0.15, Lat: 35.0, Lon: 125.0, Radius: 900},
		{Name: "south-east-asia", Weight: 0.06, Lat: 5.0, Lon: 105.0, Radius: 800},
		{Name: "south-asia", Weight: 0.04, Lat: 20.0, Lon: 77.0, Radius: 700},
		{Name: "south-america", Weight: 0.05, Lat: -22.0, Lon: -47.0, Radius: 800},
		{Name: "oceania", Weight: 0.03, Lat: -34.0, Lon: 150.0, Radius: 600},
		{Name: "africa", Weight: 0.03, Lat: -10.0, Lon: 25.0, Radius: 1500},
	}
}

// Config is a network model's parameters; start from DefaultConfig.
type Config struct {
	Regions []Region
	// Stretch is how much longer than the great circle a route is (≥ 1).
	Stretch float64
	// Jitter makes each pair's stretch Stretch·(1+Jitter·u), u uniform in
	// [0, 1) and fixed per pair.
	Jitter float64
	// AccessMedian and AccessSigma: each node's access delay (its last mile's
	// share of every round trip) is lognormal with this median and σ of the log.
	AccessMedian sim.Duration
	AccessSigma  float64
	// UpMedian and DownMedian are the median rates in bytes/s; BandwidthSigma
	// is σ of their logs; Correlation is that of the two logs on one node.
	UpMedian       float64
	DownMedian     float64
	BandwidthSigma float64
	Correlation    float64
}

// Physical constants of the model.
const (
	EarthRadiusKm = 6371.0
	// FibreKmPerSecond is light in glass (refractive index about 1.47).
	FibreKmPerSecond = 200_000.0
	// Mbit is a megabit per second in bytes per second.
	Mbit = 1e6 / 8
)

// DefaultConfig is the model the simulator uses unless a scenario says
// otherwise. Access: FTTH lines add 2–10 ms, cable and DSL 10–30 ms, LTE
// 30–60 ms to a round trip; median 10 ms with σ = 0.8 puts 5% of nodes under
// 3 ms (servers) and 5% over 37 ms (mobile, loaded lines). Stretch 1.3 and
// Jitter 0.3 reproduce the intercontinental round trips quoted in the package
// doc. Bandwidth as in the package doc.
func DefaultConfig() Config {
	return Config{
		Regions:        DefaultRegions(),
		Stretch:        1.3,
		Jitter:         0.3,
		AccessMedian:   10 * sim.Millisecond,
		AccessSigma:    0.8,
		UpMedian:       50 * Mbit,
		DownMedian:     100 * Mbit,
		BandwidthSigma: 1.0,
		Correlation:    0.7,
	}
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Validate says what is wrong with c, naming the field.
func (c Config) Validate() error {
	if len(c.Regions) == 0 {
		return errors.New("netmodel: no regions")
	}
	if len(c.Regions) > math.MaxUint8 {
		return fmt.Errorf("netmodel: %d regions, at most %d", len(c.Regions), math.MaxUint8)
	}
	total := 0.0
	for i, r := range c.Regions {
		switch {
		case !finite(r.Weight) || r.Weight < 0:
			return fmt.Errorf("netmodel: region %d (%s): weight %v, want ≥ 0", i, r.Name, r.Weight)
		case !finite(r.Lat) || r.Lat < -90 || r.Lat > 90:
			return fmt.Errorf("netmodel: region %d (%s): latitude %v, want -90..90", i, r.Name, r.Lat)
		case !finite(r.Lon) || r.Lon < -180 || r.Lon > 180:
			return fmt.Errorf("netmodel: region %d (%s): longitude %v, want -180..180", i, r.Name, r.Lon)
		case !finite(r.Radius) || r.Radius < 0 || r.Radius > 5000:
			return fmt.Errorf("netmodel: region %d (%s): radius %v km, want 0..5000", i, r.Name, r.Radius)
		}
		total += r.Weight
	}
	switch {
	case !(total > 0):
		return errors.New("netmodel: region weights sum to 0")
	case !finite(c.Stretch) || c.Stretch < 1 || c.Stretch > 10:
		return fmt.Errorf("netmodel: stretch %v, want 1..10", c.Stretch)
	case !finite(c.Jitter) || c.Jitter < 0 || c.Jitter > 10:
		return fmt.Errorf("netmodel: jitter %v, want 0..10", c.Jitter)
	case c.AccessMedian <= 0 || c.AccessMedian > 10*sim.Second:
		return fmt.Errorf("netmodel: access median %v, want (0, 10s]", c.AccessMedian)
	case !finite(c.AccessSigma) || c.AccessSigma < 0 || c.AccessSigma > 3:
		return fmt.Errorf("netmodel: access sigma %v, want 0..3", c.AccessSigma)
	case !finite(c.UpMedian) || c.UpMedian <= 0 || c.UpMedian > 1e12:
		return fmt.Errorf("netmodel: up median %v B/s, want (0, 1e12]", c.UpMedian)
	case !finite(c.DownMedian) || c.DownMedian <= 0 || c.DownMedian > 1e12:
		return fmt.Errorf("netmodel: down median %v B/s, want (0, 1e12]", c.DownMedian)
	case !finite(c.BandwidthSigma) || c.BandwidthSigma < 0 || c.BandwidthSigma > 3:
		return fmt.Errorf("netmodel: bandwidth sigma %v, want 0..3", c.BandwidthSigma)
	case !finite(c.Correlation) || c.Correlation < -1 || c.Correlation > 1:
		return fmt.Errorf("netmodel: correlation %v, want -1..1", c.Correlation)
	}
	return nil
}
