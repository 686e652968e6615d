package codec

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/reedsolomon"
)

// smallParams keeps tests fast while exercising multi-segment files.
var smallParams = Params{K: 3, N: 6, SegmentSize: MinSegmentSize}

func testKey(seed byte) Key {
	var k Key
	for i := range k {
		k[i] = seed + byte(i)*7
	}
	return k
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// encodedSeg is a deep copy of an encoded segment, safe across Encodes.
type encodedSeg struct {
	index, plain, ss int
	shards           [][]byte
}

func encodeFile(t testing.TB, p Params, key Key, file []byte) []encodedSeg {
	t.Helper()
	enc, err := NewEncoder(p, key)
	if err != nil {
		t.Fatal(err)
	}
	total := SegmentCount(int64(len(file)), p.SegmentSize)
	var out []encodedSeg
	for i := range total {
		off := i * p.SegmentSize
		plain := file[off : off+SegmentPlainSize(int64(len(file)), p.SegmentSize, i)]
		seg, err := enc.Encode(i, total, int64(len(file)), plain)
		if err != nil {
			t.Fatalf("encode segment %d: %v", i, err)
		}
		if seg.Index != i || seg.PlainSize != len(plain) || seg.ShardSize != ShardSize(len(plain), p.K) ||
			len(seg.Shards) != p.N || len(seg.CIDs) != p.N {
			t.Fatalf("segment %d: bad header %+v", i, seg)
		}
		es := encodedSeg{index: i, plain: seg.PlainSize, ss: seg.ShardSize}
		for j, s := range seg.Shards {
			if len(s) != seg.ShardSize {
				t.Fatalf("segment %d shard %d: len %d, want %d", i, j, len(s), seg.ShardSize)
			}
			if seg.CIDs[j] != ShardCID(s) {
				t.Fatalf("segment %d shard %d: CID does not match shard", i, j)
			}
			es.shards = append(es.shards, bytes.Clone(s))
		}
		out = append(out, es)
	}
	return out
}

// withMissing returns a shallow copy of shards with the indexes in mask set to nil.
func withMissing(shards [][]byte, mask uint) [][]byte {
	out := make([][]byte, len(shards))
	for i := range shards {
		if mask&(1<<i) == 0 {
			out[i] = shards[i]
		}
	}
	return out
}

func TestRoundTripAllErasures(t *testing.T) {
	p := smallParams
	seg := p.SegmentSize
	key := testKey(1)
	dec, err := NewDecoder(p, key)
	if err != nil {
		t.Fatal(err)
	}
	var dst []byte
	for _, size := range []int{0, 1, seg - 1, seg, seg + 1, 3*seg + 12345} {
		file := randBytes(uint64(size), size)
		segs := encodeFile(t, p, key, file)
		if len(segs) != SegmentCount(int64(size), seg) {
			t.Fatalf("size %d: %d segments", size, len(segs))
		}
		var got []byte
		for _, s := range segs {
			want := file[s.index*seg : s.index*seg+s.plain]
			tried := 0
			for mask := uint(0); mask < 1<<p.N; mask++ {
				if bitsSet(mask) > p.N-p.K {
					continue
				}
				tried++
				in := withMissing(s.shards, mask)
				before := cloneShards(in)
				dst, err = dec.Decode(s.index, len(segs), int64(size), s.plain, s.ss, in, dst)
				if err != nil {
					t.Fatalf("size %d seg %d missing %06b: %v", size, s.index, mask, err)
				}
				if !bytes.Equal(dst, want) {
					t.Fatalf("size %d seg %d missing %06b: wrong plaintext", size, s.index, mask)
				}
				for i := range in {
					if in[i] != nil && !bytes.Equal(in[i], before[i]) {
						t.Fatalf("size %d seg %d missing %06b: Decode modified shard %d", size, s.index, mask, i)
					}
				}
			}
			if tried != 42 { // C(6,0)+C(6,1)+C(6,2)+C(6,3)
				t.Fatalf("tried %d erasure patterns", tried)
			}
			dst, err = dec.Decode(s.index, len(segs), int64(size), s.plain, s.ss, s.shards, dst)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, dst...)
		}
		if !bytes.Equal(got, file) {
			t.Fatalf("size %d: reassembled file differs", size)
		}
	}
}

func bitsSet(m uint) int {
	n := 0
	for ; m != 0; m &= m - 1 {
		n++
	}
	return n
}

func cloneShards(in [][]byte) [][]byte {
	out := make([][]byte, len(in))
	for i, s := range in {
		if s != nil {
			out[i] = bytes.Clone(s)
		}
	}
	return out
}

// TestFormat checks the encoder against an independent reading of
// contracts.md: GCM nonce/AAD, zero padding, systematic layout and the
// library's default RS parity.
func TestFormat(t *testing.T) {
	p := Params{K: 4, N: 7, SegmentSize: MinSegmentSize}
	key := testKey(9)
	size := 2*p.SegmentSize + 1001
	file := randBytes(5, size)
	segs := encodeFile(t, p, key, file)
	block, _ := aes.NewCipher(key[:])
	gcm, _ := cipher.NewGCM(block)
	rs, _ := reedsolomon.New(p.K, p.N-p.K)
	for _, s := range segs {
		ct := bytes.Join(s.shards[:p.K], nil)
		if pad := ct[s.plain+16:]; !bytes.Equal(pad, make([]byte, len(pad))) {
			t.Fatalf("segment %d: padding not zero", s.index)
		}
		nonce := make([]byte, 12)
		binary.BigEndian.PutUint64(nonce[4:], uint64(s.index))
		aad := []byte("cairn/v1")
		aad = binary.BigEndian.AppendUint64(aad, uint64(s.index))
		aad = binary.BigEndian.AppendUint64(aad, uint64(len(segs)))
		aad = binary.BigEndian.AppendUint64(aad, uint64(size))
		plain, err := gcm.Open(nil, nonce, ct[:s.plain+16], aad)
		if err != nil {
			t.Fatalf("segment %d: independent GCM open: %v", s.index, err)
		}
		off := s.index * p.SegmentSize
		if !bytes.Equal(plain, file[off:off+s.plain]) {
			t.Fatalf("segment %d: plaintext mismatch", s.index)
		}
		ok, err := rs.Verify(s.shards)
		if err != nil || !ok {
			t.Fatalf("segment %d: parity does not verify with default reedsolomon: %v", s.index, err)
		}
	}
}

func TestCorruptionDetected(t *testing.T) {
	p := smallParams
	key := testKey(2)
	size := p.SegmentSize + 501
	segs := encodeFile(t, p, key, randBytes(7, size))
	dec, _ := NewDecoder(p, key)
	s := segs[1]                            // short last segment: 517 bytes of ciphertext, 2 of padding
	padStart := s.plain + 16 - (p.K-1)*s.ss // in the last data shard
	if padStart >= s.ss {
		t.Fatal("test needs a segment with padding")
	}
	cases := []struct {
		name  string
		shard int
		off   int
		mask  uint // shards to drop
	}{
		{"data shard, all present", 0, 10, 0},
		{"middle data shard, all present", 1, s.ss - 1, 0},
		{"tag bytes", p.K - 1, padStart - 1, 0},
		{"padding", p.K - 1, padStart, 0},
		{"used parity during reconstruction", p.K, 3, 1 << 0},
		{"data shard during reconstruction", 2, 0, 1 << 1},
	}
	for _, c := range cases {
		shards := cloneShards(s.shards)
		shards[c.shard][c.off] ^= 0x40
		_, err := dec.Decode(s.index, len(segs), int64(size), s.plain, s.ss, withMissing(shards, c.mask), nil)
		if !errors.Is(err, ErrAuth) {
			t.Errorf("%s: error %v, want ErrAuth", c.name, err)
		}
	}
	// Control: the untouched shards still decode.
	if _, err := dec.Decode(s.index, len(segs), int64(size), s.plain, s.ss, s.shards, nil); err != nil {
		t.Fatal(err)
	}
}

func TestWrongKeyAndAAD(t *testing.T) {
	p := smallParams
	key := testKey(3)
	size := 4 * p.SegmentSize // all segments full, so coordinates can be swapped consistently
	segs := encodeFile(t, p, key, randBytes(11, size))
	s := segs[1]

	wrong, _ := NewDecoder(p, testKey(4))
	if _, err := wrong.Decode(1, 4, int64(size), s.plain, s.ss, s.shards, nil); !errors.Is(err, ErrAuth) {
		t.Errorf("wrong key: %v, want ErrAuth", err)
	}

	dec, _ := NewDecoder(p, key)
	// Each call is self-consistent, so only the AAD/nonce can reject it.
	bigger := int64(size + 1) // 5 segments, segment 1 still full
	for _, c := range []struct {
		name         string
		index, total int
		fileSize     int64
	}{
		{"index", 2, 4, int64(size)},
		{"total+fileSize", 1, 5, bigger},
		{"fileSize", 1, 4, int64(size - 1)},
	} {
		_, err := dec.Decode(c.index, c.total, c.fileSize, s.plain, s.ss, s.shards, nil)
		if !errors.Is(err, ErrAuth) {
			t.Errorf("wrong %s: %v, want ErrAuth", c.name, err)
		}
	}
	// Inconsistent coordinates are rejected before decryption.
	for _, c := range []struct {
		index, total int
		fileSize     int64
		plain        int
	}{{1, 3, int64(size), s.plain}, {4, 4, int64(size), s.plain}, {1, 4, int64(size), s.plain - 1}, {0, 4, -1, s.plain}} {
		if _, err := dec.Decode(c.index, c.total, c.fileSize, c.plain, ShardSize(c.plain, p.K), s.shards, nil); err == nil {
			t.Errorf("inconsistent %+v accepted", c)
		}
	}
}

func TestTooFewShards(t *testing.T) {
	p := smallParams
	key := testKey(5)
	segs := encodeFile(t, p, key, randBytes(1, 1000))
	s := segs[0]
	dec, _ := NewDecoder(p, key)
	_, err := dec.Decode(0, 1, 1000, s.plain, s.ss, withMissing(s.shards, 0b010101|0b001000), nil)
	if !errors.Is(err, ErrTooFewShards) {
		t.Fatalf("error %v, want ErrTooFewShards", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "2 of 6") || !strings.Contains(msg, "need 3") {
		t.Fatalf("error %q does not say how many shards of how many", msg)
	}
	// Malformed input.
	if _, err := dec.Decode(0, 1, 1000, s.plain, s.ss, s.shards[:5], nil); err == nil {
		t.Error("accepted 5 shard slots for N=6")
	}
	bad := withMissing(s.shards, 0)
	bad[4] = bad[4][:s.ss-1]
	if _, err := dec.Decode(0, 1, 1000, s.plain, s.ss, bad, nil); err == nil || !strings.Contains(err.Error(), "shard 4") {
		t.Errorf("short shard: %v", err)
	}
	if _, err := dec.Decode(0, 1, 1000, s.plain, s.ss+1, s.shards, nil); err == nil {
		t.Error("accepted wrong shardSize")
	}
}

func TestEncodeRejectsBadCoordinates(t *testing.T) {
	p := smallParams
	enc, _ := NewEncoder(p, testKey(6))
	plain := make([]byte, 100)
	for _, c := range []struct {
		index, total int
		size         int64
	}{{0, 2, 100}, {1, 1, 100}, {-1, 1, 100}, {0, 1, 101}, {0, 1, -5}} {
		if _, err := enc.Encode(c.index, c.total, c.size, plain); err == nil {
			t.Errorf("Encode accepted %+v", c)
		}
	}
}

// TestContiguousDecode covers the zero-copy path: data shards that are
// consecutive slices of one buffer must decode without being modified.
func TestContiguousDecode(t *testing.T) {
	p := smallParams
	key := testKey(7)
	file := randBytes(3, 5000)
	s := encodeFile(t, p, key, file)[0]
	buf := bytes.Join(s.shards, nil)
	orig := bytes.Clone(buf)
	shards := make([][]byte, p.N)
	for i := range shards {
		shards[i] = buf[i*s.ss : (i+1)*s.ss]
	}
	if !contiguous(shards[:p.K], s.ss) || contiguous(s.shards[:p.K], s.ss) {
		t.Fatal("contiguous() misclassifies")
	}
	dec, _ := NewDecoder(p, key)
	got, err := dec.Decode(0, 1, 5000, s.plain, s.ss, shards, nil)
	if err != nil || !bytes.Equal(got, file) || !bytes.Equal(buf, orig) {
		t.Fatalf("contiguous decode: err=%v ok=%v unmodified=%v", err, bytes.Equal(got, file), bytes.Equal(buf, orig))
	}
	buf[3] ^= 1
	if _, err := dec.Decode(0, 1, 5000, s.plain, s.ss, shards, nil); !errors.Is(err, ErrAuth) {
		t.Fatalf("corrupted contiguous shards: %v", err)
	}
}

// TestNoSteadyStateAllocation guards the hot path: after warm-up, Encode and
// Decode must not allocate segment-sized buffers.
func TestNoSteadyStateAllocation(t *testing.T) {
	p := Params{K: 4, N: 8, SegmentSize: 1 << 20}
	key := testKey(8)
	size := 3 * p.SegmentSize
	file := randBytes(4, size)
	enc, _ := NewEncoder(p, key)
	dec, _ := NewDecoder(p, key)
	dst := make([]byte, 0, p.SegmentSize)
	run := func() {
		for i := range 3 {
			seg, err := enc.Encode(i, 3, int64(size), file[i*p.SegmentSize:(i+1)*p.SegmentSize])
			if err != nil {
				t.Fatal(err)
			}
			in := withMissing(seg.Shards, 1<<1|1<<5) // forces reconstruction
			if dst, err = dec.Decode(i, 3, int64(size), seg.PlainSize, seg.ShardSize, in, dst); err != nil {
				t.Fatal(err)
			}
		}
	}
	run() // warm-up
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	run()
	runtime.ReadMemStats(&m1)
	if perSeg := (m1.TotalAlloc - m0.TotalAlloc) / 3; perSeg > 64<<10 {
		t.Fatalf("%d bytes allocated per segment after warm-up", perSeg)
	}
}
