package e2e

import (
	"fmt"
	"maps"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/coze2app/coze2app/internal/cozesim"
	"github.com/coze2app/coze2app/internal/store"
)

// Issue 10 ("a page people love") in Chromium: items 1, 3 and 4.

// jsPath is the page's address.
const jsPath = `location.pathname`

// pageSignIn signs in through the demo's consent page from wherever the tab is.
func pageSignIn(b *browser) {
	b.t.Helper()
	b.click("#signin")
	b.click("#approve")
	b.do("signed in", chromedp.WaitVisible(chromedp.CSS("#app-view")))
}

// sendTo opens bot from the sidebar, sends text and returns the reply's final status.
func sendTo(b *browser, bot, text string) string {
	b.t.Helper()
	b.click(fmt.Sprintf(`.bot-item[data-bot-id="%s"]`, bot))
	waitFor[bool](b, "composer enabled", `!document.querySelector('#composer').disabled`, 10*time.Second)
	b.setInput("#composer", text)
	b.click("#send")
	return waitFor[string](b, "reply to "+text, jsReplyDone, 30*time.Second)
}

// waitPath waits until the address is want.
func waitPath(b *browser, want string) {
	b.t.Helper()
	waitFor[bool](b, "address "+want, fmt.Sprintf(`location.pathname === %q`, want), 10*time.Second)
}

// shotBothThemes screenshots the page as it is in light and dark (no reload, so
// a live reply stays live) as name-light.png and name-dark.png.
func shotBothThemes(b *browser, dir, name string) {
	b.t.Helper()
	setTheme := func(theme string) {
		eval[chromedp.Void](b, fmt.Sprintf(`import('/static/js/theme.js').then((m) => { localStorage.setItem('coze2app.theme', %q); m.applyTheme(); })`, theme))
		time.Sleep(300 * time.Millisecond) // the theme transition
	}
	for _, theme := range []string{"light", "dark"} {
		setTheme(theme)
		b.screenshot(dir, name+"-"+theme+".png")
	}
	setTheme("light")
}

// Item 1: conversations, bots and workflows have addresses; a reload restores
// what was open and re-attaches to a live reply; Back and Forward work; the
// title is the conversation's; unknown paths get a designed 404 page.
func TestPageAddresses(t *testing.T) {
	b := mustStartBrowser(t)
	base := mustStartApp(t, nil)
	shots := artifactsDir(t)

	// The 404 page: HTML in the app's style and the chosen language, status 404.
	res, err := http.Get(base + "/no/such/page")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET /no/such/page = %d %s, want 404 text/html", res.StatusCode, res.Header.Get("Content-Type"))
	}
	b.do("open 404", chromedp.Navigate(base+"/no/such/page"), chromedp.WaitVisible(chromedp.CSS("#notfound-view")))
	if got := eval[string](b, `document.querySelector('#notfound-title').textContent + ' | ' + document.title`); got != "Page not found | Page not found · coze2app" {
		t.Errorf("404 heading | title = %q", got)
	}
	if vis := eval[string](b, `['#boot', '#signin-view', '#app-view'].filter(s => !document.querySelector(s).hidden).join()`); vis != "" {
		t.Errorf("404 page also shows %s", vis)
	}
	shotBothThemes(b, shots, "page-404")
	b.click("#notfound-view .lang-toggle")
	if got := eval[string](b, `document.querySelector('#notfound-title').textContent + ' | ' + document.querySelector('[data-testid=notfound-home]').textContent`); got != "找不到这个页面 | 回到 coze2app" {
		t.Errorf("404 in Chinese = %q", got)
	}
	b.screenshot(shots, "page-404-zh.png")
	b.click("#notfound-view .lang-toggle")
	b.click("[data-testid=notfound-home]")
	b.do("home", chromedp.WaitVisible(chromedp.CSS("#signin")))

	// A link to a bot survives the sign-in round trip.
	b.do("open bot link", chromedp.Navigate(base+"/b/"+cozesim.BotAssistant), chromedp.WaitVisible(chromedp.CSS("#signin")))
	pageSignIn(b)
	waitPath(b, "/b/"+cozesim.BotAssistant)
	waitFor[bool](b, "bot open", `!document.querySelector('#composer').disabled && document.querySelector('#chat-bot-name').textContent !== ''`, 10*time.Second)
	botName := eval[string](b, `document.querySelector('#chat-bot-name').textContent`)
	waitFor[bool](b, "bot title", fmt.Sprintf(`document.title === %q`, botName+" · coze2app"), 5*time.Second)

	// The first message turns the bot's address into the conversation's (no new entry).
	depth := eval[int](b, `history.length`)
	b.setInput("#composer", "Addresses   for\neveryone")
	b.click("#send")
	waitFor[bool](b, "conversation address", `location.pathname.startsWith('/c/')`, 10*time.Second)
	convA := eval[string](b, jsPath)
	if st := waitFor[string](b, "reply", jsReplyDone, 30*time.Second); st != "complete" {
		t.Fatalf("reply = %q", st)
	}
	if n := eval[int](b, `history.length`); n != depth {
		t.Errorf("history length %d after the first message, want %d (replace, not push)", n, depth)
	}
	if got := eval[string](b, `document.title`); got != "Addresses for everyone · coze2app" {
		t.Errorf("title = %q, want the conversation's", got)
	}

	// A second bot: a new entry; its story is still running when the page reloads.
	b.click("#tab-bots")
	b.setInput("#workspace-select", cozesim.WorkspaceTeam)
	b.click(fmt.Sprintf(`.bot-item[data-bot-id="%s"]`, cozesim.BotSlow))
	waitPath(b, "/b/"+cozesim.BotSlow)
	waitFor[bool](b, "composer enabled", `!document.querySelector('#composer').disabled`, 10*time.Second)
	b.setInput("#composer", "A story that outlives a reload")
	b.click("#send")
	waitFor[bool](b, "story started", jsReplyLen+` > 20`, 20*time.Second)
	convS := eval[string](b, jsPath)
	if !strings.HasPrefix(convS, "/c/") || convS == convA {
		t.Fatalf("address while the story streams = %q", convS)
	}
	b.do("reload mid-reply", chromedp.Reload())
	waitFor[bool](b, "re-attached to the live reply", `(() => { const m = `+jsLastReply+`; return !!m && m.dataset.status === 'streaming' && !document.querySelector('#stop').hidden; })()`, 10*time.Second)
	if got := eval[string](b, jsPath+` + ' ' + document.title + ' ' + document.querySelector('#chat-empty').hidden`); got != convS+" A story that outlives a reload · coze2app true" {
		t.Errorf("after reload: %q", got)
	}
	n := waitFor[int](b, "replayed text", jsReplyLen, 10*time.Second)
	waitFor[bool](b, "reply keeps growing", fmt.Sprintf(`%s > %d`, jsReplyLen, n+10), 10*time.Second)
	shotBothThemes(b, shots, "page-live-reply")
	b.click("#stop")
	waitFor[string](b, "stopped", jsReplyDone, 10*time.Second)

	// Back and Forward move between the two conversations.
	b.do("back", chromedp.NavigateBack())
	waitPath(b, convA)
	waitFor[bool](b, "conversation A shown", `[...document.querySelectorAll('.msg.user .msg-body')].map(m => m.textContent).join() === 'Addresses   for\neveryone' && document.title === 'Addresses for everyone · coze2app'`, 10*time.Second)
	b.do("forward", chromedp.NavigateForward())
	waitPath(b, convS)
	waitFor[bool](b, "conversation S shown", `[...document.querySelectorAll('.msg.user .msg-body')].map(m => m.textContent).join() === 'A story that outlives a reload'`, 10*time.Second)

	// A workflow has an address too, and a reload reopens it.
	b.click("#tab-workflows")
	b.click(fmt.Sprintf(`.workflow-item[data-workflow-id="%s"]`, cozesim.WorkflowJoke))
	waitPath(b, "/w/"+cozesim.WorkflowJoke)
	b.do("reload workflow", chromedp.Reload())
	waitFor[bool](b, "workflow reopened", fmt.Sprintf(`!document.querySelector('#workflow-panel').hidden && document.querySelector('#workflow-panel').dataset.workflowId === %q && document.querySelector('#workflow-form').dataset.state === 'ready'`, cozesim.WorkflowJoke), 10*time.Second)
	wfName := eval[string](b, `document.querySelector('#wf-name').textContent`)
	waitFor[bool](b, "workflow title", fmt.Sprintf(`document.title === %q`, wfName+" · coze2app"), 5*time.Second)
	b.do("back to S", chromedp.NavigateBack())
	waitPath(b, convS)
	waitFor[bool](b, "chat again", `document.querySelector('#workflow-panel').hidden && document.querySelectorAll('.msg.user').length === 1`, 10*time.Second)

	// An id the history does not know: the page says so and stays usable.
	b.do("unknown conversation", chromedp.Navigate(base+"/c/123"))
	waitPath(b, "/")
	waitFor[bool](b, "said so", `!document.querySelector('#snackbar').hidden && document.querySelector('#snackbar').textContent !== ''`, 10*time.Second)
	if v := b.cspViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %q", v)
	}
}

// jsVisibleText is the text of sel when it is shown (not hidden, not visually
// hidden, has a box), else "".
func jsVisibleText(sel string) string {
	return fmt.Sprintf(`(() => { const el = document.querySelector(%q); return el && !el.closest('[hidden]') && !el.closest('.visually-hidden') && el.getClientRects().length ? el.textContent : ''; })()`, sel)
}

// Item 3: limits are announced. A paste past the message limit says how much
// was kept; a counter shows near the limit; the file limits are stated before
// picking; a file too large or of a type Coze refuses shows its reason inline
// (not in a tooltip) without being uploaded; files past the per-message limit
// are named.
func TestPageLimits(t *testing.T) {
	b := mustStartBrowser(t)
	base := mustStartApp(t, nil)
	shots := artifactsDir(t)
	b.do("open", chromedp.Navigate(base+"/b/"+cozesim.BotAssistant), chromedp.WaitVisible(chromedp.CSS("#signin")))
	pageSignIn(b)
	waitFor[bool](b, "composer enabled", `!document.querySelector('#composer').disabled`, 10*time.Second)

	// Stated before picking: next to the composer and in the attach button's name.
	waitFor[bool](b, "file limits stated", jsVisibleText("#composer-hint .limit-files")+` === ' · Files: up to 10 per message, 20 MB each'`, 10*time.Second)
	if got := eval[string](b, `document.querySelector('#attach').getAttribute('aria-label')`); !strings.Contains(got, "20 MB") {
		t.Errorf("attach button name = %q, want the size limit", got)
	}
	if !eval[bool](b, `document.querySelector('.limit-note').hidden`) {
		t.Errorf("limit note shown for an empty composer")
	}

	// A paste of 20,000 characters keeps 10,000 and says so.
	b.do("focus", chromedp.Focus(chromedp.CSS("#composer")))
	_, err := chromedp.Call(b.ctx, input.InsertText, input.InsertTextParams{Text: strings.Repeat("ab", 10000)})
	b.must(err, "paste 20,000 characters")
	if n := eval[int](b, `document.querySelector('#composer').value.length`); n != 10000 {
		t.Fatalf("composer holds %d characters, want 10000", n)
	}
	if got := eval[string](b, jsVisibleText(".limit-note .limit-text")); !strings.Contains(got, "the first 10,000 of 20,000 characters were kept") {
		t.Errorf("paste note = %q", got)
	}
	if got := eval[string](b, jsVisibleText(".limit-note .limit-count")); got != "10,000 / 10,000" {
		t.Errorf("counter = %q", got)
	}
	shotBothThemes(b, shots, "page-limit-paste")

	// Sending clears the composer and the note; near the limit a counter shows.
	b.setInput("#composer", "")
	if !eval[bool](b, `document.querySelector('.limit-note').hidden`) {
		t.Errorf("limit note still shown after the composer was cleared")
	}
	b.setInput("#composer", strings.Repeat("x", 8999))
	if !eval[bool](b, `document.querySelector('.limit-note').hidden`) {
		t.Errorf("limit note shown at 8,999 of 10,000")
	}
	b.setInput("#composer", strings.Repeat("x", 9500))
	if got := eval[string](b, jsVisibleText(".limit-note")+` + '|' + document.querySelector('.limit-note').className`); got != "9,500 / 10,000|limit-note" {
		t.Errorf("near the limit: %q, want the counter without a warning", got)
	}
	b.setInput("#composer", "")

	// Files: refused before any upload, with the reason in view.
	dir := t.TempDir()
	write := func(name string, size int64, head string) string {
		p := dir + "/" + name
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(head); err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return p
	}
	big := write("big.pdf", 21<<20, "%PDF-1.4\n")
	txt := write("notes.txt", 20, "plain notes")
	fake := write("fake.pdf", 600, "not a pdf at all, just words")
	b.do("pick files", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{big, txt, fake}))
	waitFor[bool](b, "three chips settled", `document.querySelectorAll('#attachments .file-chip.is-error').length === 3`, 10*time.Second)
	reasons := eval[[]string](b, `[...document.querySelectorAll('#attachments .file-chip')].map(c => { const e = c.querySelector('.file-error'); return c.querySelector('.file-name').textContent + ': ' + (e && e.getClientRects().length && !e.closest('.visually-hidden') ? e.textContent : '(not shown)'); })`)
	want := []string{
		"big.pdf: Too large (21 MB): files can be up to 20 MB.",
		"notes.txt: Coze does not accept .txt files. Save it as PDF or CSV, or paste the text into the message.",
		"fake.pdf: The file's content does not match its extension.",
	}
	if strings.Join(reasons, "\n") != strings.Join(want, "\n") {
		t.Errorf("inline reasons:\n%s\nwant:\n%s", strings.Join(reasons, "\n"), strings.Join(want, "\n"))
	}
	if n := eval[int](b, `performance.getEntriesByType('resource').filter(e => e.name.endsWith('/api/files')).length`); n != 1 {
		t.Errorf("uploads sent = %d, want 1 (only fake.pdf: the others are refused in the page)", n)
	}
	if got := eval[string](b, `[...document.querySelectorAll('#attachments .file-chip')].map(c => c.title).join('|')`); got != "big.pdf|notes.txt|fake.pdf" {
		t.Errorf("chip tooltips = %q, want only the names", got)
	}
	shotBothThemes(b, shots, "page-limit-files")

	// More files than a message takes: the extra ones are named.
	var many []string
	for i := range 9 {
		many = append(many, write(fmt.Sprintf("more%d.txt", i), 5, "x"))
	}
	b.do("pick nine more", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), many))
	waitFor[bool](b, "ten chips", `document.querySelectorAll('#attachments .file-chip').length === 10`, 10*time.Second)
	if got := eval[string](b, jsVisibleText(".file-note")); got != "Up to 10 files per message: 2 not added (more7.txt, more8.txt)." {
		t.Errorf("too-many note = %q", got)
	}
}

// jsNote is the last reply's note: its words, hint, details, and the buttons
// and links it offers, as one string.
const jsNote = `(() => { const n = ` + jsLastReply + `.querySelector('.msg-note'); if (!n || n.hidden) return ''; const q = (s) => [...n.querySelectorAll(s)].map(e => e.textContent).join(' / ');
  return [q('.note-msg'), q('.note-hint'), q('.dead-steps li'), q('.note-details'), q(':scope > button, :scope > a')].join(' | '); })()`

// Item 4: dead ends offer the right action. A draft bot gets "how to publish"
// and a link to Coze, not a Retry; Coze's raw failure string becomes plain
// words with Coze's text, code and log id kept for support.
func TestPageDeadEnds(t *testing.T) {
	b := mustStartBrowser(t)
	base := mustStartApp(t, nil)
	shots := artifactsDir(t)
	b.do("open", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#signin")))
	pageSignIn(b)
	b.do("bots", chromedp.WaitVisible(chromedp.CSS(".bot-item")))
	b.setInput("#workspace-select", cozesim.WorkspaceTeam)

	// A draft bot: how to publish, and where; no Retry, no Regenerate.
	if st := sendTo(b, cozesim.BotDraft, "hello draft"); st != "failed" {
		t.Fatalf("draft bot reply = %q, want failed", st)
	}
	want := "This bot is not published to the API channel yet, so it cannot chat here. Retrying will not help; publishing will: |  | " +
		"Open the bot in Coze. / Click “Publish” at the top right. / Tick the “API” (Agent as API) channel, publish, then come back and send again. |  | Open in Coze"
	if got := eval[string](b, jsNote); got != want {
		t.Errorf("draft note:\n got %q\nwant %q", got, want)
	}
	href := eval[string](b, jsLastReply+`.querySelector('.publish-link').href`)
	if wantHref := "https://www.coze.cn/space/" + cozesim.WorkspaceTeam + "/bot/" + cozesim.BotDraft; href != wantHref {
		t.Errorf("publish link = %q, want %q", href, wantHref)
	}
	if n := eval[int](b, jsLastReply+`.querySelectorAll('.retry, .regenerate').length`); n != 0 {
		t.Errorf("draft reply offers %d Retry/Regenerate buttons, want none", n)
	}
	shotBothThemes(b, shots, "page-deadend-draft")

	// Coze's "event interval error" (code 5000): plain words, Retry, details kept.
	if st := sendTo(b, cozesim.BotAssistant, "please #fail now"); st != "failed" {
		t.Fatalf("#fail reply = %q, want failed", st)
	}
	checkCozeFailure(b, "The bot’s model stopped answering partway. | This is usually temporary: try again in a moment. |  | Coze error code 5000 · log id ")
	shotBothThemes(b, shots, "page-deadend-model")

	// A platform failure (9-digit code): plain words, and Coze's own sentence in the details.
	b.setInput("#composer", "please #busy now")
	b.click("#send")
	waitFor[bool](b, "second failed reply", `document.querySelectorAll('.msg.assistant:not(.prologue)').length === 2`, 10*time.Second)
	if st := waitFor[string](b, "failed reply", jsReplyDone, 20*time.Second); st != "failed" {
		t.Fatalf("#busy reply = %q, want failed", st)
	}
	checkCozeFailure(b, "Coze is having trouble right now, so the reply did not finish. | This is usually temporary: try again in a moment. |  | Coze said: “We're currently experiencing server issues. Please try again later.” (code 702042078) · log id ")
}

// checkCozeFailure checks the last reply's note starts with want, ends with
// Copy log id and Retry, and names a log id.
func checkCozeFailure(b *browser, want string) {
	b.t.Helper()
	if got := eval[string](b, jsNote); !strings.HasPrefix(got, want) || !strings.HasSuffix(got, " Copy log id | Retry") {
		b.t.Errorf("note:\n got %q\nwant %q…Copy log id | Retry", got, want)
	}
	if logID := eval[string](b, `(`+jsLastReply+`.querySelector('.dead-logid') || {}).textContent || ''`); !strings.HasPrefix(logID, "log id ") || len(logID) < 20 {
		b.t.Errorf("log id = %q, want Coze's", logID)
	}
}

// Item 4 and issue 10 item 5, demo restart: the demo keeps its simulator's
// state in its database, so after a restart the page is still signed in, the
// conversation continues and new conversations get new ids. Only when that
// state is really lost (here: its saved row deleted) does the page say the
// demo data was reset (not just "sign in again"), and a conversation the
// simulator no longer knows offers "start a new chat with this bot", keeping
// the message, instead of a Retry that cannot help.
func TestPageDemoRestart(t *testing.T) {
	b := mustStartBrowser(t)
	shots := artifactsDir(t)
	dbPath := t.TempDir() + "/coze2app.db"
	db := map[string]string{"COZE2APP_DATABASE_URL": "sqlite:" + dbPath}
	base, stop := startApp(t, db)
	t.Cleanup(stop)
	b.do("open", chromedp.Navigate(base+"/b/"+cozesim.BotMemory), chromedp.WaitVisible(chromedp.CSS("#signin")))
	pageSignIn(b)
	waitFor[bool](b, "composer enabled", `!document.querySelector('#composer').disabled`, 10*time.Second)
	b.setInput("#composer", "before the restart")
	b.click("#send")
	if st := waitFor[string](b, "reply", jsReplyDone, 30*time.Second); st != "complete" {
		t.Fatalf("reply = %q", st)
	}
	conv := eval[string](b, jsPath)

	// restart stops the app and starts it again on the same address and database.
	restart := func(what string, between func()) {
		stop()
		if between != nil {
			between()
		}
		again := map[string]string{"COZE2APP_ADDR": strings.TrimPrefix(base, "http://")}
		maps.Copy(again, db)
		var base2 string
		base2, stop = startApp(t, again)
		t.Cleanup(stop)
		if base2 != base {
			t.Fatalf("%s: restarted on %s, want %s", what, base2, base)
		}
	}

	// Restart: the state survives.
	restart("restart", nil)
	b.do("reload after restart", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#app-view")))
	if got := eval[string](b, jsVisibleText("#demo-reset")); got != "" {
		t.Errorf("reset notice after a restart that kept the state: %q", got)
	}
	waitFor[bool](b, "old conversation shown", `document.querySelectorAll('.msg.user').length === 1`, 10*time.Second)
	waitFor[bool](b, "composer enabled", `!document.querySelector('#composer').disabled`, 10*time.Second)
	b.setInput("#composer", "what did I say?")
	b.click("#send")
	if st := waitFor[string](b, "follow-up reply", jsReplyDone, 30*time.Second); st != "complete" {
		t.Fatalf("follow-up after restart = %q, want complete", st)
	}
	if got := eval[string](b, jsLastReply+`.textContent`); !strings.Contains(got, "before the restart") {
		t.Errorf("follow-up does not remember the first turn: %q", got)
	}
	if got := eval[string](b, jsPath); got != conv {
		t.Errorf("follow-up moved to %s, want %s", got, conv)
	}
	b.click("#new-chat")
	waitFor[bool](b, "composer enabled", `!document.querySelector('#composer').disabled`, 10*time.Second)
	b.setInput("#composer", "a new conversation")
	b.click("#send")
	waitFor[string](b, "reply in a new chat", jsReplyDone, 30*time.Second)
	waitFor[bool](b, "new conversation address", fmt.Sprintf(`location.pathname.startsWith('/c/') && location.pathname !== %q`, conv), 10*time.Second)

	// Restart with the simulator's state lost.
	restart("restart without state", func() { forgetDemoState(t, dbPath) })
	b.do("reload after losing the state", chromedp.Navigate(base+conv))
	got := waitFor[string](b, "demo reset notice", jsVisibleText("#demo-reset"), 10*time.Second)
	if got != "The demo server was restarted, which resets the demo data (sign-ins and conversations). Sign in again to continue." {
		t.Errorf("notice = %q", got)
	}
	if eval[string](b, jsVisibleText("#signin-reauth")) != "" {
		t.Errorf("the plain re-authorization notice shows next to the demo reset")
	}
	shotBothThemes(b, shots, "page-demo-reset")

	// Signed in again, the old conversation is in our history but not in Coze's.
	pageSignIn(b)
	b.do("open old conversation", chromedp.Navigate(base+conv), chromedp.WaitVisible(chromedp.CSS(".msg.user")))
	waitFor[bool](b, "composer enabled", `!document.querySelector('#composer').disabled`, 10*time.Second)
	b.setInput("#composer", "are you still there?")
	b.click("#send")
	if st := waitFor[string](b, "failed reply", jsReplyDone, 20*time.Second); st != "failed" {
		t.Fatalf("reply in a forgotten conversation = %q, want failed", st)
	}
	want := "Coze no longer knows this conversation, so it cannot continue. | The demo server was restarted, which resets the demo data: the simulator no longer has this conversation. Start a new chat with this bot; your message stays in the box. |  |  | Start a new chat with this bot"
	if got := eval[string](b, jsNote); got != want {
		t.Errorf("note:\n got %q\nwant %q", got, want)
	}
	if n := eval[int](b, jsLastReply+`.querySelectorAll('.retry, .regenerate').length`); n != 0 {
		t.Errorf("forgotten conversation offers %d Retry/Regenerate buttons, want none", n)
	}
	shotBothThemes(b, shots, "page-deadend-conversation")
	b.click(".new-chat-action")
	waitPath(b, "/b/"+cozesim.BotMemory)
	if got := eval[string](b, `document.querySelector('#composer').value + '|' + document.querySelectorAll('.msg.user').length`); got != "are you still there?|0" {
		t.Errorf("new chat: composer|user messages = %q, want the message kept in an empty chat", got)
	}
	b.click("#send")
	if st := waitFor[string](b, "reply in the new chat", jsReplyDone, 30*time.Second); st != "complete" {
		t.Errorf("new chat reply = %q", st)
	}
	waitFor[bool](b, "conversation address", `location.pathname.startsWith('/c/')`, 10*time.Second)
}

// forgetDemoState deletes the demo's saved simulator state from the stopped
// app's SQLite database, as if it had never been saved.
func forgetDemoState(t *testing.T, dbPath string) {
	t.Helper()
	st, err := store.Open(t.Context(), "sqlite:"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.DB().ExecContext(t.Context(), `DELETE FROM app_state`); err != nil {
		t.Fatal(err)
	}
}

// Item 2: a sign-in error page is styled like the app (its tokens, a card, real
// buttons, the favicon) and speaks the language chosen on the page, which the
// page hands over in a cookie; screenshots in light and dark.
func TestPageSignInErrorStyled(t *testing.T) {
	b := mustStartBrowser(t)
	base := mustStartApp(t, nil)
	shots := artifactsDir(t)
	for _, lang := range []string{"zh-CN", "en"} {
		b.do("open the app", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(".signin-card")))
		waitFor[bool](b, "language set to "+lang, fmt.Sprintf(`import('/static/js/i18n.js').then((m) => { m.setLang(%q); return m.getLang() === %q; })`, lang, lang), 10*time.Second)
		b.do("callback error page", chromedp.Navigate(base+"/callback?error=access_denied&state=unknown"), chromedp.WaitVisible(chromedp.CSS(".callback-card")))
		got := eval[[]string](b, `[document.documentElement.lang, document.querySelector('h1').textContent,
			getComputedStyle(document.querySelector('.callback-card')).borderTopLeftRadius,
			getComputedStyle(document.querySelector('.btn-filled')).backgroundColor,
			getComputedStyle(document.body).fontFamily,
			String(!!document.querySelector('link[rel="icon"]'))]`)
		if got[0] != lang {
			t.Errorf("%s: page language %q", lang, got[0])
		}
		if han := strings.IndexFunc(got[1], func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) >= 0; han != (lang == "zh-CN") {
			t.Errorf("%s: title %q is not in the chosen language", lang, got[1])
		}
		if got[2] == "0px" || got[3] == "rgba(0, 0, 0, 0)" || strings.HasPrefix(got[4], "\"Times") || got[4] == "serif" || got[5] != "true" {
			t.Errorf("%s: page not styled like the app (card radius %s, button %s, font %s, favicon %s)", lang, got[2], got[3], got[4], got[5])
		}
		shotBothThemes(b, shots, "signin-error-"+lang)
	}
}
