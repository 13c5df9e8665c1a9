package app

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/store"
)

// demoEnv is demo mode (no COZE_CLIENT_ID) on a fixed address and dbURL, so a
// restart finds the same origin and database.
func demoEnv(t *testing.T, dbURL string) map[string]string {
	return map[string]string{
		"COZE2APP_ADDR":            freeAddr(t),
		"COZE2APP_DATABASE_URL":    dbURL,
		"COZE2APP_SECRET_KEY":      "k1:" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"COZE2APP_SIM_DELTA_DELAY": "0s",
	}
}

// uploadFile posts one file to /api/files as the page does and returns its id.
func uploadFile(t *testing.T, c *http.Client, appURL, name string, content []byte) string {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", name)
	_, _ = fw.Write(content)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", appURL+"/api/files", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := c.Do(req)
	var out struct{ ID string }
	if code := decodeAnswer(t, "upload", res, err, &out); code != 200 || out.ID == "" {
		t.Fatalf("upload: status %d, id %q", code, out.ID)
	}
	return out.ID
}

// Issue 10 item 5: demo mode keeps the simulator's state in the app's
// database. Sign in, chat, create a bot, upload a file; restart on the same
// database; the same cookie still works (the sealed simulator token is still
// valid), the conversation continues and remembers, history is intact, the
// bot and the file are still known, and new conversation ids do not repeat.
func TestDemoRestartKeepsSimulatorState(t *testing.T) {
	onBothBackends(t, func(t *testing.T, dbURL string) {
		env := demoEnv(t, dbURL)
		a := mustStart(t, env)
		c := newBrowser(t)
		signIn(t, c, a.URL, cozesim.UserAlan)
		var first chatAnswer
		if code := postJSON(t, c, a.URL+"/api/chat", map[string]any{"bot_id": cozesim.BotMemory, "message": "remember the lighthouse"}, &first); code != 200 || first.ConversationID == "" {
			t.Fatalf("chat: status %d, answer %+v", code, first)
		}
		var created struct {
			Bot struct {
				ID string `json:"id"`
			} `json:"bot"`
		}
		bot := &created.Bot
		if code := postJSON(t, c, a.URL+"/api/bots", map[string]any{"workspace_id": cozesim.WorkspaceAlan, "name": "Lighthouse keeper"}, &created); code != 201 || bot.ID == "" {
			t.Fatalf("create bot: status %d, %+v", code, bot)
		}
		fileID := uploadFile(t, c, a.URL, "photo.png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
		if err := a.stop(t); err != nil {
			t.Fatalf("stop: %v", err)
		}
		mustBeSealed(t, dbURL)

		b := mustStart(t, env)
		var st status
		getJSON(t, c, b.URL+"/api/auth/status", &st)
		if !st.Authenticated {
			t.Fatalf("after restart: the same cookie is signed out")
		}
		var follow chatAnswer
		if code := postJSON(t, c, b.URL+"/api/chat", map[string]any{"bot_id": cozesim.BotMemory, "message": "what did I say?", "conversation_id": first.ConversationID}, &follow); code != 200 {
			t.Fatalf("follow-up after restart: status %d", code)
		}
		if follow.ConversationID != first.ConversationID || !strings.Contains(follow.Answer, "remember the lighthouse") {
			t.Errorf("follow-up = %+v, want the same conversation remembering the first turn", follow)
		}
		var msgs struct {
			Messages []struct{ Role, Content string } `json:"messages"`
		}
		getJSON(t, c, b.URL+"/api/conversations/"+first.ConversationID+"/messages", &msgs)
		if len(msgs.Messages) != 4 || msgs.Messages[0].Content != "remember the lighthouse" {
			t.Errorf("history after restart = %+v, want both turns", msgs.Messages)
		}
		if code := getJSON(t, c, b.URL+"/api/bots/"+bot.ID+"/draft", nil); code != 200 {
			t.Errorf("created bot after restart: status %d", code)
		}
		var withFile chatAnswer
		if code := postJSON(t, c, b.URL+"/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": "look", "file_ids": []string{fileID}}, &withFile); code != 200 {
			t.Errorf("chat with the file uploaded before the restart: status %d", code)
		}
		if withFile.ConversationID == "" || withFile.ConversationID <= first.ConversationID {
			t.Errorf("new conversation id %q after restart, want one after %q", withFile.ConversationID, first.ConversationID)
		}
	})
}

// mustBeSealed checks that the stopped app saved its simulator state, sealed:
// none of the snapshot's JSON (which holds tokens) is readable in the row.
func mustBeSealed(t *testing.T, dbURL string) {
	t.Helper()
	st, err := store.Open(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v, err := st.AppState(t.Context(), demoStateName)
	if err != nil {
		t.Fatalf("saved simulator state: %v", err)
	}
	if bytes.Contains(v, []byte("access_tokens")) || bytes.Contains(v, []byte("conversations")) {
		t.Errorf("the saved simulator state is readable JSON, not sealed")
	}
}

// A fresh database has no saved state: the demo starts from its demo data,
// and a cookie from another database is signed out.
func TestDemoFreshDatabaseStartsFromDemoData(t *testing.T) {
	env := demoEnv(t, "sqlite:"+t.TempDir()+"/coze2app.db")
	a := mustStart(t, env)
	c := newBrowser(t)
	signIn(t, c, a.URL, cozesim.UserAlan)
	if err := a.stop(t); err != nil {
		t.Fatalf("stop: %v", err)
	}
	env["COZE2APP_DATABASE_URL"] = "sqlite:" + t.TempDir() + "/coze2app.db"
	b := mustStart(t, env)
	var st status
	getJSON(t, c, b.URL+"/api/auth/status", &st)
	if st.Authenticated {
		t.Errorf("signed in on a fresh database")
	}
	if strings.Contains(b.log.String(), "simulator state restored") {
		t.Errorf("a fresh database restored simulator state:\n%s", b.log)
	}
}
