package sim

import "math/rand/v2"

// Streams derives independent random streams from one run seed. Each consumer
// (a model, a node group, a workload) takes its own stream by name or number,
// so adding a consumer, or one consumer drawing more, never shifts the draws of
// another: runs stay comparable across versions of a scenario.
type Streams struct{ seed uint64 }

// NewStreams returns the streams of seed.
func NewStreams(seed uint64) Streams { return Streams{seed: seed} }

// Seed is the run seed the streams derive from.
func (s Streams) Seed() uint64 { return s.seed }

// PCG returns the source of stream id: a PCG generator whose two seed words are
// fixed mixes of (seed, id). Changing this mapping changes every run's output,
// so it is pinned by a test.
func (s Streams) PCG(id uint64) *rand.PCG {
	hi := mix64(s.seed ^ mix64(id^0x6a09e667f3bcc908))
	lo := mix64(hi ^ mix64(id+0xbb67ae8584caa73b))
	return rand.NewPCG(hi, lo)
}

// Rand returns stream id as a *rand.Rand. Each call starts the stream afresh.
func (s Streams) Rand(id uint64) *rand.Rand { return rand.New(s.PCG(id)) }

// Named returns the stream called name (id StreamID(name)).
func (s Streams) Named(name string) *rand.Rand { return s.Rand(StreamID(name)) }

// NamedPCG returns the source of the stream called name, for libraries that take
// a rand.Source (gonum's distuv).
func (s Streams) NamedPCG(name string) *rand.PCG { return s.PCG(StreamID(name)) }

// StreamID maps a stream name to its number: 64-bit FNV-1a, then mixed, so
// names like "churn/1" and "churn/2" land far apart.
func StreamID(name string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	return mix64(h)
}

// mix64 is the SplitMix64 finalizer: a bijection on uint64 with full avalanche.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
