// toast: a single MD3 snackbar for short confirmations and errors (role=status),
// optionally with one action button (Undo).

let timer = 0;

function hide(el) {
  el.classList.remove('is-visible');
  setTimeout(() => { if (!el.classList.contains('is-visible')) el.hidden = true; }, 250);
}

/**
 * toast shows text for a few seconds; isError styles it as an error. action
 * {label, onClick, ms} adds a button that runs onClick once and closes the
 * snackbar; the snackbar then stays ms milliseconds.
 */
export function toast(text, isError = false, action = null) {
  const el = document.getElementById('snackbar');
  if (!el) return;
  const parts = [document.createTextNode(String(text || ''))];
  if (action) {
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'snackbar-action';
    btn.textContent = String(action.label || '');
    btn.addEventListener('click', () => { clearTimeout(timer); hide(el); action.onClick(); }, { once: true });
    parts.push(btn);
  }
  el.replaceChildren(...parts);
  el.classList.toggle('is-error', Boolean(isError));
  el.classList.toggle('has-action', Boolean(action));
  el.hidden = false;
  // Restart the enter transition.
  el.classList.remove('is-visible');
  requestAnimationFrame(() => el.classList.add('is-visible'));
  clearTimeout(timer);
  timer = setTimeout(() => hide(el), action ? (action.ms || 8000) : (isError ? 6000 : 3000));
}
