package store_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/seal"
	"github.com/coze2app/coze2app/internal/store"
	"github.com/coze2app/coze2app/internal/store/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, storetest.SQLiteURL)
}

// TestSQLiteNoPlaintextAtRest: values stored sealed do not appear in the
// database file, its WAL or its shared-memory file, in raw, base64 or hex form
// (SECURITY-CATALOG D.26). A value stored in the clear is found, proving the
// search looks at the right bytes.
func TestSQLiteNoPlaintextAtRest(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "coze2app.db")
	st, err := store.Open(t.Context(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := seal.ParseKeys("a passphrase for this test only")
	if err != nil {
		t.Fatal(err)
	}
	sl, err := seal.New(keys...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	const marker = "CLEAR-MARKER-Alan-4711"
	u, err := st.UpsertUser(ctx, store.User{CozeUserID: "7400000000000000042", Region: "cn", Name: marker})
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{
		"czs_ACCESS_e4f1c0ffee5a1e5a1e5a1e5a1e5a1e5a",
		"REFRESH_9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
		"pkce-verifier-Zq3xYw2vUt1sRq0pOn9mLk8jIh7gFe6dCb5aZ4y",
	}
	sealWith := func(pt, ad string) []byte {
		t.Helper()
		b, err := sl.Seal([]byte(pt), []byte(ad))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Several rotations so old and new pairs pass through the WAL.
	for i := range 3 {
		err := st.PutTokens(ctx, store.Tokens{
			UserID: u.ID, KeyID: sl.ActiveKeyID(),
			Access:          sealWith(secrets[0]+string(rune('a'+i)), "access"),
			Refresh:         sealWith(secrets[1]+string(rune('a'+i)), "refresh"),
			AccessExpiresAt: time.Now().Add(time.Hour), RefreshExpiresAt: time.Now().Add(24 * time.Hour),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreatePendingSignIn(ctx, store.PendingSignIn{State: "s", BindingHash: []byte{1}, Verifier: sealWith(secrets[2], "verifier"), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	check := func(when string) {
		t.Helper()
		var all []byte
		for _, suffix := range []string{"", "-wal", "-shm"} {
			b, err := os.ReadFile(path + suffix)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		if !bytes.Contains(all, []byte(marker)) {
			t.Fatalf("%s: clear marker not found in the files; the check is not looking at the data", when)
		}
		for _, s := range secrets {
			s = s[:len(s)-2] // the per-rotation suffix does not matter
			b64 := base64.StdEncoding.EncodeToString([]byte(s))
			for form, needle := range map[string]string{
				"raw": s,
				// Whole 4-character groups only: they do not depend on what follows.
				"base64": b64[:4*(len(s)/3)-4],
				"hex":    hex.EncodeToString([]byte(s)),
			} {
				if bytes.Contains(bytes.ToLower(all), bytes.ToLower([]byte(needle))) {
					t.Errorf("%s: %s form of a sealed value found at rest", when, form)
				}
			}
		}
	}
	check("while open")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	check("after close")
}
