package chat_test

import (
	"context"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// leasedRun starts a slow reply as alan, reads it up to its second delta and waits until
// the browser's relay reads the upstream itself (the reader lease, lease.go).
func leasedRun(t *testing.T, h *harness, f cozesim.Fault) (*sseStream, []sseEvent, *chat.Run) {
	t.Helper()
	f.Endpoint = "POST /v3/chat"
	h.sim.AddFault(f)
	s := h.post(t, t.Context(), "alan", chat.StartRequest{BotID: cozesim.BotAssistant, Message: "story chunk=3"})
	seen := s.until(t, chat.EventDelta, 2)
	_, chatID := chatIDs(t, seen)
	run, ok := h.svc.Lookup(h.alan.ID, chatID)
	if !ok {
		t.Fatalf("Lookup(%s) found no run", chatID)
	}
	waitFor(t, "the relay to hold the reader lease", func() bool { return chat.RelayHoldsLease(run) })
	return s, seen, run
}

// runReaders counts goroutines running a run's reader loop.
func runReaders() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "chat.(*Run).read(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// While its browser is attached, the relay reads the upstream itself: the run has no
// reader goroutine of its own, and the browser still gets every event with ids 1..N.
func TestAttachedRelayReadsUpstreamItself(t *testing.T) {
	h := mustHarness(t)
	s, seen, run := leasedRun(t, h, cozesim.Fault{Times: 1, DeltaDelay: 20 * time.Millisecond})
	if n := runReaders(); n != 0 {
		t.Errorf("reader goroutines while the relay holds the lease = %d, want 0", n)
	}
	evs := append(seen, s.all(t)...)
	for i, ev := range evs {
		if want := i + 1; ev.ID != strconv.Itoa(want) {
			t.Fatalf("event %d id = %q, want %d", i, ev.ID, want)
		}
	}
	if end := endOf(t, evs); end.Status != chat.EndCompleted {
		t.Fatalf("end = %+v, want completed", end)
	}
	<-run.Done()
	if m := h.mustMessage(t, h.alan, run.ChatID()); m.Status != "complete" || m.Content != deltaText(t, evs) {
		t.Errorf("stored = %q %q, want complete with the relayed answer", m.Status, m.Content)
	}
}

// A tab that closes while its relay reads the upstream hands the reading back: the reply
// still finishes, is recorded whole, and a tab that comes back later gets all of it.
func TestClosedTabWhileRelayReadsStillFinishes(t *testing.T) {
	h := mustHarness(t)
	s, seen, run := leasedRun(t, h, cozesim.Fault{Times: 1, DeltaDelay: 20 * time.Millisecond})
	s.resp.Body.Close()

	select {
	case <-run.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("the reply did not finish after its tab closed")
	}
	_, chatID := chatIDs(t, seen)
	again := h.stream(t, h.do(t, t.Context(), http.MethodGet, "/stream/"+chatID, "alan", nil, "0")).all(t)
	if end := endOf(t, again); end.Status != chat.EndCompleted {
		t.Fatalf("end = %+v, want completed", end)
	}
	answer := deltaText(t, again)
	if !strings.HasPrefix(answer, deltaText(t, seen)) || len(answer) <= len(deltaText(t, seen)) {
		t.Errorf("replayed answer %q does not continue what the closed tab saw", answer)
	}
	if m := h.mustMessage(t, h.alan, chatID); m.Status != "complete" || m.Content != answer {
		t.Errorf("stored = %q %q, want complete %q", m.Status, m.Content, answer)
	}
}

// A second tab attached while the first tab's relay reads the upstream sees every event,
// in order, with the same ids as the first.
func TestSecondTabWhileRelayReadsSeesEveryEvent(t *testing.T) {
	h := mustHarness(t)
	s, seen, _ := leasedRun(t, h, cozesim.Fault{Times: 1, DeltaDelay: 20 * time.Millisecond})
	_, chatID := chatIDs(t, seen)
	second := h.stream(t, h.do(t, t.Context(), http.MethodGet, "/stream/"+chatID, "alan", nil, ""))

	first := append(seen, s.all(t)...)
	other := second.all(t)
	if !slices.Equal(first, other) {
		t.Errorf("second tab got %d events, first %d; want the same sequence\nfirst:  %v\nsecond: %v", len(other), len(first), first, other)
	}
	if end := endOf(t, other); end.Status != chat.EndCompleted {
		t.Errorf("end = %+v, want completed", end)
	}
}

// Heartbeats go out while the relay waits in an upstream read, and the idle limit still
// ends the reply (catalog F.46).
func TestHeartbeatWhileRelayWaitsForSilentUpstream(t *testing.T) {
	h := mustHarness(t, func(c *config) {
		c.chat.Heartbeat = 20 * time.Millisecond
		c.chat.IdleTimeout = 400 * time.Millisecond
	})
	h.sim.AddFault(cozesim.Fault{Endpoint: "GET /v3/chat/retrieve", Code: 4200, Msg: "gone"})
	s, seen, _ := leasedRun(t, h, cozesim.Fault{Times: 1, DeltaDelay: 20 * time.Millisecond, SilentAfterEvents: 6})
	wantPingsThenIdleEnd(t, h, s, seen)
}

// Shutdown while a relay waits in an upstream read ends the browser's stream with the
// retry hint and server_shutdown, and the reply, cut at the deadline, is recorded.
func TestShutdownWhileRelayWaitsInRead(t *testing.T) {
	h := mustHarness(t)
	s, seen, _ := leasedRun(t, h, cozesim.Fault{Times: 1, DeltaDelay: 20 * time.Millisecond, SilentAfterEvents: 6})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := h.svc.Shutdown(ctx); err == nil {
		t.Error("Shutdown = nil, want the deadline's error (the upstream stays silent)")
	}
	rest := s.all(t)
	if len(rest) == 0 {
		t.Fatal("the stream ended without an end event")
	}
	last := rest[len(rest)-1]
	if last.Retry != "3000" || last.ID != "" || errorCode(rest) != "server_shutdown" {
		t.Errorf("stream ended with %+v, want retry 3000 + server_shutdown", last)
	}
	_, chatID := chatIDs(t, seen)
	if m := h.mustMessage(t, h.alan, chatID); m.Status != "incomplete" || m.ErrorCode != "server_shutdown" || m.Content == "" {
		t.Errorf("stored = %q %q %q, want the partial reply, incomplete server_shutdown", m.Status, m.ErrorCode, m.Content)
	}
}

// Stop while the relay reads the upstream ends the reply as canceled.
func TestStopWhileRelayReads(t *testing.T) {
	h := mustHarness(t)
	s, seen, run := leasedRun(t, h, cozesim.Fault{Times: 1, DeltaDelay: 20 * time.Millisecond, SilentAfterEvents: 6})
	convID, chatID := chatIDs(t, seen)
	if err := h.svc.Cancel(t.Context(), h.alan, convID, chatID); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if end := endOf(t, s.all(t)); end.Status != chat.EndCanceled {
		t.Errorf("end = %+v, want canceled", end)
	}
	<-run.Done()
	if m := h.mustMessage(t, h.alan, chatID); m.Status != "canceled" {
		t.Errorf("stored = %q, want canceled", m.Status)
	}
}

// A reply Coze ended with chat.completed leaves its upstream connection to the next
// chat: the relay reads Coze's "done" after it, not just up to it.
func TestNextChatReusesTheUpstreamConnection(t *testing.T) {
	h := mustHarness(t)
	for i := range 3 {
		s := h.post(t, t.Context(), "alan", chat.StartRequest{BotID: cozesim.BotAssistant, Message: "hello " + strconv.Itoa(i)})
		evs := s.all(t)
		if end := endOf(t, evs); end.Status != chat.EndCompleted {
			t.Fatalf("chat %d end = %+v, want completed", i, end)
		}
		_, chatID := chatIDs(t, evs)
		<-h.mustRun(t, h.alan, chatID).Done()
	}
	h.stubMu.Lock()
	conns := slices.Clone(h.chatConns)
	h.stubMu.Unlock()
	if len(conns) != 3 || conns[1] != conns[0] || conns[2] != conns[0] {
		t.Errorf("POST /v3/chat came from %v, want one connection for all three", conns)
	}
}
