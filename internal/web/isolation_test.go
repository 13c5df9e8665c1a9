package web

import (
	"net/http"
	"slices"
	"testing"

	"github.com/coze2app/coze2app/internal/cozesim"
)

// Catalog case 20: cross-user isolation (IDOR) and per-user caches.

func TestCase20_IDOR(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	a := signIn(t, e, cozesim.UserAlan)
	b := signIn(t, e, cozesim.UserBea)

	// A's history: a finished conversation and a retained streamed run.
	first := mustChat(t, e, a, cozesim.BotMemory, "secret of Alan", "")
	_, evs := mustStream(t, e, a, cozesim.BotMemory, "second secret", first.ConversationID)
	_, streamChatID := chatIDs(t, evs)
	before := decode[messagesBody](t, e.get(a, "/api/conversations/"+first.ConversationID+"/messages"))
	e.sim.ResetCalls()

	conv := first.ConversationID
	tests := []struct {
		name string
		req  req
	}{
		{"messages", req{method: "GET", path: "/api/conversations/" + conv + "/messages"}},
		{"rename", req{method: "PATCH", path: "/api/conversations/" + conv, ctype: "application/json", body: `{"title":"pwned"}`}},
		{"delete", req{method: "DELETE", path: "/api/conversations/" + conv}},
		{"export md", req{method: "GET", path: "/api/conversations/" + conv + "/export?format=md"}},
		{"export json", req{method: "GET", path: "/api/conversations/" + conv + "/export?format=json"}},
		{"cancel", req{method: "POST", path: "/api/chat/cancel", ctype: "application/json",
			body: `{"conversation_id":"` + conv + `","chat_id":"` + first.ChatID + `"}`}},
		{"cancel streamed", req{method: "POST", path: "/api/chat/cancel", ctype: "application/json",
			body: `{"conversation_id":"` + conv + `","chat_id":"` + streamChatID + `"}`}},
		{"resume", req{method: "GET", path: "/api/chat/" + streamChatID + "/stream"}},
		{"resume with id", req{method: "GET", path: "/api/chat/" + streamChatID + "/stream?last_event_id=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req
			r.hdr = map[string]string{"Sec-Fetch-Site": "same-origin"}
			got := e.send(b, r)
			mustStatus(t, "B with A's id", got, http.StatusNotFound)
			if got.errorCode() != "not_found" {
				t.Errorf("code = %q, want not_found", got.errorCode())
			}
		})
	}
	if calls := e.sim.AllCalls(); len(calls) != 0 {
		t.Errorf("upstream calls on B's behalf with A's ids: %v", calls)
	}
	after := decode[messagesBody](t, e.get(a, "/api/conversations/"+conv+"/messages"))
	if after.Conversation.Title != before.Conversation.Title || len(after.Messages) != len(before.Messages) {
		t.Errorf("A's conversation changed: %+v -> %+v", before.Conversation, after.Conversation)
	}
	for i := range after.Messages {
		if after.Messages[i].Status != before.Messages[i].Status || after.Messages[i].Content != before.Messages[i].Content {
			t.Errorf("A's message %d changed", i)
		}
	}
	if list := decode[struct {
		Conversations []conversationJSON `json:"conversations"`
	}](t, e.get(b, "/api/conversations")).Conversations; len(list) != 0 {
		t.Errorf("B lists A's conversations: %+v", list)
	}
	if list := decode[struct {
		Conversations []conversationJSON `json:"conversations"`
	}](t, e.get(b, "/api/conversations?q=secret")).Conversations; len(list) != 0 {
		t.Errorf("B finds A's messages by search: %+v", list)
	}
}

func TestCase20_BotCachePerUser(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	a := signIn(t, e, cozesim.UserAlan)
	b := signIn(t, e, cozesim.UserBea)
	type botsBody struct {
		WorkspaceID string    `json:"workspace_id"`
		Bots        []botJSON `json:"bots"`
	}
	ids := func(bb botsBody) []string {
		var out []string
		for _, x := range bb.Bots {
			out = append(out, x.ID)
		}
		return out
	}
	la := decode[botsBody](t, e.get(a, "/api/bots"))
	lb := decode[botsBody](t, e.get(b, "/api/bots"))
	if la.WorkspaceID == lb.WorkspaceID || slices.Equal(ids(la), ids(lb)) {
		t.Errorf("B got A's cached list: A %s %v, B %s %v", la.WorkspaceID, ids(la), lb.WorkspaceID, ids(lb))
	}
	// B asks for A's personal workspace: the cache must not answer it.
	before := e.sim.Calls("GET /v1/bots")
	r := e.get(b, "/api/bots?workspace_id="+cozesim.WorkspaceAlan)
	if r.status == http.StatusOK && slices.Equal(ids(decode[botsBody](t, r)), ids(la)) {
		t.Errorf("B read A's personal bots: %s", r.body)
	}
	if e.sim.Calls("GET /v1/bots") == before {
		t.Errorf("B's request for A's workspace was answered from A's cache")
	}

	// Sign-out purges A's entries: after signing in again the list is fetched.
	mustStatus(t, "logout", e.api(a, "POST", "/api/auth/logout", nil), http.StatusOK)
	mustStatus(t, "bots after logout", e.get(a, "/api/bots"), http.StatusUnauthorized)
	signInWith(t, e, a, cozesim.UserAlan)
	before = e.sim.Calls("GET /v1/bots")
	mustStatus(t, "bots again", e.get(a, "/api/bots"), http.StatusOK)
	if e.sim.Calls("GET /v1/bots") == before {
		t.Errorf("the bot list survived sign-out in the cache")
	}
}

func TestCase18_LogoutEndsSessionEverywhere(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	res := mustChat(t, e, c, cozesim.BotAssistant, "before logout", "")
	jarCookies := c.Jar.Cookies(mustURL(t, e.url))
	mustStatus(t, "logout", e.api(c, "POST", "/api/auth/logout", nil), http.StatusOK)
	// Replay the old cookie on every API route.
	old := e.newClient()
	old.Jar.SetCookies(mustURL(t, e.url), jarCookies)
	for _, r := range []req{
		{method: "GET", path: "/api/workspaces"},
		{method: "GET", path: "/api/bots"},
		{method: "GET", path: "/api/bots/" + cozesim.BotAssistant},
		{method: "POST", path: "/api/chat", ctype: "application/json", body: `{"bot_id":"` + cozesim.BotAssistant + `","message":"x"}`},
		{method: "POST", path: "/api/chat/cancel", ctype: "application/json", body: `{"conversation_id":"` + res.ConversationID + `","chat_id":"` + res.ChatID + `"}`},
		{method: "GET", path: "/api/chat/" + res.ChatID + "/stream"},
		{method: "GET", path: "/api/conversations"},
		{method: "GET", path: "/api/conversations/" + res.ConversationID + "/messages"},
		{method: "GET", path: "/api/conversations/" + res.ConversationID + "/export"},
		{method: "DELETE", path: "/api/conversations/" + res.ConversationID},
	} {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			r.hdr = map[string]string{"Sec-Fetch-Site": "same-origin"}
			got := e.send(old, r)
			mustStatus(t, "old cookie", got, http.StatusUnauthorized)
			if got.errorCode() != "unauthenticated" {
				t.Errorf("code = %q", got.errorCode())
			}
		})
	}
}
