// Package wire frames Cairn's stream protocols: a 4-byte big-endian length, a JSON header, then
// any raw body the header announces. Headers are small and strict; bulk bytes never go through JSON.
package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxHeader bounds a header so a peer cannot make us allocate much before we validate anything.
const MaxHeader = 1 << 20

// Write sends one framed header.
func Write(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
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

// Read receives one framed header into v, rejecting oversized frames, trailing data and unknown fields.
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
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return fmt.Errorf("wire: truncated header: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("wire: malformed header: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("wire: trailing data after header")
	}
	return nil
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
