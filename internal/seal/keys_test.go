package seal

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestParseKeys(t *testing.T) {
	b32 := func(c byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{c}, 32)) }
	tests := []struct {
		name    string
		spec    string
		wantIDs []string
		wantErr string // substring; "" = success
	}{
		{"one key", "k1:" + b32(1), []string{"k1"}, ""},
		{"rotation, first active", "k2:" + b32(2) + ",k1:" + b32(1), []string{"k2", "k1"}, ""},
		{"spaces and newline", " k2:" + b32(2) + " , k1:" + b32(1) + "\n", []string{"k2", "k1"}, ""},
		{"url base64 unpadded", "k1:" + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)), []string{"k1"}, ""},
		{"passphrase", "correct horse battery staple", []string{"k1"}, ""},
		{"passphrase with colon", "my secret: is long enough!", []string{"k1"}, ""},
		{"empty", "", nil, "empty"},
		{"short passphrase", "too short", nil, "at least 16"},
		{"short key", "k1:" + base64.StdEncoding.EncodeToString(make([]byte, 16)), nil, "16 bytes, want 32"},
		{"duplicate id", "k1:" + b32(1) + ",k1:" + b32(2), nil, "duplicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParseKeys(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseKeys err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseKeys: %v", err)
			}
			var ids []string
			for _, k := range keys {
				ids = append(ids, k.ID)
				if len(k.Secret) != KeySize {
					t.Errorf("key %s has %d bytes", k.ID, len(k.Secret))
				}
			}
			if strings.Join(ids, ",") != strings.Join(tt.wantIDs, ",") {
				t.Errorf("ids = %v, want %v", ids, tt.wantIDs)
			}
		})
	}
}

func TestParseKeysErrorsHideSecret(t *testing.T) {
	pass := "short-pass"
	if _, err := ParseKeys(pass); err == nil || strings.Contains(err.Error(), pass) {
		t.Errorf("err = %v; want an error that does not echo the passphrase", err)
	}
}

func TestPassphraseDeterministic(t *testing.T) {
	a, err := ParseKeys("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseKeys("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseKeys("correct horse battery staplE")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a[0].Secret, b[0].Secret) {
		t.Error("same passphrase gave different keys")
	}
	if bytes.Equal(a[0].Secret, c[0].Secret) {
		t.Error("different passphrases gave the same key")
	}
	if bytes.Contains(a[0].Secret, []byte("correct")) {
		t.Error("key contains the passphrase")
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.key")
	spec, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode = %04o, want 0600", perm)
	}
	keys, err := ParseKeys(spec)
	if err != nil || len(keys) != 1 {
		t.Fatalf("ParseKeys(created spec) = %v, %v", keys, err)
	}
	again, err := LoadOrCreateKeyFile(path)
	if err != nil || again != spec {
		t.Errorf("second start: spec changed or error %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key file (temp file left behind?)", len(entries))
	}
}

func TestLoadOrCreateKeyFileConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.key")
	const starters = 8
	specs := make([]string, starters)
	errs := make([]error, starters)
	var wg sync.WaitGroup
	for i := range starters {
		wg.Go(func() { specs[i], errs[i] = LoadOrCreateKeyFile(path) })
	}
	wg.Wait()
	for i := range starters {
		if errs[i] != nil {
			t.Errorf("starter %d: %v", i, errs[i])
		} else if specs[i] != specs[0] {
			t.Errorf("starter %d got a different key", i)
		}
	}
}

func TestLoadKeyFileRejects(t *testing.T) {
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		wantErr string
	}{
		{"group readable", "k1:" + base64.StdEncoding.EncodeToString(make([]byte, 32)), 0o640, "chmod 600"},
		{"world readable", "k1:" + base64.StdEncoding.EncodeToString(make([]byte, 32)), 0o604, "chmod 600"},
		{"garbage", "short", 0o600, "at least 16"},
		{"empty", "", 0o600, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "secret.key")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreateKeyFile(path)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want containing %q", err, tt.wantErr)
			}
		})
	}
	t.Run("missing directory", func(t *testing.T) {
		if _, err := LoadOrCreateKeyFile(filepath.Join(t.TempDir(), "nope", "secret.key")); err == nil {
			t.Error("want error for a missing directory")
		}
	})
}
