// compare: several bots side by side (issue 12). Pick 2–4 bots, type once, and each
// column streams its own reply in its own conversation. All columns of this tab arrive
// over ONE connection (GET /api/compare/stream, docs/stream-contract.md "Side by
// side"), so two tabs with four columns each stay within the browser's six
// connections per origin. Stop one or all, regenerate one, continue for several turns.
// A comparison is saved in history as one item (/api/comparisons) and reopens as it was.
// On phones the columns are swipeable tabs (scroll-snap). Bot text goes through the
// same AssistantMessage renderer as a chat; names through textContent.

import { request, baseHeaders } from './api.js';
import { $, h, icon, avatar } from './dom.js';
import { onLangChange, t } from './i18n.js';
import { SSEParser, readEvents } from './sse.js';
import { UserMessage, AssistantMessage } from './messages.js';
import { AnswerAnnouncer, endState } from './announce.js';
import { toast } from './toast.js';


/** tr says a word of the comparison (the catalog's compare.<key>). */
function tr(key) { return t('compare.' + key); }

const TAGS = ['a', 'b', 'c', 'd'];

export const compareApi = {
  start: (message, columns) => request('POST', '/api/compare', { body: { message, columns } }),
  save: (body) => request('POST', '/api/comparisons', { body }),
  list: () => request('GET', '/api/comparisons'),
  get: (id) => request('GET', '/api/comparisons/' + encodeURIComponent(id)),
  cancel: (conversationID, chatID) => request('POST', '/api/chat/cancel', { body: { conversation_id: conversationID, chat_id: chatID } }),
  messages: (id) => request('GET', '/api/conversations/' + encodeURIComponent(id) + '/messages'),
};

const endStatus = { completed: 'complete', canceled: 'canceled', failed: 'failed', interrupted: 'incomplete' };

/** Compare owns the side-by-side view inside the main pane. */
export class Compare {
  /** bots() lists the bots of the workspace; onOpen(open) tells the page it takes the pane. */
  constructor({ bots, onOpen }) {
    this.bots = bots;
    this.onOpen = onOpen;
    this.cols = [];
    this.id = '';
    this.stream = null;
    this.button = h('button', { type: 'button', id: 'compare-open', class: 'btn btn-tonal compare-open', attrs: { 'data-testid': 'compare-open' },
      on: { click: () => this.pick() } }, icon('bot'), h('span', { class: 'compare-open-label' }));
    $('#bot-list').before(this.button);
    this.buildPicker();
    this.buildPanel();
    this.historyList = h('ul', { id: 'compare-history', class: 'list compare-history', attrs: { 'data-testid': 'compare-history' } });
    $('#conv-list').before(this.historyList);
    $('#tab-history').addEventListener('click', () => this.loadHistory());
    // A comparison is one history item: its columns' conversations are not
    // listed again one by one (the sidebar re-renders the list, so re-apply).
    this.inComparisons = new Set();
    new MutationObserver(() => this.hideColumns()).observe($('#conv-list'), { childList: true });
    let timer = 0;
    $('#history-search').addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => this.loadHistory(), 250); });
    this.relabel();
    onLangChange(() => this.relabel());
  }

  relabel() {
    this.button.querySelector('.compare-open-label').textContent = tr('compare');
    this.pickTitle.textContent = tr('pick');
    this.pickStart.textContent = tr('start');
    this.pickCancel.textContent = t('dialog.cancel');
    this.panelTitle.textContent = tr('title');
    this.stopAllBtn.querySelector('span').textContent = tr('stopAll');
    this.closeBtn.setAttribute('aria-label', tr('close'));
    this.closeBtn.title = tr('close');
    this.input.placeholder = tr('placeholder');
    this.sendBtn.setAttribute('aria-label', t('chat.send'));
    for (const c of this.cols) this.labelColumn(c);
  }

  // ---- picking bots ----

  buildPicker() {
    this.pickTitle = h('h2', { class: 'dialog-title', id: 'compare-pick-title' });
    this.pickList = h('div', { class: 'compare-pick-list', attrs: { role: 'group', 'aria-labelledby': 'compare-pick-title' } });
    this.pickCancel = h('button', { type: 'button', class: 'btn btn-text', on: { click: () => this.picker.close() } });
    this.pickStart = h('button', { type: 'submit', class: 'btn btn-filled', id: 'compare-start', disabled: true, attrs: { 'data-testid': 'compare-start' } });
    const form = h('form', { class: 'dialog-inner', on: { submit: (e) => { e.preventDefault(); this.startNew(); } } },
      this.pickTitle, this.pickList, h('div', { class: 'dialog-actions' }, this.pickCancel, this.pickStart));
    this.picker = h('dialog', { id: 'compare-picker', class: 'dialog compare-picker', attrs: { 'aria-labelledby': 'compare-pick-title' } }, form);
    this.picker.addEventListener('click', (e) => { if (e.target === this.picker) this.picker.close(); });
    document.body.append(this.picker);
  }

  pick() {
    const bots = this.bots();
    this.pickList.replaceChildren(...bots.map((b) => h('label', { class: 'compare-pick' },
      h('input', { type: 'checkbox', value: String(b.id), on: { change: () => this.syncPick() } }),
      avatar(b.icon_url, b.name, 'sm'), h('span', { class: 'compare-pick-name', text: String(b.name || b.id) }))));
    this.syncPick();
    this.picker.showModal();
  }

  picked() { return Array.from(this.pickList.querySelectorAll('input:checked')).map((i) => i.value); }

  syncPick() {
    const n = this.picked().length;
    this.pickStart.disabled = n < 2 || n > 4;
    for (const i of this.pickList.querySelectorAll('input:not(:checked)')) i.disabled = n >= 4;
  }

  startNew() {
    const ids = this.picked();
    const bots = this.bots();
    this.picker.close();
    this.open(ids.map((id, i) => ({ tag: TAGS[i], bot: bots.find((b) => String(b.id) === id) || { id, name: id }, conversationId: '' })), '');
  }

  // ---- the panel ----

  buildPanel() {
    this.panelTitle = h('h2', { class: 'compare-title' });
    this.stopAllBtn = h('button', { type: 'button', class: 'btn btn-tonal', id: 'compare-stop-all', hidden: true, attrs: { 'data-testid': 'compare-stop-all' }, on: { click: () => this.stopAll() } }, icon('stop'), h('span', {}));
    this.closeBtn = h('button', { type: 'button', class: 'icon-btn', id: 'compare-close', on: { click: () => this.close() } }, icon('close'));
    this.tabs = h('div', { class: 'compare-tabs', attrs: { role: 'tablist' } });
    this.grid = h('div', { class: 'compare-grid', attrs: { 'data-testid': 'compare-grid' } });
    this.grid.addEventListener('scroll', () => this.syncTabs(), { passive: true });
    this.input = h('textarea', { id: 'compare-input', rows: 1, maxLength: 10000, attrs: { 'data-testid': 'compare-input' } });
    this.sendBtn = h('button', { type: 'button', id: 'compare-send', class: 'icon-btn icon-btn-filled send-btn', attrs: { 'data-testid': 'compare-send' }, on: { click: () => this.send() } }, icon('send'));
    this.input.addEventListener('keydown', (e) => { if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); this.send(); } });
    this.panel = h('section', { id: 'compare-panel', class: 'compare', hidden: true, attrs: { 'aria-labelledby': 'compare-title' } },
      h('header', { class: 'chat-header compare-header' }, icon('bot'), this.panelTitle, h('span', { class: 'topbar-spacer' }), this.stopAllBtn, this.closeBtn),
      this.tabs, this.grid,
      h('div', { class: 'composer-bar' }, h('div', { class: 'composer' }, this.input, this.sendBtn)));
    this.panelTitle.id = 'compare-title';
    $('#chat').append(this.panel);
  }

  labelColumn(c) {
    c.stopBtn.setAttribute('aria-label', tr('stop'));
    c.stopBtn.title = tr('stop');
  }

  /** open shows a comparison of cols [{tag, bot, conversationId}] (id: a saved one). */
  open(cols, id) {
    this.detachStream();
    this.id = id || '';
    this.cols = cols.map((c) => this.column(c));
    this.grid.replaceChildren(...this.cols.map((c) => c.el));
    this.tabs.replaceChildren(...this.cols.map((c, i) => c.tab = h('button', {
      type: 'button', class: 'compare-tab', attrs: { role: 'tab', 'aria-selected': String(i === 0) },
      on: { click: () => c.el.scrollIntoView({ behavior: 'smooth', inline: 'start', block: 'nearest' }) },
    }, h('span', { text: String(c.bot.name || c.bot.id) }))));
    this.grid.style.setProperty('--cols', String(this.cols.length));
    this.panel.hidden = false;
    document.body.classList.add('comparing');
    this.onOpen(true);
    this.update();
    this.input.focus({ preventScroll: true });
  }

  close() {
    this.detachStream();
    this.panel.hidden = true;
    document.body.classList.remove('comparing');
    this.cols = [];
    this.grid.replaceChildren();
    this.tabs.replaceChildren();
    this.onOpen(false);
  }

  get isOpen() { return !this.panel.hidden; }

  column({ tag, bot, conversationId }) {
    const c = { tag, bot, conversationId, chatId: '', cursor: 0, running: false, msg: null, lastText: '' };
    // Read out per finished paragraph, named by bot, not per token (issue 10 item 11).
    c.list = h('div', { class: 'compare-msgs messages', attrs: { role: 'log', 'aria-live': 'off' } });
    c.live = h('div', { class: 'visually-hidden', attrs: { 'aria-live': 'polite', 'aria-relevant': 'additions', 'data-testid': 'compare-live' } });
    c.announcer = new AnswerAnnouncer(c.live, String(bot.name || bot.id));
    c.stopBtn = h('button', { type: 'button', class: 'icon-btn icon-btn-sm compare-stop', hidden: true, on: { click: () => this.stop(c) } }, icon('stop'));
    c.el = h('section', { class: 'compare-col', dataset: { tag, botId: String(bot.id) }, attrs: { 'data-testid': 'compare-col' } },
      h('header', { class: 'compare-col-head' }, avatar(bot.icon_url, bot.name, 'sm'), h('span', { class: 'compare-col-name', text: String(bot.name || bot.id) }), c.stopBtn),
      c.list, c.live);
    this.labelColumn(c);
    return c;
  }

  syncTabs() {
    const w = this.grid.clientWidth || 1;
    const i = Math.round(this.grid.scrollLeft / w);
    this.cols.forEach((c, j) => c.tab && c.tab.setAttribute('aria-selected', String(i === j)));
  }

  update() {
    const running = this.cols.some((c) => c.running);
    this.stopAllBtn.hidden = !running;
    for (const c of this.cols) c.stopBtn.hidden = !c.running;
    this.sendBtn.disabled = running;
  }

  newReply(c, text) {
    const msg = new AssistantMessage(c.bot, { onRegenerate: () => this.regenerate(c), onRetry: () => this.regenerate(c) });
    msg.userText = text;
    if (c.msg) c.msg.setLast(false);
    c.msg = msg;
    c.list.append(msg.el);
    c.announcer.start();
    return msg;
  }

  /** send types once into every column. */
  async send() {
    const text = this.input.value.trim();
    if (!text || this.cols.some((c) => c.running)) return;
    this.input.value = '';
    for (const c of this.cols) {
      c.list.append(new UserMessage(text).el);
      c.lastText = text;
      this.newReply(c, text);
    }
    await this.startColumns(this.cols, text);
  }

  /** regenerate asks one column again with its last message. */
  async regenerate(c) {
    if (c.running || !c.lastText) return;
    if (c.msg) c.msg.el.remove();
    c.msg = null;
    this.newReply(c, c.lastText);
    await this.startColumns([c], c.lastText);
  }

  async startColumns(cols, text) {
    for (const c of cols) { c.running = true; c.chatId = ''; c.cursor = 0; }
    this.update();
    let res;
    try {
      res = await compareApi.start(text, cols.map((c) => ({ tag: c.tag, bot_id: String(c.bot.id), bot_name: String(c.bot.name || ''), conversation_id: c.conversationId })));
    } catch (err) {
      for (const c of cols) this.finish(c, 'failed', err);
      return;
    }
    for (const r of res.columns || []) {
      const c = cols.find((x) => x.tag === r.tag);
      if (!c) continue;
      if (r.error) { this.finish(c, 'failed', r.error); continue; }
      c.chatId = String(r.chat_id || '');
      if (r.conversation_id) c.conversationId = String(r.conversation_id);
      c.msg.chatId = c.chatId;
      c.msg.el.dataset.chatId = c.chatId;
      if (r.end) this.applyEnd(c, r.end);
    }
    this.save();
    this.openStream();
  }

  finish(c, status, err) {
    c.running = false;
    if (c.msg && c.msg.status === 'streaming') {
      c.msg.finish(status, err || null, { retry: status === 'failed' || status === 'incomplete', last: true });
      c.announcer.finish(c.msg.content, endState(c.msg));
    }
    this.update();
  }

  applyEnd(c, d) {
    if (d.usage) c.msg.setUsage(d.usage);
    const status = endStatus[d.status] || 'incomplete';
    const err = status === 'failed' || (status === 'incomplete' && d.code) ? { message: typeof d.message === 'string' ? d.message : '' } : null;
    this.finish(c, status, err && err.message ? err : null);
  }

  // ---- the one stream of this tab ----

  detachStream() {
    if (this.stream) this.stream.controller.abort();
    this.stream = null;
  }

  /** openStream (re)opens the tab's single fan-in for every running column. */
  async openStream() {
    this.detachStream();
    const live = this.cols.filter((c) => c.running && c.chatId);
    if (!live.length) return;
    const stream = { controller: new AbortController() };
    this.stream = stream;
    for (let attempt = 0; attempt < 5 && this.stream === stream; attempt++) {
      const cols = this.cols.filter((c) => c.running && c.chatId);
      if (!cols.length) break;
      const url = '/api/compare/stream?chats=' + cols.map((c) => c.tag + ':' + c.chatId).join(',');
      const headers = baseHeaders({ Accept: 'text/event-stream', 'Last-Event-ID': cols.map((c) => c.tag + ':' + c.cursor).join(',') });
      try {
        const res = await fetch(url, { credentials: 'same-origin', headers, signal: stream.controller.signal });
        if (res.ok) {
          attempt = 0;
          await readEvents(res.body, new SSEParser(), (ev) => this.onEvent(ev));
        }
      } catch (err) {
        if (err && err.name === 'AbortError') return;
      }
      if (this.stream !== stream) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
    if (this.stream === stream) {
      for (const c of this.cols) if (c.running) this.finish(c, 'incomplete', null);
      this.stream = null;
    }
  }

  onEvent(ev) {
    let w = null;
    try { w = JSON.parse(ev.data); } catch { return; }
    if (!w || typeof w !== 'object') return;
    const c = this.cols.find((x) => x.tag === w.column);
    if (!c || !c.msg) return;
    if (typeof w.id === 'number' && w.id > 0) c.cursor = w.id;
    const d = w.data && typeof w.data === 'object' ? w.data : {};
    const text = typeof d.text === 'string' ? d.text : '';
    const msg = c.msg;
    switch (ev.event) {
      case 'chat':
        if (d.conversation_id) c.conversationId = String(d.conversation_id);
        break;
      case 'reasoning':
        if (text) { msg.appendReasoning(text); msg.scheduleRender(); }
        break;
      case 'delta':
        if (text) { msg.appendDelta(String(d.message_id || 'answer'), text); msg.scheduleRender(() => { c.list.scrollTop = c.list.scrollHeight; }); if (text.includes('\n')) c.announcer.progress(msg.content); }
        break;
      case 'card':
        if (d.card && typeof d.card === 'object') msg.addCard(d.card);
        break;
      case 'question':
        msg.setQuestion(text, Array.isArray(d.options) ? d.options.filter((o) => typeof o === 'string') : []);
        break;
      case 'follow_up':
        break; // one composer for every column: no per-column chips
      case 'end':
        this.applyEnd(c, d);
        break;
      default:
        break;
    }
  }

  async stop(c) {
    if (!c.running || !c.chatId) return;
    try {
      await compareApi.cancel(c.conversationId, c.chatId);
    } catch (err) {
      toast(err.message, true);
    }
  }

  stopAll() { for (const c of this.cols) this.stop(c); }

  // ---- history ----

  /** save records the comparison (its columns' conversations) as one history item. */
  async save() {
    const columns = this.cols.filter((c) => c.conversationId).map((c) => ({ bot_id: String(c.bot.id), bot_name: String(c.bot.name || ''), conversation_id: c.conversationId }));
    if (columns.length < 2) return;
    const title = (this.cols.find((c) => c.lastText) || {}).lastText || '';
    try {
      const res = await compareApi.save({ id: this.id, title: title.slice(0, 200), columns });
      this.id = String(res.id || this.id);
    } catch { /* the chats themselves are in history anyway */ }
  }

  hideColumns() {
    for (const li of $('#conv-list').querySelectorAll('.conv-item')) {
      li.style.display = this.inComparisons.has(li.dataset.convId) ? 'none' : '';
    }
  }

  async loadHistory() {
    let data;
    try { data = await compareApi.list(); } catch { return; }
    const all = Array.isArray(data.comparisons) ? data.comparisons : [];
    this.inComparisons = new Set(all.flatMap((it) => (it.columns || []).map((c) => String(c.conversation_id))));
    this.hideColumns();
    const q = $('#history-search').value.trim().toLowerCase();
    const items = all.filter((it) => !q || [it.title, ...(it.columns || []).map((c) => c.bot_name)].some((x) => String(x || '').toLowerCase().includes(q)));
    this.historyList.replaceChildren(...items.map((it) => h('li', { class: 'list-item compare-item', dataset: { compareId: String(it.id) } },
      h('button', { type: 'button', class: 'conv-open', on: { click: () => this.reopen(String(it.id)) } },
        icon('bot'), h('span', { class: 'item-text' },
          h('span', { class: 'item-title', text: String(it.title || tr('untitled')) }),
          h('span', { class: 'item-sub', text: tr('compare') + ' · ' + (it.columns || []).map((c) => c.bot_name || c.bot_id).join(' · ') }))))));
  }

  /** reopen shows a saved comparison with every column's conversation as stored. */
  async reopen(id) {
    let data;
    try { data = await compareApi.get(id); } catch (err) { toast(tr('reopenFailed') + ' ' + err.message, true); return; }
    const bots = this.bots();
    const cols = (data.comparison.columns || []).map((c, i) => ({
      tag: TAGS[i], conversationId: String(c.conversation_id),
      bot: bots.find((b) => String(b.id) === String(c.bot_id)) || { id: String(c.bot_id), name: String(c.bot_name || ''), icon_url: '' },
    }));
    this.open(cols, id);
    await Promise.all(this.cols.map(async (c) => {
      let m;
      try { m = await compareApi.messages(c.conversationId); } catch { return; }
      let lastUser = '';
      for (const x of m.messages || []) {
        if (x.role === 'user') { lastUser = String(x.content || ''); c.list.append(new UserMessage(lastUser).el); continue; }
        const msg = this.newReply(c, lastUser);
        if (typeof x.reasoning === 'string' && x.reasoning) msg.setReasoning(x.reasoning);
        if (Array.isArray(x.cards)) for (const card of x.cards) if (card && typeof card === 'object') msg.addCard(card);
        msg.setPart('answer', typeof x.content === 'string' ? x.content : '');
        msg.setUsage(x.usage);
        const st = ['complete', 'canceled', 'incomplete', 'failed'].includes(x.status) ? x.status : 'complete';
        msg.finish(st, null, { retry: false, last: true });
      }
      c.lastText = lastUser;
    }));
  }
}
