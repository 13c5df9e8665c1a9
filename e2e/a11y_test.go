package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// Issue 10 item 11: accessibility. axe-core (e2e/testdata/axe, test-only, never
// served by the app) audits the main screens; behaviour tests cover what a rule
// engine cannot see (focus ring, paragraph-level announcements, focus trap).

// axeViolation is one failed axe rule with the elements it failed on.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

var (
	axeOnce sync.Once
	axeSrc  string
	axeErr  error
)

// axeSource is the vendored axe.min.js, read once.
func axeSource(t *testing.T) string {
	t.Helper()
	axeOnce.Do(func() {
		var b []byte
		b, axeErr = os.ReadFile("testdata/axe/axe.min.js")
		axeSrc = string(b)
	})
	if axeErr != nil {
		t.Fatalf("vendored axe-core: %v", axeErr)
	}
	return axeSrc
}

// runAxe audits the current document with axe-core, injected through the
// DevTools protocol (Runtime.evaluate is not subject to the page's CSP), and
// returns every violation.
func runAxe(b *browser) []axeViolation {
	b.t.Helper()
	if !eval[bool](b, `typeof window.axe === 'object'`) {
		eval[chromedp.Void](b, axeSource(b.t)+"\n;void 0")
	}
	raw := eval[string](b, `axe.run(document, { resultTypes: ['violations'] }).then((r) => JSON.stringify(r.violations))`)
	var vs []axeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		b.t.Fatalf("axe result: %v", err)
	}
	return vs
}

// seriousOf keeps the violations with impact serious or critical.
func seriousOf(vs []axeViolation) []axeViolation {
	var out []axeViolation
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			out = append(out, v)
		}
	}
	return out
}

// describe prints violations one rule a line, with up to three elements each.
func describe(vs []axeViolation) string {
	var sb strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&sb, "\n  [%s] %s: %s (%d elements)", v.Impact, v.ID, v.Help, len(v.Nodes))
		for i, n := range v.Nodes {
			if i == 3 {
				fmt.Fprintf(&sb, "\n      …")
				break
			}
			fmt.Fprintf(&sb, "\n      %v — %s", n.Target, strings.ReplaceAll(n.Summary, "\n", " "))
		}
	}
	return sb.String()
}

// auditBothThemes audits the screen in light, then in dark, and leaves it light.
func auditBothThemes(t *testing.T, b *browser, light, dark string) {
	t.Helper()
	auditScreen(t, b, light)
	setThemeNow(b, "dark")
	auditScreen(t, b, dark)
	setThemeNow(b, "light")
}

// auditScreen runs axe on the screen as it is and fails on serious or
// critical violations; the lesser ones are logged.
func auditScreen(t *testing.T, b *browser, screen string) {
	t.Helper()
	vs := runAxe(b)
	bad := seriousOf(vs)
	t.Logf("axe %s: %d violations, %d serious or critical%s", screen, len(vs), len(bad), describe(vs))
	if len(bad) > 0 {
		t.Errorf("axe %s: %d serious or critical violations:%s", screen, len(bad), describe(bad))
	}
}

// setThemeNow switches the theme the way the toggle does, without a reload, and
// waits for the colour transitions: mid-transition colours fail the contrast rule.
func setThemeNow(b *browser, theme string) {
	b.t.Helper()
	eval[chromedp.Void](b, fmt.Sprintf(`import('/static/js/theme.js').then((m) => { localStorage.setItem('coze2app.theme', %q); m.applyTheme(); })`, theme))
	waitFor[bool](b, "theme settled", jsSettled, 5*time.Second)
}

// The main screens in light, dark, zh-CN and on a phone have no serious or
// critical axe-core violation.
func TestAccessibilityAxeMainScreens(t *testing.T) {
	b := mustStartBrowser(t)
	base := mustStartApp(t, nil)
	// Each screen is audited even when an earlier one failed (t.Errorf), so
	// one run reports every screen; step runs fn against the test itself.
	step := func(name string, fn func(t *testing.T)) { t.Logf("screen %s", name); fn(t) }

	step("SignIn", func(t *testing.T) {
		b.do("open /", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#signin")))
		auditScreen(t, b, "sign-in light")
		setThemeNow(b, "dark")
		auditScreen(t, b, "sign-in dark")
		setThemeNow(b, "light")
	})
	step("BotList", func(t *testing.T) {
		pageSignIn(b)
		useWorkspace(b, cozesim.WorkspaceTeam)
		auditScreen(t, b, "bot list")
	})
	step("ChatWithFinishedAnswer", func(t *testing.T) {
		if st := sendTo(b, cozesim.BotAssistant, "Hello, an answer in markdown please"); st != "complete" {
			t.Fatalf("reply status %q", st)
		}
		waitFor[bool](b, "follow-ups", `!!document.querySelector('.follow-up')`, 10*time.Second)
		auditBothThemes(t, b, "chat light", "chat dark")
	})
	step("History", func(t *testing.T) {
		b.click("#tab-history")
		waitFor[bool](b, "history", `!!document.querySelector('.conv-item')`, 10*time.Second)
		auditScreen(t, b, "history")
	})
	step("RenameDialog", func(t *testing.T) {
		b.click(".conv-item .conv-more")
		b.click(".conv-item .menu-rename")
		waitFor[bool](b, "rename dialog", `document.querySelector('#rename-dialog').open`, 5*time.Second)
		auditScreen(t, b, "rename dialog")
		b.do("escape", chromedp.KeyEvent("\x1b"))
	})
	step("Workflows", func(t *testing.T) {
		openWorkflow(b, cozesim.WorkflowWeather)
		auditScreen(t, b, "workflow form")
		b.setInput(`.wf-input[name="city"]`, "Paris")
		b.click("#workflow-run")
		waitFor[string](b, "workflow done", jsWorkflowDone, 30*time.Second)
		auditBothThemes(t, b, "workflow result", "workflow result dark")
	})
	step("ChineseChat", func(t *testing.T) {
		b.click("#lang-toggle")
		waitFor[bool](b, "zh-CN", `document.documentElement.lang === 'zh-CN'`, 5*time.Second)
		b.click("#tab-bots")
		b.click(fmt.Sprintf(`.bot-item[data-bot-id="%s"]`, cozesim.BotAssistant))
		waitFor[bool](b, "composer enabled", `!document.querySelector('#composer').disabled`, 10*time.Second)
		auditScreen(t, b, "chat zh-CN")
		b.click("#lang-toggle")
		waitFor[bool](b, "en", `document.documentElement.lang === 'en'`, 5*time.Second)
	})
	step("Phone", func(t *testing.T) {
		b.viewport(390, 844)
		time.Sleep(300 * time.Millisecond)
		auditScreen(t, b, "phone chat")
		b.click("#menu-btn")
		waitFor[bool](b, "drawer open", `document.body.classList.contains('drawer-open')`, 5*time.Second)
		time.Sleep(300 * time.Millisecond)
		auditScreen(t, b, "phone drawer")
		setThemeNow(b, "dark")
		auditScreen(t, b, "phone drawer dark")
		setThemeNow(b, "light")
	})
}

// jsRing is the focus ring's width in px on the focused control: its own
// outline, or its field box's for a text field (whose input draws none).
const jsRing = `(() => {
  const el = document.activeElement;
  const width = (x) => { if (!x) return 0; const s = getComputedStyle(x); return s.outlineStyle === 'none' ? 0 : parseFloat(s.outlineWidth) || 0; };
  return Math.max(width(el), width(el && el.closest('.field-box, .composer')));
})()`

// tab presses Tab (Shift+Tab when back) n times, checking after each press that
// focus is still inside sel.
func tabInside(t *testing.T, b *browser, sel string, n int, back bool) {
	t.Helper()
	var opts []chromedp.KeyOption
	if back {
		opts = append(opts, chromedp.KeyModifiers(chromedp.ModifierShift))
	}
	for i := 0; i < n; i++ {
		b.do("tab", chromedp.KeyEvent(kb.Tab, opts...))
		if where := eval[string](b, fmt.Sprintf(`document.querySelector(%q).contains(document.activeElement) ? '' : (document.activeElement ? document.activeElement.outerHTML.slice(0, 100) : 'nothing')`, sel)); where != "" {
			t.Fatalf("after %d Tabs (shift %v) focus left %s for %s", i+1, back, sel, where)
		}
	}
}

// Tab shows a 2 px ring on text fields and buttons (screenshots light and
// dark); the language button is named in the language it switches to; the bot
// editor has no serious or critical axe-core violation, keeps focus inside
// over many Tabs, closes on Escape and gives focus back to the button that
// opened it.
func TestAccessibilityFocusRingLanguageAndBotEditor(t *testing.T) {
	b, _ := startSignedIn(t, nil, cozesim.UserAlan, cozesim.WorkspaceAlan)
	shots := artifactsDir(t)

	eval[chromedp.Void](b, `document.querySelector('#bot-filter').focus()`)
	b.do("tab to a button", chromedp.KeyEvent(kb.Tab))
	if w := eval[float64](b, jsRing); w < 2 {
		t.Errorf("focus ring on %s after Tab = %vpx, want >= 2", eval[string](b, `document.activeElement.outerHTML.slice(0, 80)`), w)
	}
	for _, theme := range []string{"light", "dark"} {
		setThemeNow(b, theme)
		b.screenshot(shots, "a11y-focus-button-"+theme+".png")
	}
	b.do("back to the filter", chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
	if id := eval[string](b, `document.activeElement.id`); id != "bot-filter" {
		t.Fatalf("Shift+Tab went to %q, want bot-filter", id)
	}
	for _, theme := range []string{"light", "dark"} {
		setThemeNow(b, theme)
		if w := eval[float64](b, jsRing); w < 2 {
			t.Errorf("%s: focus ring on the filter field = %vpx, want >= 2", theme, w)
		}
		b.screenshot(shots, "a11y-focus-field-"+theme+".png")
	}
	setThemeNow(b, "light")

	// The language button: named in the language it switches to, and marked so.
	langBtn := `(() => { const b = document.querySelector('#lang-toggle'); return [document.documentElement.lang, b.lang, b.getAttribute('aria-label')].join('|'); })()`
	if got := eval[string](b, langBtn); got != "en|zh-CN|切换到中文" {
		t.Errorf("English page: page lang|button lang|button name = %q, want en|zh-CN|切换到中文", got)
	}
	b.click("#lang-toggle")
	waitFor[bool](b, "zh-CN", `document.documentElement.lang === 'zh-CN'`, 5*time.Second)
	if got := eval[string](b, langBtn); got != "zh-CN|en|Switch to English" {
		t.Errorf("Chinese page: page lang|button lang|button name = %q, want zh-CN|en|Switch to English", got)
	}
	b.click("#lang-toggle")
	waitFor[bool](b, "en", `document.documentElement.lang === 'en'`, 5*time.Second)

	// The bot editor, opened from the keyboard.
	eval[chromedp.Void](b, `document.querySelector('#new-bot').focus()`)
	b.do("open editor", chromedp.KeyEvent(kb.Enter))
	waitFor[bool](b, "editor open", `document.querySelector('#bot-dialog').open && document.activeElement.id === 'bot-name'`, 5*time.Second)
	if w := eval[float64](b, jsRing); w < 2 {
		t.Errorf("focus ring on the bot name field = %vpx, want >= 2", w)
	}
	waitFor[bool](b, "dialog settled", jsSettled, 5*time.Second)
	b.screenshot(shots, "a11y-focus-dialog-light.png")
	auditScreen(t, b, "bot editor light")
	setThemeNow(b, "dark")
	b.screenshot(shots, "a11y-focus-dialog-dark.png")
	auditScreen(t, b, "bot editor dark")
	setThemeNow(b, "light")
	n := eval[int](b, `document.querySelectorAll('#bot-dialog button, #bot-dialog input:not([hidden]), #bot-dialog textarea').length`)
	tabInside(t, b, "#bot-dialog", 3*n, false)
	tabInside(t, b, "#bot-dialog", n+2, true)
	b.do("escape", chromedp.KeyEvent(kb.Escape))
	waitFor[bool](b, "editor closed", `!document.querySelector('#bot-dialog').open`, 5*time.Second)
	if id := eval[string](b, `document.activeElement.id`); id != "new-bot" {
		t.Errorf("focus after Escape on %q, want back on new-bot", id)
	}
}

// jsCountDeltas counts the delta events of the next streamed /api/chat answer
// into window.__deltas (set once the stream has ended), reading a copy of the
// response body the page reads.
const jsCountDeltas = `(() => {
  const orig = window.fetch;
  window.__deltas = 0;
  window.fetch = async (...args) => {
    const res = await orig(...args);
    if (String(args[0]) !== '/api/chat' || !(res.headers.get('Content-Type') || '').includes('text/event-stream')) return res;
    const [page, mine] = res.body.tee();
    new Response(mine).text().then((body) => { window.__deltas = (body.match(/^event: ?delta\r?$/mg) || []).length; });
    return new Response(page, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
})()`

// A streamed multi-paragraph answer is read out from #answer-live once per
// finished paragraph — fewer announcements than delta events,
// some of them while it still streams — then how it ended; the history's rename
// dialog keeps focus inside and gives it back to the row's menu button.
func TestAccessibilityAnswerAnnouncedByParagraph(t *testing.T) {
	b := mustStartBrowser(t)
	base := mustStartApp(t, nil)
	b.do("open /", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#signin")))
	pageSignIn(b)
	useWorkspace(b, cozesim.WorkspaceTeam)
	b.openBot(cozesim.BotAssistant)
	eval[chromedp.Void](b, jsMonitor)
	eval[chromedp.Void](b, jsCountDeltas)
	eval[chromedp.Void](b, `(() => {
  window.__said = [];
  new MutationObserver((recs) => {
    for (const r of recs) for (const n of r.addedNodes) {
      const m = `+jsLastReply+`;
      window.__said.push({ text: n.textContent, streaming: !!m && m.dataset.status === 'streaming' });
    }
  }).observe(document.querySelector('#answer-live'), { childList: true });
})()`)
	b.send("Tell me, in several paragraphs")
	if st := waitFor[string](b, "reply", jsReplyDone, 30*time.Second); st != "complete" {
		t.Fatalf("reply status %q", st)
	}
	type said struct {
		Text      string `json:"text"`
		Streaming bool   `json:"streaming"`
	}
	got := eval[[]said](b, `window.__said`)
	renders := eval[int](b, `window.__renders`)
	deltas := waitFor[int](b, "delta count", `window.__deltas`, 10*time.Second)
	var texts []string
	early := 0
	for _, s := range got {
		texts = append(texts, s.Text)
		if s.Streaming {
			early++
		}
	}
	t.Logf("%d announcements (%d while streaming), %d delta events, %d renders of the streaming answer:\n  %s", len(got), early, deltas, renders, strings.Join(texts, "\n  "))
	if len(got) < 5 {
		t.Fatalf("announcements = %d, want one per paragraph of the markdown answer (>= 5)", len(got))
	}
	if len(got) >= deltas {
		t.Errorf("announcements = %d, delta events = %d: want fewer announcements than deltas", len(got), deltas)
	}
	if early < 2 {
		t.Errorf("announcements while streaming = %d, want paragraphs read as they finish (>= 2)", early)
	}
	if last := texts[len(texts)-1]; last != "Answer complete" {
		t.Errorf("last announcement = %q, want the final state \"Answer complete\"", last)
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"Third: replies are deterministic", "You asked: Tell me, in several paragraphs", "See the Coze docs"} {
		if n := strings.Count(all, want); n != 1 {
			t.Errorf("%q announced %d times, want once", want, n)
		}
	}
	for _, bad := range []string{"**", "```", "| ---"} {
		if strings.Contains(all, bad) {
			t.Errorf("announcement contains markdown syntax %q", bad)
		}
	}
	code := 0
	for _, s := range texts {
		if strings.Contains(s, "package main") && strings.Contains(s, "fmt.Println") {
			code++
		}
	}
	if code != 1 {
		t.Errorf("the code block (with a blank line inside) was announced as one paragraph %d times, want 1", code)
	}

	// Rename from the history row's menu: focus stays in the dialog, then
	// returns to the menu button (the menu item that opened it is gone).
	b.click("#tab-history")
	// The tab reloads the list, which may replace a row between finding and clicking it;
	// an open menu holds the list still, so press the current row's button until one is.
	waitFor[bool](b, "menu", `(() => {
	  const more = document.querySelector('.conv-item .conv-more');
	  if (more && more.getAttribute('aria-expanded') !== 'true') more.click();
	  return document.activeElement.classList.contains('menu-rename');
	})()`, 5*time.Second)
	b.do("rename", chromedp.KeyEvent(kb.Enter))
	waitFor[bool](b, "rename dialog", `document.querySelector('#rename-dialog').open && document.activeElement.id === 'rename-input'`, 5*time.Second)
	tabInside(t, b, "#rename-dialog", 10, false)
	tabInside(t, b, "#rename-dialog", 10, true)
	b.do("escape", chromedp.KeyEvent(kb.Escape))
	waitFor[bool](b, "dialog closed", `!document.querySelector('#rename-dialog').open`, 5*time.Second)
	// The focus comes back a task after the close event (dialogs.js): wait for it.
	waitFor[bool](b, "focus back on the row's menu button", `document.activeElement.classList.contains('conv-more')`, 5*time.Second)
}

// Side by side, each column reads its answer out from its own polite region,
// paragraph by paragraph, its first words named by the bot, then how it ended;
// the comparison screen has no serious or critical axe-core violation.
func TestAccessibilityCompareAnnouncedPerBot(t *testing.T) {
	b, _ := startSignedIn(t, nil, cozesim.UserAlan, cozesim.WorkspaceTeam)
	startComparison(b, cozesim.BotAssistant, cozesim.BotMemory)
	sendComparison(b, "Hello, both of you")
	for _, tag := range []string{"a", "b"} {
		if st := waitFor[string](b, "column "+tag, `(() => { const s = `+jsColStatus(tag)+`; return s !== 'streaming' ? s : ''; })()`, 30*time.Second); st != "complete" {
			t.Fatalf("column %s: %q, want complete", tag, st)
		}
	}
	for tag, bot := range map[string]string{"a": "Coze 助手 / Assistant", "b": "记忆机器人 / Memory Bot"} {
		said := eval[[]string](b, `[...document.querySelectorAll('.compare-col[data-tag="`+tag+`"] [data-testid="compare-live"] p')].map((p) => p.textContent)`)
		t.Logf("column %s said: %q", tag, said)
		if len(said) < 2 || !strings.HasPrefix(said[0], bot+": ") || said[len(said)-1] != "Answer complete" {
			t.Errorf("column %s said %q, want its paragraphs, the first named %q, then \"Answer complete\"", tag, said, bot)
		}
	}
	if got := eval[string](b, `[...document.querySelectorAll('.compare-msgs')].map((l) => l.getAttribute('aria-live')).join()`); got != "off,off" {
		t.Errorf("compare message lists aria-live = %q, want off,off (read out per paragraph instead)", got)
	}
	auditScreen(t, b, "compare")
}
