// Package network models Cairn's stewarded storage network over virtual time: uploads placed
// by reputation, stewards that audit holders and repair files, node behaviours (honest,
// data-dropping, audit-cheating, Sybil groups), churn, downloads and the bytes each node
// stores. It makes every decision by calling the node's own pure cores:
//
//   - reputation.Place over candidates built by reputation.Book.Candidate (uploads);
//   - reputation.Book and its Params: every audit outcome is a Book.Apply, Status decides
//     suspension and disqualification (and so time to detection);
//   - reputation.PlanRepair on reputation.SegmentHealth built as node.segmentHealth does;
//   - reputation.StewardRank orders each steward set (the rendezvous order IsLeader and
//     RepairWait read), reputation.RepairWait staggers the stewards' repairs;
//   - node/audit.Ranges decides whether an audit-cheating holder passes;
//   - kad.Space.Closest picks each file's stewards: the Stewards (manifest_replicas) up nodes
//     closest in XOR distance to the file's 64-bit key;
//   - node/codec's SegmentCount, SegmentPlainSize and ShardSize give sizes, ShardCID the
//     shard CIDs audits challenge.
//
// The study wires it: New on a sim.Engine, Attach to a churn.Driver, Upload and Download
// from a workload, EpochEvidence at each epoch's close for the economy (payments.PlanStorage),
// Samples and Summary for the outputs. It depends on no workload or economy package.
//
// # State
//
// Struct-of-arrays with int32 indices (see nodes, files and copies): per node its Kademlia ID,
// /24, capacity, bytes used, class, onset, first disqualification and suspension, churn state,
// the stewards' view of whether it answers, and the heads of two intrusive lists (the copies
// it holds, the files it stewards); per file its key, owner, partner, upload time, size,
// segments and steward set in rank order; per shard its listed copies; per copy (shard,
// holder) the receipt time, whether the holder still has the bytes (ground truth), whether its
// latest audit failed (the stewards' view) and the epoch's audit tallies. About 45 bytes a
// copy, 40 a shard and segment, 250 a node besides the book's record.
//
// # Choices where the node's code does not settle the model
//
// One shared book. Every steward's observations go into ONE reputation.Book, a network-wide
// view: a book per node would cost n² and each is built from the same kinds of observations.
// Consequences: detection is as fast as the sum of every steward's audits of a node (a dropper
// holding shards of m files, audited once per file per round, fails m audits a round and is
// disqualified after ceil(41/m) rounds with the default Params: 41 straight failures take a
// fresh record from R = 1 to R = 0.999^41 ≈ 0.9598 ≤ 0.96), and a down holder collects one
// AuditTimeout per (steward, holder) batch a round, so a holder of many files' shards is
// suspended sooner than any one steward would find it. Placement (Book.Candidate), health and
// detection all read this book.
//
// Who audits. In the node every steward audits every holder; here the file's leader does (the
// first member up in StewardRank order, exactly reputation.IsLeader with alive = up), so a
// (file, holder) pair is audited once a round, as in one steward's book. The leader draws one
// random shard per holder listed in the file's record (itself excepted), as auditRound does.
// transfer.MaxAuditItems (256 per batch) is not applied: a holder rarely holds that many
// shards under one steward at simulated scales.
//
// The record. A shard may list up to manifest.MaxHoldersPerShard holders (copies): repair adds
// a copy for each rebuilt shard and, beyond four, drops the oldest receipt (manifest.Merge's
// limit, applied per shard rather than per holder entry). A holder that was down and comes
// back counts again, as in the node; a departed one stays listed (and audited, timing out)
// until evicted. Receipts are per copy; a holder's receipt time for a file is its newest.
//
// The stewards' view (node/health.go) is shared too: a holder is down from an audit or probe
// that got no answer until one that did; a copy failed from a failed audit until a passed one.
// holderHealthy also asks Book.Status for disqualification. Repair rounds check only files
// whose inputs changed since the last round, or that were below threshold then; the others
// are as they were (incremental, same result).
//
// Repair (node/repair.go). The repairing steward is the first up member in rank order that is
// not itself misbehaving (bad stewards leave their files alone); at rank r it waits
// RepairWait(r, interval) from when the file was first seen below threshold. It probes every
// holder of the file (updating the view), then, if some segment below threshold has at least
// K healthy shards, discovers Candidates live nodes (itself vetted in its own eyes), drops those
// its view has down (repairCandidates) and calls PlanRepair (MaxRepairSegments 16). Each plan
// reads K shards from healthy listed holders: a read succeeds if that holder is up and has the
// bytes, else the next healthy holder of the shard is tried, else the segment's repair fails
// (RepairsFailed). Rebuilt shards become new copies on the targets, receipts dated now. Bytes
// read (one shard per successful read) and written (one per rebuilt shard) are counted.
// Endorsements, receipts' signatures and transfer observations are not modelled. Segments lost
// for good are left out of the health handed to PlanRepair: the node would retry them forever.
//
// Steward handover (node/handover.go checkStewards): a member down (or gone) for 3 repair
// intervals is replaced, in the repair round, by the closest node up outside the set (that the
// view does not have down and that has free space), if the set has a live leader and a
// majority of the others is up to sign; one replacement per file per round. Its new place in
// the rank order comes from one StewardRank call.
//
// Uploads (node/put.go). The uploader (up) discovers Candidates up nodes (itself included),
// Place checks the first segment can be placed (too few nodes: an error and nothing stored),
// then each segment is placed with Place over the same candidates. The node keeps the
// advertised Free for the whole put and relies on each holder refusing a shard it has no room
// for (the put then retries elsewhere); here each chosen holder's Free is charged instead,
// which has the same outcome without the retry. Stewards are chosen at upload among up nodes.
// A file's key is drawn from a stream; shard CIDs are codec.ShardCID of (key ‖ segment ‖ j).
//
// Downloads (node/get.go): per segment, shards in index order (data first), each from its
// first listed holder that is up and has every byte, until K: ErrUnavailable otherwise. Reads
// and transfers feed no observations into the book (only audits do); Observe lets a caller add
// some.
//
// Behaviours. Data-dropping nodes delete every shard at Behaviours.Onset and keep nothing
// given later, yet answer audits (failing them). Audit-cheating nodes keep only the first
// KeepFraction of each shard from Onset: an audit passes iff every range of
// audit.Ranges(nonce, CID, size, AuditRanges) lies in the kept prefix (nonces from their own
// stream); for durability, downloads and repair reads their copies are gone. Sybil groups
// (Groups × Size identities, one /24 each, after the honest nodes) behave honestly until
// AttackAt, then all delete their data at once and keep none after. Bad nodes stay in the
// churn like any other. Arrivals are bad with the configured fractions, from their arrival
// (or the onset if later); bad nodes do not repair (see Repair) but do audit.
//
// Durability. A segment is lost for good once fewer than K of its shards have a copy whose
// holder still has the bytes (departed holders and bad nodes' copies do not), counted once;
// a file once any segment is. Going down is not loss.
//
// Time. Virtual time 0 is Config.Genesis in unix seconds; the book, receipts and evidence use
// unix seconds, rounded down.
//
// # Cost
//
// BenchmarkNetwork100k (100,000 nodes, 30 days, durability-10k churn with arrivals, 3% bad
// nodes, audits every 6 h, repair every 10 min, 100 uploads and 200 downloads an hour):
// 459 s wall on this 2-core machine shared with other work (400 s CPU), 72,113 files,
// 99.8 M audit items, 7.7 M steward handovers, 1.3 M shards rebuilt; 1,081 bytes of model
// state a node (StateBytes), 1,559 of heap, 327 MB peak RSS. Most of the time is in the cores:
// Place's candidate sort (uploads and PlanRepair), StewardRank's hashing (handovers), the
// book's Params.Apply (audits). Hourly audits cost about six times the audit share.
//
// Determinism. Named streams (Stream* constants), no map iteration anywhere an output or a
// decision depends on it, events through the engine: same seed and inputs, same samples,
// summary and evidence.
package network
