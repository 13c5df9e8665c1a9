package chat_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// fanInServer serves chat.ServeFanIn for the given columns.
func fanInServer(t *testing.T, h *harness, cols []chat.FanInColumn) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h.svc.ServeFanIn(w, r, cols); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Two replies over one fan-in: every event tagged with its column and its id
// in its own run, the SSE id the vector of both columns; at Shutdown each
// unfinished column gets its own end (interrupted, server_shutdown) after the
// reconnect hint (issue 12, docs/stream-contract.md "Side by side").
func TestFanIn_TaggedThenShutdown(t *testing.T) {
	h := mustHarness(t)
	h.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", DeltaDelay: 20 * time.Millisecond})
	var cols []chat.FanInColumn
	for _, tag := range []string{"x", "y"} {
		run, err := h.svc.Start(t.Context(), h.alan, chat.StartRequest{BotID: cozesim.BotSlow, Message: "story " + tag})
		if err != nil {
			t.Fatal(err)
		}
		if id, end, err := run.WaitChat(t.Context()); err != nil || id == "" || end != nil {
			t.Fatalf("WaitChat = %q, %s, %v; want a chat id", id, end, err)
		}
		cols = append(cols, chat.FanInColumn{Tag: tag, Run: run})
	}
	srv := fanInServer(t, h, cols)
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	s := h.stream(t, resp)
	deltas := map[string]int{}
	for deltas["x"] == 0 || deltas["y"] == 0 {
		ev := s.nextEvent(t)
		var d struct {
			Column string
			ID     int64
			Data   json.RawMessage
		}
		if err := json.Unmarshal([]byte(ev.Data), &d); err != nil || d.ID == 0 || len(d.Data) == 0 {
			t.Fatalf("event %+v: want {column,id,data}", ev)
		}
		if !strings.Contains(ev.ID, "x:") || !strings.Contains(ev.ID, ",y:") {
			t.Fatalf("SSE id %q, want the vector of both columns", ev.ID)
		}
		if ev.Name == chat.EventDelta {
			deltas[d.Column]++
		}
	}
	var wg sync.WaitGroup
	var rest []sseEvent
	wg.Go(func() { rest = s.all(t) })
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_ = h.svc.Shutdown(ctx) // the slow replies outlive the deadline
	wg.Wait()
	ends := map[string]string{}
	for _, ev := range rest {
		if ev.Name != chat.EventEnd {
			continue
		}
		var d struct {
			Column string
			Data   struct{ Status, Code string }
		}
		_ = json.Unmarshal([]byte(ev.Data), &d)
		if ev.ID != "" {
			t.Errorf("relay end of column %s carries id %q, want none", d.Column, ev.ID)
		}
		ends[d.Column] = d.Data.Status + "/" + d.Data.Code
	}
	for _, tag := range []string{"x", "y"} {
		if ends[tag] != "interrupted/server_shutdown" {
			t.Errorf("column %s ended %q, want interrupted/server_shutdown", tag, ends[tag])
		}
	}
}

// A resume position beyond a run's log is refused before anything is written,
// and ParseFanInID reads only tag:N pairs.
func TestFanIn_BadPositions(t *testing.T) {
	h := mustHarness(t)
	run, err := h.svc.Start(t.Context(), h.alan, chat.StartRequest{BotID: cozesim.BotAssistant, Message: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := run.WaitChat(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv := fanInServer(t, h, []chat.FanInColumn{{Tag: "a", Run: run, After: 1 << 40}})
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("After beyond the log: %d, want 400", resp.StatusCode)
	}
	<-run.Done()
	for _, v := range []string{"a", "a:", "a:1,b", ":1", "a:-1", "toolongtag:1", "a:1x"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Last-Event-ID", v)
		if _, err := chat.ParseFanInID(r); err == nil {
			t.Errorf("ParseFanInID(%q) accepted", v)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Last-Event-ID", "a:3,b-2:0")
	if got, err := chat.ParseFanInID(r); err != nil || got["a"] != 3 || got["b-2"] != 0 || len(got) != 2 {
		t.Errorf("ParseFanInID = %v, %v", got, err)
	}
}
