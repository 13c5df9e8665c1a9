// sidebar: workspace picker, bot list with filter, and the history list (search,
// open, rename, pin, delete with Undo, export), grouped by date in the user's
// time zone. All names and titles go in through textContent.

import { api } from './api.js';
import { $, h, icon, avatar, debounce, formatTime, placeMenu } from './dom.js';
import { t, getLang } from './i18n.js';
import { promptDialog } from './dialogs.js';
import { toast } from './toast.js';
import { showSkeleton, endSkeleton, busySelect } from './guidance.js';

const WS_KEY = 'coze2app.workspace';
// UNDO_MS is how long the Undo offer shows; the server keeps a deleted
// conversation restorable for longer (web.UndoWindow).
const UNDO_MS = 8000;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * historyGroup names the group a conversation lists under: pinned first, then
 * by its last update in the page's (the user's) time zone: today, yesterday,
 * the previous 7 and 30 days, then one group per month ("month:YYYY-MM").
 */
export function historyGroup(c, now = new Date()) {
  if (c.pinned) return 'pinned';
  const d = new Date(c.updated_at);
  if (Number.isNaN(d.getTime())) return 'month:0000-00';
  const startOfDay = (x) => new Date(x.getFullYear(), x.getMonth(), x.getDate());
  // Whole calendar days between the two local dates (DST-safe: rounded).
  const days = Math.round((startOfDay(now) - startOfDay(d)) / DAY_MS);
  if (days <= 0) return 'today';
  if (days === 1) return 'yesterday';
  if (days <= 7) return 'week';
  if (days <= 30) return 'month';
  return 'month:' + d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0');
}

/** groupLabel is the heading of a historyGroup, in the page's language. */
function groupLabel(group, lang) {
  const named = {
    pinned: () => t('history.group.pinned'), today: () => t('history.group.today'), yesterday: () => t('history.group.yesterday'),
    week: () => t('history.group.week'), month: () => t('history.group.month'),
  }[group];
  if (named) return named();
  const [y, m] = group.slice(6).split('-').map(Number);
  if (!y) return '';
  const opts = { year: 'numeric', month: 'long' };
  return new Date(y, m - 1, 1).toLocaleDateString(lang, opts);
}

// STATE_MARKS marks a conversation's latest reply with an icon and words (visually
// hidden, and the tooltip), so colour is never the only sign.
const STATE_MARKS = {
  live: { icon: 'spark', text: () => t('history.state.live') },
  stopped: { icon: 'stop', text: () => t('history.state.stopped') },
  failed: { icon: 'error', text: () => t('history.state.failed') },
};

/** Sidebar owns the left pane (a drawer on phones). */
export class Sidebar {
  constructor({ onBot, onConversation, onTab, onWorkspace, closeDrawer }) {
    this.onBot = onBot;
    this.onTab = onTab || (() => {});
    this.onWorkspace = onWorkspace || (() => {});
    this.onConversation = onConversation;
    this.closeDrawer = closeDrawer;
    this.bots = [];
    this.activeBot = '';
    this.activeConv = '';
    this.histAbort = null;
    this.wsSelect = $('#workspace-select');
    this.filter = $('#bot-filter');
    this.botList = $('#bot-list');
    this.convList = $('#conv-list');
    this.search = $('#history-search');
    this.wsSelect.addEventListener('change', () => {
      try { localStorage.setItem(WS_KEY, this.wsSelect.value); } catch { /* ignore */ }
      this.loadBots();
      this.onWorkspace(this.wsSelect.value);
    });
    this.filter.addEventListener('input', () => this.renderBots());
    this.search.addEventListener('input', debounce(() => this.loadHistory(), 250));
    for (const tab of document.querySelectorAll('.seg-btn')) tab.addEventListener('click', () => this.showTab(tab.dataset.tab));
    // Tabs pattern: arrows move between tabs (wrapping), Home/End jump to the ends.
    document.querySelector('.seg').addEventListener('keydown', (e) => {
      const tabs = Array.from(document.querySelectorAll('.seg-btn'));
      const i = tabs.findIndex((b) => b.getAttribute('aria-selected') === 'true');
      const to = { ArrowLeft: i - 1, ArrowRight: i + 1, Home: 0, End: tabs.length - 1 }[e.key];
      if (to === undefined) return;
      e.preventDefault();
      const next = tabs[(to + tabs.length) % tabs.length];
      this.showTab(next.dataset.tab);
      next.focus();
    });
    document.addEventListener('click', (e) => {
      if (!e.target.closest('.menu, .conv-more')) this.closeMenus();
    });
    this.convList.addEventListener('scroll', () => this.closeMenus(), { passive: true });
    window.addEventListener('resize', () => this.closeMenus());
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && document.querySelector('.menu:not([hidden])')) {
        const open = document.querySelector('.menu:not([hidden])');
        this.closeMenus();
        const btn = open && open.parentElement.querySelector('.conv-more');
        if (btn) btn.focus();
        e.stopPropagation();
      }
    }, true);
  }

  showTab(name) {
    for (const tab of document.querySelectorAll('.seg-btn')) {
      const on = tab.dataset.tab === name;
      tab.setAttribute('aria-selected', String(on));
      tab.tabIndex = on ? 0 : -1;
      $('#' + tab.getAttribute('aria-controls')).hidden = !on;
    }
    // Bots and Workflows share the workspace picker; History spans every workspace.
    $('#ws-field').hidden = name === 'history';
    if (name === 'history') this.loadHistory();
    this.onTab(name);
  }

  status(list, text, isError) {
    list.replaceChildren(h('li', { class: 'list-status' + (isError ? ' is-error' : ''), text }));
  }

  async loadWorkspaces() {
    this.wsSelect.replaceChildren(h('option', { text: t('ws.loading'), value: '' }));
    this.wsSelect.disabled = true;
    busySelect(this.wsSelect, true);
    let data;
    try {
      data = await api.workspaces();
    } catch (err) {
      busySelect(this.wsSelect, false);
      this.wsSelect.replaceChildren(h('option', { text: t('error.loadFailed'), value: '' }));
      this.status(this.botList, err.message, true);
      return;
    }
    busySelect(this.wsSelect, false);
    const wss = Array.isArray(data.workspaces) ? data.workspaces : [];
    if (!wss.length) {
      this.wsSelect.replaceChildren(h('option', { text: t('ws.none'), value: '' }));
      this.status(this.botList, t('bots.empty'));
      return;
    }
    this.wsSelect.replaceChildren(...wss.map((w) => h('option', { value: String(w.id), text: String(w.name || w.id) })));
    let saved = '';
    try { saved = localStorage.getItem(WS_KEY) || ''; } catch { /* ignore */ }
    if (saved && wss.some((w) => String(w.id) === saved)) this.wsSelect.value = saved;
    this.wsSelect.disabled = false;
    this.onWorkspace(this.wsSelect.value);
    await this.loadBots();
  }

  async loadBots() {
    const ws = this.wsSelect.value;
    if (!ws) return;
    const busy = showSkeleton(this.botList, t('bots.loading'));
    try {
      const data = await api.bots(ws);
      if (this.wsSelect.value !== ws) return;
      this.bots = Array.isArray(data.bots) ? data.bots : [];
      this.renderBots();
    } catch (err) {
      this.status(this.botList, err.message + (err.hint ? ' — ' + err.hint : ''), true);
    } finally {
      endSkeleton(this.botList, busy);
    }
  }

  renderBots() {
    const q = this.filter.value.trim().toLowerCase();
    const shown = this.bots.filter((b) => !q || String(b.name || '').toLowerCase().includes(q) || String(b.description || '').toLowerCase().includes(q));
    if (!this.bots.length) { this.status(this.botList, t('bots.empty')); return; }
    if (!shown.length) { this.status(this.botList, t('bots.noMatch')); return; }
    this.botList.replaceChildren(...shown.map((b) => {
      const btn = h('button', {
        type: 'button',
        class: 'bot-item list-item' + (String(b.id) === this.activeBot ? ' is-active' : ''),
        dataset: { botId: String(b.id) },
        attrs: { 'aria-current': String(b.id) === this.activeBot ? 'true' : null },
        on: { click: () => { this.setActiveBot(String(b.id)); this.closeDrawer(); this.onBot(b); } },
      },
      avatar(b.icon_url, b.name, 'md'),
      h('span', { class: 'item-text' },
        h('span', { class: 'item-title', text: String(b.name || '') }),
        b.description ? h('span', { class: 'item-sub', text: String(b.description) }) : null),
      b.published === false ? h('span', { class: 'bot-state draft-badge', text: t('bot.draft') }) : null);
      return h('li', {}, btn);
    }));
  }

  setActiveBot(id) {
    this.activeBot = id;
    for (const el of this.botList.querySelectorAll('.bot-item')) {
      const on = el.dataset.botId === id;
      el.classList.toggle('is-active', on);
      if (on) el.setAttribute('aria-current', 'true'); else el.removeAttribute('aria-current');
    }
  }

  setActiveConversation(id) {
    this.activeConv = id || '';
    for (const el of this.convList.querySelectorAll('.conv-item')) {
      const on = el.dataset.convId === this.activeConv;
      el.classList.toggle('is-active', on);
      const open = el.querySelector('.conv-open');
      if (on) open.setAttribute('aria-current', 'true'); else open.removeAttribute('aria-current');
    }
  }

  /** refreshHistory reloads the history list if it is visible (debounced by callers). */
  refreshHistory() {
    if (!$('#panel-history').hidden) this.loadHistory();
  }

  async loadHistory() {
    if (this.histAbort) this.histAbort.abort();
    const ctl = new AbortController();
    this.histAbort = ctl;
    const q = this.search.value.trim();
    const busy = this.convList.children.length ? '' : showSkeleton(this.convList, t('history.loading'));
    let data;
    try {
      data = await api.conversations(q, ctl.signal);
    } catch (err) {
      if (err.name === 'AbortError') return;
      this.status(this.convList, err.message, true);
      return;
    } finally {
      if (busy) endSkeleton(this.convList, busy);
    }
    if (this.histAbort !== ctl) return;
    // Never pull the list from under an open menu or dialog; the action that
    // closes them reloads the list.
    if (this.convList.querySelector('.menu:not([hidden])') || document.querySelector('dialog[open]')) return;
    const convs = Array.isArray(data.conversations) ? data.conversations : [];
    if (!convs.length) { this.status(this.convList, t(q ? 'history.noMatch' : 'history.empty')); return; }
    const focused = document.activeElement && document.activeElement.closest('.conv-item') ? document.activeElement : null;
    this.convList.replaceChildren(...this.groupedItems(convs));
    if (focused) this.refocus(focused);
  }

  /**
   * refocus puts keyboard focus on the new list's counterpart of a control the reload
   * replaced (the same conversation's open or menu button), so a refresh never drops
   * a keyboard user's place on the page body.
   */
  refocus(old) {
    const row = old.closest('.conv-item');
    const part = old.classList.contains('conv-more') ? '.conv-more' : '.conv-open';
    const again = row && this.convList.querySelector(`.conv-item[data-conv-id="${CSS.escape(row.dataset.convId || '')}"] ${part}`);
    if (again) again.focus();
  }

  /** groupedItems lays the (server-ordered: pinned, then newest) list out under date headings. */
  groupedItems(convs) {
    const now = new Date();
    const groups = [];
    for (const c of convs) {
      const g = historyGroup(c, now);
      if (!groups.length || groups[groups.length - 1].key !== g) groups.push({ key: g, items: [] });
      groups[groups.length - 1].items.push(c);
    }
    return groups.map(({ key, items }) => {
      const id = 'conv-group-' + key.replace(/[^a-z0-9]/g, '-');
      return h('li', { class: 'conv-group', dataset: { group: key } },
        h('h2', { class: 'conv-group-title', id, text: groupLabel(key, getLang()) }),
        h('ul', { class: 'conv-group-list', attrs: { 'aria-labelledby': id } }, ...items.map((c) => this.convItem(c))));
    });
  }

  /** botIcon is the conversation's bot icon, or the icon of that bot in the loaded bot list. */
  botIcon(c) {
    if (c.bot_icon_url) return c.bot_icon_url;
    const b = this.bots.find((x) => String(x.id) === String(c.bot_id));
    return b ? b.icon_url : '';
  }

  /** stateMark is the live/stopped/failed mark of a conversation's latest reply, or null. */
  stateMark(state) {
    const mark = Object.hasOwn(STATE_MARKS, state) ? STATE_MARKS[state] : null;
    if (!mark) return null;
    return h('span', { class: 'conv-state conv-state-' + state, title: mark.text(), dataset: { state } },
      icon(mark.icon), h('span', { class: 'visually-hidden', text: mark.text() }));
  }

  convItem(c) {
    const id = String(c.id);
    const title = String(c.title || '') || t('history.untitled');
    const menu = h('div', { class: 'menu', hidden: true, attrs: { role: 'menu' } },
      this.menuButton('edit', 'history.rename', 'menu-rename', () => this.rename(c)),
      this.menuButton('pin', c.pinned ? 'history.unpin' : 'history.pin', 'menu-pin', () => this.pin(c, !c.pinned)),
      this.menuLink('download', 'history.exportMd', api.exportURL(id, 'md'), 'menu-export-md'),
      this.menuLink('download', 'history.exportJson', api.exportURL(id, 'json'), 'menu-export-json'),
      this.menuButton('delete', 'history.delete', 'menu-delete is-danger', () => this.remove(c)));
    const more = h('button', {
      type: 'button', class: 'icon-btn icon-btn-sm conv-more',
      title: t('history.more'),
      attrs: { 'aria-label': t('history.more'), 'aria-haspopup': 'menu', 'aria-expanded': 'false' },
      on: {
        click: (e) => {
          e.stopPropagation();
          const wasOpen = !menu.hidden;
          this.closeMenus();
          if (!wasOpen) {
            menu.hidden = false;
            more.setAttribute('aria-expanded', 'true');
            placeMenu(menu, more);
            menu.querySelector('[role="menuitem"]').focus();
          }
        },
      },
    }, icon('more'));
    menu.addEventListener('keydown', (e) => {
      const items = Array.from(menu.querySelectorAll('[role="menuitem"]'));
      const i = items.indexOf(document.activeElement);
      if (e.key === 'ArrowDown') { e.preventDefault(); items[(i + 1) % items.length].focus(); }
      if (e.key === 'ArrowUp') { e.preventDefault(); items[(i - 1 + items.length) % items.length].focus(); }
    });
    const open = h('button', {
      type: 'button', class: 'conv-open',
      attrs: { 'aria-current': id === this.activeConv ? 'true' : null },
      on: { click: () => { this.closeDrawer(); this.onConversation(id); } },
    },
    avatar(this.botIcon(c), c.bot_name || '?', 'sm'),
    h('span', { class: 'item-text' },
      h('span', { class: 'item-title-row' }, h('span', { class: 'item-title conv-title', text: title }), this.stateMark(c.state)),
      h('span', { class: 'item-sub' }, h('span', { class: 'conv-bot', text: String(c.bot_name || '') }), h('span', { class: 'conv-time', text: formatTime(c.updated_at, getLang()) }))));
    return h('li', { class: 'conv-item list-item' + (id === this.activeConv ? ' is-active' : ''), dataset: { convId: id, state: c.state || '', pinned: String(Boolean(c.pinned)) } }, open, more, menu);
  }

  menuButton(iconName, key, cls, fn) {
    return h('button', { type: 'button', class: 'menu-item ' + cls, attrs: { role: 'menuitem' }, on: { click: () => { this.closeMenus(); fn(); } } }, icon(iconName), h('span', { text: t(key) }));
  }

  menuLink(iconName, key, href, cls) {
    return h('a', { class: 'menu-item ' + cls, href, attrs: { role: 'menuitem', download: '' }, on: { click: () => this.closeMenus() } }, icon(iconName), h('span', { text: t(key) }));
  }

  closeMenus() {
    for (const m of document.querySelectorAll('.menu')) m.hidden = true;
    for (const b of document.querySelectorAll('.conv-more[aria-expanded="true"]')) b.setAttribute('aria-expanded', 'false');
  }

  async rename(c) {
    const title = await promptDialog({ title: t('history.renameTitle'), label: t('history.titleLabel'), value: c.title || '' });
    if (!title || title === c.title) return;
    try {
      await api.rename(c.id, title);
      toast(t('history.renamed'));
      this.loadHistory();
    } catch (err) {
      toast(err.message, true);
    }
  }

  async pin(c, pinned) {
    try {
      await api.pin(c.id, pinned);
      this.loadHistory();
    } catch (err) {
      toast(err.message, true);
    }
  }

  // remove deletes at once and offers Undo: the server keeps the conversation
  // restorable for a while and purges it afterwards, so closing the tab loses
  // nothing that should stay and keeps nothing that should go.
  async remove(c) {
    try {
      await api.remove(c.id);
    } catch (err) {
      toast(err.message, true);
      return;
    }
    const wasOpen = String(c.id) === this.activeConv;
    if (wasOpen) this.onConversation(null);
    this.loadHistory();
    toast(t('history.deleted'), false, { label: t('history.undo'), ms: UNDO_MS, onClick: () => this.restore(c, wasOpen) });
  }

  async restore(c, reopen) {
    try {
      await api.restore(c.id);
    } catch (err) {
      toast(err.message, true);
      return;
    }
    toast(t('history.restored'));
    this.loadHistory();
    if (reopen) this.onConversation(String(c.id));
  }
}
