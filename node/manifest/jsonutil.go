package manifest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// decodeStrict decodes exactly one JSON value into v, rejecting unknown
// fields and trailing data.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

// checkCanonical rejects inputs that decode fine but are not the bytes we
// would emit: encoding/json tolerates case-insensitive and duplicate keys,
// whitespace, escapes and reordering, all of which would make a value
// malleable.
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

// decodeHex decodes lowercase hex only; uppercase would be a second encoding.
func decodeHex(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if hex.EncodeToString(b) != s {
		return nil, errors.New("hex must be lowercase")
	}
	return b, nil
}
