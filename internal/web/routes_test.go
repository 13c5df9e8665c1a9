package web

import (
	"bytes"
	"encoding/json"
	"maps"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/chat"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// Happy paths for every route in routes.go.

func TestStatus_Shape(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := e.newClient()

	var anon map[string]any
	r := e.get(c, "/api/auth/status")
	mustStatus(t, "status", r, http.StatusOK)
	if err := json.Unmarshal(r.body, &anon); err != nil {
		t.Fatal(err)
	}
	wantKeys(t, "anonymous status", anon, "authenticated", "demo", "user")
	if anon["authenticated"] != false || anon["user"] != nil || anon["demo"] != false {
		t.Errorf("anonymous status = %v, want authenticated:false user:null demo:false", anon)
	}

	signInWith(t, e, c, cozesim.UserAlan)
	var st map[string]any
	if err := json.Unmarshal(e.get(c, "/api/auth/status").body, &st); err != nil {
		t.Fatal(err)
	}
	wantKeys(t, "status", st, "authenticated", "demo", "user")
	u, ok := st["user"].(map[string]any)
	if !ok {
		t.Fatalf("user = %v, want an object", st["user"])
	}
	wantKeys(t, "status.user", u, "avatar_url", "id", "name")
	if u["id"] != cozesim.UserAlan || u["name"] != "Alan" {
		t.Errorf("user = %v, want id %s name Alan", u, cozesim.UserAlan)
	}
}

// wantKeys checks that m has exactly the keys want (sorted).
func wantKeys(t testing.TB, what string, m map[string]any, want ...string) {
	t.Helper()
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("%s keys = %v, want %v", what, got, want)
	}
}

func TestWorkspacesAndBots(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)

	r := e.get(c, "/api/workspaces")
	mustStatus(t, "workspaces", r, http.StatusOK)
	ws := decode[struct {
		Workspaces []workspaceJSON `json:"workspaces"`
	}](t, r).Workspaces
	var ids []string
	for _, w := range ws {
		ids = append(ids, w.ID)
	}
	if !slices.Contains(ids, cozesim.WorkspaceAlan) || !slices.Contains(ids, cozesim.WorkspaceTeam) {
		t.Errorf("workspaces = %v, want Alan's personal and the team workspace", ids)
	}

	type botsBody struct {
		WorkspaceID string    `json:"workspace_id"`
		Bots        []botJSON `json:"bots"`
	}
	// Default: the personal workspace.
	r = e.get(c, "/api/bots")
	mustStatus(t, "bots", r, http.StatusOK)
	def := decode[botsBody](t, r)
	if def.WorkspaceID != cozesim.WorkspaceAlan || len(def.Bots) == 0 {
		t.Errorf("default bots: workspace %q with %d bots, want %s with some", def.WorkspaceID, len(def.Bots), cozesim.WorkspaceAlan)
	}
	// Explicit workspace.
	r = e.get(c, "/api/bots?workspace_id="+cozesim.WorkspaceTeam)
	mustStatus(t, "team bots", r, http.StatusOK)
	team := decode[botsBody](t, r)
	var teamIDs []string
	for _, b := range team.Bots {
		teamIDs = append(teamIDs, b.ID)
	}
	for _, want := range []string{cozesim.BotAssistant, cozesim.BotMemory, cozesim.BotDraft} {
		if !slices.Contains(teamIDs, want) {
			t.Errorf("team bots %v lack %s", teamIDs, want)
		}
	}
	// Cached: a second call makes no upstream call.
	before := e.sim.Calls("GET /v1/bots")
	r = e.get(c, "/api/bots?workspace_id="+cozesim.WorkspaceTeam)
	mustStatus(t, "team bots again", r, http.StatusOK)
	if got := e.sim.Calls("GET /v1/bots"); got != before {
		t.Errorf("GET /v1/bots calls after a cached list = %d, want %d", got, before)
	}
	if !bytes.Equal(r.body, mustJSON(t, team)) && len(decode[botsBody](t, r).Bots) != len(team.Bots) {
		t.Errorf("cached list differs from the first answer")
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func TestBotDetails(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	type botDetail struct {
		ID                 string   `json:"id"`
		Name               string   `json:"name"`
		Prologue           string   `json:"prologue"`
		SuggestedQuestions []string `json:"suggested_questions"`
	}
	tests := []struct {
		name, id string
	}{
		{"published", cozesim.BotAssistant},
		{"draft only", cozesim.BotDraft},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.get(c, "/api/bots/"+tt.id)
			mustStatus(t, "bot", r, http.StatusOK)
			var raw map[string]any
			_ = json.Unmarshal(r.body, &raw)
			wantKeys(t, "bot", raw, "description", "icon_url", "id", "model", "name", "prologue", "suggested_questions", "updated_at")
			b := decode[botDetail](t, r)
			if b.ID != tt.id || b.Prologue == "" || len(b.SuggestedQuestions) == 0 {
				t.Errorf("bot = %+v, want id %s with a prologue and suggested questions", b, tt.id)
			}
		})
	}
}

func TestChat_NonStream(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	r := e.api(c, "POST", "/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": "hello there", "stream": false})
	mustStatus(t, "chat", r, http.StatusOK)
	var raw map[string]any
	_ = json.Unmarshal(r.body, &raw)
	wantKeys(t, "chat", raw, "answer", "cards", "chat_id", "conversation_id", "follow_ups", "question", "reasoning", "usage")
	res := decode[chatResult](t, r)
	if res.Reasoning != "" || len(res.Cards) != 0 || string(res.Question) != "null" || string(r.body) == "" || !strings.Contains(string(r.body), `"cards":[]`) {
		t.Errorf("parts = %q %s %s, want none: reasoning \"\", cards [], question null", res.Reasoning, res.Cards, res.Question)
	}
	switch {
	case !isDigits(res.ConversationID, 30) || !isDigits(res.ChatID, 30):
		t.Errorf("ids = %q/%q, want digits", res.ConversationID, res.ChatID)
	case !strings.Contains(res.Answer, "hello there"):
		t.Errorf("answer %q does not echo the question", truncate(res.Answer, 200))
	case len(res.FollowUps) == 0:
		t.Errorf("follow_ups empty")
	case res.Usage == nil || res.Usage.TokenCount == 0:
		t.Errorf("usage = %+v, want token counts", res.Usage)
	}
}

func TestChat_Stream(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	r, evs := mustStream(t, e, c, cozesim.BotAssistant, "stream please", "")
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("Content-Type = %q, want text/event-stream", ct)
	}
	// Our events only (docs/stream-contract.md): chat first, deltas, follow-ups,
	// end last.
	names := map[string]int{}
	firstDelta := -1
	for i, ev := range evs {
		if ev.id == "" {
			t.Errorf("event %d (%s) has no id: line", i, ev.name)
		}
		names[ev.name]++
		if ev.name == "delta" && firstDelta < 0 {
			firstDelta = i
		}
		if strings.HasPrefix(ev.name, "conversation.") || ev.name == "done" || strings.Contains(ev.data, `"content_type"`) {
			t.Errorf("event %d is Coze's: %s %s", i, ev.name, truncate(ev.data, 200))
		}
	}
	for _, want := range []string{"chat", "delta", "follow_up", "end"} {
		if names[want] == 0 {
			t.Errorf("no %q event; got %v", want, names)
		}
	}
	if evs[0].name != "chat" || firstDelta < 0 || names["end"] != 1 {
		t.Errorf("events %v, first delta at %d; want chat first, deltas, one end", names, firstDelta)
	}
	if end := endOf(t, evs); end.Status != "completed" || end.Code != "" || len(end.Usage) == 0 {
		t.Errorf("end = %+v, want completed with usage", end)
	}
	for i, ev := range evs {
		if want := strconv.Itoa(i + 1); ev.id != want {
			t.Errorf("event %d id = %q, want %q", i, ev.id, want)
			break
		}
	}
	if got := deltaText(t, evs); !strings.Contains(got, "stream please") {
		t.Errorf("deltas %q do not carry the answer", truncate(got, 200))
	}
}

func TestChat_MultiTurnMemory(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	first := mustChat(t, e, c, cozesim.BotMemory, "My name is Ming", "")
	second := mustChat(t, e, c, cozesim.BotMemory, "What did I say?", first.ConversationID)
	if second.ConversationID != first.ConversationID {
		t.Errorf("conversation_id = %s, want %s", second.ConversationID, first.ConversationID)
	}
	if !strings.Contains(second.Answer, "turn 2") || !strings.Contains(second.Answer, "My name is Ming") {
		t.Errorf("second answer %q does not remember the first turn", second.Answer)
	}
	_, evs := mustStream(t, e, c, cozesim.BotMemory, "And now?", first.ConversationID)
	if got := deltaText(t, evs); !strings.Contains(got, "turn 3") {
		t.Errorf("streamed third answer %q, want turn 3", got)
	}
}

func TestChat_Cancel(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	res, convID, chatID := openStream(t, e, c, cozesim.BotSlow, "Tell me a story")
	defer res.Body.Close()
	readEvents(t, res.Body, func(ev sseEvent) bool { return ev.name == "delta" })

	r := e.api(c, "POST", "/api/chat/cancel", map[string]string{"conversation_id": convID, "chat_id": chatID})
	mustStatus(t, "cancel", r, http.StatusOK)
	got := decode[map[string]any](t, r)
	if got["ok"] != true || got["status"] != "canceled" {
		t.Errorf("cancel = %v, want ok:true status:canceled", got)
	}
	if n := e.sim.Calls("POST /v3/chat/cancel"); n != 1 {
		t.Errorf("sim /v3/chat/cancel calls = %d, want 1", n)
	}
	// The relay ends (does not run the whole story).
	rest := readEvents(t, res.Body, nil)
	if end := endOf(t, rest); end.Status != "canceled" || strings.Contains(deltaText(t, rest), "The end") {
		t.Errorf("the relay ended with %+v after cancel, want canceled before the story's end", end)
	}
	msgs := decode[messagesBody](t, e.get(c, "/api/conversations/"+convID+"/messages"))
	if n := len(msgs.Messages); n != 2 || msgs.Messages[1].Status != "canceled" {
		t.Errorf("messages after cancel = %+v, want the reply recorded as canceled", msgs.Messages)
	}
}

type messagesBody struct {
	Conversation conversationJSON `json:"conversation"`
	Messages     []messageJSON    `json:"messages"`
}

func TestChat_Resume(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	_, evs := mustStream(t, e, c, cozesim.BotAssistant, "resume me", "")
	_, chatID := chatIDs(t, evs)
	if len(evs) < 6 {
		t.Fatalf("only %d events", len(evs))
	}
	tests := []struct {
		name       string
		hdr        map[string]string
		query      string
		wantStatus int
		wantFrom   int // index into evs of the first resumed event
	}{
		{"header", map[string]string{"Last-Event-ID": "3"}, "", 200, 3},
		{"query", nil, "?last_event_id=5", 200, 5},
		{"from start", nil, "", 200, 0},
		{"garbage", map[string]string{"Last-Event-ID": "abc"}, "", 400, 0},
		{"negative", map[string]string{"Last-Event-ID": "-1"}, "", 400, 0},
		{"future", map[string]string{"Last-Event-ID": "999999"}, "", 400, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{"Sec-Fetch-Site": "same-origin"}
			for k, v := range tt.hdr {
				hdr[k] = v
			}
			r := e.send(c, req{method: "GET", path: "/api/chat/" + chatID + "/stream" + tt.query, hdr: hdr})
			mustStatus(t, "resume", r, tt.wantStatus)
			if tt.wantStatus != 200 {
				if code := r.errorCode(); code != "bad_request" {
					t.Errorf("code = %q, want bad_request", code)
				}
				return
			}
			got := parseSSE(t, r.body)
			want := evs[tt.wantFrom:]
			if len(got) != len(want) {
				t.Fatalf("resumed %d events, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
				}
			}
		})
	}
}

func TestConversations_Lifecycle(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	a := mustChat(t, e, c, cozesim.BotMemory, "I like green tea", "")
	mustChat(t, e, c, cozesim.BotMemory, "and jasmine", a.ConversationID)
	b := mustChat(t, e, c, cozesim.BotAssistant, "unrelated question", "")

	type listBody struct {
		Conversations []conversationJSON `json:"conversations"`
	}
	list := decode[listBody](t, e.get(c, "/api/conversations")).Conversations
	if len(list) != 2 {
		t.Fatalf("conversations = %+v, want 2", list)
	}
	for _, cv := range list {
		if cv.Title == "" || cv.BotID == "" || cv.CreatedAt == "" || cv.UpdatedAt == "" {
			t.Errorf("conversation %+v lacks fields", cv)
		}
	}
	tests := []struct {
		name, query string
		want        []string
	}{
		{"by text in a later message", "?q=jasmine", []string{a.ConversationID}},
		{"by title, any case", "?q=GREEN", []string{a.ConversationID}},
		{"by bot", "?bot_id=" + cozesim.BotAssistant, []string{b.ConversationID}},
		{"no match", "?q=zzzz-nothing", nil},
		{"like wildcard is literal", "?q=%25", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.get(c, "/api/conversations"+tt.query)
			mustStatus(t, "list", r, http.StatusOK)
			var got []string
			for _, cv := range decode[listBody](t, r).Conversations {
				got = append(got, cv.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ids = %v, want %v", got, tt.want)
			}
		})
	}

	msgs := decode[messagesBody](t, e.get(c, "/api/conversations/"+a.ConversationID+"/messages"))
	var roles []string
	for _, m := range msgs.Messages {
		roles = append(roles, m.Role)
	}
	if !slices.Equal(roles, []string{"user", "assistant", "user", "assistant"}) {
		t.Errorf("roles = %v", roles)
	}
	if msgs.Messages[0].Content != "I like green tea" || msgs.Messages[3].Status != "complete" || msgs.Messages[3].ChatID == "" {
		t.Errorf("messages = %+v", msgs.Messages)
	}

	r := e.api(c, "PATCH", "/api/conversations/"+a.ConversationID, map[string]string{"title": "Tea talk"})
	mustStatus(t, "rename", r, http.StatusOK)
	if got := decode[conversationJSON](t, r).Title; got != "Tea talk" {
		t.Errorf("renamed title = %q", got)
	}

	for _, f := range []struct{ format, ctype string }{{"md", "text/markdown; charset=utf-8"}, {"json", "application/json; charset=utf-8"}} {
		r := e.get(c, "/api/conversations/"+a.ConversationID+"/export?format="+f.format)
		mustStatus(t, "export "+f.format, r, http.StatusOK)
		if got := r.header.Get("Content-Type"); got != f.ctype {
			t.Errorf("export %s Content-Type = %q, want %q", f.format, got, f.ctype)
		}
		if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, "."+f.format+`"`) {
			t.Errorf("export %s Content-Disposition = %q", f.format, cd)
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("export %s headers = %v", f.format, r.header)
		}
		if !strings.Contains(string(r.body), "Tea talk") || !strings.Contains(string(r.body), "jasmine") {
			t.Errorf("export %s lacks the title or text: %s", f.format, truncate(string(r.body), 300))
		}
	}

	r = e.api(c, "DELETE", "/api/conversations/"+a.ConversationID, nil)
	mustStatus(t, "delete", r, http.StatusOK)
	// At Coze it goes when the undo window has passed (history_test.go).
	if n := e.sim.Calls("DELETE /v1/conversations/" + a.ConversationID); n != 0 {
		t.Errorf("sim conversation deletes = %d during the undo window, want 0", n)
	}
	mustStatus(t, "messages after delete", e.get(c, "/api/conversations/"+a.ConversationID+"/messages"), http.StatusNotFound)
	if list := decode[listBody](t, e.get(c, "/api/conversations")).Conversations; len(list) != 1 || list[0].ID != b.ConversationID {
		t.Errorf("after delete list = %+v", list)
	}
}

// pngBytes is a valid 1×1 PNG.
var pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" +
	"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")

// multipartBody builds a form with one file part (and extra fields).
// uploadFile posts data as the file part of POST /api/files from the page
// (same-origin), with the extra headers hdr.
func uploadFile(t testing.TB, e *testEnv, c *http.Client, filename string, data []byte, hdr map[string]string) resp {
	ct, body := multipartBody(t, "file", filename, data)
	h := map[string]string{"Sec-Fetch-Site": "same-origin"}
	maps.Copy(h, hdr)
	return e.send(c, req{method: "POST", path: "/api/files", ctype: ct, body: body, hdr: h})
}

func multipartBody(t testing.TB, field, filename string, data []byte) (ctype, body string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+field+`"; filename="`+filename+`"`)
	h.Set("Content-Type", "application/octet-stream")
	pw, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = pw.Write(data)
	_ = mw.Close()
	return mw.FormDataContentType(), b.String()
}

func TestFiles_Upload(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	r := uploadFile(t, e, c, "pixel.png", pngBytes, nil)
	mustStatus(t, "upload", r, http.StatusOK)
	f := decode[struct {
		ID       string `json:"id"`
		FileName string `json:"file_name"`
		Bytes    int64  `json:"bytes"`
	}](t, r)
	if !isDigits(f.ID, 30) || f.FileName != "pixel.png" || f.Bytes != int64(len(pngBytes)) {
		t.Errorf("upload = %+v, want digits id, pixel.png, %d bytes", f, len(pngBytes))
	}
	// The file id is accepted in a chat turn.
	r = e.api(c, "POST", "/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": "see file", "file_ids": []string{f.ID}})
	mustStatus(t, "chat with file", r, http.StatusOK)
}

func TestHealthReadyMetrics(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := e.newClient()
	tests := []struct {
		path, want string
	}{
		{"/healthz", `"ok"`},
		{"/readyz", `"ready"`},
	}
	e.get(c, "/api/auth/status") // something for the metrics to count
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := e.get(c, tt.path)
			mustStatus(t, tt.path, r, http.StatusOK)
			if !strings.Contains(string(r.body), tt.want) {
				t.Errorf("%s body %q lacks %q", tt.path, truncate(string(r.body), 200), tt.want)
			}
		})
	}
}

func TestIndexAndStatic(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := e.newClient()
	r := e.get(c, "/")
	mustStatus(t, "index", r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("index Content-Type = %q", ct)
	}
	r = e.get(c, "/static/js/main.js")
	mustStatus(t, "main.js", r, http.StatusOK)
	etag := r.header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on a static file")
	}
	r = e.send(c, req{method: "GET", path: "/static/js/main.js", hdr: map[string]string{"If-None-Match": etag}})
	mustStatus(t, "main.js revalidated", r, http.StatusNotModified)
	mustStatus(t, "index via static", e.get(c, "/static/index.html"), http.StatusNotFound)
}

// A browser that drops a live stream and comes back with Last-Event-ID gets
// every later event exactly once (catalog case 52 through the route).
func TestChat_ResumeLive(t *testing.T) {
	t.Parallel()
	e, c := alanSignedIn(t)
	e.sim.AddFault(cozesim.Fault{Endpoint: "POST /v3/chat", Times: 1, DeltaDelay: 15 * time.Millisecond})
	res := postOpen(t, e, c, "/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": "resume live", "stream": true})
	deltas := 0
	head := readEvents(t, res.Body, func(ev sseEvent) bool {
		if ev.name == "delta" {
			deltas++
		}
		return deltas == 3
	})
	res.Body.Close() // the tab goes away mid-reply
	_, chatID := chatIDs(t, head)
	last := head[len(head)-1].id

	r := e.send(c, req{method: "GET", path: "/api/chat/" + chatID + "/stream",
		hdr: map[string]string{"Sec-Fetch-Site": "same-origin", "Last-Event-ID": last}})
	mustStatus(t, "resume", r, http.StatusOK)
	tail := parseSSE(t, r.body)
	all := append(head, tail...)
	for i, ev := range all {
		if ev.id != strconv.Itoa(i+1) {
			t.Fatalf("event %d has id %q, want %d (gap or repeat)", i, ev.id, i+1)
		}
	}
	if end := endOf(t, all); end.Status != "completed" {
		t.Errorf("resumed stream ends with %+v, want completed", end)
	}
	full := mustChat(t, e, c, cozesim.BotAssistant, "resume live", "")
	if got := deltaText(t, all); got != full.Answer {
		t.Errorf("head+resumed deltas differ from a full answer:\n%q\n%q", truncate(got, 200), truncate(full.Answer, 200))
	}
}

// A resume position older than what the run's bounded event log still holds
// is a JSON 400, not an empty 200 (chat.ServeSSE reports it before writing).
func TestChat_ResumeBeyondTheLog(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{chat: func(o *chat.Options) { o.MaxLogBytes = 600 }})
	c := signIn(t, e, cozesim.UserAlan)
	res := mustChat(t, e, c, cozesim.BotAssistant, "a long enough answer", "")
	for _, last := range []string{"", "1"} {
		t.Run("Last-Event-ID="+last, func(t *testing.T) {
			hdr := map[string]string{"Sec-Fetch-Site": "same-origin"}
			if last != "" {
				hdr["Last-Event-ID"] = last
			}
			r := e.send(c, req{method: "GET", path: "/api/chat/" + res.ChatID + "/stream", hdr: hdr})
			mustStatus(t, "resume", r, http.StatusBadRequest)
			if r.errorCode() != "bad_request" {
				t.Errorf("code = %q, want bad_request", r.errorCode())
			}
		})
	}
}

// Issue 10 item 1: conversations, bots and workflows have addresses served by
// the page itself; other page paths are the page's designed 404, never JSON;
// /api/ and /static/ keep the JSON 404; every answer has the security headers.
func TestPageAddresses(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	anon := e.newClient()
	const page, json = "text/html; charset=utf-8", "application/json; charset=utf-8"
	for _, tt := range []struct {
		method, path string
		status       int
		ctype        string
	}{
		{"GET", "/c/7501234567890123456", 200, page},
		{"GET", "/b/7480000000000000001", 200, page},
		{"GET", "/w/7490000000000000001", 200, page},
		{"HEAD", "/c/1", 200, page},
		{"GET", "/c/abc", 404, page},                        // not a Coze id
		{"GET", "/b/" + strings.Repeat("1", 31), 404, page}, // too long for one
		{"GET", "/w/1%3Cscript%3E", 404, page},              // ids are digits only
		{"GET", "/c/1/extra", 404, page},                    // no deeper paths
		{"GET", "/nope", 404, page},                         // unknown page path
		{"GET", "/settings/", 404, page},                    // unknown page path
		{"HEAD", "/nope", 404, page},                        // HEAD too
		{"GET", "/api/nope", 404, json},                     // the API keeps JSON
		{"GET", "/api/c/1", 404, json},                      // even for page-like ids
		{"GET", "/static/nope.js", 404, json},               // assets keep JSON
		{"POST", "/nope", 404, json},                        // not a page load
		{"POST", "/c/1", 405, json},                         // routed for GET only
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := e.send(anon, req{method: tt.method, path: tt.path, hdr: map[string]string{"Sec-Fetch-Site": "same-origin"}})
			mustStatus(t, tt.path, r, tt.status)
			if ct := r.header.Get("Content-Type"); ct != tt.ctype {
				t.Errorf("Content-Type = %q, want %q", ct, tt.ctype)
			}
			checkCSP(t, r.header.Get("Content-Security-Policy"))
			for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
				if got := r.header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			switch {
			case tt.method == "HEAD":
				if len(r.body) != 0 {
					t.Errorf("HEAD body = %d bytes, want none", len(r.body))
				}
			case tt.ctype == page:
				if !strings.Contains(string(r.body), `<script type="module" src="/static/js/main.js?v=`) {
					t.Errorf("body is not the page: %.200s", r.body)
				}
				if cc := r.header.Get("Cache-Control"); cc != "no-cache" {
					t.Errorf("Cache-Control = %q, want no-cache", cc)
				}
			default:
				if r.errorCode() == "" {
					t.Errorf("body is not our JSON error: %.200s", r.body)
				}
			}
		})
	}
}

// The page at an address revalidates like the page at /: same ETag, 304.
func TestPageAddressETag(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := e.newClient()
	root := e.send(c, req{method: "GET", path: "/"})
	tag := root.header.Get("ETag")
	conv := e.send(c, req{method: "GET", path: "/c/123"})
	if tag == "" || conv.header.Get("ETag") != tag || string(conv.body) != string(root.body) {
		t.Fatalf("/c/123 ETag %q, / ETag %q (bodies equal: %v)", conv.header.Get("ETag"), tag, string(conv.body) == string(root.body))
	}
	mustStatus(t, "revalidate", e.send(c, req{method: "GET", path: "/c/123", hdr: map[string]string{"If-None-Match": tag}}), http.StatusNotModified)
}

// Issue 10 items 3 and 4: the page learns its limits from the server, the
// same numbers the server enforces, and where Coze's site is.
func TestPageConfig(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{maxUpload: 3 << 20, web: func(d *Deps) { d.Region = "com" }})
	r := e.send(e.newClient(), req{method: "GET", path: "/api/config"})
	mustStatus(t, "config", r, http.StatusOK)
	got := decode[pageConfigJSON](t, r)
	if got.CozeURL != "https://www.coze.com" {
		t.Errorf("coze_url = %q for region com", got.CozeURL)
	}
	if got.MessageChars != chat.MaxMessageRunes || got.FilesPerMessage != chat.MaxFiles || got.UploadBytes != 3<<20 {
		t.Errorf("limits = %+v, want message %d, files %d, upload %d", got, chat.MaxMessageRunes, chat.MaxFiles, 3<<20)
	}
	if len(got.UploadTypes) != len(uploadTypes) || !slices.Contains(got.UploadTypes, ".pdf") || slices.Contains(got.UploadTypes, ".txt") {
		t.Errorf("upload types = %v, want exactly the accepted extensions", got.UploadTypes)
	}
}

// A sign-in error page speaks the language chosen on the page (its cookie),
// else the browser's, one language at a time, and is styled like the app:
// the app's tokens and stylesheets, real buttons and the favicon (issue 10
// item 2).
func TestCallbackErrorPageSpeaksTheChosenLanguage(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOpts{})
	c := e.newClient()
	for _, tt := range []struct {
		name, cookie, acceptLanguage, want string
	}{
		{"chosen Chinese", "zh-CN", "en", langZh},
		{"chosen English over a Chinese browser", "en", "zh-CN,zh;q=0.9", langEn},
		{"no choice, Chinese browser", "", "zh-CN,zh;q=0.9", langZh},
		{"no choice at all", "", "", langEn},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{"Accept-Language": tt.acceptLanguage}
			if tt.cookie != "" {
				hdr["Cookie"] = langCookie + "=" + tt.cookie
			}
			r := e.send(c, req{method: "GET", path: "/callback?error=access_denied&state=unknown", hdr: hdr})
			mustStatus(t, "callback", r, http.StatusBadRequest)
			other := map[string]string{langZh: langEn, langEn: langZh}[tt.want]
			body := string(r.body)
			if title := say(tt.want, "callback.invalid_state.title", nil); !strings.Contains(body, "<h1>"+title+"</h1>") {
				t.Errorf("page does not say %q in %s:\n%s", title, tt.want, body)
			}
			if title := say(other, "callback.invalid_state.title", nil); strings.Contains(body, title) {
				t.Errorf("page also speaks %s (%q)", other, title)
			}
			for _, part := range []string{`<html lang="` + tt.want + `">`, `href="/static/css/tokens.css?v=`, `href="/static/css/page.css?v=`,
				`rel="icon"`, `class="btn btn-filled" href="/auth"`, `class="btn btn-text" href="/"`} {
				if !strings.Contains(body, part) {
					t.Errorf("page lacks %s", part)
				}
			}
		})
	}
}
