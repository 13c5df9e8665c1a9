// signout: "Sign out everywhere" (issue 8 item 8) ends every session of this person on
// every device and deletes their Coze tokens on the server. The button sits next to
// Sign out; this module owns it whole (labels included) so the page's other files stay
// untouched.

import { request } from './api.js';
import { confirmDialog } from './dialogs.js';
import { h, icon, drawerMedia } from './dom.js';
import { getLang, onLangChange } from './i18n.js';

const TEXT = {
  'zh-CN': {
    label: '在所有设备上退出登录',
    body: '这会结束您在所有浏览器和设备上的会话，并删除本服务保存的 Coze 授权。',
    confirm: '全部退出',
  },
  en: {
    label: 'Sign out everywhere',
    body: 'This ends your sessions in every browser and on every device, and deletes the Coze authorization this server keeps.',
    confirm: 'Sign out everywhere',
  },
};

function text() { return TEXT[getLang()] || TEXT.en; }

async function signOutEverywhere() {
  const ok = await confirmDialog({ title: text().label, body: text().body, confirm: text().confirm });
  if (!ok) return;
  try { await request('POST', '/api/auth/logout-everywhere', { body: {} }); } catch { /* signed out either way */ }
  window.location.assign('/');
}

/**
 * wireSignOutEverywhere adds the control: an icon button after #signout on wide
 * screens, a text button at the foot of the drawer on phones and tablets (the top bar
 * has no room there). The same breakpoint as the drawer.
 */
export function wireSignOutEverywhere() {
  const signout = document.getElementById('signout');
  const sidebar = document.getElementById('sidebar');
  if (!signout || !sidebar || document.getElementById('signout-everywhere')) return;
  const top = h('button', { type: 'button', id: 'signout-everywhere', class: 'icon-btn', attrs: { 'data-testid': 'signout-everywhere' } }, icon('lock'));
  const drawerLabel = h('span');
  const inDrawer = h('button', { type: 'button', id: 'signout-everywhere-drawer', class: 'btn btn-text' }, icon('lock'), drawerLabel);
  const label = () => {
    top.title = text().label;
    top.setAttribute('aria-label', text().label);
    drawerLabel.textContent = text().label;
  };
  const narrow = drawerMedia;
  const place = () => {
    top.hidden = narrow.matches;
    inDrawer.hidden = !narrow.matches;
  };
  label();
  place();
  onLangChange(label);
  narrow.addEventListener('change', place);
  top.addEventListener('click', signOutEverywhere);
  inDrawer.addEventListener('click', signOutEverywhere);
  signout.after(top);
  sidebar.append(inDrawer);
}

wireSignOutEverywhere();
