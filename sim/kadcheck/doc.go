// Package kadcheck validates the simulator's Kademlia model (sim/kad) against
// the real go-libp2p-kad-dht: validation (c) of sim/README.md.
//
// Run starts Config.Nodes real kad-dht servers (protocol prefix /cairn, the
// same K, α and β as the model) on an in-process mocknet, with peer
// identities drawn from the seed. They build their routing tables as real
// nodes do: a few bootstrappers, then nodes joining one at a time through two
// of them and running the refresh a starting node runs, then one more refresh
// each. Tables are then frozen (no new peers from connections alone) and every
// mocknet link gets the same latency. Each of Config.Lookups lookups, from a
// random node to a random key, is run four ways:
//
//   - real: GetClosestPeers, its hops rebuilt from kad-dht's lookup events
//     exactly as kad.Result.Hops defines them (see lookup);
//   - model, real tables: kad.Looker (unit latency) over a kad.Table built
//     with kad.FromContacts from every node's actual routing table, read
//     before the lookup (a node's table changes when its own lookups add the
//     peers that answered);
//   - model, real tables, real order: the same, with each request's latency
//     set so that answers arrive in the order the real lookup took them in;
//     it must reproduce each real lookup exactly (hops, requests, follow-ups,
//     result), which checks the lookup algorithm apart from timing;
//   - model, ideal tables: kad.BuildIdeal over the same IDs, the tables the
//     large simulations use.
//
// A node's 64-bit model ID is the first 8 bytes, big-endian, of its kad-dht
// key (SHA-256 of the peer ID, kbucket.ConvertPeerID), a key's the first 8
// bytes of SHA-256 of it (kbucket.ConvertKey); with a few hundred nodes the
// prefixes keep every CPL and every XOR order. Every real answer is checked
// against the snapshot table (kad.Table.Nearest), so both sides provably route
// over the same tables.
//
// The hop samples are compared with a chi-square test of homogeneity (sparse
// hop counts pooled to expected counts of at least 5), the two-sample KS
// statistic, a bootstrap interval for the difference of means, and, since the
// lookups are paired, the share with equal hops. Report renders the table
// (Markdown) and the grouped histogram (WritePlot). Results and the command
// are in sim/README.md, validation (c).
//
// Not deterministic: the real nodes run on goroutines, so their tables and
// the order in which answers arrive vary from run to run; identities, join
// order, initiators, keys and the ideal tables are fixed by the seed.
package kadcheck
