package cozesim

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Faults that make the simulator speak like the real server where it is stricter or
// odder than the docs (issue 7, coze-protocol errata).

// coze-protocol E2: FinalEnding ends only the last event without its blank line.
func TestFinalEnding(t *testing.T) {
	tests := []struct {
		name, endpoint string
		body           any
		finalName      string // the final event's name line
	}{
		{"chat done", "/v3/chat", chatBodyFor(BotAssistant, "hello", true), "event:done\n"},
		{"workflow Done", "/v1/workflow/stream_run", map[string]any{"workflow_id": WorkflowJoke}, "event: Done\n"},
		{"workflow Interrupt", "/v1/workflow/stream_run", map[string]any{"workflow_id": WorkflowAsk}, "event: Interrupt\n"},
	}
	for _, tt := range tests {
		for _, ending := range []Ending{EndNewline, EndNone} {
			t.Run(fmt.Sprintf("%s/ending=%d", tt.name, ending), func(t *testing.T) {
				e, tok := alanEnv(t, Options{})
				e.sim.AddFault(Fault{Endpoint: "POST " + tt.endpoint, FinalEnding: ending})
				_, _, b := e.do(t, http.MethodPost, tt.endpoint, tok, tt.body)
				body := string(b)
				i := strings.LastIndex(body, "\n\n")
				if i < 0 {
					t.Fatalf("no event ended with a blank line: %q", tail(b))
				}
				final := body[i+2:]
				if !strings.Contains(final, tt.finalName) || strings.Count(final, "data:") != 1 {
					t.Errorf("after the last blank line %q, want exactly the final event %q", final, tt.finalName)
				}
				if ends := strings.HasSuffix(final, "\n"); ends != (ending == EndNewline) {
					t.Errorf("final event %q: want it to end with one newline: %v", final, ending == EndNewline)
				}
				// With the blank line restored, the framing is exactly the usual one.
				readSSE(t, []byte(body+map[Ending]string{EndNewline: "\n", EndNone: "\n\n"}[ending]), tt.endpoint != "/v3/chat")
			})
		}
	}
}

// coze-protocol E4: ErrorAsFirstEvent answers 200 with an event stream that holds only the
// error, in the framing of the endpoint.
func TestErrorAsFirstEvent(t *testing.T) {
	tests := []struct {
		name, endpoint string
		fault          Fault
		body           any
		want           string
	}{
		{"chat 4015", "/v3/chat", Fault{Code: 4015, Msg: "not published"}, chatBodyFor(BotAssistant, "hi", true),
			"event:error\ndata:{\"code\":4015,\"msg\":\"not published\"}\n\n"},
		{"chat default 4100", "/v3/chat", Fault{}, chatBodyFor(BotAssistant, "hi", true),
			"event:error\ndata:{\"code\":4100,\"msg\":\"authentication is invalid\"}\n\n"},
		{"chat without blank line", "/v3/chat", Fault{Code: 4100, Msg: "x", FinalEnding: EndNone}, chatBodyFor(BotAssistant, "hi", true),
			"event:error\ndata:{\"code\":4100,\"msg\":\"x\"}"},
		{"workflow", "/v1/workflow/stream_run", Fault{Code: 4100, Msg: "x"}, map[string]any{"workflow_id": WorkflowJoke},
			"id: 0\nevent: Error\ndata: {\"error_code\":4100,\"error_message\":\"x\"}\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, tok := alanEnv(t, Options{})
			f := tt.fault
			f.Endpoint, f.Times, f.ErrorAsFirstEvent = "POST "+tt.endpoint, 1, true
			e.sim.AddFault(f)
			st, h, b := e.do(t, http.MethodPost, tt.endpoint, tok, tt.body)
			if st != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") || string(b) != tt.want {
				t.Errorf("got %d %s %q, want 200 text/event-stream %q", st, h.Get("Content-Type"), b, tt.want)
			}
			// Used once: the retry runs normally.
			if _, _, b := e.do(t, http.MethodPost, tt.endpoint, tok, tt.body); strings.Contains(string(b), "event:error") || strings.Contains(string(b), "event: Error") {
				t.Errorf("second call still failed: %q", tail(b))
			}
		})
	}
}

func TestFakeClockSleep(t *testing.T) {
	c := NewFakeClock(t0)
	woke := make(chan bool, 1)
	go func() { woke <- c.Sleep(t.Context(), time.Minute) }()
	if err := c.WaitForSleepers(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	c.Advance(59 * time.Second)
	if c.Sleepers() != 1 {
		t.Fatalf("sleepers = %d after 59s of a 1m sleep, want 1", c.Sleepers())
	}
	c.Advance(time.Second)
	if !<-woke || c.Sleepers() != 0 {
		t.Errorf("Sleep did not wake at its time (sleepers %d)", c.Sleepers())
	}

	ctx, cancel := context.WithCancel(t.Context())
	go func() { woke <- c.Sleep(ctx, time.Hour) }()
	if err := c.WaitForSleepers(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if <-woke || c.Sleepers() != 0 {
		t.Errorf("a cancelled Sleep reported the time as passed or stayed registered (%d)", c.Sleepers())
	}
}

// coze-protocol E13: FirstEventDelay holds the first event on the simulator's clock after
// the headers, with PING heartbeats in the workflow framing.
func TestFirstEventDelayWithPings(t *testing.T) {
	e, tok := alanEnv(t, Options{})
	e.sim.AddFault(Fault{Endpoint: "POST /v1/workflow/stream_run", Times: 1, FirstEventDelay: 3 * time.Minute, PingEvery: time.Minute})
	type result struct {
		h    http.Header
		body []byte
	}
	done := make(chan result, 1)
	go func() {
		_, h, b := e.do(t, http.MethodPost, "/v1/workflow/stream_run", tok, map[string]any{"workflow_id": WorkflowJoke})
		done <- result{h, b}
	}()
	for range 3 {
		if err := e.clock.WaitForSleepers(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
	}
	res := <-done
	evs := readSSE(t, res.body, true)
	got := names(evs)
	if len(got) < 4 || got[0] != "PING" || got[1] != "PING" || got[2] != "Message" || got[len(got)-1] != "Done" {
		t.Fatalf("events %v, want two PINGs, then the run", got)
	}
	for i, ev := range evs {
		if ev.ID != strconv.Itoa(i) {
			t.Errorf("event %d (%s) id %q, want ids to count every frame", i, ev.Name, ev.ID)
		}
	}
	if evs[0].Data != "{}" {
		t.Errorf("PING data %q, want {}", evs[0].Data)
	}
}
