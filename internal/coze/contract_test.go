package coze_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// Contract tests: the client against the simulator (internal/cozesim), which was written
// independently from docs/coze-protocol.md. Every client endpoint method is exercised here.

const (
	simPrefix   = "/_sim"
	webClientID = "7000000000000000000000000000001.app.coze"
	webSecret   = "sim_web_secret_value_0123456789"
	pkceClient  = "7000000000000000000000000000002.app.coze"
	redirectURI = "http://127.0.0.1:9/callback"
)

type simEnv struct {
	sim *cozesim.Sim
	srv *httptest.Server
	web *coze.Client // confidential web app
	pub *coze.Client // public PKCE app
}

// mustSim mounts a simulator under /_sim (as the app does) and returns clients for it.
func mustSim(tb testing.TB, o cozesim.Options) *simEnv {
	tb.Helper()
	o.PathPrefix = simPrefix
	o.Apps = []cozesim.App{
		{Name: "web", ClientID: webClientID, ClientSecret: webSecret, RedirectURIs: []string{redirectURI}},
		{Name: "pkce", ClientID: pkceClient, RedirectURIs: []string{redirectURI}},
	}
	sim := cozesim.New(o)
	mux := http.NewServeMux()
	mux.Handle(simPrefix+"/", http.StripPrefix(simPrefix, sim))
	srv := httptest.NewServer(mux)
	tb.Cleanup(func() { srv.Close(); sim.Close() })
	base := srv.URL + simPrefix
	mk := func(id string, secret coze.ClientSecret) *coze.Client {
		return coze.New(coze.Options{APIBase: base, WWWBase: base, ClientID: id, ClientSecret: secret,
			RedirectURI: redirectURI, StreamHeaderTimeout: 5 * time.Second, Timeout: 10 * time.Second})
	}
	return &simEnv{sim: sim, srv: srv, web: mk(webClientID, webSecret), pub: mk(pkceClient, "")}
}

// signedIn is the usual contract-test setup: a simulator, the web app's client, Alan's
// token and a bounded context.
func signedIn(t *testing.T, o cozesim.Options) (*simEnv, *coze.Client, coze.AccessToken, context.Context) {
	t.Helper()
	e := mustSim(t, o)
	return e, e.web, e.token(cozesim.UserAlan), runCtx(t)
}

// token mints a token pair for a demo user without the OAuth dance.
func (e *simEnv) token(userID string) coze.AccessToken {
	a, _ := e.sim.IssueToken(userID)
	return coze.AccessToken(a)
}

var (
	reHidden = regexp.MustCompile(`name="authorize_key" value="([^"]+)"`)
	reAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// consent walks authorize → consent page → POST decision like a browser and returns the
// callback URL. The browser client never follows a redirect off the simulator.
func (e *simEnv) consent(tb testing.TB, authorizeURL, userID, decision string) *url.URL {
	tb.Helper()
	simURL, _ := url.Parse(e.srv.URL)
	browser := &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != simURL.Host {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := browser.Get(authorizeURL)
	if err != nil {
		tb.Fatalf("GET authorize: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		tb.Fatalf("consent page status %d: %s", resp.StatusCode, page)
	}
	key, action := reHidden.FindSubmatch(page), reAction.FindSubmatch(page)
	if key == nil || action == nil {
		tb.Fatalf("consent form not found in %s", page)
	}
	target := resp.Request.URL.ResolveReference(&url.URL{Path: string(action[1])})
	resp, err = browser.PostForm(target.String(), url.Values{
		"authorize_key": {string(key[1])}, "user_id": {userID}, "decision": {decision}})
	if err != nil {
		tb.Fatalf("POST consent: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		tb.Fatalf("consent POST status %d, want 302", resp.StatusCode)
	}
	loc, err := resp.Location()
	if err != nil {
		tb.Fatalf("consent Location: %v", err)
	}
	return loc
}

func TestContractOAuthDance(t *testing.T) {
	tests := []struct {
		name       string
		public     bool
		wantHeader string
	}{
		{"web app with secret", false, "Bearer " + webSecret},
		{"public PKCE app", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustSim(t, cozesim.Options{})
			c := e.web
			if tt.public {
				c = e.pub
			}
			verifier := coze.NewPKCEVerifier()
			cb := e.consent(t, c.AuthorizeURL(coze.AuthorizeParams{State: "state-123", CodeChallenge: coze.PKCEChallengeS256(verifier)}), cozesim.UserBea, "approve")
			if got := cb.Query().Get("state"); got != "state-123" {
				t.Fatalf("callback state = %q", got)
			}
			if !strings.HasPrefix(cb.String(), redirectURI+"?") {
				t.Fatalf("callback = %s, want %s?...", cb, redirectURI)
			}
			code := cb.Query().Get("code")
			tok, err := c.ExchangeCode(t.Context(), code, verifier)
			if err != nil {
				t.Fatalf("ExchangeCode: %v", err)
			}
			if d := time.Until(tok.ExpiresAt); d < 10*time.Minute || d > 16*time.Minute {
				t.Errorf("ExpiresAt in %v, want ≈15m (absolute expires_in)", d)
			}
			me, err := c.Me(t.Context(), tok.AccessToken)
			if err != nil || me.UserID != cozesim.UserBea {
				t.Fatalf("Me = %+v, %v", me, err)
			}
			// The code is single use.
			if _, err := c.ExchangeCode(t.Context(), code, verifier); !coze.IsFatalOAuth(err) {
				t.Errorf("second exchange err = %v, want fatal OAuth error", err)
			}
			// Rotation: the new pair works, the old refresh token is dead.
			t2, err := c.RefreshToken(t.Context(), tok.RefreshToken)
			if err != nil || t2.RefreshToken == tok.RefreshToken || t2.AccessToken == "" {
				t.Fatalf("refresh: %v (rotated=%v)", err, t2.RefreshToken != tok.RefreshToken)
			}
			if _, err := c.RefreshToken(t.Context(), tok.RefreshToken); !coze.IsFatalOAuth(err) {
				t.Errorf("reused refresh token err = %v, want fatal OAuth error", err)
			}
			if _, err := c.RefreshToken(t.Context(), t2.RefreshToken); err != nil {
				t.Errorf("refresh with the newest token: %v", err)
			}
			checkWire(t, e, tt.wantHeader, tok)
		})
	}
}

// checkWire: the secret only reaches the token endpoint (as a Bearer header), tokens never
// appear in a URL.
func checkWire(t *testing.T, e *simEnv, wantTokenAuth string, tok coze.Token) {
	t.Helper()
	for _, r := range e.sim.Requests() {
		q := r.Query.Encode()
		if strings.Contains(q, string(tok.AccessToken)) || strings.Contains(q, string(tok.RefreshToken)) || strings.Contains(q, webSecret) {
			t.Errorf("%s %s: secret in query", r.Method, r.Path)
		}
		auth := r.Header.Get("Authorization")
		switch {
		case r.Path == "/api/permission/oauth2/token":
			if auth != wantTokenAuth {
				t.Errorf("token endpoint Authorization = %q, want %q", auth, wantTokenAuth)
			}
			if strings.Contains(string(r.Body), webSecret) {
				t.Error("client secret in the token request body")
			}
		case strings.Contains(auth, webSecret):
			t.Errorf("%s %s: client secret sent outside the token endpoint", r.Method, r.Path)
		}
	}
}

func TestContractConsentDenied(t *testing.T) {
	e := mustSim(t, cozesim.Options{})
	cb := e.consent(t, e.web.AuthorizeURL(coze.AuthorizeParams{State: "s1"}), cozesim.UserAlan, "deny")
	if cb.Query().Get("error") != "access_denied" || cb.Query().Get("code") != "" || cb.Query().Get("state") != "s1" {
		t.Errorf("deny callback = %s", cb)
	}
}

func TestContractTokenEndpointFaults(t *testing.T) {
	e := mustSim(t, cozesim.Options{})
	verifier := coze.NewPKCEVerifier()
	cb := e.consent(t, e.web.AuthorizeURL(coze.AuthorizeParams{State: "s", CodeChallenge: coze.PKCEChallengeS256(verifier)}), cozesim.UserAlan, "approve")
	if _, err := e.web.ExchangeCode(t.Context(), cb.Query().Get("code"), "wrong-verifier-"+verifier); !coze.IsFatalOAuth(err) {
		t.Errorf("bad verifier err = %v, want fatal OAuth", err)
	}
	_, rt := e.sim.IssueToken(cozesim.UserAlan)
	e.sim.AddFault(cozesim.Fault{Endpoint: "POST /api/permission/oauth2/token", OAuthError: "internal_error", Times: 1})
	_, err := e.web.RefreshToken(t.Context(), coze.RefreshToken(rt))
	var oe *coze.OAuthError
	if !errors.As(err, &oe) || coze.IsFatalOAuth(err) {
		t.Errorf("internal_error err = %v, want transient OAuthError", err)
	}
	e.sim.AddFault(cozesim.Fault{Endpoint: "POST /api/permission/oauth2/token", ResetAfterWrite: true, Times: 1})
	if _, err := e.web.RefreshToken(t.Context(), coze.RefreshToken(rt)); err == nil || !coze.IsUpstreamUnavailable(err) {
		t.Errorf("reset after write err = %v, want upstream unavailable", err)
	}
	// Coze rotated before the connection died: the old refresh token is gone (re-login).
	if _, err := e.web.RefreshToken(t.Context(), coze.RefreshToken(rt)); !coze.IsFatalOAuth(err) {
		t.Errorf("after lost rotation err = %v, want fatal OAuth", err)
	}
	bad := coze.New(coze.Options{APIBase: e.srv.URL + simPrefix, ClientID: webClientID, ClientSecret: "wrong", RedirectURI: redirectURI})
	if _, err := bad.RefreshToken(t.Context(), "x"); !coze.IsFatalOAuth(err) || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong secret err = %v", err)
	}
}

func TestContractInvalidTokenVariants(t *testing.T) {
	tests := []struct {
		name   string
		status int
		code   int
	}{
		{"401 4100", 401, 4100},
		{"200 4100", 200, 4100},
		{"401 700012006", 401, 700012006},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustSim(t, cozesim.Options{InvalidTokenStatus: tt.status, InvalidTokenCode: tt.code})
			tok := e.token(cozesim.UserAlan)
			e.sim.ExpireAccessTokens(cozesim.UserAlan)
			_, err := e.web.Me(t.Context(), tok)
			var ae *coze.APIError
			if !coze.IsTokenInvalid(err) || !errors.As(err, &ae) || ae.HTTPStatus != tt.status || ae.Code != tt.code || ae.LogID == "" {
				t.Errorf("err = %#v, want %d/%d with logid", err, tt.status, tt.code)
			}
			if _, err := e.web.StreamChat(t.Context(), tok, coze.ChatRequest{BotID: cozesim.BotAssistant, UserID: "u"}); !coze.IsTokenInvalid(err) {
				t.Errorf("stream err = %v, want token invalid", err)
			}
		})
	}
}

func runCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}
