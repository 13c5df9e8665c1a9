package cozesim

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// restarted snapshots e's simulator and restores it into a fresh one on
// another server, as the demo does across a restart.
func restarted(tb testing.TB, e *env) *env {
	tb.Helper()
	snap, err := e.sim.Snapshot()
	if err != nil {
		tb.Fatal(err)
	}
	e2 := mustEnv(tb, Options{})
	if err := e2.sim.Restore(snap); err != nil {
		tb.Fatal(err)
	}
	return e2
}

func memoryAnswer(tb testing.TB, e *env, tok, convID, chatID string) string {
	tb.Helper()
	ml := e.mustOK(tb, http.MethodGet, "/v3/chat/message/list?conversation_id="+convID+"&chat_id="+chatID, tok, nil)
	for _, it := range ml["data"].([]any) {
		if m := it.(map[string]any); str(m, "type") == "answer" {
			return str(m, "content")
		}
	}
	return ""
}

// Every kind of durable state survives Snapshot and Restore: tokens (access
// and refresh), conversations (a follow-up remembers earlier turns), chats
// and their messages, uploaded files, created and published bots; new ids
// continue after the old ones.
func TestSnapshotRestore_StateSurvives(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, Options{})
	access, refresh := e.sim.IssueToken(UserBea)
	convID := e.sim.NewConversation(UserBea, BotMemory)
	first := dataMap(e.mustOK(t, http.MethodPost, "/v3/chat?conversation_id="+convID, access, chatBodyFor(BotMemory, "apple", false)))
	memoryAnswer(t, e, access, convID, str(first, "id")) // settles the chat
	up, _ := e.upload(t, access, "file", map[string][]byte{"hoodie.jpg": []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00 jpeg")})
	fileID := str(dataMap(up), "id")
	created := str(dataMap(e.mustOK(t, http.MethodPost, "/v1/bot/create", access, map[string]any{
		"space_id": WorkspaceBea, "name": "Chef", "model_info_config": map[string]any{"model_id": "1738675210"}})), "bot_id")
	alan, _ := e.sim.IssueToken(UserAlan)
	e.mustOK(t, http.MethodPost, "/v1/bot/publish", alan, map[string]any{"bot_id": BotDraft, "connector_ids": []string{"1024"}})
	highest := created

	r := restarted(t, e)
	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"access token", func(t *testing.T) { r.mustOK(t, http.MethodGet, "/v1/users/me", access, nil) }},
		{"refresh token", func(t *testing.T) {
			if res := r.refreshCall(t, DefaultApp(), refresh); res.Access == "" {
				t.Errorf("refresh after restore: %s", res.raw)
			}
		}},
		{"chat and its messages", func(t *testing.T) {
			ch := dataMap(r.mustOK(t, http.MethodGet, "/v3/chat/retrieve?conversation_id="+convID+"&chat_id="+str(first, "id"), access, nil))
			if str(ch, "status") != "completed" {
				t.Errorf("restored chat status %q", str(ch, "status"))
			}
			if a := memoryAnswer(t, r, access, convID, str(first, "id")); !strings.HasPrefix(a, "This is turn 1.") {
				t.Errorf("restored answer %q", a)
			}
		}},
		{"conversation continues", func(t *testing.T) {
			next := dataMap(r.mustOK(t, http.MethodPost, "/v3/chat?conversation_id="+convID, access, chatBodyFor(BotMemory, "banana", false)))
			if a := memoryAnswer(t, r, access, convID, str(next, "id")); !strings.HasPrefix(a, "This is turn 2.") || !strings.Contains(a, "apple") {
				t.Errorf("follow-up answer %q, want turn 2 remembering apple", a)
			}
			if str(next, "id") <= highest {
				t.Errorf("new chat id %s does not come after %s", str(next, "id"), highest)
			}
		}},
		{"uploaded file", func(t *testing.T) {
			if kind, ok := r.sim.fileKind(fileID); !ok || kind != "image" {
				t.Errorf("file %s: kind %q, known %v", fileID, kind, ok)
			}
		}},
		{"created bot", func(t *testing.T) {
			b := dataMap(r.mustOK(t, http.MethodGet, "/v1/bots/"+created+"?is_published=false", access, nil))
			if str(b, "name") != "Chef" {
				t.Errorf("created bot name %q", str(b, "name"))
			}
		}},
		{"published demo draft", func(t *testing.T) {
			r.mustOK(t, http.MethodPost, "/v3/chat", alan, chatBodyFor(BotDraft, "hi", false))
		}},
		{"new ids", func(t *testing.T) {
			if id := r.sim.NewConversation(UserBea, BotMemory); id <= highest {
				t.Errorf("new conversation id %s does not come after %s", id, highest)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.check)
	}
}

// Without a restore the state is the demo data only: the old token is unknown.
func TestSnapshotRestore_FreshSimForgets(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, Options{})
	access, _ := e.sim.IssueToken(UserBea)
	fresh := mustEnv(t, Options{})
	if m := fresh.api(t, http.MethodGet, "/v1/users/me", access, nil); code(m) != 4100 {
		t.Errorf("token on a fresh simulator: code %d, want 4100", code(m))
	}
}

// A snapshot leaves out what is dead or not durable: expired and revoked
// tokens, the request log; a chat cut off mid-stream comes back canceled.
func TestSnapshot_LeavesOutDeadState(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, Options{})
	live, _ := e.sim.IssueToken(UserAlan)
	dead, _ := e.sim.IssueToken(UserBea)
	e.sim.ExpireAccessTokens(UserBea)
	convID := e.sim.NewConversation(UserAlan, BotAssistant)
	e.sim.mu.Lock()
	running := &chat{ID: e.sim.newIDLocked(), ConvID: convID, BotID: BotAssistant, UserID: UserAlan, Status: statusInProgress, Stream: true, AutoSave: true}
	e.sim.chats[running.ID] = running
	e.sim.convs[convID].Chats = append(e.sim.convs[convID].Chats, running.ID)
	e.sim.mu.Unlock()
	e.mustOK(t, http.MethodGet, "/v1/users/me", live, nil)

	snap, err := e.sim.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(snap), "/v1/users/me") {
		t.Errorf("snapshot holds the request log")
	}
	var got snapshot
	if err := json.Unmarshal(snap, &got); err != nil {
		t.Fatal(err)
	}
	if got.Access[dead] != nil || got.Access[live] == nil {
		t.Errorf("snapshot access tokens: revoked kept %v, live kept %v", got.Access[dead] != nil, got.Access[live] != nil)
	}
	r := mustEnv(t, Options{})
	if err := r.sim.Restore(snap); err != nil {
		t.Fatal(err)
	}
	ch := dataMap(r.mustOK(t, http.MethodGet, "/v3/chat/retrieve?conversation_id="+convID+"&chat_id="+running.ID, live, nil))
	if str(ch, "status") != statusCanceled {
		t.Errorf("chat running at snapshot: status %q after restore, want canceled", str(ch, "status"))
	}
}

// The snapshot is bounded: however many conversations, it keeps the newest
// maxSnapshotConvs and stays under maxSnapshotBytes.
func TestSnapshot_Bounded(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, Options{})
	big := strings.Repeat("x", 24<<10)
	var newestID string
	for range maxSnapshotConvs + 50 {
		newestID = e.sim.NewConversation(UserAlan, BotAssistant)
		e.sim.mu.Lock()
		c := e.sim.convs[newestID]
		c.Messages = append(c.Messages, &message{ID: e.sim.newIDLocked(), ConversationID: c.ID, Role: "user", Type: "question", Content: big, ContentType: "text"})
		e.sim.mu.Unlock()
	}
	snap, err := e.sim.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if len(snap) > maxSnapshotBytes {
		t.Errorf("snapshot is %d bytes, cap %d", len(snap), maxSnapshotBytes)
	}
	var got snapshot
	if err := json.Unmarshal(snap, &got); err != nil {
		t.Fatal(err)
	}
	if n := len(got.Convs); n == 0 || n > maxSnapshotConvs {
		t.Errorf("snapshot keeps %d conversations, want 1..%d", n, maxSnapshotConvs)
	}
	if got.Convs[0].ID != newestID {
		t.Errorf("first kept conversation %s, want the newest %s", got.Convs[0].ID, newestID)
	}
}

// Restore refuses what it cannot serve, and OnChange fires after a change
// but not after a read.
func TestSnapshot_RestoreRefusesAndOnChange(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{`{`, `{"format":99}`, `{"format":1,"conversations":[null]}`, `{"format":1,"bots":[{"ID":""}]}`} {
		if err := New(Options{}).Restore([]byte(bad)); err == nil {
			t.Errorf("Restore(%s) = nil, want an error", bad)
		}
	}
	var changes atomic.Int32
	e := mustEnv(t, Options{OnChange: func() { changes.Add(1) }, ChatDelay: time.Second})
	tok, _ := e.sim.IssueToken(UserAlan)
	e.mustOK(t, http.MethodGet, "/v1/users/me", tok, nil)
	if n := changes.Load(); n != 0 {
		t.Errorf("a read fired OnChange %d times", n)
	}
	e.mustOK(t, http.MethodPost, "/v3/chat", tok, chatBodyFor(BotAssistant, "hi", false))
	if n := changes.Load(); n != 1 {
		t.Errorf("a chat fired OnChange %d times, want 1", n)
	}
}

// BenchmarkSnapshot measures one save's Snapshot of a busy demo: 500
// conversations of 20 messages of 500 bytes each (about 5 MB of text).
func BenchmarkSnapshot(b *testing.B) {
	s := New(Options{})
	text := strings.Repeat("y", 500)
	for range maxSnapshotConvs {
		id := s.NewConversation(UserAlan, BotAssistant)
		s.mu.Lock()
		c := s.convs[id]
		for range 20 {
			c.Messages = append(c.Messages, &message{ID: s.newIDLocked(), ConversationID: id, Role: "user", Type: "question", Content: text, ContentType: "text"})
		}
		s.mu.Unlock()
	}
	var size int
	for b.Loop() {
		snap, err := s.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		size = len(snap)
	}
	b.ReportMetric(float64(size), "bytes/snapshot")
}
