package cozesim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRequestFaults(t *testing.T) {
	tests := []struct {
		name       string
		fault      Fault
		wantStatus int
		wantBody   string
	}{
		{"502 non-JSON", Fault{Endpoint: "GET /v1/users/me", HTTPStatus: 502}, 502, "Bad Gateway"},
		{"envelope code", Fault{Endpoint: "GET /v1/users/me", Code: 4009, Msg: "busy"}, 200, `"code":4009`},
		{"token code is 401", Fault{Endpoint: "GET /v1/users/me", Code: 4100}, 401, `"code":4100`},
		{"every API endpoint", Fault{HTTPStatus: 429}, 429, "Too Many Requests"},
		{"pattern key", Fault{Endpoint: "GET /v1/bots/{bot_id}", HTTPStatus: 503}, 503, "Service Unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, tok := alanEnv(t, Options{})
			e.sim.AddFault(Fault{Endpoint: "GET /v1/workspaces", Times: 1, Code: 1}) // not matching
			e.sim.AddFault(tt.fault)
			path := "/v1/users/me"
			if strings.Contains(tt.fault.Endpoint, "bots") {
				path = "/v1/bots/" + BotAssistant
			}
			status, h, b := e.do(t, http.MethodGet, path, tok, nil)
			if status != tt.wantStatus || !strings.Contains(string(b), tt.wantBody) || len(h.Get("X-Tt-Logid")) != 34 {
				t.Errorf("got %d %s", status, b)
			}
			e.sim.ClearFaults()
			if status, _, _ := e.do(t, http.MethodGet, path, tok, nil); status != 200 {
				t.Errorf("after ClearFaults: %d", status)
			}
		})
	}
}

func TestFaultTimesAndLatency(t *testing.T) {
	e, tok := alanEnv(t, Options{})
	e.sim.AddFault(Fault{Endpoint: "GET /v1/users/me", Times: 2, HTTPStatus: 500})
	var got []int
	for range 3 {
		s, _, _ := e.do(t, http.MethodGet, "/v1/users/me", tok, nil)
		got = append(got, s)
	}
	if got[0] != 500 || got[1] != 500 || got[2] != 200 {
		t.Errorf("statuses %v", got)
	}
	if e.sim.Calls("GET /v1/users/me") != 3 {
		t.Errorf("calls %d", e.sim.Calls("GET /v1/users/me"))
	}
	e.sim.AddFault(Fault{Endpoint: "GET /v1/users/me", Latency: 30 * time.Millisecond})
	start := time.Now()
	e.mustOK(t, http.MethodGet, "/v1/users/me", tok, nil)
	if time.Since(start) < 30*time.Millisecond {
		t.Errorf("latency not applied")
	}
}

func TestStallHeaders(t *testing.T) {
	e, tok := alanEnv(t, Options{})
	e.sim.AddFault(Fault{Endpoint: "POST /v3/chat", StallHeaders: true})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.base()+"/v3/chat", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	_, err := e.hc.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline", err)
	}
}

func TestStreamFaults(t *testing.T) {
	tests := []struct {
		name      string
		fault     Fault
		check     func(t *testing.T, h http.Header, body string)
		wantState string
	}{
		{"cut", Fault{CutAfterEvents: 3}, func(t *testing.T, _ http.Header, b string) {
			if strings.HasSuffix(b, "\n\n") || strings.Count(b, "event:") != 4 {
				t.Errorf("cut body %q", b)
			}
		}, "completed"},
		{"malformed", Fault{MalformedAfterEvents: 2}, func(t *testing.T, _ http.Header, b string) {
			if !strings.Contains(b, `data:{"id":"broken",,`) {
				t.Errorf("body %q", b)
			}
		}, "completed"},
		{"error event", Fault{ErrorAfterEvents: 2, Code: 4013, Msg: "模型错误"}, func(t *testing.T, _ http.Header, b string) {
			if !strings.HasSuffix(b, "event:error\ndata:{\"code\":4013,\"msg\":\"模型错误\"}\n\n") {
				t.Errorf("body %q", b)
			}
		}, "failed"},
		{"failed", Fault{FailAfterEvents: 2}, func(t *testing.T, _ http.Header, b string) {
			if !strings.Contains(b, "event:conversation.chat.failed\n") || strings.Contains(b, "event:done") || !strings.Contains(b, `"last_error":{"code":5000`) {
				t.Errorf("body %q", b)
			}
		}, "failed"},
		{"eof", Fault{EOFAfterEvents: 3}, func(t *testing.T, _ http.Header, b string) {
			if strings.Count(b, "event:") != 3 || !strings.HasSuffix(b, "\n\n") {
				t.Errorf("body %q", b)
			}
		}, "completed"},
		{"bare JSON error", Fault{BareJSONError: true}, func(t *testing.T, h http.Header, b string) {
			if !strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") || b != `{"code":4100,"msg":"authentication is invalid"}` {
				t.Errorf("%s %q", h.Get("Content-Type"), b)
			}
		}, ""},
		{"oversize", Fault{OversizeEvent: 2 << 20}, func(t *testing.T, _ http.Header, b string) {
			if !strings.Contains(b, strings.Repeat("x", 2<<20)) || !strings.HasSuffix(b, "event:done\ndata:\"[DONE]\"\n\n") {
				t.Errorf("no oversize line")
			}
		}, "completed"},
		{"pre-stream JSON error", Fault{Code: 4016}, func(t *testing.T, h http.Header, b string) {
			if !strings.HasPrefix(h.Get("Content-Type"), "application/json") || !strings.Contains(b, `"code":4016`) {
				t.Errorf("%s %q", h.Get("Content-Type"), b)
			}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, tok := alanEnv(t, Options{})
			tt.fault.Endpoint = "POST /v3/chat"
			e.sim.AddFault(tt.fault)
			_, h, b := e.do(t, http.MethodPost, "/v3/chat", tok, chatBodyFor(BotAssistant, "hello", true))
			tt.check(t, h, string(b))
			if tt.wantState == "" {
				return
			}
			convID := between(string(b), `"conversation_id":"`, `"`)
			chatID := between(string(b), `"id":"`, `"`)
			deadline := time.Now().Add(2 * time.Second)
			for {
				st, _ := e.sim.ChatStatus(convID, chatID)
				if st == tt.wantState || time.Now().After(deadline) {
					if st != tt.wantState {
						t.Errorf("status %s, want %s", st, tt.wantState)
					}
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

func TestSilentStreamEndsWithClient(t *testing.T) {
	e, tok := alanEnv(t, Options{})
	e.sim.AddFault(Fault{Endpoint: "POST /v3/chat", SilentAfterEvents: 2})
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.base()+"/v3/chat", strings.NewReader(`{"bot_id":"`+BotAssistant+`","user_id":"u","stream":true,"additional_messages":[{"role":"user","content":"x","content_type":"text"}]}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sc := scanLines(resp.Body)
	nextEvent(t, sc)
	nextEvent(t, sc)
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err = io.ReadAll(resp.Body)
	if err == nil {
		t.Errorf("silent stream ended by itself")
	}
	resp.Body.Close()
}

func TestTokenFaults(t *testing.T) {
	e := mustEnv(t, Options{})
	app := DefaultApp()
	_, rt := e.sim.IssueToken(UserAlan)
	e.sim.AddFault(Fault{Endpoint: "POST /api/permission/oauth2/token", Times: 1, OAuthError: "internal_error"})
	if r := e.refreshCall(t, app, rt); r.status != 400 || r.body["error_code"] != "internal_error" || r.body["error"] != "internal_error" {
		t.Errorf("oauth fault: %d %s", r.status, r.raw)
	}
	// ResetAfterWrite: the rotation happens, the client never sees the body.
	e.sim.AddFault(Fault{Endpoint: "POST /api/permission/oauth2/token", Times: 1, ResetAfterWrite: true})
	j := `{"grant_type":"refresh_token","client_id":"` + app.ClientID + `","refresh_token":"` + rt + `"}`
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.base()+"/api/permission/oauth2/token", strings.NewReader(j))
	req.Header.Set("Authorization", "Bearer "+app.ClientSecret)
	if resp, err := e.hc.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("ResetAfterWrite: got a response %d", resp.StatusCode)
	}
	if r := e.refreshCall(t, app, rt); r.status != 400 {
		t.Errorf("old refresh token still works after the lost rotation: %d", r.status)
	}
	if e.sim.Calls("token:refresh_token") != 3 {
		t.Errorf("refresh calls %d", e.sim.Calls("token:refresh_token"))
	}
}

func TestRequestsRecorded(t *testing.T) {
	e, tok := alanEnv(t, Options{PathPrefix: "/_sim"})
	e.mustOK(t, http.MethodGet, "/v1/bots/"+BotAssistant+"?is_published=true", tok, nil)
	e.api(t, http.MethodPost, "/v3/chat/cancel", tok, map[string]any{"name": "n"})
	reqs := e.sim.Requests()
	if len(reqs) != 2 || reqs[0].Path != "/v1/bots/"+BotAssistant || reqs[0].Query.Get("is_published") != "true" ||
		reqs[0].Header.Get("Authorization") != "Bearer "+tok || string(reqs[1].Body) != `{"name":"n"}` || reqs[1].At.IsZero() {
		t.Errorf("requests %+v", reqs)
	}
	if e.sim.Calls("GET /v1/bots/{bot_id}") != 1 || e.sim.Calls("GET /v1/bots/"+BotAssistant) != 1 {
		t.Errorf("calls %v", e.sim.AllCalls())
	}
	if hs := e.sim.AuthorizationHeaders(); len(hs[reqs[0].Host]) != 2 {
		t.Errorf("auth headers %v", hs)
	}
	e.sim.ResetCalls()
	if len(e.sim.Requests()) != 0 || e.sim.Calls("POST /v3/chat/cancel") != 0 {
		t.Errorf("ResetCalls did not reset")
	}
}

// Demo mode shows the pre-run failure without a test harness: "#prerun" in a streamed
// message answers 200 text/event-stream whose only event is `error` (coze-protocol E4).
func TestPreRunErrorDemoTrigger(t *testing.T) {
	e, tok := alanEnv(t, Options{})
	st, h, b := e.do(t, http.MethodPost, "/v3/chat", tok, chatBodyFor(BotAssistant, "show me #prerun", true))
	want := "event:error\ndata:{\"code\":5000,\"msg\":\"" + preRunErrorMsg + "\"}\n\n"
	if st != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") || string(b) != want {
		t.Errorf("got %d %s %q, want 200 text/event-stream %q", st, h.Get("Content-Type"), b, want)
	}
	if _, _, b := e.do(t, http.MethodPost, "/v3/chat", tok, chatBodyFor(BotAssistant, "hello", true)); strings.Contains(string(b), "event:error") {
		t.Errorf("a message without the trigger failed: %q", tail(b))
	}
}

// The demo workflow think_slowly holds its first event for SlowWorkflowDelay on the
// simulator's clock, sending a PING every 2 s meanwhile (coze-protocol E13).
func TestSlowDemoWorkflowPingsBeforeItsFirstEvent(t *testing.T) {
	e, tok := alanEnv(t, Options{})
	done := make(chan []byte, 1)
	go func() {
		_, _, b := e.do(t, http.MethodPost, "/v1/workflow/stream_run", tok, map[string]any{"workflow_id": WorkflowSlow})
		done <- b
	}()
	for left := SlowWorkflowDelay; left > 0; left -= 2 * time.Second {
		if err := e.clock.WaitForSleepers(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(2 * time.Second)
	}
	got := names(readSSE(t, <-done, true))
	pings := int(SlowWorkflowDelay/(2*time.Second)) - 1
	for i := range pings {
		if got[i] != "PING" {
			t.Fatalf("events %v, want %d PINGs first", got, pings)
		}
	}
	if got[pings] != "Message" || got[len(got)-1] != "Done" {
		t.Errorf("events %v, want the run after the PINGs", got)
	}
}
