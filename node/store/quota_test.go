package store

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func acct(h [32]byte, account, subnet string) Ref {
	return Ref{DeleteHash: h, Account: account, Subnet: subnet}
}

func TestPeerQuota(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true, PeerQuota: 10_000})
	tokA, hA := token("a")
	_, hB := token("b")
	a1, a2 := randBytes(1, 6000), randBytes(2, 6000)
	c1 := cidOf(t, a1)
	if _, err := s.Put(c1, 6000, bytes.NewReader(a1), acct(hA, "A", "")); err != nil {
		t.Fatal(err)
	}
	// Refused before anything is read, naming the account.
	_, err := s.Put(cidOf(t, a2), 6000, failReader{t}, acct(hA, "A", ""))
	wantErr(t, err, ErrQuota)
	if !bytes.Contains([]byte(err.Error()), []byte("account A")) {
		t.Errorf("error does not say which account: %v", err)
	}
	// Others, and this node itself, are not affected.
	b := randBytes(3, 9000)
	cb := cidOf(t, b)
	if _, err := s.Put(cb, 9000, bytes.NewReader(b), acct(hB, "B", "")); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, randBytes(4, 20_000), hA)
	// A reference to a stored blob is charged too: checked before reading.
	_, err = s.Put(cb, 9000, failReader{t}, acct(hA, "A", ""))
	wantErr(t, err, ErrQuota)
	if s.Usage("A") != 6000 || s.Usage("B") != 9000 || s.Usage("") != 20_000 {
		t.Fatalf("Usage A=%d B=%d self=%d", s.Usage("A"), s.Usage("B"), s.Usage(""))
	}
	// A delete admits again.
	if err := s.Delete(c1, tokA); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(cb, 9000, bytes.NewReader(b), acct(hA, "A", "")); err != nil {
		t.Fatal(err)
	}
	if s.Usage("A") != 9000 || s.Used() != 29_000 {
		t.Fatalf("Usage A=%d Used=%d", s.Usage("A"), s.Used())
	}
}

func TestSubnetQuota(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true, SubnetQuota: 10_000})
	tok, h := token("1")
	_, h2 := token("2")
	d1, d2 := randBytes(1, 6000), randBytes(2, 6000)
	c1, c2 := cidOf(t, d1), cidOf(t, d2)
	if _, err := s.Put(c1, 6000, bytes.NewReader(d1), acct(h, "A", "10.0.0.0/24")); err != nil {
		t.Fatal(err)
	}
	// Another identity from the same subnet shares its quota.
	_, err := s.Put(c2, 6000, failReader{t}, acct(h, "B", "10.0.0.0/24"))
	wantErr(t, err, ErrQuota)
	if !bytes.Contains([]byte(err.Error()), []byte("subnet 10.0.0.0/24")) {
		t.Errorf("error does not say which subnet: %v", err)
	}
	_, err = s.Put(c1, 6000, failReader{t}, acct(h2, "B", "10.0.0.0/24"))
	wantErr(t, err, ErrQuota)
	if _, err := s.Put(c2, 6000, bytes.NewReader(d2), acct(h, "B", "10.0.1.0/24")); err != nil {
		t.Fatal(err)
	}
	if s.SubnetUsage("10.0.0.0/24") != 6000 || s.SubnetUsage("10.0.1.0/24") != 6000 {
		t.Fatalf("SubnetUsage %d %d", s.SubnetUsage("10.0.0.0/24"), s.SubnetUsage("10.0.1.0/24"))
	}
	if err := s.Delete(c1, tok); err != nil {
		t.Fatal(err)
	}
	if s.SubnetUsage("10.0.0.0/24") != 0 {
		t.Fatalf("SubnetUsage after delete = %d", s.SubnetUsage("10.0.0.0/24"))
	}
	if _, err := s.Put(c2, 6000, bytes.NewReader(d2), acct(h2, "C", "10.0.0.0/24")); err != nil {
		t.Fatal(err)
	}
}

// One account's concurrent Puts, all holding reservations at once, never
// exceed its quota, and neither do its subnet's.
func TestQuotaConcurrent(t *testing.T) {
	const (
		blob  = 10_000
		fit   = 4
		tries = 20
	)
	_, h := token("x")
	for _, tc := range []struct {
		name string
		opt  Options
		ref  func(i int) Ref
	}{
		{"peer", Options{PeerQuota: fit * blob}, func(i int) Ref { return acct(h, "A", "") }},
		{"subnet", Options{SubnetQuota: fit * blob}, func(i int) Ref {
			return acct(h, string(rune('a'+i)), "10.9.0.0/24")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opt.NoSync = true
			s := openTest(t, t.TempDir(), tc.opt)
			gate := make(chan struct{})
			var wg sync.WaitGroup
			var ok, refused atomic.Int32
			for i := range tries {
				data := randBytes(uint64(200+i), blob)
				c := cidOf(t, data)
				wg.Go(func() {
					_, err := s.Put(c, blob, &gatedReader{gate, bytes.NewReader(data)}, tc.ref(i))
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, ErrQuota):
						refused.Add(1)
					default:
						t.Errorf("Put: %v", err)
						refused.Add(tries)
					}
				})
			}
			for refused.Load() < tries-fit {
				if u := max(s.Usage("A"), s.SubnetUsage("10.9.0.0/24")); u > fit*blob {
					t.Fatalf("charged %d > quota", u)
				}
				time.Sleep(time.Millisecond)
			}
			close(gate)
			wg.Wait()
			if ok.Load() != fit || refused.Load() != tries-fit {
				t.Fatalf("ok=%d refused=%d, want %d/%d", ok.Load(), refused.Load(), fit, tries-fit)
			}
			if u := max(s.Usage("A"), s.SubnetUsage("10.9.0.0/24")); u != fit*blob || s.Used() != fit*blob {
				t.Fatalf("charged %d, Used %d", u, s.Used())
			}
		})
	}
}

func TestMaxPendingPerAccount(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true, MaxPendingPerAccount: 2})
	_, h := token("1")
	gate := make(chan struct{})
	var wg sync.WaitGroup
	stored := randBytes(9, 500)
	cs := mustPut(t, s, stored, h)
	for i := range 2 {
		data := randBytes(uint64(i), 1000)
		if i == 1 { // a proof of possession is a Put in flight too
			data = stored
		}
		_, hi := token(string(rune('p' + i)))
		wg.Go(func() {
			if _, err := s.Put(cidOf(t, data), int64(len(data)), &gatedReader{gate, bytes.NewReader(data)}, acct(hi, "A", "")); err != nil {
				t.Error(err)
			}
		})
	}
	for s.pending("A") < 2 {
		time.Sleep(time.Millisecond)
	}
	third := randBytes(3, 1000)
	_, err := s.Put(cidOf(t, third), 1000, failReader{t}, acct(h, "A", ""))
	wantErr(t, err, ErrQuota)
	// Other accounts and this node are not held up.
	mustPut(t, s, randBytes(4, 10), h)
	if _, err := s.Put(cidOf(t, third), 1000, bytes.NewReader(third), acct(h, "B", "")); err != nil {
		t.Fatal(err)
	}
	close(gate)
	wg.Wait()
	// Failed Puts release their slot as well.
	for range 3 {
		_, err := s.Put(cs, 500, bytes.NewReader(third[:500]), acct(h, "A", ""))
		wantErr(t, err, ErrMismatch)
	}
	if s.pending("A") != 0 || s.Usage("A") != 1500 {
		t.Fatalf("pending %d, Usage %d", s.pending("A"), s.Usage("A"))
	}
	if _, err := s.Put(cidOf(t, third), 1000, bytes.NewReader(third), acct(h, "A", "")); err != nil {
		t.Fatal(err)
	}
}

// Failed Puts of either kind leave nothing charged or reserved.
func TestFailedPutsReleaseCharges(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true, PeerQuota: 1 << 20, SubnetQuota: 1 << 20, Capacity: 1 << 20})
	_, h := token("1")
	_, h2 := token("2")
	stored := randBytes(1, 40_000)
	cs := mustPut(t, s, stored, h)
	fresh := randBytes(2, 40_000)
	bad := bytes.Clone(fresh)
	bad[0] ^= 1
	for _, tc := range []struct {
		name string
		c    []byte
		r    []byte
	}{
		{"new mismatch", fresh, bad},
		{"new short", fresh, fresh[:100]},
		{"ref mismatch", stored, bad},
		{"ref short", stored, stored[:39_999]},
	} {
		_, err := s.Put(cidOf(t, tc.c), 40_000, bytes.NewReader(tc.r), acct(h2, "A", "10.0.0.0/24"))
		if err == nil {
			t.Fatalf("%s accepted", tc.name)
		}
		if s.Usage("A") != 0 || s.SubnetUsage("10.0.0.0/24") != 0 || s.reservedBytes() != 0 || s.pending("A") != 0 ||
			s.Used() != 40_000 || s.HasRef(cs, h2) {
			t.Fatalf("%s: usage %d reserved %d pending %d used %d", tc.name, s.Usage("A"), s.reservedBytes(), s.pending("A"), s.Used())
		}
	}
}
