package audit

import (
	"bytes"
	"encoding/binary"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/ipfs/go-cid"
	"lukechampine.com/blake3"
	"lukechampine.com/blake3/bao"
)

// tb is what the helpers need of *testing.T, *testing.B and *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// shard is a stored shard as a holder has it: bytes, outboard and CID.
type shard struct {
	data     []byte
	outboard []byte
	cid      cid.Cid
}

// newShard builds a deterministic pseudorandom shard of size bytes.
func newShard(t tb, seed uint64, size int) shard {
	t.Helper()
	data := make([]byte, size)
	x := blake3.New(32, nil)
	x.Write(binary.BigEndian.AppendUint64(nil, seed))
	x.XOF().Read(data)
	ob, root := bao.EncodeBuf(data, codec.BaoGroup, true)
	c := codec.CIDFromDigest(codec.CodecRaw, root)
	if !c.Equals(codec.ShardCID(data)) {
		t.Fatal("bao root differs from the shard CID digest")
	}
	return shard{data: data, outboard: ob, cid: c}
}

func (s shard) size() int64 { return int64(len(s.data)) }

func (s shard) prove(t tb, rs []Range) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Prove(&buf, bytes.NewReader(s.data), s.outboard, s.size(), rs); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != ProofSize(s.size(), rs) {
		t.Fatalf("Prove wrote %d bytes, ProofSize says %d", buf.Len(), ProofSize(s.size(), rs))
	}
	return buf.Bytes()
}

func nonce(i uint64) [32]byte {
	var n [32]byte
	binary.BigEndian.PutUint64(n[:], i)
	return n
}
