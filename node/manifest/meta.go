package manifest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"lukechampine.com/blake3"
)

// Meta is the user metadata of a file. It travels only sealed (SealMeta)
// inside the manifest, so stewards and holders never read it.
type Meta struct {
	Name string // optional original base name
}

const (
	metaKeyContext = "cairn v2 metadata"
	metaNonceSize  = 12
	// metaPad rounds the plaintext so the sealed length says little about
	// the name.
	metaPad = 32
)

type wireMeta struct {
	Name string `cbor:"1,keyasint"`
}

// SealMeta encrypts m for a manifest's Meta field with a key derived from
// the file key (never the segment key itself): AES-256-GCM, random 12-byte
// nonce prepended, plaintext = CBOR of m then zero bytes up to a multiple
// of 32.
func SealMeta(fileKey [32]byte, m Meta) ([]byte, error) {
	if err := validateName(m.Name); err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	body, err := marshal(&wireMeta{Name: m.Name})
	if err != nil {
		return nil, fmt.Errorf("meta: encode: %w", err)
	}
	plain := make([]byte, (len(body)+metaPad-1)/metaPad*metaPad)
	copy(plain, body)
	aead, err := metaAEAD(fileKey)
	if err != nil {
		return nil, err
	}
	out := make([]byte, metaNonceSize, metaNonceSize+len(plain)+gcmTagSize)
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("meta: nonce: %w", err)
	}
	out = aead.Seal(out, out[:metaNonceSize], plain, nil)
	if len(out) > MaxMetaSize {
		return nil, fmt.Errorf("meta: sealed metadata is %d bytes, max %d", len(out), MaxMetaSize)
	}
	return out, nil
}

// OpenMeta decrypts and strictly decodes a manifest's Meta field.
func OpenMeta(fileKey [32]byte, sealed []byte) (Meta, error) {
	if len(sealed) < MinMetaSize || len(sealed) > MaxMetaSize {
		return Meta{}, fmt.Errorf("meta: sealed metadata is %d bytes, want %d..%d", len(sealed), MinMetaSize, MaxMetaSize)
	}
	aead, err := metaAEAD(fileKey)
	if err != nil {
		return Meta{}, err
	}
	plain, err := aead.Open(nil, sealed[:metaNonceSize], sealed[metaNonceSize:], nil)
	if err != nil {
		return Meta{}, errors.New("meta: cannot decrypt (wrong file key or corrupted manifest)")
	}
	var w wireMeta
	rest, err := decMode.UnmarshalFirst(plain, &w)
	if err != nil {
		return Meta{}, fmt.Errorf("meta: %w", err)
	}
	body := plain[:len(plain)-len(rest)]
	canon, err := marshal(&w)
	if err != nil {
		return Meta{}, fmt.Errorf("meta: encode: %w", err)
	}
	if err := checkCanonical(body, canon); err != nil {
		return Meta{}, fmt.Errorf("meta: %w", err)
	}
	if want := (len(body) + metaPad - 1) / metaPad * metaPad; len(plain) != want {
		return Meta{}, fmt.Errorf("meta: padded to %d bytes, want %d", len(plain), want)
	}
	for _, b := range rest {
		if b != 0 {
			return Meta{}, errors.New("meta: non-zero padding")
		}
	}
	if err := validateName(w.Name); err != nil {
		return Meta{}, fmt.Errorf("meta: %w", err)
	}
	return Meta{Name: w.Name}, nil
}

func metaAEAD(fileKey [32]byte) (cipher.AEAD, error) {
	var k [32]byte
	blake3.DeriveKey(k[:], metaKeyContext, fileKey[:])
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	return cipher.NewGCM(block)
}

// CheckPartner reports whether p is a valid partner tag: at most MaxPartnerLen bytes of
// [a-z0-9._-] ("" = none).
func CheckPartner(p string) error { return validatePartner(p) }
