package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// JavaScript snippets shared by the steps.
const (
	jsLastReply = `[...document.querySelectorAll('.msg.assistant:not(.prologue)')].pop()`
	// jsReplyDone is the last reply's final status once streaming has ended, else "".
	jsReplyDone = `(() => { const m = ` + jsLastReply + `; return m && m.dataset.status && m.dataset.status !== 'streaming' && !document.querySelector('#send').hidden ? m.dataset.status : ''; })()`
	jsReplyLen  = `(() => { const m = ` + jsLastReply + `; return m ? m.querySelector('.msg-body').textContent.length : 0; })()`
	// jsMonitor counts sanitized re-renders of the streaming reply and scans the live
	// message DOM after every mutation for anything a hostile answer could run.
	jsMonitor = `(() => {
  window.__renders = 0; window.__bad = [];
  if (window.__mo) window.__mo.disconnect();
  const root = document.getElementById('messages');
  window.__mo = new MutationObserver((recs) => {
    for (const r of recs) {
      const body = r.target.closest && r.target.closest('.msg-body');
      if (body && body.getAttribute('aria-busy') === 'true' && r.type === 'childList' && r.addedNodes.length) window.__renders++;
    }
    for (const el of root.querySelectorAll('.msg-body *, .chips *')) {
      for (const a of el.attributes) if (/^on/i.test(a.name) || a.name === 'srcdoc' || a.name === 'style') window.__bad.push(el.tagName + ' ' + a.name);
      if (/^(SCRIPT|IFRAME|OBJECT|EMBED|FORM|META|BASE|STYLE|NOSCRIPT|TEMPLATE|LINK|svg|math)$/i.test(el.tagName) && !el.classList.contains('icon') && !el.closest('svg.icon')) window.__bad.push('element ' + el.tagName);
      if (el.tagName === 'A' && el.hasAttribute('href') && !/^(https?:|mailto:)/i.test(el.getAttribute('href'))) window.__bad.push('href ' + el.getAttribute('href'));
    }
    if (typeof window.__pwned !== 'undefined') window.__bad.push('pwned');
  });
  window.__mo.observe(root, { childList: true, subtree: true, attributes: true, characterData: true });
})()`
)

// TestBrowser walks the product in one Chromium tab against one demo app, step by
// step; later steps build on earlier ones (the conversation chatted in is the one
// found in history, renamed, exported and screenshotted).
func TestBrowser(t *testing.T) {
	b := mustStartBrowser(t)
	base := mustStartApp(t, nil)
	shots := artifactsDir(t)
	var assistantConv string

	step := func(name string, fn func(t *testing.T)) { b.step(t, name, fn) }

	step("SignInThroughConsentPage", func(t *testing.T) {
		b.do("open /", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#signin")))
		if got := eval[string](b, `document.querySelector('#signin').tagName + ' ' + new URL(document.querySelector('#signin').href).pathname`); got != "A /auth" {
			t.Errorf("sign-in control = %q, want a link to /auth (a form would meet CSP form-action)", got)
		}
		if hidden := eval[bool](b, `document.querySelector('#demo-banner').hidden`); hidden {
			t.Errorf("demo banner hidden in demo mode")
		}
		b.click("#signin")
		b.click("#approve")
		b.do("bot list", chromedp.WaitVisible(chromedp.CSS(".bot-item")))
		if name := eval[string](b, `document.querySelector('#user-name').textContent`); name == "" {
			t.Errorf("signed-in header shows no user name")
		}
	})

	step("StreamedMarkdownRendersSanitized", func(t *testing.T) {
		b.setInput("#workspace-select", cozesim.WorkspaceTeam)
		b.click(fmt.Sprintf(`.bot-item[data-bot-id="%s"]`, cozesim.BotAssistant))
		waitFor[bool](b, "composer enabled", `!document.querySelector('#composer').disabled`, 10*time.Second)
		eval[chromedp.Void](b, jsMonitor)
		b.do("type + Enter", chromedp.SendKeys(chromedp.CSS("#composer"), "Hello from e2e, please answer in markdown\r"))
		if st := waitFor[string](b, "reply", jsReplyDone, 30*time.Second); st != "complete" {
			t.Fatalf("reply status = %q, want complete", st)
		}
		if n := eval[int](b, `window.__renders`); n < 2 {
			t.Errorf("intermediate renders = %d, want >= 2 (markdown must re-render while streaming)", n)
		}
		got := eval[string](b, `(() => { const m = `+jsLastReply+`; return [!!m.querySelector('.msg-body table'), !!m.querySelector('.msg-body pre code'), !!m.querySelector('.code-copy')].join(','); })()`)
		if got != "true,true,true" {
			t.Errorf("table, pre>code, copy button in reply = %s, want true,true,true", got)
		}
		if v := eval[string](b, `document.querySelector('#composer').value`); v != "" {
			t.Errorf("composer after Enter = %q, want empty", v)
		}
		if bad := eval[[]string](b, `window.__bad`); len(bad) > 0 {
			t.Errorf("unsafe DOM during streaming: %v", bad)
		}
		assistantConv = eval[string](b, fmt.Sprintf(`fetch('/api/conversations').then(r => r.json()).then(d => (d.conversations.find(c => c.bot_id === %q) || {}).id || '')`, cozesim.BotAssistant))
		if assistantConv == "" {
			t.Fatalf("conversation not in /api/conversations after the first reply")
		}
	})

	step("FollowUpChipAndSecondTurn", func(t *testing.T) {
		chip := waitFor[string](b, "follow-up chip", `(() => { const c = document.querySelector('.follow-up'); return c ? c.textContent : ''; })()`, 10*time.Second)
		b.click(".follow-up")
		waitFor[bool](b, "second reply", `document.querySelectorAll('.msg.assistant:not(.prologue)').length === 2`, 10*time.Second)
		if st := waitFor[string](b, "second reply done", jsReplyDone, 30*time.Second); st != "complete" {
			t.Fatalf("second reply status = %q", st)
		}
		if got := eval[string](b, `[...document.querySelectorAll('.msg.user')].pop().textContent`); got != chip {
			t.Errorf("sent message = %q, want the chip text %q", got, chip)
		}
		b.send("One more question, third turn")
		waitFor[bool](b, "third reply", `document.querySelectorAll('.msg.assistant:not(.prologue)').length === 3`, 10*time.Second)
		if st := waitFor[string](b, "third reply done", jsReplyDone, 30*time.Second); st != "complete" {
			t.Fatalf("third reply status = %q", st)
		}
		if n := eval[int](b, `document.querySelectorAll('.msg.user').length`); n != 3 {
			t.Errorf("user messages = %d, want 3", n)
		}
	})

	step("HistoryAfterReload", func(t *testing.T) {
		b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".bot-item")))
		b.click("#tab-history")
		item := fmt.Sprintf(`.conv-item[data-conv-id="%s"]`, assistantConv)
		b.click(item + " .conv-open")
		waitFor[bool](b, "history messages", `document.querySelectorAll('.msg.user').length === 3 && document.querySelectorAll('.msg.assistant[data-status="complete"]').length === 3`, 10*time.Second)
		if n := eval[int](b, `document.querySelectorAll('.msg.assistant .msg-body table').length`); n < 1 {
			t.Errorf("history render has %d tables, want >= 1", n)
		}
		links := eval[string](b, fmt.Sprintf(`[...document.querySelectorAll('%s .menu-item[href]')].map(a => a.getAttribute('href')).join(' ')`, item))
		want := fmt.Sprintf("/api/conversations/%s/export?format=md /api/conversations/%s/export?format=json", assistantConv, assistantConv)
		if links != want {
			t.Errorf("export links = %q, want %q", links, want)
		}
	})

	step("RenameAndSearch", func(t *testing.T) { testRenameSearch(t, b, assistantConv) })
	step("ErrorShownInlineWithTheRightAction", func(t *testing.T) { testDraftError(t, b) })
	step("RegenerateUsageNewChat", func(t *testing.T) { testRegenerateUsageNewChat(t, b) })
	step("SSEParser", func(t *testing.T) { testSSEParser(t, b) })
	step("ImageURLRule", func(t *testing.T) { testImageURLRule(t, b) })
	step("ReopenLiveReplyFromHistory", func(t *testing.T) { testReopenLiveReply(t, b) })
	step("RestartHandsOverTheReply", func(t *testing.T) { testRestartHandOver(t, b) })
	step("StopSlowStorytellerThenDelete", func(t *testing.T) { testStop(t, b) })
	step("LanguageAndTheme", func(t *testing.T) { testLanguageTheme(t, b) })
	step("Screenshots", func(t *testing.T) { testScreenshots(t, b, assistantConv, shots) })
	step("WorkflowRunStreams", func(t *testing.T) { testWorkflowWeather(t, b) })
	step("WorkflowQuestionAnswered", func(t *testing.T) { testWorkflowAsk(t, b, shots) })
	step("WorkflowErrorInlineWithRetry", func(t *testing.T) { testWorkflowErrorRetry(t, b) })
	step("WorkflowStop", func(t *testing.T) { testWorkflowStop(t, b) })
	step("WorkflowResumesAfterADroppedConnection", func(t *testing.T) { testWorkflowResume(t, b) })
	step("WorkflowFormTypes", func(t *testing.T) { testWorkflowForm(t, b) })
	step("WorkflowScreenshots", func(t *testing.T) { testWorkflowScreenshots(t, b, shots) })
	step("AccessibleNames", func(t *testing.T) { testAccessibleNames(t, b) })
	step("NoCSPViolationsInNormalUse", func(t *testing.T) {
		if v := b.cspViolations(); len(v) > 0 {
			t.Errorf("CSP violations in the console: %q", v)
		}
		if v := eval[[]string](b, `window.__csp || []`); len(v) > 0 {
			t.Errorf("securitypolicyviolation events on this page: %q", v)
		}
	})
	// From here on, hostile text is rendered on purpose: Chromium reports the inline
	// handlers it blocks while DOMPurify parses them, so the CSP check is above.
	step("AttachmentUpload", func(t *testing.T) { testAttachment(t, b) })
	step("MarkdownPrefixesRenderInert", func(t *testing.T) { testMarkdownPrefixes(t, b) })
	step("XSSLabRendersInert", func(t *testing.T) { testXSS(t, b) })
	step("TwoStreamingTabsHistoryStillLoads", func(t *testing.T) { testConnectionCap(t, b, base) })
	step("FramingBlocked", func(t *testing.T) { testFraming(t, b, base) })
	step("SignOut", func(t *testing.T) { testSignOut(t, b, base) })
}
