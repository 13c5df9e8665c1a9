package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/coze2app/coze2app/internal/cozesim"
)

// Catalog group C: CSRF and cross-origin (cases 21–25) and case 19.

// stateChanging is every POST/PUT/PATCH/DELETE route of routes.go with a
// body that succeeds when the request is let through.
type stateRoute struct {
	name, method, path, ctype, body string
}

func stateChangingRoutes(t testing.TB, convID, chatID string) []stateRoute {
	t.Helper()
	ct, up := multipartBody(t, "file", "pixel.png", pngBytes)
	return []stateRoute{
		{"logout", "POST", "/api/auth/logout", "", ""},
		{"chat", "POST", "/api/chat", "application/json", `{"bot_id":"` + cozesim.BotAssistant + `","message":"hi"}`},
		{"cancel", "POST", "/api/chat/cancel", "application/json", `{"conversation_id":"` + convID + `","chat_id":"` + chatID + `"}`},
		{"rename", "PATCH", "/api/conversations/" + convID, "application/json", `{"title":"renamed"}`},
		{"pin", "PUT", "/api/conversations/" + convID + "/pin", "application/json", `{"pinned":true}`},
		{"delete", "DELETE", "/api/conversations/" + convID, "", ""},
		{"restore", "POST", "/api/conversations/" + convID + "/restore", "", ""},
		{"upload", "POST", "/api/files", ct, up},
	}
}

func TestCase21_FetchMetadataMatrix(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	first := mustChat(t, e, c, cozesim.BotAssistant, "seed", "")

	sites := []string{"same-origin", "none", "same-site", "cross-site", ""}
	origins := []struct{ name, value string }{
		{"self", e.url}, {"evil", "https://evil.example"}, {"null", "null"}, {"absent", ""},
	}
	// wantAllowed is http.CrossOriginProtection's rule with our public origin
	// trusted: Sec-Fetch-Site decides when present; otherwise Origin must be
	// ours or absent (a non-browser client). A cross-site Sec-Fetch-Site with
	// our own Origin cannot come from a browser; Go exempts trusted origins.
	wantAllowed := func(site, origin string) bool {
		switch site {
		case "same-origin", "none":
			return true
		case "same-site", "cross-site":
			return origin == "self"
		}
		return origin == "self" || origin == "absent"
	}
	n, denied := 0, 0
	for _, rt := range stateChangingRoutes(t, first.ConversationID, first.ChatID) {
		for _, site := range sites {
			for _, o := range origins {
				name := rt.name + "/site=" + orAbsent(site) + "/origin=" + o.name
				t.Run(name, func(t *testing.T) {
					n++
					hdr := map[string]string{}
					if site != "" {
						hdr["Sec-Fetch-Site"] = site
					}
					if o.value != "" {
						hdr["Origin"] = o.value
					}
					before := simCallTotal(e.sim)
					r := e.send(c, req{method: rt.method, path: rt.path, ctype: rt.ctype, body: rt.body, hdr: hdr})
					if wantAllowed(site, o.name) {
						if r.status == http.StatusForbidden && r.errorCode() == "cross_origin" {
							t.Fatalf("refused a request that must pass: %s", r.body)
						}
						if rt.name == "logout" && r.status == http.StatusOK {
							signInWith(t, e, c, cozesim.UserAlan)
						}
						return
					}
					denied++
					mustStatus(t, "cross-origin", r, http.StatusForbidden)
					if code := r.errorCode(); code != "cross_origin" {
						t.Errorf("code = %q, want cross_origin", code)
					}
					if after := simCallTotal(e.sim); after != before {
						t.Errorf("the simulator saw %d calls for a refused request", after-before)
					}
				})
			}
		}
	}
	// The session survived every refused logout.
	if st := decode[statusJSON](t, e.get(c, "/api/auth/status")); !st.Authenticated {
		t.Errorf("signed out by a refused request")
	}
	t.Logf("route × header combinations: %d, refused: %d", n, denied)
}

func orAbsent(s string) string {
	if s == "" {
		return "absent"
	}
	return s
}

func TestCase19_GETLogoutCrossSite(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	// A top-level navigation as browsers send it (Sec-Fetch-Mode/Dest).
	nav := map[string]string{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
	tests := []struct {
		name        string
		site        string
		wantStatus  int
		wantCode    string
		wantSession bool
	}{
		{"cross-site navigation", "cross-site", http.StatusForbidden, "cross_origin", true},
		{"same-site navigation", "same-site", http.StatusForbidden, "cross_origin", true},
		{"same-origin", "same-origin", http.StatusOK, "", false},
		{"typed in (none)", "none", http.StatusOK, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := signIn(t, e, cozesim.UserBea)
			hdr := map[string]string{"Sec-Fetch-Site": tt.site}
			for k, v := range nav {
				hdr[k] = v
			}
			r := e.send(c, req{method: "GET", path: "/api/auth/logout", hdr: hdr})
			mustStatus(t, "GET logout", r, tt.wantStatus)
			if tt.wantCode != "" && r.errorCode() != tt.wantCode {
				t.Errorf("code = %q, want %s", r.errorCode(), tt.wantCode)
			}
			if st := decode[statusJSON](t, e.get(c, "/api/auth/status")); st.Authenticated != tt.wantSession {
				t.Errorf("authenticated after = %v, want %v", st.Authenticated, tt.wantSession)
			}
		})
	}
}

// Catalog case 77 (issue 8 item 7): the GET logout acts only on a top-level
// navigation. An <img> of our own origin in an answer (Sec-Fetch-Dest:
// image), a fetch, a frame, or a request with no fetch metadata at all signs
// no one out.
func TestCase77_GETLogoutOnlyOnNavigation(t *testing.T) {
	e := newTestEnv(t, envOpts{})
	for _, tt := range []struct {
		name string
		hdr  map[string]string
	}{
		{"image in an answer", map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}},
		{"fetch", map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}},
		{"iframe", map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe"}},
		{"prefetch as a document but no navigation", map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "document"}},
		{"no fetch metadata (old browser, curl)", map[string]string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := signIn(t, e, cozesim.UserBea)
			r := e.send(c, req{method: "GET", path: "/api/auth/logout", hdr: tt.hdr})
			mustStatus(t, "GET logout", r, http.StatusForbidden)
			if r.errorCode() != "not_a_navigation" {
				t.Errorf("code = %q, want not_a_navigation", r.errorCode())
			}
			if st := decode[statusJSON](t, e.get(c, "/api/auth/status")); !st.Authenticated {
				t.Error("signed out by a request that was not a top-level navigation")
			}
		})
	}
}

func TestCase22_SafeMethodsOnStateChangingPaths(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	paths := []string{"/api/chat", "/api/chat/cancel", "/api/files", "/api/conversations/7450000000000000001"}
	for _, p := range paths {
		for _, m := range []string{"GET", "HEAD"} {
			t.Run(m+" "+p, func(t *testing.T) {
				r := e.send(c, req{method: m, path: p, hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
				mustStatus(t, m+" "+p, r, http.StatusMethodNotAllowed)
				if m == "GET" && r.errorCode() != "method_not_allowed" {
					t.Errorf("body = %s, want method_not_allowed JSON", r.body)
				}
				if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
					t.Errorf("Content-Type = %q", ct)
				}
			})
		}
	}
	mustNotReachCoze(t, e, "POST /v3/chat")
}

// mustNotReachCoze fails t if the simulator saw any call to endpoint.
func mustNotReachCoze(t *testing.T, e *testEnv, endpoint string) {
	t.Helper()
	if n := e.sim.Calls(endpoint); n != 0 {
		t.Errorf("%s reached Coze %d times, want none", endpoint, n)
	}
}

func TestCase23_ContentTypeGate(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	first := mustChat(t, e, c, cozesim.BotAssistant, "seed", "")
	before := e.sim.Calls("POST /v3/chat")
	routes := []struct{ method, path, body string }{
		{"POST", "/api/chat", `{"bot_id":"` + cozesim.BotAssistant + `","message":"hi"}`},
		{"POST", "/api/chat/cancel", `{"conversation_id":"` + first.ConversationID + `","chat_id":"` + first.ChatID + `"}`},
		{"PATCH", "/api/conversations/" + first.ConversationID, `{"title":"csrf"}`},
	}
	types := []string{"text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
		"multipart/form-data; boundary=x", "", "application/jsonx", "application/json-seq"}
	for _, rt := range routes {
		for _, ct := range types {
			t.Run(rt.path+"/"+orAbsent(ct), func(t *testing.T) {
				r := e.send(c, req{method: rt.method, path: rt.path, ctype: ct, body: rt.body})
				mustStatus(t, "content type", r, http.StatusUnsupportedMediaType)
				if r.errorCode() != "unsupported_media_type" {
					t.Errorf("code = %q", r.errorCode())
				}
			})
		}
	}
	if n := e.sim.Calls("POST /v3/chat") - before; n != 0 {
		t.Errorf("sim chat calls = %d, want 0", n)
	}
	mustNotReachCoze(t, e, "POST /v3/chat/cancel")
	msgs := decode[messagesBody](t, e.get(c, "/api/conversations/"+first.ConversationID+"/messages"))
	if msgs.Conversation.Title == "csrf" {
		t.Errorf("renamed through a form post")
	}
	// The upload route takes only multipart.
	for _, ct := range []string{"application/json", "text/plain", "application/x-www-form-urlencoded", "application/octet-stream"} {
		t.Run("upload/"+ct, func(t *testing.T) {
			r := e.send(c, req{method: "POST", path: "/api/files", ctype: ct, body: string(pngBytes),
				hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
			mustStatus(t, "upload", r, http.StatusUnsupportedMediaType)
		})
	}
	mustNotReachCoze(t, e, "POST /v1/files/upload")
}

func TestCase24_NoCORSGrants(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	paths := []string{"/", "/auth", "/callback", "/api/auth/status", "/api/auth/logout", "/api/workspaces", "/api/bots",
		"/api/bots/" + cozesim.BotAssistant, "/api/chat", "/api/chat/cancel", "/api/chat/1/stream", "/api/conversations",
		"/api/conversations/1", "/api/conversations/1/messages", "/api/conversations/1/export", "/api/files",
		"/healthz", "/readyz", "/metrics", "/static/js/main.js", "/nope", "/api/nope",
		"/api/workflows", "/api/workflows/" + cozesim.WorkflowWeather, "/api/workflows/" + cozesim.WorkflowWeather + "/run"}
	for _, p := range paths {
		for _, m := range []string{"OPTIONS", "GET"} {
			t.Run(m+" "+p, func(t *testing.T) {
				r := e.send(c, req{method: m, path: p, hdr: map[string]string{
					"Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
					"Access-Control-Request-Headers": "content-type", "Sec-Fetch-Site": "cross-site"}})
				for k := range r.header {
					if strings.HasPrefix(strings.ToLower(k), "access-control-") {
						t.Errorf("%s %s answered %s: %s", m, p, k, r.header.Get(k))
					}
				}
			})
		}
	}
}

func TestCase25_ProxyRewritesHost(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{publicURL: "https://app.example"})
	c := e.newClient()
	tests := []struct {
		name, origin, site string
		wantRefused        bool
	}{
		{"public origin", "https://app.example", "", false},
		{"public origin, same-origin", "https://app.example", "same-origin", false},
		{"http scheme", "http://app.example", "", true},
		{"suffix host", "https://app.example.evil", "", true},
		{"other port", "https://app.example:8443", "", true},
		{"suffix host, cross-site", "https://app.example.evil", "cross-site", true},
		{"internal host as origin", "http://10.0.0.5:5000", "cross-site", true},
	}
	for _, tt := range tests {
		for _, rt := range []struct{ method, path, ctype, body string }{
			{"POST", "/api/auth/logout", "", ""},
			{"POST", "/api/chat", "application/json", `{"bot_id":"` + cozesim.BotAssistant + `","message":"hi"}`},
		} {
			t.Run(tt.name+rt.path, func(t *testing.T) {
				hdr := map[string]string{"Origin": tt.origin}
				if tt.site != "" {
					hdr["Sec-Fetch-Site"] = tt.site
				}
				r := e.send(c, req{method: rt.method, path: rt.path, ctype: rt.ctype, body: rt.body, hdr: hdr, host: "127.0.0.1:5000"})
				refused := r.status == http.StatusForbidden && r.errorCode() == "cross_origin"
				if refused != tt.wantRefused {
					t.Errorf("status %d %s: refused = %v, want %v", r.status, r.body, refused, tt.wantRefused)
				}
			})
		}
	}
}

func TestCase13_SimulatorOffInRealMode(t *testing.T) {
	t.Parallel()
	real := newTestEnv(t, envOpts{})
	c := real.newClient()
	for _, p := range []string{"/_sim/oauth/consent?authorize_key=x", "/_sim/", "/_sim/v1/users/me",
		"/_sim/api/permission/oauth2/authorize?response_type=code&client_id=" + testClientID} {
		t.Run(p, func(t *testing.T) {
			r := real.get(c, p)
			mustStatus(t, p, r, http.StatusNotFound)
			if strings.Contains(string(r.body), "authorize_key") {
				t.Errorf("the consent page is reachable")
			}
		})
	}
	r := real.send(c, req{method: "POST", path: "/_sim/oauth/consent", ctype: "application/x-www-form-urlencoded",
		body: "authorize_key=x&decision=approve&user_id=" + cozesim.UserAlan})
	if r.status != http.StatusNotFound && r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST /_sim/oauth/consent = %d, want 404/405", r.status)
	}

	// In demo mode the same paths are the simulator, and sign-in works through it.
	demo := newTestEnv(t, envOpts{demo: true})
	dc := signIn(t, demo, cozesim.UserChen)
	if st := decode[statusJSON](t, demo.get(dc, "/api/auth/status")); !st.Demo {
		t.Errorf("demo status = %+v, want demo:true", st)
	}
	mustChat(t, demo, dc, cozesim.BotAssistant, "demo hello", "")
}
