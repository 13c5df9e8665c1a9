// markdown: bot text → marked → DOMPurify (strict allow-list, returns a DOM fragment, so
// no innerHTML sink of ours ever sees markup) → highlight.js + copy buttons + math.
// Every render, including each intermediate render while streaming, goes through the
// sanitizer (SECURITY-CATALOG case 69).
//
// Math ($…$, $$…$$, \(…\), \[…\]) is cut out by a marked extension before the markdown
// becomes HTML, typeset by KaTeX as MathML (no inline styles, no fonts: the CSP has no
// 'unsafe-inline' for styles) and sanitized by a second DOMPurify instance whose allow-list
// is MathML presentation only. Raw <math> written by a bot stays forbidden.

import { Marked } from '../vendor/marked.esm.js';
import DOMPurify from '../vendor/purify.es.js';
import hljs from '../vendor/highlight.min.js';
import { h, icon, copyText, safeImageURL } from './dom.js';
import { t } from './i18n.js';
import { isAppURL, answerImageURL, blockedImageSource, imagePlaceholder } from './images.js';

const marked = new Marked({ gfm: true, breaks: true, async: false });
marked.use(mathExtension());
hljs.configure({ ignoreUnescapedHTML: true, throwUnescapedHTML: false });

// The allow-list: formatting, lists, tables, code, links and images. Everything else
// (script, style, iframe, form, input except task-list checkboxes, meta, base, svg,
// math, object, embed, noscript, template...) is dropped with its attributes.
const ALLOWED_TAGS = [
  'a', 'abbr', 'b', 'blockquote', 'br', 'caption', 'code', 'dd', 'del', 'details', 'dl', 'dt',
  'em', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'i', 'img', 'input', 'kbd', 'li', 'mark',
  'ol', 'p', 'pre', 'q', 's', 'small', 'span', 'strong', 'sub', 'summary', 'sup', 'table',
  'tbody', 'td', 'tfoot', 'th', 'thead', 'tr', 'u', 'ul',
];
const ALLOWED_ATTR = ['href', 'title', 'alt', 'src', 'class', 'align', 'colspan', 'rowspan', 'start', 'type', 'checked', 'disabled', 'open'];

const PURIFY_CONFIG = {
  ALLOWED_TAGS,
  ALLOWED_ATTR,
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
  ALLOW_UNKNOWN_PROTOCOLS: false,
  FORBID_TAGS: ['style', 'form', 'iframe', 'meta', 'base', 'svg', 'math', 'script', 'object', 'embed', 'link', 'noscript', 'template', 'frame', 'frameset', 'textarea', 'select', 'button'],
  FORBID_ATTR: ['style', 'id', 'name', 'srcset', 'action', 'formaction', 'xlink:href', 'target', 'rel'],
  SANITIZE_DOM: true,
  SANITIZE_NAMED_PROPS: true,
  KEEP_CONTENT: true,
  RETURN_DOM_FRAGMENT: true,
};

const LINK_RE = /^(?:https?:|mailto:)/i;

DOMPurify.addHook('uponSanitizeAttribute', (node, data) => {
  const name = data.attrName;
  if (name === 'class') {
    // Only highlight.js language hints on <code>, and the math placeholders of this
    // render (their nonce is unguessable); bots must not borrow our CSS classes.
    let keep = [];
    if (node.nodeName === 'CODE') keep = data.attrValue.split(/\s+/).filter((c) => /^language-[\w+#.-]{1,32}$/.test(c));
    else if (node.nodeName === 'SPAN' && mathRun && mathSlotIndex(data.attrValue) >= 0) keep = [data.attrValue];
    if (keep.length) data.attrValue = keep.join(' ');
    else data.keepAttr = false;
  } else if (name === 'type' || name === 'checked' || name === 'disabled') {
    if (node.nodeName !== 'INPUT') data.keepAttr = false;
  }
});

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.nodeName === 'A') {
    const href = (node.getAttribute('href') || '').trim();
    if (href && LINK_RE.test(href) && !isAppURL(href)) { // never an app route (issue 8 item 7)
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer nofollow');
      node.setAttribute('referrerpolicy', 'no-referrer');
    } else {
      node.removeAttribute('href');
    }
  } else if (node.nodeName === 'IMG') {
    const raw = node.getAttribute('src') || '';
    const src = answerImageURL(raw); // Coze's CDN only, never an app route (issue 8 items 6, 7)
    if (src) {
      node.setAttribute('src', src);
      node.setAttribute('loading', 'lazy');
      node.setAttribute('referrerpolicy', 'no-referrer');
    } else {
      node.removeAttribute('src');
      node.setAttribute('data-blocked', blockedImageSource(raw));
    }
  } else if (node.nodeName === 'INPUT') {
    // Only GFM task-list checkboxes survive, always disabled.
    if (node.getAttribute('type') !== 'checkbox') { node.remove(); return; }
    node.setAttribute('disabled', '');
  }
});

/** sanitize turns an HTML string into a sanitized DocumentFragment. */
export function sanitize(html) {
  return DOMPurify.sanitize(html, PURIFY_CONFIG);
}

/**
 * renderMarkdown renders bot markdown into a sanitized fragment with highlighted code
 * blocks and copy buttons. final=false (streaming) skips language auto-detection, which
 * is the expensive part of highlighting.
 */
export function renderMarkdown(md, final = true) {
  let frag;
  const run = { nonce: randomNonce(), slots: [] };
  mathRun = run;
  try {
    frag = sanitize(marked.parse(String(md ?? '')));
  } catch {
    frag = document.createDocumentFragment();
    frag.append(h('p', { text: String(md ?? '') }));
    return frag;
  } finally {
    mathRun = null;
  }
  if (run.slots.length) fillMath(frag, run);
  for (const img of frag.querySelectorAll('img[data-blocked]')) {
    const blocked = img.getAttribute('data-blocked');
    const alt = img.getAttribute('alt') || '';
    img.replaceWith(blocked ? imagePlaceholder(blocked, alt) : document.createTextNode(alt));
  }
  for (const pre of frag.querySelectorAll('pre')) decorateCode(pre, final);
  for (const table of frag.querySelectorAll('table')) {
    const wrap = h('div', { class: 'table-wrap' });
    table.replaceWith(wrap);
    wrap.append(table);
  }
  return frag;
}

function decorateCode(pre, final) {
  const code = pre.querySelector('code');
  if (!code) return;
  const langClass = Array.from(code.classList).find((c) => c.startsWith('language-'));
  const lang = langClass ? langClass.slice(9).toLowerCase() : '';
  const source = code.textContent;
  // highlight.js builds its markup from the escaped text (only <span class="hljs-…">).
  // Without a language hint it auto-detects, which we only do for the final render.
  if (lang ? hljs.getLanguage(lang) : final && source.length < 20000) {
    try { hljs.highlightElement(code); } catch { code.textContent = source; }
  }
  const label = h('span', { class: 'code-lang', text: lang || 'text' });
  const btn = h('button', {
    type: 'button',
    class: 'icon-btn icon-btn-sm code-copy',
    title: t('chat.copyCode'),
    attrs: { 'aria-label': t('chat.copyCode') },
    on: {
      click: async () => {
        const ok = await copyText(source);
        if (ok) {
          btn.replaceChildren(icon('check'));
          setTimeout(() => btn.replaceChildren(icon('copy')), 1500);
        }
      },
    },
  }, icon('copy'));
  const wrap = h('div', { class: 'code-block' }, h('div', { class: 'code-head' }, label, btn));
  pre.replaceWith(wrap);
  wrap.append(pre);
}

// ---- math -------------------------------------------------------------------------

// mathRun is the render in progress: its placeholder nonce and the math it cut out.
// marked and DOMPurify are synchronous, so one module-level slot is enough.
let mathRun = null;

function randomNonce() {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** mathSlotIndex returns i for the class "math-<nonce>-<i>" of the current render, else -1. */
function mathSlotIndex(cls) {
  const prefix = 'math-' + mathRun.nonce + '-';
  if (!cls.startsWith(prefix)) return -1;
  const rest = cls.slice(prefix.length);
  return /^\d{1,6}$/.test(rest) && Number(rest) < mathRun.slots.length ? Number(rest) : -1;
}

function mathSlot(tex, display, block, raw) {
  if (!mathRun) return '';
  const i = mathRun.slots.push({ tex, display, block, raw }) - 1;
  return `<span class="math-${mathRun.nonce}-${i}"></span>`;
}

// Delimiter rules (as KaTeX auto-render and pandoc): an opening $ is not followed by
// whitespace, a closing $ is not preceded by whitespace nor followed by a digit, so prose
// like "$5 and $10" stays text. Inline $…$ does not cross lines; $$…$$ may.
const INLINE_RULES = [
  { re: /^\$\$(?!\$)((?:\\[\s\S]|[^\\$])+?)\$\$/, display: true },
  { re: /^\$(?![\s$])((?:\\[^\n]|[^\\$\n])*?(?:\\[^\n]|[^\\$\s]))\$(?!\d)/, display: false },
  { re: /^\\\(((?:\\[^\n]|[^\\\n])+?)\\\)/, display: false },
  { re: /^\\\[((?:\\[\s\S]|[^\\])+?)\\\]/, display: true },
];
// Display math alone on its line(s): "$$ … $$" or "\[ … \]".
const BLOCK_RE = /^ {0,3}(?:\$\$((?:\\[\s\S]|[^\\$])+?)\$\$|\\\[((?:\\[\s\S]|[^\\])+?)\\\]) *(?:\n+|$)/;

function mathExtension() {
  return {
    extensions: [
      {
        name: 'mathBlock',
        level: 'block',
        start(src) {
          // Only where the current paragraph could be interrupted: before its blank line
          // (scanning the whole rest of a long answer per paragraph is quadratic).
          const end = src.indexOf('\n\n');
          const m = /(?:^|\n) {0,3}(?:\$\$|\\\[)/.exec(end < 0 ? src : src.slice(0, end));
          return m ? m.index + (m[0].startsWith('\n') ? 1 : 0) : undefined;
        },
        tokenizer(src) {
          const m = BLOCK_RE.exec(src);
          if (!m) return undefined;
          const tex = (m[1] ?? m[2]).trim();
          if (!tex) return undefined;
          return { type: 'mathBlock', raw: m[0], tex, source: m[0].trim() };
        },
        renderer(tok) { return mathSlot(tok.tex, true, true, tok.source); },
      },
      {
        name: 'mathInline',
        level: 'inline',
        start(src) {
          const m = /\$|\\[([]/.exec(src);
          return m ? m.index : undefined;
        },
        tokenizer(src) {
          for (const rule of INLINE_RULES) {
            const m = rule.re.exec(src);
            if (m && m[1].trim()) return { type: 'mathInline', raw: m[0], tex: m[1].trim(), display: rule.display };
          }
          return undefined;
        },
        renderer(tok) { return mathSlot(tok.tex, tok.display, false, tok.raw); },
      },
    ],
  };
}

// KaTeX's MathML (output:'mathml'): presentation elements and their layout attributes.
// No href (KaTeX runs with trust:false anyway), no style/class/id.
const MATH_TAGS = [
  '#text', 'span', 'math', 'semantics', 'annotation', 'mrow', 'mi', 'mn', 'mo', 'ms', 'mtext', 'mspace',
  'msup', 'msub', 'msubsup', 'mfrac', 'msqrt', 'mroot', 'mover', 'munder', 'munderover',
  'mmultiscripts', 'mprescripts', 'mtable', 'mtr', 'mtd', 'mlabeledtr', 'mstyle', 'mpadded',
  'mphantom', 'menclose',
];
const MATH_ATTR = [
  'display', 'displaystyle', 'scriptlevel', 'mathvariant', 'mathcolor', 'mathbackground', 'mathsize',
  'stretchy', 'fence', 'separator', 'symmetric', 'largeop', 'movablelimits', 'accent', 'accentunder',
  'lspace', 'rspace', 'minsize', 'maxsize', 'width', 'height', 'depth', 'voffset', 'linethickness',
  'columnalign', 'columnspacing', 'columnlines', 'rowalign', 'rowspacing', 'rowlines', 'frame',
  'framespacing', 'notation', 'encoding',
];
const MATH_PURIFY_CONFIG = {
  ALLOWED_TAGS: MATH_TAGS,
  ALLOWED_ATTR: MATH_ATTR,
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
  ALLOW_UNKNOWN_PROTOCOLS: false,
  FORBID_ATTR: ['style', 'class', 'id', 'href', 'src', 'xlink:href'],
  KEEP_CONTENT: false,
  RETURN_DOM_FRAGMENT: true,
};
// Its own instance, so the hooks of the markdown sanitizer above do not apply.
const mathPurify = DOMPurify(window);

const KATEX_OPTIONS = {
  output: 'mathml', throwOnError: true, trust: false, strict: 'ignore',
  maxSize: 10, // em: caps \rule and spaces, so a formula cannot cover the page
  maxExpand: 500, // macro expansions: a recursive \def stops early
};

let katexLib = null;
let katexLoading = null;
let katexRetryAt = 0;
const pendingMath = new Set(); // placeholders drawn before KaTeX arrived
const mathCache = new Map(); // "D"/"I" + TeX → sanitized <math>, cloned on use

// loadKatex fetches KaTeX the first time an answer contains math (it is 270 kB, most
// answers have none) and then typesets every placeholder drawn meanwhile. After a failed
// load the TeX stays visible as text and a later render tries again, at most every 10 s.
function loadKatex() {
  if (katexLib) return Promise.resolve();
  if (katexLoading) return katexLoading;
  if (Date.now() < katexRetryAt) return Promise.resolve();
  katexLoading = import('../vendor/katex/katex.min.js')
    .then(() => {
      katexLib = globalThis.katex || null;
      if (!katexLib) throw new Error('KaTeX did not load');
      for (const el of pendingMath) el.replaceWith(mathNode(el.mathSlot));
      pendingMath.clear();
    })
    .catch(() => {
      katexRetryAt = Date.now() + 10000;
      for (const el of pendingMath) if (!el.isConnected) pendingMath.delete(el);
    })
    .finally(() => { katexLoading = null; });
  return katexLoading;
}

/** mathReady resolves once KaTeX is loaded (or failed to load). */
export function mathReady() { return loadKatex(); }

function typeset(tex, display) {
  const key = (display ? 'D' : 'I') + tex;
  if (mathCache.has(key)) return mathCache.get(key);
  let math = null;
  try {
    const frag = mathPurify.sanitize(katexLib.renderToString(tex, { ...KATEX_OPTIONS, displayMode: display }), MATH_PURIFY_CONFIG);
    math = frag.querySelector('math');
  } catch {
    math = null; // a TeX error: shown as source
  }
  if (mathCache.size >= 500) mathCache.clear();
  mathCache.set(key, math);
  return math;
}

function mathNode(slot) {
  const cls = 'math ' + (slot.display ? 'math-display' : 'math-inline');
  const tag = slot.block ? 'div' : 'span';
  if (!katexLib) {
    const el = h(tag, { class: cls + ' math-pending', text: slot.raw });
    el.mathSlot = slot;
    pendingMath.add(el);
    loadKatex();
    return el;
  }
  const math = typeset(slot.tex, slot.display);
  if (!math) return h('code', { class: 'math-error', text: slot.raw, title: t('math.error') });
  return h(tag, { class: cls }, math.cloneNode(true));
}

function fillMath(frag, run) {
  const prefix = `math-${run.nonce}-`;
  for (const el of frag.querySelectorAll(`span[class^="${prefix}"]`)) {
    const slot = run.slots[Number(el.className.slice(prefix.length))];
    if (slot) el.replaceWith(mathNode(slot));
  }
}
