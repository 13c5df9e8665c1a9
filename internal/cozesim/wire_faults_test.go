package cozesim

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// Faults that make the simulator speak like the real server where it is stricter or
// odder than the docs (issue 7, coze-protocol errata).

// coze-protocol E2: FinalEnding ends only the last event without its blank line.
func TestFinalEnding(t *testing.T) {
	tests := []struct {
		name, endpoint string
		body           any
		finalName      string // the final event's name line
	}{
		{"chat done", "/v3/chat", chatBodyFor(BotAssistant, "hello", true), "event:done\n"},
		{"workflow Done", "/v1/workflow/stream_run", map[string]any{"workflow_id": WorkflowJoke}, "event: Done\n"},
		{"workflow Interrupt", "/v1/workflow/stream_run", map[string]any{"workflow_id": WorkflowAsk}, "event: Interrupt\n"},
	}
	for _, tt := range tests {
		for _, ending := range []Ending{EndNewline, EndNone} {
			t.Run(fmt.Sprintf("%s/ending=%d", tt.name, ending), func(t *testing.T) {
				e := mustEnv(t, Options{})
				tok, _ := e.sim.IssueToken(UserAlan)
				e.sim.AddFault(Fault{Endpoint: "POST " + tt.endpoint, FinalEnding: ending})
				_, _, b := e.do(t, http.MethodPost, tt.endpoint, tok, tt.body)
				body := string(b)
				i := strings.LastIndex(body, "\n\n")
				if i < 0 {
					t.Fatalf("no event ended with a blank line: %q", tail(b))
				}
				final := body[i+2:]
				if !strings.Contains(final, tt.finalName) || strings.Count(final, "data:") != 1 {
					t.Errorf("after the last blank line %q, want exactly the final event %q", final, tt.finalName)
				}
				if ends := strings.HasSuffix(final, "\n"); ends != (ending == EndNewline) {
					t.Errorf("final event %q: want it to end with one newline: %v", final, ending == EndNewline)
				}
				// With the blank line restored, the framing is exactly the usual one.
				readSSE(t, []byte(body+map[Ending]string{EndNewline: "\n", EndNone: "\n\n"}[ending]), tt.endpoint != "/v3/chat")
			})
		}
	}
}
