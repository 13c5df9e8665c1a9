package e2e

import (
	"context"
	"fmt"
	"mime"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// Catalog case 70, "every other sink": with COZE2APP_SIM_HOSTILE=on the demo
// simulator puts payloads in the XSS Lab bot's name, description and icon_url,
// in Chen's nick name and in Chen's workspace name. Every place the page shows
// them (and the export and callback pages) must stay inert.

const (
	hostileImg     = `<img src=x onerror="window.__pwned=1">`
	chenNick       = "Chen " + hostileImg
	chenSpace      = "Chen's space <script>window.__pwned=1</script>"
	xssLabName     = "XSS Lab " + hostileImg
	xssLabChenCopy = "7410300300000000000" // XSS Lab in Chen's personal workspace (cozesim seed ids)
)

// jsWatch70 runs in every new document before the page's own scripts: it
// records any on* attribute, javascript: URL or foreign <script> the moment it
// enters the document, so a transient one (removed again after it fired) is
// caught too.
const jsWatch70 = `(() => {
  window.__bad70 = [];
  window.__maps70 = [];
  const jsURL = (v) => { try { return new URL(v, document.baseURI).protocol === 'javascript:'; } catch { return /^\s*javascript:/i.test(v || ''); } };
  const look = (el) => {
    if (!el || el.nodeType !== 1) return;
    for (const a of el.attributes) {
      if (/^on/i.test(a.name)) window.__bad70.push('on* ' + el.tagName + '[' + a.name + ']');
      if (/^(href|src|action|formaction|xlink:href|data|poster)$/i.test(a.name) && jsURL(a.value)) window.__bad70.push('javascript: ' + el.tagName + '[' + a.name + ']');
    }
    // An import map's text is still arriving when the parser inserts it: jsSinkScan judges it whole.
    if (el.tagName === 'SCRIPT' && el.type === 'importmap') { window.__maps70.push(el); return; }
    if (el.tagName === 'SCRIPT' && !(el.type === 'module' && /^\/static\/js\//.test(el.getAttribute('src') || ''))) window.__bad70.push('script ' + el.outerHTML.slice(0, 80));
  };
  new MutationObserver((recs) => {
    for (const r of recs) {
      if (r.type === 'attributes') look(r.target);
      for (const n of r.addedNodes || []) {
        if (n.nodeType !== 1) continue;
        look(n);
        for (const el of n.querySelectorAll('*')) look(el);
      }
    }
  }).observe(document, { subtree: true, childList: true, attributes: true });
})()`

// jsSinkScan checks the document as it is now.
const jsSinkScan = `(() => {
  if (!Array.isArray(window.__bad70)) return ['sink watcher not installed in this document'];
  const bad = [...window.__bad70];
  if (typeof window.__pwned !== 'undefined') bad.push('window.__pwned = ' + String(window.__pwned));
  const jsURL = (v) => { try { return new URL(v, document.baseURI).protocol === 'javascript:'; } catch { return /^\s*javascript:/i.test(v || ''); } };
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (/^on/i.test(a.name)) bad.push('on* ' + el.tagName + '[' + a.name + ']');
      if (/^(href|src|action|formaction|xlink:href|data|poster)$/i.test(a.name) && jsURL(a.value)) bad.push('javascript: ' + el.tagName + '[' + a.name + '=' + a.value + ']');
    }
  }
  // The one inline script allowed is the page's own import map (its hash is in the CSP): in
  // <head>, mapping /static/ modules to their versioned /static/ URLs and nothing else.
  const ownImportMap = (s) => {
    if (s.type !== 'importmap' || s.parentElement !== document.head || s.hasAttribute('src')) return false;
    try {
      const m = JSON.parse(s.textContent);
      const urls = Object.entries(m.imports || {}).flat();
      return Object.keys(m).join() === 'imports' && urls.length > 0 && urls.every((u) => /^\/static\/[\w./-]+(\?v=[\w-]+)?$/.test(u));
    } catch { return false; }
  };
  const maps = new Set([...window.__maps70, ...document.querySelectorAll('script[type=importmap]')]);
  if (maps.size > 1) bad.push(maps.size + ' import maps');
  for (const s of maps) if (!ownImportMap(s)) bad.push('script ' + s.outerHTML.slice(0, 80));
  for (const s of document.querySelectorAll('script')) {
    if (maps.has(s)) continue;
    if (!(s.type === 'module' && /^\/static\/js\//.test(s.getAttribute('src') || '') && !s.textContent.trim())) bad.push('script ' + s.outerHTML.slice(0, 80));
  }
  for (const img of document.querySelectorAll('img')) {
    const s = img.getAttribute('src') || '';
    let ok = false;
    try {
      const u = new URL(s, document.baseURI);
      ok = s !== '' && (u.protocol === 'https:' || u.protocol === 'http:' || (u.protocol === 'data:' && /^data:image\//i.test(s)));
    } catch { ok = false; }
    if (!ok) bad.push('img src ' + JSON.stringify(s));
  }
  return bad;
})()`

func TestCase70_EverySinkInert(t *testing.T) {
	b := mustStartBrowser(t)
	base := mustStartApp(t, map[string]string{"COZE2APP_SIM_HOSTILE": "on", "COZE2APP_SIM_DELTA_DELAY": "5ms"})
	_, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: jsWatch70})
	b.must(err, "install sink watcher")
	downloads := t.TempDir()
	_, err = chromedp.CallBrowser(b.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
	b.must(err, "allow downloads")

	// inert checks the document after a step; header also checks the user chip.
	inert := func(t *testing.T, step string, header bool) {
		t.Helper()
		time.Sleep(150 * time.Millisecond) // let a load/error handler fire if one slipped in
		if bad := eval[[]string](b, jsSinkScan); len(bad) > 0 {
			t.Errorf("%s: unsafe document: %q", step, bad)
		}
		if d := b.openedDialogs(); len(d) > 0 {
			t.Errorf("%s: JavaScript dialogs opened: %q", step, d)
		}
		if !header {
			return
		}
		got := eval[[]string](b, `[document.querySelector('#user-name').textContent, String(document.querySelector('#user-name').children.length), document.querySelector('#user-chip').title]`)
		if want := []string{chenNick, "0", chenNick}; strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s: header user chip (text, child elements, title) = %q, want %q", step, got, want)
		}
	}
	step := func(name string, fn func(t *testing.T)) { b.step(t, name, fn) }
	var convID string

	step("SignInAsChen", func(t *testing.T) {
		b.do("open /", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#signin")))
		b.click("#signin")
		b.do("consent page", chromedp.WaitVisible(chromedp.CSS("#approve")))
		b.setInput("#user_id", cozesim.UserChen)
		b.click("#approve")
		b.do("bot list", chromedp.WaitVisible(chromedp.CSS(".bot-item")))
		inert(t, "signed in", true)
	})

	step("BotListInEveryWorkspace", func(t *testing.T) {
		ws := eval[[]string](b, `[...document.querySelectorAll('#workspace-select option')].map(o => o.value + '\t' + o.textContent + '\t' + o.children.length)`)
		if len(ws) < 2 {
			t.Fatalf("workspaces = %q, want Chen's and the team's", ws)
		}
		sawChen := false
		for _, w := range ws {
			id, rest, _ := strings.Cut(w, "\t")
			if id == cozesim.WorkspaceChen {
				sawChen = true
				if rest != chenSpace+"\t0" {
					t.Errorf("Chen's workspace option = %q, want the name as text %q", rest, chenSpace)
				}
			}
			b.setInput("#workspace-select", id)
			waitFor[bool](b, "bots of "+id, `!!document.querySelector('#bot-list .bot-item')`, 10*time.Second)
			inert(t, "bots of workspace "+id, true)
		}
		if !sawChen {
			t.Errorf("Chen's workspace %s missing from %q", cozesim.WorkspaceChen, ws)
		}
		// The personal copy of XSS Lab shows its hostile name as text too.
		b.setInput("#workspace-select", cozesim.WorkspaceChen)
		name := waitFor[string](b, "XSS Lab in Chen's space", fmt.Sprintf(`(document.querySelector('.bot-item[data-bot-id="%s"] .item-title') || {}).textContent || ''`, xssLabChenCopy), 10*time.Second)
		if name != xssLabName {
			t.Errorf("XSS Lab title in Chen's space = %q, want %q", name, xssLabName)
		}
	})

	step("OpenXSSLab", func(t *testing.T) {
		b.setInput("#workspace-select", cozesim.WorkspaceTeam)
		item := fmt.Sprintf(`.bot-item[data-bot-id="%s"]`, cozesim.BotXSS)
		b.click(item)
		waitFor[bool](b, "composer enabled", `!document.querySelector('#composer').disabled`, 10*time.Second)
		waitFor[bool](b, "prologue", `!!document.querySelector('.msg.prologue .chip.suggested')`, 10*time.Second)
		got := eval[[]string](b, `[document.querySelector('#chat-bot-name').textContent, String(document.querySelector('#chat-bot-name').children.length), document.querySelector('#chat-bot-avatar img') ? 'img' : 'letter']`)
		if want := []string{xssLabName, "0", "letter"}; strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("chat header (name, child elements, avatar) = %q, want %q (a javascript: icon_url must not become an <img>)", got, want)
		}
		sug := eval[[]string](b, `[...document.querySelectorAll('.msg.prologue .chip.suggested')].filter(c => c.children.length > 0).map(c => c.outerHTML)`)
		if len(sug) > 0 {
			t.Errorf("suggested questions with child elements: %q", sug)
		}
		inert(t, "XSS Lab opened", true)
	})

	step("HostileReplyAndFollowUps", func(t *testing.T) {
		b.send("all")
		if st := waitFor[string](b, "xss reply", jsReplyDone, 30*time.Second); st != "complete" {
			t.Fatalf("XSS Lab reply status = %q", st)
		}
		waitFor[bool](b, "follow-up chips", `!!document.querySelector('.chip.follow-up')`, 10*time.Second)
		if chips := eval[[]string](b, `[...document.querySelectorAll('.chip.follow-up')].filter(c => c.children.length > 0).map(c => c.outerHTML)`); len(chips) > 0 {
			t.Errorf("follow-up chips with child elements: %q", chips)
		}
		inert(t, "hostile reply", true)
		convID = eval[string](b, fmt.Sprintf(`fetch('/api/conversations').then(r => r.json()).then(d => (d.conversations.find(c => c.bot_id === %q) || {}).id || '')`, cozesim.BotXSS))
		if convID == "" {
			t.Fatalf("XSS Lab conversation missing from /api/conversations")
		}
	})

	step("RenameToPayload", func(t *testing.T) {
		b.click("#tab-history")
		renameConv(b, convID, hostileImg)
		inert(t, "renamed", true)
	})

	step("SearchWithPayload", func(t *testing.T) {
		b.setInput("#history-search", hostileImg)
		waitFor[bool](b, "search hit", fmt.Sprintf(`%s === 1 && !!document.querySelector('.conv-item[data-conv-id="%s"]')`, convCount, convID), 10*time.Second)
		inert(t, "search hit", true)
		b.setInput("#history-search", `"><svg onload=window.__pwned=1>`)
		waitFor[bool](b, "search miss", convCount+` === 0 && !!document.querySelector('#conv-list .list-status')`, 10*time.Second)
		inert(t, "search miss", true)
		b.setInput("#history-search", "")
		waitFor[bool](b, "search cleared", fmt.Sprintf(`!!document.querySelector('.conv-item[data-conv-id="%s"]')`, convID), 10*time.Second)
	})

	step("HistoryListAndReopen", func(t *testing.T) {
		b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".bot-item")))
		b.click("#tab-history")
		item := fmt.Sprintf(`.conv-item[data-conv-id="%s"]`, convID)
		b.click(item + " .conv-open")
		waitFor[bool](b, "history messages", `document.querySelectorAll('.msg.assistant[data-status="complete"]:not(.prologue)').length >= 1`, 10*time.Second)
		got := eval[[]string](b, fmt.Sprintf(`[document.querySelector('%[1]s .conv-title').textContent, document.querySelector('%[1]s .conv-bot').textContent]`, item))
		if want := []string{hostileImg, xssLabName}; strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("history row (title, bot name) = %q, want %q", got, want)
		}
		inert(t, "history reopened", true)
	})

	step("DraftBotError", func(t *testing.T) {
		b.click("#tab-bots")
		b.setInput("#workspace-select", cozesim.WorkspaceTeam)
		b.click(fmt.Sprintf(`.bot-item[data-bot-id="%s"]`, cozesim.BotDraft))
		waitFor[bool](b, "composer enabled", `!document.querySelector('#composer').disabled`, 10*time.Second)
		b.send("hello draft " + hostileImg)
		if st := waitFor[string](b, "error reply", jsReplyDone, 20*time.Second); st != "failed" {
			t.Fatalf("draft bot reply status = %q, want failed", st)
		}
		inert(t, "draft error", true)
	})

	step("ExportLinksDownloadAsText", func(t *testing.T) {
		for _, format := range []string{"md", "json"} {
			path := fmt.Sprintf("/api/conversations/%s/export?format=%s", convID, format)
			hdr := eval[[]string](b, fmt.Sprintf(`fetch(%q).then(r => [String(r.status), r.headers.get('content-disposition') || '', r.headers.get('content-type') || '', r.headers.get('x-content-type-options') || ''])`, path))
			if hdr[0] != "200" || !strings.HasPrefix(hdr[1], "attachment;") {
				t.Errorf("%s export: status, Content-Disposition = %q, %q, want 200 and attachment", format, hdr[0], hdr[1])
			}
			wantType := map[string]string{"md": "text/markdown", "json": "application/json"}[format]
			if !strings.HasPrefix(hdr[2], wantType) {
				t.Errorf("%s export: Content-Type = %q, want %s", format, hdr[2], wantType)
			}
			before := eval[string](b, `location.href`)
			ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
			res, err := chromedp.Call(ctx, page.Navigate, page.NavigateParams{URL: base + path})
			cancel()
			b.must(err, "navigate to "+path)
			if !res.IsDownload {
				t.Errorf("%s export: navigation was not a download (errorText %q): the browser rendered it", format, res.ErrorText)
			}
			time.Sleep(200 * time.Millisecond)
			if after := eval[string](b, `location.href`); after != before {
				t.Errorf("%s export: tab navigated to %q", format, after)
			}
			// Named after the hostile title, with nothing of it that could
			// be markup or a path (issue 10 item 8).
			_, params, err := mime.ParseMediaType(hdr[1])
			name := params["filename"]
			if err != nil || !strings.HasSuffix(name, "."+format) || strings.ContainsAny(name, `<>"/\=`) {
				t.Fatalf("%s export: file name %q from %q (%v), want the title made safe", format, name, hdr[1], err)
			}
			var data []byte
			deadline := time.Now().Add(10 * time.Second)
			for {
				data, err = os.ReadFile(filepath.Join(downloads, name))
				if err == nil && len(data) > 0 {
					break
				}
				if time.Now().After(deadline) {
					entries, _ := os.ReadDir(downloads)
					t.Fatalf("%s export: %s not downloaded (dir has %v)", format, name, entries)
				}
				time.Sleep(50 * time.Millisecond)
			}
			want := hostileImg
			if format == "json" {
				want = `\u003cimg src=x onerror=\"window.__pwned=1\"\u003e`
			}
			if !strings.Contains(string(data), want) && !strings.Contains(string(data), hostileImg) {
				t.Errorf("%s export does not carry the title as text: %q", format, truncate70(string(data), 300))
			}
			inert(t, format+" export", true)
		}
	})

	step("CallbackErrorPage", func(t *testing.T) {
		q := url.Values{"error": {"access_denied"}, "error_description": {hostileImg}, "state": {"x"}}
		b.do("callback error page", chromedp.Navigate(base+"/callback?"+q.Encode()), chromedp.WaitVisible(chromedp.CSS("main")))
		inert(t, "callback (unknown state)", false)

		// With a live state the page prints Coze's error_description.
		state := captureAuthorizeState(t, b, base)
		q.Set("state", state)
		b.do("callback error page", chromedp.Navigate(base+"/callback?"+q.Encode()), chromedp.WaitVisible(chromedp.CSS("main")))
		detail := eval[[]string](b, `(() => { const d = document.querySelector('.detail'); return d ? [d.textContent, String(d.children.length)] : []; })()`)
		if want := []string{"Coze: " + hostileImg, "0"}; strings.Join(detail, "|") != strings.Join(want, "|") {
			t.Errorf("callback detail (text, child elements) = %q, want %q", detail, want)
		}
		// The page's own logo is its only image.
		if n := eval[int](b, `document.querySelectorAll('img:not(.callback-logo)').length`); n != 0 {
			t.Errorf("callback page has %d <img> besides its logo: the description was parsed as HTML", n)
		}
		inert(t, "callback (consent denied)", false)
	})

	// The scan must see what it looks for: plant an inert handler attribute,
	// a javascript: link and a foreign script element, then expect reports.
	step("ScannerBites", func(t *testing.T) {
		eval[chromedp.Void](b, `(() => { const d = document.createElement('div'); d.setAttribute('onclick', 'void 0'); document.body.append(d);
  const a = document.createElement('a'); a.setAttribute('href', 'java\tscript:void 0'); document.body.append(a);
  const s = document.createElement('script'); s.type = 'text/plain'; document.body.append(s); })()`)
		bad := eval[[]string](b, jsSinkScan)
		for _, want := range []string{"on* DIV[onclick]", "javascript: A[href", "script <script"} {
			n := 0
			for _, got := range bad {
				if strings.HasPrefix(got, want) {
					n++
				}
			}
			if n < 2 { // once from the watcher, once from the scan
				t.Errorf("planted %q reported %d times, want 2 (watcher and scan); reports %q", want, n, bad)
			}
		}
	})
}

// captureAuthorizeState starts a sign-in in the tab and returns the state
// the app put in the authorize URL (read from the network log), leaving the
// tab on the consent page.
func captureAuthorizeState(t *testing.T, b *browser, base string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	states := make(chan string, 1)
	events := chromedp.Events(ctx, network.RequestWillBeSent)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			if u, perr := url.Parse(ev.Request.URL); perr == nil && strings.Contains(u.Path, "/oauth2/authorize") {
				select {
				case states <- u.Query().Get("state"):
				default:
				}
			}
		}
	}()
	b.do("start sign-in", chromedp.Navigate(base+"/auth"), chromedp.WaitVisible(chromedp.CSS("#approve")))
	select {
	case s := <-states:
		if s == "" {
			t.Fatalf("authorize URL without state")
		}
		return s
	case <-time.After(10 * time.Second):
		t.Fatalf("no authorize request seen in the network log")
		return ""
	}
}

func truncate70(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
