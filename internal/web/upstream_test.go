package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/coze2app/coze2app/internal/cozesim"
)

// Catalog case 42 (errors before the stream) and case 29 (no secret ever
// reaches the browser).

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// addFault injects f on endpoint, once unless f.Times says otherwise.
func addFault(e *testEnv, endpoint string, f cozesim.Fault) {
	f.Endpoint = endpoint
	if f.Times == 0 {
		f.Times = 1
	}
	e.sim.AddFault(f)
}

func TestCase42_ErrorsBeforeTheStream(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	const logID = "(log id)" // a param that must be Coze's log id
	tests := []struct {
		name       string
		fault      cozesim.Fault
		bot        string
		wantStatus int
		wantKey    string         // catalog entry: error.<wantKey>
		wantParams map[string]any // its params (JSON numbers as float64)
	}{
		{"http 500", cozesim.Fault{HTTPStatus: 500}, "", 502, "upstream_unavailable", nil},
		{"http 502", cozesim.Fault{HTTPStatus: 502}, "", 502, "upstream_unavailable", nil},
		{"http 429", cozesim.Fault{HTTPStatus: 429}, "", 429, "rate_limited", nil},
		{"4015 not published", cozesim.Fault{Code: 4015, Msg: "not published"}, "", 409, "bot_not_published", nil},
		{"draft bot", cozesim.Fault{}, cozesim.BotDraft, 409, "bot_not_published", nil},
		{"4016 busy", cozesim.Fault{Code: 4016, Msg: "busy"}, "", 409, "conversation_busy", nil},
		{"4100 twice", cozesim.Fault{Code: 4100, Times: 2}, "", 401, "reauth_required", nil},
		{"4008 daily limit", cozesim.Fault{Code: 4008, Msg: "limit"}, "", 429, "rate_limited", nil},
		{"4009 rate", cozesim.Fault{Code: 4009, Msg: "rate"}, "", 429, "rate_limited", nil},
		{"4020 rate", cozesim.Fault{Code: 4020, Msg: "rate"}, "", 429, "rate_limited", nil},
		{"4011 quota", cozesim.Fault{Code: 4011, Msg: "balance"}, "", 429, "quota_exceeded", nil},
		{"4101 permission", cozesim.Fault{Code: 4101, Msg: "no permission"}, "", 403, "permission_denied", map[string]any{"permission": "chat"}},
		{"4000 bad request", cozesim.Fault{Code: 4000, Msg: "Request parameter error"}, "", 400, "bad_request.coze", map[string]any{"msg": "Request parameter error"}},
		// Coze's model errors (4013, 5000) say to retry, with the log id; a
		// 9-digit platform code shows Coze's own message with the log id and a
		// retry (coze-protocol E7).
		{"4013 model error", cozesim.Fault{Code: 4013, Msg: "model error"}, "", 502, "model_error", map[string]any{"coze_code": 4013.0, "log_id": logID}},
		{"5000 internal", cozesim.Fault{Code: 5000, Msg: "internal"}, "", 502, "model_error", map[string]any{"coze_code": 5000.0, "log_id": logID}},
		{"9-digit platform code", cozesim.Fault{Code: 702042078, Msg: "We're currently experiencing server issues. Please try again later."}, "", 502, "upstream_error.platform",
			map[string]any{"coze_code": 702042078.0, "log_id": logID, "msg": "We're currently experiencing server issues. Please try again later."}},
		{"other code", cozesim.Fault{Code: 4012, Msg: "model withdrawn"}, "", 502, "upstream_error", map[string]any{"coze_code": 4012.0, "log_id": logID, "msg": "model withdrawn"}},
	}
	logIDs := regexp.MustCompile(`^[0-9]{17}[0-9A-F]{17}$`)
	c := signIn(t, e, cozesim.UserAlan)
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			for _, lang := range []string{"en-US,en;q=0.9", "zh-CN,zh;q=0.9"} {
				name := tt.name + "/stream=" + map[bool]string{false: "false", true: "true"}[stream] + "/" + lang[:2]
				t.Run(name, func(t *testing.T) {
					if strings.HasPrefix(tt.wantKey, "reauth_required") {
						// This case ends the session; sign in again afterwards.
						defer signInWith(t, e, c, cozesim.UserAlan)
					}
					e.sim.ClearFaults()
					if tt.fault != (cozesim.Fault{}) {
						addFault(e, "POST /v3/chat", tt.fault)
					}
					defer e.sim.ClearFaults()
					bot := tt.bot
					if bot == "" {
						bot = cozesim.BotAssistant
					}
					body, _ := json.Marshal(map[string]any{"bot_id": bot, "message": "hello", "stream": stream})
					r := e.send(c, req{method: "POST", path: "/api/chat", ctype: "application/json", body: string(body),
						hdr: map[string]string{"Sec-Fetch-Site": "same-origin", "Accept-Language": lang}})
					mustStatus(t, "chat", r, tt.wantStatus)
					if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
						t.Errorf("Content-Type = %q: an SSE response was opened", ct)
					}
					eb := r.errorBody()
					if code, _, _ := strings.Cut(tt.wantKey, "."); eb["code"] != code {
						t.Errorf("code = %q, want %q", eb["code"], code)
					}
					key, params := r.errorKey()
					if key != tt.wantKey || len(params) != len(tt.wantParams) {
						t.Errorf("key %q params %v, want %q %v", key, params, tt.wantKey, tt.wantParams)
					}
					for k, want := range tt.wantParams {
						if got := params[k]; want == logID && !logIDs.MatchString(fmt.Sprint(got)) || want != logID && got != want {
							t.Errorf("params[%s] = %v, want %v", k, got, want)
						}
					}
					zh := strings.HasPrefix(lang, "zh")
					if msg := eb["message"]; msg == "" || hasHan(msg) != zh {
						t.Errorf("message = %q, want it in %s", msg, lang[:2])
					}
					if id, ok := params["log_id"].(string); ok && !strings.Contains(eb["hint"], id) {
						t.Errorf("hint = %q, want Coze's log id", eb["hint"])
					}
				})
			}
		}
	}
}

// A reply that ends without completing is the upstream's failure, never a
// 500 (catalog cases 44, 45, 48 seen through the non-stream contract). The
// chat package reconciles a broken reply through /v3/chat/retrieve, so that
// is made to fail too: what remains is a *chat.StreamError.
func TestChat_NonStreamIncompleteIsNot500(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserAlan)
	tests := []struct {
		name  string
		fault cozesim.Fault
	}{
		{"eof without done", cozesim.Fault{EOFAfterEvents: 3}},
		{"cut mid-event", cozesim.Fault{CutAfterEvents: 3}},
		{"malformed data", cozesim.Fault{MalformedAfterEvents: 3}},
		{"error event", cozesim.Fault{ErrorAfterEvents: 3, Code: 5000, Msg: "boom"}},
		{"chat failed", cozesim.Fault{FailAfterEvents: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addFault(e, "POST /v3/chat", tt.fault)
			e.sim.AddFault(cozesim.Fault{Endpoint: "GET /v3/chat/retrieve", HTTPStatus: 500})
			e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat/retrieve", HTTPStatus: 500})
			defer e.sim.ClearFaults()
			r := e.api(c, "POST", "/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": "hello"})
			if r.status == http.StatusOK || r.status >= 500 && r.status != 502 && r.status != 503 && r.status != 504 {
				t.Errorf("status = %d (%s), want a 502-class upstream error", r.status, r.body)
			}
			if code := r.errorCode(); code == "internal_error" || code == "" {
				t.Errorf("code = %q, want an upstream code", code)
			}
		})
	}
}

func TestCase29_NoSecretReachesTheBrowser(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserAlan)

	// A session's worth of traffic.
	res := mustChat(t, e, c, cozesim.BotMemory, "remember me", "")
	mustStream(t, e, c, cozesim.BotMemory, "again", res.ConversationID)
	e.get(c, "/api/workspaces")
	e.get(c, "/api/bots")
	e.get(c, "/api/conversations/"+res.ConversationID+"/export?format=md")
	e.get(c, "/api/conversations/"+res.ConversationID+"/export?format=json")
	e.get(c, "/callback?state=junk&code=junk")
	// A refresh, so the refresh token crosses the wire to the simulator.
	e.sim.ExpireAccessTokens(cozesim.UserAlan)
	e.sim.ResetCalls()
	mustStatus(t, "bots after expiry", e.get(c, "/api/bots?workspace_id="+cozesim.WorkspaceTeam), http.StatusOK)
	if e.sim.Calls("token:refresh_token") != 1 {
		t.Fatalf("refresh calls = %d, want 1", e.sim.Calls("token:refresh_token"))
	}
	secrets := map[string]string{"client secret": testSecret}
	collectSecrets(t, e.sim.Requests(), secrets)
	access := secrets["access token"]
	if access == "" || secrets["refresh token"] == "" {
		t.Fatalf("did not observe the tokens: %v", keysOf(secrets))
	}

	// Coze echoes the credential it was sent in its error messages. (The
	// client secret only ever goes to the token endpoint, so it is not
	// echoed here; it is still scanned for below.)
	echo := "token " + access + " is invalid; bearer " + access + "."
	faults := []cozesim.Fault{
		{Endpoint: "POST /v3/chat", Times: 1, Code: 5000, Msg: echo},
		{Endpoint: "POST /v3/chat", Times: 1, Code: 4000, Msg: echo},
		{Endpoint: "POST /v3/chat", Times: 1, Code: 4015, Msg: echo},
		{Endpoint: "POST /v3/chat", Times: 1, ErrorAfterEvents: 2, Code: 5000, Msg: echo},
		{Endpoint: "POST /v3/chat", Times: 1, BareJSONError: true, Code: 5000, Msg: echo},
		{Endpoint: "GET /v1/workspaces", Times: 1, Code: 5000, Msg: echo},
	}
	e.get(c, "/api/bots") // re-prime nothing; keeps the session warm
	for _, f := range faults {
		e.sim.AddFault(f)
		if f.Endpoint == "GET /v1/workspaces" {
			mustStatus(t, "logout+in to empty cache", e.api(c, "POST", "/api/auth/logout", nil), http.StatusOK)
			signInWith(t, e, c, cozesim.UserAlan)
			e.get(c, "/api/workspaces")
			continue
		}
		for _, stream := range []bool{false, true} {
			e.sim.ClearFaults()
			e.sim.AddFault(f)
			e.api(c, "POST", "/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": "hello", "stream": stream})
		}
		e.sim.ClearFaults()
	}
	collectSecrets(t, e.sim.Requests(), secrets)

	// /api/auth/status carries only id, name, avatar and demo.
	var st map[string]any
	_ = json.Unmarshal(e.get(c, "/api/auth/status").body, &st)
	wantKeys(t, "status", st, "authenticated", "demo", "user")

	seen := e.rec.String()
	if len(seen) < 1000 {
		t.Fatalf("recorded only %d bytes", len(seen))
	}
	for what, s := range secrets {
		if len(s) < 8 {
			continue
		}
		if strings.Contains(seen, s) {
			i := strings.Index(seen, s)
			t.Errorf("%s reached the browser: …%s…", what, seen[max(0, i-200):min(len(seen), i+len(s)+50)])
		}
	}
	t.Logf("responses scanned: %d, bytes %d, secrets %d", e.rec.n, len(seen), len(secrets))

	t.Run("logs", func(t *testing.T) {
		logs := e.logs.String()
		for what, s := range secrets {
			if len(s) >= 8 && strings.Contains(logs, s) {
				i := strings.Index(logs, s)
				t.Errorf("%s is in the logs: …%s…", what, logs[max(0, i-200):min(len(logs), i+len(s)+20)])
			}
		}
	})
}

// collectSecrets adds every credential the simulator received: bearer
// tokens, the client secret, codes, verifiers and refresh tokens.
func collectSecrets(t testing.TB, reqs []cozesim.Request, into map[string]string) {
	t.Helper()
	n := 0
	for _, r := range reqs {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && tok != testSecret {
			n++
			into["access token"] = tok
			into["access token #"+strconv.Itoa(n)] = tok
		}
		var body map[string]any
		if json.Unmarshal(r.Body, &body) != nil {
			continue
		}
		for _, k := range []string{"code", "code_verifier", "refresh_token", "client_secret"} {
			if v, ok := body[k].(string); ok && v != "" {
				name := strings.ReplaceAll(k, "_", " ")
				into[name] = v
				into[name+" #"+strconv.Itoa(len(into))] = v
			}
		}
	}
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
