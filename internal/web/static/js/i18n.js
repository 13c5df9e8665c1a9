// i18n: the catalog (zh-CN, en; static/i18n/messages.json) and helpers that write translated text with
// textContent / setAttribute only. The chosen language is remembered in localStorage;
// the default follows navigator.language.

const STORAGE_KEY = 'coze2app.lang';

// dict is the one catalog of user-facing text, shared with the server, which
// answers errors as a code (or key) and params that the page says from here.
const dict = await fetch('/static/i18n/messages.json', { credentials: 'same-origin' })
  .then((res) => (res.ok ? res.json() : null))
  .catch(() => null) ?? { 'zh-CN': {}, en: {} };

/** Languages the page supports, in toggle order. */
export const LANGS = ['zh-CN', 'en'];

function detect() {
  let saved = null;
  try { saved = localStorage.getItem(STORAGE_KEY); } catch { /* storage blocked */ }
  if (saved && dict[saved]) return saved;
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || 'en';
  return nav.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

let lang = detect();
rememberForServer(lang);

/** rememberForServer lets pages the server renders (sign-in errors) speak the chosen language. */
function rememberForServer(l) {
  const secure = location.protocol === 'https:' ? '; Secure' : '';
  document.cookie = `coze2app_lang=${l}; Path=/; Max-Age=31536000; SameSite=Lax${secure}`;
}
const listeners = new Set();

/** lang returns the current UI language ("zh-CN" or "en"). */
export function getLang() { return lang; }

/** setLang switches the UI language, remembers it and notifies listeners. */
export function setLang(next) {
  if (!dict[next] || next === lang) return;
  lang = next;
  try { localStorage.setItem(STORAGE_KEY, next); } catch { /* ignore */ }
  rememberForServer(next);
  applyI18n(document);
  for (const fn of listeners) fn(lang);
}

/** onLangChange registers fn(lang) to run after every language switch. */
export function onLangChange(fn) { listeners.add(fn); }

/** has reports whether the catalog has key. */
export function has(key) { return key in dict[lang] || key in dict.en; }

/** t returns the translation of key with {name} placeholders filled from vars (plain text). */
export function t(key, vars) {
  let s = dict[lang][key] ?? dict.en[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

/**
 * endWords says why a stream ended: our words are the catalog's stream.<key>
 * (docs/stream-contract.md, end.key); otherwise Coze's own message, if any.
 */
export function endWords(end) {
  const id = typeof end.key === 'string' && /^[\w.]+$/.test(end.key) ? 'stream.' + end.key : '';
  const said = id ? t(id) : '';
  if (said && said !== id) return said;
  return typeof end.message === 'string' ? end.message : '';
}

/**
 * applyI18n fills [data-i18n] (textContent) and [data-i18n-<attr>] attributes
 * (aria-label, placeholder, title) under root.
 */
export function applyI18n(root) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const attr of ['aria-label', 'placeholder', 'title']) {
    const data = 'data-i18n-' + attr;
    for (const el of root.querySelectorAll('[' + data + ']')) el.setAttribute(attr, t(el.getAttribute(data)));
  }
}
