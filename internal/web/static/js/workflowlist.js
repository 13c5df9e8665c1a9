// workflowlist: the Workflows tab of the sidebar: the chosen workspace's published
// workflows (GET /api/workflows) with a filter. Names and descriptions go in
// through textContent. A workspace without workflows suggests one with some.

import { api } from './api.js';
import { $, h, avatar } from './dom.js';
import { t } from './i18n.js';
import { showSkeleton, endSkeleton, noteWorkflowCount, workspaceWithWorkflows, workflowSuggestion } from './guidance.js';

/**
 * WorkflowList owns the Workflows tab; onPick(workflow) runs when one is chosen.
 * workspaces() lists the picker's { id, name }; switchWorkspace(id) picks one.
 */
export class WorkflowList {
  constructor({ workspace, onPick, workspaces = () => [], switchWorkspace = () => {} }) {
    this.workspace = workspace;
    this.onPick = onPick;
    this.workspaces = workspaces;
    this.switchWorkspace = switchWorkspace;
    this.items = [];
    this.loadedFor = '';
    this.activeID = '';
    this.list = $('#workflow-list');
    this.filter = $('#workflow-filter');
    this.filter.addEventListener('input', () => this.render());
  }

  status(text, isError) {
    this.list.replaceChildren(h('li', { class: 'list-status' + (isError ? ' is-error' : ''), text }));
  }

  /** load fetches the workspace's workflows unless they are already shown (force reloads). */
  async load(force) {
    const ws = this.workspace();
    if (!ws) return;
    if (!force && this.loadedFor === ws) return;
    this.loadedFor = ws;
    this.items = [];
    const busy = showSkeleton(this.list, t('wf.loading'));
    try {
      const data = await api.workflows(ws);
      if (this.workspace() !== ws) return;
      this.items = Array.isArray(data.workflows) ? data.workflows : [];
      noteWorkflowCount(ws, this.items.length);
      this.render();
      if (!this.items.length) await this.suggest(ws);
    } catch (err) {
      if (this.workspace() !== ws) return;
      this.loadedFor = '';
      this.status(err.message + (err.hint ? ' — ' + err.hint : ''), true);
    } finally {
      endSkeleton(this.list, busy);
    }
  }

  /** suggest names another workspace that has workflows, under the empty list. */
  async suggest(ws) {
    const other = await workspaceWithWorkflows(ws, this.workspaces());
    if (!other || this.workspace() !== ws || this.items.length || this.loadedFor !== ws) return;
    this.list.append(workflowSuggestion(other, () => this.switchWorkspace(other.id)));
  }

  /** render draws the (filtered) list. */
  render() {
    if (!this.loadedFor) return;
    const q = this.filter.value.trim().toLowerCase();
    const shown = this.items.filter((w) => !q || String(w.name || '').toLowerCase().includes(q) || String(w.description || '').toLowerCase().includes(q));
    if (!this.items.length) { this.status(t('wf.empty')); return; }
    if (!shown.length) { this.status(t('wf.noMatch')); return; }
    const activeID = this.activeID;
    this.list.replaceChildren(...shown.map((w) => {
      const id = String(w.id);
      return h('li', {}, h('button', {
        type: 'button',
        class: 'workflow-item list-item' + (id === activeID ? ' is-active' : ''),
        dataset: { workflowId: id },
        attrs: { 'aria-current': id === activeID ? 'true' : null },
        on: { click: () => this.onPick(w) },
      },
      avatar(w.icon_url, w.name, 'md'),
      h('span', { class: 'item-text' },
        h('span', { class: 'item-title', text: String(w.name || '') }),
        w.description ? h('span', { class: 'item-sub', text: String(w.description) }) : null)));
    }));
  }

  /** setActive marks workflow id as the open one ('' for none). */
  setActive(id) {
    this.activeID = id || '';
    for (const el of this.list.querySelectorAll('.workflow-item')) {
      const on = el.dataset.workflowId === id;
      el.classList.toggle('is-active', on);
      if (on) el.setAttribute('aria-current', 'true'); else el.removeAttribute('aria-current');
    }
  }
}
