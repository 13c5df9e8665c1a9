package seal

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// Catalog case 79 (issue 8 item 9), the seal side: a passphrase gives a
// salted, stretched active key and keeps the unsalted one for opening only.
func TestCase79_PassphraseKeys(t *testing.T) {
	if PassphraseIterations < 600_000 {
		t.Fatalf("PassphraseIterations = %d, want at least 600,000", PassphraseIterations)
	}
	const pass = "correct horse battery staple"
	salt1, salt2 := NewSalt(), NewSalt()
	if bytes.Equal(salt1, salt2) || len(salt1) != SaltSize {
		t.Fatalf("salts %x %x: want %d fresh random bytes each", salt1, salt2, SaltSize)
	}
	start := time.Now()
	k1, err := PassphraseKeys(pass, salt1)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("figures: one PBKDF2-SHA256 derivation at %d rounds took %v on this machine", PassphraseIterations, took)
	k2, err := PassphraseKeys(pass, salt2)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := PassphraseKeys(pass, salt1)
	legacy, _ := ParseKeys(pass)
	switch {
	case len(k1) != 2 || k1[0].ID != PassphraseKeyID || k1[1].ID != LegacyPassphraseKeyID:
		t.Fatalf("keys = %v, want [%s %s]", k1, PassphraseKeyID, LegacyPassphraseKeyID)
	case bytes.Equal(k1[0].Secret, k2[0].Secret):
		t.Error("two salts gave the same key")
	case !bytes.Equal(k1[0].Secret, again[0].Secret):
		t.Error("the same salt gave two keys")
	case bytes.Equal(k1[0].Secret, legacy[0].Secret) || !bytes.Equal(k1[1].Secret, legacy[0].Secret):
		t.Error("the active key is the unsalted one, or the legacy key changed")
	}

	// Old values open; new ones are sealed under the stretched key.
	old, _ := New(legacy...)
	sealedOld, _ := old.Seal([]byte("refresh-token"), []byte("ad"))
	s, err := New(k1...)
	if err != nil {
		t.Fatal(err)
	}
	if pt, id, err := s.Open(sealedOld, []byte("ad")); err != nil || string(pt) != "refresh-token" || id != LegacyPassphraseKeyID {
		t.Errorf("old value: %q %q %v", pt, id, err)
	}
	fresh, _ := s.Seal([]byte("refresh-token"), []byte("ad"))
	if id, _ := KeyIDOf(fresh); id != PassphraseKeyID {
		t.Errorf("new value sealed under %q, want %q", id, PassphraseKeyID)
	}
	if _, _, err := old.Open(fresh, []byte("ad")); err == nil {
		t.Error("a new value opens with the unsalted key")
	}

	for _, tt := range []struct {
		name, spec string
		salt       []byte
		want       string
	}{
		{"short salt", pass, []byte("short"), "salt"},
		{"key list", "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", salt1, "key list"},
		{"short passphrase", "too short", salt1, "passphrase"},
	} {
		if _, err := PassphraseKeys(tt.spec, tt.salt); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one about %s", tt.name, err, tt.want)
		}
	}
	if !IsPassphrase(pass) || IsPassphrase("k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=") || IsPassphrase("  ") {
		t.Error("IsPassphrase misclassifies")
	}
}
