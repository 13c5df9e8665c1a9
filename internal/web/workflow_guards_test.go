package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coze2app/coze2app/internal/cozesim"
)

// The workflow routes get the same guards as chat: cases 21, 22, 23, 54, 55
// and 29 (the happy paths are in workflows_test.go).

func TestWorkflowGuards(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserAlan)
	run := "/api/workflows/" + cozesim.WorkflowWeather + "/run"
	body := `{"parameters":{"city":"x"}}`
	// A run of the user's own, so that only the guard can be what refuses.
	live := runWorkflow(t, e, c, cozesim.WorkflowJoke, map[string]any{})
	cancel := "/api/workflows/runs/" + live.runID + "/cancel"
	stream := "/api/workflows/runs/" + live.runID + "/stream"
	e.sim.ResetCalls()

	t.Run("case 21 cross-origin", func(t *testing.T) {
		for _, p := range []string{run, "/api/workflows/" + cozesim.WorkflowAsk + "/resume", cancel} {
			for _, hdr := range []map[string]string{{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"},
				{"Sec-Fetch-Site": "same-site", "Origin": "null"}, {"Origin": "null"}} {
				r := e.send(c, req{method: "POST", path: p, ctype: "application/json", body: body, hdr: hdr})
				mustStatus(t, p, r, http.StatusForbidden)
				if r.errorCode() != "cross_origin" {
					t.Errorf("code = %q", r.errorCode())
				}
			}
		}
	})
	t.Run("case 23 content types", func(t *testing.T) {
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
			for _, p := range []string{run, cancel} {
				r := e.send(c, req{method: "POST", path: p, ctype: ct, body: `{}`, hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
				mustStatus(t, p+" "+ct, r, http.StatusUnsupportedMediaType)
			}
		}
	})
	t.Run("case 22 safe methods", func(t *testing.T) {
		for _, m := range []string{"GET", "HEAD"} {
			for _, p := range []string{run, cancel} {
				r := e.send(c, req{method: m, path: p, hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
				mustStatus(t, m+" "+p, r, http.StatusMethodNotAllowed)
			}
		}
		r := e.send(c, req{method: "POST", path: stream, ctype: "application/json", body: `{}`, hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
		mustStatus(t, "POST "+stream, r, http.StatusMethodNotAllowed)
	})
	t.Run("signed out", func(t *testing.T) {
		anon := e.newClient()
		for _, r := range []req{
			{method: "GET", path: stream},
			{method: "POST", path: cancel, ctype: "application/json", body: `{}`},
		} {
			r.hdr = map[string]string{"Sec-Fetch-Site": "same-origin"}
			if got := e.send(anon, r); got.status != http.StatusUnauthorized {
				t.Errorf("%s %s signed out: status = %d, want 401", r.method, r.path, got.status)
			}
		}
	})
	t.Run("case 24 no CORS grants", func(t *testing.T) {
		for _, p := range []string{stream, cancel} {
			r := e.send(c, req{method: "OPTIONS", path: p, hdr: map[string]string{
				"Origin": "https://evil.example", "Access-Control-Request-Method": "POST", "Sec-Fetch-Site": "cross-site"}})
			for k := range r.header {
				if strings.HasPrefix(strings.ToLower(k), "access-control-") {
					t.Errorf("OPTIONS %s answered %s", p, k)
				}
			}
		}
	})
	t.Run("case 55 bad ids", func(t *testing.T) {
		for _, id := range badIDs {
			if id.v == "" {
				continue
			}
			esc := url.PathEscape(id.v)
			for _, r := range []req{
				{method: "GET", path: "/api/workflows/" + esc},
				{method: "POST", path: "/api/workflows/" + esc + "/run", ctype: "application/json", body: body},
				{method: "POST", path: "/api/workflows/" + esc + "/resume", ctype: "application/json", body: `{"event_id":"1/2","interrupt_type":2,"resume_data":"x"}`},
				{method: "GET", path: "/api/workflows?workspace_id=" + url.QueryEscape(id.v)},
				{method: "POST", path: run, ctype: "application/json", body: `{"bot_id":` + jsonQuote(id.v) + `}`},
				{method: "GET", path: "/api/workflows/runs/" + esc + "/stream"},
				{method: "POST", path: "/api/workflows/runs/" + esc + "/cancel", ctype: "application/json", body: `{}`},
			} {
				r.hdr = map[string]string{"Sec-Fetch-Site": "same-origin"}
				if got := e.send(c, r); got.status != http.StatusBadRequest {
					t.Errorf("%s %s: status = %d, want 400", r.method, r.path, got.status)
				}
			}
		}
	})
	t.Run("case 54 malformed bodies", func(t *testing.T) {
		for _, b := range []string{``, `null`, `[]`, `{"parameters":[]}`, `{"parameters":{"city":"x"}} x`,
			`{"parameters":{"city":"x"},"admin":1}`, `{"parameters":{"city":"x"},"PARAMETERS":{}}`,
			`{"parameters":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`} {
			got := e.send(c, req{method: "POST", path: run, ctype: "application/json", body: b, hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
			if got.status != http.StatusBadRequest {
				t.Errorf("body %q: status = %d, want 400", truncate(b, 40), got.status)
			}
		}
	})
	if calls := e.sim.AllCalls(); len(calls) != 0 {
		t.Errorf("upstream calls for refused workflow requests: %v", calls)
	}
	// Nothing above reached the run: it is still there, as it ended.
	if w := readWorkflowStream(t, parseSSE(t, e.get(c, stream).body)); w.end.Status != "completed" {
		t.Errorf("the run after the refused requests ended %+v", w.end)
	}
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// A workflow Error event, or a pre-stream error, that echoes the access
// token must not reach the browser (catalog case 29).
func TestCase29_WorkflowErrorDoesNotEchoToken(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserAlan)
	mustStatus(t, "workspaces", e.get(c, "/api/workspaces"), http.StatusOK)
	secrets := map[string]string{}
	collectSecrets(t, e.sim.Requests(), secrets)
	tok := secrets["access token"]
	if tok == "" {
		t.Fatal("no access token observed")
	}
	tests := []struct {
		name  string
		fault cozesim.Fault
	}{
		{"Error event mid-stream", cozesim.Fault{ErrorAfterEvents: 1, Code: 5000, Msg: "bad token " + tok}},
		{"error before the stream", cozesim.Fault{Code: 5000, Msg: "bad token " + tok}},
		{"bare JSON error", cozesim.Fault{BareJSONError: true, Code: 5000, Msg: "bad token " + tok}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.fault
			f.Endpoint, f.Times = "POST /v1/workflow/stream_run", 1
			e.sim.AddFault(f)
			defer e.sim.ClearFaults()
			r := e.api(c, "POST", "/api/workflows/"+cozesim.WorkflowWeather+"/run", map[string]any{"parameters": map[string]string{"city": "x"}})
			if strings.Contains(string(r.body), tok) {
				t.Errorf("the access token reached the browser: %s", truncate(string(r.body), 400))
			}
			if r.status >= 500 && r.status != http.StatusBadGateway {
				t.Errorf("status = %d", r.status)
			}
		})
	}
}
