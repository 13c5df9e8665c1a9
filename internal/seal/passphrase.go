package seal

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"strings"
)

// A passphrase is stretched with a salted, slow KDF (issue 8 item 9): an
// attacker holding the database and guessing passphrases pays 600,000
// SHA-256 HMAC rounds per guess instead of one HKDF (OWASP Password Storage
// Cheat Sheet: PBKDF2-HMAC-SHA256, 600,000 iterations).
const PassphraseIterations = 600_000

// SaltSize is the length of a passphrase salt.
const SaltSize = 16

// Key ids of passphrase keys. LegacyPassphraseKeyID is the unsalted HKDF key
// of earlier versions: kept so values sealed under it still open, never used
// to seal.
const (
	PassphraseKeyID       = "p1"
	LegacyPassphraseKeyID = "k1"
)

// IsPassphrase reports whether a COZE2APP_SECRET_KEY value is a passphrase
// rather than a key list (see ParseKeys).
func IsPassphrase(spec string) bool {
	spec = strings.TrimSpace(spec)
	return spec != "" && !looksLikeKeyList(spec)
}

// NewSalt returns a fresh random salt for PassphraseKeys.
func NewSalt() []byte {
	b := make([]byte, SaltSize)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b
}

// PassphraseKeys derives the keys of a passphrase: the active key "p1" by
// PBKDF2-HMAC-SHA256 with salt and PassphraseIterations, then the legacy HKDF
// key "k1" so that values sealed before stay readable. The salt is not
// secret; it is stored beside the data so every instance derives the same key.
func PassphraseKeys(spec string, salt []byte) ([]Key, error) {
	spec = strings.TrimSpace(spec)
	if len(salt) < SaltSize {
		return nil, fmt.Errorf("passphrase keys: salt has %d bytes, want at least %d", len(salt), SaltSize)
	}
	if !IsPassphrase(spec) {
		return nil, fmt.Errorf("passphrase keys: the value is a key list, not a passphrase")
	}
	legacy, err := ParseKeys(spec) // checks the length; derives the HKDF key "k1"
	if err != nil {
		return nil, err
	}
	secret, err := pbkdf2.Key(sha256.New, spec, salt, PassphraseIterations, KeySize)
	if err != nil {
		return nil, fmt.Errorf("passphrase keys: derive: %w", err)
	}
	return []Key{{ID: PassphraseKeyID, Secret: secret}, legacy[0]}, nil
}
