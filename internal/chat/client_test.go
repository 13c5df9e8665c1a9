package chat_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// Catalog G.49: the browser leaves after 2 deltas (and the access token expires
// meanwhile); the reply is still read to the end and recorded complete.
func TestReplyReadToTheEndAfterTheBrowserLeaves(t *testing.T) {
	h := mustHarness(t)
	h.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", Times: 1, DeltaDelay: 3 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	s := h.post(t, ctx, "alan", chat.StartRequest{BotID: cozesim.BotAssistant, Message: "long one chunk=2"})
	evs := s.until(t, chat.EventDelta, 2)
	cancel() // the tab is closed
	h.sim.ExpireAccessTokens(cozesim.UserAlan)
	convID, chatID := chatIDs(t, evs)

	run := h.mustRun(t, h.alan, chatID)
	res := run.Result()
	if st, _ := run.Status(); st != "complete" {
		t.Fatalf("status = %q, want complete", st)
	}
	m := h.mustMessage(t, h.alan, chatID)
	if m.Status != "complete" || m.Content != res.Answer || len(res.Answer) <= len(deltaText(t, evs)) {
		t.Errorf("stored = %q %q, want the whole answer %q", m.Status, m.Content, res.Answer)
	}
	if st, _ := h.sim.ChatStatus(convID, chatID); st != "completed" {
		t.Errorf("sim chat status = %q, want completed (upstream read to the end)", st)
	}
	waitFor(t, "relay closed", func() bool { return h.relaysClosed.Load() == 1 })
}

// Catalog G.50: Stop cancels upstream with the right ids, ends the relay with a final
// event and records the partial reply as canceled; another user gets ErrNotFound.
func TestStopCancelsUpstream(t *testing.T) {
	h := mustHarness(t)
	s := h.post(t, t.Context(), "alan", chat.StartRequest{BotID: cozesim.BotSlow, Message: "a story"})
	evs := s.until(t, chat.EventDelta, 3)
	convID, chatID := chatIDs(t, evs)

	if _, ok := h.svc.Lookup(h.bea.ID, chatID); ok {
		t.Error("Bea can look up Alan's run")
	}
	for _, tt := range []struct{ name, user, conv, chat string }{
		{"other user", "bea", convID, chatID},
		{"wrong conversation", "alan", "123", chatID},
		{"unknown chat", "alan", convID, "7000000000000000001"},
		{"bad chat id", "alan", convID, "../x"},
	} {
		u := h.alan
		if tt.user == "bea" {
			u = h.bea
		}
		if err := h.svc.Cancel(t.Context(), u, tt.conv, tt.chat); !errors.Is(err, chat.ErrNotFound) {
			t.Errorf("%s: Cancel = %v, want ErrNotFound", tt.name, err)
		}
	}
	if n := h.sim.Calls("POST /v3/chat/cancel"); n != 0 {
		t.Fatalf("cancel calls after refused cancels = %d, want 0", n)
	}

	if err := h.svc.Cancel(t.Context(), h.alan, convID, chatID); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	var body struct {
		ChatID         string `json:"chat_id"`
		ConversationID string `json:"conversation_id"`
	}
	for _, r := range h.sim.Requests() {
		if r.Method == http.MethodPost && r.Path == "/v3/chat/cancel" {
			json.Unmarshal(r.Body, &body)
		}
	}
	if body.ChatID != chatID || body.ConversationID != convID {
		t.Errorf("cancel body = %+v, want %s/%s", body, chatID, convID)
	}
	evs = append(evs, s.all(t)...)
	if end := endOf(t, evs); end.Status != chat.EndCanceled || end.Code != "canceled" {
		t.Errorf("end = %+v, want canceled", end)
	}
	m := h.mustMessage(t, h.alan, chatID)
	if m.Status != "canceled" || m.Content != deltaText(t, evs) || m.Content == "" {
		t.Errorf("stored = %q %q, want canceled with the partial %q", m.Status, m.Content, deltaText(t, evs))
	}
	if st, _ := h.sim.ChatStatus(convID, chatID); st != "canceled" {
		t.Errorf("sim status = %q, want canceled", st)
	}
	// Stopping again is harmless (Coze answers 4104).
	if err := h.svc.Cancel(t.Context(), h.alan, convID, chatID); err != nil {
		t.Errorf("second Cancel = %v, want nil", err)
	}
}

// Catalog G.50: a chat known only from the history (run no longer in memory) can be
// cancelled by its owner only.
func TestCancelFromHistory(t *testing.T) {
	h := mustHarness(t, func(c *config) { c.chat.Retain = time.Millisecond })
	res, err := h.svc.Complete(t.Context(), h.alan, chat.StartRequest{BotID: cozesim.BotAssistant, Message: "x"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "run forgotten", func() bool { _, ok := h.svc.Lookup(h.alan.ID, res.ChatID); return !ok })
	if err := h.svc.Cancel(t.Context(), h.bea, res.ConversationID, res.ChatID); !errors.Is(err, chat.ErrNotFound) {
		t.Errorf("Bea: Cancel = %v, want ErrNotFound", err)
	}
	if err := h.svc.Cancel(t.Context(), h.alan, res.ConversationID, res.ChatID); err != nil {
		t.Errorf("Alan: Cancel = %v, want nil (4104 is fine)", err)
	}
	if m := h.mustMessage(t, h.alan, res.ChatID); m.Status != "complete" {
		t.Errorf("stored status = %q, want complete kept", m.Status)
	}
}

// Catalog G.51: a client that reads nothing is dropped by the write deadline; the run
// reads and records the whole reply regardless.
func TestSlowReaderDroppedByWriteDeadline(t *testing.T) {
	h := mustHarness(t, func(c *config) {
		c.chat.WriteTimeout = 200 * time.Millisecond
		c.sndBuf = 4096
	})
	// Thousands of one-rune deltas (the sim echoes the message): far more than the two
	// small socket buffers hold.
	body := fmt.Sprintf(`{"BotID":%q,"Message":"hi chunk=1 %s"}`, cozesim.BotAssistant, strings.Repeat("x", 3000))
	conn, err := net.Dial("tcp", h.app.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(conn, "POST /chat HTTP/1.1\r\nHost: x\r\nX-User: alan\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)

	waitFor(t, "run recorded", func() bool { return h.runsEnded.Load() == 1 })
	waitFor(t, "relay dropped", func() bool { return h.relaysClosed.Load() == 1 })
	// The connection was cut, not finished: the client never gets the end of the reply.
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.ReadAll(conn)
	if len(got) == 0 || strings.Contains(string(got), "event: end") {
		t.Errorf("client got %d bytes (end event: %v), want a cut stream", len(got), strings.Contains(string(got), "event: end"))
	}
	convs, err := h.store.ListConversations(t.Context(), h.alan.ID, "", "", 10)
	if err != nil || len(convs) != 1 {
		t.Fatalf("conversations = %v (%v), want 1", convs, err)
	}
	msgs, err := h.store.Messages(t.Context(), h.alan.ID, convs[0].ID)
	if err != nil || len(msgs) != 2 || msgs[1].Status != "complete" {
		t.Fatalf("messages = %+v (%v), want a complete reply", msgs, err)
	}
}

// Catalog G.52: resume with Last-Event-ID k gives k+1… exactly once; bad, future and
// foreign ids are refused.
func TestResumeFromLastEventID(t *testing.T) {
	h := mustHarness(t)
	h.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", Times: 1, DeltaDelay: 2 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	s := h.post(t, ctx, "alan", chat.StartRequest{BotID: cozesim.BotAssistant, Message: "resume me chunk=2"})
	first := s.until(t, chat.EventDelta, 3)
	cancel()
	_, chatID := chatIDs(t, first)
	k := len(first)

	resp := h.do(t, t.Context(), http.MethodGet, "/stream/"+chatID, "alan", nil, strconv.Itoa(k))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("resume status = %d", resp.StatusCode)
	}
	rest := h.stream(t, resp).all(t)
	h.mustRun(t, h.alan, chatID)
	resp = h.do(t, t.Context(), http.MethodGet, "/stream/"+chatID+"?last_event_id=0", "alan", nil, "")
	full := h.stream(t, resp).all(t)

	got := append(append([]sseEvent(nil), first...), rest...)
	if len(got) != len(full) {
		t.Fatalf("first %d + resumed %d events, want %d", len(first), len(rest), len(full))
	}
	for i := range full {
		if got[i] != full[i] || full[i].ID != strconv.Itoa(i+1) {
			t.Fatalf("event %d = %+v, want %+v (id %d)", i, got[i], full[i], i+1)
		}
	}
	last := full[len(full)-1].ID

	for _, tt := range []struct {
		name, user, id string
		want           int
	}{
		{"garbage", "alan", "abc", http.StatusBadRequest},
		{"negative", "alan", "-1", http.StatusBadRequest},
		{"future", "alan", last + "0", http.StatusBadRequest},
		{"huge", "alan", strings.Repeat("9", 40), http.StatusBadRequest},
		{"other user", "bea", "1", http.StatusNotFound},
		{"at the end", "alan", last, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.do(t, t.Context(), http.MethodGet, "/stream/"+chatID, tt.user, nil, tt.id)
			defer resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusOK {
				if evs := h.stream(t, resp).all(t); len(evs) != 0 {
					t.Errorf("resume at the end sent %d events, want 0", len(evs))
				}
			}
		})
	}
}

// The event log is bounded; a resume from before what it still holds is refused.
func TestResumeTruncatedLog(t *testing.T) {
	h := mustHarness(t, func(c *config) { c.chat.MaxLogBytes = 2048 })
	res, err := h.svc.Complete(t.Context(), h.alan, chat.StartRequest{BotID: cozesim.BotAssistant, Message: "x chunk=1"})
	if err != nil {
		t.Fatal(err)
	}
	run, _ := h.svc.Lookup(h.alan.ID, res.ChatID)
	last := run.LastEventID()
	if err := run.CheckResume(0); !errors.Is(err, chat.ErrBadEventID) {
		t.Errorf("CheckResume(0) = %v, want ErrBadEventID", err)
	}
	if err := run.CheckResume(last - 1); err != nil {
		t.Errorf("CheckResume(last-1) = %v, want nil", err)
	}
	resp := h.do(t, t.Context(), http.MethodGet, "/stream/"+res.ChatID, "alan", nil, "1")
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("resume from 1: status %d, want 400", resp.StatusCode)
	}
	resp = h.do(t, t.Context(), http.MethodGet, "/stream/"+res.ChatID, "alan", nil, strconv.FormatInt(last-1, 10))
	if evs := h.stream(t, resp).all(t); len(evs) != 1 || endOf(t, evs).Status != chat.EndCompleted {
		t.Errorf("resume from last-1 = %+v, want the end event", evs)
	}
}
