package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// convCount is the number of history rows shown.
const convCount = `document.querySelectorAll('#conv-list .conv-item').length`

// testRenameSearch renames the conversation through its menu and dialog, then
// filters history with the search box (debounced, server-side q=).
func testRenameSearch(t *testing.T, b *browser, convID string) {
	item := fmt.Sprintf(`.conv-item[data-conv-id="%s"]`, convID)
	const title = "E2E zebra notes"
	b.click(item + " .conv-more")
	b.click(item + " .menu-rename")
	waitFor[bool](b, "rename dialog", `document.querySelector('#rename-dialog').open`, 5*time.Second)
	b.setInput("#rename-input", title)
	b.click("#rename-save")
	waitFor[bool](b, "renamed row", fmt.Sprintf(`(document.querySelector('%s .conv-title') || {}).textContent === %q`, item, title), 10*time.Second)

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
	b.click("#tab-bots")
	b.click(fmt.Sprintf(`.bot-item[data-bot-id="%s"]`, cozesim.BotSlow))
	waitFor[bool](b, "composer enabled", `!document.querySelector('#composer').disabled`, 10*time.Second)
	b.setInput("#composer", "Tell me a long story")
	b.click("#send")
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
	b.click(item + " .menu-delete")
	waitFor[bool](b, "confirm dialog", `document.querySelector('#confirm-dialog').open`, 5*time.Second)
	b.click("#confirm-ok")
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
	b.click("#tab-bots")
	b.click(fmt.Sprintf(`.bot-item[data-bot-id="%s"]`, cozesim.BotXSS))
	waitFor[bool](b, "composer enabled", `!document.querySelector('#composer').disabled`, 10*time.Second)
	eval[chromedp.Void](b, jsMonitor)
	b.setInput("#composer", "all")
	b.click("#send")
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
