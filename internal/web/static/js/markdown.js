// markdown: bot text → marked → DOMPurify (strict allow-list, returns a DOM fragment, so
// no innerHTML sink of ours ever sees markup) → highlight.js + copy buttons.
// Every render, including each intermediate render while streaming, goes through the
// sanitizer (SECURITY-CATALOG case 69).

import { Marked } from '../vendor/marked.esm.js';
import DOMPurify from '../vendor/purify.es.js';
import hljs from '../vendor/highlight.min.js';
import { h, icon, copyText, safeImageURL } from './dom.js';
import { t } from './i18n.js';
import { isAppURL, answerImageURL, blockedImageSource, imagePlaceholder } from './images.js';

const marked = new Marked({ gfm: true, breaks: true, async: false });
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
    // Only highlight.js language hints on <code>; bots must not borrow our CSS classes.
    const keep = node.nodeName === 'CODE' ? data.attrValue.split(/\s+/).filter((c) => /^language-[\w+#.-]{1,32}$/.test(c)) : [];
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
  let html;
  try {
    html = marked.parse(String(md ?? ''));
  } catch {
    const frag = document.createDocumentFragment();
    frag.append(h('p', { text: String(md ?? '') }));
    return frag;
  }
  const frag = sanitize(html);
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
