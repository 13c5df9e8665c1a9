// limits: the page's limits said out loud before and when they bite (issue 10 item 3).
// The numbers come from GET /api/config (the ones the server enforces): a counter shows
// near a text field's limit, a paste that does not fit says how much was kept, the
// file size limit is stated next to the composer, and a file that is too large or of a
// type Coze refuses is named with its reason before any upload.

import { request } from './api.js';
import { $, h } from './dom.js';
import { t, getLang, onLangChange } from './i18n.js';

/** limits holds the server's numbers; the defaults are the server's defaults. */
export const limits = { messageChars: 10000, filesPerMessage: 10, uploadBytes: 20 << 20, uploadTypes: [], cozeURL: 'https://www.coze.cn' };

const listeners = new Set();

/** loadLimits reads GET /api/config (limits and the Coze site) once; fields that are missing keep their defaults. */
export async function loadLimits() {
  let d;
  try { d = await request('GET', '/api/config'); } catch { return; }
  if (Number.isInteger(d.message_chars) && d.message_chars > 0) limits.messageChars = d.message_chars;
  if (Number.isInteger(d.files_per_message) && d.files_per_message > 0) limits.filesPerMessage = d.files_per_message;
  if (Number.isFinite(d.upload_bytes) && d.upload_bytes > 0) limits.uploadBytes = d.upload_bytes;
  if (Array.isArray(d.upload_types)) limits.uploadTypes = d.upload_types.filter((x) => typeof x === 'string');
  if (typeof d.coze_url === 'string' && /^https:\/\/[a-z0-9.-]+$/i.test(d.coze_url)) limits.cozeURL = d.coze_url;
  for (const fn of listeners) fn();
}

/** formatBytes writes a size the way people read it: 20 MB, 1.5 GB, 900 KB. */
export function formatBytes(n) {
  const units = ['B', 'KB', 'MB', 'GB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  const digits = v < 10 && i > 0 && Math.round(v * 10) % 10 !== 0 ? 1 : 0;
  return v.toLocaleString(getLang(), { maximumFractionDigits: digits }) + ' ' + units[i];
}

const num = (n) => n.toLocaleString(getLang());

/** fileLimitText states the file limits: how many per message and how large. */
export function fileLimitText() {
  return t('limit.files', { n: limits.filesPerMessage, size: formatBytes(limits.uploadBytes) });
}

/** fileProblem is why file cannot be sent ('' when it can, as far as the page can tell). */
export function fileProblem(file) {
  const dot = file.name.lastIndexOf('.');
  const ext = dot > 0 ? file.name.slice(dot).toLowerCase() : '';
  if (limits.uploadTypes.length && !limits.uploadTypes.includes(ext)) {
    return ext ? t('limit.fileType', { ext }) : t('limit.fileNoType');
  }
  if (file.size > limits.uploadBytes) return t('limit.fileTooBig', { size: formatBytes(file.size), max: formatBytes(limits.uploadBytes) });
  return '';
}

/** uploadErrorText is the reason an upload failed, with the size limit when the server says "too large". */
export function uploadErrorText(err) {
  const msg = (err && err.message) || t('error.generic');
  return err && err.code === 'too_large' ? msg + ' ' + t('limit.fileMax', { max: formatBytes(limits.uploadBytes) }) : msg;
}

/** tooManyFilesText says that some picked files were left out, and why. */
export function tooManyFilesText(left) {
  return t('limit.tooManyFiles', { n: limits.filesPerMessage, left: left.length, names: left.slice(0, 2).join(', ') + (left.length > 2 ? ', …' : '') });
}

/** noteFor returns (creating it once) the line under a composer where its limits speak. */
export function noteFor(field) {
  const box = field.closest('.composer') || field;
  let note = box.nextElementSibling;
  if (!note || !note.classList.contains('limit-note')) {
    // Only the sentence is live: a counter read out at every keystroke would drown the typing.
    note = h('p', { class: 'limit-note', hidden: true },
      h('span', { class: 'limit-text', attrs: { role: 'status' } }), h('span', { class: 'limit-count' }));
    box.after(note);
  }
  return note;
}

/**
 * watchTextLimit shows field's character count once it passes 90% of its maxlength,
 * and says so when an insertion (a paste, a drop, an IME commit) did not fit and was
 * cut. Programmatic value changes (the composer is cleared on send) update it too.
 */
export function watchTextLimit(field) {
  const note = noteFor(field);
  let cut = null; // {tried, kept} from the last insertion that did not fit
  const max = () => Number(field.getAttribute('maxlength')) || limits.messageChars;
  const update = () => {
    const n = field.value.length;
    const m = max();
    const near = n >= Math.floor(m * 0.9);
    const text = cut ? t('limit.pasteCut', { kept: num(cut.kept), tried: num(cut.tried), max: num(m) })
      : n >= m ? t('limit.reached', { max: num(m) }) : '';
    note.querySelector('.limit-text').textContent = text;
    note.querySelector('.limit-count').textContent = near || cut ? t('limit.count', { n: num(n), max: num(m) }) : '';
    note.classList.toggle('is-warning', Boolean(cut) || n >= m);
    note.hidden = !near && !cut;
  };
  field.addEventListener('beforeinput', (e) => {
    if (!e.inputType.startsWith('insert')) return;
    const added = e.data ?? (e.dataTransfer ? e.dataTransfer.getData('text/plain') : '') ?? '';
    const room = max() - (field.value.length - (field.selectionEnd - field.selectionStart));
    cut = added.length > room ? { tried: added.length, kept: Math.max(0, room) } : null;
  });
  field.addEventListener('input', () => {
    update();
    if (cut && field.value.length < max()) cut = null; // a later edit made room: the message is past
  });
  // The composer is cleared (and filled by Regenerate, follow-ups) without input events.
  const proto = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value');
  Object.defineProperty(field, 'value', {
    configurable: true,
    get() { return proto.get.call(this); },
    set(v) { proto.set.call(this, v); cut = null; update(); },
  });
  listeners.add(update);
  onLangChange(update);
  update();
}

/** stateFileLimits writes the file limits into the composer's hint line and the attach button's name. */
export function stateFileLimits() {
  const hint = $('#composer-hint');
  const attach = $('#attach');
  const write = () => {
    if (hint) {
      let span = hint.querySelector('.limit-files');
      if (!span) { span = h('span', { class: 'limit-files' }); hint.append(span); }
      span.textContent = ' · ' + fileLimitText();
    }
    if (attach) {
      const label = t('file.attach') + ' (' + fileLimitText() + ')';
      attach.setAttribute('aria-label', label);
      attach.title = label;
    }
  };
  listeners.add(write);
  onLangChange(write);
  write();
}
