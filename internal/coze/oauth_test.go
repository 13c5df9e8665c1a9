package coze

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAuthorizeURLFixtures(t *testing.T) {
	fx := mustFixtureMap(t, "oauth_authorize_urls.json")
	vec := fx["pkce_test_vector"].(map[string]any)
	tests := []struct {
		name    string
		api     string
		www     string
		p       AuthorizeParams
		wantKey string
	}{
		{"web cn", APIBaseCN, "", AuthorizeParams{State: "1294848"}, "web_cn"},
		{"web com", APIBaseCOM, WWWBaseCOM, AuthorizeParams{State: "1294848"}, "web_com"},
		{"workspace scoped", APIBaseCN, WWWBaseCN, AuthorizeParams{State: "1294848", WorkspaceID: "7361638276870531234"}, "web_workspace_scoped_cn"},
		{"pkce S256", APIBaseCN, "", AuthorizeParams{State: "1294848", CodeChallenge: PKCEChallengeS256(vec["code_verifier"].(string))}, "pkce_s256_cn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(Options{APIBase: tt.api, WWWBase: tt.www, ClientID: testClientID, ClientSecret: testSecret, RedirectURI: testRedirect})
			got := c.AuthorizeURL(tt.p)
			if want := fx[tt.wantKey].(string); got != want {
				t.Errorf("AuthorizeURL =\n %s\nwant\n %s", got, want)
			}
			if strings.Contains(got, string(testSecret)) || strings.Contains(got, "scope") {
				t.Errorf("authorize URL carries the secret or a scope: %s", got)
			}
		})
	}
}

func TestAuthorizeURLPathPrefix(t *testing.T) {
	c := New(Options{APIBase: "http://127.0.0.1:5000/_sim/", ClientID: "id", RedirectURI: "http://x/cb#frag"})
	u, err := url.Parse(c.AuthorizeURL(AuthorizeParams{State: "s t&=", WorkspaceID: "../../evil"}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.EscapedPath(), "/_sim/api/permission/oauth2/workspace_id/..%2F..%2Fevil/authorize"; got != want {
		t.Errorf("path = %s, want %s", got, want)
	}
	if got := u.Query().Get("redirect_uri"); got != "http://x/cb#frag" {
		t.Errorf("redirect_uri = %q", got)
	}
	if got := u.Query().Get("state"); got != "s t&=" {
		t.Errorf("state = %q", got)
	}
}

func TestPKCE(t *testing.T) {
	fx := mustFixtureMap(t, "oauth_authorize_urls.json")
	vec := fx["pkce_test_vector"].(map[string]any)
	if got, want := PKCEChallengeS256(vec["code_verifier"].(string)), vec["code_challenge_S256"].(string); got != want {
		t.Errorf("challenge = %s, want %s", got, want)
	}
	a, b := NewPKCEVerifier(), NewPKCEVerifier()
	if len(a) != 43 || a == b || strings.ContainsAny(a, "+/=") {
		t.Errorf("verifiers %q %q: want 43 distinct base64url chars", a, b)
	}
}

func TestTokenExchange(t *testing.T) {
	tests := []struct {
		name       string
		secret     ClientSecret
		verifier   string
		fixture    string
		wantAuth   string
		wantAccess string
		wantExp    time.Time
	}{
		{"web app sends secret", testSecret, "", "oauth_token_response.json", "Bearer " + string(testSecret),
			"czu_UEE2mJn66h0fMHxLCVv9uQ7HAoNNS8DmF6N6grjWmkHX2jPm8SR0tJcKop8vQ1w", time.Unix(1720098388, 0)},
		{"pkce app sends no header", "", "verifier", "oauth_token_response.json", "",
			"czu_UEE2mJn66h0fMHxLCVv9uQ7HAoNNS8DmF6N6grjWmkHX2jPm8SR0tJcKop8vQ1w", time.Unix(1720098388, 0)},
		{"jwt shape without refresh", testSecret, "", "oauth_jwt_token_response.json", "Bearer " + string(testSecret),
			"czs_RQOhsc7vmUzK4bNgb7hn4wqOgRBYAO6xvpFHNbnl6RiQJX3cSXSguIhFDzgy7Tk1", time.Unix(1721135859, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := fakeAnswering(t, Options{ClientSecret: tt.secret}, 200, "application/json", mustFixture(t, tt.fixture))
			tok, err := c.ExchangeCode(t.Context(), "code_x", tt.verifier)
			if err != nil {
				t.Fatal(err)
			}
			if string(tok.AccessToken) != tt.wantAccess || !tok.ExpiresAt.Equal(tt.wantExp) {
				t.Errorf("token = %s %v, want %s %v", string(tok.AccessToken), tok.ExpiresAt, tt.wantAccess, tt.wantExp)
			}
			r := f.last(t)
			if got := r.Header.Get("Authorization"); got != tt.wantAuth {
				t.Errorf("Authorization = %q, want %q", got, tt.wantAuth)
			}
			if r.Method != "POST" || r.Path != tokenPath || len(r.Query) != 0 {
				t.Errorf("request = %s %s ?%v", r.Method, r.Path, r.Query)
			}
			if bytes.Contains(r.Body, []byte(testSecret)) {
				t.Error("secret in token request body")
			}
		})
	}
}

func TestTokenResponseParsing(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name     string
		status   int
		body     string
		wantExp  time.Time
		wantCode string // OAuthError code
		wantAPI  bool
		fatal    bool
	}{
		{"absolute expires_in", 200, `{"access_token":"a","refresh_token":"r","expires_in":1720098388}`, time.Unix(1720098388, 0), "", false, false},
		{"string expires_in", 200, `{"access_token":"a","refresh_token":"r","expires_in":"1720098388","token_type":"Bearer"}`, time.Unix(1720098388, 0), "", false, false},
		{"relative expires_in tolerated", 200, `{"access_token":"a","expires_in":900}`, now.Add(900 * time.Second), "", false, false},
		{"documented error 400", 400, string(mustFixtureBytes("oauth_error_documented.json")), time.Time{}, "invalid_request", false, true},
		{"invalid client 401", 401, string(mustFixtureBytes("oauth_error_invalid_client.json")), time.Time{}, "invalid_client", false, true},
		{"error code with 200", 200, `{"error_code":"invalid_request","error_message":"invalid request: refresh_token"}`, time.Time{}, "invalid_request", false, true},
		{"superset", 400, string(mustFixtureBytes("oauth_error_superset.json")), time.Time{}, "authorization_pending", false, false},
		{"device pending", 400, string(mustFixtureBytes("oauth_device_poll_pending.json")), time.Time{}, "authorization_pending", false, false},
		{"device slow down", 400, string(mustFixtureBytes("oauth_device_poll_slow_down.json")), time.Time{}, "slow_down", false, false},
		{"rfc error only", 400, `{"error":"invalid_grant","error_description":"used"}`, time.Time{}, "invalid_grant", false, true},
		{"internal error transient", 500, `{"error_code":"internal_error","error_message":"Service internal error."}`, time.Time{}, "internal_error", false, false},
		{"gateway html", 502, `<html>bad gateway</html>`, time.Time{}, "", true, false},
		{"no access token", 200, `{}`, time.Time{}, "", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := parseTokenResponse(tt.status, nil, []byte(tt.body), now)
			var oe *OAuthError
			var ae *APIError
			switch {
			case tt.wantCode != "":
				if !errors.As(err, &oe) || oe.Code != tt.wantCode || oe.HTTPStatus != tt.status {
					t.Fatalf("err = %v, want OAuthError %s", err, tt.wantCode)
				}
			case tt.wantAPI:
				if !errors.As(err, &ae) {
					t.Fatalf("err = %v, want APIError", err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if !tok.ExpiresAt.Equal(tt.wantExp) {
					t.Errorf("ExpiresAt = %v, want %v", tok.ExpiresAt, tt.wantExp)
				}
			}
			if got := IsFatalOAuth(err); got != tt.fatal {
				t.Errorf("IsFatalOAuth = %v, want %v", got, tt.fatal)
			}
		})
	}
}

func mustFixtureBytes(name string) []byte {
	var m map[string]any
	b, err := jsonFixture(name)
	if err != nil {
		panic(err)
	}
	_ = json.Unmarshal(b, &m)
	for k := range m {
		if strings.HasPrefix(k, "_note") {
			delete(m, k)
		}
	}
	out, _ := json.Marshal(m)
	return out
}

func TestOAuthErrorScrubsSecrets(t *testing.T) {
	f, c := mustFake(t, Options{ClientSecret: testSecret})
	rt := "refresh_token_value_abc"
	f.answer(400, "application/json", fmt.Appendf(nil, `{"error_code":"invalid_request","error_message":"bad %s and %s"}`, rt, testSecret))
	_, err := c.RefreshToken(t.Context(), RefreshToken(rt))
	if err == nil || strings.Contains(err.Error(), rt) || strings.Contains(err.Error(), string(testSecret)) {
		t.Errorf("err = %v: must exist and hide secrets", err)
	}
}

func TestSecretsRedact(t *testing.T) {
	values := []any{AccessToken("czu_abc123"), RefreshToken("rt_abc123"), ClientSecret("cs_abc123"),
		Token{AccessToken: "czu_abc123", RefreshToken: "rt_abc123"}, Options{ClientSecret: "cs_abc123"}}
	for _, v := range values {
		var logBuf bytes.Buffer
		slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("x", "v", v)
		js, _ := json.Marshal(v)
		outs := []string{fmt.Sprint(v), fmt.Sprintf("%v %+v %#v %s %q", v, v, v, v, v), string(js), logBuf.String()}
		for _, s := range outs {
			if strings.Contains(s, "abc123") {
				t.Errorf("%T leaked: %s", v, s)
			}
		}
	}
	if got := string(AccessToken("raw")); got != "raw" {
		t.Errorf("string conversion = %q", got)
	}
	if diff := cmp.Diff(`"[REDACTED]"`, fmt.Sprintf("%q", AccessToken("x"))); diff != "" {
		t.Error(diff)
	}
}
