package web

import (
	"net/http"
	"strings"
	"testing"

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
