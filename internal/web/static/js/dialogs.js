// dialogs: promise-based confirm and prompt on native <dialog> elements (focus trap,
// Escape to close and inert background come from showModal()).

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

/** wireDialogs makes Cancel buttons close their dialog and clicks on the backdrop dismiss it. */
export function wireDialogs() {
  for (const d of document.querySelectorAll('dialog')) {
    for (const b of d.querySelectorAll('.dialog-cancel')) b.addEventListener('click', () => d.close());
    d.addEventListener('click', (e) => { if (e.target === d) d.close(); });
  }
}
