// images: what an answer may make the browser fetch (issue 8 items 6 and 7).
// An answer is a bot's text, and a prompt injection can steer it: an image in it loads
// with no click, so its URL can carry the conversation to whoever owns the host, and
// an image of this app's own origin (![](/api/auth/logout)) would act as the viewer.
// So an answer never makes the browser request an app route, and its images load only
// from the sources the server names in <meta name="coze2app-image-sources"> (Coze's
// CDN for the configured region; the simulator's assets in demo mode). Any other https
// image becomes a placeholder with its host and a button that opens it in a new tab:
// CSP img-src allows exactly those sources, so it could not load in place anyway.

import { h, icon } from './dom.js';
import { getLang } from './i18n.js';

const SOURCES = (() => {
  const m = document.querySelector('meta[name="coze2app-image-sources"]');
  return (m ? m.getAttribute('content') || '' : '').split(/\s+/).filter(Boolean);
})();

/** isAppURL reports whether url, absolute or relative, points at this app's origin. */
export function isAppURL(url) {
  try {
    return new URL(String(url), location.href).origin === location.origin;
  } catch {
    return true; // unparsable: treat as ours, so it is refused
  }
}

function parse(url) {
  const s = String(url || '').trim();
  // Control characters, whitespace and backslashes are rewritten by the URL parser.
  if (!s || /[\u0000-\u0020\u007f\\]/.test(s)) return null;
  try { return new URL(s, location.href); } catch { return null; }
}

function allowed(u) {
  for (const src of SOURCES) {
    if (src.startsWith('/')) {
      // A path of our own origin (demo mode); the parser already resolved "..".
      if (u.origin === location.origin && u.pathname.startsWith(src)) return true;
      continue;
    }
    const m = /^https:\/\/(\*\.)?([a-z0-9.-]+)$/i.exec(src);
    if (!m || u.protocol !== 'https:' || u.port !== '') continue;
    const host = u.hostname.toLowerCase();
    const base = m[2].toLowerCase();
    if (m[1] ? host.endsWith('.' + base) : host === base) return true;
  }
  return false;
}

/** answerImageURL returns the URL an answer's image may load from, or "". */
export function answerImageURL(url) {
  const u = parse(url);
  return u && allowed(u) ? u.href : '';
}

/**
 * blockedImageSource returns the https URL of a refused answer image worth a
 * placeholder (not one of ours: those are never offered), or "".
 */
export function blockedImageSource(url) {
  const u = parse(url);
  return u && u.protocol === 'https:' && !isAppURL(u.href) ? u.href : '';
}

const TEXT = {
  'zh-CN': { label: (host) => `来自 ${host} 的图片未加载`, load: '加载', title: (host) => `在新标签页中打开 ${host} 上的图片` },
  en: { label: (host) => `Image from ${host} not loaded`, load: 'Load', title: (host) => `Open the image on ${host} in a new tab` },
};

/**
 * imagePlaceholder stands in for an image from a host answers may not load from: it
 * names the host, keeps the alt text, and offers to open the image in a new tab.
 */
export function imagePlaceholder(url, alt) {
  const tx = TEXT[getLang()] || TEXT.en;
  const host = new URL(url).host;
  const btn = h('button', { type: 'button', class: 'btn btn-text img-load', title: tx.title(host), text: tx.load });
  btn.addEventListener('click', () => window.open(url, '_blank', 'noopener,noreferrer'));
  return h('span', { class: 'img-blocked', attrs: { 'data-host': host } },
    icon('lock'),
    h('span', { class: 'img-blocked-label', text: tx.label(host) + (alt ? ` — ${alt}` : '') }),
    btn);
}
