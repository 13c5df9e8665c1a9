package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/store"
)

// Issue 10 item 8: the history is grouped by date in the user's time zone
// with pinned ones first, shows bot icons and the marks of live, stopped and
// failed replies, and offers Undo after a delete.
func TestHistoryGroupsPinsAndUndo(t *testing.T) {
	b := mustStartBrowser(t)
	shots := artifactsDir(t)
	dbPath := filepath.Join(t.TempDir(), "coze2app.db")
	base := mustStartApp(t, map[string]string{"COZE2APP_DATABASE_URL": "sqlite:" + dbPath})
	step := func(name string, fn func(t *testing.T)) { b.step(t, name, fn) }
	item := func(id string) string { return fmt.Sprintf(`.conv-item[data-conv-id="%s"]`, id) }
	groupOf := func(id string) string {
		return fmt.Sprintf(`(() => { const li = document.querySelector('%s'); return li ? li.closest('.conv-group').dataset.group : ''; })()`, item(id))
	}
	openHistory := func() {
		b.click("#tab-bots")
		b.click("#tab-history")
		waitFor[bool](b, "history listed", `document.querySelectorAll('#conv-list .conv-item').length > 0`, 10*time.Second)
	}
	menu := func(id, action string) {
		b.click(item(id) + " .conv-more")
		b.click(item(id) + " .menu-" + action)
	}
	convs := map[string]string{} // name → conversation id

	step("ConversationsOfDifferentAges", func(t *testing.T) {
		b.do("open", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#signin")))
		pageSignIn(b)
		b.setInput("#workspace-select", cozesim.WorkspaceTeam)
		b.do("bot list", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`.bot-item[data-bot-id="%s"]`, cozesim.BotAssistant))))
		// One through the composer (the page sends the bot's icon with it) …
		if st := sendTo(b, cozesim.BotAssistant, "today talk"); st != "complete" {
			t.Fatalf("reply = %q", st)
		}
		convs["today"] = waitFor[string](b, "conversation id", `location.pathname.startsWith('/c/') ? location.pathname.slice(3) : ''`, 10*time.Second)
		// … the others through the API as the page calls it, without an icon.
		for _, name := range []string{"yesterday", "week", "old"} {
			convs[name] = eval[string](b, fmt.Sprintf(`fetch('/api/chat', {method: 'POST', headers: {'Content-Type': 'application/json'},
				body: JSON.stringify({bot_id: %q, message: %q, stream: false})}).then(r => r.json()).then(d => d.conversation_id || '')`,
				cozesim.BotMemory, name+" talk"))
			if convs[name] == "" {
				t.Fatalf("chat %s made no conversation", name)
			}
		}
		// Age them through the store, as if they were last updated then.
		st, err := store.Open(context.Background(), "sqlite:"+dbPath)
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		defer st.Close()
		list, err := st.ListConversations(context.Background(), 1, "", "", 0)
		if err != nil || len(list) != 4 {
			t.Fatalf("user 1 conversations = %d, %v; want 4", len(list), err)
		}
		now := time.Now()
		for name, age := range map[string]time.Duration{"yesterday": 24 * time.Hour, "week": 4 * 24 * time.Hour, "old": 75 * 24 * time.Hour} {
			c, err := st.ConversationByID(context.Background(), 1, convs[name])
			if err != nil {
				t.Fatalf("conversation %s: %v", name, err)
			}
			c.UpdatedAt = now.Add(-age)
			if err := st.UpsertConversation(context.Background(), c); err != nil {
				t.Fatalf("age %s: %v", name, err)
			}
		}
	})

	step("GroupedByDateWithHeadings", func(t *testing.T) {
		b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#app-view")))
		openHistory()
		waitFor[bool](b, "four listed", `document.querySelectorAll('#conv-list .conv-item').length === 4`, 10*time.Second)
		for name, want := range map[string]string{"today": "today", "yesterday": "yesterday", "week": "week"} {
			if got := eval[string](b, groupOf(convs[name])); got != want {
				t.Errorf("%s is in group %q, want %q", name, got, want)
			}
		}
		oldMonth := time.Now().Add(-75 * 24 * time.Hour).Local().Format("2006-01")
		if got := eval[string](b, groupOf(convs["old"])); got != "month:"+oldMonth {
			t.Errorf("old is in group %q, want month:%s", got, oldMonth)
		}
		headings := eval[[]string](b, `[...document.querySelectorAll('#conv-list .conv-group-title')].map(h => h.tagName + ' ' + h.textContent)`)
		wantMonth := time.Now().Add(-75 * 24 * time.Hour).Local().Format("January 2006")
		want := []string{"H2 Today", "H2 Yesterday", "H2 Previous 7 days", "H2 " + wantMonth}
		if fmt.Sprint(headings) != fmt.Sprint(want) {
			t.Errorf("group headings = %q, want %q", headings, want)
		}
	})

	step("BotIconsNotLetters", func(t *testing.T) {
		if n := eval[int](b, `document.querySelectorAll('#conv-list .conv-item img.avatar').length`); n != 4 {
			t.Errorf("conversations with an icon image = %d, want 4 (letters: %d)", n, eval[int](b, `document.querySelectorAll('#conv-list .avatar-letter').length`))
		}
		stored := eval[string](b, fmt.Sprintf(`fetch('/api/conversations').then(r => r.json()).then(d => d.conversations.find(c => c.id === %q).bot_icon_url)`, convs["today"]))
		want := eval[string](b, fmt.Sprintf(`document.querySelector('.bot-item[data-bot-id="%s"] img').getAttribute('src')`, cozesim.BotAssistant))
		if stored == "" || stored != want {
			t.Errorf("stored bot_icon_url = %q, want the bot list's %q", stored, want)
		}
		b.click(item(convs["today"]) + " .conv-open")
		waitFor[bool](b, "chat header icon", `!!document.querySelector('#chat-bot-avatar img.avatar')`, 10*time.Second)
	})

	step("PinMovesToPinnedAndSurvivesReload", func(t *testing.T) {
		menu(convs["old"], "pin")
		waitFor[bool](b, "pinned group", fmt.Sprintf(`%s === 'pinned'`, groupOf(convs["old"])), 10*time.Second)
		if first := eval[string](b, `document.querySelector('#conv-list .conv-group-title').textContent`); first != "Pinned" {
			t.Errorf("first heading = %q, want Pinned", first)
		}
		b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#app-view")))
		openHistory()
		waitFor[bool](b, "still pinned after reload", fmt.Sprintf(`%s === 'pinned'`, groupOf(convs["old"])), 10*time.Second)
		shotBothThemes(b, shots, "history-groups")
	})

	step("DeleteThenUndoRestores", func(t *testing.T) {
		menu(convs["yesterday"], "delete")
		waitFor[bool](b, "row gone", fmt.Sprintf(`!document.querySelector('%s')`, item(convs["yesterday"])), 10*time.Second)
		waitFor[bool](b, "undo offered", `!document.querySelector('#snackbar').hidden && !!document.querySelector('#snackbar .snackbar-action')`, 5*time.Second)
		shotBothThemes(b, shots, "history-undo")
		b.click("#snackbar .snackbar-action")
		waitFor[bool](b, "row back", fmt.Sprintf(`%s === 'yesterday'`, groupOf(convs["yesterday"])), 10*time.Second)
		b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#app-view")))
		openHistory()
		waitFor[bool](b, "restored after reload", fmt.Sprintf(`!!document.querySelector('%s')`, item(convs["yesterday"])), 10*time.Second)
	})

	step("DeleteWithoutUndoIsGoneAfterReload", func(t *testing.T) {
		menu(convs["week"], "delete")
		waitFor[bool](b, "row gone", fmt.Sprintf(`!document.querySelector('%s')`, item(convs["week"])), 10*time.Second)
		b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#app-view")))
		openHistory()
		waitFor[bool](b, "others listed", `document.querySelectorAll('#conv-list .conv-item').length === 3`, 10*time.Second)
		if eval[bool](b, fmt.Sprintf(`!!document.querySelector('%s')`, item(convs["week"]))) {
			t.Errorf("deleted conversation listed after reload")
		}
		if got := eval[int](b, fmt.Sprintf(`fetch('/api/conversations/%s/messages').then(r => r.status)`, convs["week"])); got != 404 {
			t.Errorf("messages of the deleted conversation: status %d, want 404", got)
		}
	})

	step("LiveThenStoppedMark", func(t *testing.T) {
		b.openBot(cozesim.BotSlow)
		b.send("Tell me a long story")
		waitFor[bool](b, "story started", jsReplyLen+` > 20`, 20*time.Second)
		id := waitFor[string](b, "conversation id", `location.pathname.startsWith('/c/') ? location.pathname.slice(3) : ''`, 10*time.Second)
		b.click("#tab-history")
		live := fmt.Sprintf(`(() => { const m = document.querySelector('%s .conv-state'); return m ? m.dataset.state + ' ' + m.textContent : ''; })()`, item(id))
		if got := waitFor[string](b, "live mark", live+` === 'live Replying now' ? 'ok' : ''`, 10*time.Second); got != "ok" {
			t.Fatalf("mark = %q", eval[string](b, live))
		}
		shotBothThemes(b, shots, "history-live")
		b.click("#stop")
		if st := waitFor[string](b, "stopped", jsReplyDone, 10*time.Second); st != "canceled" {
			t.Fatalf("status after Stop = %q, want canceled", st)
		}
		waitFor[bool](b, "recorded as stopped", fmt.Sprintf(`fetch('/api/conversations').then(r => r.json()).then(d => d.conversations.find(c => c.id === %q).state === 'stopped')`, id), 10*time.Second)
		openHistory()
		waitFor[bool](b, "stopped mark", live+` === 'stopped Reply stopped'`, 10*time.Second)
		if got := eval[string](b, fmt.Sprintf(`document.querySelector('%s .conv-state').title`, item(id))); got != "Reply stopped" {
			t.Errorf("stopped mark tooltip = %q", got)
		}
		shotBothThemes(b, shots, "history-stopped")
	})

	if v := b.cspViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %v", v)
	}
}
