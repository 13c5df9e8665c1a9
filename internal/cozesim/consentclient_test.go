package cozesim

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// A sign-in approved through the form yields a code that becomes a token for
// the person picked, also when the simulator is mounted under a prefix.
func TestConsentSignsInAsThePersonPicked(t *testing.T) {
	e := oauthEnv(t, Options{PathPrefix: "/_sim"})
	app := DefaultApp()
	q := url.Values{"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {app.RedirectURIs[0]}, "state": {"s1"}}
	cb, err := Consent(t.Context(), nil, e.base()+"/api/permission/oauth2/authorize?"+q.Encode(), UserBea, "approve")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(cb)
	if err != nil || !strings.HasPrefix(cb, app.RedirectURIs[0]+"?") || u.Query().Get("state") != "s1" {
		t.Fatalf("callback = %q, want %s?…state=s1", cb, app.RedirectURIs[0])
	}
	tok := e.exchange(t, app, u.Query().Get("code"), app.RedirectURIs[0], "")
	if tok.status != http.StatusOK {
		t.Fatalf("exchange: %d %s", tok.status, tok.raw)
	}
	if got := str(dataMap(e.mustOK(t, http.MethodGet, "/v1/users/me", tok.Access, nil)), "user_id"); got != UserBea {
		t.Errorf("signed in as %q, want %q", got, UserBea)
	}
}

// The page Consent reads is the one a person sees: a form naming the
// authorize key, a choice of every demo user, and both buttons.
func TestConsentPageOffersEveryUserAndBothChoices(t *testing.T) {
	e := oauthEnv(t, Options{})
	app := DefaultApp()
	q := url.Values{"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {app.RedirectURIs[0]}, "state": {"s"}}
	loc := e.mustRedirect(t, http.MethodGet, "/api/permission/oauth2/authorize?"+q.Encode())
	_, h, b := e.do(t, http.MethodGet, loc, "", nil)
	if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Errorf("content type %q, want text/html", h.Get("Content-Type"))
	}
	page := string(b)
	if consentActionRe.FindStringSubmatch(page) == nil || consentKeyRe.FindStringSubmatch(page) == nil {
		t.Errorf("page lacks the form action or the authorize key:\n%s", page)
	}
	want := []string{`<select name="user_id"`, `id="approve"`, `id="deny"`, "同意授权 / Authorize", "拒绝 / Deny", "simulator"}
	for _, u := range e.sim.Users() {
		want = append(want, `value="`+u.ID+`"`)
	}
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("consent page lacks %q", w)
		}
	}
}

// Consent says which step failed instead of returning a callback it did not get.
func TestConsentReportsTheStepThatFailed(t *testing.T) {
	e := oauthEnv(t, Options{})
	app := DefaultApp()
	good := url.Values{"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {app.RedirectURIs[0]}, "state": {"s"}}
	unknown := url.Values{"response_type": {"code"}, "client_id": {"nope"}, "redirect_uri": {app.RedirectURIs[0]}, "state": {"s"}}
	formless := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/authorize" {
			http.Redirect(w, r, "/consent", http.StatusFound)
			return
		}
		_, _ = w.Write([]byte("<p>no form here</p>"))
	}))
	t.Cleanup(formless.Close)
	for _, tt := range []struct {
		name, authorize, user, want string
	}{
		{"authorize refuses the client", e.base() + "/api/permission/oauth2/authorize?" + unknown.Encode(), UserAlan, "authorize answered 400"},
		{"page without a form", formless.URL + "/authorize", UserAlan, "no consent form"},
		{"unknown user approved", e.base() + "/api/permission/oauth2/authorize?" + good.Encode(), "42", "consent form answered 400"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cb, err := Consent(t.Context(), e.hc, tt.authorize, tt.user, "approve")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Consent = %q, %v; want an error saying %q", cb, err, tt.want)
			}
		})
	}
}
