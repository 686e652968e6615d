package payments

import (
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Settlement reads a million usage bodies per epoch, so it decodes them into views: structs with
// only the fields it needs, under the key numbers of types.go, whose byte and text strings land
// in buffers reused from body to body. Reading a body then allocates nothing (decoding into
// Download or Storage allocates every byte string: about 2 µs and 8 allocations a body).
// TestSettleViewsMatchTypes keeps the views in step with the body types.

// scratchBytes takes a CBOR byte string into its existing capacity.
type scratchBytes []byte

func (b *scratchBytes) UnmarshalBinary(data []byte) error {
	*b = append((*b)[:0], data...)
	return nil
}

// scratchText takes a CBOR text string into its existing capacity.
type scratchText []byte

func (b *scratchText) UnmarshalText(data []byte) error {
	*b = append((*b)[:0], data...)
	return nil
}

// downloadView is the part of a Download settlement reads.
type downloadView struct {
	Server  scratchBytes `cbor:"1,keyasint"`
	Owner   scratchBytes `cbor:"4,keyasint"`
	Partner scratchText  `cbor:"5,keyasint,omitempty"`
	Bytes   int64        `cbor:"6,keyasint"`
}

// storageView is the part of a Storage attestation settlement reads.
type storageView struct {
	Holder  scratchBytes `cbor:"1,keyasint"`
	Shard   scratchBytes `cbor:"3,keyasint"`
	Owner   scratchBytes `cbor:"4,keyasint"`
	Partner scratchText  `cbor:"5,keyasint,omitempty"`
	Bytes   int64        `cbor:"6,keyasint"`
	From    int64        `cbor:"7,keyasint"`
	To      int64        `cbor:"8,keyasint"`
}

// viewDec decodes views. Bodies were validated by the caller, so it is no stricter than
// cbor.Unmarshal, except that text strings go through scratchText.
var viewDec = func() cbor.DecMode {
	m, err := cbor.DecOptions{TextUnmarshaler: cbor.TextUnmarshalerTextString}.DecMode()
	if err != nil {
		panic(fmt.Sprintf("payments: settlement decoder options: %v", err))
	}
	return m
}()

// decode reads body into v, keeping its buffers; absent fields read as zero, as they would in a
// fresh struct.
func (v *downloadView) decode(body []byte) error {
	*v = downloadView{Server: v.Server[:0], Owner: v.Owner[:0], Partner: v.Partner[:0]}
	return viewDec.Unmarshal(body, v)
}

func (v *storageView) decode(body []byte) error {
	*v = storageView{Holder: v.Holder[:0], Shard: v.Shard[:0], Owner: v.Owner[:0], Partner: v.Partner[:0]}
	return viewDec.Unmarshal(body, v)
}
