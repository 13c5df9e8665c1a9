// router: every conversation, bot and workflow has an address (/c/{id}, /b/{id},
// /w/{id}; internal/web/pages.go serves the page for them). The address and the tab
// title follow what is open (history.pushState); a reload or a shared link opens it
// again — a conversation whose reply is still running re-attaches to it, since
// Chat.openConversation follows a "streaming" reply — and Back/Forward (popstate)
// move between them. Any other path shows the not-found view.

import { $, h, icon } from './dom.js';
import { t, onLangChange } from './i18n.js';

const APP = 'coze2app';
const PATH_RE = /^\/(?:([cbw])\/(\d{1,30}))?$/;

/** parsePath reads an address: {kind: 'home'|'c'|'b'|'w', id}, or null when it names nothing. */
export function parsePath(pathname) {
  const m = PATH_RE.exec(pathname);
  if (!m) return null;
  return m[1] ? { kind: m[1], id: m[2] } : { kind: 'home', id: '' };
}

/** isKnownPath reports whether the page has something to show at pathname. */
export function isKnownPath(pathname) { return parsePath(pathname) !== null; }

/**
 * showNotFound replaces the loading spinner with the 404 view, in the app's style (the
 * sign-in card's) and language. Call it before main's wire() so its language and theme
 * buttons are wired with the others.
 */
export function showNotFound() {
  $('#boot').hidden = true;
  const title = () => { document.title = t('notfound.title') + ' · ' + APP; };
  title();
  onLangChange(title);
  const view = h('main', { id: 'notfound-view', class: 'signin-view notfound-view', attrs: { 'data-testid': 'notfound' } },
    h('div', { class: 'signin-tools' },
      h('button', { type: 'button', class: 'icon-btn lang-toggle', attrs: { 'data-i18n-aria-label': 'lang.toggle', 'data-i18n-title': 'lang.toggle' } }, icon('translate')),
      h('button', { type: 'button', class: 'icon-btn theme-toggle', attrs: { 'data-i18n-aria-label': 'theme.toggle', 'data-i18n-title': 'theme.toggle' } }, h('span', { class: 'theme-icon', attrs: { 'data-icon': 'dark' } }))),
    h('section', { class: 'signin-card', attrs: { 'aria-labelledby': 'notfound-title' } },
      h('img', { class: 'signin-logo', src: '/static/img/logo.svg', alt: '', width: 72, height: 72 }),
      h('p', { class: 'notfound-code', text: '404', attrs: { 'aria-hidden': 'true' } }),
      h('h1', { id: 'notfound-title', class: 'signin-title notfound-title', attrs: { 'data-i18n': 'notfound.title' } }),
      h('p', { class: 'signin-tagline', attrs: { 'data-i18n': 'notfound.body' } }),
      h('p', { class: 'notfound-path', text: location.pathname }),
      h('a', { class: 'btn btn-filled btn-large', href: '/', attrs: { 'data-testid': 'notfound-home' } },
        icon('chat'), h('span', { attrs: { 'data-i18n': 'notfound.home' } }))));
  $('#signin-view').after(view);
}

const RETURN_KEY = 'coze2app.returnTo';

/**
 * rememberAddress keeps the address across sign-in: Coze's callback lands on /, and
 * Router.start then opens the conversation, bot or workflow the link named.
 */
export function rememberAddress() {
  const link = $('#signin');
  if (link) link.addEventListener('click', () => { try { sessionStorage.setItem(RETURN_KEY, location.pathname); } catch { /* ignore */ } });
}

function takeReturnAddress() {
  let p = '';
  try { p = sessionStorage.getItem(RETURN_KEY) || ''; sessionStorage.removeItem(RETURN_KEY); } catch { /* ignore */ }
  return parsePath(p) ? p : '';
}

/** firstLine is a conversation's title as the server makes it: the first message on one line, 60 characters. */
function firstLine(text) {
  return Array.from(String(text || '').split(/\s+/).filter(Boolean).join(' ')).slice(0, 60).join('');
}

/**
 * Router keeps the address and title in step with the open conversation, bot or
 * workflow. It listens through the callbacks main already gives the controllers
 * (wrapping them), so the controllers need not know about addresses.
 */
export class Router {
  constructor({ chat, sidebar, workflows, wfList }) {
    Object.assign(this, { chat, sidebar, workflows, wfList });
    this.hold = 0; // > 0 while a navigation is between states (e.g. waiting for messages)
    this.applying = 0; // > 0 while following an address (reload, Back/Forward): replace, never push
    const after = (obj, key, fn) => {
      const orig = obj[key];
      obj[key] = (...args) => { const r = orig(...args); fn(); return r; };
    };
    const holding = (obj, key) => {
      const orig = obj[key];
      obj[key] = async (...args) => {
        this.hold++;
        try { return await orig(...args); } finally { this.hold--; this.sync(); }
      };
    };
    after(chat, 'onConversationChanged', () => this.sync());
    after(workflows, 'onOpen', () => this.sync());
    holding(sidebar, 'onConversation');
    holding(sidebar, 'onBot');
    holding(wfList, 'onPick');
    // Titles shown elsewhere (a bot's or workflow's name arriving, a rename in history).
    const titled = new MutationObserver(() => this.setTitle());
    for (const sel of ['#chat-bot-name', '#wf-name', '#conv-list']) titled.observe($(sel), { childList: true, subtree: true, characterData: true });
    window.addEventListener('popstate', () => this.apply(location.pathname));
  }

  /** start opens what the page's address names (after sign-in). */
  start() {
    const back = location.pathname === '/' ? takeReturnAddress() : '';
    if (back) history.replaceState(null, '', back);
    return this.apply(location.pathname);
  }

  /** current is the address of what is open now. */
  current() {
    const wf = this.workflows.active;
    if (wf && wf.id) return '/w/' + wf.id;
    if (this.chat.conversationId) return '/c/' + this.chat.conversationId;
    if (this.chat.bot && this.chat.bot.id) return '/b/' + this.chat.bot.id;
    return '/';
  }

  /** sync moves the address to what is open: a new entry for a navigation, a replacement otherwise. */
  sync() {
    if (this.hold) return;
    const next = this.current();
    const prev = location.pathname;
    if (next !== prev) {
      // A bot's first message makes its conversation: the address becomes the conversation's.
      const started = prev === '/b/' + (this.chat.bot && this.chat.bot.id) && next.startsWith('/c/');
      if (this.applying || started) history.replaceState(null, '', next);
      else history.pushState(null, '', next);
    }
    this.setTitle();
  }

  /** title names what is open: the conversation's title, the bot's or workflow's name. */
  title() {
    const wf = this.workflows.active;
    if (wf) return String(wf.name || $('#wf-name').textContent || '');
    const id = this.chat.conversationId;
    if (id) {
      const row = document.querySelector(`.conv-item[data-conv-id="${CSS.escape(id)}"] .conv-title`);
      if (row && row.textContent) return row.textContent;
      const known = this.chat.convTitle;
      if (known && known.id === id && known.title) return known.title;
      const first = this.chat.replies[0];
      if (first && first.userText) return firstLine(first.userText);
    }
    if (this.chat.bot) return String(this.chat.bot.name || $('#chat-bot-name').textContent || '');
    return '';
  }

  setTitle() {
    const name = this.title();
    const want = name ? name + ' · ' + APP : APP;
    if (document.title !== want) document.title = want;
  }

  /** apply opens what path names (reload, shared link, Back/Forward). */
  async apply(path) {
    const r = parsePath(path);
    if (!r) { location.reload(); return; } // not ours: let the server answer (its 404 page)
    this.applying++;
    try {
      if (r.kind === 'c') {
        if (this.chat.conversationId !== r.id || this.workflows.active) await this.sidebar.onConversation(r.id);
      } else if (r.kind === 'b') {
        const bot = this.sidebar.bots.find((b) => String(b.id) === r.id) || { id: r.id, name: '' };
        if (this.chat.conversationId || this.workflows.active || !this.chat.bot || String(this.chat.bot.id) !== r.id) {
          this.sidebar.setActiveBot(r.id);
          await this.sidebar.onBot(bot);
        }
      } else if (r.kind === 'w') {
        if (!this.workflows.active || this.workflows.active.id !== r.id) {
          await this.wfList.onPick(this.wfList.items.find((w) => String(w.id) === r.id) || { id: r.id, name: '' });
        }
      } else {
        if (this.workflows.active) this.workflows.close();
        this.sidebar.setActiveBot('');
        if (this.chat.bot || this.chat.conversationId) await this.sidebar.onConversation(null);
      }
    } finally {
      this.applying--;
    }
    this.applying++;
    try { this.sync(); } finally { this.applying--; }
  }
}
