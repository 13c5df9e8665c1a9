// guidance: where the page would leave one waiting or stuck (issue 10 item 10).
// While a list loads it shows shimmering placeholder rows (aria-busy, the loading
// words kept for screen readers) instead of "Loading…"; a workspace with no
// workflows names one that has some, with a button to switch to it.

import { api } from './api.js';
import { h } from './dom.js';
import { t } from './i18n.js';

let busySeq = 0;

/** skeletonRows returns n placeholder rows shaped like list items. */
function skeletonRows(n) {
  return Array.from({ length: n }, () => h('li', { class: 'skeleton-row', attrs: { 'aria-hidden': 'true' } },
    h('span', { class: 'skeleton skeleton-avatar' }),
    h('span', { class: 'skeleton-lines' }, h('span', { class: 'skeleton skeleton-line' }), h('span', { class: 'skeleton skeleton-line is-short' }))));
}

/**
 * showSkeleton fills el (a list, or any box with rows: false) with placeholders,
 * marks it aria-busy and says label to screen readers. It returns a token for
 * endSkeleton.
 */
export function showSkeleton(el, label, { rows = 4, list = true } = {}) {
  const token = String(++busySeq);
  el.dataset.busy = token;
  el.setAttribute('aria-busy', 'true');
  const said = h(list ? 'li' : 'p', { class: 'visually-hidden', attrs: { role: 'status' }, text: label });
  if (list) {
    el.replaceChildren(said, ...skeletonRows(rows));
  } else {
    el.replaceChildren(said, ...Array.from({ length: rows }, () => h('div', { class: 'skeleton skeleton-field', attrs: { 'aria-hidden': 'true' } })));
  }
  return token;
}

/** endSkeleton clears the busy mark unless a newer load has taken el over. */
export function endSkeleton(el, token) {
  if (el.dataset.busy !== token) return;
  delete el.dataset.busy;
  el.removeAttribute('aria-busy');
}

/** busySelect shimmers a select (whose one option says what loads) while on. */
export function busySelect(select, on) {
  select.classList.toggle('skeleton-select', on);
  if (on) select.setAttribute('aria-busy', 'true'); else select.removeAttribute('aria-busy');
}

// How many workflows each workspace has, as last seen, for a few minutes: the
// suggestion asks each other workspace at most once in that time.
const counts = new Map(); // workspace id -> { n, at }
const COUNT_TTL_MS = 5 * 60 * 1000;
const MAX_ASKED = 8;

/** noteWorkflowCount records what a workflow list of ws held. */
export function noteWorkflowCount(ws, n) { counts.set(ws, { n, at: Date.now() }); }

async function workflowCount(ws) {
  const seen = counts.get(ws);
  if (seen && Date.now() - seen.at < COUNT_TTL_MS) return seen.n;
  const data = await api.workflows(ws);
  const n = Array.isArray(data.workflows) ? data.workflows.length : 0;
  noteWorkflowCount(ws, n);
  return n;
}

/**
 * workspaceWithWorkflows returns the first of workspaces ({ id, name }, in the
 * picker's order) other than current that has workflows, with their count, or
 * null. It asks at most MAX_ASKED workspaces; one that fails is skipped.
 */
export async function workspaceWithWorkflows(current, workspaces) {
  for (const ws of workspaces.filter((w) => w.id && w.id !== current).slice(0, MAX_ASKED)) {
    let n = 0;
    try { n = await workflowCount(ws.id); } catch { continue; }
    if (n > 0) return { ...ws, n };
  }
  return null;
}

/** workflowSuggestion is the list row naming ws and a button that calls onSwitch. */
export function workflowSuggestion(ws, onSwitch) {
  return h('li', { class: 'wf-suggest', attrs: { role: 'note' } },
    h('span', { class: 'wf-suggest-text', text: t('wf.suggestOther', { name: ws.name, n: ws.n }) }),
    h('button', { type: 'button', class: 'btn btn-tonal wf-suggest-switch', text: t('wf.suggestSwitch', { name: ws.name }), on: { click: onSwitch } }));
}
