package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/coze"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// TestWorkflows covers listing, inputs, a streamed run relayed event by
// event, an interrupt answered through resume, and the error mappings.
func TestWorkflows(t *testing.T) {
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserAlan)

	list := decode[struct {
		Workflows []workflowJSON `json:"workflows"`
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

	run := e.api(c, "POST", "/api/workflows/"+cozesim.WorkflowWeather+"/run", map[string]any{"parameters": map[string]any{"city": "杭州"}})
	mustStatus(t, "run", run, http.StatusOK)
	if ct := run.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("run Content-Type = %q, want text/event-stream", ct)
	}
	body := string(run.body)
	for _, want := range []string{"id: 1\nevent: Message\n", "杭州", "event: Done"} {
		if !strings.Contains(body, want) {
			t.Errorf("run stream lacks %q:\n%s", want, body)
		}
	}

	ask := e.api(c, "POST", "/api/workflows/"+cozesim.WorkflowAsk+"/run", map[string]any{"parameters": map[string]any{}})
	mustStatus(t, "ask", ask, http.StatusOK)
	i := strings.Index(string(ask.body), `"event_id":"`)
	if i < 0 {
		t.Fatalf("no Interrupt with an event_id:\n%s", ask.body)
	}
	rest := string(ask.body[i+len(`"event_id":"`):])
	eventID := rest[:strings.IndexByte(rest, '"')]
	resumed := e.api(c, "POST", "/api/workflows/"+cozesim.WorkflowAsk+"/resume",
		map[string]any{"event_id": eventID, "interrupt_type": 2, "resume_data": "杭州，明天"})
	mustStatus(t, "resume", resumed, http.StatusOK)
	if !strings.Contains(string(resumed.body), "event: Done") {
		t.Errorf("resumed stream does not finish:\n%s", resumed.body)
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
		{"unknown field", "POST", "/api/workflows/" + cozesim.WorkflowWeather + "/run", map[string]any{"x": 1}, 400, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.api(c, tt.method, tt.path, tt.body)
			if r.status != tt.wantStatus || r.errorCode() != tt.wantCode {
				t.Errorf("status = %d code = %q, want %d %q (%s)", r.status, r.errorCode(), tt.wantStatus, tt.wantCode, r.body)
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
		coze: func(o *coze.Options) { o.StreamHeaderTimeout = 20 * time.Millisecond },
	})
	c := signIn(t, e, cozesim.UserAlan)
	e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v1/workflow/stream_run", Times: 1, FirstEventDelay: 4 * time.Minute, PingEvery: time.Minute})
	done := make(chan resp, 1)
	go func() {
		done <- e.api(c, "POST", "/api/workflows/"+cozesim.WorkflowJoke+"/run", map[string]any{"parameters": map[string]any{}})
	}()
	for i := range 4 {
		if err := clock.WaitForSleepers(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			// Headers are out; let real time pass beyond StreamHeaderTimeout so that a
			// first-byte limit would have fired.
			time.Sleep(100 * time.Millisecond)
		}
		clock.Advance(time.Minute)
	}
	r := <-done
	mustStatus(t, "run", r, http.StatusOK)
	evs := parseSSE(t, r.body)
	if len(evs) == 0 || evs[0].name != "Message" || evs[len(evs)-1].name != "Done" {
		t.Errorf("events %+v, want the run from its first Message to Done", evs)
	}
	if strings.Contains(string(r.body), "PING") {
		t.Errorf("a PING heartbeat was relayed:\n%s", r.body)
	}
}

// Silence beyond the idle limit ends the run with a clear error: before the first event
// as JSON 504 upstream_idle, later as the stream's final error event.
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
	last := evs[len(evs)-1]
	if len(evs) != 3 || last.name != "error" || !strings.Contains(last.data, `"code":"upstream_idle"`) {
		t.Errorf("events %+v, want 2 relayed, then error upstream_idle", evs)
	}
}

// coze-protocol E11: the page sends only the workflow id; the server finds the workflow's
// app in Coze's record and runs it with that app_id (never with a bot_id).
func TestWorkflowRun_InsideACozeApp(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserAlan)
	path := "/api/workflows/" + cozesim.WorkflowInApp + "/run"

	e.sim.ResetCalls()
	r := e.api(c, "POST", path, map[string]any{"parameters": map[string]any{"name": "Ming"}})
	mustStatus(t, "run", r, http.StatusOK)
	if body := string(r.body); !strings.Contains(body, "Ming") || !strings.Contains(body, "event: Done") {
		t.Errorf("run stream lacks the app workflow's answer:\n%s", body)
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
