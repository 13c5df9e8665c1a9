package chat_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/store"
	"github.com/coze2app/coze2app/internal/testkit"
)

// harness is one complete chat stack: simulator, coze client, SQLite store, auth and the
// chat service, plus an app server that relays like the web layer does.
type harness struct {
	sim    *cozesim.Sim
	store  *store.Store
	auth   *auth.Auth
	svc    *chat.Service
	app    *httptest.Server
	client *http.Client // for app
	alan   store.User
	bea    store.User

	relaysOpen, relaysClosed, runsEnded atomic.Int64

	stubMu sync.Mutex
	stubs  map[string][]byte // "METHOD /path" => body served instead of the sim's (fixtures)
	// chatConns is the client address of every POST /v3/chat: one per connection.
	chatConns []string
}

type config struct {
	chat    chat.Options
	kit     testkit.Options // simulator and Coze client
	noCheck bool            // skip the goroutine baseline check (benchmarks)
	sndBuf  int             // app server: socket send buffer per connection (0 = default)
}

// smallBufListener shrinks the send buffer of every accepted connection, so a client
// that does not read blocks the server after a few KiB.
type smallBufListener struct {
	net.Listener
	size int
}

func (l smallBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(l.size)
	}
	return c, err
}

// mustHarness builds the stack. Cleanup shuts everything down and then checks that the
// goroutine count returns to its value before the harness was built.
func mustHarness(tb testing.TB, opts ...func(*config)) *harness {
	tb.Helper()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if !cfg.noCheck {
		checkGoroutines(tb)
	}
	h := &harness{}
	// The app server's URL is the redirect URI, so it exists before the world.
	h.app = httptest.NewUnstartedServer(nil)
	if cfg.sndBuf > 0 {
		h.app.Listener = smallBufListener{h.app.Listener, cfg.sndBuf}
	}
	appURL := "http://" + h.app.Listener.Addr().String()
	ko := cfg.kit
	ko.RedirectURIs = []string{appURL + "/callback"}
	ko.SimHandler = func(http.Handler) http.Handler { return http.HandlerFunc(h.upstream) }
	w := testkit.New(tb, ko)
	h.sim, h.store = w.Sim, w.Store
	var err error
	h.auth, err = auth.New(auth.Options{Coze: w.Coze, Store: w.Store, Sealer: w.Sealer})
	if err != nil {
		tb.Fatalf("auth: %v", err)
	}

	o := cfg.chat
	o.Coze, o.Tokens, o.Store = w.Coze, h.auth, w.Store
	o.OnRelayOpen = func() { h.relaysOpen.Add(1) }
	o.OnRelayClose = func() { h.relaysClosed.Add(1) }
	o.OnRunEnd = func(string) { h.runsEnded.Add(1) }
	h.svc = chat.New(o)

	h.app.Config.Handler = h.routes()
	h.app.Start()
	appTr := http.DefaultTransport.(*http.Transport).Clone()
	h.client = &http.Client{Transport: appTr}
	tb.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.svc.Shutdown(sctx); err != nil {
			tb.Errorf("chat shutdown: %v", err)
		}
		appTr.CloseIdleConnections()
		h.app.Close()
		h.auth.Wait()
	})
	// Alan and Bea sign in through auth's real flow.
	h.alan = w.SignedInUser(tb, testkit.Browser(tb), appURL, cozesim.UserAlan)
	h.bea = w.SignedInUser(tb, testkit.Browser(tb), appURL, cozesim.UserBea)
	return h
}

// upstream serves a stubbed body for an endpoint (a recorded Coze stream) or passes the
// request to the simulator.
func (h *harness) upstream(w http.ResponseWriter, r *http.Request) {
	h.stubMu.Lock()
	body, ok := h.stubs[r.Method+" "+r.URL.Path]
	if r.Method == http.MethodPost && r.URL.Path == "/v3/chat" {
		h.chatConns = append(h.chatConns, r.RemoteAddr)
	}
	h.stubMu.Unlock()
	if !ok {
		h.sim.ServeHTTP(w, r)
		return
	}
	if bytes.HasPrefix(body, []byte("event:")) || bytes.HasPrefix(body, []byte("id:")) { // workflow streams start with id
		w.Header().Set("Content-Type", "text/event-stream")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Write(body)
}

// stub makes the upstream answer key ("POST /v3/chat") with body until the test ends.
func (h *harness) stub(key string, body []byte) {
	h.stubMu.Lock()
	defer h.stubMu.Unlock()
	if h.stubs == nil {
		h.stubs = map[string][]byte{}
	}
	h.stubs[key] = body
}

// fixture reads a Coze wire fixture (internal/coze/testdata/fixtures).
func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "coze", "testdata", "fixtures", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// routes mimics the web layer: POST /chat starts and relays, GET /stream/{chat} resumes.
// The user is named by the X-User header ("alan" or "bea").
func (h *harness) routes() http.Handler {
	mux := http.NewServeMux()
	testkit.SignInRoutes(mux, h.auth)
	mux.HandleFunc("POST /chat", func(w http.ResponseWriter, r *http.Request) {
		var req chat.StartRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// As the web layer does: this relay holds the reader lease from the start.
		run, err := h.svc.StartRelayed(r.Context(), h.userOf(r), req)
		h.relay(w, r, run, err)
	})
	mux.HandleFunc("GET /stream/{chat}", func(w http.ResponseWriter, r *http.Request) {
		run, ok := h.svc.Lookup(h.userOf(r).ID, r.PathValue("chat"))
		if !ok {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		after, err := chat.ParseLastEventID(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := h.svc.ServeSSE(w, r, run, after); err != nil {
			if !errors.Is(err, chat.ErrBadEventID) {
				panic("unexpected ServeSSE error: " + err.Error())
			}
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	})
	return mux
}

// relay streams a run that was just started, or answers the error that
// starting it returned (502).
func (h *harness) relay(w http.ResponseWriter, r *http.Request, run *chat.Run, err error) {
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	// As the web layer does: the relay may go on after the handler returned.
	if err := h.svc.Relay(w, r, run, 0, nil); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func (h *harness) userOf(r *http.Request) store.User {
	if r.Header.Get("X-User") == "bea" {
		return h.bea
	}
	return h.alan
}

// sseEvent is one block of the relayed stream; Comment is set for ": ping".
type sseEvent struct {
	ID, Name, Data, Retry, Comment string
}

type sseStream struct {
	resp *http.Response
	br   *bufio.Reader
}

// post starts a chat through the app and returns the open stream (status 200 checked).
func (h *harness) post(tb testing.TB, ctx context.Context, user string, req chat.StartRequest) *sseStream {
	tb.Helper()
	resp := h.do(tb, ctx, http.MethodPost, "/chat", user, req, "")
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tb.Fatalf("POST /chat status = %d, want 200: %s", resp.StatusCode, b)
	}
	return h.stream(tb, resp)
}

func (h *harness) stream(tb testing.TB, resp *http.Response) *sseStream {
	tb.Helper()
	for k, want := range map[string]string{
		"Content-Type":      "text/event-stream; charset=utf-8",
		"Cache-Control":     "no-cache",
		"X-Accel-Buffering": "no",
	} {
		if got := resp.Header.Get(k); got != want {
			tb.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	tb.Cleanup(func() { resp.Body.Close() })
	return &sseStream{resp: resp, br: bufio.NewReader(resp.Body)}
}

func (h *harness) do(tb testing.TB, ctx context.Context, method, path, user string, body any, lastEventID string) *http.Response {
	tb.Helper()
	return h.doAt(tb, ctx, h.app.URL, method, path, user, body, lastEventID)
}

// doAt sends one request as user to the app at base.
func (h *harness) doAt(tb testing.TB, ctx context.Context, base, method, path, user string, body any, lastEventID string) *http.Response {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("X-User", user)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// next returns the next block; io.EOF at the end of the stream.
func (s *sseStream) next() (sseEvent, error) {
	var ev sseEvent
	seen := false
	for {
		line, err := s.br.ReadString('\n')
		if err != nil {
			if err == io.EOF && line == "" && !seen {
				return ev, io.EOF
			}
			return ev, errors.Join(errors.New("stream ended inside an event"), err)
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			if seen {
				return ev, nil
			}
			continue
		}
		seen = true
		if strings.HasPrefix(line, ":") {
			ev.Comment = strings.TrimSpace(line[1:])
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			ev.ID = value
		case "event":
			ev.Name = value
		case "data":
			if ev.Data != "" {
				ev.Data += "\n"
			}
			ev.Data += value
		case "retry":
			ev.Retry = value
		default:
			return ev, errors.New("unexpected field " + field)
		}
	}
}

// nextEvent skips heartbeat comments.
func (s *sseStream) nextEvent(tb testing.TB) sseEvent {
	tb.Helper()
	for {
		ev, err := s.next()
		if err != nil {
			tb.Fatalf("read event: %v", err)
		}
		if ev.Comment == "" || ev.Name != "" {
			return ev
		}
	}
}

// all reads the stream to its end, dropping heartbeat comments.
func (s *sseStream) all(tb testing.TB) []sseEvent {
	tb.Helper()
	var evs []sseEvent
	for {
		ev, err := s.next()
		if err == io.EOF {
			return evs
		}
		if err != nil {
			tb.Fatalf("read stream: %v", err)
		}
		if ev.Comment != "" && ev.Name == "" {
			continue
		}
		evs = append(evs, ev)
	}
}

// until reads events until one named name has been read, returning all of them.
func (s *sseStream) until(tb testing.TB, name string, n int) []sseEvent {
	tb.Helper()
	var evs []sseEvent
	count := 0
	for count < n {
		ev := s.nextEvent(tb)
		evs = append(evs, ev)
		if ev.Name == name {
			count++
		}
	}
	return evs
}

// chatIDs reads the ids from our chat event.
func chatIDs(tb testing.TB, evs []sseEvent) (convID, chatID string) {
	tb.Helper()
	for _, ev := range evs {
		if ev.Name == chat.EventChat {
			var c struct {
				ConversationID string `json:"conversation_id"`
				ChatID         string `json:"chat_id"`
			}
			if err := json.Unmarshal([]byte(ev.Data), &c); err != nil || c.ChatID == "" || c.ConversationID == "" {
				tb.Fatalf("chat event data %s: %v", ev.Data, err)
			}
			return c.ConversationID, c.ChatID
		}
	}
	tb.Fatalf("no %s event among %d events", chat.EventChat, len(evs))
	return "", ""
}

// deltaText concatenates the text of the delta events of evs.
func deltaText(tb testing.TB, evs []sseEvent) string {
	tb.Helper()
	return partText(tb, evs, chat.EventDelta)
}

// partText concatenates the text of the events named name (delta or reasoning).
func partText(tb testing.TB, evs []sseEvent, name string) string {
	tb.Helper()
	var b strings.Builder
	for _, ev := range evs {
		if ev.Name != name {
			continue
		}
		var m struct {
			MessageID string `json:"message_id"`
			Text      string `json:"text"`
		}
		if err := json.Unmarshal([]byte(ev.Data), &m); err != nil || m.MessageID == "" {
			tb.Fatalf("%s data %s: %v", name, ev.Data, err)
		}
		b.WriteString(m.Text)
	}
	return b.String()
}

// saysWhy reports whether an end event tells the person why: our words by catalog
// key (stream.<key>, checked against the catalog by web's TestCatalogSaysEveryStreamEnd)
// or Coze's own message.
func saysWhy(key, message string) bool { return key != "" || message != "" }

// endData is the body of our end event.
type endData struct {
	Status  string      `json:"status"`
	Code    string      `json:"code"`
	Key     string      `json:"key"`
	Message string      `json:"message"`
	LogID   string      `json:"log_id"`
	Usage   *coze.Usage `json:"usage"`
}

// endOf returns the end event, which must be the last of evs.
func endOf(tb testing.TB, evs []sseEvent) endData {
	tb.Helper()
	if len(evs) == 0 || evs[len(evs)-1].Name != chat.EventEnd {
		tb.Fatalf("stream does not end with an end event: %+v", evs)
	}
	var e endData
	if err := json.Unmarshal([]byte(evs[len(evs)-1].Data), &e); err != nil {
		tb.Fatalf("end data: %v", err)
	}
	return e
}

// errorCode returns the code of the final end event ("" when the stream has none).
func errorCode(evs []sseEvent) string {
	if len(evs) == 0 || evs[len(evs)-1].Name != chat.EventEnd {
		return ""
	}
	var e endData
	json.Unmarshal([]byte(evs[len(evs)-1].Data), &e)
	return e.Code
}

// mustRun waits for the run of chatID to be recorded and returns it.
func (h *harness) mustRun(tb testing.TB, user store.User, chatID string) *chat.Run {
	tb.Helper()
	run, ok := h.svc.Lookup(user.ID, chatID)
	if !ok {
		tb.Fatalf("Lookup(%d, %s) found no run", user.ID, chatID)
	}
	select {
	case <-run.Done():
	case <-time.After(15 * time.Second):
		tb.Fatalf("run %s not done", chatID)
	}
	return run
}

// mustMessage returns the stored assistant message of chatID.
func (h *harness) mustMessage(tb testing.TB, user store.User, chatID string) store.Message {
	tb.Helper()
	// The turn's start is written beside the relay, so right after the first
	// events it may still be on its way; wait a bounded time for the row.
	deadline := time.Now().Add(5 * time.Second)
	for {
		m, err := h.store.MessageByChatID(context.Background(), user.ID, chatID)
		if err == nil {
			return m
		}
		if !errors.Is(err, store.ErrNotFound) || time.Now().After(deadline) {
			tb.Fatalf("MessageByChatID(%s): %v", chatID, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkGoroutines registers a cleanup (run last) that waits, bounded, for the goroutine
// count to come back to its value now.
func checkGoroutines(tb testing.TB) {
	tb.Helper()
	base := runtime.NumGoroutine()
	tb.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= base {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				tb.Errorf("goroutines = %d, want <= %d (baseline)\n%s", n, base, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// waitFor polls cond with a bounded wait (testkit.WaitFor).
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	testkit.WaitFor(tb, what, cond)
}

// wantPingsThenIdleEnd reads the rest of a stream whose upstream fell silent: at least
// two heartbeats during the silence, then the upstream_idle end, recorded as incomplete.
// seen are the events read before.
func wantPingsThenIdleEnd(t *testing.T, h *harness, s *sseStream, seen []sseEvent) {
	t.Helper()
	pings := 0
	evs := seen
	for {
		ev, err := s.next()
		if err != nil {
			break
		}
		if ev.Comment == "ping" && ev.Name == "" {
			pings++
			continue
		}
		evs = append(evs, ev)
	}
	if pings < 2 {
		t.Errorf("pings = %d, want >= 2 during the silence", pings)
	}
	if code := errorCode(evs); code != "upstream_idle" {
		t.Fatalf("error = %q, want upstream_idle", code)
	}
	_, chatID := chatIDs(t, evs)
	h.mustRun(t, h.alan, chatID)
	if m := h.mustMessage(t, h.alan, chatID); m.Status != "incomplete" || m.ErrorCode != "upstream_idle" {
		t.Errorf("stored = %q %q, want incomplete upstream_idle", m.Status, m.ErrorCode)
	}
}
