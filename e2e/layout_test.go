package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// Issue 10 items 6 (phone) and 7 (answers breathe) in Chromium. The numbers are
// geometry (getBoundingClientRect), not timing.

// layoutStart opens the app at w×h in English and signs in through the demo's
// consent page; the demo banner is up (a fresh browser never dismissed it).
func layoutStart(t *testing.T, w, h int64) (*browser, string) {
	t.Helper()
	b := mustStartBrowser(t)
	base := mustStartApp(t, nil)
	b.viewport(w, h)
	b.do("open /", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#signin")))
	eval[bool](b, `localStorage.setItem('coze2app.lang', 'en') || true`)
	b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#signin")))
	pageSignIn(b)
	teamBots(b)
	return b, base
}

// teamBots switches the sidebar to the demo team's workspace, which has every demo
// bot, once the default workspace's bots are in (choosing again if a late answer for
// the default workspace won).
func teamBots(b *browser) {
	b.t.Helper()
	waitFor[bool](b, "bot list", `document.querySelectorAll('.bot-item').length > 0`, 10*time.Second)
	waitFor[bool](b, "team bots", fmt.Sprintf(`(() => { const s = document.querySelector('#workspace-select');
	  if (s.value !== %q) { s.value = %q; s.dispatchEvent(new Event('change', { bubbles: true })); }
	  return !!document.querySelector('.bot-item[data-bot-id="%s"]'); })()`, cozesim.WorkspaceTeam, cozesim.WorkspaceTeam, cozesim.BotSlow), 10*time.Second)
}

// pickBotFromDrawer opens the drawer with the menu button and picks bot; the drawer closes.
func pickBotFromDrawer(b *browser, bot string) {
	b.t.Helper()
	b.click("#menu-btn")
	waitFor[bool](b, "drawer open", `document.body.classList.contains('drawer-open') && !document.querySelector('#sidebar').inert && Math.abs(document.querySelector('#sidebar').getBoundingClientRect().left) < 1`, 5*time.Second)
	b.click(fmt.Sprintf(`.bot-item[data-bot-id="%s"]`, bot))
	waitFor[bool](b, "drawer closed, composer enabled", `!document.body.classList.contains('drawer-open') && !document.querySelector('#composer').disabled`, 10*time.Second)
	waitFor[bool](b, "drawer slid away", `document.querySelector('#sidebar').getBoundingClientRect().right <= 0`, 5*time.Second)
}

// jsHeight is the rendered height of the element sel (0 when absent or hidden).
func jsHeight(sel string) string {
	return fmt.Sprintf(`(() => { const el = document.querySelector(%q); return el ? el.getBoundingClientRect().height : 0; })()`, sel)
}

// jsPageScrollsSideways names what sticks out sideways: the document or the message
// list wider than the screen, with the elements past the list's right edge ("" when nothing).
const jsPageScrollsSideways = `(() => { const d = document.documentElement, m = document.querySelector('#messages');
  if (d.scrollWidth <= d.clientWidth + 1 && document.body.scrollWidth <= document.body.clientWidth + 1 && m.scrollWidth <= m.clientWidth + 1) return '';
  const edge = m.getBoundingClientRect().right + 1;
  const out = [...m.querySelectorAll('*')].filter((el) => el.getBoundingClientRect().right > edge && !el.parentElement.closest('.code-block, .table-wrap'));
  return 'document ' + d.scrollWidth + '/' + d.clientWidth + ', list ' + m.scrollWidth + '/' + m.clientWidth + ': ' + out.slice(0, 5).map((el) => el.tagName + '.' + el.className).join(' '); })()`

// TestPhoneLandscapeUsesTheDrawer: a phone on its side (844×390) gets the drawer
// layout (sidebar behind the menu button), and the message list keeps a usable height.
func TestPhoneLandscapeUsesTheDrawer(t *testing.T) {
	b, _ := layoutStart(t, 844, 390)
	shots := artifactsDir(t)

	got := eval[[]any](b, `(() => { const sb = document.querySelector('#sidebar'), mb = document.querySelector('#menu-btn');
	  return [getComputedStyle(mb).display !== 'none' && mb.getBoundingClientRect().width > 0, sb.getBoundingClientRect().right <= 0, getComputedStyle(sb).visibility, !!sb.inert]; })()`)
	if got[0] != true || got[1] != true || got[2] != "hidden" || got[3] != true {
		t.Errorf("844×390: menu button shown / sidebar off screen / visibility / inert = %v, want [true true hidden true]", got)
	}

	pickBotFromDrawer(b, cozesim.BotAssistant)
	b.send("A landscape question")
	if st := waitFor[string](b, "reply", jsReplyDone, 30*time.Second); st != "complete" {
		t.Fatalf("reply status = %q", st)
	}
	list := eval[float64](b, jsHeight("#messages"))
	t.Logf("844×390: message list %.0f px tall (banner %.0f, top bar %.0f, bot header %.0f, composer %.0f)", list,
		eval[float64](b, jsHeight("#demo-banner")), eval[float64](b, jsHeight(".topbar")), eval[float64](b, jsHeight("#chat-header")), eval[float64](b, jsHeight("#composer-bar")))
	if list < 200 {
		t.Errorf("844×390: message list is %.0f px tall, want >= 200", list)
	}
	if bottom := eval[float64](b, `document.querySelector('#composer-bar').getBoundingClientRect().bottom`); bottom > 390.5 {
		t.Errorf("844×390: composer ends at %.0f px, below the 390 px screen", bottom)
	}
	if out := eval[string](b, jsPageScrollsSideways); out != "" {
		t.Errorf("844×390: the page scrolls sideways: %s", out)
	}
	shotBothThemes(b, shots, "layout-landscape")
}

// TestPhoneChromeAtMost100px: on phones (390×844, 360×780) the demo banner, the top
// bar and the bot header together take at most 100 px, and the composer's
// placeholder ("Message <bot>…", the longest bot name) stays on one line in both languages.
func TestPhoneChromeAtMost100px(t *testing.T) {
	b, base := layoutStart(t, 390, 844)
	shots := artifactsDir(t)
	for _, screen := range []struct {
		name string
		w, h int64
	}{{"phone390", 390, 844}, {"phone360", 360, 780}} {
		b.viewport(screen.w, screen.h)
		b.do("open /", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#menu-btn")))
		teamBots(b)

		pickBotFromDrawer(b, cozesim.BotSlow)
		for _, lang := range []string{"en", "zh-CN"} {
			if eval[string](b, `document.documentElement.lang`) != lang {
				b.click("#lang-toggle")
				waitFor[bool](b, "language "+lang, fmt.Sprintf(`document.documentElement.lang === %q`, lang), 5*time.Second)
			}
			ph := eval[[]any](b, `(() => { const c = document.querySelector('#composer'), cs = getComputedStyle(c);
			  return [c.placeholder, c.scrollHeight, parseFloat(cs.lineHeight) + parseFloat(cs.paddingTop) + parseFloat(cs.paddingBottom)]; })()`)
			if ph[1].(float64) > ph[2].(float64)+1 {
				t.Errorf("%s %s: placeholder %q takes %v px, one line is %v px: it wraps", screen.name, lang, ph[0], ph[1], ph[2])
			}
		}
		b.click("#lang-toggle") // back to English
		waitFor[bool](b, "language en", `document.documentElement.lang === 'en'`, 5*time.Second)

		banner, top, header := eval[float64](b, jsHeight("#demo-banner")), eval[float64](b, jsHeight(".topbar")), eval[float64](b, jsHeight("#chat-header"))
		t.Logf("%s: banner %.0f + top bar %.0f + bot header %.0f = %.0f px", screen.name, banner, top, header, banner+top+header)
		if banner == 0 || header == 0 {
			t.Fatalf("%s: banner %.0f px, bot header %.0f px: both should be shown", screen.name, banner, header)
		}
		if sum := banner + top + header; sum > 100.5 {
			t.Errorf("%s: banner + top bar + bot header = %.0f px, want <= 100", screen.name, sum)
		}
		if lines := eval[bool](b, `(() => { const s = document.querySelector('.demo-banner-text'); return s.scrollHeight > parseFloat(getComputedStyle(s).lineHeight) + 1; })()`); lines {
			t.Errorf("%s: the demo banner wraps onto more than one line", screen.name)
		}

		b.send("A phone question")
		waitFor[bool](b, "story started", jsReplyLen+` > 20`, 20*time.Second)
		b.click("#stop")
		waitFor[string](b, "stopped", jsReplyDone, 10*time.Second)
		if out := eval[string](b, jsPageScrollsSideways); out != "" {
			t.Errorf("%s: the page scrolls sideways: %s", screen.name, out)
		}
		shotBothThemes(b, shots, "layout-"+screen.name)
	}
}

// TestDemoBannerDismissed: the demo banner has a close button with a name; once
// closed it stays closed after a reload, and focus lands on a control, not the void.
func TestDemoBannerDismissed(t *testing.T) {
	b, _ := layoutStart(t, 1280, 800)
	if h := eval[float64](b, jsHeight("#demo-banner")); h == 0 {
		t.Fatalf("demo banner not shown in demo mode")
	}
	name := eval[string](b, `(() => { const b = document.querySelector('#demo-banner button'); return b && b.tagName === 'BUTTON' ? (b.getAttribute('aria-label') || '') : ''; })()`)
	if name != "Hide the demo notice" {
		t.Errorf("banner close button's accessible name = %q, want %q", name, "Hide the demo notice")
	}
	eval[chromedp.Void](b, `document.querySelector('#demo-dismiss').focus()`)
	b.do("press Enter on close", chromedp.KeyEvent(kb.Enter))
	waitFor[bool](b, "banner gone", `document.querySelector('#demo-banner').hidden`, 5*time.Second)
	if got := eval[string](b, `(() => { const a = document.activeElement; return a && a !== document.body && a.getClientRects().length ? a.tagName : ''; })()`); got == "" {
		t.Errorf("after closing the banner focus is nowhere (document.body)")
	}
	if top := eval[float64](b, `document.querySelector('.topbar').getBoundingClientRect().top`); top != 0 {
		t.Errorf("top bar starts at %.0f px after closing the banner, want 0", top)
	}

	b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".bot-item")))
	got := eval[[]any](b, `[document.querySelector('#demo-banner').hidden, document.body.classList.contains('has-banner')]`)
	if got[0] != true {
		t.Errorf("demo banner is back after a reload")
	}
	if got[1] != true {
		t.Errorf("the page forgot it is in demo mode (body.has-banner) when the banner was closed")
	}
}

// TestAnswersWithoutBubbles: an answer is text on the page (no bubble) while the
// user's message keeps its bubble; replies in a row of one bot name it once; wide
// code and tables scroll inside themselves at the full width; tabs are 4 wide; the
// token usage hides in a details popover that opens from the keyboard and closes on Escape.
func TestAnswersWithoutBubbles(t *testing.T) {
	b, _ := layoutStart(t, 1280, 800)
	shots := artifactsDir(t)
	b.openBot(cozesim.BotAssistant)
	b.send("Hello, a question with code")
	if st := waitFor[string](b, "reply", jsReplyDone, 30*time.Second); st != "complete" {
		t.Fatalf("reply status = %q", st)
	}

	// No bubble on the answer; the user's message keeps one.
	bubble := eval[[]any](b, `(() => { const a = getComputedStyle(`+jsLastReply+`.querySelector('.bubble.answer')), u = getComputedStyle(document.querySelector('.msg.user .bubble'));
	  return [a.backgroundColor, a.backgroundImage, a.borderTopWidth, a.paddingLeft, u.backgroundColor]; })()`)
	if bubble[0] != "rgba(0, 0, 0, 0)" || bubble[1] != "none" || bubble[2] != "0px" || bubble[3] != "0px" {
		t.Errorf("answer bubble background/image/border/padding = %v, want none", bubble[:4])
	}
	if bubble[4] == "rgba(0, 0, 0, 0)" {
		t.Errorf("the user's message lost its bubble (background %v)", bubble[4])
	}

	// Tab width 4 in code.
	if ts := eval[string](b, `getComputedStyle(`+jsLastReply+`.querySelector('pre code')).tabSize`); ts != "4" {
		t.Errorf("code tab-size = %q, want 4", ts)
	}

	// Replies in a row: the bot's name once per group (one of the same bot right after
	// the real reply, then one of another bot).
	eval[chromedp.Void](b, `import('/static/js/messages.js').then(({ AssistantMessage }) => {
	  const list = document.querySelector('#messages'), last = `+jsLastReply+`;
	  const same = new AssistantMessage({ id: last.dataset.botId, name: 'same' });
	  same.setPart('answer', 'A second answer of the same bot.\n\n`+"```"+`js\nconst wide = "`+strings.Repeat("x", 400)+`";\n`+"```"+`\n\n| `+strings.Repeat("wide cell ", 40)+` | b |\n| --- | --- |\n| `+strings.Repeat("w", 300)+` | 2 |');
	  same.finish('complete', null, { last: false });
	  same.el.id = 'e2e-same';
	  const other = new AssistantMessage({ id: 'other-bot', name: 'Other bot' });
	  other.setPart('answer', 'An answer of another bot.');
	  other.finish('complete', null, { last: false });
	  other.el.id = 'e2e-other';
	  list.append(same.el, other.el);
	})`)
	names := waitFor[[]any](b, "groups marked", `(() => { const shown = (m) => m.querySelector('.msg-head').getBoundingClientRect().height > 4;
	  const s = document.querySelector('#e2e-same'), o = document.querySelector('#e2e-other');
	  return s && s.classList.contains('is-continued') ? [shown(s.previousElementSibling), shown(s), shown(o)] : null; })()`, 5*time.Second)
	if names[0] != true || names[1] != false || names[2] != true {
		t.Errorf("bot name shown on reply / next reply of the same bot / reply of another bot = %v, want [true false true]", names)
	}

	// Wide code and table: full width of the message column, scrolling inside.
	wideCheck := func(screen string) {
		t.Helper()
		got := eval[[]any](b, `(() => { const m = document.querySelector('#e2e-same'), main = m.querySelector('.msg-main').getBoundingClientRect();
		  const code = m.querySelector('.code-block'), pre = m.querySelector('pre'), tw = m.querySelector('.table-wrap');
		  return [Math.abs(code.getBoundingClientRect().width - main.width) < 2, Math.abs(tw.getBoundingClientRect().width - main.width) < 2,
		    pre.scrollWidth > pre.clientWidth, tw.scrollWidth > tw.clientWidth, main.width]; })()`)
		if got[0] != true || got[1] != true {
			t.Errorf("%s: code / table at the full width (%v px) = %v %v", screen, got[4], got[0], got[1])
		}
		if got[2] != true || got[3] != true {
			t.Errorf("%s: wide code / table scroll inside themselves = %v %v", screen, got[2], got[3])
		}
		if out := eval[string](b, jsPageScrollsSideways); out != "" {
			t.Errorf("%s: a wide code block or table makes the page scroll sideways: %s", screen, out)
		}
	}
	wideCheck("desktop")
	eval[chromedp.Void](b, `document.querySelector('#e2e-same').scrollIntoView({ block: 'center' })`)
	shotBothThemes(b, shots, "layout-desktop")
	b.viewport(360, 780)
	wideCheck("phone360")
	b.viewport(1280, 800)
	eval[chromedp.Void](b, `document.querySelector('#e2e-same').remove(); document.querySelector('#e2e-other').remove()`)

	// Usage: not on the reply, in the details popover; keyboard opens, Escape closes.
	reply := jsLastReply
	if vis := eval[bool](b, `(() => { const u = `+reply+`.querySelector('.msg-usage'); return !!u && u.checkVisibility(); })()`); vis {
		t.Errorf("token usage is visible before the details open")
	}
	if n := eval[int](b, `document.querySelectorAll('.usage-toggle').length`); n != 0 {
		t.Errorf("%d usage pills on the page, want none", n)
	}
	eval[chromedp.Void](b, reply+`.querySelector('.details-btn').focus()`)
	b.do("Enter on details", chromedp.KeyEvent(kb.Enter))
	open := waitFor[[]any](b, "details open", `(() => { const p = `+reply+`.querySelector('.msg-details'), btn = `+reply+`.querySelector('.details-btn');
	  if (!p.matches(':popover-open') || !p.classList.contains('is-placed')) return null;
	  const r = p.getBoundingClientRect(), br = btn.getBoundingClientRect();
	  return [p.querySelector('.msg-usage').textContent, document.activeElement === p, btn.getAttribute('aria-expanded'),
	    r.left >= 0 && r.right <= innerWidth && r.top >= 0 && r.bottom <= innerHeight, Math.abs(r.top - br.bottom) < 8 || Math.abs(r.bottom - br.top) < 8]; })()`, 5*time.Second)
	if !regexp.MustCompile(`\d+ tokens`).MatchString(open[0].(string)) {
		t.Errorf("details text = %q, want a token count", open[0])
	}
	if open[1] != true || open[2] != "true" {
		t.Errorf("details open: focus inside / aria-expanded = %v %v, want true \"true\"", open[1], open[2])
	}
	if open[3] != true || open[4] != true {
		t.Errorf("details popover on screen / next to its button = %v %v", open[3], open[4])
	}
	b.screenshot(shots, "layout-details-light.png")
	b.do("Escape", chromedp.KeyEvent(kb.Escape))
	// aria-expanded follows the popover's toggle event, a task after it closed: wait for both.
	closed := waitFor[[]any](b, "details closed", `(() => { const p = `+reply+`.querySelector('.msg-details'), btn = `+reply+`.querySelector('.details-btn');
	  return p.matches(':popover-open') || btn.getAttribute('aria-expanded') !== 'false' ? null : [document.activeElement === btn, btn.getAttribute('aria-expanded')]; })()`, 5*time.Second)
	if closed[0] != true || closed[1] != "false" {
		t.Errorf("after Escape: focus back on the button / aria-expanded = %v %v, want true \"false\"", closed[0], closed[1])
	}
	// A click elsewhere closes it too.
	b.click(".msg.assistant[data-status] .details-btn")
	waitFor[bool](b, "details open by click", reply+`.querySelector('.msg-details').matches(':popover-open')`, 5*time.Second)
	b.click("#chat-bot-name")
	waitFor[bool](b, "details closed by a click outside", `!`+reply+`.querySelector('.msg-details').matches(':popover-open')`, 5*time.Second)
}
