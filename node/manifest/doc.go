// Package manifest defines Cairn's wire formats, version 2: the immutable
// file Manifest (content-addressed by a blake3 CID of its exact bytes), the
// read Capability that names a manifest and carries the file key, the
// sealed file metadata inside a manifest, and the Locations record that
// says which peers hold which shards.
//
// All binary formats are CBOR in Core Deterministic form with integer keys.
// Every decoder here sits on a trust boundary: input comes from other peers
// or users. Decoders bound input size, reject unknown fields, tags and
// indefinite lengths, validate every structural rule, and accept only the
// canonical encoding, so that one value has exactly one byte form (no
// malleability under a CID or a signature). Format 1 (JSON) is refused.
//
// Who may say where shards are: a holder counts for a shard only if it
// signed a storage Receipt naming that shard's CID, and that receipt is
// endorsed by the manifest's Owner or by a strict majority of one steward
// set in the record's steward chain (epoch 0 appointed by the Owner, each
// later epoch by a majority of the one before). Records are merged as sets,
// so a peer serving a record can withhold entries but cannot forge them,
// and merging with any other copy restores what it withheld.
package manifest
