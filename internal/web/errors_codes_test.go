package web

import (
	"regexp"
	"strings"
	"testing"

	"github.com/coze2app/coze2app/internal/cozesim"
)

// Coze's model errors (4013, 5000) say "try again"; a 9-digit platform code
// shows Coze's own message with the log id and a retry (coze-protocol E7).
func TestCozeErrorCodesSayWhatToDo(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := signIn(t, e, cozesim.UserAlan)
	logID := regexp.MustCompile(`[0-9]{17}[0-9A-F]{17}`)
	tests := []struct {
		name, wantCode string
		code           int
		msg            string
		wantInMessage  string
	}{
		{"4013", "model_error", 4013, "model error", "try again"},
		{"5000", "model_error", 5000, "internal error", "try again"},
		{"702042078", "upstream_error", 702042078, "We're currently experiencing server issues. Please try again later.", "experiencing server issues"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", Times: 1, Code: tt.code, Msg: tt.msg})
			r := e.api(c, "POST", "/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": "hello"})
			eb := r.errorBody()
			if r.status != 502 || eb["code"] != tt.wantCode {
				t.Fatalf("status %d error %v, want 502 %s", r.status, eb, tt.wantCode)
			}
			if !strings.Contains(eb["message"], tt.wantInMessage) {
				t.Errorf("message = %q, want it to contain %q", eb["message"], tt.wantInMessage)
			}
			if hint := eb["hint"]; !strings.Contains(strings.ToLower(hint), "retry") || !logID.MatchString(hint) {
				t.Errorf("hint = %q, want a retry and Coze's log id", hint)
			}
		})
	}
}
