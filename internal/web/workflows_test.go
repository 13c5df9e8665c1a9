package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// wfStream is a workflow run's events (docs/stream-contract.md, "The workflow
// stream"), decoded.
type wfStream struct {
	runID    string
	output   string // every output piece joined
	question *struct {
		EventID       string   `json:"event_id"`
		InterruptType int      `json:"interrupt_type"`
		Text          string   `json:"text"`
		Options       []string `json:"options"`
	}
	end struct {
		Status   string `json:"status"`
		Code     string `json:"code"`
		Key      string `json:"key"`
		Message  string `json:"message"`
		Output   string `json:"output"`
		DebugURL string `json:"debug_url"`
	}
}

// readWorkflowStream checks that evs are only our workflow events, numbered 1, 2,
// 3… with no gap or repeat, from run to end, and decodes them.
func readWorkflowStream(t testing.TB, evs []sseEvent) wfStream {
	t.Helper()
	var w wfStream
	for i, ev := range evs {
		if ev.id != strconv.Itoa(i+1) {
			t.Fatalf("event %d (%s) has id %q, want %d (gap or repeat)", i, ev.name, ev.id, i+1)
		}
		var err error
		switch ev.name {
		case "run":
			var r struct {
				RunID string `json:"run_id"`
			}
			err = json.Unmarshal([]byte(ev.data), &r)
			w.runID = r.RunID
			if i != 0 || !chat.ValidRunID(r.RunID) {
				t.Fatalf("run event %d: %s", i, ev.data)
			}
		case "output":
			var p struct {
				Node int    `json:"node"`
				Text string `json:"text"`
			}
			err = json.Unmarshal([]byte(ev.data), &p)
			w.output += p.Text
		case "question":
			err = json.Unmarshal([]byte(ev.data), &w.question)
		case "end":
			if i != len(evs)-1 {
				t.Fatalf("end is event %d of %d", i+1, len(evs))
			}
			err = json.Unmarshal([]byte(ev.data), &w.end)
		default:
			t.Fatalf("event %q is not one of ours (%s)", ev.name, ev.data)
		}
		if err != nil {
			t.Fatalf("%s data %q: %v", ev.name, ev.data, err)
		}
	}
	if w.runID == "" || w.end.Status == "" {
		t.Fatalf("stream of %d events does not run from run to end", len(evs))
	}
	return w
}

// runWorkflow posts a run and reads its whole stream.
func runWorkflow(t testing.TB, e *testEnv, c *http.Client, id string, params map[string]any) wfStream {
	t.Helper()
	r := e.api(c, "POST", "/api/workflows/"+id+"/run", map[string]any{"parameters": params})
	mustStatus(t, "run "+id, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("run Content-Type = %q, want text/event-stream", ct)
	}
	return readWorkflowStream(t, parseSSE(t, r.body))
}

// openWorkflowRun posts a run and returns the open response (the caller reads
// and closes it).
func openWorkflowRun(t testing.TB, e *testEnv, c *http.Client, id string) *http.Response {
	t.Helper()
	res := postOpen(t, e, c, "/api/workflows/"+id+"/run", map[string]any{"parameters": map[string]any{}})
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		t.Fatalf("run %s: status %d", id, res.StatusCode)
	}
	return res
}

// TestWorkflows covers listing, inputs, a run streamed as our events, a
// question answered through resume, and the errors before a run.
func TestWorkflows(t *testing.T) {
	e, c := alanSignedIn(t)

	list := decode[struct {
		Workflows []listItemJSON `json:"workflows"`
	}](t, e.get(c, "/api/workflows?workspace_id="+cozesim.WorkspaceTeam))
	found := false
	for _, wf := range list.Workflows {
		found = found || wf.ID == cozesim.WorkflowWeather
	}
	if !found {
		t.Fatalf("workflow list %+v lacks the weather workflow", list.Workflows)
	}

	info := decode[struct {
		Inputs []workflowInputJSON `json:"inputs"`
	}](t, e.get(c, "/api/workflows/"+cozesim.WorkflowWeather))
	if len(info.Inputs) == 0 || info.Inputs[0].Name != "city" || !info.Inputs[0].Required {
		t.Fatalf("inputs = %+v, want the required city first", info.Inputs)
	}

	run := runWorkflow(t, e, c, cozesim.WorkflowWeather, map[string]any{"city": "杭州"})
	if !strings.Contains(run.output, "Weather in 杭州") || run.end.Status != "completed" || !strings.Contains(run.end.Output, "杭州") {
		t.Errorf("weather run: output %q, end %+v", run.output, run.end)
	}

	ask := runWorkflow(t, e, c, cozesim.WorkflowAsk, map[string]any{})
	if ask.question == nil || ask.question.EventID == "" || ask.question.InterruptType != 2 || !strings.Contains(ask.question.Text, "Which city") || ask.end.Status != "completed" {
		t.Fatalf("ask run: question %+v, end %+v; want the question and a completed end", ask.question, ask.end)
	}
	resumed := e.api(c, "POST", "/api/workflows/"+cozesim.WorkflowAsk+"/resume",
		map[string]any{"event_id": ask.question.EventID, "interrupt_type": ask.question.InterruptType, "resume_data": "杭州，明天"})
	mustStatus(t, "resume", resumed, http.StatusOK)
	rest := readWorkflowStream(t, parseSSE(t, resumed.body))
	if rest.runID == ask.runID || rest.end.Status != "completed" || !strings.Contains(rest.end.Output, "Weather in 杭州 on 明天") {
		t.Errorf("resumed run %s (asked in %s): end %+v", rest.runID, ask.runID, rest.end)
	}

	tests := []struct {
		name       string
		method     string
		path       string
		body       any
		wantStatus int
		wantCode   string
	}{
		{"unpublished workflow", "POST", "/api/workflows/" + cozesim.WorkflowDraft + "/run", map[string]any{}, 404, "not_found"},
		{"bad workflow id", "GET", "/api/workflows/abc", nil, 400, "bad_request"},
		{"missing workspace", "GET", "/api/workflows", nil, 400, "bad_request"},
		{"bad event id", "POST", "/api/workflows/" + cozesim.WorkflowAsk + "/resume", map[string]any{"event_id": "../x"}, 400, "bad_request"},
		{"unknown event id", "POST", "/api/workflows/" + cozesim.WorkflowAsk + "/resume", map[string]any{"event_id": "1/2", "interrupt_type": 2, "resume_data": "x"}, 502, "upstream_error"},
		{"unknown field", "POST", "/api/workflows/" + cozesim.WorkflowWeather + "/run", map[string]any{"x": 1}, 400, "bad_request"},
		{"missing required input", "POST", "/api/workflows/" + cozesim.WorkflowWeather + "/run", map[string]any{"parameters": map[string]any{}}, 400, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.api(c, tt.method, tt.path, tt.body)
			if r.status != tt.wantStatus || r.errorCode() != tt.wantCode || strings.HasPrefix(r.header.Get("Content-Type"), "text/event-stream") {
				t.Errorf("status = %d code = %q, want JSON %d %q (%s)", r.status, r.errorCode(), tt.wantStatus, tt.wantCode, r.body)
			}
		})
	}
}

// Errors before a run's first event are JSON with the "run" permission named,
// never a stream: a refused permission, a 5xx, an Error as Coze's first event.
func TestWorkflowRun_ErrorsBeforeTheRunAreJSON(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	tests := []struct {
		name       string
		fault      cozesim.Fault
		wantStatus int
		wantCode   string
	}{
		{"4101 permission", cozesim.Fault{Code: 4101, Msg: "no permission"}, 403, "permission_denied"},
		{"http 502", cozesim.Fault{HTTPStatus: 502}, 502, "upstream_unavailable"},
		{"Error as the first event", cozesim.Fault{ErrorAsFirstEvent: true, Code: 4200, Msg: "not published"}, 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addFault(e, "POST /v1/workflow/stream_run", tt.fault)
			defer e.sim.ClearFaults()
			r := e.api(c, "POST", "/api/workflows/"+cozesim.WorkflowJoke+"/run", map[string]any{"parameters": map[string]any{}})
			if r.status != tt.wantStatus || r.errorCode() != tt.wantCode || r.errorBody()["message"] == "" {
				t.Errorf("%d %s, want JSON %d %s", r.status, r.body, tt.wantStatus, tt.wantCode)
			}
			if tt.wantCode == "permission_denied" && !strings.Contains(string(r.body), "run") {
				t.Errorf("permission error %s does not name the run permission", r.body)
			}
		})
	}
}

// coze-protocol E13: a workflow's first event may come minutes after the headers. The run
// still succeeds (no first-byte limit; the server's write deadline does not cut it), and
// PING heartbeats are not relayed.
func TestWorkflowRun_FirstEventAfterMinutesWithPings(t *testing.T) {
	t.Parallel()
	clock := cozesim.NewFakeClock(time.Now())
	e := newTestEnv(t, envOpts{
		sim:  func(o *cozesim.Options) { o.Clock = clock },
		coze: func(o *coze.Options) { o.StreamHeaderTimeout = 100 * time.Millisecond },
	})
	c := signIn(t, e, cozesim.UserAlan)
	e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v1/workflow/stream_run", Times: 1, FirstEventDelay: 4 * time.Minute, PingEvery: time.Minute})
	done := make(chan resp, 1)
	running, ended := context.WithCancel(t.Context())
	go func() {
		defer ended()
		done <- e.api(c, "POST", "/api/workflows/"+cozesim.WorkflowJoke+"/run", map[string]any{"parameters": map[string]any{}})
	}()
	for i := range 4 {
		// A run that ends early (say, its headers came after StreamHeaderTimeout on a
		// busy machine) leaves no sleeper: say so rather than wait for ever.
		if err := clock.WaitForSleepers(running, 1); err != nil {
			r := <-done
			t.Fatalf("the run ended before its first event (%v): %d %s", err, r.status, r.body)
		}
		if i == 0 {
			// Headers are out; let real time pass beyond StreamHeaderTimeout so that a
			// first-byte limit would have fired.
			time.Sleep(300 * time.Millisecond)
		}
		clock.Advance(time.Minute)
	}
	r := <-done
	mustStatus(t, "run", r, http.StatusOK)
	evs := parseSSE(t, r.body)
	w := readWorkflowStream(t, evs)
	if evs[1].name != "output" || w.end.Status != "completed" || !strings.Contains(w.end.Output, "topic: movies") {
		t.Errorf("events %+v, want the run from its first output to a completed end", evs)
	}
	if strings.Contains(string(r.body), "PING") {
		t.Errorf("a PING heartbeat was relayed:\n%s", r.body)
	}
}

// Silence beyond the idle limit ends the run with a clear error: before the first event
// as JSON 504 upstream_idle, later as the stream's end interrupted upstream_idle.
func TestWorkflowRun_SilenceEndsWithIdleError(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{
		sim:  func(o *cozesim.Options) { o.Clock = cozesim.NewFakeClock(time.Now()) }, // never moves
		coze: func(o *coze.Options) { o.WorkflowIdleTimeout = 50 * time.Millisecond },
	})
	c := signIn(t, e, cozesim.UserAlan)
	run := func() resp {
		return e.api(c, "POST", "/api/workflows/"+cozesim.WorkflowJoke+"/run", map[string]any{"parameters": map[string]any{}})
	}

	e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v1/workflow/stream_run", Times: 1, FirstEventDelay: time.Hour})
	r := run()
	if r.status != http.StatusGatewayTimeout || r.errorCode() != "upstream_idle" || r.errorBody()["message"] == "" {
		t.Errorf("silent before the first event: %d %s, want 504 upstream_idle", r.status, r.body)
	}

	e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v1/workflow/stream_run", Times: 1, SilentAfterEvents: 2})
	r = run()
	mustStatus(t, "silent mid-run", r, http.StatusOK)
	evs := parseSSE(t, r.body)
	w := readWorkflowStream(t, evs)
	if len(evs) != 4 || w.end.Status != "interrupted" || w.end.Code != "upstream_idle" || w.end.Key != "workflow.upstream_idle" {
		t.Errorf("events %+v, want run, 2 outputs, then end interrupted upstream_idle", evs)
	}
}

// A browser that drops the stream and comes back with Last-Event-ID gets every
// later event exactly once; a bad position is a JSON 400, an unknown run or
// another user's a 404.
func TestWorkflowRun_ResumeAfterADroppedConnection(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v1/workflow/stream_run", Times: 1, DeltaDelay: 15 * time.Millisecond})
	res := openWorkflowRun(t, e, c, cozesim.WorkflowJoke)
	outputs := 0
	head := readEvents(t, res.Body, func(ev sseEvent) bool {
		if ev.name == "output" {
			outputs++
		}
		return outputs == 3
	})
	res.Body.Close() // the connection drops mid-run
	var first struct {
		RunID string `json:"run_id"`
	}
	if len(head) == 0 || head[0].name != "run" || json.Unmarshal([]byte(head[0].data), &first) != nil {
		t.Fatalf("stream starts with %+v, want the run event", head)
	}
	stream := "/api/workflows/runs/" + first.RunID + "/stream"
	r := e.send(c, req{method: "GET", path: stream, hdr: map[string]string{"Sec-Fetch-Site": "same-origin", "Last-Event-ID": head[len(head)-1].id}})
	mustStatus(t, "resume", r, http.StatusOK)
	all := readWorkflowStream(t, append(head, parseSSE(t, r.body)...))
	full := runWorkflow(t, e, c, cozesim.WorkflowJoke, map[string]any{})
	if all.end.Status != "completed" || all.output != full.output || all.end.Output != full.end.Output {
		t.Errorf("head+resumed: output %q end %+v; a whole run: %q %+v", all.output, all.end, full.output, full.end)
	}

	bea := signIn(t, e, cozesim.UserBea)
	for _, tt := range []struct {
		name       string
		c          *http.Client
		path       string
		last       string
		wantStatus int
	}{
		{"from the start", c, stream, "", 200},
		{"garbage position", c, stream, "abc", 400},
		{"future position", c, stream, "99999", 400},
		{"another user", bea, stream, "", 404},
		{"unknown run", c, "/api/workflows/runs/0123456789abcdef0123456789abcdef/stream", "", 404},
		{"not a run id", c, "/api/workflows/runs/12345/stream", "", 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.send(tt.c, req{method: "GET", path: tt.path, hdr: map[string]string{"Sec-Fetch-Site": "same-origin", "Last-Event-ID": tt.last}})
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", r.status, tt.wantStatus, truncate(string(r.body), 200))
			}
			if tt.wantStatus == 200 {
				if w := readWorkflowStream(t, parseSSE(t, r.body)); w.runID != first.RunID || w.end.Status != "completed" {
					t.Errorf("replay from the start: run %s, end %+v", w.runID, w.end)
				}
			} else if r.errorCode() == "" {
				t.Errorf("status %d without a JSON error: %s", r.status, r.body)
			}
		})
	}
}

// A run goes on to its end upstream after the browser left; the page finds the
// whole run again by its id.
func TestWorkflowRun_SurvivesTheBrowserLeaving(t *testing.T) {
	t.Parallel()
	relayClosed := make(chan struct{}, 8)
	e := newTestEnv(t, envOpts{chat: func(o *chat.Options) {
		o.OnRelayClose = func() { relayClosed <- struct{}{} }
	}})
	c := signIn(t, e, cozesim.UserAlan)
	e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v1/workflow/stream_run", Times: 1, DeltaDelay: 100 * time.Millisecond})
	res := openWorkflowRun(t, e, c, cozesim.WorkflowJoke)
	head := readEvents(t, res.Body, func(ev sseEvent) bool { return ev.name == "run" })
	res.Body.Close() // the tab is closed
	<-relayClosed    // the server noticed: nobody reads the run any more
	var first struct {
		RunID string `json:"run_id"`
	}
	if len(head) != 1 || json.Unmarshal([]byte(head[0].data), &first) != nil {
		t.Fatalf("stream starts with %+v, want the run event", head)
	}
	r := e.get(c, "/api/workflows/runs/"+first.RunID+"/stream")
	mustStatus(t, "reopen", r, http.StatusOK)
	w := readWorkflowStream(t, parseSSE(t, r.body))
	if w.end.Status != "completed" || !strings.Contains(w.end.Output, "topic: movies") {
		t.Errorf("run after the browser left ended %+v, want completed with the joke", w.end)
	}
}

// Stop closes the run's stream: the owner's cancel ends every relay with
// end{"status":"canceled"}; anyone else gets 404 and the run goes on.
func TestWorkflowRun_CancelByOwnerOnly(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	bea := signIn(t, e, cozesim.UserBea)
	e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v1/workflow/stream_run", Times: 1, SilentAfterEvents: 1})
	res := openWorkflowRun(t, e, c, cozesim.WorkflowJoke)
	defer res.Body.Close()
	head := readEvents(t, res.Body, func(ev sseEvent) bool { return ev.name == "output" })
	var first struct {
		RunID string `json:"run_id"`
	}
	if len(head) != 2 || json.Unmarshal([]byte(head[0].data), &first) != nil {
		t.Fatalf("stream starts with %+v, want run and one output", head)
	}
	cancel := "/api/workflows/runs/" + first.RunID + "/cancel"
	if r := e.api(bea, "POST", cancel, map[string]any{}); r.status != http.StatusNotFound || r.errorCode() != "not_found" {
		t.Errorf("cancel by another user: %d %s, want 404 not_found", r.status, r.body)
	}
	r := e.api(c, "POST", cancel, map[string]any{})
	mustStatus(t, "cancel by the owner", r, http.StatusOK)
	if got := decode[map[string]any](t, r); got["ok"] != true || got["status"] != "canceled" {
		t.Errorf("cancel answer %s, want ok and canceled", r.body)
	}
	w := readWorkflowStream(t, append(head, readEvents(t, res.Body, nil)...))
	if w.end.Status != "canceled" || w.end.Code != "canceled" {
		t.Errorf("the relay ended %+v, want canceled", w.end)
	}
	if r := e.api(c, "POST", "/api/workflows/runs/0123456789abcdef0123456789abcdef/cancel", map[string]any{}); r.status != http.StatusNotFound {
		t.Errorf("cancel of an unknown run: %d, want 404", r.status)
	}
}

// coze-protocol E11: the page sends only the workflow id; the server finds the workflow's
// app in Coze's record and runs it with that app_id (never with a bot_id).
func TestWorkflowRun_InsideACozeApp(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	path := "/api/workflows/" + cozesim.WorkflowInApp + "/run"

	e.sim.ResetCalls()
	r := e.api(c, "POST", path, map[string]any{"parameters": map[string]any{"name": "Ming"}})
	mustStatus(t, "run", r, http.StatusOK)
	if w := readWorkflowStream(t, parseSSE(t, r.body)); !strings.Contains(w.end.Output, "Ming") || w.end.Status != "completed" {
		t.Errorf("app workflow ended %+v, want its answer", w.end)
	}
	for _, rq := range e.sim.Requests() {
		if rq.Path == "/v1/workflow/stream_run" && !strings.Contains(string(rq.Body), `"app_id":"`+cozesim.DemoAppID+`"`) {
			t.Errorf("stream_run body %s lacks the app_id", rq.Body)
		}
	}

	// A plain workflow is run without app_id ("0" in Coze's record means none).
	e.sim.ResetCalls()
	mustStatus(t, "plain run", e.api(c, "POST", "/api/workflows/"+cozesim.WorkflowJoke+"/run", map[string]any{"parameters": map[string]any{}}), http.StatusOK)
	for _, rq := range e.sim.Requests() {
		if rq.Path == "/v1/workflow/stream_run" && strings.Contains(string(rq.Body), "app_id") {
			t.Errorf("plain workflow sent app_id: %s", rq.Body)
		}
	}

	e.sim.ResetCalls()
	r = e.api(c, "POST", path, map[string]any{"parameters": map[string]any{}, "bot_id": cozesim.BotAssistant})
	if r.status != http.StatusBadRequest || r.errorCode() != "bad_request" || e.sim.Calls("POST /v1/workflow/stream_run") != 0 {
		t.Errorf("app workflow with bot_id: %d %s (%d runs); want 400 bad_request before any run", r.status, r.body, e.sim.Calls("POST /v1/workflow/stream_run"))
	}
}

// The workflow routes get the same guards as chat: cases 21, 22, 23, 54, 55
// and 29 (the happy paths are in workflows_test.go).

func TestWorkflowGuards(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	run := "/api/workflows/" + cozesim.WorkflowWeather + "/run"
	body := `{"parameters":{"city":"x"}}`
	// A run of the user's own, so that only the guard can be what refuses.
	live := runWorkflow(t, e, c, cozesim.WorkflowJoke, map[string]any{})
	cancel := "/api/workflows/runs/" + live.runID + "/cancel"
	stream := "/api/workflows/runs/" + live.runID + "/stream"
	e.sim.ResetCalls()

	t.Run("case 21 cross-origin", func(t *testing.T) {
		for _, p := range []string{run, "/api/workflows/" + cozesim.WorkflowAsk + "/resume", cancel} {
			for _, hdr := range []map[string]string{{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"},
				{"Sec-Fetch-Site": "same-site", "Origin": "null"}, {"Origin": "null"}} {
				r := e.send(c, req{method: "POST", path: p, ctype: "application/json", body: body, hdr: hdr})
				mustStatus(t, p, r, http.StatusForbidden)
				if r.errorCode() != "cross_origin" {
					t.Errorf("code = %q", r.errorCode())
				}
			}
		}
	})
	t.Run("case 23 content types", func(t *testing.T) {
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
			for _, p := range []string{run, cancel} {
				r := e.send(c, req{method: "POST", path: p, ctype: ct, body: `{}`, hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
				mustStatus(t, p+" "+ct, r, http.StatusUnsupportedMediaType)
			}
		}
	})
	t.Run("case 22 safe methods", func(t *testing.T) {
		for _, m := range []string{"GET", "HEAD"} {
			for _, p := range []string{run, cancel} {
				r := e.send(c, req{method: m, path: p, hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
				mustStatus(t, m+" "+p, r, http.StatusMethodNotAllowed)
			}
		}
		r := e.send(c, req{method: "POST", path: stream, ctype: "application/json", body: `{}`, hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
		mustStatus(t, "POST "+stream, r, http.StatusMethodNotAllowed)
	})
	t.Run("signed out", func(t *testing.T) {
		anon := e.newClient()
		for _, r := range []req{
			{method: "GET", path: stream},
			{method: "POST", path: cancel, ctype: "application/json", body: `{}`},
		} {
			r.hdr = map[string]string{"Sec-Fetch-Site": "same-origin"}
			if got := e.send(anon, r); got.status != http.StatusUnauthorized {
				t.Errorf("%s %s signed out: status = %d, want 401", r.method, r.path, got.status)
			}
		}
	})
	t.Run("case 24 no CORS grants", func(t *testing.T) {
		for _, p := range []string{stream, cancel} {
			r := e.send(c, req{method: "OPTIONS", path: p, hdr: map[string]string{
				"Origin": "https://evil.example", "Access-Control-Request-Method": "POST", "Sec-Fetch-Site": "cross-site"}})
			for k := range r.header {
				if strings.HasPrefix(strings.ToLower(k), "access-control-") {
					t.Errorf("OPTIONS %s answered %s", p, k)
				}
			}
		}
	})
	t.Run("case 55 bad ids", func(t *testing.T) {
		for _, id := range badIDs {
			if id.v == "" {
				continue
			}
			esc := url.PathEscape(id.v)
			for _, r := range []req{
				{method: "GET", path: "/api/workflows/" + esc},
				{method: "POST", path: "/api/workflows/" + esc + "/run", ctype: "application/json", body: body},
				{method: "POST", path: "/api/workflows/" + esc + "/resume", ctype: "application/json", body: `{"event_id":"1/2","interrupt_type":2,"resume_data":"x"}`},
				{method: "GET", path: "/api/workflows?workspace_id=" + url.QueryEscape(id.v)},
				{method: "POST", path: run, ctype: "application/json", body: `{"bot_id":` + jsonQuote(id.v) + `}`},
				{method: "GET", path: "/api/workflows/runs/" + esc + "/stream"},
				{method: "POST", path: "/api/workflows/runs/" + esc + "/cancel", ctype: "application/json", body: `{}`},
			} {
				r.hdr = map[string]string{"Sec-Fetch-Site": "same-origin"}
				if got := e.send(c, r); got.status != http.StatusBadRequest {
					t.Errorf("%s %s: status = %d, want 400", r.method, r.path, got.status)
				}
			}
		}
	})
	t.Run("case 54 malformed bodies", func(t *testing.T) {
		for _, b := range []string{``, `null`, `[]`, `{"parameters":[]}`, `{"parameters":{"city":"x"}} x`,
			`{"parameters":{"city":"x"},"admin":1}`, `{"parameters":{"city":"x"},"PARAMETERS":{}}`,
			`{"parameters":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`} {
			got := e.send(c, req{method: "POST", path: run, ctype: "application/json", body: b, hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
			if got.status != http.StatusBadRequest {
				t.Errorf("body %q: status = %d, want 400", truncate(b, 40), got.status)
			}
		}
	})
	if calls := e.sim.AllCalls(); len(calls) != 0 {
		t.Errorf("upstream calls for refused workflow requests: %v", calls)
	}
	// Nothing above reached the run: it is still there, as it ended.
	if w := readWorkflowStream(t, parseSSE(t, e.get(c, stream).body)); w.end.Status != "completed" {
		t.Errorf("the run after the refused requests ended %+v", w.end)
	}
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// A workflow Error event, or a pre-stream error, that echoes the access
// token must not reach the browser (catalog case 29).
func TestCase29_WorkflowErrorDoesNotEchoToken(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	mustStatus(t, "workspaces", e.get(c, "/api/workspaces"), http.StatusOK)
	secrets := map[string]string{}
	collectSecrets(t, e.sim.Requests(), secrets)
	tok := secrets["access token"]
	if tok == "" {
		t.Fatal("no access token observed")
	}
	tests := []struct {
		name  string
		fault cozesim.Fault
	}{
		{"Error event mid-stream", cozesim.Fault{ErrorAfterEvents: 1, Code: 5000, Msg: "bad token " + tok}},
		{"error before the stream", cozesim.Fault{Code: 5000, Msg: "bad token " + tok}},
		{"bare JSON error", cozesim.Fault{BareJSONError: true, Code: 5000, Msg: "bad token " + tok}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addFault(e, "POST /v1/workflow/stream_run", tt.fault)
			defer e.sim.ClearFaults()
			r := e.api(c, "POST", "/api/workflows/"+cozesim.WorkflowWeather+"/run", map[string]any{"parameters": map[string]string{"city": "x"}})
			if strings.Contains(string(r.body), tok) {
				t.Errorf("the access token reached the browser: %s", truncate(string(r.body), 400))
			}
			if r.status >= 500 && r.status != http.StatusBadGateway {
				t.Errorf("status = %d", r.status)
			}
		})
	}
}
