// Package seal encrypts values at rest (OAuth tokens, PKCE verifiers) with
// AES-256-GCM, binding each value to its row through associated data.
//
// Sealed format (all lengths in bytes):
//
//	version(1) = 1 | len(keyID)(1) | keyID | nonce(12, random) | AES-GCM ciphertext+tag
//
// The header (version, key id) is authenticated together with the caller's
// associated data, so no part of a sealed value can be swapped undetected.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

const (
	formatV1  = 1
	nonceSize = 12
)

// ErrOpen is returned by Open for every failure: unknown key, wrong associated
// data, tampering or truncation. The reasons are deliberately not told apart.
var ErrOpen = errors.New("seal: cannot open sealed value")

// Sealer seals with the active key and opens with any known key.
type Sealer struct {
	active string
	aeads  map[string]cipher.AEAD
}

// New returns a Sealer whose active key is keys[0]; the other keys only open.
func New(keys ...Key) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("seal: no keys")
	}
	s := &Sealer{active: keys[0].ID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, k := range keys {
		if err := validKeyID(k.ID); err != nil {
			return nil, fmt.Errorf("seal: %w", err)
		}
		if len(k.Secret) != KeySize {
			return nil, fmt.Errorf("seal: key %q has %d bytes, want %d", k.ID, len(k.Secret), KeySize)
		}
		if _, dup := s.aeads[k.ID]; dup {
			return nil, fmt.Errorf("seal: duplicate key id %q", k.ID)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("seal: key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("seal: key %q: %w", k.ID, err)
		}
		s.aeads[k.ID] = aead
	}
	return s, nil
}

// ActiveKeyID returns the id of the key new values are sealed with.
func (s *Sealer) ActiveKeyID() string { return s.active }

// Seal encrypts plaintext under the active key with a fresh random nonce. The
// same associated data must be passed to Open; use something that identifies
// the row and column, e.g. "coze_tokens/access/user:42".
func (s *Sealer) Seal(plaintext, ad []byte) ([]byte, error) {
	aead := s.aeads[s.active]
	hdrLen := 2 + len(s.active)
	out := make([]byte, hdrLen+nonceSize, hdrLen+nonceSize+len(plaintext)+aead.Overhead())
	out[0] = formatV1
	out[1] = byte(len(s.active))
	copy(out[2:], s.active)
	nonce := out[hdrLen : hdrLen+nonceSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: read nonce: %w", err)
	}
	return aead.Seal(out, nonce, plaintext, fullAD(out[:hdrLen], ad)), nil
}

// Open decrypts a value made by Seal and reports which key opened it, so
// callers can re-seal values that are not under the active key. Any failure
// returns ErrOpen.
func (s *Sealer) Open(sealed, ad []byte) (plaintext []byte, keyID string, err error) {
	if len(sealed) < 2 || sealed[0] != formatV1 {
		return nil, "", ErrOpen
	}
	hdrLen := 2 + int(sealed[1])
	if len(sealed) < hdrLen+nonceSize {
		return nil, "", ErrOpen
	}
	keyID = string(sealed[2:hdrLen])
	aead, ok := s.aeads[keyID]
	if !ok || len(sealed) < hdrLen+nonceSize+aead.Overhead() {
		return nil, "", ErrOpen
	}
	nonce := sealed[hdrLen : hdrLen+nonceSize]
	pt, err := aead.Open(nil, nonce, sealed[hdrLen+nonceSize:], fullAD(sealed[:hdrLen], ad))
	if err != nil {
		return nil, "", ErrOpen
	}
	return pt, keyID, nil
}

// KeyIDOf returns the key id recorded in a sealed value without opening it.
func KeyIDOf(sealed []byte) (string, bool) {
	if len(sealed) < 2 || sealed[0] != formatV1 || len(sealed) < 2+int(sealed[1]) {
		return "", false
	}
	return string(sealed[2 : 2+int(sealed[1])]), true
}

func fullAD(header, ad []byte) []byte {
	b := make([]byte, 0, len(header)+len(ad))
	return append(append(b, header...), ad...)
}
