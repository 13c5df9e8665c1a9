// dialogs: promise-based confirm and prompt on native <dialog> elements (Escape to close and
// inert background come from showModal(); Tab wraps inside and focus returns: keepFocus).

import { t } from './i18n.js';

function open(dialog, onOpen) {
  return new Promise((resolve) => {
    const form = dialog.querySelector('form');
    const done = (value) => {
      form.removeEventListener('submit', submit);
      dialog.removeEventListener('close', close);
      resolve(value);
    };
    const submit = (e) => {
      e.preventDefault();
      const v = onOpen.value();
      dialog.close();
      done(v);
    };
    const close = () => done(null);
    form.addEventListener('submit', submit);
    dialog.addEventListener('close', close);
    dialog.showModal();
    onOpen.focus();
  });
}

/** confirmDialog asks a yes/no question; resolves true when confirmed. */
export async function confirmDialog({ title, body, confirm }) {
  const d = document.getElementById('confirm-dialog');
  d.querySelector('.dialog-title').textContent = title;
  d.querySelector('.dialog-body').textContent = body;
  d.querySelector('.dialog-confirm').textContent = confirm || t('dialog.delete');
  const v = await open(d, { value: () => true, focus: () => d.querySelector('.dialog-cancel').focus() });
  return v === true;
}

/** promptDialog asks for one line of text; resolves the trimmed text or null. */
export async function promptDialog({ title, label, value }) {
  const d = document.getElementById('rename-dialog');
  const input = d.querySelector('input');
  d.querySelector('.dialog-title').textContent = title;
  d.querySelector('.field-label').textContent = label;
  input.value = value || '';
  const v = await open(d, {
    value: () => input.value.trim(),
    focus: () => { input.focus(); input.select(); },
  });
  return v ? v : null;
}

/**
 * wireDialogs makes Cancel buttons close their dialog and clicks on the backdrop dismiss it,
 * and keeps focus with every modal dialog, those made later included (keepFocus).
 */
export function wireDialogs() {
  for (const d of document.querySelectorAll('dialog')) {
    for (const b of d.querySelectorAll('.dialog-cancel')) b.addEventListener('click', () => d.close());
    d.addEventListener('click', (e) => { if (e.target === d) d.close(); });
  }
  keepFocus();
}

/** visible reports whether el is rendered (checkVisibility where the browser has it). */
function visible(el) { return el.checkVisibility ? el.checkVisibility() : el.getClientRects().length > 0; }

/** tabbable lists the controls in root that Tab stops at, in document order. */
function tabbable(root) {
  return Array.from(root.querySelectorAll('a[href], button, input, select, textarea, [tabindex]'))
    .filter((el) => el.tabIndex >= 0 && !el.disabled && visible(el));
}

/**
 * keepFocus wraps Tab and Shift+Tab around the open modal dialog's controls, so focus
 * does not wander to the browser's own controls (showModal already makes the page behind
 * inert), and on close gives focus back to what opened the dialog (issue 10 item 11). The
 * browser restores focus itself unless the opener was hidden meanwhile: a menu's item,
 * whose menu closed; then the button that opens that menu takes it.
 */
function keepFocus() {
  let opener = null; // the last control focused outside any dialog
  document.addEventListener('focusin', (e) => {
    if (e.target instanceof Element && !e.target.closest('dialog')) opener = e.target;
  });
  document.addEventListener('keydown', (e) => {
    const d = document.querySelector('dialog:modal');
    if (e.key !== 'Tab' || !d) return;
    const items = tabbable(d);
    const i = items.indexOf(document.activeElement);
    const edge = e.shiftKey ? i <= 0 : i === items.length - 1 || i < 0;
    if (!edge) return;
    e.preventDefault();
    const next = e.shiftKey ? items[items.length - 1] : items[0];
    if (next) next.focus();
  });
  // close does not bubble: listen in the capture phase, where every dialog's passes by.
  // Chromium moves focus out of the dialog only after its close event: look a task later.
  document.addEventListener('close', (e) => {
    if (!(e.target instanceof HTMLDialogElement)) return;
    setTimeout(() => {
      const lost = !document.activeElement || document.activeElement === document.body;
      if (!lost || !opener || document.querySelector('dialog:modal')) return;
      const menu = opener.closest('[role="menu"]');
      let back = opener.isConnected && visible(opener) ? opener : menu && menu.parentElement.querySelector('[aria-haspopup="menu"]');
      // The history list may have been reloaded meanwhile: its row is there anew. (A
      // reload after this point hands focus on itself: sidebar.js refocus.)
      const row = back && !back.isConnected && back.closest('[data-conv-id]');
      if (row) back = document.querySelector(`[data-conv-id="${CSS.escape(row.dataset.convId)}"] [aria-haspopup="menu"]`);
      if (back && back.isConnected) back.focus();
    }, 0);
  }, true);
}
