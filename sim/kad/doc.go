// Package kad models Kademlia routing for the simulator: node IDs under the XOR
// metric, k-bucket routing tables, and go-libp2p-kad-dht's iterative lookup
// (α requests in flight, ended by the β "resiliency" rule, then a follow-up to
// the top K). It is pure: no I/O, no goroutines, randomness only from the
// *rand.Rand a caller passes, so a seed replays a run exactly.
//
// # 64-bit IDs
//
// The real DHT keys nodes by SHA-256 (256 bits). Here an ID is a uint64 —
// equivalently, the top 64 bits of that hash. Routing depends only on the prefix
// structure: which bucket a peer falls in (the common prefix length, CPL) and
// the order of distances to a key. For distinct 64-bit IDs both are exactly
// those of the 256-bit IDs they prefix, because CPLs stay far below 64: among
// n nodes the deepest shared prefix is about 2·log2(n) bits (44 at four
// million), and two nodes sharing all 64 bits happens with probability
// ≈ n²/2^65 (2⁻²¹ at four million), which the constructors rule out by
// redrawing or refusing duplicates. Keys are uint64 too; XOR with a key is a
// bijection, so distances to it never tie.
//
// # Memory
//
// State is struct-of-arrays, indexed by node number (int32). A Space costs 20
// bytes per node (ID, sorted ID, permutation). A Table is laid out as
// go-libp2p-kbucket's tables: each node has buckets 0 … B-1 of K slots each
// in one []int32, bucket b < B-1 holding peers at CPL b and the last bucket
// every deeper one; a full last bucket is split (unfolded) when a peer comes
// for it, the node's buckets then moving to the end of the arrays. With K = 20
// a converged node has about log2(n/K)+2 buckets. Measured with a Looker's 4
// bytes per node of scratch included (TestMemoryPerNode, BenchmarkLookup):
// 0.9 KB per node at 10k nodes, 1.2 KB at 100k, 1.45 KB at 1M (1.5 GB peak
// RSS for a 1M-node lookup study).
//
// # Which mode to use
//
// Space.Closest returns the true K closest nodes to a key (optionally only live
// ones) in O(log² n + K): the answer a converged, honest network's lookups give
// (in an ideal table the iterative lookup finds the true closest node in more
// than 99% of lookups, see the tests). Use it when routing is not the question:
// placement, stewardship, durability and economics studies.
//
// Use Table and Looker when the route matters: hop counts, messages and lookup
// latency; stale entries under churn (a lookup that times out on dead peers, or
// misses the closest live node); small or partitioned networks; eclipse and
// Sybil attacks on routing; or whenever two nodes may disagree about who is
// closest. BuildIdeal fills each bucket with K peers drawn at random from the
// true population at that distance: the state a network reaches after its
// bucket refreshes, with no dead entries until the caller's churn makes some.
//
// # What the lookup leaves out
//
// A Looker alone never changes a table. A Maintainer (maintain.go) adds what
// go-libp2p-kad-dht does around lookups: failed peers evicted, answering peers
// added both ways, periodic bucket refreshes (lazily, as tables are read) and
// arrivals joining with a self-lookup. There is no FIND_NODE exception for a
// key that is a peer ID, no IP-diversity or address filter, and answers are
// honest. go-libp2p-kad-dht returns its top K before the follow-up, dead or
// not; Result.Closest keeps only those that answered, so it can hold fewer
// than K when peers are dead.
package kad
