package cozesim

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

var pkceApp = App{Name: "PKCE <SPA>", ClientID: "11112222333344445555666677778888.app.coze", RedirectURIs: []string{"http://127.0.0.1:9000/cb?x=1"}}

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

func oauthEnv(t *testing.T, o Options) *env {
	t.Helper()
	o.Apps = []App{DefaultApp(), pkceApp}
	return mustEnv(t, o)
}

func TestOAuthDance(t *testing.T) {
	tests := []struct {
		name     string
		prefix   string
		app      App
		verifier string
	}{
		{"web app", "", DefaultApp(), ""},
		{"web app with PKCE (Q7)", "", DefaultApp(), verifier},
		{"pkce public app", "", pkceApp, verifier},
		{"under /_sim", "/_sim", DefaultApp(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := oauthEnv(t, Options{PathPrefix: tt.prefix})
			code := e.mustCode(t, tt.app, UserBea, tt.verifier)
			if !strings.HasPrefix(code, "code_") {
				t.Fatalf("code = %q", code)
			}
			tok := e.exchange(t, tt.app, code, tt.app.RedirectURIs[0], tt.verifier)
			if tok.status != http.StatusOK {
				t.Fatalf("exchange status %d: %s", tok.status, tok.raw)
			}
			if !strings.HasPrefix(tok.Access, "czu_") || tok.Refresh == "" {
				t.Errorf("tokens = %q / %q", tok.Access, tok.Refresh)
			}
			if want := t0.Add(15 * time.Minute).Unix(); tok.ExpiresIn != want {
				t.Errorf("expires_in = %d, want absolute %d", tok.ExpiresIn, want)
			}
			if _, has := tok.body["token_type"]; has {
				t.Errorf("token_type present")
			}
			me := e.mustOK(t, http.MethodGet, "/v1/users/me", tok.Access, nil)
			if got := str(dataMap(me), "user_id"); got != UserBea {
				t.Errorf("me = %q, want %q", got, UserBea)
			}
			if e.sim.Calls("token:authorization_code") != 1 {
				t.Errorf("token calls = %d", e.sim.Calls("token:authorization_code"))
			}
			// Replay.
			again := e.exchange(t, tt.app, code, tt.app.RedirectURIs[0], tt.verifier)
			if again.status != http.StatusBadRequest || again.body["error_code"] != "invalid_request" {
				t.Errorf("replay: %d %s", again.status, again.raw)
			}
		})
	}
}

func TestConsentRedirectKeepsQueryAndDeny(t *testing.T) {
	e := oauthEnv(t, Options{PathPrefix: "/_sim"})
	q := url.Values{"response_type": {"code"}, "client_id": {pkceApp.ClientID}, "redirect_uri": {pkceApp.RedirectURIs[0]},
		"state": {"a b&c"}, "code_challenge": {s256(verifier)}, "code_challenge_method": {"S256"}}
	cb, err := Consent(t.Context(), e.hc, e.base()+"/api/permission/oauth2/authorize?"+q.Encode(), UserAlan, "deny")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(cb)
	if u.Query().Get("x") != "1" || u.Query().Get("error") != "access_denied" || u.Query().Get("state") != "a b&c" || u.Query().Get("code") != "" {
		t.Errorf("deny callback = %q", cb)
	}
	if u.Query().Get("error_description") == "" {
		t.Errorf("no error_description in %q", cb)
	}
}

func TestAuthorizeErrors(t *testing.T) {
	e := oauthEnv(t, Options{})
	good := url.Values{"response_type": {"code"}, "client_id": {DefaultApp().ClientID}, "redirect_uri": {DefaultApp().RedirectURIs[0]}, "state": {"s"}}
	tests := []struct {
		name string
		edit func(url.Values)
	}{
		{"bad response_type", func(v url.Values) { v.Set("response_type", "token") }},
		{"unknown client", func(v url.Values) { v.Set("client_id", "nope") }},
		{"unregistered redirect", func(v url.Values) { v.Set("redirect_uri", "https://evil.example/cb") }},
		{"redirect prefix only", func(v url.Values) { v.Set("redirect_uri", DefaultApp().RedirectURIs[0]+"/x") }},
		{"no state", func(v url.Values) { v.Del("state") }},
		{"bad method", func(v url.Values) { v.Set("code_challenge", s256(verifier)); v.Set("code_challenge_method", "MD5") }},
		{"method without challenge", func(v url.Values) { v.Set("code_challenge_method", "S256") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := url.Values{}
			for k, x := range good {
				v[k] = append([]string(nil), x...)
			}
			tt.edit(v)
			status, h, b := e.do(t, http.MethodGet, "/api/permission/oauth2/authorize?"+v.Encode(), "", nil)
			if status != http.StatusBadRequest || h.Get("Location") != "" {
				t.Errorf("status %d Location %q", status, h.Get("Location"))
			}
			if !strings.Contains(string(b), "simulator") {
				t.Errorf("error page: %s", b)
			}
		})
	}
}

func TestTokenErrors(t *testing.T) {
	web := DefaultApp()
	wrong := "wrong-secret"
	tests := []struct {
		name       string
		app        App
		verifier   string // used at authorize
		call       func(e *env, code string) tokenResult
		wantStatus int
		wantCode   string
	}{
		{"wrong secret", web, "", func(e *env, code string) tokenResult {
			return e.tokenCall(t, &wrong, map[string]any{"grant_type": "authorization_code", "client_id": web.ClientID, "redirect_uri": web.RedirectURIs[0], "code": code})
		}, 401, "invalid_client"},
		{"secret in body", web, "", func(e *env, code string) tokenResult {
			return e.tokenCall(t, nil, map[string]any{"grant_type": "authorization_code", "client_id": web.ClientID, "client_secret": web.ClientSecret, "redirect_uri": web.RedirectURIs[0], "code": code})
		}, 401, "invalid_client"},
		{"wrong redirect_uri", web, "", func(e *env, code string) tokenResult {
			return e.exchange(t, web, code, web.RedirectURIs[1], "")
		}, 400, "invalid_request"},
		{"wrong verifier", pkceApp, verifier, func(e *env, code string) tokenResult {
			return e.exchange(t, pkceApp, code, pkceApp.RedirectURIs[0], verifier+"x")
		}, 400, "invalid_request"},
		{"missing verifier", pkceApp, verifier, func(e *env, code string) tokenResult {
			return e.exchange(t, pkceApp, code, pkceApp.RedirectURIs[0], "")
		}, 400, "invalid_request"},
		{"verifier without challenge", web, "", func(e *env, code string) tokenResult {
			return e.exchange(t, web, code, web.RedirectURIs[0], verifier)
		}, 400, "invalid_request"},
		{"expired code", web, "", func(e *env, code string) tokenResult {
			e.clock.Advance(11 * time.Minute)
			return e.exchange(t, web, code, web.RedirectURIs[0], "")
		}, 400, "invalid_request"},
		{"unknown grant", web, "", func(e *env, code string) tokenResult {
			return e.tokenCall(t, &web.ClientSecret, map[string]any{"grant_type": "password", "client_id": web.ClientID})
		}, 400, "unsupported_grant_type"},
		{"form body", web, "", func(e *env, code string) tokenResult {
			_, _, b := e.do(t, http.MethodPost, "/api/permission/oauth2/token", "", "grant_type=authorization_code&code="+code)
			return tokenResult{status: 400, raw: b, body: map[string]any{"error_code": between(string(b), `"error_code":"`, `"`)}}
		}, 400, "invalid_request"},
		{"public app with a secret", pkceApp, verifier, func(e *env, code string) tokenResult {
			s := "x"
			return e.tokenCall(t, &s, map[string]any{"grant_type": "authorization_code", "client_id": pkceApp.ClientID, "redirect_uri": pkceApp.RedirectURIs[0], "code": code, "code_verifier": verifier})
		}, 401, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := oauthEnv(t, Options{})
			code := e.mustCode(t, tt.app, UserAlan, tt.verifier)
			got := tt.call(e, code)
			if got.status != tt.wantStatus || got.body["error_code"] != tt.wantCode {
				t.Errorf("got %d %s, want %d %s", got.status, got.raw, tt.wantStatus, tt.wantCode)
			}
		})
	}
}

func TestRefreshRotationAndExpiry(t *testing.T) {
	for _, revoke := range []bool{false, true} {
		t.Run("revokeAccess="+map[bool]string{false: "no", true: "yes"}[revoke], func(t *testing.T) {
			e := oauthEnv(t, Options{RevokeAccessOnRefresh: revoke})
			app := DefaultApp()
			access, rt := e.mustLogin(t, app, UserChen, "")
			e.clock.Advance(14 * time.Minute)
			e.mustOK(t, http.MethodGet, "/v1/users/me", access, nil)
			e.clock.Advance(2 * time.Minute)
			if m := e.api(t, http.MethodGet, "/v1/users/me", access, nil); code(m) != 4100 {
				t.Fatalf("expired access: code %v", m["code"])
			}
			r1 := e.refreshCall(t, app, rt)
			if r1.status != 200 || r1.Refresh == rt || r1.Refresh == "" {
				t.Fatalf("refresh: %d %s", r1.status, r1.raw)
			}
			if want := e.clock.Now().Add(15 * time.Minute).Unix(); r1.ExpiresIn != want {
				t.Errorf("expires_in %d, want %d", r1.ExpiresIn, want)
			}
			if reuse := e.refreshCall(t, app, rt); reuse.status != 400 || reuse.body["error_code"] != "invalid_request" {
				t.Errorf("reuse: %d %s", reuse.status, reuse.raw)
			}
			r2 := e.refreshCall(t, app, r1.Refresh)
			if r2.status != 200 {
				t.Fatalf("second refresh: %s", r2.raw)
			}
			m := e.api(t, http.MethodGet, "/v1/users/me", r1.Access, nil)
			if wantDead := revoke; (code(m) == 4100) != wantDead {
				t.Errorf("old access after refresh: code %v, revoke=%v", m["code"], revoke)
			}
			if e.sim.Calls("token:refresh_token") != 3 {
				t.Errorf("refresh calls = %d", e.sim.Calls("token:refresh_token"))
			}
			e.clock.Advance(31 * 24 * time.Hour)
			if late := e.refreshCall(t, app, r2.Refresh); late.status != 400 {
				t.Errorf("expired refresh: %d", late.status)
			}
		})
	}
}

func TestInvalidTokenVariants(t *testing.T) {
	tests := []struct {
		name       string
		o          Options
		wantStatus int
		wantCode   int
	}{
		{"default", Options{}, 401, 4100},
		{"200 + 700012006", Options{InvalidTokenStatus: 200, InvalidTokenCode: 700012006}, 200, 700012006},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustEnv(t, tt.o)
			access, rt := e.sim.IssueToken(UserAlan)
			e.sim.ExpireAccessTokens(UserAlan)
			status, h, b := e.do(t, http.MethodGet, "/v1/users/me", access, nil)
			if status != tt.wantStatus || !strings.Contains(string(b), `"code":`) || len(h.Get("X-Tt-Logid")) != 34 {
				t.Errorf("status %d body %s", status, b)
			}
			if !strings.Contains(string(b), "\"code\":"+strconv.Itoa(tt.wantCode)) {
				t.Errorf("body %s, want code %d", b, tt.wantCode)
			}
			e.sim.RevokeRefreshTokens(UserAlan)
			if r := e.refreshCall(t, DefaultApp(), rt); r.status != 400 {
				t.Errorf("revoked refresh: %d", r.status)
			}
			if st, _, _ := e.do(t, http.MethodGet, "/v1/users/me", "", nil); st != tt.wantStatus {
				t.Errorf("no token: %d", st)
			}
		})
	}
}

// With RefusePKCEForWebApps a web app (client secret) that sends PKCE is
// refused like any bad OAuth request (coze-protocol E1); public apps still
// must send it, and a web app without it signs in.
func TestRefusePKCEForWebApps(t *testing.T) {
	web := DefaultApp()
	t.Run("authorize with a challenge from a web app", func(t *testing.T) {
		e := oauthEnv(t, Options{RefusePKCEForWebApps: true})
		q := url.Values{"response_type": {"code"}, "client_id": {web.ClientID}, "redirect_uri": {web.RedirectURIs[0]},
			"state": {"s"}, "code_challenge": {s256(verifier)}, "code_challenge_method": {"S256"}}
		status, h, b := e.do(t, http.MethodGet, "/api/permission/oauth2/authorize?"+q.Encode(), "", nil)
		if status != http.StatusBadRequest || h.Get("Location") != "" {
			t.Errorf("status %d Location %q: %s", status, h.Get("Location"), b)
		}
	})
	t.Run("token with a verifier from a web app", func(t *testing.T) {
		e := oauthEnv(t, Options{RefusePKCEForWebApps: true})
		code := e.mustCode(t, web, UserAlan, "")
		got := e.exchange(t, web, code, web.RedirectURIs[0], verifier)
		if got.status != http.StatusBadRequest || got.body["error_code"] != "invalid_request" || got.body["error_message"] != "invalid request: client_secret" {
			t.Errorf("got %d %s, want 400 invalid_request \"invalid request: client_secret\"", got.status, got.raw)
		}
	})
	t.Run("web app without PKCE", func(t *testing.T) {
		e := oauthEnv(t, Options{RefusePKCEForWebApps: true})
		if access, _ := e.mustLogin(t, web, UserBea, ""); access == "" {
			t.Error("no access token")
		}
	})
	t.Run("public app with PKCE", func(t *testing.T) {
		e := oauthEnv(t, Options{RefusePKCEForWebApps: true})
		if access, _ := e.mustLogin(t, pkceApp, UserBea, verifier); access == "" {
			t.Error("no access token")
		}
	})
	t.Run("default mode accepts both (Q7)", func(t *testing.T) {
		e := oauthEnv(t, Options{})
		if access, _ := e.mustLogin(t, web, UserBea, verifier); access == "" {
			t.Error("no access token")
		}
	})
}
