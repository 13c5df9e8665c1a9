package chat_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/auth"
	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/store"
	"github.com/coze2app/coze2app/internal/store/storetest"
	"github.com/coze2app/coze2app/internal/testkit"
)

// mustCluster builds two instances, A and B, of the chat stack on one PostgreSQL schema
// (skipped without PostgreSQL, fatal under CI=true), each with its own store, bus, auth,
// service (options set by opts, if any) and app server, before one simulator (the kit's
// world). Alan and Bea sign in on A through auth's real flow; B knows them from the
// shared database.
func mustCluster(t *testing.T, opts ...func(*chat.Options)) (a, b *harness) {
	t.Helper()
	checkGoroutines(t)
	// The app servers' URLs are redirect URIs, so they exist before the world.
	srvA, srvB := httptest.NewUnstartedServer(nil), httptest.NewUnstartedServer(nil)
	urlOf := func(s *httptest.Server) string { return "http://" + s.Listener.Addr().String() }
	w := testkit.New(t, testkit.Options{Backend: "postgres",
		RedirectURIs: []string{urlOf(srvA) + "/callback", urlOf(srvB) + "/callback"}})
	instance := func(srv *httptest.Server) *harness {
		st := storetest.MustOpen(t, w.DBURL)
		bus, err := st.OpenBus(t.Context(), func(err error) { t.Logf("bus: %v", err) })
		if err != nil {
			t.Fatalf("open bus: %v", err)
		}
		h := &harness{sim: w.Sim, store: st, app: srv}
		if h.auth, err = auth.New(auth.Options{Coze: w.Coze, Store: st, Sealer: w.Sealer}); err != nil {
			t.Fatal(err)
		}
		o := chat.Options{Coze: w.Coze, Tokens: h.auth, Store: st, Bus: bus,
			OnRunEnd: func(string) { h.runsEnded.Add(1) }}
		for _, f := range opts {
			f(&o)
		}
		h.svc = chat.New(o)
		srv.Config.Handler = h.routes()
		srv.Start()
		appTr := http.DefaultTransport.(*http.Transport).Clone()
		h.client = &http.Client{Transport: appTr}
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := h.svc.Shutdown(sctx); err != nil {
				t.Errorf("chat shutdown: %v", err)
			}
			appTr.CloseIdleConnections()
			srv.Close()
			h.auth.Wait()
			bus.Close()
		})
		return h
	}
	a, b = instance(srvA), instance(srvB)
	a.alan = w.SignedInUser(t, testkit.Browser(t), urlOf(srvA), cozesim.UserAlan)
	a.bea = w.SignedInUser(t, testkit.Browser(t), urlOf(srvA), cozesim.UserBea)
	b.alan, b.bea = a.alan, a.bea
	return a, b
}

// resumeOn opens GET /stream/{chat} on h after lastID and checks it is a stream.
func (h *harness) resumeOn(t *testing.T, user, chatID, lastID string) *sseStream {
	t.Helper()
	resp := h.do(t, t.Context(), http.MethodGet, "/stream/"+chatID, user, nil, lastID)
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("resume on the other instance: status %d, want 200", resp.StatusCode)
	}
	return h.stream(t, resp)
}

// checkIDs fails unless evs carry the ids 1, 2, 3… in order, each once.
func checkIDs(t *testing.T, evs []sseEvent) {
	t.Helper()
	for i, ev := range evs {
		if ev.ID != strconv.Itoa(i+1) {
			t.Fatalf("event %d (%s) has id %q, want %d: an event lost or repeated", i, ev.Name, ev.ID, i+1)
		}
	}
}

// A reply started on A is followed on B: from the start, and after a Last-Event-ID A's
// relay sent, every event once, in order, to the same end; B's view is the reply as
// recorded. Another user finds nothing on B.
func TestClusterResumeOnOtherInstance(t *testing.T) {
	a, b := mustCluster(t)
	a.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", Times: 1, DeltaDelay: 3 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	s := a.post(t, ctx, "alan", chat.StartRequest{BotID: cozesim.BotAssistant, Message: "cross instance chunk=2"})
	seen := s.until(t, chat.EventDelta, 5)
	_, chatID := chatIDs(t, seen)
	cancel() // the browser's connection to A drops

	rest := b.resumeOn(t, "alan", chatID, seen[len(seen)-1].ID).all(t)
	whole := append(seen, rest...)
	checkIDs(t, whole)
	if e := endOf(t, whole); e.Status != chat.EndCompleted {
		t.Fatalf("reply through B ended %+v, want completed", e)
	}
	fromStart := b.resumeOn(t, "alan", chatID, "").all(t)
	checkIDs(t, fromStart)
	if len(fromStart) != len(whole) {
		t.Errorf("B from the start: %d events, want %d", len(fromStart), len(whole))
	}
	m := a.mustRun(t, a.alan, chatID)
	if got, want := deltaText(t, whole), m.Result().Answer; got != want || got == "" {
		t.Errorf("text through B = %q, want the recorded answer %q", got, want)
	}

	resp := b.do(t, t.Context(), http.MethodGet, "/stream/"+chatID, "bea", nil, "")
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("Bea resumes Alan's reply on B: %d, want 404", resp.StatusCode)
	}
}

// Stop on B ends a reply running on A: A closes its stream and records it canceled, and
// the relays on both instances end with the same canceled end.
func TestClusterStopOnOtherInstance(t *testing.T) {
	a, b := mustCluster(t)
	a.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", Times: 1, SilentAfterEvents: 4})
	s := a.post(t, t.Context(), "alan", chat.StartRequest{BotID: cozesim.BotAssistant, Message: "stop me chunk=3"})
	seen := s.until(t, chat.EventDelta, 1)
	convID, chatID := chatIDs(t, seen)
	onB := b.resumeOn(t, "alan", chatID, "")
	onB.until(t, chat.EventDelta, 1)

	if err := b.svc.Cancel(t.Context(), b.bea, convID, chatID); err != chat.ErrNotFound {
		t.Errorf("Bea stops Alan's reply on B: %v, want ErrNotFound", err)
	}
	if err := b.svc.Cancel(t.Context(), b.alan, convID, chatID); err != nil {
		t.Fatalf("Stop on B: %v", err)
	}
	for name, evs := range map[string][]sseEvent{"A": append(seen, s.all(t)...), "B": onB.all(t)} {
		if e := endOf(t, evs); e.Status != chat.EndCanceled || evs[len(evs)-1].ID == "" {
			t.Errorf("relay on %s ended %+v (id %q), want the reply's end canceled", name, e, evs[len(evs)-1].ID)
		}
	}
	if st, code := a.mustRun(t, a.alan, chatID).Status(); st != store.StatusCanceled || code != "canceled" {
		t.Errorf("recorded %s %s, want canceled", st, code)
	}
}

// Rolling restart: A shuts down mid-reply; its relay ends with the retry hint, the browser
// reconnects to B and receives the rest while A, draining, still reads the reply from
// Coze; the history holds the whole answer.
func TestClusterShutdownHandsOver(t *testing.T) {
	a, b := mustCluster(t)
	a.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", Times: 1, DeltaDelay: 5 * time.Millisecond})
	s := a.post(t, t.Context(), "alan", chat.StartRequest{BotID: cozesim.BotAssistant, Message: "restart chunk=2"})
	seen := s.until(t, chat.EventDelta, 3)
	_, chatID := chatIDs(t, seen)

	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		shut <- a.svc.Shutdown(ctx)
	}()
	for _, ev := range s.all(t) {
		if ev.ID != "" {
			seen = append(seen, ev)
			continue
		}
		if ev.Retry != "3000" || errorCode([]sseEvent{ev}) != "server_shutdown" {
			t.Fatalf("A's relay ended with %+v, want retry 3000 and server_shutdown", ev)
		}
	}
	whole := append(seen, b.resumeOn(t, "alan", chatID, seen[len(seen)-1].ID).all(t)...)
	checkIDs(t, whole)
	if e := endOf(t, whole); e.Status != chat.EndCompleted {
		t.Fatalf("reply through B ended %+v, want completed", e)
	}
	if err := <-shut; err != nil {
		t.Errorf("A's shutdown: %v", err)
	}
	m := b.mustMessage(t, b.alan, chatID)
	if m.Status != store.StatusComplete || m.Content != deltaText(t, whole) {
		t.Errorf("history %s %q, want complete with the streamed text %q", m.Status, m.Content, deltaText(t, whole))
	}
}

// A relay from reply_events never invents events: at a gap (events the owner could not
// write, or already deleted) and when the owner stays silent past its own idle limit (it
// died), it ends with an end of its own, without an id, code resume_unavailable.
func TestClusterRelayWithoutOwner(t *testing.T) {
	_, b := mustCluster(t, func(o *chat.Options) { o.IdleTimeout, o.Heartbeat = 100*time.Millisecond, 20*time.Millisecond })
	ev := func(id int64, name, data string) store.ReplyEvent {
		return store.ReplyEvent{ID: id, Name: name, Data: []byte(data)}
	}
	for _, tt := range []struct {
		name, chatID string
		ids          []int64
		wantIDs      []string
	}{
		{"gap", "7400000000000000001", []int64{2, 4}, []string{"1", "2"}},
		{"owner gone", "7400000000000000002", []int64{2, 3}, []string{"1", "2", "3"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rows := []store.ReplyEvent{ev(1, chat.EventChat, `{"conversation_id":"7300000000000000001","chat_id":"`+tt.chatID+`"}`)}
			for _, id := range tt.ids {
				rows = append(rows, ev(id, chat.EventDelta, `{"message_id":"1","text":"x"}`))
			}
			if err := b.store.AppendReplyEvents(t.Context(), "chat:"+tt.chatID, b.alan.ID, rows); err != nil {
				t.Fatal(err)
			}
			evs := b.resumeOn(t, "alan", tt.chatID, "").all(t)
			var ids []string
			for _, ev := range evs[:len(evs)-1] {
				ids = append(ids, ev.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tt.wantIDs, ",") || evs[len(evs)-1].ID != "" || errorCode(evs) != "resume_unavailable" {
				t.Errorf("relay sent ids %v then %+v, want %v then an end without id, resume_unavailable", ids, evs[len(evs)-1], tt.wantIDs)
			}
		})
	}
}

// A workflow run on A is followed on B from the start and after a Last-Event-ID, and
// stopped on B: A closes its stream and every relay ends canceled; B then reports the
// run's end status. Another user neither finds nor stops it.
func TestClusterWorkflowOnOtherInstance(t *testing.T) {
	a, b := mustCluster(t)
	appA, appB := a.wfApp(t), b.wfApp(t)
	a.sim.AddFault(cozesim.Fault{Endpoint: "POST /v1/workflow/stream_run", SilentAfterEvents: 1})
	st := a.wfOpen(t, t.Context(), appA, http.MethodPost, "/run/"+cozesim.WorkflowJoke, "alan", chat.WorkflowStart{}, "")
	head := st.until(t, chat.EventOutput, 1)
	runID := readWorkflowHead(t, head)

	fromStart := b.wfOpen(t, t.Context(), appB, http.MethodGet, "/runs/"+runID+"/stream", "alan", nil, "")
	headB := fromStart.until(t, chat.EventOutput, 1)
	after := b.wfOpen(t, t.Context(), appB, http.MethodGet, "/runs/"+runID+"/stream", "alan", nil, head[len(head)-1].ID)
	if _, ok := b.svc.LookupWorkflow(b.bea.ID, runID); ok {
		t.Error("Bea finds Alan's run on B")
	}
	if err := b.svc.CancelWorkflow(t.Context(), b.bea, runID); err != chat.ErrNotFound {
		t.Errorf("Bea stops Alan's run on B: %v, want ErrNotFound", err)
	}
	if err := b.svc.CancelWorkflow(t.Context(), b.alan, runID); err != nil {
		t.Fatalf("Stop on B: %v", err)
	}
	for name, evs := range map[string][]sseEvent{"A": append(head, st.all(t)...), "B": append(headB, fromStart.all(t)...)} {
		checkIDs(t, evs)
		if got := readWorkflow(t, evs); got.end.Status != chat.EndCanceled {
			t.Errorf("relay on %s ended %+v, want canceled", name, got.end)
		}
	}
	if rest := after.all(t); len(rest) != 1 || rest[0].Name != chat.EventEnd || rest[0].ID != strconv.Itoa(len(head)+1) {
		t.Errorf("B after %s sent %+v, want only the end", head[len(head)-1].ID, rest)
	}
	if run, ok := b.svc.LookupWorkflow(b.alan.ID, runID); !ok {
		t.Error("B no longer finds the stopped run")
	} else if st := run.EndStatus(); st != chat.EndCanceled {
		t.Errorf("B's view of the stopped run: end status %q, want canceled", st)
	}
}

// Stop on B for a reply whose owner is gone (its events stop short of the end, and no
// instance answers the stop) records the stop itself once the owner had its chance.
func TestClusterStopWithoutOwner(t *testing.T) {
	a, b := mustCluster(t)
	evs := a.post(t, t.Context(), "alan", chat.StartRequest{BotID: cozesim.BotAssistant, Message: "hi"}).all(t)
	convID, chatID := chatIDs(t, evs)
	a.mustRun(t, a.alan, chatID)
	waitFor(t, "the end written", func() bool {
		_, last, err := b.store.ReplyEventBounds(t.Context(), "chat:"+chatID, b.alan.ID)
		return err == nil && last.Name == chat.EventEnd
	})
	// What a crash leaves: no end event, the reply still streaming in the history.
	if _, err := b.store.DB().ExecContext(t.Context(), `DELETE FROM reply_events WHERE chat_key = $1 AND name = 'end'`, "chat:"+chatID); err != nil {
		t.Fatal(err)
	}
	m := b.mustMessage(t, b.alan, chatID)
	m.Status, m.ErrorCode = store.StatusStreaming, ""
	if err := b.store.UpdateMessage(t.Context(), m); err != nil {
		t.Fatal(err)
	}

	if err := b.svc.Cancel(t.Context(), b.alan, convID, chatID); err != nil {
		t.Fatalf("Stop on B: %v", err)
	}
	if m := b.mustMessage(t, b.alan, chatID); m.Status != store.StatusCanceled || m.ErrorCode != "canceled" {
		t.Errorf("history after Stop: %s %s, want canceled", m.Status, m.ErrorCode)
	}
}
