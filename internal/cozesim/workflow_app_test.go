package cozesim

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// coze-protocol E11: a workflow inside a Coze app runs only with its app_id, never
// together with bot_id; list and info carry app_id ("0" when none).
func TestWorkflowInAppNeedsAppID(t *testing.T) {
	e := mustEnv(t, Options{})
	tok, _ := e.sim.IssueToken(UserAlan)

	items, _ := dataMap(e.mustOK(t, http.MethodGet, "/v1/workflows?workspace_id="+WorkspaceTeam+"&page_num=1&page_size=30", tok, nil))["items"].([]any)
	apps := map[string]string{}
	for _, it := range items {
		m := it.(map[string]any)
		apps[str(m, "workflow_id")] = str(m, "app_id")
	}
	if apps[WorkflowInApp] != DemoAppID || apps[WorkflowWeather] != "0" {
		t.Errorf("list app_ids %v, want %s for the app workflow and \"0\" for others", apps, DemoAppID)
	}
	info := dataMap(e.mustOK(t, http.MethodGet, "/v1/workflows/"+WorkflowInApp, tok, nil))
	if d, _ := info["workflow_detail"].(map[string]any); str(d, "app_id") != DemoAppID {
		t.Errorf("info workflow_detail %v, want app_id %s", d, DemoAppID)
	}

	tests := []struct {
		name     string
		body     map[string]any
		wantCode int
	}{
		{"without app_id", map[string]any{"workflow_id": WorkflowInApp}, 4200},
		{"with another app's id", map[string]any{"workflow_id": WorkflowInApp, "app_id": "7396000000000000999"}, 4200},
		{"with app_id and bot_id", map[string]any{"workflow_id": WorkflowInApp, "app_id": DemoAppID, "bot_id": BotAssistant}, 4000},
		{"with its app_id", map[string]any{"workflow_id": WorkflowInApp, "app_id": DemoAppID}, 0},
		{"bot_id and app_id on a plain workflow", map[string]any{"workflow_id": WorkflowJoke, "app_id": DemoAppID, "bot_id": BotAssistant}, 4000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if m := e.api(t, http.MethodPost, "/v1/workflow/run", tok, tt.body); code(m) != tt.wantCode {
				t.Errorf("run: code %v (%v), want %d", m["code"], m["msg"], tt.wantCode)
			}
			_, h, b := e.do(t, http.MethodPost, "/v1/workflow/stream_run", tok, tt.body)
			isStream := strings.HasPrefix(h.Get("Content-Type"), "text/event-stream")
			if tt.wantCode == 0 {
				if !isStream || !strings.Contains(string(b), "Coze app") || !strings.Contains(string(b), "event: Done") {
					t.Errorf("stream_run: %s %q, want the app workflow's run", h.Get("Content-Type"), tail(b))
				}
			} else if isStream || !strings.Contains(string(b), `"code":`+strconv.Itoa(tt.wantCode)) {
				t.Errorf("stream_run: %s %q, want the JSON error %d", h.Get("Content-Type"), b, tt.wantCode)
			}
		})
	}
}
