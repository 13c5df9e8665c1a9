package coze

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func openFor(ctx context.Context, c *Client, kind string) (*Stream, error) {
	switch kind {
	case "workflow":
		return c.StreamWorkflow(ctx, testToken, RunWorkflowRequest{WorkflowID: "1"})
	}
	return c.StreamChat(ctx, testToken, ChatRequest{BotID: "1", UserID: "u"})
}

func readAll(s *Stream) ([]string, error) {
	var names []string
	for {
		e, err := s.Next()
		if err != nil {
			return names, err
		}
		names = append(names, e.Name)
	}
}

func TestStreamFixturesThroughClient(t *testing.T) {
	for _, tt := range sseCases {
		t.Run(tt.fixture, func(t *testing.T) {
			f, c := mustFake(t, Options{})
			f.headers = map[string]string{"X-Tt-Logid": "20241210152726467C48D89D6DB2F37A23"}
			f.answer(200, "text/event-stream; charset=utf-8", mustFixture(t, tt.fixture))
			s, err := openFor(t.Context(), c, tt.stream)
			if tt.names[0] == EventError || tt.names[0] == WorkflowError {
				// A stream that opens with an error is a pre-run failure (coze-protocol E4).
				var ae *APIError
				if s != nil || !errors.As(err, &ae) || ae.Code != tt.wantError || ae.LogID != "20241210152726467C48D89D6DB2F37A23" {
					t.Errorf("open = %v, %v; want *APIError %d with the log id and no stream", s, err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			names, err := readAll(s)
			if !errors.Is(err, io.EOF) {
				t.Errorf("end = %v, want io.EOF", err)
			}
			if diff := cmp.Diff(tt.names, names); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
			if s.LogID() != "20241210152726467C48D89D6DB2F37A23" {
				t.Errorf("LogID = %q", s.LogID())
			}
			if got := f.last(t).Header.Get("Authorization"); got != "Bearer "+string(testToken) {
				t.Errorf("Authorization = %q", got)
			}
		})
	}
}

func TestStreamPreStreamErrors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		ctype    string
		body     string
		wantCode int
		check    func(error) bool
	}{
		{"JSON 4015", 200, "application/json", string(mustFixtureBytes("error_4015_bot_not_published.json")), 4015, IsNotPublished},
		{"JSON 4016", 200, "application/json; charset=utf-8", string(mustFixtureBytes("error_4016_chat_in_progress.json")), 4016, IsConversationBusy},
		{"JSON 4100 with 401", 401, "application/json", `{"code":4100,"msg":"authentication is invalid"}`, 4100, IsTokenInvalid},
		{"Q6 bare JSON on SSE", 200, "text/event-stream", `{"code":4100,"msg":"authentication is invalid"}`, 4100, IsTokenInvalid},
		{"Q6 bare JSON after blank line", 200, "text/event-stream", "\n{\"code\":700012006,\"msg\":\"access token invalid\"}\n", 700012006, IsTokenInvalid},
		{"502 gateway", 502, "text/html", "<html>bad gateway</html>", 0, IsUpstreamUnavailable},
		{"success JSON is still an error", 200, "application/json", `{"code":0,"data":{}}`, 0, func(err error) bool { return err != nil }},
		// coze-protocol E4: a pre-run failure as the stream's first event.
		{"E4 error event first", 200, "text/event-stream", "event:error\ndata:{\"code\":4100,\"msg\":\"authentication is invalid\"}\n\n", 4100, IsTokenInvalid},
		{"E4 error event first, 4015", 200, "text/event-stream; charset=utf-8", "event:error\ndata:{\"code\":4015,\"msg\":\"The bot has not been published to the channel Agent As API.\"}\n\n", 4015, IsNotPublished},
		{"E4 error event first without blank line", 200, "text/event-stream", "event:error\ndata:{\"code\":700012006,\"msg\":\"access token invalid\"}", 700012006, IsTokenInvalid},
		{"E4 error event echoing the token", 200, "text/event-stream", "event:error\ndata:{\"code\":4100,\"msg\":\"token " + string(testToken) + " invalid\"}\n\n", 4100,
			func(err error) bool { return IsTokenInvalid(err) && !strings.Contains(err.Error(), string(testToken)) }},
		// coze-py tests/testdata/chat_error_resp.txt: an error event with empty data.
		{"E4 error event with empty data", 200, "text/event-stream", "event:error\ndata:{}", 0, IsUpstreamUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := fakeAnswering(t, Options{}, tt.status, tt.ctype, []byte(tt.body))
			s, err := c.StreamChat(t.Context(), testToken, ChatRequest{BotID: "1"})
			if s != nil {
				t.Fatal("got a stream for a pre-stream error")
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Code != tt.wantCode || !tt.check(err) {
				t.Errorf("err = %v, want APIError code %d", err, tt.wantCode)
			}
			if f.count() != 1 {
				t.Errorf("requests = %d, want 1 (streams are never retried)", f.count())
			}
		})
	}
}

// sseServer writes events with the given pause, then does what end says.
func sseServer(t *testing.T, events int, pause time.Duration, end string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // lets the server notice a client disconnect
		if end == "stall-headers" {
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for i := range events {
			fmt.Fprintf(w, "event:conversation.message.delta\ndata:{\"id\":\"1\",\"content\":\"%d\"}\n\n", i)
			rc.Flush()
			select {
			case <-time.After(pause):
			case <-r.Context().Done():
				return
			}
		}
		switch end {
		case "cut":
			fmt.Fprint(w, "event:conversation.message.delta\ndata:{\"id\":\"1\",\"con")
		case "forever":
			<-r.Context().Done()
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// gatedServer sends first and flushes it, then sends rest once release is closed.
func gatedServer(t *testing.T, first, rest string) (*httptest.Server, chan struct{}) {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, first)
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, rest)
	}))
	t.Cleanup(srv.Close)
	return srv, release
}

func TestStreamCut(t *testing.T) {
	c := New(Options{APIBase: sseServer(t, 2, 0, "cut").URL})
	s, err := c.StreamChat(t.Context(), testToken, ChatRequest{BotID: "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	names, err := readAll(s)
	if len(names) != 2 || !errors.Is(err, ErrStreamCut) || !IsUpstreamUnavailable(err) {
		t.Errorf("got %d events, err %v; want 2 then ErrStreamCut", len(names), err)
	}
}

func TestStreamHeaderTimeout(t *testing.T) {
	c := New(Options{APIBase: sseServer(t, 0, 0, "stall-headers").URL, StreamHeaderTimeout: 50 * time.Millisecond})
	_, err := c.StreamChat(t.Context(), testToken, ChatRequest{BotID: "1"})
	if !errors.Is(err, ErrStreamTimeout) || !IsUpstreamUnavailable(err) {
		t.Errorf("err = %v, want ErrStreamTimeout", err)
	}
}

func TestStreamIgnoresClientTimeout(t *testing.T) {
	// A caller-supplied client with a short Timeout must not cut a slow stream.
	srv := sseServer(t, 4, 40*time.Millisecond, "")
	c := New(Options{APIBase: srv.URL, HTTPClient: &http.Client{Timeout: 60 * time.Millisecond}})
	s, err := c.StreamChat(t.Context(), testToken, ChatRequest{BotID: "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	names, err := readAll(s)
	if len(names) != 4 || !errors.Is(err, io.EOF) {
		t.Errorf("got %d events, err %v; want 4 then EOF", len(names), err)
	}
}

func TestStreamCloseStopsReading(t *testing.T) {
	c := New(Options{APIBase: sseServer(t, 1, 0, "forever").URL})
	s, err := c.StreamChat(t.Context(), testToken, ChatRequest{BotID: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Next()
		done <- err
	}()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-done; err == nil {
		t.Error("Next after Close returned no error")
	}
	s.Close() // idempotent
}

// The first event is read before the stream is handed out (coze-protocol E4), but nothing
// more: a run whose second event is slow still opens at once, and no event is lost.
func TestStreamOpensOnTheFirstEventAlone(t *testing.T) {
	srv, release := gatedServer(t, "event:conversation.chat.created\ndata:{\"id\":\"1\"}\n\n",
		"event:conversation.chat.completed\ndata:{\"id\":\"1\"}\n\nevent:done\ndata:\"[DONE]\"\n\n")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // only a guard: open must not wait for the rest
	defer cancel()
	s, err := New(Options{APIBase: srv.URL}).StreamChat(ctx, testToken, ChatRequest{BotID: "1"})
	if err != nil {
		t.Fatalf("open waited for more than the first event: %v", err)
	}
	defer s.Close()
	first, err := s.Next()
	if err != nil || first.Name != EventChatCreated {
		t.Fatalf("first event = %s, %v; want the peeked chat.created", first.Name, err)
	}
	close(release)
	names, err := readAll(s)
	if want := []string{EventChatCompleted, EventDone}; !cmp.Equal(names, want) || !errors.Is(err, io.EOF) {
		t.Errorf("rest = %v, %v; want %v then io.EOF", names, err, want)
	}
}

// manualTimer records idle-limit resets; it never fires on its own.
type manualTimer struct{ resets chan struct{} }

func (m *manualTimer) Reset(time.Duration) bool {
	select {
	case m.resets <- struct{}{}:
	default:
	}
	return true
}

func (m *manualTimer) Stop() bool { return true }

// coze-protocol E13: a PING is not returned as an event, but its bytes reset the idle limit.
func TestStreamPingResetsIdleTimer(t *testing.T) {
	srv, release := gatedServer(t, "id: 0\nevent: PING\ndata: {}\n\n",
		"id: 1\nevent: PING\ndata: {}\n\nid: 2\nevent: Message\ndata: {\"content\":\"hi\"}\n\nid: 3\nevent: Done\ndata: {}\n\n")
	c := New(Options{APIBase: srv.URL, WorkflowIdleTimeout: time.Hour})
	timer := &manualTimer{resets: make(chan struct{}, 1)}
	c.afterFunc = func(d time.Duration, _ func()) idleTimer {
		if d != time.Hour {
			t.Errorf("idle limit %s, want WorkflowIdleTimeout", d)
		}
		return timer
	}
	opened := make(chan streamOpen, 1)
	go func() {
		s, err := c.StreamWorkflow(t.Context(), testToken, RunWorkflowRequest{WorkflowID: "1"})
		opened <- streamOpen{s, err}
	}()
	select {
	case <-timer.resets:
	case <-time.After(10 * time.Second): // a guard only: the PING is already sent
		t.Fatal("the PING did not reset the idle timer")
	}
	close(release)
	o := <-opened
	if o.err != nil {
		t.Fatal(o.err)
	}
	defer o.s.Close()
	names, err := readAll(o.s)
	if want := []string{WorkflowMessage, WorkflowDone}; !cmp.Equal(names, want) || !errors.Is(err, io.EOF) {
		t.Errorf("events %v, %v; want %v without the PINGs", names, err, want)
	}
}

type streamOpen struct {
	s   *Stream
	err error
}

func TestIdleOptionDefaults(t *testing.T) {
	tests := []struct {
		chat, workflow         time.Duration
		wantChat, wantWorkflow time.Duration
	}{
		{0, 0, DefaultStreamIdleTimeout, DefaultWorkflowIdleTimeout},
		{time.Second, 2 * time.Second, time.Second, 2 * time.Second},
		{-1, -1, 0, 0}, // none
	}
	for _, tt := range tests {
		c := New(Options{StreamIdleTimeout: tt.chat, WorkflowIdleTimeout: tt.workflow})
		if c.chatIdle != tt.wantChat || c.workflowIdle != tt.wantWorkflow {
			t.Errorf("options %s/%s: idle %s/%s, want %s/%s", tt.chat, tt.workflow, c.chatIdle, c.workflowIdle, tt.wantChat, tt.wantWorkflow)
		}
	}
}

// A stream finished after its last needed event leaves its connection to the next
// request; one closed there does not.
func TestStreamFinishKeepsTheConnection(t *testing.T) {
	// Each response holds Coze's "done" until the test opens its gate, so the client
	// has read chat.completed alone when it finishes or closes.
	gates := make(chan chan struct{}, 3)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		gate := <-gates
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "event:conversation.chat.completed\ndata:{\"id\":\"1\",\"conversation_id\":\"2\",\"status\":\"completed\"}\n\n")
		http.NewResponseController(w).Flush()
		select {
		case <-gate:
			fmt.Fprint(w, "event:done\ndata:\"[DONE]\"\n\n")
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	c := New(Options{APIBase: srv.URL})
	open := func(gate chan struct{}) (*Stream, bool) {
		t.Helper()
		gates <- gate
		var reused bool
		ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
		})
		s, err := c.StreamChat(ctx, testToken, ChatRequest{BotID: "1"})
		if err != nil {
			t.Fatal(err)
		}
		if ev, err := s.Next(); err != nil || ev.Name != EventChatCompleted {
			t.Fatalf("Next = %q, %v; want %s", ev.Name, err, EventChatCompleted)
		}
		return s, reused
	}
	first := make(chan struct{})
	s, _ := open(first)
	close(first)
	s.Finish()

	held := make(chan struct{})
	defer close(held)
	s, reused := open(held)
	if !reused {
		t.Error("the request after a finished stream opened a new connection")
	}
	s.Close() // "done" not read: the connection cannot carry another request
	s, reused = open(make(chan struct{}))
	defer s.Close()
	if reused {
		t.Error("the request after a stream closed early reused its connection")
	}
}
