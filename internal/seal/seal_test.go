package seal

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
)

func mustSealer(tb testing.TB, keys ...Key) *Sealer {
	tb.Helper()
	s, err := New(keys...)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s
}

func mustKey(tb testing.TB, id string) Key {
	tb.Helper()
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return Key{ID: id, Secret: b}
}

func mustSeal(tb testing.TB, s *Sealer, pt, ad string) []byte {
	tb.Helper()
	out, err := s.Seal([]byte(pt), []byte(ad))
	if err != nil {
		tb.Fatalf("Seal: %v", err)
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	s := mustSealer(t, mustKey(t, "k1"))
	tests := []struct{ name, pt, ad string }{
		{"token", "pat_abc123", "coze_tokens/access/user:1"},
		{"empty plaintext", "", "ad"},
		{"empty ad", "x", ""},
		{"unicode", "令牌 🔑", "user:2"},
		{"long", string(bytes.Repeat([]byte("a"), 10_000)), "user:3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed := mustSeal(t, s, tt.pt, tt.ad)
			// A short plaintext can occur in random ciphertext by chance
			// (one byte: ~10% of the time), so only longer ones are checked.
			if len(tt.pt) >= 8 && bytes.Contains(sealed, []byte(tt.pt)) {
				t.Error("sealed value contains the plaintext")
			}
			got, keyID, err := s.Open(sealed, []byte(tt.ad))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if string(got) != tt.pt || keyID != "k1" {
				t.Errorf("Open = %q, %q; want %q, k1", got, keyID, tt.pt)
			}
		})
	}
}

// TestRowBinding: a value copied into another row (other associated data)
// does not open (SECURITY-CATALOG D.27).
func TestRowBinding(t *testing.T) {
	s := mustSealer(t, mustKey(t, "k1"))
	sealedA := mustSeal(t, s, "alan-access-token", "coze_tokens/access/user:1")
	tests := []struct{ name, ad string }{
		{"other user", "coze_tokens/access/user:2"},
		{"other column", "coze_tokens/refresh/user:1"},
		{"no ad", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if pt, _, err := s.Open(sealedA, []byte(tt.ad)); !errors.Is(err, ErrOpen) || pt != nil {
				t.Errorf("Open(A's value, %q) = %q, %v; want nil, ErrOpen", tt.ad, pt, err)
			}
		})
	}
}

func TestTamper(t *testing.T) {
	s := mustSealer(t, mustKey(t, "k1"))
	ad := []byte("user:1")
	sealed := mustSeal(t, s, "secret-token-value", string(ad))
	// Every single-byte flip and every truncation must fail, without panics.
	for i := range sealed {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		if _, _, err := s.Open(b, ad); !errors.Is(err, ErrOpen) {
			t.Errorf("flip byte %d: err = %v, want ErrOpen", i, err)
		}
	}
	for n := range len(sealed) {
		if _, _, err := s.Open(sealed[:n], ad); !errors.Is(err, ErrOpen) {
			t.Errorf("truncate to %d: err = %v, want ErrOpen", n, err)
		}
	}
	if _, _, err := s.Open(append(bytes.Clone(sealed), 0), ad); !errors.Is(err, ErrOpen) {
		t.Errorf("extra byte: err = %v, want ErrOpen", err)
	}
	if _, _, err := s.Open(nil, ad); !errors.Is(err, ErrOpen) {
		t.Errorf("nil: err = %v, want ErrOpen", err)
	}
}

func TestNonceFresh(t *testing.T) {
	s := mustSealer(t, mustKey(t, "k1"))
	seen := map[string]bool{}
	for range 100 {
		v := string(mustSeal(t, s, "same token", "user:1"))
		if seen[v] {
			t.Fatal("two seals of the same plaintext are identical")
		}
		seen[v] = true
	}
}

func TestRotation(t *testing.T) {
	k1, k2 := mustKey(t, "k1"), mustKey(t, "k2")
	old := mustSealer(t, k1)
	sealedOld := mustSeal(t, old, "old token", "user:1")

	rotated := mustSealer(t, k2, k1)
	if got := rotated.ActiveKeyID(); got != "k2" {
		t.Errorf("ActiveKeyID = %q, want k2", got)
	}
	pt, keyID, err := rotated.Open(sealedOld, []byte("user:1"))
	if err != nil || string(pt) != "old token" || keyID != "k1" {
		t.Errorf("Open(k1 value) with [k2 k1] = %q, %q, %v; want old token, k1, nil", pt, keyID, err)
	}
	sealedNew := mustSeal(t, rotated, "new token", "user:1")
	if id, ok := KeyIDOf(sealedNew); !ok || id != "k2" {
		t.Errorf("KeyIDOf(new) = %q, %v; want k2", id, ok)
	}
	if _, _, err := old.Open(sealedNew, []byte("user:1")); !errors.Is(err, ErrOpen) {
		t.Errorf("k1-only sealer opened a k2 value: err = %v", err)
	}
	// Same id, different secret: fails rather than decrypting garbage.
	impostor := mustSealer(t, mustKey(t, "k1"))
	if _, _, err := impostor.Open(sealedOld, []byte("user:1")); !errors.Is(err, ErrOpen) {
		t.Errorf("other k1 opened the value: err = %v", err)
	}
}

func TestNewRejects(t *testing.T) {
	k := mustKey(t, "k1")
	tests := []struct {
		name string
		keys []Key
	}{
		{"no keys", nil},
		{"short key", []Key{{ID: "k1", Secret: make([]byte, 16)}}},
		{"empty id", []Key{{ID: "", Secret: k.Secret}}},
		{"id with comma", []Key{{ID: "a,b", Secret: k.Secret}}},
		{"duplicate id", []Key{k, k}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.keys...); err == nil {
				t.Error("New succeeded, want error")
			}
		})
	}
}

func TestKeyRedacted(t *testing.T) {
	k := Key{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(verb, k); bytes.Contains([]byte(out), k.Secret[:8]) {
			t.Errorf("%s printed the secret: %s", verb, out)
		}
	}
}
