package web

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/store"
)

// Issue 10 item 8: the history's pin, delete with Undo, marks, bot icons and
// exports named by title.

type historyList struct {
	Conversations []conversationJSON `json:"conversations"`
}

func listIDs(t *testing.T, e *testEnv, c *http.Client, query string) []string {
	t.Helper()
	r := e.get(c, "/api/conversations"+query)
	mustStatus(t, "list", r, http.StatusOK)
	var ids []string
	for _, cv := range decode[historyList](t, r).Conversations {
		ids = append(ids, cv.ID)
	}
	return ids
}

func wantErrorKey(t *testing.T, what string, r resp, status int, key string) {
	t.Helper()
	mustStatus(t, what, r, status)
	if got, _ := r.errorKey(); got != key {
		t.Errorf("%s: error key = %q, want %q (%s)", what, got, key, r.body)
	}
}

func TestHistoryPinListsFirstOnlyForTheOwner(t *testing.T) {
	t.Parallel()
	e, alan := alanSignedIn(t)
	bea := signIn(t, e, cozesim.UserBea)
	old := mustChat(t, e, alan, cozesim.BotMemory, "first talk", "")
	recent := mustChat(t, e, alan, cozesim.BotAssistant, "second talk", "")
	if got := listIDs(t, e, alan, ""); !slices.Equal(got, []string{recent.ConversationID, old.ConversationID}) {
		t.Fatalf("list = %v, want newest first", got)
	}

	pin := "/api/conversations/" + old.ConversationID + "/pin"
	r := e.api(alan, "PUT", pin, map[string]bool{"pinned": true})
	mustStatus(t, "pin", r, http.StatusOK)
	if cv := decode[conversationJSON](t, r); !cv.Pinned || cv.ID != old.ConversationID {
		t.Errorf("pin answered %+v, want it pinned", cv)
	}
	if got := listIDs(t, e, alan, ""); !slices.Equal(got, []string{old.ConversationID, recent.ConversationID}) {
		t.Errorf("list after pin = %v, want the pinned one first", got)
	}
	list := decode[historyList](t, e.get(alan, "/api/conversations")).Conversations
	if !list[0].Pinned || list[1].Pinned {
		t.Errorf("pinned flags = %v, %v; want true, false", list[0].Pinned, list[1].Pinned)
	}

	tests := []struct {
		name   string
		c      any // *http.Client
		path   string
		body   any
		status int
		key    string
	}{
		{"another user's conversation", bea, pin, map[string]bool{"pinned": false}, http.StatusNotFound, "not_found"},
		{"unknown conversation", alan, "/api/conversations/123/pin", map[string]bool{"pinned": true}, http.StatusNotFound, "not_found"},
		{"pinned missing", alan, pin, map[string]string{}, http.StatusBadRequest, "bad_request.pinned"},
		{"pinned not a boolean", alan, pin, map[string]string{"pinned": "yes"}, http.StatusBadRequest, ""},
		{"bad id", alan, "/api/conversations/abc/pin", map[string]bool{"pinned": true}, http.StatusBadRequest, "bad_request.conversation_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.api(tt.c.(*http.Client), "PUT", tt.path, tt.body)
			mustStatus(t, tt.name, r, tt.status)
			if got, _ := r.errorKey(); tt.key != "" && got != tt.key {
				t.Errorf("error key = %q, want %q", got, tt.key)
			}
		})
	}
	if got := listIDs(t, e, alan, ""); got[0] != old.ConversationID {
		t.Errorf("Bea's unpin changed Alan's list: %v", got)
	}

	mustStatus(t, "unpin", e.api(alan, "PUT", pin, map[string]bool{"pinned": false}), http.StatusOK)
	if got := listIDs(t, e, alan, ""); !slices.Equal(got, []string{recent.ConversationID, old.ConversationID}) {
		t.Errorf("list after unpin = %v, want newest first again", got)
	}
}

// TestHistoryDeleteRestoreAndPurge: a delete hides the conversation from the
// list, search, messages and export at once; restore brings it back whole;
// after the undo window the next delete purges it, here and at Coze.
func TestHistoryDeleteRestoreAndPurge(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64 // how far the server's clock runs ahead
	e := newTestEnv(t, envOpts{web: func(d *Deps) {
		d.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	}})
	alan, bea := signIn(t, e, cozesim.UserAlan), signIn(t, e, cozesim.UserBea)
	keep := mustChat(t, e, alan, cozesim.BotMemory, "keep this one", "")
	gone := mustChat(t, e, alan, cozesim.BotMemory, "needle to delete", "")
	path := "/api/conversations/" + gone.ConversationID

	wantErrorKey(t, "Bea deletes Alan's", e.api(bea, "DELETE", path, nil), http.StatusNotFound, "not_found")
	r := e.api(alan, "DELETE", path, nil)
	mustStatus(t, "delete", r, http.StatusOK)
	if got := decode[map[string]any](t, r)["undo_seconds"]; got != float64(UndoWindow/time.Second) {
		t.Errorf("undo_seconds = %v, want %v", got, UndoWindow/time.Second)
	}
	if n := e.sim.Calls("DELETE /v1/conversations/" + gone.ConversationID); n != 0 {
		t.Errorf("deleted at Coze during the undo window (%d calls)", n)
	}
	for _, q := range []string{"", "?q=needle"} {
		if got := listIDs(t, e, alan, q); slices.Contains(got, gone.ConversationID) {
			t.Errorf("list%s after delete = %v, want it hidden", q, got)
		}
	}
	for _, p := range []string{path + "/messages", path + "/export?format=md", path + "/export?format=json"} {
		wantErrorKey(t, "GET "+p+" after delete", e.get(alan, p), http.StatusNotFound, "not_found")
	}
	wantErrorKey(t, "delete again", e.api(alan, "DELETE", path, nil), http.StatusNotFound, "not_found")
	wantErrorKey(t, "Bea restores Alan's", e.api(bea, "POST", path+"/restore", nil), http.StatusNotFound, "not_found")
	wantErrorKey(t, "restore one never deleted", e.api(alan, "POST", "/api/conversations/"+keep.ConversationID+"/restore", nil), http.StatusNotFound, "not_found")

	r = e.api(alan, "POST", path+"/restore", nil)
	mustStatus(t, "restore", r, http.StatusOK)
	if cv := decode[conversationJSON](t, r); cv.ID != gone.ConversationID {
		t.Errorf("restore answered %+v", cv)
	}
	if got := listIDs(t, e, alan, "?q=needle"); !slices.Equal(got, []string{gone.ConversationID}) {
		t.Errorf("search after restore = %v", got)
	}
	if msgs := decode[messagesBody](t, e.get(alan, path+"/messages")).Messages; len(msgs) != 2 {
		t.Errorf("messages after restore = %d, want 2", len(msgs))
	}

	// Delete for good: past the window, the next delete purges it.
	mustStatus(t, "delete to keep deleted", e.api(alan, "DELETE", path, nil), http.StatusOK)
	skew.Store(int64(UndoWindow + time.Second))
	mustStatus(t, "a later delete", e.api(alan, "DELETE", "/api/conversations/"+keep.ConversationID, nil), http.StatusOK)
	if n := e.sim.Calls("DELETE /v1/conversations/" + gone.ConversationID); n != 1 {
		t.Errorf("Coze deletes after the window = %d, want 1", n)
	}
	if n := e.sim.Calls("DELETE /v1/conversations/" + keep.ConversationID); n != 0 {
		t.Errorf("the just-deleted one went to Coze already (%d calls)", n)
	}
	wantErrorKey(t, "restore after purge", e.api(alan, "POST", path+"/restore", nil), http.StatusNotFound, "not_found")
	mustStatus(t, "restore the recent one", e.api(alan, "POST", "/api/conversations/"+keep.ConversationID+"/restore", nil), http.StatusOK)
}

func TestHistoryBotIconAndReplyState(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	const icon = "https://p3-sign.byteimg.com/bot-icon.png"
	r := e.api(c, "POST", "/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": "with an icon", "bot_icon_url": icon})
	mustStatus(t, "chat with icon", r, http.StatusOK)
	conv := decode[chatResult](t, r).ConversationID
	plain := mustChat(t, e, c, cozesim.BotMemory, "without an icon", "")

	for _, bad := range []string{"javascript:alert(1)", "http://p3-sign.byteimg.com/x.png", "//evil.example/x.png", "https://x/" + strings.Repeat("a", maxIconURLBytes)} {
		r := e.api(c, "POST", "/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": "hi", "bot_icon_url": bad})
		wantErrorKey(t, "icon "+truncate(bad, 40), r, http.StatusBadRequest, "bad_request.bot_icon_url")
	}

	byID := map[string]conversationJSON{}
	for _, cv := range decode[historyList](t, e.get(c, "/api/conversations")).Conversations {
		byID[cv.ID] = cv
	}
	if got := byID[conv].BotIconURL; got != icon {
		t.Errorf("bot_icon_url = %q, want %q", got, icon)
	}
	if got := byID[plain.ConversationID].BotIconURL; got != "" {
		t.Errorf("bot_icon_url without one = %q, want empty", got)
	}
	if got := decode[messagesBody](t, e.get(c, "/api/conversations/"+conv+"/messages")).Conversation.BotIconURL; got != icon {
		t.Errorf("messages' conversation bot_icon_url = %q, want %q", got, icon)
	}
	// A later turn without the icon keeps it.
	r = e.api(c, "POST", "/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": "again", "conversation_id": conv})
	mustStatus(t, "chat without icon", r, http.StatusOK)
	if got := decode[messagesBody](t, e.get(c, "/api/conversations/"+conv+"/messages")).Conversation.BotIconURL; got != icon {
		t.Errorf("icon after a turn without one = %q, want kept", got)
	}
	if st := byID[conv].State; st != "" {
		t.Errorf("state of a complete reply = %q, want empty", st)
	}
}

func TestReplyStateMarks(t *testing.T) {
	tests := []struct{ status, want string }{
		{store.StatusStreaming, "live"},
		{store.StatusCanceled, "stopped"},
		{store.StatusFailed, "failed"},
		{store.StatusIncomplete, "failed"},
		{store.StatusComplete, ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := replyState(tt.status); got != tt.want {
			t.Errorf("replyState(%q) = %q, want %q", tt.status, got, tt.want)
		}
	}
}

func TestExportNamedByTitle(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	conv := mustChat(t, e, c, cozesim.BotAssistant, "export me", "").ConversationID
	tests := []struct {
		title, ascii, utf8Name string
	}{
		{"Tea talk: plans/2025?", "Tea talk plans 2025", "Tea talk plans 2025"},
		{`Quotes "and" back\slash`, "Quotes and back slash", "Quotes and back slash"},
		{"茶话会 计划", "conversation-" + conv, "茶话会 计划"},
		{"周报 Weekly 3", "Weekly 3", "周报 Weekly 3"},
		{"?!*", "conversation-" + conv, "conversation-" + conv},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			mustStatus(t, "rename", e.api(c, "PATCH", "/api/conversations/"+conv, map[string]string{"title": tt.title}), http.StatusOK)
			for _, format := range []string{"md", "json"} {
				r := e.get(c, "/api/conversations/"+conv+"/export?format="+format)
				mustStatus(t, "export", r, http.StatusOK)
				cd := r.header.Get("Content-Disposition")
				want := `attachment; filename="` + tt.ascii + "." + format + `"; filename*=UTF-8''`
				if !strings.HasPrefix(cd, want) {
					t.Fatalf("Content-Disposition = %q, want prefix %q", cd, want)
				}
				name, err := url.PathUnescape(strings.TrimPrefix(cd, want))
				if err != nil || name != tt.utf8Name+"."+format {
					t.Errorf("filename* = %q (%v), want %q", name, err, tt.utf8Name+"."+format)
				}
			}
		})
	}
}

// headingLevels lists the levels of the ATX headings outside fenced code.
func headingLevels(md string) []int {
	var levels []int
	inFence := false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "```") || strings.HasPrefix(line, "~~~") {
			inFence = !inFence
			continue
		}
		if m := regexp.MustCompile(`^(#{1,6}) `).FindStringSubmatch(line); m != nil && !inFence {
			levels = append(levels, len(m[1]))
		}
	}
	return levels
}

// wantOutline checks one h1 first and no heading more than one level below
// the one before it.
func wantOutline(t *testing.T, md string) {
	t.Helper()
	levels := headingLevels(md)
	if len(levels) == 0 || levels[0] != 1 || slices.Index(levels[1:], 1) >= 0 {
		t.Errorf("heading levels %v: want exactly one h1, first\n%s", levels, md)
	}
	for i := 1; i < len(levels); i++ {
		if levels[i] > levels[i-1]+1 {
			t.Errorf("heading levels %v: h%d follows h%d\n%s", levels, levels[i], levels[i-1], md)
			return
		}
	}
}

func TestExportHeadingLevels(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	// The Assistant's reply has a "## 回答 / Answer" heading, the story bot
	// a "#" title and "##" chapters.
	a := mustChat(t, e, c, cozesim.BotAssistant, "headings please", "")
	mustChat(t, e, c, cozesim.BotAssistant, "and again", a.ConversationID)
	r := e.get(c, "/api/conversations/"+a.ConversationID+"/export?format=md")
	mustStatus(t, "export", r, http.StatusOK)
	md := string(r.body)
	wantOutline(t, md)
	if !strings.Contains(md, "\n### 回答 / Answer\n") {
		t.Errorf("the reply's h2 was not moved under its message:\n%s", truncate(md, 600))
	}
}

func TestDemoteHeadings(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"h1 and h2 close up under h2", "# Plan\ntext\n## Step", "### Plan\ntext\n#### Step"},
		{"a lone h2 becomes h3", "## Answer\n\nbody", "### Answer\n\nbody"},
		{"gaps close", "# A\n#### B", "### A\n#### B"},
		{"a deep first heading comes up", "#### Deep\n# Top", "### Deep\n### Top"},
		{"capped at h6", "# 1\n## 2\n### 3\n#### 4\n##### 5", "### 1\n#### 2\n##### 3\n###### 4\n###### 5"},
		{"closing hashes dropped", "# Title ##", "### Title"},
		{"C# keeps its hash", "# Learn C#", "### Learn C#"},
		{"setext", "Big\n===\n\nSmall\n---", "### Big\n\n#### Small"},
		{"code untouched", "```\n# not a heading\n```\n# real", "```\n# not a heading\n```\n### real"},
		{"no heading", "#hashtag and text", "#hashtag and text"},
		{"thematic break after blank", "para\n\n---\n", "para\n\n---\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := demoteHeadings(tt.in); got != tt.want {
				t.Errorf("demoteHeadings(%q) =\n%q\nwant\n%q", tt.in, got, tt.want)
			}
		})
	}
}

func TestExportUntitledHasAHeading(t *testing.T) {
	c := store.Conversation{ID: "7450000000000000001", BotID: "1", Title: ""}
	md := renderMarkdownExport("en", c, []store.Message{{Role: "assistant", Content: "# Hi", Status: "complete"}}, false)
	if !strings.HasPrefix(md, "# Untitled conversation\n") {
		t.Errorf("untitled export starts %q", truncate(md, 60))
	}
	wantOutline(t, md)
}

// The app's sweep purges through PurgeDeleted: a conversation deleted and
// left alone past its undo window goes at Coze too, not only here, even if
// nobody deletes anything else.
func TestPurgeDeletedReachesCozeWithoutAnotherDelete(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	e := newTestEnv(t, envOpts{web: func(d *Deps) {
		d.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	}})
	alan := signIn(t, e, cozesim.UserAlan)
	gone := mustChat(t, e, alan, cozesim.BotMemory, "delete and walk away", "")
	path := "/api/conversations/" + gone.ConversationID
	mustStatus(t, "delete", e.api(alan, "DELETE", path, nil), http.StatusOK)

	PurgeDeleted(t.Context(), e.deps)
	if n := e.sim.Calls("DELETE /v1/conversations/" + gone.ConversationID); n != 0 {
		t.Fatalf("purged within the undo window (%d Coze deletes)", n)
	}
	skew.Store(int64(UndoWindow + time.Second))
	PurgeDeleted(t.Context(), e.deps)
	if n := e.sim.Calls("DELETE /v1/conversations/" + gone.ConversationID); n != 1 {
		t.Errorf("Coze deletes after the window = %d, want 1", n)
	}
	wantErrorKey(t, "restore after the sweep", e.api(alan, "POST", path+"/restore", nil), http.StatusNotFound, "not_found")
}
