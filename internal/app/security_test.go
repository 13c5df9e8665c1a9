package app

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/seal"
	"github.com/coze2app/coze2app/internal/store/storetest"
)

// Issue 8 ("safe on the open internet") at the level of the whole process.

// waitLog waits until the app's log matches re and returns the first group.
func waitLog(t *testing.T, a *runningApp, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := re.FindStringSubmatch(a.log.String()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("log never matched %s:\n%s", re, a.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// Catalog case 82 (issue 8 item 12): /metrics is served only on
// COZE2APP_METRICS_ADDR, never on the public listener; by default nowhere.
func TestCase82_MetricsOnlyOnMetricsAddr(t *testing.T) {
	testPrivateListener(t, "COZE2APP_METRICS_ADDR", "metrics", "/metrics", "", "coze2app_http_requests_total",
		func(s *Server) string { return s.MetricsURL })
}

// Profiles (net/http/pprof, used by the benchmarks) are served only on
// COZE2APP_DEBUG_ADDR, never on the public listener; by default nowhere.
func TestPprofOnlyOnDebugAddr(t *testing.T) {
	testPrivateListener(t, "COZE2APP_DEBUG_ADDR", "debug", "/debug/pprof/", "goroutine?debug=1", "goroutine profile:",
		func(s *Server) string { return s.DebugURL })
}

// testPrivateListener checks that what (logged as "<what> listening") serves
// path+sub only on the address in env (its URL on the handle: privateURL),
// and that the public listener does not.
func testPrivateListener(t *testing.T, env, what, path, sub, want string, privateURL func(*Server) string) {
	t.Run("default: not served", func(t *testing.T) {
		a := mustStart(t, map[string]string{"COZE2APP_ADDR": "127.0.0.1:0", "COZE2APP_DATABASE_URL": storetest.SQLiteURL(t)})
		if code, body := httpGet(t, a.URL+path+sub); code != http.StatusNotFound || strings.Contains(body, want) {
			t.Errorf("public GET %s = %d %.100q, want 404", path+sub, code, body)
		}
		if u := privateURL(a.Server); u != "" || strings.Contains(a.log.String(), what+" listening") {
			t.Errorf("a %s listener (%q) started without %s:\n%s", what, u, env, a.log)
		}
	})
	t.Run("own address", func(t *testing.T) {
		a := mustStart(t, map[string]string{"COZE2APP_ADDR": "127.0.0.1:0", "COZE2APP_DATABASE_URL": storetest.SQLiteURL(t),
			env: "127.0.0.1:0"})
		u := privateURL(a.Server)
		if !strings.Contains(a.log.String(), `msg="`+what+` listening" url=`+u+"\n") {
			t.Errorf("no %q line with url=%s in the log:\n%s", what+" listening", u, a.log)
		}
		if u == "" || strings.HasPrefix(u, a.URL) {
			t.Fatalf("%s URL %s is on the public listener %s", what, u, a.URL)
		}
		httpGet(t, a.URL+"/api/auth/status")
		if code, body := httpGet(t, u+sub); code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s = %d %.200q, want %q", u+sub, code, body, want)
		}
		if code, _ := httpGet(t, a.URL+path+sub); code != http.StatusNotFound {
			t.Errorf("public GET %s = %d, want 404", path+sub, code)
		}
	})
}

// Catalog case 81 (issue 8 item 11): a database password never appears in the
// start-up log or in the fatal error, whatever form the URL takes.
func TestCase81_DatabasePasswordNeverShown(t *testing.T) {
	const pw = "Hunter2-s3cret"
	for _, u := range []string{
		"postgres://u:" + pw + "@127.0.0.1:1/db",                                            // unreachable
		"postgres://127.0.0.1:1/db?user=u&password=" + pw,                                   // password as a parameter
		"postgres://127.0.0.1:1/db?sslmode=disable&password=" + pw + "&connect_timeout=bad", // parse error with a parameter
		"postgresql://u:" + pw + "@[::1/db",                                                 // unparsable
		"postgres://u:" + pw + "@127.0.0.1:1/db?connect_timeout=bad",                        // parse error
		"postgres://u:" + strings.ReplaceAll(pw, "-", "%2D") + "@127.0.0.1:1/db",            // escaped
		"host=127.0.0.1 port=1 password=" + pw,                                              // keyword form
		"postgres://postgres:" + pw + "@127.0.0.1:5432/coze2app_no_such_db?sslmode=disable", // server answers
	} {
		t.Run(u[:12], func(t *testing.T) {
			var log lineWriter
			log.url = make(chan string, 1)
			env := map[string]string{"COZE2APP_ADDR": "127.0.0.1:0", "COZE2APP_DATABASE_URL": u,
				"COZE2APP_SECRET_KEY": "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			err := Run(ctx, nil, func(k string) string { return env[k] }, &log)
			if err == nil {
				t.Fatalf("Run with %s succeeded", u)
			}
			if strings.Contains(err.Error(), pw) || strings.Contains(log.String(), pw) {
				t.Errorf("password shown:\nerr: %v\nlog: %s", err, log.String())
			}
			if !strings.Contains(err.Error(), "database") {
				t.Errorf("error %q does not say the database is the problem", err)
			}
		})
	}
}

// Catalog case 85 (issue 8 item 15): unsafe settings are refused before
// anything starts, or named in the start-up log.
func TestCase85_UnsafeSettingsRefusedOrLogged(t *testing.T) {
	env := map[string]string{"COZE_CLIENT_ID": "123.app.coze", "COZE_API_BASE": "http://203.0.113.9",
		"COZE_PKCE": "off", "COZE2APP_ADDR": "127.0.0.1:0", "COZE2APP_DATABASE_URL": storetest.SQLiteURL(t)}
	err := Run(t.Context(), nil, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "COZE_API_BASE") || !strings.Contains(err.Error(), "COZE_PKCE=off") {
		t.Fatalf("Run = %v, want both refusals", err)
	}
	a := mustStart(t, map[string]string{"COZE2APP_ADDR": "127.0.0.1:0", "COZE2APP_DATABASE_URL": storetest.SQLiteURL(t),
		"COZE2APP_PUBLIC_URL": "http://192.168.1.20:5000"})
	waitLog(t, a, regexp.MustCompile(`(level=WARN msg="unsafe configuration: COZE2APP_PUBLIC_URL)`))
}

// Catalog case 79 (issue 8 item 9): a COZE2APP_SECRET_KEY passphrase is
// stretched with PBKDF2 (600,000 SHA-256 rounds) under a salt stored in the
// database; tokens sealed by earlier versions under the unsalted key still
// open, and the next write seals them under the new key.
func TestCase79_PassphraseKeysStretchedAndOldRowsOpen(t *testing.T) {
	const pass = "a long operator passphrase for case 79"
	const user = "7391000000000000101"
	onBothBackends(t, func(t *testing.T, dbURL string) {
		sim, _, env := realMode(t, dbURL, cozesim.Options{})
		env["COZE2APP_SECRET_KEY"] = pass

		a := mustStart(t, env)
		c := newBrowser(t)
		signIn(t, c, a.URL, user)
		if err := a.stop(t); err != nil {
			t.Fatal(err)
		}

		st := storetest.MustOpen(t, dbURL)
		ctx := t.Context()
		salt, err := st.SealSalt(ctx, []byte("must not replace the stored one"))
		if err != nil || len(salt) != seal.SaltSize {
			t.Fatalf("stored salt = %x, %v; want %d random bytes", salt, err, seal.SaltSize)
		}
		var userID int64
		if err := st.DB().QueryRowContext(ctx, `SELECT id FROM users WHERE coze_user_id = $1`, user).Scan(&userID); err != nil {
			t.Fatal(err)
		}
		row, err := st.TokensByUser(ctx, userID)
		if err != nil || row.KeyID != seal.PassphraseKeyID {
			t.Fatalf("tokens after sign-in: key %q, %v; want %q", row.KeyID, err, seal.PassphraseKeyID)
		}
		// The stored ciphertext opens with PBKDF2(pass, salt, 600,000) and
		// with nothing weaker.
		stretched, err := pbkdf2.Key(sha256.New, pass, salt, 600_000, 32)
		if err != nil {
			t.Fatal(err)
		}
		strong, _ := seal.New(seal.Key{ID: seal.PassphraseKeyID, Secret: stretched})
		ad := []byte("user:" + strconv.FormatInt(userID, 10) + ":refresh")
		refresh, _, err := strong.Open(row.Refresh, ad)
		if err != nil {
			t.Fatalf("the row does not open with PBKDF2-SHA256 at 600,000 rounds: %v", err)
		}
		legacyKeys, _ := seal.ParseKeys(pass)
		legacy, _ := seal.New(legacyKeys...)
		if _, _, err := legacy.Open(row.Refresh, ad); err == nil {
			t.Fatal("the row opens with the unsalted key")
		}

		// Rewrite the row as an earlier version left it: sealed under the
		// unsalted HKDF key "k1".
		access, _, err := strong.Open(row.Access, []byte("user:"+strconv.FormatInt(userID, 10)+":access"))
		if err != nil {
			t.Fatal(err)
		}
		row.Access, _ = legacy.Seal(access, []byte("user:"+strconv.FormatInt(userID, 10)+":access"))
		row.Refresh, _ = legacy.Seal(refresh, ad)
		row.KeyID = seal.LegacyPassphraseKeyID
		if err := st.PutTokens(ctx, row); err != nil {
			t.Fatal(err)
		}

		b := mustStart(t, env)
		var ans chatAnswer
		if code := postJSON(t, c, b.URL+"/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": "old key"}, &ans); code != 200 {
			t.Fatalf("chat with tokens under the old key: status %d", code)
		}
		// A refresh writes the pair again, under the new key.
		sim.ExpireAccessTokens(user)
		if code := postJSON(t, c, b.URL+"/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": "refreshed"}, &ans); code != 200 {
			t.Fatalf("chat after the token expired: status %d", code)
		}
		row, err = st.TokensByUser(ctx, userID)
		if err != nil || row.KeyID != seal.PassphraseKeyID {
			t.Fatalf("after the refresh: key %q, %v; want %q", row.KeyID, err, seal.PassphraseKeyID)
		}
		if _, _, err := strong.Open(row.Refresh, ad); err != nil {
			t.Errorf("the rewritten row does not open with the stretched key: %v", err)
		}
	})
}

// Catalog case 74 (issue 8 item 4): demo mode on a public address starts
// only with COZE2APP_DEMO_PUBLIC=on, says so loudly, and still works (its
// own calls to the simulator go through loopback).
func TestCase74_DemoOnAPublicAddress(t *testing.T) {
	env := map[string]string{"COZE2APP_ADDR": "0.0.0.0:0", "COZE2APP_DATABASE_URL": storetest.SQLiteURL(t)}
	if err := Run(t.Context(), nil, func(k string) string { return env[k] }, io.Discard); err == nil || !strings.Contains(err.Error(), "COZE2APP_DEMO_PUBLIC") {
		t.Fatalf("demo on 0.0.0.0: Run = %v, want a refusal naming COZE2APP_DEMO_PUBLIC", err)
	}
	env["COZE2APP_DEMO_PUBLIC"] = "on"
	a := mustStart(t, env)
	waitLog(t, a, regexp.MustCompile(`(level=WARN msg="unsafe configuration: DEMO MODE IS PUBLIC)`))
	port := a.URL[strings.LastIndexByte(a.URL, ':')+1:]
	base := "http://localhost:" + port
	c := newBrowser(t)
	signIn(t, c, base, cozesim.UserAlan)
	var st status
	getJSON(t, c, base+"/api/auth/status", &st)
	if !st.Authenticated || !st.Demo {
		t.Fatalf("status after a demo sign-in on 0.0.0.0 = %+v", st)
	}
}
