package seal

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length in bytes of every AES-256 key.
const KeySize = 32

// MinPassphraseLen is the shortest passphrase ParseKeys accepts.
const MinPassphraseLen = 16

// passphraseInfo is the HKDF info string that binds derived keys to this use,
// so the same passphrase used elsewhere yields an unrelated key (RFC 5869 §3.2).
const passphraseInfo = "coze2app seal v1: token encryption key"

// Key is one AES-256 key with the identifier stored in front of every value it
// seals, so old values stay readable after rotation.
type Key struct {
	ID     string
	Secret []byte // KeySize bytes
}

// String hides the secret so a Key cannot reach a log by accident.
func (k Key) String() string { return "seal.Key{ID:" + k.ID + ", Secret:[REDACTED]}" }

// GoString hides the secret for %#v.
func (k Key) GoString() string { return k.String() }

// ParseKeys parses a COZE2APP_SECRET_KEY value. Two forms are accepted:
//
//   - a key list "k2:BASE64,k1:BASE64" where each BASE64 decodes to 32 bytes
//     and the first key is the active one (the rest decrypt only);
//   - any other text of at least 16 characters, a passphrase, from which one
//     key "k1" is derived with HKDF-SHA256.
//
// Surrounding whitespace is ignored.
func ParseKeys(spec string) ([]Key, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("parse secret key: empty; set a key list (id:base64 of 32 bytes) or a passphrase of at least 16 characters")
	}
	if looksLikeKeyList(spec) {
		return parseKeyList(spec)
	}
	if len([]rune(spec)) < MinPassphraseLen {
		return nil, fmt.Errorf("parse secret key: passphrase has %d characters, want at least %d (or use a key list id:base64)", len([]rune(spec)), MinPassphraseLen)
	}
	secret, err := hkdf.Key(sha256.New, []byte(spec), nil, passphraseInfo, KeySize)
	if err != nil {
		return nil, fmt.Errorf("parse secret key: derive key: %w", err)
	}
	return []Key{{ID: "k1", Secret: secret}}, nil
}

// looksLikeKeyList reports whether every comma-separated part is "id:value"
// with a valid id and a value that decodes as base64. A passphrase that happens
// to look like this is treated as a key list and must then be valid.
func looksLikeKeyList(spec string) bool {
	for part := range strings.SplitSeq(spec, ",") {
		id, val, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || validKeyID(id) != nil {
			return false
		}
		if _, err := decodeBase64(val); err != nil {
			return false
		}
	}
	return true
}

func parseKeyList(spec string) ([]Key, error) {
	var keys []Key
	seen := map[string]bool{}
	for part := range strings.SplitSeq(spec, ",") {
		id, val, _ := strings.Cut(strings.TrimSpace(part), ":")
		secret, err := decodeBase64(val)
		if err != nil {
			return nil, fmt.Errorf("parse secret key %q: %w", id, err)
		}
		if len(secret) != KeySize {
			return nil, fmt.Errorf("parse secret key %q: decodes to %d bytes, want %d", id, len(secret), KeySize)
		}
		if seen[id] {
			return nil, fmt.Errorf("parse secret key: duplicate key id %q", id)
		}
		seen[id] = true
		keys = append(keys, Key{ID: id, Secret: secret})
	}
	return keys, nil
}

// decodeBase64 accepts standard and URL alphabets, padded or not.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty key value")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("key value is not base64")
}

// validKeyID checks that id fits in the one-byte length prefix and cannot be
// confused with the spec separators.
func validKeyID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("key id %q: want 1 to 64 characters", id)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return fmt.Errorf("key id %q: only letters, digits, '_', '-' and '.' are allowed", id)
		}
	}
	return nil
}
