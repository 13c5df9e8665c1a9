// main: boots the page. Checks /api/auth/status, shows the sign-in screen or the app,
// and wires the top bar (language, theme, sign-out) and the phone drawer.

import { api, setUnauthenticatedHandler } from './api.js';
import { applyI18n, getLang, setLang, onLangChange, t } from './i18n.js';
import { applyTheme, toggleTheme, currentTheme, onSystemThemeChange } from './theme.js';
import { $, fillIcons, icon, avatar, drawerMedia } from './dom.js';
import { wireDialogs } from './dialogs.js';
import { Chat } from './chat.js';
import { Sidebar } from './sidebar.js';
import { Workflows } from './workflows.js';
import { WorkflowList } from './workflowlist.js';
import { toast } from './toast.js';
import { BotEditor } from './botedit.js';
import { Compare } from './compare.js';
import './signout.js'; // "Sign out everywhere" next to Sign out (issue 8 item 8)
import { Router, isKnownPath, showNotFound, rememberAddress } from './router.js';
import { loadLimits, watchTextLimit, stateFileLimits } from './limits.js';
import { setDeadEndContext, noticeDemoReset } from './deadends.js';
import { showDemoBanner } from './banner.js';

let chat = null;
let sidebar = null;
let workflows = null;
let wfList = null;
let botEditor = null;
let compare = null;
let started = false;

function syncThemeIcons() {
  const dark = currentTheme() === 'dark';
  for (const el of document.querySelectorAll('.theme-icon')) el.replaceChildren(icon(dark ? 'light' : 'dark'));
  for (const b of document.querySelectorAll('.theme-toggle')) {
    const label = t(dark ? 'theme.toLight' : 'theme.toDark');
    b.setAttribute('aria-label', label);
    b.title = label;
    b.setAttribute('aria-pressed', String(dark));
  }
}

// Drawer (phones): the sidebar slides over the chat with a scrim; Escape closes it.
const narrow = drawerMedia;

function setDrawer(open) {
  const sb = $('#sidebar');
  document.body.classList.toggle('drawer-open', open);
  $('#scrim').hidden = !open;
  $('#menu-btn').setAttribute('aria-expanded', String(open));
  if (narrow.matches) {
    sb.toggleAttribute('inert', !open);
    if (open) {
      const first = sb.querySelector('.seg-btn[aria-selected="true"]');
      if (first) first.focus();
    }
  } else {
    sb.removeAttribute('inert');
  }
}

function closeDrawer() {
  if (document.body.classList.contains('drawer-open')) {
    setDrawer(false);
    $('#menu-btn').focus({ preventScroll: true });
  }
}

function showSignin(reauth) {
  $('#boot').hidden = true;
  $('#app-view').hidden = true;
  $('#signin-view').hidden = false;
  $('#signin-reauth').hidden = !reauth;
}

function showDemo(demo) {
  showDemoBanner(demo); // unless dismissed earlier (banner.js)
  document.body.classList.toggle('has-banner', Boolean(demo));
}

function startApp(user) {
  $('#boot').hidden = true;
  $('#signin-view').hidden = true;
  $('#app-view').hidden = false;
  const name = (user && user.name) || '';
  $('#user-name').textContent = name;
  $('#user-chip').title = name;
  $('#user-avatar').replaceChildren(avatar(user && user.avatar_url, name || '?', 'sm'));
  if (started) return;
  started = true;
  let histTimer = 0;
  chat = new Chat({
    // changed: the history list may differ (a new conversation, a finished reply).
    onConversationChanged: (id, changed) => {
      sidebar.setActiveConversation(id);
      if (!changed) return;
      clearTimeout(histTimer);
      histTimer = setTimeout(() => sidebar.refreshHistory(), 150);
    },
    onUnauthenticated: () => boot(true),
  });
  workflows = new Workflows({
    // A workflow takes over the main pane: stop following the chat stream (the
    // chat itself goes on and is recorded) and unmark the bot / conversation.
    onOpen: (id) => {
      wfList.setActive(id);
      if (!id) return;
      if (compare && compare.isOpen) compare.close();
      if (chat.run) chat.detach();
      sidebar.setActiveBot('');
      sidebar.setActiveConversation('');
    },
    onUnauthenticated: () => boot(true),
  });
  wfList = new WorkflowList({
    workspace: () => $('#workspace-select').value,
    onPick: (w) => { closeDrawer(); workflows.open(w); },
    workspaces: () => Array.from($('#workspace-select').options, (o) => ({ id: o.value, name: o.textContent })),
    switchWorkspace: (id) => { const sel = $('#workspace-select'); sel.value = id; sel.dispatchEvent(new Event('change')); },
  });
  sidebar = new Sidebar({
    onBot: (b) => { workflows.close(); if (compare.isOpen) compare.close(); chat.selectBot(b); botEditor.setBot(b); },
    onTab: (name) => { if (name === 'workflows') wfList.load(false); },
    onWorkspace: () => { if (!$('#panel-workflows').hidden) wfList.load(false); if (botEditor) botEditor.refresh(); },
    onConversation: async (id) => {
      if (id) workflows.close();
      if (id && compare.isOpen) compare.close();
      if (!id) { chat.detach(); chat.bot = null; chat.conversationId = ''; chat.resetView(); return; }
      try {
        await chat.openConversation(id);
        sidebar.setActiveBot(chat.bot ? String(chat.bot.id) : '');
        botEditor.setBot(chat.bot && sidebar.bots.find((b) => String(b.id) === String(chat.bot.id)));
      } catch (err) {
        toast(err.message, true);
      }
    },
    closeDrawer,
  });
  // Bots for their builders (issue 12): after a save or publish the list is
  // reloaded and the bot (re)opened.
  const reopenBot = async (id) => {
    await sidebar.loadBots();
    const b = sidebar.bots.find((x) => String(x.id) === String(id));
    if (!b) return;
    sidebar.setActiveBot(String(b.id));
    workflows.close();
    chat.selectBot(b);
    botEditor.setBot(b);
  };
  botEditor = new BotEditor({
    workspace: () => $('#workspace-select').value,
    onSaved: (bot) => reopenBot(bot.id),
    onPublished: (id) => reopenBot(id),
  });
  botEditor.load();
  // Several bots side by side (issue 12): it takes the main pane while open.
  compare = new Compare({
    bots: () => sidebar.bots,
    onOpen: (open) => {
      if (!open) return;
      closeDrawer();
      workflows.close();
      if (chat.run) chat.detach();
      sidebar.setActiveBot('');
      sidebar.setActiveConversation('');
    },
  });
  chat.showEmpty(true);
  setDrawer(false);
  sidebar.loadWorkspaces();
  new Router({ chat, sidebar, workflows, wfList }).start(); // addresses /c/, /b/, /w/ (issue 10 item 1)
  // Limits said before and when they bite (issue 10 item 3).
  for (const f of [$('#composer'), $('#workflow-answer')]) watchTextLimit(f);
  stateFileLimits();
  loadLimits();
  // Dead ends offer the right action (issue 10 item 4).
  setDeadEndContext({
    conversationId: () => chat.conversationId,
    botId: () => (chat.bot ? String(chat.bot.id) : ''),
    workspaceId: () => (chat.bot && document.querySelector(`.bot-item[data-bot-id="${CSS.escape(String(chat.bot.id))}"]`) ? $('#workspace-select').value : ''),
    newChat: (text) => { chat.newConversation(); chat.composer.value = text; chat.autosize(); chat.updateButtons(); },
  });
}

async function boot(reauth) {
  let st;
  try {
    st = await api.status();
  } catch (err) {
    $('#boot').hidden = true;
    showSignin(false);
    toast(err.message, true);
    return;
  }
  showDemo(st.demo);
  if (st.authenticated) startApp(st.user);
  else showSignin(reauth);
  noticeDemoReset(st); // a demo restart resets its data: say so (issue 10 item 4)
}

/** otherLang is the language the language button switches to. */
function otherLang() { return getLang() === 'zh-CN' ? 'en' : 'zh-CN'; }

/**
 * markLangToggles says in which language each language button's name is written: the
 * catalog words it in the language it switches to ("Switch to English" on the Chinese
 * page), so a screen reader speaks it in that language's voice (issue 10 item 11).
 */
function markLangToggles() {
  for (const b of document.querySelectorAll('.lang-toggle')) b.lang = otherLang();
}

function wire() {
  applyTheme();
  fillIcons(document);
  applyI18n(document);
  syncThemeIcons();
  wireDialogs();
  onSystemThemeChange(syncThemeIcons);
  for (const b of document.querySelectorAll('.lang-toggle')) {
    b.addEventListener('click', () => setLang(otherLang()));
  }
  markLangToggles();
  for (const b of document.querySelectorAll('.theme-toggle')) {
    b.addEventListener('click', () => { toggleTheme(); syncThemeIcons(); });
  }
  onLangChange(() => {
    markLangToggles();
    syncThemeIcons();
    if (chat) chat.relabel();
    if (sidebar) { sidebar.renderBots(); sidebar.refreshHistory(); }
    if (wfList) wfList.render();
  });
  $('#signout').addEventListener('click', async () => {
    try { await api.logout(); } catch { /* the session is gone either way */ }
    if (chat) chat.detach();
    window.location.assign('/');
  });
  $('#menu-btn').addEventListener('click', () => setDrawer(!document.body.classList.contains('drawer-open')));
  $('#drawer-close').addEventListener('click', closeDrawer);
  $('#scrim').addEventListener('click', closeDrawer);
  $('#empty-pick').addEventListener('click', () => {
    if (narrow.matches) setDrawer(true);
    else $('#bot-filter').focus();
  });
  narrow.addEventListener('change', () => setDrawer(false));
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && document.body.classList.contains('drawer-open') && !document.querySelector('dialog[open]')) closeDrawer();
  });
  setUnauthenticatedHandler((err) => {
    if (err && (err.code === 'unauthenticated' || err.code === 'reauth_required')) {
      showSignin(err.code === 'reauth_required');
      noticeDemoReset({ demo: document.body.classList.contains('has-banner'), authenticated: false });
    }
  });
}

// An address the page does not know shows the 404 view (before wire, which wires its buttons).
const known = isKnownPath(location.pathname);
if (!known) showNotFound();
wire();
if (known) { rememberAddress(); boot(false); }
