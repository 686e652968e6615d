package node_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/testnet"
)

// With ledger.max_unsettled set, holders refuse new shards from an uploader whose charges in
// the ledger exceed it, and keep taking them from others.
func TestAdmissionByUnsettledCharges(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for receipts to gossip and charges to refresh")
	}
	fixed := testnet.FixedPorts(t)
	net := testnet.Start(t, 5, func(i int, c *config.Config) {
		fixed(i, c)
		c.Ledger.EpochLength = config.Duration(time.Hour) // one epoch for the whole test
		c.Ledger.StatementDelay = config.Duration(time.Minute)
		c.Ledger.EgressPrice = 1_000_000_000 // 1,000 units per GiB: a small get costs a few hundred micro-units
		c.Ledger.MaxUnsettled = 100
	})
	ctx := ctxT(t)
	data := randomBytes(200<<10, 5)
	debtor, payer := net.Nodes[0], net.Nodes[1]
	res, err := debtor.Put(ctx, bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 4})
	if err != nil {
		t.Fatal(err)
	}
	// Downloads of the debtor's file charge it egress, through countersigned receipts.
	for _, nd := range net.Nodes[2:] {
		var out bytes.Buffer
		if err := nd.Get(ctx, res.Cap, &out, nil); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := debtor.Put(ctx, bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 4})
		if err != nil {
			if !strings.Contains(err.Error(), "unsettled") {
				t.Fatalf("put refused for another reason: %v", err)
			}
			t.Logf("refused: %v", err)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the debtor's puts are still admitted")
		}
		time.Sleep(time.Second)
	}
	if _, err := payer.Put(ctx, bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 4}); err != nil {
		t.Fatalf("an uploader without charges was refused: %v", err)
	}
}
