// theme: light/dark following prefers-color-scheme until the user picks one with the
// toggle; the choice is remembered in localStorage and set as <html data-theme>.

const KEY = 'coze2app.theme';
const media = window.matchMedia('(prefers-color-scheme: dark)');

function saved() {
  try {
    const v = localStorage.getItem(KEY);
    return v === 'dark' || v === 'light' ? v : '';
  } catch {
    return '';
  }
}

/** currentTheme returns the effective theme, "light" or "dark". */
export function currentTheme() {
  return saved() || (media.matches ? 'dark' : 'light');
}

/** applyTheme sets data-theme (only when the user chose one) and the theme-color meta. */
export function applyTheme() {
  const s = saved();
  if (s) document.documentElement.dataset.theme = s;
  else delete document.documentElement.dataset.theme;
  const meta = document.querySelector('meta[name="theme-color"]');
  if (meta) meta.setAttribute('content', currentTheme() === 'dark' ? '#131318' : '#fbf8ff');
}

/** toggleTheme flips between light and dark and remembers the choice. */
export function toggleTheme() {
  const next = currentTheme() === 'dark' ? 'light' : 'dark';
  try { localStorage.setItem(KEY, next); } catch { /* ignore */ }
  applyTheme();
  return next;
}

/** onSystemThemeChange runs fn when the OS preference changes. */
export function onSystemThemeChange(fn) {
  media.addEventListener('change', () => { applyTheme(); fn(); });
}
