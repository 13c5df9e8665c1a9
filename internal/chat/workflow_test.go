package chat_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// wfApp serves workflow runs the way the web layer does: POST /run/{id} and
// POST /resume/{id} start and relay, GET /runs/{run}/stream resumes. The user is
// named by X-User as in the chat harness.
func (h *harness) wfApp(tb testing.TB) *httptest.Server {
	tb.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /run/{id}", func(w http.ResponseWriter, r *http.Request) {
		var req chat.WorkflowStart
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req.WorkflowID = r.PathValue("id")
		run, err := h.svc.StartWorkflow(r.Context(), h.userOf(r), req)
		h.relay(w, r, run, err)
	})
	mux.HandleFunc("POST /resume/{id}", func(w http.ResponseWriter, r *http.Request) {
		var req chat.WorkflowAnswer
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req.WorkflowID = r.PathValue("id")
		run, err := h.svc.ResumeWorkflow(r.Context(), h.userOf(r), req)
		h.relay(w, r, run, err)
	})
	mux.HandleFunc("GET /runs/{run}/stream", func(w http.ResponseWriter, r *http.Request) {
		run, ok := h.svc.LookupWorkflow(h.userOf(r).ID, r.PathValue("run"))
		if !ok {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		after, err := chat.ParseLastEventID(r)
		if err == nil {
			err = h.svc.ServeSSE(w, r, run, after)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	})
	srv := httptest.NewServer(mux)
	tb.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv
}

// wfOpen sends one request to the workflow app and returns the open stream.
func (h *harness) wfOpen(tb testing.TB, ctx context.Context, app *httptest.Server, method, path, user string, body any, lastEventID string) *sseStream {
	tb.Helper()
	resp := h.doAt(tb, ctx, app.URL, method, path, user, body, lastEventID)
	if resp.StatusCode != http.StatusOK {
		b := make([]byte, 512)
		n, _ := resp.Body.Read(b)
		resp.Body.Close()
		tb.Fatalf("%s %s: status %d: %s", method, path, resp.StatusCode, b[:n])
	}
	return h.stream(tb, resp)
}

// wfEnd is the data of a workflow run's end event.
type wfEnd struct {
	Status   string `json:"status"`
	Code     string `json:"code"`
	Key      string `json:"key"`
	Message  string `json:"message"`
	Output   string `json:"output"`
	DebugURL string `json:"debug_url"`
}

// wfQuestion is the data of a question event.
type wfQuestion struct {
	EventID       string   `json:"event_id"`
	InterruptType int      `json:"interrupt_type"`
	NodeTitle     string   `json:"node_title"`
	Text          string   `json:"text"`
	Options       []string `json:"options"`
}

// wfRead is a whole workflow stream, decoded.
type wfRead struct {
	runID    string
	outputs  map[int]string // node number => joined text
	titles   map[int]string
	nodes    []int // node numbers in order of first appearance
	question *wfQuestion
	end      wfEnd
	names    []string
}

// readWorkflow checks the shape every workflow stream has — ids 1, 2, 3…, run first,
// end last and once — and decodes it.
func readWorkflow(tb testing.TB, evs []sseEvent) wfRead {
	tb.Helper()
	out := wfRead{outputs: map[int]string{}, titles: map[int]string{}}
	for i, ev := range evs {
		out.names = append(out.names, ev.Name)
		if ev.ID != strconv.Itoa(i+1) {
			tb.Fatalf("event %d (%s) has id %q, want %d", i, ev.Name, ev.ID, i+1)
		}
		switch ev.Name {
		case chat.EventRun:
			var r struct {
				RunID      string `json:"run_id"`
				WorkflowID string `json:"workflow_id"`
			}
			if i != 0 || json.Unmarshal([]byte(ev.Data), &r) != nil || !chat.ValidRunID(r.RunID) || r.WorkflowID == "" {
				tb.Fatalf("run event %d: %s", i, ev.Data)
			}
			out.runID = r.RunID
		case chat.EventOutput:
			var p struct {
				Node      int    `json:"node"`
				NodeTitle string `json:"node_title"`
				Text      string `json:"text"`
				Finished  bool   `json:"finished"`
			}
			if err := json.Unmarshal([]byte(ev.Data), &p); err != nil || p.Node <= 0 {
				tb.Fatalf("output data %s: %v", ev.Data, err)
			}
			if _, seen := out.outputs[p.Node]; !seen {
				out.nodes = append(out.nodes, p.Node)
				out.titles[p.Node] = p.NodeTitle
			}
			out.outputs[p.Node] += p.Text
		case chat.EventQuestion:
			var q wfQuestion
			if err := json.Unmarshal([]byte(ev.Data), &q); err != nil || out.question != nil {
				tb.Fatalf("question data %s: %v (second: %v)", ev.Data, err, out.question != nil)
			}
			out.question = &q
		case chat.EventEnd:
			if i != len(evs)-1 {
				tb.Fatalf("end is event %d of %d", i, len(evs))
			}
			if err := json.Unmarshal([]byte(ev.Data), &out.end); err != nil {
				tb.Fatalf("end data %s: %v", ev.Data, err)
			}
		default:
			tb.Fatalf("event %q is not one of ours: %s", ev.Name, ev.Data)
		}
	}
	if len(evs) < 2 || out.runID == "" || evs[len(evs)-1].Name != chat.EventEnd {
		tb.Fatalf("stream %v does not run from run to end", out.names)
	}
	return out
}

// runWorkflow runs req through the app to its end.
func (h *harness) runWorkflow(tb testing.TB, app *httptest.Server, user string, req chat.WorkflowStart) wfRead {
	tb.Helper()
	return readWorkflow(tb, h.wfOpen(tb, tb.Context(), app, http.MethodPost, "/run/"+req.WorkflowID, user, req, "").all(tb))
}

// Coze's recorded workflow streams read as our events: pieces grouped by node, the end
// node's result as the end's output, the question of an Interrupt with what is needed to
// answer it (coze-protocol §17.2; fixtures from coze-py tests/testdata).
func TestWorkflow_FixturesTranslate(t *testing.T) {
	h := mustHarness(t)
	app := h.wfApp(t)

	h.stub("POST /v1/workflow/stream_run", fixture(t, "workflow_stream_message.sse"))
	got := h.runWorkflow(t, app, "alan", chat.WorkflowStart{WorkflowID: cozesim.WorkflowJoke})
	joke := "为什么小明要带一把尺子去看电影？\n因为他听说电影很长，怕坐不下！"
	if len(got.nodes) != 2 || got.outputs[1] != "msg"+joke || got.titles[1] != "Message" {
		t.Errorf("outputs %v %v, want the Message node's five pieces as node 1", got.nodes, got.outputs)
	}
	wantOut := `{"output":"` + strings.ReplaceAll(joke, "\n", `\n`) + `"}`
	if got.outputs[2] != wantOut || got.titles[2] != "" {
		t.Errorf("node 2 = %q (%q), want the end node's result %q", got.outputs[2], got.titles[2], wantOut)
	}
	if got.end.Status != chat.EndCompleted || got.end.Output != wantOut || got.end.Code != "" ||
		!strings.HasPrefix(got.end.DebugURL, "https://www.coze.cn/work_flow?execute_id=7413647890307281234") {
		t.Errorf("end = %+v, want completed with the end node's output and Done's debug_url", got.end)
	}

	h.stub("POST /v1/workflow/stream_run", fixture(t, "workflow_stream_interrupt.sse"))
	got = h.runWorkflow(t, app, "alan", chat.WorkflowStart{WorkflowID: cozesim.WorkflowAsk})
	wantQ := wfQuestion{EventID: "7404830425073352713/2769808280134765896", InterruptType: 2, NodeTitle: "问答",
		Text: "请问你想查看哪个城市、哪一天的天气呢", Options: []string{}}
	if got.question == nil || !equalQuestion(*got.question, wantQ) {
		t.Errorf("question = %+v, want %+v", got.question, wantQ)
	}
	if got.outputs[1] != wantQ.Text || got.end.Status != chat.EndCompleted || got.end.Output != "" {
		t.Errorf("events %v, end %+v: want the question node's output, the question and a completed end without output", got.names, got.end)
	}

	// An Error as the first event is a failure before the run (coze-protocol E4).
	h.stub("POST /v1/workflow/stream_run", fixture(t, "workflow_stream_error.sse"))
	run, err := h.svc.StartWorkflow(t.Context(), h.alan, chat.WorkflowStart{WorkflowID: cozesim.WorkflowJoke})
	var ae *coze.APIError
	if run != nil || !errors.As(err, &ae) || ae.Code != 4000 {
		t.Errorf("StartWorkflow = %v, %v; want *coze.APIError 4000 before any run", run, err)
	}
}

func equalQuestion(a, b wfQuestion) bool {
	return a.EventID == b.EventID && a.InterruptType == b.InterruptType && a.NodeTitle == b.NodeTitle &&
		a.Text == b.Text && strings.Join(a.Options, "\x00") == strings.Join(b.Options, "\x00") && (a.Options == nil) == (b.Options == nil)
}

// A chatflow answers with the chat stream (coze-protocol §17.6): it reads as a chat, the
// verbose generate_answer_finish left out and done's debug_url not needed.
func TestWorkflow_ChatflowFixtureReadsAsAChat(t *testing.T) {
	h := mustHarness(t)
	h.stub("POST /v3/chat", fixture(t, "chatflow_stream_example.sse"))
	evs := h.post(t, t.Context(), "alan", chat.StartRequest{BotID: cozesim.BotAssistant, Message: "how are you"}).all(t)
	if got := deltaText(t, evs); got != "I'm fine, thank you. How about you?" {
		t.Errorf("answer = %q", got)
	}
	if end := endOf(t, evs); end.Status != chat.EndCompleted || end.Usage == nil || end.Usage.TokenCount != 32 {
		t.Errorf("end = %+v, want completed with the chat's usage", end)
	}
}

// Coze Studio's question node sends its question, with the options of a choice question,
// as JSON history in interrupt_data.data (coze-studio backend/domain/workflow/internal/
// nodes/qa/question_answer.go generateHistory); an interrupt that needs a local plugin or
// an authorization cannot be answered here.
func TestWorkflow_InterruptKinds(t *testing.T) {
	h := mustHarness(t)
	app := h.wfApp(t)
	history := `{"messages":[{"type":"question","content_type":"option","content":{"options":[{"name":"Hangzhou"},{"name":"Beijing"}],"question":"Which city?"},"id":"n_0"}]}`
	data, _ := json.Marshal(map[string]any{"interrupt_data": map[string]any{"event_id": "11/22", "type": 2, "data": history}, "node_title": "ask"})
	tests := []struct {
		name     string
		stream   string
		question *wfQuestion
		end      wfEnd
	}{
		{"choice question from data", "id: 0\nevent: Interrupt\ndata: " + string(data) + "\n\n",
			&wfQuestion{EventID: "11/22", InterruptType: 2, NodeTitle: "ask", Text: "Which city?", Options: []string{"Hangzhou", "Beijing"}},
			wfEnd{Status: chat.EndCompleted}},
		{"input node, type as a string", "id: 0\nevent: Interrupt\ndata: {\"interrupt_data\":{\"event_id\":\"3/4\",\"type\":\"5\",\"data\":\"Your name?\"},\"node_title\":\"input\"}\n\n",
			&wfQuestion{EventID: "3/4", InterruptType: 5, NodeTitle: "input", Text: "Your name?", Options: []string{}},
			wfEnd{Status: chat.EndCompleted}},
		{"oauth plugin", "id: 0\nevent: Interrupt\ndata: {\"interrupt_data\":{\"event_id\":\"5/6\",\"type\":7,\"data\":\"\"},\"node_title\":\"plugin\"}\n\n",
			nil, wfEnd{Status: chat.EndFailed, Code: "requires_action"}},
		{"interrupt without event id", "id: 0\nevent: Interrupt\ndata: {\"interrupt_data\":{\"type\":2}}\n\n",
			nil, wfEnd{Status: chat.EndInterrupted, Code: "upstream_malformed"}},
		{"undecodable message", "id: 0\nevent: Message\ndata: {\"content\":\n\n",
			nil, wfEnd{Status: chat.EndInterrupted, Code: "upstream_malformed"}},
		{"no Done", "id: 0\nevent: Message\ndata: {\"content\":\"half\",\"node_title\":\"n\",\"node_is_finish\":false}\n\n",
			nil, wfEnd{Status: chat.EndInterrupted, Code: "incomplete"}},
		{"Done with an unsafe debug_url", "id: 0\nevent: Done\ndata: {\"debug_url\":\"javascript:alert(1)\"}\n\n",
			nil, wfEnd{Status: chat.EndCompleted}},
		{"Done with a debug_url on another host", "id: 0\nevent: Done\ndata: {\"debug_url\":\"//evil.example/x\"}\n\n",
			nil, wfEnd{Status: chat.EndCompleted}},
		{"Done with a debug_url path", "id: 0\nevent: Done\ndata: {\"debug_url\":\"/work_flow?execute_id=1\"}\n\n",
			nil, wfEnd{Status: chat.EndCompleted, DebugURL: "/work_flow?execute_id=1"}}, // on the client's www host
		{"coze studio's plain-text error", "id: 0\nevent: Message\ndata: {\"content\":\"x\",\"node_title\":\"n\",\"node_is_finish\":true}\n\nevent: error\ndata: internal failure\n\n",
			nil, wfEnd{Status: chat.EndFailed, Code: "coze_error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.stub("POST /v1/workflow/stream_run", []byte(tt.stream))
			got := h.runWorkflow(t, app, "alan", chat.WorkflowStart{WorkflowID: cozesim.WorkflowJoke})
			if (got.question == nil) != (tt.question == nil) || (tt.question != nil && !equalQuestion(*got.question, *tt.question)) {
				t.Errorf("question = %+v, want %+v", got.question, tt.question)
			}
			debugOK := got.end.DebugURL == tt.end.DebugURL
			if strings.HasPrefix(tt.end.DebugURL, "/") {
				debugOK = got.end.DebugURL == "http://"+h.sim.Requests()[0].Host+tt.end.DebugURL
			}
			if got.end.Status != tt.end.Status || got.end.Code != tt.end.Code || !debugOK || got.end.Output != "" {
				t.Errorf("end = %+v, want %+v", got.end, tt.end)
			}
			if tt.end.Status != chat.EndCompleted && !saysWhy(got.end.Key, got.end.Message) {
				t.Errorf("end %+v does not say why", got.end)
			}
		})
	}
}

// The simulator's demo workflows through the whole stack: a run with inputs, a question
// answered by a resume (a new run of its own), a joke with its default topic, a workflow
// inside a Coze app (run with its app_id, refused with a bot_id before any run) and an
// unpublished one (4200 before any run).
func TestWorkflow_SimulatorRuns(t *testing.T) {
	h := mustHarness(t, func(c *config) { c.kit.Sim = func(o *cozesim.Options) { o.PublicBase = "https://coze.example" } }) // absolute debug_url, as Coze's
	app := h.wfApp(t)

	got := h.runWorkflow(t, app, "alan", chat.WorkflowStart{WorkflowID: cozesim.WorkflowWeather, Parameters: map[string]any{"city": "杭州"}})
	if !strings.Contains(got.outputs[1], "Weather in 杭州") || got.end.Status != chat.EndCompleted ||
		!strings.Contains(got.end.Output, "Weather in 杭州") || !strings.Contains(got.end.DebugURL, "execute_id=") {
		t.Errorf("weather: outputs %v, end %+v", got.outputs, got.end)
	}

	ask := h.runWorkflow(t, app, "alan", chat.WorkflowStart{WorkflowID: cozesim.WorkflowAsk})
	if ask.question == nil || ask.question.InterruptType != 2 || !strings.Contains(ask.question.Text, "Which city") || ask.end.Status != chat.EndCompleted {
		t.Fatalf("ask: question %+v, end %+v", ask.question, ask.end)
	}
	answer := chat.WorkflowAnswer{EventID: ask.question.EventID, InterruptType: ask.question.InterruptType, ResumeData: "Shanghai, 2026-12-01"}
	rest := readWorkflow(t, h.wfOpen(t, t.Context(), app, http.MethodPost, "/resume/"+cozesim.WorkflowAsk, "alan", answer, "").all(t))
	if rest.runID == ask.runID || rest.end.Status != chat.EndCompleted || !strings.Contains(rest.end.Output, "Weather in Shanghai on 2026-12-01") {
		t.Errorf("resumed run %s (asked in %s): end %+v", rest.runID, ask.runID, rest.end)
	}

	joke := h.runWorkflow(t, app, "alan", chat.WorkflowStart{WorkflowID: cozesim.WorkflowJoke})
	if !strings.Contains(joke.end.Output, "topic: movies") || len(joke.nodes) != 2 {
		t.Errorf("joke: nodes %v, end %+v", joke.nodes, joke.end)
	}

	h.sim.ResetCalls()
	inApp := h.runWorkflow(t, app, "alan", chat.WorkflowStart{WorkflowID: cozesim.WorkflowInApp, Parameters: map[string]any{"name": "Ming"}})
	if !strings.Contains(inApp.end.Output, "Ming") {
		t.Errorf("app workflow: end %+v", inApp.end)
	}
	for _, rq := range h.sim.Requests() {
		if rq.Path == "/v1/workflow/stream_run" && !strings.Contains(string(rq.Body), `"app_id":"`+cozesim.DemoAppID+`"`) {
			t.Errorf("stream_run body %s lacks the app's app_id", rq.Body)
		}
	}
	h.sim.ResetCalls()
	run, err := h.svc.StartWorkflow(t.Context(), h.alan, chat.WorkflowStart{WorkflowID: cozesim.WorkflowInApp, BotID: cozesim.BotAssistant})
	if run != nil || !errors.Is(err, coze.ErrAppAndBot) || h.sim.Calls("POST /v1/workflow/stream_run") != 0 {
		t.Errorf("app workflow with a bot: %v, %v (%d runs); want coze.ErrAppAndBot before any run", run, err, h.sim.Calls("POST /v1/workflow/stream_run"))
	}

	run, err = h.svc.StartWorkflow(t.Context(), h.alan, chat.WorkflowStart{WorkflowID: cozesim.WorkflowDraft})
	if run != nil || !coze.IsNotFound(err) {
		t.Errorf("draft workflow: %v, %v; want 4200 before any run", run, err)
	}
	for _, req := range []chat.WorkflowStart{{WorkflowID: "abc"}, {WorkflowID: cozesim.WorkflowJoke, BotID: "x"}} {
		if _, err := h.svc.StartWorkflow(t.Context(), h.alan, req); !errors.Is(err, chat.ErrBadRequest) {
			t.Errorf("StartWorkflow(%+v) = %v, want ErrBadRequest", req, err)
		}
	}
	if _, err := h.svc.ResumeWorkflow(t.Context(), h.alan, chat.WorkflowAnswer{WorkflowID: cozesim.WorkflowAsk, EventID: "../x"}); !errors.Is(err, chat.ErrBadRequest) {
		t.Errorf("ResumeWorkflow with a bad event id = %v, want ErrBadRequest", err)
	}
}

// A stream that fails mid-run ends with our end event and code; Coze's error text loses
// the credential it echoes (catalog case 29).
func TestWorkflow_StreamFailures(t *testing.T) {
	h := mustHarness(t, func(c *config) { c.kit.Coze = func(o *coze.Options) { o.WorkflowIdleTimeout = 100 * time.Millisecond } })
	app := h.wfApp(t)
	tok, _ := h.sim.IssueToken(cozesim.UserAlan)
	tests := []struct {
		name   string
		fault  cozesim.Fault
		status string
		code   string
	}{
		{"Error event", cozesim.Fault{ErrorAfterEvents: 2, Code: 5000, Msg: "bad token " + tok}, chat.EndFailed, "5000"},
		{"cut", cozesim.Fault{CutAfterEvents: 2}, chat.EndInterrupted, "upstream_reset"},
		{"clean EOF without Done", cozesim.Fault{EOFAfterEvents: 2}, chat.EndInterrupted, "incomplete"},
		{"garbage", cozesim.Fault{MalformedAfterEvents: 2}, chat.EndInterrupted, "upstream_malformed"},
		{"silence", cozesim.Fault{SilentAfterEvents: 2}, chat.EndInterrupted, "upstream_idle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.sim.ClearFaults()
			f := tt.fault
			f.Endpoint, f.Times = "POST /v1/workflow/stream_run", 1
			h.sim.AddFault(f)
			evs := h.wfOpen(t, t.Context(), app, http.MethodPost, "/run/"+cozesim.WorkflowJoke, "alan", chat.WorkflowStart{}, "").all(t)
			got := readWorkflow(t, evs)
			if got.end.Status != tt.status || got.end.Code != tt.code || !saysWhy(got.end.Key, got.end.Message) || got.end.Output != "" {
				t.Errorf("end = %+v, want %s %s that says why", got.end, tt.status, tt.code)
			}
			if len(got.nodes) == 0 {
				t.Errorf("events %v: the pieces before the failure were not relayed", got.names)
			}
			for _, ev := range evs {
				if strings.Contains(ev.Data, tok) {
					t.Errorf("the access token reached the browser: %s", ev.Data)
				}
			}
		})
	}
}

// A browser that drops the stream and comes back with Last-Event-ID gets every later event
// exactly once; a run goes on to its end with no browser at all, and is found only by the
// user who started it.
func TestWorkflow_ResumeAndSurviveTheBrowser(t *testing.T) {
	h := mustHarness(t)
	app := h.wfApp(t)
	h.sim.AddFault(cozesim.Fault{Endpoint: "POST /v1/workflow/stream_run", Times: 2, DeltaDelay: 20 * time.Millisecond})

	ctx, drop := context.WithCancel(t.Context())
	st := h.wfOpen(t, ctx, app, http.MethodPost, "/run/"+cozesim.WorkflowJoke, "alan", chat.WorkflowStart{}, "")
	head := st.until(t, chat.EventOutput, 2)
	drop() // the tab goes away mid-run
	first := readWorkflowHead(t, head)
	tail := h.wfOpen(t, t.Context(), app, http.MethodGet, "/runs/"+first+"/stream", "alan", nil, head[len(head)-1].ID).all(t)
	all := readWorkflow(t, append(head, tail...))
	if all.end.Status != chat.EndCompleted || !strings.Contains(all.end.Output, "topic: movies") {
		t.Errorf("head+resumed end = %+v", all.end)
	}

	// Nobody reads this one: it still runs to its end upstream.
	ctx, leave := context.WithCancel(t.Context())
	st = h.wfOpen(t, ctx, app, http.MethodPost, "/run/"+cozesim.WorkflowJoke, "alan", chat.WorkflowStart{}, "")
	runID := readWorkflowHead(t, []sseEvent{st.nextEvent(t)})
	leave()
	run, ok := h.svc.LookupWorkflow(h.alan.ID, runID)
	if !ok {
		t.Fatalf("run %s not found by its owner", runID)
	}
	select {
	case <-run.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("the run did not finish without a browser")
	}
	if run.EndStatus() != chat.EndCompleted {
		t.Errorf("run left alone ended %q, want completed", run.EndStatus())
	}
	replay := readWorkflow(t, h.wfOpen(t, t.Context(), app, http.MethodGet, "/runs/"+runID+"/stream", "alan", nil, "").all(t))
	if !strings.Contains(replay.end.Output, "topic: movies") {
		t.Errorf("replayed run ends %+v", replay.end)
	}
	if _, ok := h.svc.LookupWorkflow(h.bea.ID, runID); ok {
		t.Error("another user found the run")
	}
	if _, ok := h.svc.Lookup(h.alan.ID, runID); ok {
		t.Error("a workflow run was found as a chat")
	}
}

// readWorkflowHead returns the run id of the first events of a stream.
func readWorkflowHead(tb testing.TB, evs []sseEvent) string {
	tb.Helper()
	var r struct {
		RunID string `json:"run_id"`
	}
	if len(evs) == 0 || evs[0].Name != chat.EventRun || json.Unmarshal([]byte(evs[0].Data), &r) != nil || r.RunID == "" {
		tb.Fatalf("stream does not start with a run event: %+v", evs)
	}
	return r.RunID
}

// Stop closes the run's stream (Coze has no workflow cancel): every relay ends canceled.
// Only the owner can stop a run; Shutdown ends a run that does not finish in time.
func TestWorkflow_CancelAndShutdown(t *testing.T) {
	h := mustHarness(t)
	app := h.wfApp(t)
	h.sim.AddFault(cozesim.Fault{Endpoint: "POST /v1/workflow/stream_run", SilentAfterEvents: 1})

	st := h.wfOpen(t, t.Context(), app, http.MethodPost, "/run/"+cozesim.WorkflowJoke, "alan", chat.WorkflowStart{}, "")
	head := st.until(t, chat.EventOutput, 1)
	runID := readWorkflowHead(t, head)
	if err := h.svc.CancelWorkflow(t.Context(), h.bea, runID); !errors.Is(err, chat.ErrNotFound) {
		t.Errorf("cancel by another user = %v, want ErrNotFound", err)
	}
	if err := h.svc.CancelWorkflow(t.Context(), h.alan, runID); err != nil {
		t.Fatalf("cancel by the owner: %v", err)
	}
	got := readWorkflow(t, append(head, st.all(t)...))
	if got.end.Status != chat.EndCanceled || got.end.Code != "canceled" {
		t.Errorf("end after Stop = %+v, want canceled", got.end)
	}
	if err := h.svc.CancelWorkflow(t.Context(), h.alan, runID); err != nil {
		t.Errorf("cancel of a finished run = %v, want nil (it keeps its end)", err)
	}
	if err := h.svc.CancelWorkflow(t.Context(), h.alan, "0123456789abcdef0123456789abcdef"); !errors.Is(err, chat.ErrNotFound) {
		t.Errorf("cancel of an unknown run = %v, want ErrNotFound", err)
	}

	run, err := h.svc.StartWorkflow(t.Context(), h.alan, chat.WorkflowStart{WorkflowID: cozesim.WorkflowJoke})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // no time left: the run is stopped at once
	if err := h.svc.Shutdown(ctx); err == nil {
		t.Error("Shutdown with a silent workflow run and no time returned nil")
	}
	if _, err := h.svc.StartWorkflow(t.Context(), h.alan, chat.WorkflowStart{WorkflowID: cozesim.WorkflowJoke}); !errors.Is(err, chat.ErrShuttingDown) {
		t.Errorf("StartWorkflow after Shutdown = %v, want ErrShuttingDown", err)
	}
	if run.EndStatus() != chat.EndInterrupted {
		t.Errorf("run at Shutdown ended %q, want interrupted", run.EndStatus())
	}
	rec := httptest.NewRecorder()
	if err := h.svc.ServeSSE(rec, httptest.NewRequest(http.MethodGet, "/", nil), run, 1); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rec.Body.String(), `"code":"server_shutdown"`) || strings.Contains(rec.Body.String(), "history") {
		t.Errorf("relay after Shutdown:\n%s\nwant the run's server_shutdown end, not a word about the history", rec.Body.String())
	}
}
