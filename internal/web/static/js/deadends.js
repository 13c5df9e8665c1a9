// deadends: a failed reply offers the action that can help (issue 10 item 4). A draft
// bot gets "how to publish" and a link to Coze instead of a Retry that cannot help; a
// conversation Coze no longer knows gets "start a new chat with this bot"; Coze's own
// failure strings ("event interval error") become plain words, with Coze's text, code
// and log id kept in a details line for support; a demo restart says the demo data
// was reset.

import { $, h, icon, copyText } from './dom.js';
import { t } from './i18n.js';
import { limits } from './limits.js';

let ctx = { conversationId: () => '', botId: () => '', workspaceId: () => '', newChat: () => {} };

/** setDeadEndContext gives the actions what they need from the chat (main.js). */
export function setDeadEndContext(c) { ctx = { ...ctx, ...c }; }

/** Coze's model-failure codes, which a retry usually fixes (coze-protocol §4, E7). */
const MODEL_FAILURE = new Set(['4013', '5000']);

/**
 * explain looks at a failed reply's error. It returns null when the error already says
 * what to do, else {err, retry, extra(textBox, note)}: err with plain words, whether a
 * Retry can help, and extra to add the details line and the right action to the note.
 */
export function explain(err, msg) {
  if (!err) return null;
  const code = String(err.code || '');
  if (code === 'bot_not_published') {
    return { err: { message: t('dead.draft'), hint: '' }, retry: false, extra: (box, note) => publishHelp(box, note) };
  }
  if (code === 'not_found' && ctx.conversationId()) {
    const demo = document.body.classList.contains('has-banner');
    return {
      err: { message: t('dead.convGone'), hint: t(demo ? 'dead.convGoneDemo' : 'dead.convGoneHint') },
      retry: false,
      extra: (box, note) => note.append(actionButton('add', 'dead.newChat', 'new-chat-action', () => ctx.newChat(msg.userText || ''))),
    };
  }
  // Coze's own failure, passed through as its code and raw text.
  if (/^\d+$/.test(code) && err.status === 0) {
    const key = MODEL_FAILURE.has(code) ? 'dead.model' : code.length === 9 ? 'dead.platform' : 'dead.coze';
    return {
      err: { message: t(key), hint: t('dead.retryHint') },
      retry: true,
      // For model failures the server already replaced Coze's words; other codes pass them through.
      extra: (box) => box.append(details(MODEL_FAILURE.has(code) ? '' : err.raw || err.message, code, err.logId || '')),
    };
  }
  return null;
}

function actionButton(iconName, key, cls, onClick) {
  return h('button', { type: 'button', class: 'btn btn-text dead-action ' + cls, on: { click: onClick } }, icon(iconName), h('span', { text: t(key) }));
}

/** details keeps Coze's words, code and log id for support, with a copy button. */
function details(raw, code, logId) {
  const line = h('span', { class: 'note-details' },
    h('span', { class: 'dead-raw', text: raw ? t('dead.cozeSaid', { msg: raw, code }) : t('dead.cozeCode', { code }) }));
  if (logId) {
    const copy = h('button', {
      type: 'button', class: 'btn btn-text btn-xs dead-copy',
      on: { click: async () => { if (await copyText(logId)) copy.querySelector('span').textContent = t('chat.copied'); } },
    }, icon('copy'), h('span', { text: t('dead.copyLogId') }));
    line.append(' · ', h('span', { class: 'dead-logid', text: t('dead.logId', { id: logId }) }), ' ', copy);
  }
  return line;
}

/** publishHelp lists the steps to publish a bot to the API channel, with a link to it in Coze. */
function publishHelp(box, note) {
  const bot = ctx.botId();
  const ws = ctx.workspaceId();
  const href = bot && ws ? `${limits.cozeURL}/space/${encodeURIComponent(ws)}/bot/${encodeURIComponent(bot)}` : limits.cozeURL;
  box.append(h('ol', { class: 'dead-steps' },
    ...['dead.publish1', 'dead.publish2', 'dead.publish3'].map((k) => h('li', { text: t(k) }))));
  note.append(h('a', {
    class: 'btn btn-text dead-action publish-link', href, target: '_blank', rel: 'noopener noreferrer',
    attrs: { referrerpolicy: 'no-referrer' },
  }, icon('openNew'), h('span', { text: t('dead.openCoze') })));
}

const DEMO_KEY = 'coze2app.demoSession';

/**
 * noticeDemoReset runs after the status check. In demo mode it remembers that this
 * browser was signed in; finding itself signed out afterwards (without Sign out) means
 * the demo restarted without its saved state (a fresh database): the sign-in card
 * says the demo data was reset.
 */
export function noticeDemoReset(st) {
  let seen = false;
  try {
    seen = localStorage.getItem(DEMO_KEY) === '1';
    if (st.demo && st.authenticated) localStorage.setItem(DEMO_KEY, '1');
    if (!st.demo) localStorage.removeItem(DEMO_KEY);
  } catch { /* ignore */ }
  const show = Boolean(st.demo && !st.authenticated && seen);
  let p = $('#demo-reset');
  if (show && !p) {
    p = h('p', { id: 'demo-reset', class: 'signin-reauth demo-reset', attrs: { role: 'alert', 'data-i18n': 'dead.demoReset' }, text: t('dead.demoReset') });
    $('#signin-reauth').after(p);
  }
  if (p) p.hidden = !show;
  if (show) $('#signin-reauth').hidden = true;
}

// A chosen sign-out (here or everywhere) is no restart.
document.addEventListener('click', (e) => {
  if (e.target.closest && e.target.closest('#signout, #signout-everywhere, #signout-everywhere-drawer')) {
    try { localStorage.removeItem(DEMO_KEY); } catch { /* ignore */ }
  }
}, true);
