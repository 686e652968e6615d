package node_test

import (
	"bytes"
	"testing"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/testnet"
)

// A put's partner tag, given or the node's default "connector", is fixed in the manifest; a
// malformed tag is refused before anything is stored.
func TestPartnerTagInManifest(t *testing.T) {
	net := testnet.Start(t, 4, func(i int, c *config.Config) {
		if i == 2 {
			c.Put.Partner = "connector.example"
		}
	})
	data := randomBytes(100<<10, 3)
	put := func(i int, partner string) (*api.PutResult, error) {
		return net.Nodes[i].Put(ctxT(t), bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 4, Partner: partner})
	}
	for _, c := range []struct {
		node          int
		given, tagged string
	}{{0, "blender.org", "blender.org"}, {0, "", ""}, {1, "", "connector.example"}, {1, "kicad", "kicad"}} {
		res, err := put(c.node, c.given)
		if err != nil {
			t.Fatal(err)
		}
		if got := statFrom(t, net.Nodes[3], res.Cap).Partner; got != c.tagged {
			t.Fatalf("node %d, --partner %q: manifest tag %q, want %q", c.node, c.given, got, c.tagged)
		}
	}
	if _, err := put(0, "Not A Tag"); err == nil {
		t.Fatal("a malformed partner tag was accepted")
	} else if ae, ok := err.(api.CodedError); !ok || ae.APICode() != api.CodeBadRequest {
		t.Fatalf("malformed tag: %v, want a bad_request", err)
	}
}
