// banner: the demo-mode notice above the app. A reader who has read it can hide it;
// the choice is remembered in this browser (localStorage) so a reload keeps the room
// it gave back (issue 10 item 6: on a phone every line of chrome counts).

import { $ } from './dom.js';

const KEY = 'coze2app.demoBannerDismissed';

function dismissed() {
  try { return localStorage.getItem(KEY) === '1'; } catch { return false; }
}

function remember() {
  try { localStorage.setItem(KEY, '1'); } catch { /* private mode: hidden for this page only */ }
}

// nextFocusable is the first visible control after el, where focus goes when el's
// banner disappears from under it.
function nextFocusable(el) {
  const all = document.querySelectorAll('a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled])');
  return Array.from(all).find((c) => (el.compareDocumentPosition(c) & Node.DOCUMENT_POSITION_FOLLOWING) && !el.contains(c) && c.getClientRects().length > 0);
}

let wired = false;

/** showDemoBanner shows the demo notice in demo mode unless the reader dismissed it. */
export function showDemoBanner(demo) {
  const banner = $('#demo-banner');
  banner.hidden = !demo || dismissed();
  if (wired) return;
  wired = true;
  $('#demo-dismiss').addEventListener('click', () => {
    remember();
    const hadFocus = banner.contains(document.activeElement);
    const next = hadFocus ? nextFocusable(banner) : null;
    banner.hidden = true;
    if (next) next.focus();
  });
}
