package store

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
)

// gatedReader blocks its first Read until gate closes, so that all Puts have
// reserved capacity before any finishes.
type gatedReader struct {
	gate <-chan struct{}
	r    io.Reader
}

func (g *gatedReader) Read(p []byte) (int, error) {
	<-g.gate
	return g.r.Read(p)
}

func TestCapacity(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Options{NoSync: true, Capacity: 10_000})
	tok, h := token("1")
	aData := randBytes(1, 6000)
	a := mustPut(t, s, aData, h)
	if s.Free() != 4000 || s.Capacity() != 10_000 {
		t.Fatalf("Free = %d, Capacity = %d", s.Free(), s.Capacity())
	}
	b := randBytes(2, 6000)
	_, err := s.Put(cidOf(t, b), 6000, failReader{t}, Ref{DeleteHash: h})
	wantErr(t, err, ErrFull)
	mustPut(t, s, randBytes(3, 4000), h) // exactly fills it
	_, err = s.Put(cidOf(t, []byte{1}), 1, failReader{t}, Ref{DeleteHash: h})
	wantErr(t, err, ErrFull)
	// An existing blob still gains refs when full: no new bytes.
	_, h2 := token("2")
	if existed, err := s.Put(a, 6000, bytes.NewReader(aData), Ref{DeleteHash: h2}); !existed || err != nil {
		t.Fatalf("ref on full store: %v %v", existed, err)
	}
	if err := s.Delete(a, tok); err != nil {
		t.Fatal(err)
	}
	// a still has h2's ref, so no space came back.
	_, err = s.Put(cidOf(t, b), 6000, failReader{t}, Ref{DeleteHash: h})
	wantErr(t, err, ErrFull)
	tok2, _ := token("2")
	if err := s.Delete(a, tok2); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, b, h)
	if s.Used() != 10_000 || s.Free() != 0 {
		t.Fatalf("Used=%d Free=%d", s.Used(), s.Free())
	}
}

func TestCapacityConcurrent(t *testing.T) {
	const (
		blob  = 20_000
		fit   = 5
		tries = 24
	)
	dir := t.TempDir()
	s := openTest(t, dir, Options{NoSync: true, Capacity: fit * blob})
	_, h := token("1")
	gate := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok, full int
	for i := range tries {
		data := randBytes(uint64(100+i), blob)
		c := cidOf(t, data)
		wg.Go(func() {
			_, err := s.Put(c, blob, &gatedReader{gate, bytes.NewReader(data)}, Ref{DeleteHash: h})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrFull):
				full++
			default:
				t.Errorf("Put: %v", err)
				full = tries // unblock the wait below; the test has failed
			}
		})
	}
	// Everyone is either blocked in Read holding a reservation, or refused.
	for {
		mu.Lock()
		done := full
		mu.Unlock()
		if done == tries-fit {
			break
		}
		if done > tries-fit {
			t.Fatalf("%d refused, want %d", done, tries-fit)
		}
		if s.reservedBytes() > fit*blob {
			t.Fatalf("reserved %d > capacity", s.reservedBytes())
		}
		time.Sleep(time.Millisecond)
	}
	close(gate)
	wg.Wait()
	if ok != fit || full != tries-fit {
		t.Fatalf("ok=%d full=%d, want %d/%d", ok, full, fit, tries-fit)
	}
	if s.Used() != fit*blob || s.reservedBytes() != 0 || len(blobFiles(t, dir)) != fit {
		t.Fatalf("Used=%d reserved=%d files=%d", s.Used(), s.reservedBytes(), len(blobFiles(t, dir)))
	}
}

func TestConcurrentSameCID(t *testing.T) {
	dir := t.TempDir()
	// Concurrent Puts of one CID read their bodies in parallel, each holding its own reservation
	// (none waits on another's uploader), so capacity must fit them all while they run.
	s := openTest(t, dir, Options{NoSync: true, Capacity: 3 << 20})
	data := randBytes(1, 300_000)
	c := cidOf(t, data)
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	for i := range n {
		_, h := token(string(rune('a' + i)))
		wg.Go(func() {
			existed, err := s.Put(c, int64(len(data)), bytes.NewReader(data), Ref{DeleteHash: h})
			if err != nil {
				t.Errorf("Put: %v", err)
			}
			mu.Lock()
			if !existed {
				fresh++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if fresh != 1 || s.Used() != int64(len(data)) || len(blobFiles(t, dir)) != 1 {
		t.Fatalf("fresh=%d used=%d files=%v", fresh, s.Used(), blobFiles(t, dir))
	}
	if err := s.Verify(c); err != nil {
		t.Fatal(err)
	}
	// Every Put's ref was recorded: it takes all n tokens to delete.
	for i := range n {
		if !s.Has(c) {
			t.Fatalf("blob gone after %d of %d deletes", i, n)
		}
		tok, _ := token(string(rune('a' + i)))
		if err := s.Delete(c, tok); err != nil {
			t.Fatal(err)
		}
	}
	if s.Has(c) || len(blobFiles(t, dir)) != 0 {
		t.Fatal("blob survived all deletes")
	}
}

// Mixed parallel traffic on distinct and shared CIDs, for -race.
func TestConcurrentMixed(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	blobs := make([][]byte, 6)
	for i := range blobs {
		blobs[i] = randBytes(uint64(i), 40_000+i)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			tok, h := token(string(rune('A' + w)))
			for i := range 20 {
				data := blobs[(w+i)%len(blobs)]
				c := cidOf(t, data)
				if _, err := s.Put(c, int64(len(data)), bytes.NewReader(data), Ref{DeleteHash: h}); err != nil {
					t.Error(err)
					return
				}
				if f, _, err := s.Open(c); err == nil {
					f.Close()
				}
				s.Has(c)
				s.List(func(cid.Cid, int64) error { return nil })
				if err := s.Delete(c, tok); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if s.Used() != 0 {
		t.Fatalf("Used = %d after all deletes", s.Used())
	}
}
