package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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
			t.Errorf("thinking reply differs live vs from history:\nlive:\n%s\nreopened:\n%s", live, reopened)
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
    links: [...c.querySelectorAll('a')].map((a) => a.textContent + ' ' + a.href + ' ' + a.target + ' ' + a.rel).join(' | '),
    options: [...c.querySelectorAll('.option')].map((o) => o.textContent + (o.disabled ? ':off' : ':on')).join(','),
    typing: !!m.el.querySelector('.typing'),
  };
})()`)
		want := map[string]any{
			"title": "Weather <b>today</b>", "text": "Sunny\nline <img src=x onerror=alert(1)>", "elements": "",
			"img":     "https://img.example.invalid/sun.png",
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
