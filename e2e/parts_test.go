package e2e

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// testDraftError chats with the never-published Draft Bot: the server answers a
// JSON error before any stream, which the page shows inline with how to publish
// instead of a Retry that cannot help (issue 10 item 4). A failure a retry can
// fix (Coze's 5000, "#fail") shows a Retry, which replaces the failed reply.
func testDraftError(t *testing.T, b *browser) {
	b.openBot(cozesim.BotDraft)
	b.send("hello draft")
	if st := waitFor[string](b, "error reply", jsReplyDone, 20*time.Second); st != "failed" {
		t.Fatalf("draft bot reply status = %q, want failed", st)
	}
	note := eval[string](b, `(() => { const n = `+jsLastReply+`.querySelector('.msg-note.is-error'); return n && !n.hidden ? n.querySelector('.note-msg').textContent : ''; })()`)
	if note == "" {
		t.Errorf("no inline error note for the draft bot")
	}
	if got := eval[string](b, `[!!`+jsLastReply+`.querySelector('.msg-note .retry'), !!`+jsLastReply+`.querySelector('.msg-note .publish-link')].join()`); got != "false,true" {
		t.Errorf("draft note Retry, publish link = %s, want false,true", got)
	}
	if st := sendTo(b, cozesim.BotAssistant, "#fail for a retry"); st != "failed" {
		t.Fatalf("#fail reply status = %q, want failed", st)
	}
	if !eval[bool](b, jsLastReply+`.querySelector('.msg-note .retry') !== null`) {
		t.Errorf("inline error has no Retry button")
	}
	b.click(".msg-note .retry")
	if st := waitFor[string](b, "retried reply", jsReplyDone, 20*time.Second); st != "failed" {
		t.Errorf("retry status = %q, want failed again", st)
	}
	if n := eval[int](b, `document.querySelectorAll('.msg.assistant:not(.prologue)').length`); n != 1 {
		t.Errorf("replies after Retry = %d, want 1 (Retry replaces the failed reply)", n)
	}
}

// testSSEParser runs the page's own SSE parser (js/sse.js, imported in the page)
// over tricky framings: CRLF and CR line ends split across chunks, comments,
// multi-line data, ids, events without data, a final event without a blank line.
func testSSEParser(t *testing.T, b *browser) {
	got := eval[string](b, `import('/static/js/sse.js').then(({ SSEParser }) => {
  const p = new SSEParser();
  const out = [];
  const chunks = [': ping\r', '\nid: 1\r\nevent: a\r\ndata: x\r', '\n\r', '\nid: 2\revent: b\rdata:{"k":', '1}\r\r',
    'data: l1\ndata:  l2\n\n', 'event: empty\n\n', 'id: 9\nevent: c\ndata: 你好', '\n\n', 'data: tail'];
  for (const c of chunks) for (const e of p.push(c)) out.push(e.id + '|' + e.event + '|' + e.data);
  return out.join(' ; ') + ' ; last=' + p.lastEventId;
})`)
	want := `1|a|x ; 2|b|{"k":1} ; 2|message|l1
 l2 ; 9|c|你好 ; last=9`
	if got != want {
		t.Errorf("SSE parse:\n got %q\nwant %q", got, want)
	}
}

// testAttachment uploads a file from the composer (POST /api/files), sends it with
// a message (file_ids) and checks the name shows as text on the sent message.
func testAttachment(t *testing.T, b *browser) {
	path := filepath.Join(t.TempDir(), `notes <img src=x onerror=alert(1)>.csv`) // Coze takes no .txt (coze-protocol E10)
	if err := os.WriteFile(path, []byte("meeting notes: ship on Friday\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.openBot(cozesim.BotAssistant)
	b.do("choose file", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{path}))
	waitFor[bool](b, "uploaded", `!!document.querySelector('#attachments .file-chip.is-ready')`, 10*time.Second)
	b.send("What is in the attached file?")
	if st := waitFor[string](b, "reply with file", jsReplyDone, 30*time.Second); st != "complete" {
		t.Fatalf("reply status = %q", st)
	}
	name := eval[string](b, `(() => { const f = [...document.querySelectorAll('.msg.user')].pop().querySelector('.msg-files .file-name'); return f ? f.textContent : ''; })()`)
	if name != filepath.Base(path) {
		t.Errorf("file name on the sent message = %q, want %q", name, filepath.Base(path))
	}
	if n := eval[int](b, `document.querySelectorAll('.msg-files img, #attachments img').length`); n != 0 {
		t.Errorf("file name was parsed as HTML (%d <img>)", n)
	}
	if !eval[bool](b, `document.querySelector('#attachments').hidden`) {
		t.Errorf("attachment chips not cleared after sending")
	}
}

// testFraming loads the app inside an iframe on another origin: CSP
// frame-ancestors 'none' must block it (catalog case 68).
func testFraming(t *testing.T, b *browser, base string) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>framer</title><iframe id="f" src="%s/" width="600" height="400"></iframe>`, html.EscapeString(base))
	}))
	defer other.Close()
	b.do("open framing page", chromedp.Navigate(other.URL), chromedp.WaitReady(chromedp.CSS("#f")))
	deadline := time.Now().Add(10 * time.Second)
	for !b.consoleHas("frame-ancestors") {
		if time.Now().After(deadline) {
			t.Fatalf("no frame-ancestors refusal in the console; the app may be frameable\nconsole:\n%s", b.consoleText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testRegenerateUsageNewChat regenerates the last answer (replaced in place),
// opens the token usage (the reply's details), and starts a new conversation.
func testRegenerateUsageNewChat(t *testing.T, b *browser) {
	b.openBot(cozesim.BotMemory)
	b.send("Remember: apples")
	if st := waitFor[string](b, "memory reply", jsReplyDone, 20*time.Second); st != "complete" {
		t.Fatalf("reply status = %q", st)
	}
	b.click(".msg.assistant[data-status] .regenerate")
	waitFor[bool](b, "regenerating", `!document.querySelector('#stop').hidden || document.querySelector('.msg.assistant[data-status="complete"] .regenerate') === null`, 5*time.Second)
	if st := waitFor[string](b, "regenerated reply", jsReplyDone, 20*time.Second); st != "complete" {
		t.Fatalf("regenerated status = %q", st)
	}
	if got := eval[string](b, `document.querySelectorAll('.msg.user').length + '/' + document.querySelectorAll('.msg.assistant:not(.prologue)').length`); got != "1/1" {
		t.Errorf("user/assistant messages after regenerate = %s, want 1/1", got)
	}

	b.click(".msg.assistant[data-status] .details-btn") // the usage lives in the reply's details popover
	usage := waitFor[string](b, "usage shown", `(() => { const u = `+jsLastReply+`.querySelector('.msg-details:popover-open .msg-usage'); return u ? u.textContent : ''; })()`, 5*time.Second)
	if !regexp.MustCompile(`\d+ tokens`).MatchString(usage) {
		t.Errorf("usage text = %q, want a token count", usage)
	}

	b.click("#new-chat")
	waitFor[bool](b, "new conversation", `document.querySelectorAll('.msg.user, .msg.assistant:not(.prologue)').length === 0`, 5*time.Second)
}

// testSignOut signs out from the header: the sign-in screen returns and the
// session is gone on the server.
func testSignOut(t *testing.T, b *browser, base string) {
	b.do("open app", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#signout")))
	b.click("#signout")
	b.do("signed out", chromedp.WaitVisible(chromedp.CSS("#signin")))
	if eval[bool](b, `fetch('/api/auth/status').then(r => r.json()).then(s => s.authenticated)`) {
		t.Errorf("still authenticated after sign-out")
	}
}

// testReopenLiveReply leaves a Slow Storyteller reply mid-stream (reload), opens
// it from history and follows it live (replay from the server's run), then stops it.
func testReopenLiveReply(t *testing.T, b *browser) {
	b.openBot(cozesim.BotSlow)
	b.send("A story to come back to")
	waitFor[bool](b, "story started", jsReplyLen+` > 20`, 20*time.Second)
	conv := eval[string](b, fmt.Sprintf(`fetch('/api/conversations').then(r => r.json()).then(d => (d.conversations.find(c => c.bot_id === %q) || {}).id || '')`, cozesim.BotSlow))
	b.do("reload mid-stream", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".bot-item")))
	b.click("#tab-history")
	b.click(fmt.Sprintf(`.conv-item[data-conv-id="%s"] .conv-open`, conv))
	waitFor[bool](b, "following the live reply", `(() => { const m = `+jsLastReply+`; return !!m && m.dataset.status === 'streaming' && !document.querySelector('#stop').hidden; })()`, 10*time.Second)
	n := waitFor[int](b, "replayed text", jsReplyLen, 10*time.Second)
	waitFor[bool](b, "reply keeps growing", fmt.Sprintf(`%s > %d`, jsReplyLen, n+10), 10*time.Second)
	b.click("#stop")
	if st := waitFor[string](b, "stopped", jsReplyDone, 10*time.Second); st != "canceled" {
		t.Errorf("status after Stop on a reopened reply = %q, want canceled", st)
	}
}

// hostilePayloads are the catalog case 69 payloads.
var hostilePayloads = []string{
	`<script>window.__pwned=1</script>`,
	`<img src=x onerror="window.__pwned=1">`,
	`<svg onload="window.__pwned=1"><circle r=1 /></svg>`,
	`<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>`,
	`[x](javascript:window.__pwned=1)`,
	`<a href="jav&#x09;ascript:window.__pwned=1">tab</a>`,
	`[d](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)`,
	`<a href=//evil.example target=_blank>evil</a>`,
	`<form action=//evil.example><input name=q><button>go</button></form>`,
	`<meta http-equiv=refresh content="0;url=//evil.example">`,
	`<base href=//evil.example/>`,
	`<style>body{display:none}</style><div style="position:fixed;inset:0">overlay</div>`,
	`<noscript><p title="</noscript><img src=x onerror=window.__pwned=1>"></noscript>`,
	"```html\n<script>window.__pwned=1</script>\n```",
}

// testMarkdownPrefixes renders every payload cut at every offset with the page's
// own renderer (js/markdown.js), as a stream would deliver it, and checks each
// intermediate fragment is inert (catalog case 69, "cut at every byte offset").
func testMarkdownPrefixes(t *testing.T, b *browser) {
	payloads, err := json.Marshal(hostilePayloads)
	if err != nil {
		t.Fatal(err)
	}
	bad := eval[[]string](b, `import('/static/js/markdown.js').then(({ renderMarkdown }) => {
  const bad = [];
  const payloads = `+string(payloads)+`;
  const text = 'Intro **bold**\n\n' + payloads.join('\n\n') + '\n\n[ok](https://example.com) done';
  const chars = Array.from(text);
  for (let i = 1; i <= chars.length; i++) {
    const div = document.createElement('div');
    div.append(renderMarkdown(chars.slice(0, i).join(''), i === chars.length));
    for (const el of div.querySelectorAll('*')) {
      for (const a of el.attributes) if (/^on/i.test(a.name) || ['style', 'srcdoc', 'action', 'formaction', 'id', 'name'].includes(a.name)) bad.push(i + ': ' + el.tagName + '[' + a.name + ']');
      if (!/^(A|B|BLOCKQUOTE|BR|CODE|DEL|DIV|EM|H[1-6]|HR|I|IMG|INPUT|LI|OL|P|PRE|S|SPAN|STRONG|TABLE|TBODY|TD|TH|THEAD|TR|UL|BUTTON|svg|path)$/.test(el.tagName)) bad.push(i + ': element ' + el.tagName);
      if ((el.tagName === 'svg' || el.tagName === 'path' || el.tagName === 'BUTTON') && !el.closest('.code-head')) bad.push(i + ': ' + el.tagName + ' outside the code toolbar');
      if (el.tagName === 'A' && el.hasAttribute('href') && (!/^(https?:|mailto:)/i.test(el.getAttribute('href')) || el.rel !== 'noopener noreferrer nofollow' || el.target !== '_blank')) bad.push(i + ': link ' + el.outerHTML);
      if (el.tagName === 'IMG' && !/^(https:|\/[^\/\\])/.test(el.getAttribute('src') || '')) bad.push(i + ': img ' + el.outerHTML);
    }
    if (typeof window.__pwned !== 'undefined') bad.push(i + ': pwned');
  }
  return bad.slice(0, 20);
})`)
	if len(bad) > 0 {
		t.Errorf("unsafe intermediate renders: %q", bad)
	}
}

// testImageURLRule checks the page's rule for bot icons, avatars and markdown
// images: https: or a same-origin path, nothing else (catalog case 70).
func testImageURLRule(t *testing.T, b *browser) {
	tests := []struct {
		in   string
		want bool
	}{
		{"https://cdn.example.com/a.png", true},
		{"/_sim/assets/bot.svg", true},
		{"http://cdn.example.com/a.png", false},
		{"javascript:alert(1)", false},
		{"data:image/svg+xml,<svg onload=alert(1)>", false},
		{"//evil.example/a.png", false},
		{"/\\evil.example/a.png", false},
		{"/\t/evil.example/a.png", false},
		{" JaVaScRiPt:alert(1)", false},
		{"", false},
	}
	for _, tt := range tests {
		in, _ := json.Marshal(tt.in)
		got := eval[bool](b, `import('/static/js/dom.js').then(({ safeImageURL }) => safeImageURL(`+string(in)+`) !== '')`)
		if got != tt.want {
			t.Errorf("safeImageURL(%q) allowed = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// testConnectionCap streams in two tabs at once (this one and a new one) and
// loads history meanwhile: those API calls must complete (catalog case 61; one
// stream per tab keeps us far below HTTP/1.1's six connections per origin).
func testConnectionCap(t *testing.T, b *browser, base string) {
	startStory := func(tab *browser, text string) {
		tab.setInput("#workspace-select", cozesim.WorkspaceTeam)
		tab.click(fmt.Sprintf(`.bot-item[data-bot-id="%s"]`, cozesim.BotSlow))
		waitFor[bool](tab, "composer enabled", `!document.querySelector('#composer').disabled`, 10*time.Second)
		tab.setInput("#composer", text)
		eval[chromedp.Void](tab, `document.querySelector('#send').click()`)
		waitFor[bool](tab, "streaming", `(() => { const m = `+jsLastReply+`; return !!m && !!m.dataset.chatId && !document.querySelector('#stop').hidden; })()`, 20*time.Second)
	}
	newTab := func() *browser {
		ctx, cancel := chromedp.NewContext(b.ctx)
		t.Cleanup(cancel)
		tab := &browser{t: t, ctx: ctx}
		tab.watchDialogs()
		tab.do("open tab", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(".bot-item")))
		return tab
	}
	startStory(b, "Story in the first tab")
	second := newTab()
	startStory(second, "Story in the second tab")
	// The connection pool is per browser, not per tab: with both streams open,
	// history must still load.
	eval[chromedp.Void](second, `document.querySelector('#tab-history').click()`)
	waitFor[bool](second, "history while two streams run", `document.querySelectorAll('#conv-list .conv-item').length > 0`, 10*time.Second)
	for i, tab := range []*browser{b, second} {
		st := eval[string](tab, `(() => { const m = `+jsLastReply+`; return m ? m.dataset.status : ''; })()`)
		if st != "streaming" && st != "complete" {
			t.Errorf("tab %d reply status = %q while the third tab loaded", i+1, st)
		}
	}
	// Input events do not reach background tabs, so press Stop from script.
	for _, tab := range []*browser{b, second} {
		eval[chromedp.Void](tab, `document.querySelector('#stop').hidden || document.querySelector('#stop').click()`)
		waitFor[string](tab, "stopped", jsReplyDone, 10*time.Second)
	}
}

// testAccessibleNames checks that every visible control has an accessible name
// (text, aria-label, title or a <label>) and the live region is in place.
func testAccessibleNames(t *testing.T, b *browser) {
	unnamed := eval[[]string](b, `[...document.querySelectorAll('button, a[href], input:not([type=hidden]), select, textarea')]
  .filter(el => el.offsetParent !== null && !el.closest('[hidden]'))
  .filter(el => !((el.getAttribute('aria-label') || '').trim() || el.textContent.trim() || (el.title || '').trim() || (el.labels && el.labels.length && [...el.labels].some(l => l.textContent.trim())) || (el.placeholder || '').trim()))
  .map(el => el.outerHTML.slice(0, 120))`)
	if len(unnamed) > 0 {
		t.Errorf("controls without an accessible name: %q", unnamed)
	}
	// The list changes on every token, so it is not read out; the answer is,
	// paragraph by paragraph, from #answer-live (TestAccessibilityAnswerAnnouncedByParagraph).
	if got := eval[string](b, `(() => { const m = document.querySelector('#messages'), l = document.querySelector('#answer-live'); return [m.getAttribute('role'), m.getAttribute('aria-live'), l.getAttribute('aria-live')].join(' '); })()`); got != "log off polite" {
		t.Errorf("#messages role/aria-live, #answer-live aria-live = %q, want \"log off polite\"", got)
	}
}

// convCount is the number of history rows shown.
const convCount = `document.querySelectorAll('#conv-list .conv-item').length`

// renameConv renames the conversation in history through its menu and
// dialog, waits for the new title in its row and returns the row's selector.
func renameConv(b *browser, convID, title string) string {
	b.t.Helper()
	item := fmt.Sprintf(`.conv-item[data-conv-id="%s"]`, convID)
	b.click(item + " .conv-more")
	b.click(item + " .menu-rename")
	waitFor[bool](b, "rename dialog", `document.querySelector('#rename-dialog').open`, 5*time.Second)
	b.setInput("#rename-input", title)
	b.click("#rename-save")
	waitFor[bool](b, "renamed row", fmt.Sprintf(`(document.querySelector('%s .conv-title') || {}).textContent === %q`, item, title), 10*time.Second)
	return item
}

// testRenameSearch renames the conversation through its menu and dialog, then
// filters history with the search box (debounced, server-side q=).
func testRenameSearch(t *testing.T, b *browser, convID string) {
	item := renameConv(b, convID, "E2E zebra notes")

	b.setInput("#history-search", "zebra")
	waitFor[bool](b, "search hit", fmt.Sprintf(`%s === 1 && !!document.querySelector('%s')`, convCount, item), 10*time.Second)
	b.setInput("#history-search", "no-such-conversation-qq")
	waitFor[bool](b, "search miss", convCount+` === 0 && !!document.querySelector('#conv-list .list-status')`, 10*time.Second)
	b.setInput("#history-search", "")
	waitFor[bool](b, "search cleared", fmt.Sprintf(`!!document.querySelector('%s')`, item), 10*time.Second)

	// Escape closes an open menu (keyboard users).
	b.click(item + " .conv-more")
	b.do("escape", chromedp.KeyEvent("\x1b"))
	waitFor[bool](b, "menu closed", fmt.Sprintf(`document.querySelector('%s .menu').hidden`, item), 5*time.Second)
}

// testStop starts the Slow Storyteller, presses Stop mid-stream, checks the reply
// stops growing and is recorded as canceled, then deletes that conversation.
func testStop(t *testing.T, b *browser) {
	b.openBot(cozesim.BotSlow)
	b.send("Tell me a long story")
	waitFor[bool](b, "story started", jsReplyLen+` > 40`, 20*time.Second)
	b.click("#stop")
	if st := waitFor[string](b, "stopped", jsReplyDone, 10*time.Second); st != "canceled" {
		t.Fatalf("status after Stop = %q, want canceled", st)
	}
	n1 := eval[int](b, jsReplyLen)
	time.Sleep(600 * time.Millisecond) // the story streams a delta at least every 50 ms
	if n2 := eval[int](b, jsReplyLen); n2 != n1 {
		t.Errorf("reply grew after Stop: %d -> %d runes", n1, n2)
	}

	conv := eval[string](b, fmt.Sprintf(`fetch('/api/conversations').then(r => r.json()).then(d => (d.conversations.find(c => c.bot_id === %q) || {}).id || '')`, cozesim.BotSlow))
	if conv == "" {
		t.Fatalf("slow conversation missing from /api/conversations")
	}
	waitFor[bool](b, "recorded as canceled", fmt.Sprintf(`fetch('/api/conversations/%s/messages').then(r => r.json()).then(d => { const a = d.messages.filter(m => m.role === 'assistant').pop(); return !!a && a.status === 'canceled'; })`, conv), 10*time.Second)

	b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".bot-item")))
	b.click("#tab-history")
	item := fmt.Sprintf(`.conv-item[data-conv-id="%s"]`, conv)
	b.click(item + " .conv-open")
	if st := waitFor[string](b, "canceled in history", `(() => { const m = `+jsLastReply+`; return m ? m.dataset.status : ''; })()`, 10*time.Second); st != "canceled" {
		t.Errorf("history status = %q, want canceled", st)
	}
	if hidden := eval[bool](b, jsLastReply+`.querySelector('.msg-note').hidden`); hidden {
		t.Errorf("canceled reply shows no note")
	}

	b.click(item + " .conv-more")
	b.click(item + " .menu-delete") // no confirm: the snackbar offers Undo (history_test.go)
	waitFor[bool](b, "row deleted", fmt.Sprintf(`!document.querySelector('%s')`, item), 10*time.Second)
	waitFor[bool](b, "chat pane reset", `!document.querySelector('#chat-empty').hidden`, 5*time.Second)
}

// testLanguageTheme flips language and theme with the top-bar toggles and checks
// both survive a reload (localStorage).
func testLanguageTheme(t *testing.T, b *browser) {
	lang := eval[string](b, `document.documentElement.lang`)
	other, label := "zh-CN", "智能体"
	if lang == "zh-CN" {
		other, label = "en", "Bots"
	}
	b.click("#lang-toggle")
	waitFor[bool](b, "language switched", fmt.Sprintf(`document.documentElement.lang === %q`, other), 5*time.Second)
	if got := eval[string](b, `document.querySelector('#tab-bots').textContent.trim()`); got != label {
		t.Errorf("bots tab label = %q, want %q", got, label)
	}
	b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".bot-item")))
	if got := eval[string](b, `document.documentElement.lang`); got != other {
		t.Errorf("language after reload = %q, want %q", got, other)
	}
	b.click("#lang-toggle")
	waitFor[bool](b, "language back", fmt.Sprintf(`document.documentElement.lang === %q`, lang), 5*time.Second)

	bg := `getComputedStyle(document.body).backgroundColor`
	before := eval[string](b, bg)
	b.click("#theme-toggle")
	theme := waitFor[string](b, "theme set", `document.documentElement.dataset.theme || ''`, 5*time.Second)
	if after := eval[string](b, bg); after == before {
		t.Errorf("background unchanged after theme toggle (%s)", after)
	}
	b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".bot-item")))
	if got := eval[string](b, `document.documentElement.dataset.theme || ''`); got != theme {
		t.Errorf("theme after reload = %q, want %q", got, theme)
	}
}

// testScreenshots opens the markdown conversation in light and dark on a desktop
// and on a 360×740 phone.
func testScreenshots(t *testing.T, b *browser, convID string, dir string) {
	open := func() {
		b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".topbar")))
		if eval[bool](b, `getComputedStyle(document.querySelector('#menu-btn')).display !== 'none'`) {
			openDrawer(b)
		}
		b.click("#tab-history")
		b.click(fmt.Sprintf(`.conv-item[data-conv-id="%s"] .conv-open`, convID))
		waitFor[bool](b, "conversation shown", fmt.Sprintf(`location.pathname === '/c/%s' && document.querySelectorAll('.msg.assistant[data-status="complete"]').length === 3`, convID), 10*time.Second)
		time.Sleep(400 * time.Millisecond) // images and the entry animation
	}
	for _, theme := range []string{"light", "dark"} {
		eval[chromedp.Void](b, fmt.Sprintf(`localStorage.setItem('coze2app.theme', %q)`, theme))
		open()
		b.screenshot(dir, "desktop-"+theme+".png")
	}
	eval[chromedp.Void](b, `localStorage.setItem('coze2app.theme', 'light')`)
	b.viewport(360, 740)
	open()
	b.screenshot(dir, "phone-360x740.png")
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 360 {
		t.Errorf("page is %d px wide on a 360 px phone (horizontal scroll)", w)
	}
	openDrawer(b)
	b.screenshot(dir, "phone-drawer.png")
	b.do("escape", chromedp.KeyEvent("\x1b"))
	waitFor[bool](b, "drawer closed", `!document.body.classList.contains('drawer-open')`, 5*time.Second)
	b.viewport(1280, 800)
	b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".bot-item")))
}

// testXSS chats with XSS Lab (every payload) and checks that nothing runs, at any
// intermediate render or at the end, in the reply, its chips and the sidebar.
func testXSS(t *testing.T, b *browser) {
	b.openBot(cozesim.BotXSS)
	eval[chromedp.Void](b, jsMonitor)
	b.send("all")
	if st := waitFor[string](b, "xss reply", jsReplyDone, 30*time.Second); st != "complete" {
		t.Fatalf("XSS Lab reply status = %q", st)
	}
	time.Sleep(300 * time.Millisecond) // give any injected handler a chance to fire
	if p := eval[string](b, `typeof window.__pwned`); p != "undefined" {
		t.Errorf("window.__pwned is %s: a payload ran", p)
	}
	if bad := eval[[]string](b, `window.__bad`); len(bad) > 0 {
		t.Errorf("unsafe DOM at some render: %v", bad)
	}
	if d := b.openedDialogs(); len(d) > 0 {
		t.Errorf("JavaScript dialogs opened: %q", d)
	}
	if n := eval[int](b, `window.__renders`); n < 2 {
		t.Errorf("intermediate renders = %d, want >= 2", n)
	}
	checks := map[string]string{
		"no on* attribute anywhere":   `[...document.querySelectorAll('*')].filter(el => [...el.attributes].some(a => /^on/i.test(a.name))).map(el => el.tagName)`,
		"no dangerous elements":       `[...document.querySelectorAll('#messages script, #messages iframe, #messages object, #messages embed, #messages form, #messages meta, #messages base, #messages style, #messages noscript, #messages svg:not(.icon), body script:not([type=module])')].map(el => el.tagName)`,
		"only http(s)/mailto hrefs":   `[...document.querySelectorAll('#messages .msg-body a[href]')].map(a => a.getAttribute('href')).filter(h => !/^(https?:|mailto:)/i.test(h))`,
		"links open safely":           `[...document.querySelectorAll('#messages .msg-body a[href]')].filter(a => a.target !== '_blank' || !/noopener/.test(a.rel) || !/noreferrer/.test(a.rel)).map(a => a.outerHTML)`,
		"chips are text only":         `[...document.querySelectorAll('.chip')].filter(c => c.children.length > 0).map(c => c.outerHTML)`,
		"bot names/descriptions text": `[...document.querySelectorAll('#bot-list .item-text *')].filter(el => !el.classList.contains('item-title') && !el.classList.contains('item-sub')).map(el => el.tagName)`,
		"images only https or /":      `[...document.querySelectorAll('img')].map(i => i.getAttribute('src')).filter(s => !/^(https:|\/[^\/\\])/.test(s))`,
	}
	for name, js := range checks {
		if got := eval[[]string](b, js); len(got) > 0 {
			t.Errorf("%s: found %q", name, got)
		}
	}
	if base := eval[string](b, `document.baseURI`); !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Errorf("document.baseURI = %q: a <base> payload took effect", base)
	}
}

// openDrawer opens the phone drawer and waits for its slide-in to finish, so
// clicks land on the drawer and not on the scrim.
func openDrawer(b *browser) {
	b.t.Helper()
	b.click("#menu-btn")
	waitFor[bool](b, "drawer open", `document.body.classList.contains('drawer-open') && getComputedStyle(document.querySelector('#sidebar')).transform === 'none'`, 5*time.Second)
}
