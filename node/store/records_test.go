package store

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestRecordsCountAgainstCapacity(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true, Capacity: 10_000})
	_, h := token("1")
	mustPut(t, s, randBytes(1, 4000), h)
	must(t, s.PutRecord("k", make([]byte, 999))) // 1 + 999 bytes
	if s.Used() != 5000 || s.Free() != 5000 {
		t.Fatalf("Used=%d Free=%d", s.Used(), s.Free())
	}
	// Replacing adjusts by the difference, both ways.
	must(t, s.PutRecord("k", make([]byte, 5999)))
	if s.Used() != 10_000 || s.Free() != 0 {
		t.Fatalf("after growing: Used=%d Free=%d", s.Used(), s.Free())
	}
	wantErr(t, s.PutRecord("k", make([]byte, 6000)), ErrFull)
	wantErr(t, s.PutRecord("k2", nil), ErrFull)
	_, err := s.Put(cidOf(t, []byte{1}), 1, failReader{t}, Ref{DeleteHash: h})
	wantErr(t, err, ErrFull)
	if v, _ := s.GetRecord("k"); len(v) != 5999 {
		t.Fatalf("refused PutRecord changed the record to %d bytes", len(v))
	}
	must(t, s.PutRecord("k", make([]byte, 99)))
	if s.Used() != 4100 {
		t.Fatalf("after shrinking: Used=%d", s.Used())
	}
	must(t, s.DeleteRecord("k"))
	must(t, s.DeleteRecord("k"))
	if s.Used() != 4000 {
		t.Fatalf("after delete: Used=%d", s.Used())
	}
}

func TestLargeRecordRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Options{NoSync: true})
	big := randBytes(5, 5<<20)
	must(t, s.PutRecord("loc/big", big))
	got, err := s.GetRecord("loc/big")
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("5 MiB record: %v", err)
	}
	s.Close()
	s = openTest(t, dir, Options{NoSync: true})
	if s.Used() != int64(len("loc/big")+len(big)) {
		t.Fatalf("Used after reopen = %d", s.Used())
	}
}

func TestListRecords(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	n := listPage*2 + 3
	want := map[string]string{}
	for i := range n {
		k, v := fmt.Sprintf("tomb/%05d", i), fmt.Sprintf("v%d", i)
		must(t, s.PutRecord(k, []byte(v)))
		want[k] = v
	}
	// Large values force pages bounded by bytes rather than count.
	for i := range 5 {
		k := fmt.Sprintf("tomb/big%d", i)
		must(t, s.PutRecord(k, bytes.Repeat([]byte{byte(i)}, 3<<20)))
		want[k] = string(bytes.Repeat([]byte{byte(i)}, 3<<20))
	}
	must(t, s.PutRecord("tomc", []byte("x")))
	must(t, s.PutRecord("loc/1", []byte("y")))

	prev := ""
	err := s.ListRecords("tomb/", func(k string, v []byte) error {
		if want[k] != string(v) || k <= prev {
			t.Fatalf("ListRecords gave %q (after %q), unexpected or out of order", k, prev)
		}
		prev = k
		delete(want, k)
		return s.DeleteRecord(k) // fn may modify records
	})
	if err != nil || len(want) != 0 {
		t.Fatalf("ListRecords: %v, %d not seen", err, len(want))
	}
	var rest []string
	must(t, s.ListRecords("", func(k string, _ []byte) error { rest = append(rest, k); return nil }))
	if fmt.Sprint(rest) != "[loc/1 tomc]" {
		t.Fatalf("left after deleting tomb/: %v", rest)
	}
	stop := errors.New("stop")
	if err := s.ListRecords("", func(string, []byte) error { return stop }); err != stop {
		t.Fatalf("ListRecords did not return fn's error: %v", err)
	}
	if s.Used() != int64(len("tomc")+1+len("loc/1")+1) {
		t.Fatalf("Used = %d", s.Used())
	}
}
