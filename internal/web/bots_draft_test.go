package web

import (
	"net/http"
	"testing"

	"github.com/coze2app/coze2app/internal/cozesim"
)

// botGets lists the is_published query of each GET /v1/bots/{id} for id.
func botGets(e *testEnv, id string) []string {
	var out []string
	for _, r := range e.sim.Requests() {
		if r.Method == "GET" && r.Path == "/v1/bots/"+id {
			out = append(out, r.Query.Get("is_published"))
		}
	}
	return out
}

// Bot details for a never-published bot (coze-protocol E6): a bot the list
// called unpublished is read as a draft directly; otherwise the published
// read falls back to the draft on any Coze error code except token and
// permission ones.
func TestBotDetails_DraftBots(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		bot        string
		listFirst  bool
		fault      *cozesim.Fault
		wantStatus int
		wantGets   []string // is_published of each GET /v1/bots/{id}
	}{
		{"listed draft goes straight to the draft", cozesim.BotDraft, true, nil, 200, []string{"false"}},
		{"unlisted draft falls back on the simulator's platform code", cozesim.BotDraft, false, nil, 200, []string{"", "false"}},
		{"published bot read as published", cozesim.BotAssistant, true, nil, 200, []string{""}},
		{"published read failing with 5000 falls back", cozesim.BotAssistant, false,
			&cozesim.Fault{Code: 5000, Msg: "internal error"}, 200, []string{"", "false"}},
		{"9-digit platform code falls back", cozesim.BotAssistant, false,
			&cozesim.Fault{Code: 702042078, Msg: "We're currently experiencing server issues."}, 200, []string{"", "false"}},
		{"permission error does not fall back", cozesim.BotAssistant, false,
			&cozesim.Fault{Code: 4101, Msg: "no permission"}, 403, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, envOpts{})
			c := signIn(t, e, cozesim.UserAlan)
			if tt.listFirst {
				mustStatus(t, "bots", e.get(c, "/api/bots?workspace_id="+cozesim.WorkspaceTeam), http.StatusOK)
			}
			if tt.fault != nil {
				addFault(e, "GET /v1/bots/{bot_id}", *tt.fault)
			}
			r := e.get(c, "/api/bots/"+tt.bot)
			mustStatus(t, "bot", r, tt.wantStatus)
			if r.status == 200 {
				if b := decode[struct{ ID, Prologue string }](t, r); b.ID != tt.bot || b.Prologue == "" {
					t.Errorf("bot = %+v, want %s with its prologue", b, tt.bot)
				}
			}
			got := botGets(e, tt.bot)
			if len(got) != len(tt.wantGets) {
				t.Fatalf("GET /v1/bots/%s is_published = %q, want %q", tt.bot, got, tt.wantGets)
			}
			for i := range got {
				if got[i] != tt.wantGets[i] {
					t.Errorf("GET /v1/bots/%s is_published = %q, want %q", tt.bot, got, tt.wantGets)
				}
			}
		})
	}
}
