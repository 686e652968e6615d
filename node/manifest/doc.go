// Package manifest defines Cairn's three small wire formats: the immutable
// file Manifest (content-addressed by a blake3 CID of its exact bytes), the
// read Capability that names a manifest and carries the file key, and the
// signed, replaceable Locations record that says which peer holds each shard.
//
// Every decoder here sits on a trust boundary: input comes from other peers
// or users. Decoders bound input size, reject unknown fields, validate every
// structural rule, and accept only the canonical encoding, so that one value
// has exactly one byte form (no malleability under the CID or signature).
package manifest
