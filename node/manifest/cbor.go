package manifest

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Decoder limits. Inputs are already bounded in bytes (MaxManifestSize,
// MaxLocationsBytes) and the library checks that every claimed length fits
// the input before allocating; the array cap also bounds how far a small
// input can be amplified in memory (a 12-byte entry decodes to ~200 bytes).
// Legal lists are shorter: a 16 MiB manifest has at most 246,723 shards
// (68 bytes each) and 119,000 segments, so a receipt has at most that many
// positions, and a 32 MiB record fewer than 160,000 entries.
const (
	maxCBORArray  = 1 << 18
	maxCBORMap    = 16 // our maps have at most 11 keys; 16 is the library minimum
	maxCBORNested = 8  // deepest legal value: record → entries → entry → receipt → positions
)

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	eo := cbor.CoreDetEncOptions()
	// A nil slice must encode like an empty one, else null and [] would
	// both round-trip and one value would have two encodings.
	eo.NilContainers = cbor.NilContainerAsEmpty
	var err error
	if encMode, err = eo.EncMode(); err != nil {
		panic(fmt.Sprintf("manifest: cbor encoder options: %v", err))
	}
	decMode, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxArrayElements:  maxCBORArray,
		MaxMapPairs:       maxCBORMap,
		MaxNestedLevels:   maxCBORNested,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(fmt.Sprintf("manifest: cbor decoder options: %v", err))
	}
}

// marshal encodes v in Core Deterministic form. Our wire structs contain
// only integers, strings, byte strings and slices, so it cannot fail in
// practice; the error is kept for honesty.
func marshal(v any) ([]byte, error) {
	return encMode.Marshal(v)
}

// decodeStrict decodes exactly one CBOR value into v; Unmarshal rejects
// trailing bytes. Format 1 was JSON: say so rather than report a CBOR type
// error.
func decodeStrict(b []byte, v any) error {
	if len(b) > 0 && b[0] == '{' {
		return errors.New("input looks like JSON (format version 1), which is no longer read; store the file again")
	}
	return decMode.Unmarshal(b, v)
}

// checkCanonical rejects inputs that decode fine but are not the bytes we
// would emit (non-shortest integers or lengths, unsorted keys, null for an
// empty list, short byte strings zero-filled into arrays...), all of which
// would make a value malleable.
func checkCanonical(got, canon []byte) error {
	if bytes.Equal(got, canon) {
		return nil
	}
	i := 0
	for i < len(got) && i < len(canon) && got[i] == canon[i] {
		i++
	}
	return fmt.Errorf("not in canonical encoding (first difference at byte %d)", i)
}
