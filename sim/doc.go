// Package sim is the core of Cairn's network simulator: a deterministic
// discrete-event engine over virtual time, for studying routing, durability,
// reputation and economics at sizes no testbed can host (issue 12).
//
// What exists:
//
//   - Engine: a single-threaded event loop. Events are 32-byte values (time,
//     sequence, kind, node index, argument) in a binary heap, dispatched by Kind
//     to handlers that models register; ties in time pop in scheduling order,
//     and nothing reads the wall clock, so a run is a pure function of its
//     inputs. Scheduling in the past is refused.
//   - Time and Duration: virtual nanoseconds; Duration reads "8h", "1.5d" in TOML.
//   - Streams: independent math/rand/v2 PCG streams derived from (seed, stream
//     id or name) by a fixed mix, so adding a consumer never shifts another's
//     draws.
//
// Models live in subpackages: churn (sessions, downtimes, departures,
// arrivals), kad (Kademlia routing and table maintenance), netmodel (latency
// and bandwidth), storage (k-of-n segments placed by the node's own
// reputation.Place, losses against the binomial formula), network (the storage
// protocol: placement, audits, reputation, repair, behaviours, through the
// node's cores), workload (uploads, downloads, sizes, partner tags) and
// economy (settlement through payments.PlanStorage and payments.Settle).
// kadcheck validates kad against the real go-libp2p-kad-dht. scenario and
// study load TOML scenarios and run them for `cairn sim` (sim/README.md).
package sim
