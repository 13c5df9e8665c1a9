package cozesim

import (
	"net/http"
	"strings"
	"sync"
	"testing"
)

func TestConcurrentChats(t *testing.T) {
	e := mustEnv(t, Options{})
	users := []string{UserAlan, UserBea, UserChen}
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for i := range 30 {
		wg.Go(func() {
			tok, _ := e.sim.IssueToken(users[i%3])
			bot := []string{BotAssistant, BotMemory, BotXSS}[i%3]
			_, _, b := e.do(t, http.MethodPost, "/v3/chat", tok, chatBodyFor(bot, "hello", i%2 == 0))
			if i%2 == 0 && !strings.HasSuffix(string(b), "event:done\ndata:\"[DONE]\"\n\n") {
				errs <- "stream did not finish: " + string(tail(b))
			}
			if i%2 == 1 && !strings.Contains(string(b), `"status":"in_progress"`) {
				errs <- "non-stream: " + string(b)
			}
			_, _, _ = e.do(t, http.MethodGet, "/v1/bots?workspace_id="+WorkspaceTeam, tok, nil)
			_ = e.sim.Calls("POST /v3/chat")
			_ = e.sim.Requests()
		})
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	total := 0
	for _, u := range users {
		total += e.sim.ConversationCount(u)
	}
	if total != 30 || e.sim.Calls("POST /v3/chat") != 30 {
		t.Errorf("conversations %d, chat calls %d", total, e.sim.Calls("POST /v3/chat"))
	}
}

func TestMountedWithStripPrefix(t *testing.T) {
	s := New(Options{PathPrefix: "/_sim", Clock: NewFakeClock(t0)})
	mux := http.NewServeMux()
	mux.Handle("/_sim/", http.StripPrefix("/_sim", s))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "app", http.StatusTeapot) })
	e := mustEnv(t, Options{PathPrefix: "/_sim"})
	// Swap in the mounted handler behind the same test server.
	e.srv.Config.Handler = mux
	e.sim = s
	defer s.Close()
	tok, _ := s.IssueToken(UserAlan)
	m := e.mustOK(t, http.MethodGet, "/v1/bots?workspace_id="+WorkspaceTeam, tok, nil)
	icon := str(dataMap(m)["items"].([]any)[0].(map[string]any), "icon_url")
	if !strings.HasPrefix(icon, "/_sim/assets/") {
		t.Fatalf("icon_url %q", icon)
	}
	status, h, b := e.do(t, http.MethodGet, strings.TrimPrefix(icon, "/_sim"), "", nil)
	if status != 200 || h.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(string(b), "<svg") {
		t.Errorf("asset: %d %s", status, h.Get("Content-Type"))
	}
	app := DefaultApp()
	code := e.mustCode(t, app, UserAlan, "")
	if tok := e.exchange(t, app, code, app.RedirectURIs[0], ""); tok.status != 200 {
		t.Errorf("exchange through the mount: %s", tok.raw)
	}
	if s.Calls("token:authorization_code") != 1 || s.Calls("GET /oauth/consent") != 1 {
		t.Errorf("calls %v", s.AllCalls())
	}
}

func TestConsentPageEscapes(t *testing.T) {
	e := oauthEnv(t, Options{})
	q := "response_type=code&client_id=" + pkceApp.ClientID + "&redirect_uri=" + "http%3A%2F%2F127.0.0.1%3A9000%2Fcb%3Fx%3D1" +
		"&state=s&code_challenge=" + s256(verifier) + "&code_challenge_method=S256"
	loc := e.mustRedirect(t, http.MethodGet, "/api/permission/oauth2/authorize?"+q)
	_, h, b := e.do(t, http.MethodGet, loc, "", nil)
	page := string(b)
	if strings.Contains(page, "<SPA>") || !strings.Contains(page, "PKCE &lt;SPA&gt;") || !strings.Contains(page, "127.0.0.1:9000/cb?x=1") {
		t.Errorf("page not escaped or incomplete:\n%s", page)
	}
	for _, u := range []string{"Alan", "Bea", "Chen"} {
		if !strings.Contains(page, u) {
			t.Errorf("user %s missing", u)
		}
	}
	if h.Get("Content-Security-Policy") == "" {
		t.Errorf("no CSP")
	}
	// An unknown or used key shows an error page, not a redirect.
	if status, _, _ := e.do(t, http.MethodGet, "/oauth/consent?authorize_key=nope", "", nil); status != http.StatusBadRequest {
		t.Errorf("unknown key: %d", status)
	}
}
