package cozesim

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// Demo mode shows the pre-run failure without a test harness: "#prerun" in a streamed
// message answers 200 text/event-stream whose only event is `error` (coze-protocol E4).
func TestPreRunErrorDemoTrigger(t *testing.T) {
	e := mustEnv(t, Options{})
	tok, _ := e.sim.IssueToken(UserAlan)
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
	e := mustEnv(t, Options{})
	tok, _ := e.sim.IssueToken(UserAlan)
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
