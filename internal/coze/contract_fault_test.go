package coze_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/cozesim"
)

func TestContractHTTPFaults(t *testing.T) {
	e, c, tok, ctx := signedIn(t, cozesim.Options{})

	e.sim.AddFault(cozesim.Fault{Endpoint: "GET /v1/users/me", HTTPStatus: 502, Times: 1})
	if _, err := c.Me(ctx, tok); err != nil {
		t.Errorf("Me after one 502 = %v, want success by retry", err)
	}
	if got := e.sim.Calls("GET /v1/users/me"); got != 2 {
		t.Errorf("calls = %d, want 2", got)
	}
	e.sim.AddFault(cozesim.Fault{Endpoint: "GET /v1/users/me", HTTPStatus: 503})
	if _, err := c.Me(ctx, tok); !coze.IsUpstreamUnavailable(err) || apiCode(err) != 0 {
		t.Errorf("persistent 503 err = %v, want upstream unavailable", err)
	}
	e.sim.ClearFaults()
	e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat/cancel", HTTPStatus: 500, Times: 1})
	e.sim.ResetCalls()
	if _, err := c.CancelChat(ctx, tok, "7390000000000000001", "7390000000000000002"); !coze.IsUpstreamUnavailable(err) {
		t.Errorf("POST 500 err = %v", err)
	}
	if got := e.sim.Calls("POST /v3/chat/cancel"); got != 1 {
		t.Errorf("POST calls = %d, want 1 (never retried)", got)
	}
	e.sim.AddFault(cozesim.Fault{Endpoint: "GET /v1/workspaces", Code: 4009, Msg: "busy", Times: 1})
	if _, err := c.Workspaces(ctx, tok, 1, 20); !coze.IsRateLimited(err) {
		t.Errorf("4009 err = %v, want rate limited", err)
	}
	e.sim.AddFault(cozesim.Fault{Endpoint: "GET /v1/bots", Code: 4100, Msg: "authentication is invalid", Times: 1})
	if _, err := c.Bots(ctx, tok, coze.BotListParams{WorkspaceID: cozesim.WorkspaceTeam}); !coze.IsTokenInvalid(err) {
		t.Errorf("4100 fault err = %v", err)
	}
	e.sim.AddFault(cozesim.Fault{Endpoint: "GET /v1/users/me", StallHeaders: true, Times: 1})
	quick := coze.New(coze.Options{APIBase: e.srv.URL + simPrefix, Timeout: 100 * time.Millisecond, Retries: -1})
	if _, err := quick.Me(ctx, tok); !coze.IsUpstreamUnavailable(err) {
		t.Errorf("stalled call err = %v, want timeout", err)
	}
}

func TestContractStreamFaults(t *testing.T) {
	tests := []struct {
		name   string
		fault  cozesim.Fault
		maxEv  int
		check  func(t *testing.T, evs []coze.Event, err error)
		openOK bool
	}{
		{"cut mid-event", cozesim.Fault{CutAfterEvents: 3}, 0, func(t *testing.T, evs []coze.Event, err error) {
			if len(evs) != 3 || !errors.Is(err, coze.ErrStreamCut) {
				t.Errorf("%d events, err %v; want 3 then ErrStreamCut", len(evs), err)
			}
		}, true},
		{"malformed data", cozesim.Fault{MalformedAfterEvents: 2}, 0, func(t *testing.T, evs []coze.Event, err error) {
			// The garbage frame is well-formed SSE: it is passed through byte for byte and
			// fails only when decoded.
			last := evs[len(evs)-1]
			if _, derr := last.Message(); len(evs) != 3 || json.Valid(last.Data) || derr == nil || !errors.Is(err, io.EOF) {
				t.Errorf("events %v err %v: want 2 good events, then the garbage one", names(evs), err)
			}
		}, true},
		{"error event", cozesim.Fault{ErrorAfterEvents: 2}, 0, func(t *testing.T, evs []coze.Event, err error) {
			last := evs[len(evs)-1]
			if code, msg := last.StreamError(); last.Name != coze.EventError || code == 0 || msg == "" {
				t.Errorf("last event %s %s", last.Name, last.Data)
			}
		}, true},
		{"chat failed", cozesim.Fault{FailAfterEvents: 2}, 0, func(t *testing.T, evs []coze.Event, err error) {
			chat, _ := answerText(t, evs)
			if chat.Status != coze.ChatFailed || chat.LastError == nil || chat.LastError.Code == 0 || !errors.Is(err, io.EOF) {
				t.Errorf("chat %+v err %v", chat, err)
			}
		}, true},
		{"clean EOF without done", cozesim.Fault{EOFAfterEvents: 3}, 0, func(t *testing.T, evs []coze.Event, err error) {
			if len(evs) != 3 || !errors.Is(err, io.EOF) {
				t.Errorf("%d events err %v", len(evs), err)
			}
		}, true},
		{"oversize event", cozesim.Fault{OversizeEvent: 64 << 10}, 16 << 10, func(t *testing.T, evs []coze.Event, err error) {
			if !errors.Is(err, coze.ErrEventTooLarge) {
				t.Errorf("err = %v, want ErrEventTooLarge", err)
			}
		}, true},
		{"bare JSON pre-stream error (Q6)", cozesim.Fault{BareJSONError: true, Code: 4100, Msg: "authentication is invalid"}, 0, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustSim(t, cozesim.Options{})
			tt.fault.Endpoint = "POST /v3/chat"
			tt.fault.Times = 1
			e.sim.AddFault(tt.fault)
			c := coze.New(coze.Options{APIBase: e.srv.URL + simPrefix, MaxEventBytes: tt.maxEv})
			s, err := c.StreamChat(runCtx(t), e.token(cozesim.UserAlan), coze.ChatRequest{BotID: cozesim.BotAssistant, UserID: "u", AdditionalMessages: userMsg("hi")})
			if !tt.openOK {
				if s != nil || err == nil || apiCode(err) == -1 {
					t.Fatalf("open = %v, %v; want *APIError and no stream", s, err)
				}
				return
			}
			evs, err := streamEvents(t, s, err)
			tt.check(t, evs, err)
		})
	}
}

func TestContractSilentStreamEndsWithContext(t *testing.T) {
	e := mustSim(t, cozesim.Options{})
	e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", SilentAfterEvents: 2, Times: 1})
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	s, err := e.web.StreamChat(ctx, e.token(cozesim.UserAlan), coze.ChatRequest{BotID: cozesim.BotAssistant, UserID: "u", AdditionalMessages: userMsg("hi")})
	evs, err := streamEvents(t, s, err)
	if len(evs) != 2 || err == nil || errors.Is(err, io.EOF) {
		t.Errorf("%d events, err %v; want 2 then a context error", len(evs), err)
	}
}

func TestContractStreamHeaderStall(t *testing.T) {
	e := mustSim(t, cozesim.Options{})
	e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v1/workflow/stream_run", StallHeaders: true, Times: 1})
	c := coze.New(coze.Options{APIBase: e.srv.URL + simPrefix, StreamHeaderTimeout: 100 * time.Millisecond})
	_, err := c.StreamWorkflow(runCtx(t), e.token(cozesim.UserAlan), coze.RunWorkflowRequest{WorkflowID: cozesim.WorkflowJoke})
	if !errors.Is(err, coze.ErrStreamTimeout) || !coze.IsUpstreamUnavailable(err) {
		t.Errorf("err = %v, want ErrStreamTimeout", err)
	}
}

// coze-protocol E2: real streams end right after the last data value, with one "\n" or
// none. The final event (done, Done, Interrupt, error, chat.failed) must still arrive.
func TestContractFinalEventWithoutBlankLine(t *testing.T) {
	type open func(c *coze.Client, ctx context.Context, tok coze.AccessToken) (*coze.Stream, error)
	chat := func(c *coze.Client, ctx context.Context, tok coze.AccessToken) (*coze.Stream, error) {
		return c.StreamChat(ctx, tok, coze.ChatRequest{BotID: cozesim.BotAssistant, UserID: "u", AdditionalMessages: userMsg("hi")})
	}
	workflow := func(id string) open {
		return func(c *coze.Client, ctx context.Context, tok coze.AccessToken) (*coze.Stream, error) {
			return c.StreamWorkflow(ctx, tok, coze.RunWorkflowRequest{WorkflowID: id})
		}
	}
	tests := []struct {
		name     string
		endpoint string
		fault    cozesim.Fault
		open     open
		last     string
	}{
		{"chat done", "POST /v3/chat", cozesim.Fault{}, chat, coze.EventDone},
		{"chat error event", "POST /v3/chat", cozesim.Fault{ErrorAfterEvents: 2, Code: 4013, Msg: "model error"}, chat, coze.EventError},
		{"chat failed", "POST /v3/chat", cozesim.Fault{FailAfterEvents: 2}, chat, coze.EventChatFailed},
		{"workflow Done", "POST /v1/workflow/stream_run", cozesim.Fault{}, workflow(cozesim.WorkflowJoke), coze.WorkflowDone},
		{"workflow Interrupt", "POST /v1/workflow/stream_run", cozesim.Fault{}, workflow(cozesim.WorkflowAsk), coze.WorkflowInterrupt},
	}
	for _, ending := range []cozesim.Ending{cozesim.EndNewline, cozesim.EndNone} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/ending=%d", tt.name, ending), func(t *testing.T) {
				e := mustSim(t, cozesim.Options{})
				f := tt.fault
				f.Endpoint, f.Times, f.FinalEnding = tt.endpoint, 1, ending
				e.sim.AddFault(f)
				s, err := tt.open(e.web, runCtx(t), e.token(cozesim.UserAlan))
				evs, err := streamEvents(t, s, err)
				if !errors.Is(err, io.EOF) || len(evs) == 0 || evs[len(evs)-1].Name != tt.last {
					t.Fatalf("events %v, end %v; want the final %s, then io.EOF", names(evs), err, tt.last)
				}
				if last := evs[len(evs)-1]; !json.Valid(last.Data) {
					t.Errorf("final data %q is not the whole JSON value", last.Data)
				}
			})
		}
	}
}

// coze-protocol E4: a pre-run failure sent as the first event of a 200 event stream is
// returned by the open call as the same *APIError the JSON form gives, with no stream.
func TestContractPreRunErrorAsFirstEvent(t *testing.T) {
	tests := []struct {
		name, endpoint string
		code           int
		check          func(error) bool
		open           func(c *coze.Client, ctx context.Context, tok coze.AccessToken) (*coze.Stream, error)
	}{
		{"chat 4100", "POST /v3/chat", 4100, coze.IsTokenInvalid, func(c *coze.Client, ctx context.Context, tok coze.AccessToken) (*coze.Stream, error) {
			return c.StreamChat(ctx, tok, coze.ChatRequest{BotID: cozesim.BotAssistant, UserID: "u", AdditionalMessages: userMsg("hi")})
		}},
		{"chat 4015", "POST /v3/chat", 4015, coze.IsNotPublished, func(c *coze.Client, ctx context.Context, tok coze.AccessToken) (*coze.Stream, error) {
			return c.StreamChat(ctx, tok, coze.ChatRequest{BotID: cozesim.BotAssistant, UserID: "u", AdditionalMessages: userMsg("hi")})
		}},
		{"workflow 4100", "POST /v1/workflow/stream_run", 4100, coze.IsTokenInvalid, func(c *coze.Client, ctx context.Context, tok coze.AccessToken) (*coze.Stream, error) {
			return c.StreamWorkflow(ctx, tok, coze.RunWorkflowRequest{WorkflowID: cozesim.WorkflowJoke})
		}},
		{"resume 4200", "POST /v1/workflow/stream_resume", 4200, coze.IsNotFound, func(c *coze.Client, ctx context.Context, tok coze.AccessToken) (*coze.Stream, error) {
			return c.ResumeWorkflow(ctx, tok, coze.ResumeWorkflowRequest{WorkflowID: cozesim.WorkflowAsk, EventID: "7390000000000000001/1", InterruptType: 2, ResumeData: "hi"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustSim(t, cozesim.Options{})
			tok := e.token(cozesim.UserAlan)
			e.sim.AddFault(cozesim.Fault{Endpoint: tt.endpoint, Times: 1, ErrorAsFirstEvent: true, Code: tt.code, Msg: "pre-run failure for " + string(tok)})
			s, err := tt.open(e.web, runCtx(t), tok)
			if s != nil {
				s.Close()
				t.Fatal("got a stream for a pre-run error")
			}
			if apiCode(err) != tt.code || !tt.check(err) {
				t.Errorf("err = %v, want *APIError %d", err, tt.code)
			}
			if strings.Contains(err.Error(), string(tok)) {
				t.Errorf("the error repeats the access token: %v", err)
			}
		})
	}
}

// coze-protocol E13: once the event-stream headers are in, no first-byte limit applies. A
// workflow whose first event comes minutes later (on the simulator's clock) still runs,
// PING heartbeats are not returned, and only silence beyond the idle limit ends a stream.
func TestContractSlowWorkflowStreams(t *testing.T) {
	open := func(c *coze.Client, e *simEnv) <-chan streamResult {
		out := make(chan streamResult, 1)
		go func() {
			s, err := c.StreamWorkflow(runCtx(t), e.token(cozesim.UserAlan), coze.RunWorkflowRequest{WorkflowID: cozesim.WorkflowJoke})
			out <- streamResult{s, err}
		}()
		return out
	}
	t.Run("first event after minutes", func(t *testing.T) {
		clock := cozesim.NewFakeClock(time.Now())
		e := mustSim(t, cozesim.Options{Clock: clock})
		e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v1/workflow/stream_run", Times: 1, FirstEventDelay: 4 * time.Minute})
		c := coze.New(coze.Options{APIBase: e.srv.URL + simPrefix, StreamHeaderTimeout: 20 * time.Millisecond})
		res := open(c, e)
		if err := clock.WaitForSleepers(runCtx(t), 1); err != nil {
			t.Fatal(err)
		}
		// The headers are out and the run holds its first event. Let real time pass beyond
		// StreamHeaderTimeout, so a first-byte limit would have fired, then 4 minutes pass.
		time.Sleep(100 * time.Millisecond)
		clock.Advance(4 * time.Minute)
		r := <-res
		evs, err := streamEvents(t, r.s, r.err)
		if got := names(evs); !errors.Is(err, io.EOF) || got[0] != coze.WorkflowMessage || got[len(got)-1] != coze.WorkflowDone {
			t.Errorf("events %v, end %v; want the whole run", got, err)
		}
	})
	t.Run("PING heartbeats", func(t *testing.T) {
		clock := cozesim.NewFakeClock(time.Now())
		e := mustSim(t, cozesim.Options{Clock: clock})
		e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v1/workflow/stream_run", Times: 1, FirstEventDelay: 3 * time.Minute, PingEvery: time.Minute})
		res := open(e.web, e)
		for range 3 {
			if err := clock.WaitForSleepers(runCtx(t), 1); err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Minute)
		}
		r := <-res
		evs, err := streamEvents(t, r.s, r.err)
		got := names(evs)
		if !errors.Is(err, io.EOF) || slices.Contains(got, coze.WorkflowPing) || got[0] != coze.WorkflowMessage || got[len(got)-1] != coze.WorkflowDone {
			t.Errorf("events %v, end %v; want the run without its PINGs", got, err)
		}
		if evs[0].ID != "2" {
			t.Errorf("first event id %q, want 2 (after the PINGs 0 and 1)", evs[0].ID)
		}
	})
	t.Run("silence before the first event", func(t *testing.T) {
		e := mustSim(t, cozesim.Options{Clock: cozesim.NewFakeClock(time.Now())}) // the clock never moves
		e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v1/workflow/stream_run", Times: 1, FirstEventDelay: time.Hour})
		c := coze.New(coze.Options{APIBase: e.srv.URL + simPrefix, WorkflowIdleTimeout: 50 * time.Millisecond})
		r := <-open(c, e)
		if r.s != nil || !errors.Is(r.err, coze.ErrStreamIdle) || !coze.IsUpstreamUnavailable(r.err) || !strings.Contains(r.err.Error(), "50ms") {
			t.Errorf("open = %v, %v; want ErrStreamIdle naming the limit", r.s, r.err)
		}
	})
	t.Run("silence mid-stream", func(t *testing.T) {
		e := mustSim(t, cozesim.Options{})
		e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v1/workflow/stream_run", Times: 1, SilentAfterEvents: 2})
		c := coze.New(coze.Options{APIBase: e.srv.URL + simPrefix, WorkflowIdleTimeout: 50 * time.Millisecond})
		r := <-open(c, e)
		evs, err := streamEvents(t, r.s, r.err)
		if len(evs) != 2 || !errors.Is(err, coze.ErrStreamIdle) {
			t.Errorf("%d events, end %v; want 2, then ErrStreamIdle", len(evs), err)
		}
	})
	t.Run("chat silence mid-stream", func(t *testing.T) {
		e := mustSim(t, cozesim.Options{})
		e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", Times: 1, SilentAfterEvents: 2})
		c := coze.New(coze.Options{APIBase: e.srv.URL + simPrefix, StreamIdleTimeout: 50 * time.Millisecond})
		s, err := c.StreamChat(runCtx(t), e.token(cozesim.UserAlan), coze.ChatRequest{BotID: cozesim.BotAssistant, UserID: "u", AdditionalMessages: userMsg("hi")})
		evs, err := streamEvents(t, s, err)
		if len(evs) != 2 || !errors.Is(err, coze.ErrStreamIdle) {
			t.Errorf("%d events, end %v; want 2, then ErrStreamIdle", len(evs), err)
		}
	})
}

type streamResult struct {
	s   *coze.Stream
	err error
}
