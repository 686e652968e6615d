package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
)

const chunkSize = 1 << 20 // input generation and verification buffer

// writeInput writes -size bytes of ChaCha8 output in chunks, hashing as it goes.
func (b *bench) writeInput(ctx context.Context) error {
	b.input = filepath.Join(b.work, "input.bin")
	b.logf("writing %s input (%d bytes, seed %d)", humanBytes(b.opts.size), b.opts.size, b.opts.seed)
	f, err := os.OpenFile(b.input, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	h := sha256.New()
	err = b.writeRandom(ctx, f, h)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write input: %w", cerr)
	}
	if err != nil {
		return err
	}
	b.inputHash = h.Sum(nil)
	return nil
}

func (b *bench) writeRandom(ctx context.Context, f *os.File, h hash.Hash) error {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], b.opts.seed)
	rng := rand.NewChaCha8(seed)
	buf := make([]byte, chunkSize)
	for left := b.opts.size; left > 0; {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := buf[:min(int64(len(buf)), left)]
		rng.Read(p)
		h.Write(p)
		if _, err := f.Write(p); err != nil {
			return fmt.Errorf("write input: %w", err)
		}
		left -= int64(len(p))
	}
	return nil
}

// verify compares the download with the input by streaming SHA-256; on a mismatch it finds the
// first differing byte.
func (b *bench) verify(ctx context.Context, out string) error {
	f, err := os.Open(out)
	if err != nil {
		return fmt.Errorf("get succeeded but its output is missing: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, readerCtx{ctx, f}, make([]byte, chunkSize))
	if err != nil {
		return fmt.Errorf("read output: %w", err)
	}
	if n == b.opts.size && bytes.Equal(h.Sum(nil), b.inputHash) {
		return nil
	}
	return fmt.Errorf("BYTES DIFFER: downloaded %d bytes (input %d), sha256 %x, want %x; %s",
		n, b.opts.size, h.Sum(nil), b.inputHash, firstDifference(b.input, out))
}

// readerCtx stops a long read (hashing a large download) once the run is cancelled.
type readerCtx struct {
	ctx context.Context
	r   io.Reader
}

func (r readerCtx) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, context.Cause(r.ctx)
	}
	return r.r.Read(p)
}

func firstDifference(a, b string) string {
	fa, err := os.Open(a)
	if err != nil {
		return err.Error()
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return err.Error()
	}
	defer fb.Close()
	ba, bb := make([]byte, chunkSize), make([]byte, chunkSize)
	var off int64
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		m := min(na, nb)
		for i := range m {
			if ba[i] != bb[i] {
				return fmt.Sprintf("first difference at byte %d", off+int64(i))
			}
		}
		if na != nb {
			return fmt.Sprintf("identical up to byte %d, where the shorter file ends", off+int64(m))
		}
		if ea != nil || eb != nil {
			return "contents compare equal on a second read (the output changed while being checked?)"
		}
		off += int64(m)
	}
}
