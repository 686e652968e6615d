package node_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/testnet"
)

// BenchmarkPutGet moves a 64 MiB file through 10 in-process nodes with the default 4-of-8
// scheme and 16 MiB segments. All nodes share this machine's cores, as in a devnet.
func BenchmarkPutGet(b *testing.B) {
	net := testnet.Start(b, 10, func(_ int, c *config.Config) { c.Put.SegmentSize = 16 << 20 })
	data := randomBytes(64<<20, 9)
	ctx := context.Background()
	var capStr string
	b.Run("put", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			res, err := net.Nodes[0].Put(ctx, bytes.NewReader(data), int64(len(data)), api.PutOptions{})
			if err != nil {
				b.Fatal(err)
			}
			capStr = res.Cap
		}
	})
	b.Run("get", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if err := net.Nodes[5].Get(ctx, capStr, io.Discard, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
