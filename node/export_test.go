package node

import (
	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/ipfs/go-cid"
)

// Test access for the external tests in package node_test.

// SetTestHookAfterTombstones sets the hook rm runs after its first tombstone round.
func SetTestHookAfterTombstones(f func(manifest cid.Cid)) { testHookAfterTombstones = f }

// ManifestCopy returns n's copy of manifest mc and its record, as a steward keeps them.
func ManifestCopy(n *Node, mc cid.Cid) (body, loc []byte, err error) { return n.stewards.Load(mc) }

// TakeManifestCopy makes n keep a manifest copy as a newly appointed steward does.
func TakeManifestCopy(n *Node, mc cid.Cid, body, loc []byte) error {
	return n.stewards.Accept(transfer.Origin{}, mc, body, loc).Err()
}

// HasRemoval reports whether n holds a tombstone for mc.
func HasRemoval(n *Node, mc cid.Cid) bool {
	_, ok := n.stewards.RemovalOf(mc)
	return ok
}
