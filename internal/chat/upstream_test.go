package chat_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// Catalog F.42: failures before the stream come back from Start as typed errors, no run
// is created and (through the app) no SSE response is opened.
func TestErrorsBeforeStreamAreTyped(t *testing.T) {
	tests := []struct {
		name  string
		bot   string
		fault *cozesim.Fault
		check func(error) bool
	}{
		{"http 500", cozesim.BotAssistant, &cozesim.Fault{HTTPStatus: 500}, coze.IsUpstreamUnavailable},
		{"4015 not published", cozesim.BotDraft, nil, coze.IsNotPublished},
		{"4016 conversation busy", cozesim.BotAssistant, &cozesim.Fault{Code: 4016, Msg: "busy"}, coze.IsConversationBusy},
		{"4101 permission", cozesim.BotAssistant, &cozesim.Fault{Code: 4101, Msg: "no"}, coze.IsPermissionDenied},
		{"4009 quota", cozesim.BotAssistant, &cozesim.Fault{Code: 4009, Msg: "quota"}, coze.IsRateLimited},
		{"http 429", cozesim.BotAssistant, &cozesim.Fault{HTTPStatus: 429}, coze.IsRateLimited},
		{"bare json error in sse", cozesim.BotAssistant, &cozesim.Fault{BareJSONError: true, Code: 4016, Msg: "busy"}, coze.IsConversationBusy},
		{"4100 twice => reauth", cozesim.BotAssistant, &cozesim.Fault{Code: 4100, Msg: "invalid"}, func(err error) bool {
			return errors.Is(err, auth.ErrReauthRequired)
		}},
	}
	h := mustHarness(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.sim.ClearFaults()
			if tt.fault != nil {
				f := *tt.fault
				f.Endpoint = "POST /v3/chat"
				h.sim.AddFault(f)
			}
			run, err := h.svc.Start(t.Context(), h.bea, chat.StartRequest{BotID: tt.bot, Message: "hi"})
			if err == nil || run != nil || !tt.check(err) {
				t.Fatalf("Start = %v, %v; want the typed error", run, err)
			}
			resp := h.do(t, t.Context(), http.MethodPost, "/chat", "bea", chat.StartRequest{BotID: tt.bot, Message: "hi"}, "")
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				t.Errorf("app answered %d %s, want an error and no SSE", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		})
	}
}

// An expired access token (4100) is refreshed once and the chat goes on.
func TestStartRefreshesOn4100(t *testing.T) {
	h := mustHarness(t)
	h.sim.ExpireAccessTokens(cozesim.UserAlan)
	res, err := h.svc.Complete(t.Context(), h.alan, chat.StartRequest{BotID: cozesim.BotMemory, Message: "hello"})
	if err != nil {
		t.Fatalf("Complete after expiry: %v", err)
	}
	if res.Answer == "" {
		t.Error("empty answer")
	}
	if n := h.sim.Calls("token:refresh_token"); n != 1 {
		t.Errorf("refresh calls = %d, want 1", n)
	}
}

// streamCase runs one faulty stream to its end through the app.
type streamCase struct {
	name       string
	fault      cozesim.Fault
	wantCode   string // our error event code; "" => none
	wantStatus string // stored status before any reconcile
	wantStored string // stored ErrorCode
}

func runStreamCase(t *testing.T, h *harness, tt streamCase) ([]sseEvent, string) {
	t.Helper()
	h.sim.ClearFaults()
	tt.fault.Endpoint, tt.fault.Times = "POST /v3/chat", 1
	h.sim.AddFault(tt.fault)
	// Keep the partial reply as it is: the reconcile finds nothing to fix.
	h.sim.AddFault(cozesim.Fault{Endpoint: "GET /v3/chat/retrieve", Code: 4200, Msg: "gone"})
	evs := h.post(t, t.Context(), "alan", chat.StartRequest{BotID: cozesim.BotAssistant, Message: "tell me chunk=4"}).all(t)
	if got := errorCode(evs); got != tt.wantCode {
		t.Errorf("error event code = %q, want %q (events %+v)", got, tt.wantCode, evs)
	}
	_, chatID := chatIDs(t, evs)
	run := h.mustRun(t, h.alan, chatID)
	m := h.mustMessage(t, h.alan, chatID)
	if m.Status != tt.wantStatus || m.ErrorCode != tt.wantStored {
		t.Errorf("stored = %q %q, want %q %q", m.Status, m.ErrorCode, tt.wantStatus, tt.wantStored)
	}
	if st, code := run.Status(); st != tt.wantStatus || code != tt.wantStored {
		t.Errorf("run status = %q %q, want %q %q", st, code, tt.wantStatus, tt.wantStored)
	}
	if got, want := m.Content, deltaText(t, evs); got != want {
		t.Errorf("stored partial = %q, want the relayed deltas %q", got, want)
	}
	for i, ev := range evs {
		if ev.ID == "" || ev.Name == "" {
			t.Errorf("event %d = %+v, want id and name", i, ev)
		}
	}
	return evs, chatID
}

// Catalog F.44, F.45, F.47, F.48 and Coze's own failure events.
func TestUpstreamFaults(t *testing.T) {
	h := mustHarness(t)
	for _, tt := range []streamCase{
		{name: "Case44_ResetMidStream", fault: cozesim.Fault{CutAfterEvents: 5}, wantCode: "upstream_reset", wantStatus: "incomplete", wantStored: "upstream_reset"},
		{name: "Case45_MalformedSSE", fault: cozesim.Fault{MalformedAfterEvents: 4}, wantCode: "upstream_malformed", wantStatus: "incomplete", wantStored: "upstream_malformed"},
		{name: "Case48_EOFWithoutTerminal", fault: cozesim.Fault{EOFAfterEvents: 5}, wantCode: "incomplete", wantStatus: "incomplete", wantStored: "incomplete"},
		{name: "Case47_OversizedEvent", fault: cozesim.Fault{OversizeEvent: 2 << 20}, wantCode: "upstream_too_large", wantStatus: "incomplete", wantStored: "upstream_too_large"},
		{name: "CozeErrorEvent", fault: cozesim.Fault{ErrorAfterEvents: 4}, wantCode: "4013", wantStatus: "failed", wantStored: "4013"},
		{name: "CozeChatFailed", fault: cozesim.Fault{FailAfterEvents: 4}, wantCode: "5000", wantStatus: "failed", wantStored: "5000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			evs, _ := runStreamCase(t, h, tt)
			// Coze's failures and ours alike end the stream with our end event: failed
			// with Coze's code and message, or interrupted with our code.
			end := endOf(t, evs)
			want := chat.EndInterrupted
			if tt.wantStatus == "failed" {
				want = chat.EndFailed
			}
			if end.Status != want || end.Code != tt.wantStored || !saysWhy(end.Key, end.Message) {
				t.Errorf("end = %+v, want %s %s that says why", end, want, tt.wantStored)
			}
			for _, ev := range evs {
				if strings.HasPrefix(ev.Name, "conversation.") || ev.Name == coze.EventError {
					t.Errorf("Coze event relayed: %+v", ev)
				}
			}
		})
	}
}

// Catalog F.47: an event up to the coze client's limit passes.
func TestLargeEventWithinLimitRelayed(t *testing.T) {
	h := mustHarness(t)
	h.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", Times: 1, OversizeEvent: 512 << 10})
	evs := h.post(t, t.Context(), "alan", chat.StartRequest{BotID: cozesim.BotAssistant, Message: "big"}).all(t)
	if code := errorCode(evs); code != "" {
		t.Fatalf("error %q, want the big event relayed", code)
	}
	big := false
	for _, ev := range evs {
		big = big || len(ev.Data) > 512<<10
	}
	if !big {
		t.Error("the 512 KiB event did not arrive")
	}
}

// Catalog F.44: a cut reply is reconciled through /v3/chat/retrieve when Coze finished it.
func TestResetStreamReconciled(t *testing.T) {
	h := mustHarness(t)
	h.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", Times: 1, CutAfterEvents: 5})
	evs := h.post(t, t.Context(), "alan", chat.StartRequest{BotID: cozesim.BotAssistant, Message: "cut me"}).all(t)
	if code := errorCode(evs); code != "upstream_reset" {
		t.Fatalf("error code = %q, want upstream_reset", code)
	}
	_, chatID := chatIDs(t, evs)
	run := h.mustRun(t, h.alan, chatID)
	m := h.mustMessage(t, h.alan, chatID)
	if m.Status != "complete" || len(m.Content) <= len(deltaText(t, evs)) || len(m.FollowUps) == 0 {
		t.Errorf("stored = %q %q (%d follow-ups), want the full reconciled reply", m.Status, m.Content, len(m.FollowUps))
	}
	if st, _ := run.Status(); st != "complete" || run.Result().Answer != m.Content {
		t.Errorf("run = %q %q, want complete with the stored answer", st, run.Result().Answer)
	}
	if n := h.sim.Calls("GET /v3/chat/retrieve") + h.sim.Calls("POST /v3/chat/retrieve"); n != 1 {
		t.Errorf("retrieve calls = %d, want 1", n)
	}
}

// Complete returns Coze's failures as *coze.APIError and ours as *chat.StreamError.
func TestCompleteErrors(t *testing.T) {
	h := mustHarness(t)
	_, err := h.svc.Complete(t.Context(), h.alan, chat.StartRequest{BotID: cozesim.BotAssistant, Message: "please #fail"})
	var ae *coze.APIError
	if !errors.As(err, &ae) || ae.Code != 5000 {
		t.Errorf("failed chat: err = %v, want APIError 5000", err)
	}
	h.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", Times: 1, EOFAfterEvents: 4})
	h.sim.AddFault(cozesim.Fault{Endpoint: "GET /v3/chat/retrieve", Code: 4200, Msg: "gone"})
	res, err := h.svc.Complete(t.Context(), h.alan, chat.StartRequest{BotID: cozesim.BotAssistant, Message: "cut"})
	var se *chat.StreamError
	if !errors.As(err, &se) || se.Code != "incomplete" || res.ChatID == "" {
		t.Errorf("EOF: res %+v, err = %v, want StreamError incomplete with ids", res, err)
	}
	if _, err := h.svc.Complete(t.Context(), h.alan, chat.StartRequest{BotID: "abc", Message: "x"}); !errors.Is(err, chat.ErrBadRequest) {
		t.Errorf("bad bot id: err = %v, want ErrBadRequest", err)
	}
}

// Catalog F.46: heartbeats while the upstream is silent; the idle limit ends it.
func TestHeartbeatAndIdleTimeout(t *testing.T) {
	h := mustHarness(t, func(c *config) {
		c.chat.Heartbeat = 20 * time.Millisecond
		c.chat.IdleTimeout = 300 * time.Millisecond
	})
	h.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", Times: 1, SilentAfterEvents: 2})
	h.sim.AddFault(cozesim.Fault{Endpoint: "GET /v3/chat/retrieve", Code: 4200, Msg: "gone"})
	s := h.post(t, t.Context(), "alan", chat.StartRequest{BotID: cozesim.BotAssistant, Message: "hi"})
	wantPingsThenIdleEnd(t, h, s, nil)
}

// Catalog F.46: the total reply budget ends a trickling upstream.
func TestReplyTimeoutEndsTrickle(t *testing.T) {
	h := mustHarness(t, func(c *config) { c.chat.ReplyTimeout = 300 * time.Millisecond })
	h.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", Times: 1, DeltaDelay: 40 * time.Millisecond})
	h.sim.AddFault(cozesim.Fault{Endpoint: "GET /v3/chat/retrieve", Code: 4200, Msg: "gone"})
	evs := h.post(t, t.Context(), "alan", chat.StartRequest{BotID: cozesim.BotAssistant, Message: "x chunk=1"}).all(t)
	if code := errorCode(evs); code != "reply_timeout" {
		t.Fatalf("error = %q, want reply_timeout", code)
	}
	_, chatID := chatIDs(t, evs)
	h.mustRun(t, h.alan, chatID)
	if m := h.mustMessage(t, h.alan, chatID); m.Status != "incomplete" || m.Content != deltaText(t, evs) {
		t.Errorf("stored = %q %q, want incomplete with the partial", m.Status, m.Content)
	}
}

// An end event that is not a success carries exactly {"status","code","key","message"}:
// our reason as a catalog key, no sentence of ours, no usage when Coze never sent one.
func TestErrorEventShape(t *testing.T) {
	h := mustHarness(t)
	h.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", Times: 1, EOFAfterEvents: 3})
	evs := h.post(t, t.Context(), "alan", chat.StartRequest{BotID: cozesim.BotAssistant, Message: "x"}).all(t)
	var e map[string]string
	if err := json.Unmarshal([]byte(evs[len(evs)-1].Data), &e); err != nil || evs[len(evs)-1].Name != chat.EventEnd ||
		e["status"] != chat.EndInterrupted || e["code"] != "incomplete" || e["key"] != "incomplete" || e["message"] != "" || len(e) != 4 {
		t.Errorf("end data = %s (%v), want status, code, key and an empty message", evs[len(evs)-1].Data, err)
	}
}

// Catalog F.43: headers never come. Start fails after the stream header timeout, or as
// soon as the browser leaves; nothing stays behind (goroutine check).
func TestHeadersNeverCome(t *testing.T) {
	h := mustHarness(t, func(c *config) { c.kit.Coze = func(o *coze.Options) { o.StreamHeaderTimeout = 200 * time.Millisecond } })
	h.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", StallHeaders: true})
	run, err := h.svc.Start(t.Context(), h.alan, chat.StartRequest{BotID: cozesim.BotAssistant, Message: "hi"})
	if err == nil || run != nil || !coze.IsUpstreamUnavailable(err) {
		t.Errorf("Start = %v, %v; want upstream unavailable (timeout)", run, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := h.svc.Start(ctx, h.alan, chat.StartRequest{BotID: cozesim.BotAssistant, Message: "hi"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Start with a leaving browser = %v, want its context error", err)
	}
}
