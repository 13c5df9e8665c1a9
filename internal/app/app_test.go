package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/store"
	"github.com/coze2app/coze2app/internal/store/storetest"
)

// Start-up says the truth in demo mode: one plain "open URL" line, and the real Coze
// hosts, which demo mode never calls, are not printed as if they were used.
func TestDemoStartupSaysWhereToGoAndNoRealHosts(t *testing.T) {
	dir := t.TempDir()
	a := mustStart(t, map[string]string{
		"COZE2APP_ADDR":         "127.0.0.1:0",
		"COZE2APP_DATABASE_URL": "sqlite:" + dir + "/coze2app.db",
	})
	log := a.log.String()
	if !strings.Contains(log, "\nopen "+a.URL+"\n") && !strings.HasPrefix(log, "open "+a.URL+"\n") {
		t.Errorf("no plain line %q in the start-up log:\n%s", "open "+a.URL, log)
	}
	for _, host := range []string{"api.coze.cn", "www.coze.cn"} {
		if strings.Contains(log, host) {
			t.Errorf("demo start-up log names %s:\n%s", host, log)
		}
	}
}

// TestDemoModeSignInAndChat is the "done when": no configuration,
// sign in on the simulator's consent page, chat.
func TestDemoModeSignInAndChat(t *testing.T) {
	a := mustStartDemo(t)
	c := newBrowser(t)
	var st status
	getJSON(t, c, a.URL+"/api/auth/status", &st)
	if st.Authenticated || !st.Demo {
		t.Fatalf("status before sign-in = %+v, want demo and not authenticated", st)
	}
	signIn(t, c, a.URL, "7391000000000000101")
	getJSON(t, c, a.URL+"/api/auth/status", &st)
	if !st.Authenticated || st.User == nil || st.User.Name == "" {
		t.Fatalf("status after sign-in = %+v, want authenticated with a user", st)
	}
	var ans chatAnswer
	if code := postJSON(t, c, a.URL+"/api/chat", map[string]any{"bot_id": cozesim.BotAssistant, "message": "hello"}, &ans); code != 200 {
		t.Fatalf("chat status = %d, want 200", code)
	}
	if ans.Answer == "" || ans.ConversationID == "" {
		t.Fatalf("chat answer = %+v, want text and a conversation id", ans)
	}
	if err := a.stop(t); err != nil {
		t.Fatalf("Run returned %v after shutdown, want nil", err)
	}
	if strings.Contains(a.log.String(), "level=ERROR") {
		t.Errorf("log has errors:\n%s", a.log)
	}
}

// TestCase64_RestartKeepsEverything: sign in and chat, restart the binary,
// and the same cookie still works, tokens decrypt and history is intact —
// on SQLite and on PostgreSQL. Also restarts between /auth and /callback.
func TestCase64_RestartKeepsEverything(t *testing.T) {
	onBothBackends(t, func(t *testing.T, dbURL string) {
		_, _, env := realMode(t, dbURL, cozesim.Options{})

		a := mustStart(t, env)
		c := newBrowser(t)
		signIn(t, c, a.URL, "7391000000000000101")
		var ans chatAnswer
		if code := postJSON(t, c, a.URL+"/api/chat", map[string]any{"bot_id": cozesim.BotMemory, "message": "remember me"}, &ans); code != 200 {
			t.Fatalf("chat status = %d", code)
		}
		// Start a second sign-in and leave it pending across the restart.
		c2 := newBrowser(t)
		authURL := mustRedirect(t, c2, "GET", a.URL+"/auth", nil)
		if err := a.stop(t); err != nil {
			t.Fatalf("stop: %v", err)
		}

		b := mustStart(t, env)
		var st status
		getJSON(t, c, b.URL+"/api/auth/status", &st)
		if !st.Authenticated {
			t.Fatalf("after restart: not authenticated")
		}
		var list struct {
			Conversations []struct{ ID, Title string } `json:"conversations"`
		}
		getJSON(t, c, b.URL+"/api/conversations", &list)
		if len(list.Conversations) != 1 || list.Conversations[0].ID != ans.ConversationID {
			t.Fatalf("after restart: conversations = %+v, want the one from before", list.Conversations)
		}
		var ans2 chatAnswer
		if code := postJSON(t, c, b.URL+"/api/chat", map[string]any{"bot_id": cozesim.BotMemory, "message": "second", "conversation_id": ans.ConversationID}, &ans2); code != 200 {
			t.Fatalf("chat after restart: status %d (tokens did not survive?)", code)
		}
		if !strings.Contains(ans2.Answer, "remember me") {
			t.Errorf("second turn does not remember the first: %q", ans2.Answer)
		}
		// The pending sign-in from before the restart still completes.
		loc := mustRedirect(t, c2, "GET", authURL, nil)
		if !strings.Contains(loc, "consent") {
			t.Fatalf("authorize after restart redirected to %q", loc)
		}
	})
}

// TestCase64_TwoInstancesMigrateOnce starts two instances at once on an
// empty PostgreSQL schema: both come up and the migrations ran once.
func TestCase64_TwoInstancesMigrateOnce(t *testing.T) {
	dbURL := storetest.PostgresURL(t)
	addrA, addrB := freeAddr(t), freeAddr(t)
	_, sim := externalSim(t, "http://"+addrA+"/callback", cozesim.Options{})
	var wg sync.WaitGroup
	for _, addr := range []string{addrA, addrB} {
		wg.Go(func() { mustStart(t, realModeEnv(sim.URL, addr, dbURL)) })
	}
	wg.Wait()
	st, err := store.Open(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n int
	if err := st.DB().QueryRowContext(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	var distinct int
	if err := st.DB().QueryRowContext(t.Context(), `SELECT count(DISTINCT version) FROM schema_migrations`).Scan(&distinct); err != nil {
		t.Fatal(err)
	}
	if n == 0 || n != distinct {
		t.Errorf("schema_migrations rows = %d, distinct versions = %d, want each migration once", n, distinct)
	}
}

// TestCase65_ShutdownWithLiveStreams: SIGTERM while streams are live.
// Readiness fails, each stream ends, the replies are recorded (not left
// "streaming"), Run returns nil before the deadline.
func TestCase65_ShutdownWithLiveStreams(t *testing.T) {
	dbURL := storetest.SQLiteURL(t)
	_, _, env := realMode(t, dbURL, cozesim.Options{DeltaDelay: 50 * time.Millisecond})
	env["COZE2APP_MAX_REPLIES_PER_USER"] = "10" // five streams of one user: above the default share (case 73)
	a := mustStart(t, env)
	c := newBrowser(t)
	signIn(t, c, a.URL, "7391000000000000102")

	const streams = 5
	var wg sync.WaitGroup
	started := make(chan struct{}, streams)
	ended := make(chan string, streams)
	for i := range streams {
		wg.Go(func() {
			b, _ := json.Marshal(map[string]any{"bot_id": cozesim.BotSlow, "message": fmt.Sprintf("story %d", i), "stream": true})
			req, _ := http.NewRequest("POST", a.URL+"/api/chat", bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/json")
			res, err := c.Do(req)
			if err != nil {
				ended <- "error: " + err.Error()
				return
			}
			defer res.Body.Close()
			sc := bufio.NewScanner(res.Body)
			first, last := true, ""
			for sc.Scan() {
				line := sc.Text()
				if first && strings.HasPrefix(line, "event: delta") {
					first = false
					started <- struct{}{}
				}
				if strings.HasPrefix(line, "event:") || strings.HasPrefix(line, "retry:") {
					last = line
				}
			}
			ended <- last
		})
	}
	for range streams {
		select {
		case <-started:
		case <-time.After(20 * time.Second):
			t.Fatal("streams did not start")
		}
	}
	if err := a.stop(t); err != nil {
		t.Fatalf("Run after SIGTERM = %v, want nil", err)
	}
	wg.Wait()
	close(ended)
	for last := range ended {
		if strings.HasPrefix(last, "error:") {
			t.Errorf("stream failed instead of ending: %s", last)
		}
	}
	st, err := store.Open(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var streaming int
	if err := st.DB().QueryRowContext(t.Context(), `SELECT count(*) FROM messages WHERE status = 'streaming'`).Scan(&streaming); err != nil {
		t.Fatal(err)
	}
	if streaming != 0 {
		t.Errorf("%d replies left in status streaming after shutdown, want 0", streaming)
	}
}

// TestCase13_SimulatorOffInRealMode: with a client id, /_sim does not exist.
func TestCase13_SimulatorOffInRealMode(t *testing.T) {
	_, _, env := realMode(t, storetest.SQLiteURL(t), cozesim.Options{})
	a := mustStart(t, env)
	for _, p := range []string{"/_sim/oauth/consent", "/_sim/api/permission/oauth2/authorize", "/_sim/v1/users/me"} {
		res, err := http.Get(a.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, res.StatusCode)
		}
	}
	var st status
	getJSON(t, newBrowser(t), a.URL+"/api/auth/status", &st)
	if st.Demo {
		t.Error("status says demo in real mode")
	}
}

// TestCase53_OversizedHeader: a 1 MiB header gets 431 from the server.
func TestCase53_OversizedHeader(t *testing.T) {
	a := mustStart(t, map[string]string{"COZE2APP_ADDR": "127.0.0.1:0", "COZE2APP_DATABASE_URL": storetest.SQLiteURL(t)})
	req, _ := http.NewRequest("GET", a.URL+"/api/auth/status", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 1<<20))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status = %d, want 431", res.StatusCode)
	}
}

// TestConfigErrorsStopStartup: bad configuration returns every problem.
func TestConfigErrorsStopStartup(t *testing.T) {
	env := map[string]string{"COZE_REGION": "mars", "COZE2APP_DATABASE_URL": "postgres://x@127.0.0.1:1/db"}
	err := Run(t.Context(), nil, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "COZE_REGION") || !strings.Contains(err.Error(), "COZE2APP_SECRET_KEY") {
		t.Fatalf("Run = %v, want both problems reported", err)
	}
}

func TestVersionAndUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	if err := Run(t.Context(), []string{"version"}, func(string) string { return "" }, &out); err != nil || !strings.HasPrefix(out.String(), "coze2app ") {
		t.Errorf("version: err=%v out=%q", err, out.String())
	}
	if err := Run(t.Context(), []string{"frobnicate"}, func(string) string { return "" }, io.Discard); err == nil {
		t.Error("unknown command accepted")
	}
	out.Reset()
	if err := Run(t.Context(), []string{"serve", "-h"}, func(string) string { return "" }, &out); err != nil || !strings.Contains(out.String(), "-database-url") {
		t.Errorf("serve -h: err=%v out=%q, want the flag list", err, out.String())
	}
}

// TestSimCommandServesOAuthForAWebApp runs `coze2app sim` and walks the
// whole OAuth dance against it with a client secret, then lists bots.
func TestSimCommandServesOAuthForAWebApp(t *testing.T) {
	const redirect = "http://127.0.0.1:1/cb"
	log := announcing(regexp.MustCompile(`api base: (\S+)`))
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		if err := Run(ctx, []string{"sim", "--addr", "127.0.0.1:0", "--client-id", "cid.app.coze", "--client-secret", "sekret", "--redirect-uri", redirect}, nil, log); err != nil {
			t.Errorf("sim: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-exited })
	simURL := awaitURL(t, log, exited, 30*time.Second)
	c := newBrowser(t)
	q := url.Values{"response_type": {"code"}, "client_id": {"cid.app.coze"}, "redirect_uri": {redirect}, "state": {"st4te"}}
	cb := mustConsent(t, c, simURL+"/api/permission/oauth2/authorize?"+q.Encode(), "7391000000000000101")
	cbURL, _ := url.Parse(cb)
	if cbURL.Query().Get("state") != "st4te" || !strings.HasPrefix(cbURL.Query().Get("code"), "code_") {
		t.Fatalf("callback %q lacks state or code", cb)
	}
	body, _ := json.Marshal(map[string]string{"grant_type": "authorization_code", "code": cbURL.Query().Get("code"), "client_id": "cid.app.coze", "redirect_uri": redirect})
	req, _ := http.NewRequest("POST", simURL+"/api/permission/oauth2/token", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sekret")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	_ = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if tok.AccessToken == "" || tok.ExpiresIn < time.Now().Unix() {
		t.Fatalf("token response = %+v, want a token with an absolute expiry", tok)
	}
	req, _ = http.NewRequest("GET", simURL+"/v1/users/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var me struct {
		Code int `json:"code"`
		Data struct {
			UserID string `json:"user_id"`
		} `json:"data"`
	}
	_ = json.NewDecoder(res.Body).Decode(&me)
	res.Body.Close()
	if me.Code != 0 || me.Data.UserID != "7391000000000000101" {
		t.Errorf("users/me = %+v", me)
	}
}

// TestCase66_InterruptedRepliesMarkedAtStart: a reply left "streaming" by a
// killed process is marked incomplete ("interrupted") when the app starts
// again, so history never shows a reply that streams forever; SQLite's
// integrity check passes.
func TestCase66_InterruptedRepliesMarkedAtStart(t *testing.T) {
	dbURL := storetest.SQLiteURL(t)
	st := storetest.MustOpen(t, dbURL)
	u := storetest.MustUser(t, st, "Alan")
	ctx := t.Context()
	if err := st.UpsertConversation(ctx, store.Conversation{ID: "7450000000000000001", UserID: u.ID, BotID: cozesim.BotAssistant, Title: "killed"}); err != nil {
		t.Fatal(err)
	}
	m, err := st.AddMessage(ctx, store.Message{ConversationID: "7450000000000000001", UserID: u.ID, Role: store.RoleAssistant,
		Content: "partial", ChatID: "7450000000000000003", Status: store.StatusStreaming})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	mustStart(t, map[string]string{"COZE2APP_ADDR": "127.0.0.1:0", "COZE2APP_DATABASE_URL": dbURL})
	st2 := storetest.MustOpen(t, dbURL)
	got, err := st2.MessageByChatID(ctx, u.ID, m.ChatID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusIncomplete || got.ErrorCode != "interrupted" || got.Content != "partial" {
		t.Errorf("after restart: status=%q code=%q content=%q, want incomplete/interrupted with the partial text", got.Status, got.ErrorCode, got.Content)
	}
	var check string
	if err := st2.DB().QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v", check, err)
	}
}
