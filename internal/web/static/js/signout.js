// signout: "Sign out everywhere" (issue 8 item 8) ends every session of this person on
// every device and deletes their Coze tokens on the server. The button sits next to
// Sign out; this module owns it whole (labels included) so the page's other files stay
// untouched.

import { request } from './api.js';
import { confirmDialog } from './dialogs.js';
import { h, icon } from './dom.js';
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

/** wireSignOutEverywhere adds the button after #signout. */
export function wireSignOutEverywhere() {
  const signout = document.getElementById('signout');
  if (!signout || document.getElementById('signout-everywhere')) return;
  const btn = h('button', { type: 'button', id: 'signout-everywhere', class: 'icon-btn', attrs: { 'data-testid': 'signout-everywhere' } }, icon('lock'));
  const label = () => {
    btn.title = text().label;
    btn.setAttribute('aria-label', text().label);
  };
  label();
  onLangChange(label);
  btn.addEventListener('click', async () => {
    const ok = await confirmDialog({ title: text().label, body: text().body, confirm: text().confirm });
    if (!ok) return;
    try { await request('POST', '/api/auth/logout-everywhere', { body: {} }); } catch { /* signed out either way */ }
    window.location.assign('/');
  });
  signout.after(btn);
}

wireSignOutEverywhere();
