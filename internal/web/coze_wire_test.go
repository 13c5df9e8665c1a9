package web

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/coze2app/coze2app/internal/cozesim"
)

// Coze's wire as the real server speaks it (issue 7, coze-protocol errata), seen through
// the app.

// lastAssistant returns the newest assistant message of the user's newest conversation
// with bot.
func lastAssistant(t *testing.T, e *testEnv, c *http.Client, bot string) messageJSON {
	t.Helper()
	convs := decode[struct {
		Conversations []conversationJSON `json:"conversations"`
	}](t, e.get(c, "/api/conversations?bot_id="+bot))
	if len(convs.Conversations) == 0 {
		t.Fatal("no conversation was recorded")
	}
	hist := decode[struct {
		Messages []messageJSON `json:"messages"`
	}](t, e.get(c, "/api/conversations/"+convs.Conversations[0].ID+"/messages"))
	for i := len(hist.Messages) - 1; i >= 0; i-- {
		if hist.Messages[i].Role == "assistant" {
			return hist.Messages[i]
		}
	}
	t.Fatalf("no assistant message in %+v", hist.Messages)
	return messageJSON{}
}

// coze-protocol E2: a chat whose final event (here conversation.chat.failed, after which
// Coze sends nothing) ends without its blank line, or without any newline, is recorded
// with Coze's failure, not as a cut stream.
func TestChatRelay_FinalEventWithoutBlankLine(t *testing.T) {
	t.Parallel()
	for _, ending := range []cozesim.Ending{cozesim.EndNewline, cozesim.EndNone} {
		t.Run(fmt.Sprintf("ending=%d", ending), func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, envOpts{})
			c := signIn(t, e, cozesim.UserAlan)
			e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", Times: 1, FailAfterEvents: 3, FinalEnding: ending})
			mustStream(t, e, c, cozesim.BotAssistant, "hello", "")
			m := lastAssistant(t, e, c, cozesim.BotAssistant)
			// The simulator fails the chat with last_error 5000 "event interval error".
			if m.Status != "failed" || m.ErrorCode != "5000" {
				t.Errorf("assistant message status %q error_code %q, want failed 5000 (Coze's own failure)", m.Status, m.ErrorCode)
			}
		})
	}
}

// coze-protocol E4: Coze may report a failure before the run starts as the first event of
// a 200 event stream. The app answers it exactly like the JSON form of the same failure.
func TestChat_PreRunErrorAsFirstEventLikeJSON(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserAlan)
	answer := func(f cozesim.Fault, stream bool) (int, map[string]string) {
		e.sim.ClearFaults()
		addFault(e, "POST /v3/chat", f)
		defer e.sim.ClearFaults()
		r := e.api(c, "POST", "/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": "hello", "stream": stream})
		if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("Content-Type = %q: an SSE response was opened", ct)
		}
		return r.status, r.errorBody()
	}
	for _, code := range []int{4015, 4016, 4101, 5000} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d/stream=%v", code, stream), func(t *testing.T) {
				jsonStatus, jsonBody := answer(cozesim.Fault{Code: code, Msg: "refused"}, stream)
				sseStatus, sseBody := answer(cozesim.Fault{Code: code, Msg: "refused", ErrorAsFirstEvent: true}, stream)
				if jsonStatus < 400 {
					t.Fatalf("the JSON form answered %d", jsonStatus)
				}
				logID := regexp.MustCompile(`Log id \w+`) // each answer has its own
				for _, b := range []map[string]string{jsonBody, sseBody} {
					b["hint"] = logID.ReplaceAllString(b["hint"], "Log id …")
				}
				if sseStatus != jsonStatus || sseBody["code"] != jsonBody["code"] || sseBody["message"] != jsonBody["message"] || sseBody["hint"] != jsonBody["hint"] {
					t.Errorf("in-stream form: %d %v; JSON form: %d %v", sseStatus, sseBody, jsonStatus, jsonBody)
				}
			})
		}
	}
}

// E4 with 4100: the token is refreshed once and the chat retried, as for the JSON form.
func TestChat_TokenErrorAsFirstEventRefreshesAndRetries(t *testing.T) {
	t.Parallel()
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, envOpts{})
			c := signIn(t, e, cozesim.UserAlan)
			e.sim.ResetCalls()
			e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", Times: 1, ErrorAsFirstEvent: true, Code: 4100, Msg: "authentication is invalid"})
			r := e.api(c, "POST", "/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": "hello", "stream": stream})
			mustStatus(t, "chat", r, http.StatusOK)
			if n := e.sim.Calls("token:refresh_token"); n != 1 {
				t.Errorf("refreshes = %d, want 1", n)
			}
			if n := e.sim.Calls("POST /v3/chat"); n != 2 {
				t.Errorf("chat calls = %d, want 2 (one retry)", n)
			}
			if m := lastAssistant(t, e, c, cozesim.BotAssistant); m.Status != "complete" || !strings.Contains(m.Content, "hello") {
				t.Errorf("assistant message %q %q, want the complete answer", m.Status, truncate(m.Content, 80))
			}
		})
	}
}

// E4 for workflow streams: 4100 as the first event refreshes and retries; 4200 answers
// like the JSON 4200.
func TestWorkflowRun_PreRunErrorAsFirstEvent(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserAlan)
	run := func() resp {
		return e.api(c, "POST", "/api/workflows/"+cozesim.WorkflowJoke+"/run", map[string]any{"parameters": map[string]any{}})
	}

	e.sim.ResetCalls()
	e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v1/workflow/stream_run", Times: 1, ErrorAsFirstEvent: true, Code: 4100, Msg: "authentication is invalid"})
	r := run()
	mustStatus(t, "run after in-stream 4100", r, http.StatusOK)
	if !strings.Contains(string(r.body), "event: end\ndata: {\"status\":\"completed\"") || e.sim.Calls("token:refresh_token") != 1 {
		t.Errorf("refreshes = %d, body %q; want one refresh and the whole run", e.sim.Calls("token:refresh_token"), truncate(string(r.body), 200))
	}

	e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v1/workflow/stream_run", Times: 1, Code: 4200, Msg: "not published"})
	jsonForm := run()
	e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v1/workflow/stream_run", Times: 1, ErrorAsFirstEvent: true, Code: 4200, Msg: "not published"})
	sseForm := run()
	if jsonForm.status != http.StatusNotFound || sseForm.status != jsonForm.status || sseForm.errorCode() != jsonForm.errorCode() {
		t.Errorf("in-stream 4200: %d %s; JSON 4200: %d %s", sseForm.status, sseForm.body, jsonForm.status, jsonForm.body)
	}
}
