// Package wire frames Cairn's stream protocols: a 4-byte big-endian length, a CBOR header, then
// any raw body the header announces. Headers are small and strictly decoded; bulk bytes never go
// through CBOR.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/fxamacker/cbor/v2"
)

// MaxHeader bounds a header, so reading one costs at most 64 KiB (plus what decoding it into the
// caller's struct copies out of those bytes) before anything is validated.
const MaxHeader = 64 << 10

// Decoding limits beyond the frame size: a has-batch is the largest array (1024 CIDs), and no
// header is a deep or wide structure.
const (
	maxArray  = 4096
	maxPairs  = 64
	maxNested = 8
)

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	// Core deterministic encoding: shortest forms, sorted keys, so equal headers are equal bytes.
	if encMode, err = cbor.CoreDetEncOptions().EncMode(); err != nil {
		panic(fmt.Sprintf("wire: cbor encoder options: %v", err))
	}
	decMode, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   maxNested,
		MaxArrayElements:  maxArray,
		MaxMapPairs:       maxPairs,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		FieldNameMatching: cbor.FieldNameMatchingCaseSensitive,
		UTF8:              cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(fmt.Sprintf("wire: cbor decoder options: %v", err))
	}
}

// Marshal encodes v as a header would be encoded, without the frame.
func Marshal(v any) ([]byte, error) { return encMode.Marshal(v) }

// Unmarshal decodes one header body (no frame) into v with the strict rules of Read.
func Unmarshal(b []byte, v any) error {
	if err := decMode.Unmarshal(b, v); err != nil {
		return fmt.Errorf("wire: malformed header: %w", err)
	}
	return nil
}

// Write sends one framed header.
func Write(w io.Writer, v any) error {
	b, err := encMode.Marshal(v)
	if err != nil {
		return fmt.Errorf("wire: encode header: %w", err)
	}
	if len(b) > MaxHeader {
		return fmt.Errorf("wire: header of %d bytes exceeds %d", len(b), MaxHeader)
	}
	buf := make([]byte, 4+len(b))
	binary.BigEndian.PutUint32(buf, uint32(len(b)))
	copy(buf[4:], b)
	_, err = w.Write(buf)
	return err
}

// Read receives one framed header into v. It rejects oversized frames, trailing bytes, unknown
// or duplicate keys, keys that differ from a field's name only in case, indefinite lengths, tags
// and invalid UTF-8.
func Read(r io.Reader, v any) error {
	var lb [4]byte
	if _, err := io.ReadFull(r, lb[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("wire: truncated length: %w", err)
		}
		return err
	}
	n := binary.BigEndian.Uint32(lb[:])
	if n > MaxHeader {
		return fmt.Errorf("wire: header of %d bytes exceeds %d", n, MaxHeader)
	}
	// Grown as bytes arrive, not allocated from the announced length: a peer that announces
	// 64 KiB and stalls costs us what it sent.
	b, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil {
		return fmt.Errorf("wire: reading header: %w", err)
	}
	if len(b) != int(n) {
		return fmt.Errorf("wire: truncated header: %d of %d bytes", len(b), n)
	}
	return Unmarshal(b, v)
}

// Status ends most exchanges: OK, or a machine-readable code and a human reason.
type Status struct {
	OK    bool   `json:"ok"`
	Code  string `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
}

// Status codes a peer may send.
const (
	CodeNotFound  = "not_found"
	CodeMismatch  = "mismatch"
	CodeFull      = "full"
	CodeForbidden = "forbidden"
	CodeBadInput  = "bad_input"
	CodeInternal  = "internal"
	// CodeBusy: a memory budget or concurrency limit refused the request; retry later.
	CodeBusy = "busy"
	// CodeQuota: the sender's storage quota (per peer or per subnet) is used up.
	CodeQuota = "quota"
	// CodePaymentRequired: the sender's unsettled charges are above this node's threshold.
	CodePaymentRequired = "payment_required"
)

// RemoteError is a refusal reported by the other side.
type RemoteError struct {
	Code string
	Msg  string
}

func (e *RemoteError) Error() string { return fmt.Sprintf("peer refused (%s): %s", e.Code, e.Msg) }

// Err turns a Status into nil or a *RemoteError.
func (s Status) Err() error {
	if s.OK {
		return nil
	}
	return &RemoteError{Code: s.Code, Msg: s.Error}
}

// Fail builds a failed Status.
func Fail(code string, err error) Status { return Status{Code: code, Error: err.Error()} }

// IsCode tells whether err is a peer's refusal with the given code.
func IsCode(err error, code string) bool {
	var re *RemoteError
	return errors.As(err, &re) && re.Code == code
}
