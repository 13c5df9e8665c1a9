// i18n: a small dictionary (zh-CN, en) and helpers that write translated text with
// textContent / setAttribute only. The chosen language is remembered in localStorage;
// the default follows navigator.language.

const STORAGE_KEY = 'coze2app.lang';

const dict = {
  'zh-CN': {
    'app.title': 'coze2app',
    'app.tagline': '用你的 Coze 账号登录，与你的智能体对话',
    'signin.button': '授权Coze账号',
    'signin.sub': 'Sign in with Coze',
    'signin.note': '我们不会看到你的密码。访问令牌只保存在服务器上，并加密存储。',
    'signin.reauth': '登录已过期，请重新授权。',
    'demo.banner': '演示模式：本应用连接的是内置的 Coze 模拟器，不会使用真实的 Coze 账号。',
    'boot.loading': '正在加载…',
    'nav.menu': '打开菜单',
    'nav.close': '关闭菜单',
    'nav.bots': '智能体',
    'nav.history': '历史',
    'nav.sidebar': '侧边栏',
    'nav.workflows': '工作流',
    'wf.filter': '筛选工作流',
    'wf.loading': '正在加载工作流…',
    'wf.empty': '这个工作空间里没有已发布的工作流。',
    'wf.noMatch': '没有匹配的工作流。',
    'wf.badge': '工作流',
    'wf.inputs': '输入参数',
    'wf.loadingInputs': '正在加载参数…',
    'wf.noInputs': '这个工作流不需要输入，直接运行即可。',
    'wf.required': '必填',
    'wf.yes': '是',
    'wf.run': '运行',
    'wf.stop': '停止',
    'wf.output': '输出',
    'wf.answerLabel': '你的回答',
    'wf.answerPlaceholder': '输入回答，按 Enter 发送…',
    'wf.answerSend': '发送回答',
    'wf.hint': '工作流的输出由 AI 生成，请核实重要信息。',
    'wf.debug': '在 Coze 中查看运行详情',
    'wf.status.running': '运行中…',
    'wf.status.waiting': '等待你的回答',
    'wf.status.done': '已完成',
    'wf.status.canceled': '已停止',
    'wf.status.failed': '运行失败',
    'wf.connectionLost': '连接中断，输出可能不完整。',
    'wf.err.required': '这是必填项。',
    'wf.err.number': '请输入数字。',
    'wf.err.integer': '请输入整数。',
    'wf.err.json': 'JSON 格式不正确：{detail}',
    'wf.err.object': '需要一个 JSON 对象，例如 {"key": "value"}。',
    'wf.err.array': '需要一个 JSON 数组，例如 ["a", "b"]。',
    'theme.toggle': '切换深色/浅色主题',
    'theme.toDark': '切换到深色主题',
    'theme.toLight': '切换到浅色主题',
    'lang.toggle': 'Switch to English',
    'lang.short': 'EN',
    'user.signout': '退出登录',
    'user.menu': '账号',
    'ws.label': '工作空间',
    'ws.loading': '正在加载工作空间…',
    'ws.none': '没有可用的工作空间',
    'bots.filter': '筛选智能体',
    'bots.loading': '正在加载智能体…',
    'bots.empty': '这个工作空间里没有已发布的智能体。',
    'bots.noMatch': '没有匹配的智能体。',
    'bots.count': '{n} 个智能体',
    'history.search': '搜索对话',
    'history.empty': '还没有对话。',
    'history.noMatch': '没有匹配的对话。',
    'history.loading': '正在加载历史…',
    'history.untitled': '未命名对话',
    'history.more': '更多操作',
    'history.rename': '重命名',
    'history.delete': '删除',
    'history.exportMd': '导出 Markdown',
    'history.exportJson': '导出 JSON',
    'history.renameTitle': '重命名对话',
    'history.titleLabel': '标题',
    'history.deleteTitle': '删除对话？',
    'history.deleteBody': '“{title}”将从历史中永久删除。',
    'history.deleted': '对话已删除',
    'history.renamed': '已重命名',
    'dialog.cancel': '取消',
    'dialog.save': '保存',
    'dialog.delete': '删除',
    'dialog.close': '关闭',
    'chat.empty.title': '选择一个智能体开始聊天',
    'chat.empty.body': '从左侧列表中选择智能体，或在“历史”中继续之前的对话。',
    'chat.empty.pick': '选择智能体',
    'chat.new': '新对话',
    'chat.composer': '输入消息',
    'chat.placeholder': '给 {bot} 发消息…',
    'chat.hint': 'Enter 发送 · Shift+Enter 换行 · 回复由 AI 生成，请核实重要信息',
    'chat.placeholderNoBot': '先选择一个智能体',
    'chat.send': '发送',
    'file.attach': '添加附件',
    'file.remove': '移除附件',
    'chat.stop': '停止生成',
    'chat.copy': '复制',
    'chat.copied': '已复制',
    'chat.copyCode': '复制代码',
    'chat.regenerate': '重新生成',
    'chat.retry': '重试',
    'chat.tokens': 'tokens',
    'chat.tokensToggle': '显示 token 用量',
    'chat.usage': '共 {total} tokens（输入 {input} · 输出 {output}）',
    'chat.noUsage': '没有用量数据',
    'chat.you': '你',
    'chat.thinking': '正在思考…',
    'chat.canceled': '已停止生成',
    'chat.incomplete': '回复不完整（连接中断）',
    'chat.failed': '回复失败',
    'chat.streamingNote': '仍在生成中…',
    'chat.requiresAction': '这个智能体需要调用本应用不支持的本地工具。',
    'chat.connectionLost': '连接中断，回复可能不完整。',
    'chat.jumpBottom': '跳到最新消息',
    'chat.suggested': '你可以问',
    'chat.followUps': '继续问',
    'chat.log': '对话消息',
    'error.generic': '出错了，请稍后再试。',
    'error.network': '网络错误：无法连接到服务器。',
    'error.loadFailed': '加载失败',
    'time.justNow': '刚刚',
  },
  en: {
    'app.title': 'coze2app',
    'app.tagline': 'Sign in with your Coze account and chat with your bots',
    'signin.button': 'Authorize Coze account',
    'signin.sub': '授权Coze账号',
    'signin.note': 'We never see your password. Access tokens stay on the server, encrypted.',
    'signin.reauth': 'Your sign-in has expired. Please authorize again.',
    'demo.banner': 'Demo mode: this app talks to the built-in Coze simulator; no real Coze account is used.',
    'boot.loading': 'Loading…',
    'nav.menu': 'Open menu',
    'nav.close': 'Close menu',
    'nav.bots': 'Bots',
    'nav.history': 'History',
    'nav.sidebar': 'Sidebar',
    'nav.workflows': 'Workflows',
    'wf.filter': 'Filter workflows',
    'wf.loading': 'Loading workflows…',
    'wf.empty': 'No published workflows in this workspace.',
    'wf.noMatch': 'No workflows match.',
    'wf.badge': 'Workflow',
    'wf.inputs': 'Inputs',
    'wf.loadingInputs': 'Loading inputs…',
    'wf.noInputs': 'This workflow takes no inputs; just run it.',
    'wf.required': 'required',
    'wf.yes': 'Yes',
    'wf.run': 'Run',
    'wf.stop': 'Stop',
    'wf.output': 'Output',
    'wf.answerLabel': 'Your answer',
    'wf.answerPlaceholder': 'Type your answer, Enter to send…',
    'wf.answerSend': 'Send answer',
    'wf.hint': 'Workflow output can be AI-generated; check what matters.',
    'wf.debug': 'Run details in Coze',
    'wf.status.running': 'Running…',
    'wf.status.waiting': 'Waiting for your answer',
    'wf.status.done': 'Finished',
    'wf.status.canceled': 'Stopped',
    'wf.status.failed': 'Failed',
    'wf.connectionLost': 'Connection lost; the output may be incomplete.',
    'wf.err.required': 'This field is required.',
    'wf.err.number': 'Enter a number.',
    'wf.err.integer': 'Enter a whole number.',
    'wf.err.json': 'Invalid JSON: {detail}',
    'wf.err.object': 'Expected a JSON object, e.g. {"key": "value"}.',
    'wf.err.array': 'Expected a JSON array, e.g. ["a", "b"].',
    'theme.toggle': 'Toggle dark/light theme',
    'theme.toDark': 'Switch to dark theme',
    'theme.toLight': 'Switch to light theme',
    'lang.toggle': '切换到中文',
    'lang.short': '中',
    'user.signout': 'Sign out',
    'user.menu': 'Account',
    'ws.label': 'Workspace',
    'ws.loading': 'Loading workspaces…',
    'ws.none': 'No workspaces available',
    'bots.filter': 'Filter bots',
    'bots.loading': 'Loading bots…',
    'bots.empty': 'No published bots in this workspace.',
    'bots.noMatch': 'No bots match.',
    'bots.count': '{n} bots',
    'history.search': 'Search conversations',
    'history.empty': 'No conversations yet.',
    'history.noMatch': 'No conversations match.',
    'history.loading': 'Loading history…',
    'history.untitled': 'Untitled conversation',
    'history.more': 'More actions',
    'history.rename': 'Rename',
    'history.delete': 'Delete',
    'history.exportMd': 'Export Markdown',
    'history.exportJson': 'Export JSON',
    'history.renameTitle': 'Rename conversation',
    'history.titleLabel': 'Title',
    'history.deleteTitle': 'Delete conversation?',
    'history.deleteBody': '“{title}” will be permanently removed from your history.',
    'history.deleted': 'Conversation deleted',
    'history.renamed': 'Renamed',
    'dialog.cancel': 'Cancel',
    'dialog.save': 'Save',
    'dialog.delete': 'Delete',
    'dialog.close': 'Close',
    'chat.empty.title': 'Pick a bot to start chatting',
    'chat.empty.body': 'Choose a bot from the list, or continue an earlier conversation from History.',
    'chat.empty.pick': 'Choose a bot',
    'chat.new': 'New chat',
    'chat.composer': 'Message',
    'chat.placeholder': 'Message {bot}…',
    'chat.hint': 'Enter to send · Shift+Enter for a new line · AI replies can be wrong; check what matters',
    'chat.placeholderNoBot': 'Choose a bot first',
    'chat.send': 'Send',
    'file.attach': 'Attach files',
    'file.remove': 'Remove attachment',
    'chat.stop': 'Stop generating',
    'chat.copy': 'Copy',
    'chat.copied': 'Copied',
    'chat.copyCode': 'Copy code',
    'chat.regenerate': 'Regenerate',
    'chat.retry': 'Retry',
    'chat.tokens': 'tokens',
    'chat.tokensToggle': 'Show token usage',
    'chat.usage': '{total} tokens (input {input} · output {output})',
    'chat.noUsage': 'No usage data',
    'chat.you': 'You',
    'chat.thinking': 'Thinking…',
    'chat.canceled': 'Generation stopped',
    'chat.incomplete': 'Reply incomplete (connection lost)',
    'chat.failed': 'Reply failed',
    'chat.streamingNote': 'Still generating…',
    'chat.requiresAction': 'This bot needs a local tool that this app does not support.',
    'chat.connectionLost': 'Connection lost; the reply may be incomplete.',
    'chat.jumpBottom': 'Jump to latest',
    'chat.suggested': 'Try asking',
    'chat.followUps': 'Ask next',
    'chat.log': 'Conversation messages',
    'error.generic': 'Something went wrong. Please try again.',
    'error.network': 'Network error: cannot reach the server.',
    'error.loadFailed': 'Could not load',
    'time.justNow': 'just now',
  },
};

/** Languages the page supports, in toggle order. */
export const LANGS = ['zh-CN', 'en'];

function detect() {
  let saved = null;
  try { saved = localStorage.getItem(STORAGE_KEY); } catch { /* storage blocked */ }
  if (saved && dict[saved]) return saved;
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || 'en';
  return nav.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

let lang = detect();
const listeners = new Set();

/** lang returns the current UI language ("zh-CN" or "en"). */
export function getLang() { return lang; }

/** setLang switches the UI language, remembers it and notifies listeners. */
export function setLang(next) {
  if (!dict[next] || next === lang) return;
  lang = next;
  try { localStorage.setItem(STORAGE_KEY, next); } catch { /* ignore */ }
  applyI18n(document);
  for (const fn of listeners) fn(lang);
}

/** onLangChange registers fn(lang) to run after every language switch. */
export function onLangChange(fn) { listeners.add(fn); }

/** t returns the translation of key with {name} placeholders filled from vars (plain text). */
export function t(key, vars) {
  let s = dict[lang][key] ?? dict.en[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

/**
 * applyI18n fills [data-i18n] (textContent) and [data-i18n-<attr>] attributes
 * (aria-label, placeholder, title) under root.
 */
export function applyI18n(root) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const attr of ['aria-label', 'placeholder', 'title']) {
    const data = 'data-i18n-' + attr;
    for (const el of root.querySelectorAll('[' + data + ']')) el.setAttribute(attr, t(el.getAttribute(data)));
  }
}
