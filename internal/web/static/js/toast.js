// toast: a single MD3 snackbar for short confirmations and errors (role=status).

let timer = 0;

/** toast shows text for a few seconds; isError styles it as an error. */
export function toast(text, isError = false) {
  const el = document.getElementById('snackbar');
  if (!el) return;
  el.textContent = String(text || '');
  el.classList.toggle('is-error', Boolean(isError));
  el.hidden = false;
  // Restart the enter transition.
  el.classList.remove('is-visible');
  requestAnimationFrame(() => el.classList.add('is-visible'));
  clearTimeout(timer);
  timer = setTimeout(() => {
    el.classList.remove('is-visible');
    setTimeout(() => { el.hidden = true; }, 250);
  }, isError ? 6000 : 3000);
}
