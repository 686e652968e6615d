package payments

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// entrySeeds are shared by f.Add and the committed corpus (TestWriteEntryFuzzSeeds): one valid
// entry of each kind, then near misses that steer the fuzzer into the deeper checks.
func entrySeeds(t fataler) [][]byte {
	valid := oneOfEachKind(t)
	price := valid[2]
	return append(valid,
		mutate(t, price, func(e *Entry) { e.Version = 2 }),
		mutate(t, price, func(e *Entry) { e.Seq = 2 }),
		mutate(t, price, func(e *Entry) { e.Body = []byte{0xa1, 0x01, 0x01} }),
		append(bytes.Clone(price), 0),
		[]byte{0xa0},
		[]byte(`{"version":1}`),
	)
}

const validEntrySeeds = 6

func FuzzDecodeEntry(f *testing.F) {
	for _, s := range entrySeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// The validator must refuse or accept without panicking, whatever Decode says.
		v := NewValidator(ValidatorParams{})
		_, _, addErr := v.Add(b, fixtureTime+10)
		e, err := Decode(b)
		if err != nil {
			if ReasonOf(err) == "" {
				t.Fatalf("Decode error without a reason: %v", err)
			}
			if addErr == nil {
				t.Fatal("Add accepted what Decode refuses")
			}
			return
		}
		enc, err := Encode(e)
		if err != nil {
			t.Fatalf("decoded entry does not encode: %v", err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("accepted non-canonical bytes:\n in %x\nout %x", b, enc)
		}
		e2, err := Decode(enc)
		if err != nil || !reflect.DeepEqual(e, e2) {
			t.Fatalf("re-decode: %v", err)
		}
		_ = e.VerifySig()
	})
}

// TestEntryFuzzSeedsValid keeps the valid seeds valid as the format evolves, so the fuzzer keeps
// starting from inputs that reach the accept path.
func TestEntryFuzzSeedsValid(t *testing.T) {
	for i, b := range entrySeeds(t) {
		v := NewValidator(ValidatorParams{})
		_, _, err := v.Add(b, fixtureTime+10)
		if valid := i < validEntrySeeds; (err == nil) != valid {
			t.Fatalf("seed %d: valid=%v, error %v", i, valid, err)
		}
		if len(b) > 1200 {
			t.Fatalf("seed %d is %d bytes: keep seeds small", i, len(b))
		}
	}
}

var writeEntrySeeds = flag.Bool("write-entry-seeds", false, "rewrite testdata/fuzz/FuzzDecodeEntry from entrySeeds")

// TestWriteEntryFuzzSeeds regenerates the committed corpus:
//
//	go test ./payments -run TestWriteEntryFuzzSeeds -write-entry-seeds
func TestWriteEntryFuzzSeeds(t *testing.T) {
	if !*writeEntrySeeds {
		t.Skip("run with -write-entry-seeds to regenerate testdata/fuzz/FuzzDecodeEntry")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeEntry")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range entrySeeds(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
