package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/seal"
	"github.com/coze2app/coze2app/internal/store"
)

// Group D of the security catalog at the auth level: nothing readable at
// rest, ciphertext bound to its row, key rotation, nothing in the logs.
// Case 29 (responses to the browser) is the web layer's and case 31 (where
// tokens travel) the coze client's.

// secrets returns every credential the test world has seen: the client
// secret, each bearer token, code, verifier and refresh token sent to the
// simulator, the pairs now stored, and the browsers' cookie values.
func (e *testEnv) secrets(t *testing.T, browsers ...*browser) []string {
	t.Helper()
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if len(s) >= 8 && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	add(testSecret)
	for _, r := range e.sim.Requests() {
		if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			add(v)
		}
		var m map[string]any
		if json.Unmarshal(r.Body, &m) == nil {
			for _, k := range []string{"code", "code_verifier", "refresh_token"} {
				if s, ok := m[k].(string); ok {
					add(s)
				}
			}
		}
	}
	in := e.inst[0]
	rows, err := in.st.DB().QueryContext(t.Context(), `SELECT user_id FROM coze_tokens`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	for _, id := range ids {
		row, err := in.st.TokensByUser(t.Context(), id)
		if err != nil {
			continue
		}
		if tok, err := in.a.openTokens(row); err == nil {
			add(string(tok.AccessToken))
			add(string(tok.RefreshToken))
		}
	}
	for _, b := range browsers {
		for _, c := range b.c.Jar.Cookies(mustURL(t, in.url)) {
			// Cookie values hold ids and states (lookup keys, stored as
			// such) and 43-character secrets (stored only as hashes).
			for _, part := range strings.Split(c.Value, ".") {
				if len(part) == secretLen {
					add(part)
				}
			}
		}
	}
	return out
}

// encodings of s that a careless dump could contain.
func encodings(s string) []string {
	b := []byte(s)
	return []string{
		s,
		base64.StdEncoding.EncodeToString(b),
		base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b),
		base64.RawURLEncoding.EncodeToString(b),
		hex.EncodeToString(b),
		strings.ToUpper(hex.EncodeToString(b)),
	}
}

// dump returns the raw bytes of the database: the SQLite file with its -wal
// and -shm, or every row of the auth tables as PostgreSQL text.
func (e *testEnv) dump(t *testing.T) []byte {
	t.Helper()
	var out bytes.Buffer
	if path, ok := strings.CutPrefix(e.dbURL, "sqlite:"); ok {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			b, err := os.ReadFile(path + suffix)
			if err != nil && suffix == "" {
				t.Fatal(err)
			}
			out.Write(b)
		}
		return out.Bytes()
	}
	for _, table := range []string{"users", "sessions", "pending_sign_ins", "coze_tokens"} {
		var s string
		err := e.inst[0].st.DB().QueryRowContext(t.Context(),
			`SELECT COALESCE(string_agg(t::text, E'\n'), '') FROM `+table+` t`).Scan(&s)
		if err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		out.WriteString(s)
	}
	return out.Bytes()
}

// Case 26: no token, secret or session secret is readable at rest, in raw,
// base64 or hex form, on SQLite (with -wal/-shm) and PostgreSQL.
func TestNoSecretReadableAtRest(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, envOpts{backend: backend})
			in := e.inst[0]
			var bs []*browser
			for _, u := range e.users()[:3] {
				b := e.newBrowser()
				b.signIn(in, u.ID)
				b.ping(in)
				bs = append(bs, b)
			}
			b := e.newBrowser()
			b.begin(in, "") // a pending sign-in with its sealed verifier
			bs = append(bs, b)
			e.clock.Advance(15 * time.Minute)
			for _, b := range bs[:3] {
				b.mustPing(in, 200, "ping after refresh")
			}
			dump := e.dump(t)
			secrets := e.secrets(t, bs...)
			if len(secrets) < 10 {
				t.Fatalf("only %d secrets collected", len(secrets))
			}
			for _, s := range secrets {
				for _, enc := range encodings(s) {
					if bytes.Contains(dump, []byte(enc)) {
						t.Errorf("database holds a secret (%.6s…) in readable form", enc)
					}
				}
			}
		})
	}
}

// Case 27: ciphertext is bound to its user and column: a row copied from
// another user, a flipped byte, a truncated value or swapped columns all
// end in reauth_required with sessions and tokens cleared; nothing panics.
func TestSealedRowBoundToItsUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	in := e.inst[0]
	alice := e.newBrowser()
	alice.signIn(in, e.users()[0].ID)
	aliceID := alice.status(in).User.ID
	aliceRow, err := in.st.TokensByUser(t.Context(), aliceID)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mangle func(own store.Tokens) store.Tokens
	}{
		{"copied from another user", func(own store.Tokens) store.Tokens {
			c := aliceRow
			c.UserID = own.UserID
			return c
		}},
		{"flipped byte", func(own store.Tokens) store.Tokens {
			own.Access = bytes.Clone(own.Access)
			own.Access[len(own.Access)-1] ^= 1
			return own
		}},
		{"truncated", func(own store.Tokens) store.Tokens {
			own.Access = own.Access[:5]
			return own
		}},
		{"columns swapped", func(own store.Tokens) store.Tokens {
			own.Access, own.Refresh = own.Refresh, own.Access
			return own
		}},
		{"refresh tampered", func(own store.Tokens) store.Tokens {
			own.Refresh = bytes.Clone(own.Refresh)
			own.Refresh[len(own.Refresh)/2] ^= 0x80
			own.AccessExpiresAt = time.Unix(1, 0) // force the refresh path
			return own
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bob := e.newBrowser()
			bob.signIn(in, e.users()[1].ID)
			bobID := bob.status(in).User.ID
			own, err := in.st.TokensByUser(t.Context(), bobID)
			if err != nil {
				t.Fatal(err)
			}
			if err := in.st.PutTokens(t.Context(), tt.mangle(own)); err != nil {
				t.Fatal(err)
			}
			r := bob.ping(in)
			if r.status != 401 || r.body != "reauth_required" {
				t.Errorf("ping = %d %q, want 401 reauth_required", r.status, r.body)
			}
			if _, err := in.st.TokensByUser(t.Context(), bobID); err == nil {
				t.Errorf("bad tokens kept")
			}
			if s, _ := in.st.UserSessions(t.Context(), bobID); len(s) != 0 {
				t.Errorf("sessions kept: %d", len(s))
			}
		})
	}
	if r := alice.ping(in); r.status != 200 || r.body != e.users()[0].ID {
		t.Errorf("alice ping = %d %q", r.status, r.body)
	}
	e.wantRefreshes(t, 0, "refresh calls", "no token of another user is ever sent")
}

// Case 28: key rotation. Rows sealed under k1 still open once k2 is active
// and are rewritten under k2 at the next refresh; sealing twice differs.
func TestKeyRotationOpensOldRows(t *testing.T) {
	t.Parallel()
	k1 := mustKey(t, "k1")
	k2 := mustKey(t, "k2")
	e := newEnv(t, envOpts{})
	in := e.inst[0]
	in.stop()
	e.sealer = mustSealerOf(t, k1)
	in.start()
	b := e.newBrowser()
	b.signIn(in, e.users()[0].ID)
	uid := b.status(in).User.ID

	in.stop()
	e.sealer = mustSealerOf(t, k2, k1)
	in.start()
	b.mustPing(in, 200, "ping with k1 row under k2")
	row, _ := in.st.TokensByUser(t.Context(), uid)
	if id, _ := seal.KeyIDOf(row.Access); row.KeyID != "k1" || id != "k1" {
		t.Errorf("row rewritten before a refresh: key %q / %q", row.KeyID, id)
	}
	e.clock.Advance(15 * time.Minute)
	b.mustPing(in, 200, "ping after refresh")
	row, _ = in.st.TokensByUser(t.Context(), uid)
	ida, _ := seal.KeyIDOf(row.Access)
	idr, _ := seal.KeyIDOf(row.Refresh)
	if row.KeyID != "k2" || ida != "k2" || idr != "k2" {
		t.Errorf("after refresh: key_id %q, access %q, refresh %q; want k2", row.KeyID, ida, idr)
	}
	s1, _ := e.sealer.Seal([]byte("same token"), accessAD(uid))
	s2, _ := e.sealer.Seal([]byte("same token"), accessAD(uid))
	if bytes.Equal(s1, s2) {
		t.Errorf("two seals of one value are equal (nonce reuse)")
	}
}

func mustKey(tb testing.TB, id string) seal.Key {
	tb.Helper()
	return seal.Key{ID: id, Secret: bytes.Repeat([]byte(id[1:2]), seal.KeySize)}
}

func mustSealerOf(tb testing.TB, keys ...seal.Key) *seal.Sealer {
	tb.Helper()
	s, err := seal.New(keys...)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// Case 30: no log line (debug level, every attribute) holds a token, the
// client secret, a code, a verifier or a session secret, through sign-in,
// refresh, a revoked refresh and token-endpoint 400s; each record is one line.
func TestNoSecretLogged(t *testing.T) {
	t.Parallel()
	e, in, b := signedInEnv(t, envOpts{})
	b.ping(in)
	e.clock.Advance(15 * time.Minute)
	b.mustPing(in, 200, "refresh ping")
	// A token-endpoint 400 on the exchange and on a refresh.
	b2 := e.newBrowser()
	cb := b2.consent(b2.begin(in, ""), e.users()[1].ID, "approve")
	e.sim.AddFault(cozesim.Fault{Endpoint: tokenEndpoint, Times: 1, OAuthError: "invalid_request"})
	if r := b2.get(cb); r.status != 400 {
		t.Errorf("exchange with 400 = %d", r.status)
	}
	b3 := e.newBrowser()
	b3.signIn(in, e.users()[2].ID)
	e.clock.Advance(15 * time.Minute)
	e.sim.AddFault(cozesim.Fault{Endpoint: tokenEndpoint, Times: 1, OAuthError: "invalid_grant"})
	if r := b3.ping(in); r.body != "reauth_required" {
		t.Errorf("refresh with 400 = %d %q", r.status, r.body)
	}
	// A revoked refresh token.
	secrets := e.secrets(t, b, b2, b3) // before the revocation clears the rows
	e.sim.RevokeRefreshTokens(e.users()[0].ID)
	if r := b.ping(in); r.body != "reauth_required" {
		t.Errorf("revoked refresh = %d %q", r.status, r.body)
	}
	secrets = append(secrets, e.secrets(t, b, b2, b3)...)

	logs := e.logs.String()
	if !strings.Contains(logs, "token refreshed") || !strings.Contains(logs, "token refresh rejected") {
		t.Fatalf("expected refresh logs missing:\n%s", logs)
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("log holds a secret (%.6s…)", s)
		}
	}
	for i, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("log line %d is not one record: %q", i, line)
		}
	}
}
