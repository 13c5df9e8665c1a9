package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// The message kinds a real bot sends besides a plain answer (issue 7 §3): thinking,
// cards, questions with options, math. TestMessageKindsRenderers drives the page's own
// modules (js/messages.js, js/markdown.js, imported in the page) with synthetic
// replies; TestMessageKindsDemoBots chats with the simulator's demo bots.

// jsLab imports the renderers once and gives each check a fresh container; clipboard
// writes are recorded instead of reaching the system clipboard.
const jsLab = `(async () => {
  if (!window.__lab) {
    const [messages, markdown] = await Promise.all([import('/static/js/messages.js'), import('/static/js/markdown.js')]);
    window.__lab = { messages, markdown, copied: [], picked: [] };
    Object.defineProperty(navigator, 'clipboard', { value: { writeText: async (s) => { window.__lab.copied.push(s); } }, configurable: true });
  }
  document.body.hidden = false;
  for (const el of document.body.children) el.hidden = true;
  let box = document.getElementById('lab');
  if (box) box.remove();
  box = document.createElement('div');
  box.id = 'lab';
  box.className = 'messages';
  document.body.append(box);
  window.__lab.newMsg = () => {
    const m = new window.__lab.messages.AssistantMessage({ name: 'Lab' }, { onFollowUp: (q) => window.__lab.picked.push(q) });
    box.append(m.el);
    return m;
  };
  return true;
})()`

// jsFrame resolves after the next two animation frames (renders are once per frame).
const jsFrame = `new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`

// jsSnapshot returns a normalized text form of element m (a .msg): tags, classes, the
// attributes that change what a reader sees or can do, and text; ids, generated
// references, avatars and the toolbar are left out. Two replies that render alike give
// equal snapshots.
const jsSnapshot = `((m) => {
  const keep = ['class', 'hidden', 'disabled', 'aria-expanded', 'href', 'src', 'display', 'data-status', 'target', 'rel', 'role'];
  const skip = (el) => el.matches('.msg-avatar, .msg-actions, .msg-usage, .typing, annotation');
  const walk = (n, depth) => {
    if (n.nodeType === 3) return n.data.trim() ? '  '.repeat(depth) + JSON.stringify(n.data.trim()) + '\n' : '';
    if (n.nodeType !== 1 || skip(n)) return '';
    const attrs = keep.filter((a) => n.hasAttribute(a)).map((a) => a + '=' + JSON.stringify(n.getAttribute(a))).join(' ');
    let out = '  '.repeat(depth) + n.localName + (attrs ? ' ' + attrs : '') + '\n';
    for (const c of n.childNodes) out += walk(c, depth + 1);
    return out;
  };
  return walk(m, 0);
})`

// TestMessageKindsRenderers checks the renderers of thinking, cards, questions and
// math with synthetic replies, including hostile input, in the real page (its CSP).
func TestMessageKindsRenderers(t *testing.T) {
	b := mustStartBrowser(t)
	base := mustStartApp(t, nil)
	b.do("open /", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#signin")))
	eval[bool](b, `localStorage.setItem('coze2app.lang', 'en') || true`)
	b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#signin")))
	eval[bool](b, jsLab)

	t.Run("MathWaitsForKaTeXThenTypesets", func(t *testing.T) {
		// The first math of the page is drawn as its TeX source while KaTeX loads.
		got := eval[string](b, `(() => {
  const f = window.__lab.markdown.renderMarkdown('Area $\\pi r^2$.');
  const box = document.getElementById('lab'); box.replaceChildren(f);
  const p = box.querySelector('.math-pending');
  return p ? p.textContent : 'no placeholder';
})()`)
		if got != `$\pi r^2$` {
			t.Errorf("placeholder before KaTeX = %q, want the TeX source", got)
		}
		waitFor[bool](b, "typeset", `(() => { const box = document.getElementById('lab'); return !box.querySelector('.math-pending') && !!box.querySelector('.math-inline > math'); })()`, 10*time.Second)
	})

	t.Run("MathRules", func(t *testing.T) {
		eval[bool](b, `window.__lab.markdown.mathReady().then(() => true)`)
		tests := []struct {
			name, md string
			math     int    // <math> elements expected
			display  int    // of which display (block) math
			text     string // must appear as plain text
		}{
			{"inline", `Let $x^2 + y^2 = z^2$ hold.`, 1, 0, "Let x2+y2=z2 hold."},
			{"display block", "Before\n\n$$\n\\frac{a}{b}\n$$\n\nafter", 1, 1, "ab"},
			{"display inline", `A sum: $$\sum_{k=1}^{n} k$$ done`, 1, 1, "done"},
			{"chinese around", `其中$x$表示长度`, 1, 0, "表示长度"},
			{"brackets", `\(a+b\) and \[c=d\]`, 2, 1, "a+b and c=d"},
			{"prices stay prose", `a coffee costs $5 and a cake $10.`, 0, 0, "$5 and a cake $10."},
			{"space after opening", `$ x$ is not math`, 0, 0, "$ x$ is not math"},
			{"digit after closing", `from $5-$10 each`, 0, 0, "$5-$10"},
			{"escaped dollar", `\$x\$ stays`, 0, 0, "$x$ stays"},
			{"code span", "`$x$` is code", 0, 0, "$x$"},
			{"code block", "```\n$$y$$\n$z$\n```", 0, 0, "$$y$$"},
			{"in a list", "- item $n!$\n- two", 1, 0, "two"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := eval[[]any](b, `((md) => {
  const box = document.getElementById('lab');
  box.replaceChildren(window.__lab.markdown.renderMarkdown(md));
  // The text a reader sees: the formula's glyphs, not its TeX annotation.
  for (const a of box.querySelectorAll('annotation')) a.remove();
  return [box.querySelectorAll('math').length, box.querySelectorAll('.math-display > math[display="block"]').length, box.textContent];
})(`+jsString(tt.md)+`)`)
				if int(got[0].(float64)) != tt.math || int(got[1].(float64)) != tt.display {
					t.Errorf("%q: math=%v display=%v, want %d and %d", tt.md, got[0], got[1], tt.math, tt.display)
				}
				if !strings.Contains(got[2].(string), tt.text) {
					t.Errorf("%q: text %q lacks %q", tt.md, got[2], tt.text)
				}
			})
		}
	})

	t.Run("MathIsLaidOutAsMathML", func(t *testing.T) {
		// A fraction is stacked: taller than one line and narrower than a/b in a row.
		got := eval[[]float64](b, `(() => {
  const box = document.getElementById('lab');
  box.replaceChildren(window.__lab.markdown.renderMarkdown('$\\frac{a}{b}$ and $ab$'));
  const [frac, row] = box.querySelectorAll('math');
  const f = frac.getBoundingClientRect(), r = row.getBoundingClientRect();
  return [f.height, r.height, f.width, r.width];
})()`)
		if got[0] <= got[1]*1.3 {
			t.Errorf("fraction height %.1f is not taller than a row %.1f: MathML not laid out", got[0], got[1])
		}
		if got[3] < 10 {
			t.Errorf("$ab$ is %.1f px wide: its letters are not drawn", got[3])
		}
	})

	t.Run("MathOutputIsInert", func(t *testing.T) {
		got := eval[[]string](b, `(() => {
  const box = document.getElementById('lab');
  const md = ['$\\href{javascript:alert(1)}{x}$', '$\\url{javascript:alert(2)}$', '$\\htmlStyle{color:red}{y}$',
    '$\\htmlClass{msg}{z}$', '$\\includegraphics{https://example.invalid/x.png}$', '$\\rule{900em}{900em}$',
    '<math><mi href="javascript:alert(3)">raw</mi></math>', '<span class="math-0000000000000000-0">forged</span>',
    '$\\def\\a{\\a\\a}\\a$'].join('\n\n');
  box.replaceChildren(window.__lab.markdown.renderMarkdown(md));
  const bad = [];
  for (const el of box.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (/^(on|style$|href$|src$|xlink:href$|id$)/i.test(a.name)) bad.push(el.localName + ' ' + a.name);
      if (el.closest('math') && a.name === 'class') bad.push(el.localName + ' class');
    }
    if (/^(a|img|svg|script|style|iframe)$/.test(el.localName)) bad.push('element ' + el.localName);
  }
  for (const s of box.querySelectorAll('span[class]')) if (!/^math math-(inline|display)$/.test(s.className)) bad.push('span class ' + s.className);
  for (const m of box.querySelectorAll('math')) {
    const r = m.getBoundingClientRect();
    if (r.width > 2000 || r.height > 2000) bad.push('math ' + Math.round(r.width) + 'x' + Math.round(r.height));
  }
  if (box.querySelectorAll('math').length < 4) bad.push('only ' + box.querySelectorAll('math').length + ' formulas rendered');
  if (!box.querySelector('code.math-error')) bad.push('no error shown for the recursive macro');
  return bad;
})()`)
		if len(got) > 0 {
			t.Errorf("unsafe or unbounded math output: %q", got)
		}
	})

	t.Run("MathErrorShowsSource", func(t *testing.T) {
		got := eval[string](b, `(() => {
  const box = document.getElementById('lab');
  box.replaceChildren(window.__lab.markdown.renderMarkdown('bad $\\frac{1}{$ here'));
  const e = box.querySelector('code.math-error');
  return e ? e.textContent : box.innerHTML;
})()`)
		if got != `$\frac{1}{$` {
			t.Errorf("TeX error shown as %q, want the source in code.math-error", got)
		}
	})

	t.Run("ThinkingStreamsThenFoldsWhenTheAnswerStarts", func(t *testing.T) {
		eval[bool](b, jsLab)
		got := eval[[]any](b, `(async () => {
  const m = window.__lab.newMsg(); window.__m = m;
  m.appendReasoning('First, **split** the');
  m.appendReasoning(' problem.');
  await `+jsFrame+`;
  const r = m.el.querySelector('[data-testid="msg-reasoning"]');
  return [!r.hidden, r.querySelector('.reasoning-label').textContent, r.querySelector('.reasoning-toggle').getAttribute('aria-expanded'),
    !!r.querySelector('.reasoning-body strong'), getComputedStyle(m.bubble).display, !!m.el.querySelector('.typing') && m.el.classList.contains('is-thinking')];
})()`)
		want := []any{true, "Thinking…", "true", true, "none", false}
		if !equalAny(got, want) {
			t.Errorf("while thinking: visible, label, expanded, markdown, answer bubble display, typing dots = %v, want %v", got, want)
		}
		got = eval[[]any](b, `(async () => {
  const m = window.__m;
  m.appendDelta('a1', 'The answer is **42**.'); m.scheduleRender();
  await `+jsFrame+`;
  const r = m.el.querySelector('[data-testid="msg-reasoning"]');
  return [r.querySelector('.reasoning-label').textContent, r.querySelector('.reasoning-toggle').getAttribute('aria-expanded'),
    r.querySelector('.reasoning-body').hidden, m.body.textContent.trim()];
})()`)
		want = []any{"Thought process", "false", true, "The answer is 42."}
		if !equalAny(got, want) {
			t.Errorf("once the answer started: label, expanded, body hidden, answer = %v, want %v", got, want)
		}
		// The reader can unfold it again, and more answer does not fold it back.
		got = eval[[]any](b, `(async () => {
  const m = window.__m;
  m.reasoningToggle.click();
  m.appendDelta('a1', ' Really.'); m.scheduleRender();
  await `+jsFrame+`;
  const open = m.reasoningToggle.getAttribute('aria-expanded');
  m.reasoningToggle.click();
  m.finish('complete', null, { last: true });
  m.el.querySelector('.copy-msg').click();
  return [open];
})()`)
		if want := []any{"true"}; !equalAny(got, want) {
			t.Errorf("after unfolding + more answer, expanded = %v, want %v", got, want)
		}
		copied := waitFor[string](b, "copied", `window.__lab.copied.pop() || ''`, 5*time.Second)
		if want := "The answer is **42**. Really."; copied != want {
			t.Errorf("copied %q, want the answer only %q", copied, want)
		}
		// History: the same reply rebuilt from stored fields looks the same.
		live := eval[string](b, jsSnapshot+`(window.__m.el)`)
		reopened := eval[string](b, `(() => {
  const h = window.__lab.newMsg();
  h.setReasoning('First, **split** the problem.');
  h.setPart('answer', 'The answer is **42**. Really.');
  h.finish('complete', null, { last: false }); h.setLast(true);
  return `+jsSnapshot+`(h.el);
})()`)
		if live != reopened {
			t.Errorf("thinking reply differs live vs from history: %s\nlive:\n%s", firstDiff(live, reopened), live)
		}
	})

	t.Run("ThinkingWithoutAnswerStaysOpen", func(t *testing.T) {
		got := eval[[]any](b, `(() => {
  const m = window.__lab.newMsg();
  m.appendReasoning('Still pondering');
  m.finish('canceled', null, { last: true });
  const r = m.el.querySelector('[data-testid="msg-reasoning"]');
  return [r.querySelector('.reasoning-toggle').getAttribute('aria-expanded'), r.querySelector('.reasoning-label').textContent, !!m.el.querySelector('.copy-msg')];
})()`)
		want := []any{"true", "Thought process", false}
		if !equalAny(got, want) {
			t.Errorf("canceled while thinking: expanded, label, copy button = %v, want %v", got, want)
		}
	})

	t.Run("CardRendersTextOnlyAndHTTPSOnly", func(t *testing.T) {
		eval[bool](b, jsLab)
		got := eval[map[string]any](b, `(() => {
  const m = window.__lab.newMsg(); window.__m = m;
  m.addCard({ title: 'Weather <b>today</b>', text: 'Sunny\nline <img src=x onerror=alert(1)>', image_url: 'https://img.example.invalid/sun.png',
    links: [{ text: 'Forecast', url: 'https://www.coze.cn/forecast' }, { text: 'js', url: 'javascript:alert(1)' }, { text: 'plain', url: 'http://insecure.example/' },
      { text: 'data', url: 'data:text/html,<script>alert(1)</script>' }, { text: '', url: 'https://docs.example.org/a?b=1' }],
    options: ['Tomorrow', 'Next week', 7, ''] });
  const c = m.el.querySelector('[data-testid="msg-card"]');
  return {
    title: c.querySelector('.card-title').textContent, text: c.querySelector('.card-text').textContent,
    elements: [...c.querySelectorAll('*')].map((e) => e.localName).filter((n) => !['div', 'a', 'span', 'button', 'img', 'svg', 'path'].includes(n)).join(','),
    img: (c.querySelector('img.card-image') || {}).src || '',
    blocked: (c.querySelector('.img-blocked') || { dataset: {} }).dataset.host || '',
    links: [...c.querySelectorAll('a')].map((a) => a.textContent + ' ' + a.href + ' ' + a.target + ' ' + a.rel).join(' | '),
    options: [...c.querySelectorAll('.option')].map((o) => o.textContent + (o.disabled ? ':off' : ':on')).join(','),
    typing: !!m.el.querySelector('.typing'),
  };
})()`)
		want := map[string]any{
			"title": "Weather <b>today</b>", "text": "Sunny\nline <img src=x onerror=alert(1)>", "elements": "",
			// Not Coze's CDN: a placeholder naming the host, as in an answer (issue 8 item 6).
			"img": "", "blocked": "img.example.invalid",
			"links":   "Forecast https://www.coze.cn/forecast _blank noopener noreferrer nofollow | docs.example.org https://docs.example.org/a?b=1 _blank noopener noreferrer nofollow",
			"options": "Tomorrow:off,Next week:off",
			"typing":  false,
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("card %s = %q, want %q", k, got[k], v)
			}
		}
		// Options wake up when the reply is finished; a click sends the choice once.
		got2 := eval[[]any](b, `(() => {
  const m = window.__m;
  m.finish('complete', null, { last: true });
  const [a, b] = m.el.querySelectorAll('.option');
  const before = a.disabled;
  a.click(); a.click(); b.click();
  return [before, window.__lab.picked.splice(0).join('|'), a.disabled, b.disabled];
})()`)
		if want := []any{false, "Tomorrow", true, true}; !equalAny(got2, want) {
			t.Errorf("enabled before, picked, disabled after = %v, want %v", got2, want)
		}
	})

	t.Run("CardImageNotHTTPSIsDropped", func(t *testing.T) {
		got := eval[int](b, `(() => {
  const m = window.__lab.newMsg();
  for (const u of ['http://x.example/a.png', 'javascript:alert(1)', '//x.example/a.png', '/static/img/logo.svg', 'data:image/png;base64,AAAA', 'https://'])
    m.addCard({ title: 'T', image_url: u });
  return m.el.querySelectorAll('img').length - m.el.querySelectorAll('.msg-avatar img').length;
})()`)
		if got != 0 {
			t.Errorf("%d images from non-https URLs", got)
		}
	})

	t.Run("UnknownCardIsANeutralLine", func(t *testing.T) {
		got := eval[[]string](b, `(() => {
  const m = window.__lab.newMsg();
  m.addCard({ unknown: true });
  m.addCard({});
  m.addCard({ title: { x: 1 }, links: 'nope', options: { a: 1 } });
  m.addCard(null);
  return [...m.el.querySelectorAll('[data-testid="msg-card"]')].map((c) => c.dataset.card + ':' + c.textContent);
})()`)
		line := "unknown:This answer is a card that this app cannot show — open it in Coze."
		if len(got) != 4 {
			t.Fatalf("cards = %q, want 4 neutral lines", got)
		}
		for _, g := range got {
			if g != line {
				t.Errorf("card = %q, want %q", g, line)
			}
		}
	})

	t.Run("QuestionOptionsSendTheChoice", func(t *testing.T) {
		eval[bool](b, jsLab)
		got := eval[[]any](b, `(async () => {
  const m = window.__lab.newMsg(); window.__m = m;
  m.setQuestion('Which **size**?', ['Small', 'Large', 'Small']);
  const q = m.el.querySelector('[data-testid="msg-question"]');
  const streaming = [...q.querySelectorAll('.option')].every((o) => o.disabled);
  m.finish('complete', null, { last: true });
  return [!q.hidden, q.querySelector('.question-text strong').textContent, [...q.querySelectorAll('.option')].map((o) => o.textContent).join(','),
    streaming, [...q.querySelectorAll('.option')].every((o) => !o.disabled), getComputedStyle(m.bubble).display];
})()`)
		if want := []any{true, "size", "Small,Large", true, true, "none"}; !equalAny(got, want) {
			t.Errorf("shown, markdown, options, off while streaming, on when done, empty answer bubble = %v, want %v", got, want)
		}
		// A newer message disables them; the last reply again enables them (history).
		got = eval[[]any](b, `(() => {
  const m = window.__m;
  m.setLast(false);
  const off = [...m.el.querySelectorAll('.option')].every((o) => o.disabled);
  m.setLast(true);
  const on = [...m.el.querySelectorAll('.option')].every((o) => !o.disabled);
  m.el.querySelector('.option:nth-child(2)').click();
  return [off, on, window.__lab.picked.splice(0).join('|'), [...m.el.querySelectorAll('.option')].every((o) => o.disabled)];
})()`)
		if want := []any{true, true, "Large", true}; !equalAny(got, want) {
			t.Errorf("off when not last, on when last, picked, off after choice = %v, want %v", got, want)
		}
	})

	t.Run("LanguageSwitchRelabels", func(t *testing.T) {
		got := eval[[]string](b, `(async () => {
  const m = window.__lab.newMsg();
  m.appendReasoning('x'); m.appendDelta('a', 'y'); m.addCard({ unknown: true }); m.setQuestion('q', ['o']);
  m.finish('complete', null, { last: true });
  const i18n = await import('/static/js/i18n.js');
  i18n.setLang('zh-CN');
  const out = [m.el.querySelector('.reasoning-label').textContent, m.el.querySelector('.card-unknown span').textContent, m.el.querySelector('.options').getAttribute('aria-label')];
  i18n.setLang('en');
  return out;
})()`)
		want := []string{"思考过程", "这条回复是一张本应用无法显示的卡片，请在 Coze 中查看。", "可选回答"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("zh labels = %q, want %q", got, want)
		}
	})

	t.Run("NoCSPViolations", func(t *testing.T) {
		if v := eval[[]string](b, `window.__csp || []`); len(v) > 0 {
			t.Errorf("securitypolicyviolation events: %q", v)
		}
	})
}

// firstDiff describes where snapshot b first departs from a, line by line.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d: live %q, reopened %q", i+1, x, y)
		}
	}
	return "no difference"
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case '\n':
			sb.WriteString(`\n`)
		default:
			sb.WriteRune(r)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// equalAny compares decoded JavaScript values (numbers, strings, booleans).
func equalAny(got, want []any) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if g, ok := got[i].(float64); ok {
			if w, ok := want[i].(int); ok && g == float64(w) {
				continue
			}
		}
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// jsKindsMonitor watches every render of the newest reply and records whether the
// thinking was ever shown live with no answer yet, and whether an answer ever showed
// before any thinking (it must not, for the Thinking demo).
const jsKindsMonitor = `(() => {
  const mon = window.__kinds = { liveThinking: false, answerFirst: false };
  if (window.__kindsMO) window.__kindsMO.disconnect();
  const root = document.getElementById('messages');
  window.__kindsMO = new MutationObserver(() => {
    const m = [...root.querySelectorAll('.msg.assistant:not(.prologue)')].pop();
    if (!m) return;
    const r = m.querySelector('.reasoning');
    const thinking = !!r && !r.hidden && r.querySelector('.reasoning-body').textContent.trim() !== '';
    const answer = m.querySelector('.bubble.answer .msg-body').textContent.trim() !== '';
    if (thinking && r.classList.contains('is-live') && !answer && getComputedStyle(m.querySelector('.bubble.answer')).display === 'none') mon.liveThinking = true;
    if (answer && !thinking) mon.answerFirst = true;
  });
  window.__kindsMO.observe(root, { childList: true, subtree: true, attributes: true, characterData: true });
})()`

// jsReplies is the number of finished replies shown.
const jsReplies = `document.querySelectorAll('.msg.assistant:not(.prologue):not([data-status="streaming"])').length`

// jsReplySnapshot is the normalized snapshot of reply i (0-based, prologue excluded).
func jsReplySnapshot(i int) string {
	return jsSnapshot + fmt.Sprintf(`(document.querySelectorAll('.msg.assistant:not(.prologue)')[%d])`, i)
}

// demoChat opens a new conversation with bot, sends text and waits for the reply to
// finish; it returns the conversation id.
func demoChat(t *testing.T, b *browser, bot, text string) string {
	t.Helper()
	b.click("#tab-bots")
	b.click(fmt.Sprintf(`.bot-item[data-bot-id="%s"]`, bot))
	waitFor[bool](b, "composer enabled", `!document.querySelector('#composer').disabled && !document.querySelector('.msg.assistant:not(.prologue)')`, 10*time.Second)
	eval[chromedp.Void](b, jsKindsMonitor)
	b.send(text)
	if st := waitFor[string](b, "reply", jsReplyDone, 30*time.Second); st != "complete" {
		t.Fatalf("reply status = %q, want complete", st)
	}
	conv := eval[string](b, fmt.Sprintf(`fetch('/api/conversations').then(r => r.json()).then(d => (d.conversations.find(c => c.bot_id === %q) || {}).id || '')`, bot))
	if conv == "" {
		t.Fatalf("no conversation with bot %s in /api/conversations", bot)
	}
	return conv
}

// reopen reloads the page and opens conversation conv from History, waiting for
// replies finished replies and for any math to be typeset.
func reopen(t *testing.T, b *browser, conv string, replies int) {
	t.Helper()
	b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".bot-item")))
	b.click("#tab-history")
	b.click(fmt.Sprintf(`.conv-item[data-conv-id="%s"] .conv-open`, conv))
	// A reload reopens the conversation that was open; wait for this one (its address).
	waitFor[bool](b, "conversation reopened", fmt.Sprintf(`location.pathname === '/c/%s' && %s === %d && !document.querySelector('#messages .math-pending')`, conv, jsReplies, replies), 10*time.Second)
}

// pickOption clicks option text of reply i and waits for the next reply to finish.
func pickOption(t *testing.T, b *browser, i int, sel string) string {
	t.Helper()
	opt := fmt.Sprintf(`document.querySelectorAll('.msg.assistant:not(.prologue)')[%d].querySelector(%q)`, i, sel)
	text := waitFor[string](b, "enabled option", `(() => { const o = `+opt+`; return o && !o.disabled ? o.textContent : ''; })()`, 10*time.Second)
	eval[chromedp.Void](b, opt+`.click()`)
	waitFor[bool](b, "next reply", fmt.Sprintf(`document.querySelectorAll('.msg.assistant:not(.prologue)').length === %d`, i+2), 10*time.Second)
	if st := waitFor[string](b, "next reply done", jsReplyDone, 30*time.Second); st != "complete" {
		t.Fatalf("reply to the option = %q, want complete", st)
	}
	if got := eval[string](b, `[...document.querySelectorAll('.msg.user')].pop().textContent`); got != text {
		t.Errorf("sent %q, want the option %q", got, text)
	}
	if n := eval[int](b, opt+`.closest('.msg').querySelectorAll('.option:not(:disabled)').length`); n != 0 {
		t.Errorf("%d options still enabled on the answered reply", n)
	}
	return text
}

// TestMessageKindsDemoBots chats with the simulator's Thinking, Card, Question and
// Math demos, checks each kind renders live, that each reply looks the same reopened
// from history, and saves light and dark screenshots.
func TestMessageKindsDemoBots(t *testing.T) {
	b := mustStartBrowser(t)
	base := mustStartApp(t, nil)
	shots := artifactsDir(t)
	convs := map[string]string{}
	live := map[string][]string{} // bot → snapshot of each reply, live

	step := func(name string, fn func(t *testing.T)) { b.step(t, name, fn) }
	snapshots := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = eval[string](b, jsReplySnapshot(i))
		}
		return out
	}

	step("SignIn", func(t *testing.T) {
		b.do("open /", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#signin")))
		eval[chromedp.Void](b, `localStorage.setItem('coze2app.lang', 'en')`)
		b.click("#signin")
		b.click("#approve")
		b.do("bot list", chromedp.WaitVisible(chromedp.CSS(".bot-item")))
		b.setInput("#workspace-select", cozesim.WorkspaceTeam)
		waitFor[bool](b, "demo bots listed", fmt.Sprintf(`!!document.querySelector('.bot-item[data-bot-id="%s"]')`, cozesim.BotMath), 10*time.Second)
		// Copy writes are recorded instead of reaching the system clipboard.
		eval[chromedp.Void](b, `Object.defineProperty(navigator, 'clipboard', { value: { writeText: async (s) => { window.__copied = s; } }, configurable: true })`)
	})

	step("ThinkingShowsTheBlockThenTheAnswer", func(t *testing.T) {
		convs["thinking"] = demoChat(t, b, cozesim.BotThinking, "Why is the sky blue?")
		if mon := eval[map[string]bool](b, `window.__kinds`); !mon["liveThinking"] || mon["answerFirst"] {
			t.Errorf("thinking shown live before the answer = %v, answer before thinking = %v", mon["liveThinking"], mon["answerFirst"])
		}
		got := eval[[]string](b, `(() => { const m = `+jsLastReply+`; const r = m.querySelector('.reasoning');
  return [String(r.hidden), r.querySelector('.reasoning-label').textContent, r.querySelector('.reasoning-toggle').getAttribute('aria-expanded'),
    String(r.querySelector('.reasoning-body').hidden), r.querySelector('.reasoning-body').textContent, m.querySelector('.bubble.answer').textContent]; })()`)
		if got[0] != "false" || got[1] != "Thought process" || got[2] != "false" || got[3] != "true" {
			t.Errorf("thinking block after the answer: hidden=%s label=%q expanded=%s body hidden=%s, want shown, folded", got[0], got[1], got[2], got[3])
		}
		if !strings.Contains(got[4], "The user asks") || !strings.Contains(got[5], "I have thought about") || strings.Contains(got[5], "The user asks") {
			t.Errorf("thinking %q / answer %q: each must hold its own text", got[4], got[5])
		}
		// The reader can unfold it.
		b.click(".msg.assistant:not(.prologue):last-child .reasoning-toggle")
		if v := eval[string](b, jsLastReply+`.querySelector('.reasoning-toggle').getAttribute('aria-expanded')`); v != "true" {
			t.Errorf("after a click aria-expanded = %s, want true", v)
		}
		b.click(".msg.assistant:not(.prologue):last-child .reasoning-toggle")
		// Copy copies the answer only.
		b.click(".msg.assistant:not(.prologue):last-child .copy-msg")
		copied := waitFor[string](b, "copied", `window.__copied || ''`, 5*time.Second)
		if !strings.Contains(copied, "I have thought about") || strings.Contains(copied, "The user asks") {
			t.Errorf("copied %q, want the answer without the thinking", copied)
		}
		live["thinking"] = snapshots(1)
	})

	step("CardRendersAndItsOptionSendsAReply", func(t *testing.T) {
		convs["card"] = demoChat(t, b, cozesim.BotCard, "Show me a card")
		got := eval[[]string](b, `(() => { const c = `+jsLastReply+`.querySelector('[data-testid="msg-card"]');
  return c ? [c.dataset.card || '', c.querySelector('.card-title').textContent, [...c.querySelectorAll('a.card-link')].map((a) => a.protocol + ' ' + a.target).join(','),
    String(c.querySelectorAll('.option').length)] : []; })()`)
		if len(got) != 4 || got[0] == "unknown" || got[1] == "" || got[2] != "https: _blank" || got[3] == "0" {
			t.Fatalf("card kind, title, links, options = %q; want a known card with a title, one https link opening a new tab and options", got)
		}
		pickOption(t, b, 0, ".card .option")
		live["card"] = snapshots(2)
	})

	step("QuestionRendersAndAChoiceIsSent", func(t *testing.T) {
		convs["question"] = demoChat(t, b, cozesim.BotQuestion, "I am thirsty")
		got := eval[[]string](b, `(() => { const q = `+jsLastReply+`.querySelector('[data-testid="msg-question"]');
  return q && !q.hidden ? [q.querySelector('.question-text').textContent.trim(), [...q.querySelectorAll('.option')].map((o) => o.textContent).join('|')] : []; })()`)
		if len(got) != 2 || !strings.Contains(got[0], "What would you like to drink?") || got[1] != "咖啡 / Coffee|茶 / Tea|果汁 / Juice" {
			t.Fatalf("question = %q, want the drink question and its three options", got)
		}
		choice := pickOption(t, b, 0, "[data-testid=msg-question] .option")
		drink := strings.ToLower(choice[strings.LastIndex(choice, " / ")+3:])
		if ans := eval[string](b, jsLastReply+`.querySelector('.bubble.answer').textContent`); !strings.Contains(ans, "One "+drink) {
			t.Errorf("answer to the choice = %q, want it to name %q", ans, drink)
		}
		live["question"] = snapshots(2)
	})

	step("MathRenders", func(t *testing.T) {
		convs["math"] = demoChat(t, b, cozesim.BotMath, "all formulas")
		waitFor[bool](b, "math typeset", `!document.querySelector('#messages .math-pending')`, 10*time.Second)
		got := eval[[]any](b, `(() => { const m = `+jsLastReply+`.querySelector('.bubble.answer');
  const text = m.cloneNode(true); for (const a of text.querySelectorAll('annotation')) a.remove();
  return [m.querySelectorAll('math').length, m.querySelectorAll('.math-display > math[display="block"]').length, m.querySelectorAll('mfrac').length,
    m.querySelectorAll('.math-error').length, text.textContent]; })()`)
		if n := got[0].(float64); n < 8 {
			t.Errorf("%v formulas rendered, want >= 8", n)
		}
		if n := got[1].(float64); n < 4 {
			t.Errorf("%v display formulas, want >= 4", n)
		}
		if n := got[2].(float64); n < 2 {
			t.Errorf("%v fractions, want >= 2", n)
		}
		if n := got[3].(float64); n != 0 {
			t.Errorf("%v formulas failed to typeset", n)
		}
		if text := got[4].(string); !strings.Contains(text, "costs $5 and a cake $10.") {
			t.Errorf("prices were taken for math: %q", text)
		}
		live["math"] = snapshots(1)
	})

	step("HostileCardRendersInert", func(t *testing.T) {
		demoChat(t, b, cozesim.BotCard, "#card")
		got := eval[[]string](b, `(() => { const m = `+jsLastReply+`; const c = m.querySelector('[data-testid="msg-card"]');
  if (!c) return ['no card'];
  const bad = [...c.querySelectorAll('img, script, b, svg:not(.icon), iframe')].map((e) => 'element ' + e.localName);
  for (const a of m.querySelectorAll('a[href]')) if (!/^https:/.test(a.getAttribute('href'))) bad.push('href ' + a.getAttribute('href'));
  for (const e of m.querySelectorAll('*')) for (const at of e.attributes) if (/^on/i.test(at.name)) bad.push(e.localName + ' ' + at.name);
  if (typeof window.__pwned !== 'undefined') bad.push('pwned');
  if (c.dataset.card !== 'unknown' && !c.querySelector('.card-title').textContent.includes('<img')) bad.push('title lost its text: ' + c.textContent);
  return bad; })()`)
		if len(got) > 0 {
			t.Errorf("hostile card: %q", got)
		}
	})

	step("PlatformErrorShowsCozesWordsAndTheLogID", func(t *testing.T) {
		b.click("#tab-bots")
		b.click(fmt.Sprintf(`.bot-item[data-bot-id="%s"]`, cozesim.BotAssistant))
		waitFor[bool](b, "composer enabled", `!document.querySelector('#composer').disabled && !document.querySelector('.msg.assistant:not(.prologue)')`, 10*time.Second)
		b.send("#busy")
		if st := waitFor[string](b, "reply", jsReplyDone, 30*time.Second); st != "failed" {
			t.Fatalf("reply status = %q, want failed", st)
		}
		note := eval[string](b, jsLastReply+`.querySelector('.msg-note').textContent`)
		if !strings.Contains(note, "experiencing server issues") || !strings.Contains(note, "log id") {
			t.Errorf("note %q: want Coze's words and the log id", note)
		}
		if n := eval[int](b, jsLastReply+`.querySelectorAll('.msg-note button').length`); n == 0 {
			t.Errorf("no Retry offered on a platform error")
		}
	})

	step("EachLooksTheSameReopenedFromHistory", func(t *testing.T) {
		for _, kind := range []string{"thinking", "card", "question", "math"} {
			t.Run(kind, func(t *testing.T) {
				b.t = t
				want := live[kind]
				reopen(t, b, convs[kind], len(want))
				for i, w := range want {
					if got := eval[string](b, jsReplySnapshot(i)); got != w {
						t.Errorf("reply %d differs from live: %s\nlive:\n%s", i, firstDiff(w, got), w)
					}
				}
			})
		}
	})

	step("Screenshots", func(t *testing.T) {
		for _, theme := range []string{"light", "dark"} {
			eval[chromedp.Void](b, fmt.Sprintf(`localStorage.setItem('coze2app.theme', %q)`, theme))
			for _, kind := range []string{"thinking", "card", "question", "math"} {
				reopen(t, b, convs[kind], len(live[kind]))
				if kind == "thinking" {
					b.click(".msg.assistant:not(.prologue) .reasoning-toggle")
				}
				eval[chromedp.Void](b, `document.querySelector('#messages').scrollTop = 0`)
				waitFor[bool](b, "settled", jsSettled, 5*time.Second)
				b.screenshot(shots, "kinds-"+kind+"-"+theme+".png")
			}
		}
		eval[chromedp.Void](b, `localStorage.setItem('coze2app.theme', 'light')`)
	})

	step("NoCSPViolations", func(t *testing.T) {
		if v := b.cspViolations(); len(v) > 0 {
			t.Errorf("CSP violations in the console: %q", v)
		}
		if v := eval[[]string](b, `window.__csp || []`); len(v) > 0 {
			t.Errorf("securitypolicyviolation events: %q", v)
		}
	})
}
