package node_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/testnet"
)

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func apiCode(err error) string {
	var c api.CodedError
	if errors.As(err, &c) {
		return c.APICode()
	}
	return ""
}

func TestPutGetAcrossNodes(t *testing.T) {
	net := testnet.Start(t, 6, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	data := randomBytes(3<<20+12345, 1) // several 1 MiB segments and a partial one
	res, err := net.Nodes[0].Put(ctx, bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 5, Name: "f.bin"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Segments != 4 || res.K != 2 || res.N != 5 {
		t.Fatalf("unexpected result %+v", res)
	}
	var out bytes.Buffer
	var size int64 = -1
	if err := net.Nodes[4].Get(ctx, res.Cap, &out, func(s int64) { size = s }); err != nil {
		t.Fatal(err)
	}
	if size != int64(len(data)) || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("got %d bytes (announced %d), want %d identical", out.Len(), size, len(data))
	}
	st, err := net.Nodes[3].Stat(ctx, res.Cap)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Retrievable || len(st.Segments) != 4 || len(st.Stewards) < 2 {
		t.Fatalf("stat: %+v", st)
	}
	for _, s := range st.Segments {
		holders := map[string]bool{}
		for _, sh := range s.Shards {
			if !sh.Answers || holders[sh.Holder] {
				t.Fatalf("segment %d: shard %d holder %s answers=%v (duplicate holder?)", s.Index, sh.Index, sh.Holder, sh.Answers)
			}
			holders[sh.Holder] = true
		}
	}
}

func TestPutOverridesOnlyWhatIsGiven(t *testing.T) {
	net := testnet.Start(t, 6, nil) // config default k=4 n=8
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	data := randomBytes(1000, 3)
	res, err := net.Nodes[0].Put(ctx, bytes.NewReader(data), int64(len(data)), api.PutOptions{N: 6})
	if err != nil {
		t.Fatal(err)
	}
	if res.K != 4 || res.N != 6 {
		t.Fatalf("--n 6 alone gave k=%d n=%d, want k=4 (config) n=6", res.K, res.N)
	}
	if _, err := net.Nodes[0].Put(ctx, bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 1, N: 3}); apiCode(err) != api.CodeBadRequest {
		t.Fatalf("k=1: %v, want %s", err, api.CodeBadRequest)
	}
}
