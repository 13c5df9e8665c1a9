package cozesim

import (
	"net/http"
	"net/url"
	"testing"
)

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
