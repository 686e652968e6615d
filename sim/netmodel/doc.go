// Package netmodel gives the simulator's nodes a place on the Internet: a
// round-trip time between any two of them and an upload and download rate for
// each, drawn once per node from seeded streams so a run replays exactly.
//
// # Latency: a coordinate model
//
// Each node gets a point on the Earth: a region drawn from a few weighted
// regions (DefaultRegions: where peer-to-peer nodes cluster), then a scatter
// around the region's centre. Propagation is the great-circle distance at the
// speed of light in fibre (about 200,000 km/s), round trip, times a route
// stretch (routes are longer than great circles), times a per-pair jitter in
// [1, 1+Jitter) hashed from the pair and the seed (so it is symmetric,
// deterministic and needs no per-pair state; it also breaks the triangle
// inequality a little, as measured Internet latencies do). Each node adds its
// access delay, the last mile's share of every round trip, lognormal across
// nodes:
//
//	RTT(a, b) = 2·d(a, b)/c_fibre · Stretch · (1 + Jitter·u(a, b)) + access(a) + access(b)
//
// Why the defaults (see DefaultConfig for the figures): measured round trips
// between well-connected hosts sit near twice the fibre time over the great
// circle times 1.3 to 1.5 (London–New York, 5,570 km: 70–80 ms measured
// against 56 ms for straight fibre; Seattle–Boston, 4,000 km: about 71 ms;
// London–Singapore: 160–180 ms), and Bozkurt et al. ("Dissecting latency in
// the Internet's fiber infrastructure", 2017) quote the rule of thumb "line of
// sight × 2.1 / c_fibre" for end hosts, which this model reproduces once the
// access delays are added (Stretch 1.3 × mean jitter 1.15 ≈ 1.5, plus about
// 20 ms of access for two home nodes). Wide-area data sets used to evaluate
// coordinate systems (the King data set of DNS servers behind Vivaldi and
// p2psim, RIPE Atlas between probes) have medians of tens to a couple of
// hundred milliseconds depending on how global the hosts are; the default
// world mix gives a median near 145 ms between random nodes, 45 ms within a
// region (TestRTTDistribution).
//
// # Bandwidth
//
// Each node's upload and download rates (bytes/s) are lognormal with medians
// of 50 and 100 Mbit/s and a spread of σ = 1 (5% of nodes below a fifth of the
// median, 5% above five times it), the two correlated (ρ = 0.7: a fibre line
// is fast both ways). Speedtest's global index put fixed broadband near
// 84 Mbit/s down and 44 Mbit/s up on average in 2020; home upload rates are
// what bounds a storage node. TransferTime(from, to, bytes) = RTT + bytes /
// min(up(from), down(to)) is the time a transfer on an idle path takes: for
// repair traffic and downloads, later.
//
// # Cost
//
// Struct-of-arrays, 25 bytes a node (a float32 unit vector, float32 access,
// up and down, a region byte); RTT costs a square root, an arcsine and a hash.
// Node i's draws come from its own streams (net/place, net/access,
// net/bandwidth) in node order, so Grow for arriving nodes gives them what a
// larger New would have.
package netmodel
