// botedit: bots for their builders (issue 12). A "New bot" button above the bot list,
// an editor dialog (name, description, icon upload with preview, prompt, prologue,
// suggested questions, model), Publish with its result, and a draft notice in the chat
// header: Coze's chat API answers only published bots, so a draft cannot be tried here.
// Offered only where the workspace role allows it: every role may create; owners and
// admins edit every bot, members the bots they created. All text goes in via textContent.

import { request, baseHeaders, errorFromResponse, networkError } from './api.js';
import { $, h, icon, avatar } from './dom.js';
import { onLangChange, t } from './i18n.js';
import { toast } from './toast.js';
import { imagePreview } from './preview.js';

/** tr says a word of the editor (the catalog's bot.<key>) with {name} placeholders. */
export function tr(key, vars) { return t('bot.' + key, vars); }

export const DEFAULT_MODEL = '1706077826'; // internal/web/botsedit.go defaultBotModelID
const MAX_ICON = 5 << 20;

/** botApi wraps the bot-builder routes (internal/web/botsedit.go). */
export const botApi = {
  create: (body) => request('POST', '/api/bots', { body }),
  update: (id, body) => request('PATCH', '/api/bots/' + encodeURIComponent(id), { body }),
  draft: (id) => request('GET', '/api/bots/' + encodeURIComponent(id) + '/draft'),
  publish: (id) => request('POST', '/api/bots/' + encodeURIComponent(id) + '/publish', { body: {} }),
};

async function uploadIcon(file) {
  const form = new FormData();
  form.append('file', file, file.name);
  let res;
  try {
    res = await fetch('/api/files', { method: 'POST', body: form, credentials: 'same-origin', headers: baseHeaders({ Accept: 'application/json' }) });
  } catch { throw networkError(); }
  if (!res.ok) throw await errorFromResponse(res);
  return String((await res.json()).id || '');
}

function field(label, control, help) {
  return h('label', { class: 'field bot-field' }, h('span', { class: 'field-label', text: label }),
    h('span', { class: 'field-box' }, control), help ? h('span', { class: 'bot-help', text: help }) : null);
}

/** BotEditor owns the New bot button, the editor dialog and the chat header's tools. */
export class BotEditor {
  /**
   * workspace() is the selected workspace id; onSaved(bot, isNew) runs after a save,
   * onPublished(id) after a publish; both reload the list.
   */
  constructor({ workspace, onSaved, onPublished }) {
    this.workspace = workspace;
    this.onSaved = onSaved;
    this.onPublished = onPublished;
    this.me = '';
    this.roles = {};
    this.bot = null;
    this.newBtn = h('button', { type: 'button', id: 'new-bot', class: 'btn btn-tonal new-bot', hidden: true,
      attrs: { 'data-testid': 'new-bot' }, on: { click: () => this.open(null) } }, icon('add'), h('span', { class: 'new-bot-label' }));
    $('#bot-list').before(this.newBtn);
    this.tools = h('div', { class: 'bot-tools' },
      h('span', { class: 'bot-state', hidden: true }),
      h('button', { type: 'button', id: 'edit-bot', class: 'btn btn-text', hidden: true, attrs: { 'data-testid': 'edit-bot' }, on: { click: () => this.open(this.bot) } }, icon('edit'), h('span', { class: 'edit-label' })),
      h('button', { type: 'button', id: 'publish-bot', class: 'btn btn-filled', hidden: true, attrs: { 'data-testid': 'publish-bot' }, on: { click: () => this.publish() } }, icon('send'), h('span', { class: 'publish-label' })));
    $('#new-chat').before(this.tools);
    this.note = h('div', { id: 'draft-note', class: 'draft-note', hidden: true, attrs: { role: 'note', 'data-testid': 'draft-note' } }, icon('info'), h('span', { class: 'draft-note-text' }));
    $('#chat-header').after(this.note);
    this.buildDialog();
    this.relabel();
    onLangChange(() => this.relabel());
  }

  /** load reads who the user is and their role in each workspace. */
  async load() {
    try {
      const [st, ws] = await Promise.all([request('GET', '/api/auth/status'), request('GET', '/api/workspaces')]);
      this.me = String((st.user && st.user.id) || '');
      this.roles = Object.fromEntries((ws.workspaces || []).map((w) => [String(w.id), String(w.role || '')]));
    } catch { /* no tools without roles */ }
    this.refresh();
  }

  canCreate() { return ['owner', 'admin', 'member'].includes(this.roles[this.workspace()] || ''); }

  canEdit(bot) {
    const role = this.roles[this.workspace()] || '';
    return Boolean(bot) && (role === 'owner' || role === 'admin' || (role === 'member' && String(bot.owner_user_id || '') === this.me && this.me !== ''));
  }

  /** setBot shows the tools for the bot chatted with (null: none). */
  setBot(bot) {
    this.bot = bot ? { ...bot } : null;
    this.refresh();
  }

  refresh() {
    this.newBtn.hidden = !this.canCreate();
    const b = this.bot;
    const edit = this.canEdit(b);
    const draft = Boolean(b) && b.published === false;
    const state = this.tools.querySelector('.bot-state');
    state.hidden = !draft;
    state.textContent = tr('draft');
    this.tools.querySelector('#edit-bot').hidden = !edit;
    this.tools.querySelector('#publish-bot').hidden = !edit;
    this.note.hidden = !draft;
    this.note.querySelector('.draft-note-text').textContent = tr(edit ? 'draftNote' : 'draftNoteReader');
  }

  relabel() {
    this.newBtn.querySelector('.new-bot-label').textContent = tr('newBot');
    this.tools.querySelector('.edit-label').textContent = tr('editBot');
    this.tools.querySelector('.publish-label').textContent = tr('publish');
    for (const [k, el] of Object.entries(this.labels || {})) el.textContent = tr(k, { id: DEFAULT_MODEL });
    this.refresh();
  }

  buildDialog() {
    const f = {};
    f.name = h('input', { type: 'text', id: 'bot-name', maxLength: 20, required: true, autocomplete: 'off' });
    f.description = h('textarea', { id: 'bot-description', maxLength: 500, rows: 2 });
    f.prompt = h('textarea', { id: 'bot-prompt', maxLength: 20000, rows: 4 });
    f.prologue = h('textarea', { id: 'bot-prologue', maxLength: 300, rows: 2 });
    f.questions = h('textarea', { id: 'bot-questions', rows: 3 });
    f.model = h('input', { type: 'text', id: 'bot-model', inputMode: 'numeric', autocomplete: 'off', placeholder: DEFAULT_MODEL });
    f.file = h('input', { type: 'file', id: 'bot-icon-input', accept: 'image/png,image/jpeg,image/gif,image/webp', hidden: true });
    f.preview = h('span', { class: 'bot-icon-preview', attrs: { 'data-testid': 'bot-icon-preview' } });
    this.labels = {};
    const named = (k, control, helpKey) => {
      const wrap = field('', control, helpKey ? ' ' : '');
      this.labels[k] = wrap.querySelector('.field-label');
      if (helpKey) this.labels[helpKey] = wrap.querySelector('.bot-help');
      return wrap;
    };
    const iconLabel = h('span', { class: 'field-label' });
    this.labels.icon = iconLabel;
    const uploadBtn = h('button', { type: 'button', class: 'btn btn-tonal', id: 'bot-icon-upload', on: { click: () => f.file.click() } }, icon('attach'), h('span', {}));
    this.labels.upload = uploadBtn.querySelector('span');
    this.err = h('div', { class: 'inline-error bot-error', hidden: true, attrs: { role: 'alert', 'data-testid': 'bot-error' } });
    this.title = h('h2', { class: 'dialog-title', id: 'bot-dialog-title' });
    const cancel = h('button', { type: 'button', class: 'btn btn-text', on: { click: () => this.dialog.close() } });
    this.labels.cancel = cancel;
    this.saveBtn = h('button', { type: 'submit', class: 'btn btn-filled', id: 'bot-save', attrs: { 'data-testid': 'bot-save' } });
    this.labels.save = this.saveBtn;
    this.form = h('form', { class: 'dialog-inner bot-form', noValidate: true, on: { submit: (e) => { e.preventDefault(); this.save(); } } },
      this.title,
      h('div', { class: 'bot-icon-row' }, f.preview, h('div', { class: 'field' }, iconLabel, uploadBtn), f.file),
      named('name', f.name), named('description', f.description), named('prompt', f.prompt),
      named('prologue', f.prologue), named('questions', f.questions), named('model', f.model, 'modelHelp'),
      this.err, h('div', { class: 'dialog-actions' }, cancel, this.saveBtn));
    this.dialog = h('dialog', { id: 'bot-dialog', class: 'dialog bot-dialog', attrs: { 'aria-labelledby': 'bot-dialog-title' } }, this.form);
    this.dialog.addEventListener('click', (e) => { if (e.target === this.dialog) this.dialog.close(); });
    document.body.append(this.dialog);
    f.file.addEventListener('change', () => { const file = f.file.files && f.file.files[0]; f.file.value = ''; if (file) this.pickIcon(file); });
    this.f = f;
  }

  showError(err) {
    this.err.hidden = !err;
    this.err.replaceChildren();
    if (!err) return;
    this.err.append(icon('error'), h('div', {}, h('div', { text: err.message || String(err) }), err.hint ? h('div', { class: 'note-hint', text: err.hint }) : null));
    const target = err.field && { name: this.f.name, model_id: this.f.model, prompt: this.f.prompt, prologue: this.f.prologue, suggested_questions: this.f.questions, description: this.f.description }[err.field];
    if (target) target.focus();
  }

  setPreview(url, name) {
    this.f.preview.replaceChildren(avatar(url, name || '?', 'lg'));
  }

  /** previewFile shows the picked image before it is uploaded (preview.js: a canvas). */
  async previewFile(file) {
    const c = await imagePreview(file, 112, 'avatar avatar-lg');
    if (c) this.f.preview.replaceChildren(c); // not decodable here: Coze still gets the file
  }

  async pickIcon(file) {
    if (!/^image\/(png|jpeg|gif|webp)$/.test(file.type)) { this.showError({ message: tr('iconType') }); return; }
    if (file.size > MAX_ICON) { this.showError({ message: tr('iconTooBig') }); return; }
    this.showError(null);
    this.previewFile(file);
    this.iconFileID = '';
    this.uploading = uploadIcon(file);
    this.labels.upload.textContent = tr('uploading');
    try {
      this.iconFileID = await this.uploading;
    } catch (err) {
      this.showError(err);
    } finally {
      this.uploading = null;
      this.labels.upload.textContent = tr('upload');
    }
  }

  /** open shows the editor: bot null creates, else edits its draft. */
  async open(bot) {
    this.editing = bot ? String(bot.id) : '';
    this.iconFileID = '';
    this.showError(null);
    this.title.textContent = tr(bot ? 'titleEdit' : 'titleNew');
    const f = this.f;
    for (const k of ['name', 'description', 'prompt', 'prologue', 'questions', 'model']) f[k].value = '';
    this.setPreview(bot ? bot.icon_url : '', bot ? bot.name : '?');
    this.dialog.showModal();
    f.name.focus();
    if (!bot) return;
    try {
      const d = (await botApi.draft(bot.id)).bot || {};
      f.name.value = d.name || '';
      f.description.value = d.description || '';
      f.prompt.value = d.prompt || '';
      f.prologue.value = d.prologue || '';
      f.questions.value = (d.suggested_questions || []).join('\n');
      f.model.value = d.model_id || '';
      this.setPreview(d.icon_url, d.name);
    } catch (err) {
      this.showError(err);
    }
  }

  async save() {
    const f = this.f;
    if (this.uploading) await this.uploading.catch(() => {});
    const body = {
      name: f.name.value.trim(), description: f.description.value, prompt: f.prompt.value, prologue: f.prologue.value,
      suggested_questions: f.questions.value.split('\n').map((q) => q.trim()).filter(Boolean),
    };
    const model = f.model.value.trim();
    if (model || this.editing) body.model_id = model || DEFAULT_MODEL;
    if (this.iconFileID) body.icon_file_id = this.iconFileID;
    this.saveBtn.disabled = true;
    this.saveBtn.textContent = tr('saving');
    try {
      let bot;
      if (this.editing) {
        bot = (await botApi.update(this.editing, body)).bot;
        toast(tr('saved'));
      } else {
        body.workspace_id = this.workspace();
        bot = (await botApi.create(body)).bot;
        toast(tr('created', { name: bot.name }));
      }
      this.dialog.close();
      this.onSaved(bot, !this.editing);
    } catch (err) {
      this.showError(err);
    } finally {
      this.saveBtn.disabled = false;
      this.saveBtn.textContent = tr('save');
    }
  }

  async publish() {
    const b = this.bot;
    if (!b) return;
    const btn = this.tools.querySelector('#publish-bot');
    btn.disabled = true;
    btn.querySelector('.publish-label').textContent = tr('publishing');
    try {
      const res = await botApi.publish(b.id);
      this.bot = { ...b, published: true };
      this.refresh();
      toast(tr('published', { version: res.version || '' }));
      this.onPublished(String(b.id));
    } catch (err) {
      toast(err.message + (err.hint ? ' — ' + err.hint : ''), true);
    } finally {
      btn.disabled = false;
      btn.querySelector('.publish-label').textContent = tr('publish');
    }
  }
}
