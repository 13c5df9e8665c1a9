// chat: the conversation pane. Sends with fetch() POST /api/chat {stream:true}, reads the
// SSE body with our parser — only the server's own events (docs/stream-contract.md: chat,
// reasoning, delta, card, question, follow_up, end), never Coze's — and hands each part to
// the AssistantMessage (rendered sanitized, once per frame). Handles Stop (cancel + abort),
// one resume with Last-Event-ID after a dropped connection, regenerate, follow-ups,
// history loading (the same parts) and sticky auto-scroll. One stream per tab at a time
// (SECURITY-CATALOG case 61: HTTP/1.1 allows 6 connections per origin).

import { api, ApiError, apiErrorOf, baseHeaders, errorFromResponse, networkError } from './api.js';
import { SSEParser, detachRun, readEvents, resumeEvents, stopRun } from './sse.js';
import { UserMessage, AssistantMessage, prologueMessage, watchGroups } from './messages.js';
import { $, h, icon, avatar, drawerMedia } from './dom.js';
import { t, endWords } from './i18n.js';
import { Attachments } from './attachments.js';
import { AnswerAnnouncer, endState } from './announce.js';

/** Chat is the conversation pane controller. */
export class Chat {
  constructor({ onConversationChanged, onUnauthenticated }) {
    this.onConversationChanged = onConversationChanged || (() => {});
    this.onUnauthenticated = onUnauthenticated || (() => {});
    this.bot = null;
    this.conversationId = '';
    this.replies = [];
    this.run = null;
    this.stick = true;
    this.list = $('#messages');
    this.composer = $('#composer');
    this.sendBtn = $('#send');
    this.stopBtn = $('#stop');
    this.jump = $('#jump-bottom');
    this.announcer = new AnswerAnnouncer($('#answer-live'));
    // Sticky auto-scroll: follow new content only while the reader is at the bottom.
    // Content that grows without a scroll event (late images, re-renders) is caught by a
    // ResizeObserver; a scroll upward by the reader releases the stick.
    let lastTop = 0;
    this.list.addEventListener('scroll', () => {
      const top = this.list.scrollTop;
      const gap = this.list.scrollHeight - top - this.list.clientHeight;
      if (gap < 80) this.stick = true;
      else if (top < lastTop - 2) this.stick = false;
      lastTop = top;
      this.jump.hidden = this.stick || gap < 80;
    }, { passive: true });
    this.resize = new ResizeObserver(() => this.scrollToEnd(false));
    new MutationObserver((records) => {
      for (const r of records) for (const n of r.addedNodes) if (n.nodeType === 1) this.resize.observe(n);
    }).observe(this.list, { childList: true });
    watchGroups(this.list); // the bot's name once per run of its replies
    this.jump.addEventListener('click', () => { this.stick = true; this.scrollToEnd(true); });
    this.sendBtn.addEventListener('click', () => this.submit());
    this.stopBtn.addEventListener('click', () => this.stop());
    this.composer.addEventListener('keydown', (e) => {
      // Enter sends; Shift+Enter is a newline; never send while an IME is composing.
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        this.swallowEnter = true;
        this.submit();
      }
    });
    // Some input paths (IME commit, synthetic key events) still deliver the line break as
    // a separate input after a handled Enter; drop it.
    this.composer.addEventListener('beforeinput', (e) => {
      if (this.swallowEnter && (e.inputType === 'insertLineBreak' || e.inputType === 'insertParagraph')) e.preventDefault();
    });
    this.composer.addEventListener('keyup', () => { this.swallowEnter = false; });
    this.composer.addEventListener('input', () => { this.autosize(); this.updateButtons(); });
    $('#new-chat').addEventListener('click', () => this.newConversation());
    this.files = new Attachments({
      onChange: () => this.updateButtons(),
      canAttach: () => Boolean(this.bot) && !$('#attach').disabled && $('#composer-bar').offsetParent !== null,
      composer: this.composer,
      dropTarget: $('#chat'),
    });
    // Capture on window: decided before the menus and the drawer act on the same Escape.
    window.addEventListener('keydown', (e) => this.escapeStops(e), true);
    this.updateButtons();
  }

  autosize() {
    const el = this.composer;
    el.style.height = 'auto';
    el.style.height = Math.min(el.scrollHeight, 200) + 'px';
  }

  updateButtons() {
    const busy = Boolean(this.run);
    this.sendBtn.hidden = busy;
    this.stopBtn.hidden = !busy;
    const files = this.files ? this.files.ids().length : 0;
    this.sendBtn.disabled = !this.bot || (this.files && this.files.busy()) || (!this.composer.value.trim() && !files);
    this.composer.disabled = !this.bot;
    $('#attach').disabled = !this.bot;
    this.composer.placeholder = this.bot ? t('chat.placeholder', { bot: this.bot.name || '' }) : t('chat.placeholderNoBot');
  }

  /**
   * escapeStops makes Escape do what Stop does while a reply runs, wherever focus is on
   * the page, unless that Escape is for something else: an open dialog or menu closes,
   * the phone drawer shuts, an IME cancels its composition.
   */
  escapeStops(e) {
    if (e.key !== 'Escape' || e.isComposing || !this.run || this.stopBtn.hidden) return;
    if (document.querySelector('dialog[open], .menu:not([hidden])') || openPopover() || document.body.classList.contains('drawer-open')) return;
    e.preventDefault();
    this.stop();
  }

  /**
   * edit puts a sent message (text and its files) back into the composer. Sending it
   * starts a new turn: Coze keeps the earlier one, and so does the history.
   */
  edit(text, files) {
    if (!this.bot) return;
    this.composer.value = text;
    this.files.clear();
    if (files && files.ids.length) this.files.restore(files);
    this.autosize();
    this.updateButtons();
    this.composer.focus();
    this.composer.setSelectionRange(text.length, text.length);
  }

  /** relabel refreshes texts that depend on the language. */
  relabel() { this.updateButtons(); }

  scrollToEnd(force) {
    if (!force && !this.stick) return;
    this.list.scrollTop = this.list.scrollHeight;
  }

  showEmpty(on) {
    $('#chat-empty').hidden = !on;
    $('#chat-header').hidden = on;
    this.list.hidden = on;
    $('#composer-bar').classList.toggle('is-disabled', on);
  }

  setHeader(bot) {
    const av = $('#chat-bot-avatar');
    av.replaceChildren(avatar(bot.icon_url, bot.name, 'md'));
    $('#chat-bot-name').textContent = bot.name || '';
    const desc = $('#chat-bot-desc');
    desc.textContent = bot.description || '';
    desc.hidden = !bot.description;
  }

  /** selectBot opens a new conversation with bot (full info fetched from /api/bots/{id}). */
  async selectBot(bot) {
    this.openSeq = (this.openSeq || 0) + 1; // a conversation still loading must not replace this bot
    this.detach();
    this.bot = { ...bot };
    this.conversationId = '';
    this.resetView();
    try {
      const full = await api.bot(bot.id);
      if (this.bot && this.bot.id === bot.id && !this.conversationId) {
        this.bot = { ...this.bot, ...full };
        this.setHeader(this.bot);
        this.showPrologue();
      }
    } catch (err) {
      if (this.bot && this.bot.id === bot.id) this.showBanner(err);
    }
    // On phones, focusing would pop the keyboard over the prologue.
    if (!drawerMedia.matches) this.composer.focus({ preventScroll: true });
  }

  resetView() {
    this.replies = [];
    this.list.replaceChildren();
    this.showEmpty(!this.bot);
    if (this.bot) this.setHeader(this.bot);
    this.updateButtons();
    this.stick = true;
    this.jump.hidden = true;
    this.onConversationChanged(this.conversationId);
  }

  showPrologue() {
    const m = prologueMessage(this.bot, (q) => this.send(q));
    if (m) this.list.prepend(m.el);
  }

  showBanner(err) {
    this.list.append(h('div', { class: 'inline-error', attrs: { role: 'alert' } }, icon('error'),
      h('div', {}, h('div', { text: err.message || t('error.generic') }), err.hint ? h('div', { class: 'note-hint', text: err.hint }) : null)));
  }

  newConversation() {
    if (!this.bot) return;
    this.detach();
    this.conversationId = '';
    this.resetView();
    this.showPrologue();
    this.composer.focus();
  }

  submit() {
    const text = this.composer.value.trim();
    const files = { ids: this.files.ids(), names: this.files.names() };
    if ((!text && !files.ids.length) || !this.bot || this.run || this.files.busy()) return;
    this.composer.value = '';
    this.files.clear();
    this.autosize();
    this.send(text, false, files);
  }

  /** send posts text as a new user turn and streams the reply. */
  send(text, reuse, files = { ids: [], names: [] }) {
    if (!this.bot || this.run || (!text && !files.ids.length)) return;
    for (const el of this.list.querySelectorAll('.chips')) { el.hidden = true; el.replaceChildren(); }
    if (!reuse) this.list.append(this.userMessage(text, files).el);
    const msg = this.newReply(text);
    msg.userFiles = files;
    this.stick = true;
    this.scrollToEnd(true);
    this.stream(msg, text, files.ids);
  }

  /** userMessage is a sent message with its Edit action (files: {ids, names}). */
  userMessage(text, files = { ids: [], names: [] }) {
    return new UserMessage(text, files.names, { onEdit: () => this.edit(text, files) });
  }

  newReply(userText) {
    for (const r of this.replies) r.setLast(false);
    const msg = new AssistantMessage(this.bot, {
      onFollowUp: (q) => this.send(q),
      onRetry: (m) => this.redo(m),
      onRegenerate: (m) => this.redo(m),
    });
    msg.userText = userText;
    this.replies.push(msg);
    this.list.append(msg.el);
    return msg;
  }

  /** redo re-sends the user message of the last reply (regenerate / retry). */
  redo(m) {
    const files = m.userFiles || { ids: [], names: [] };
    if (this.run || this.replies[this.replies.length - 1] !== m || (!m.userText && !files.ids.length)) return;
    this.replies.pop();
    m.el.remove();
    const msg = this.newReply(m.userText);
    msg.userFiles = files;
    this.stick = true;
    this.scrollToEnd(true);
    this.stream(msg, m.userText, files.ids);
  }

  /** detach stops reading the current stream without cancelling the chat (it is still recorded). */
  detach() { detachRun(this); }

  stop() {
    return stopRun(this, (run) => (run.chatId && run.convId ? api.cancel(run.convId, run.chatId) : null));
  }

  async stream(msg, text, fileIDs = []) {
    const run = { controller: new AbortController(), msg, chatId: '', convId: this.conversationId, end: null, stopped: false, detached: false };
    this.run = run;
    this.announcer.start();
    this.updateButtons();
    const parser = new SSEParser();
    let res;
    try {
      res = await fetch('/api/chat', {
        method: 'POST',
        credentials: 'same-origin',
        headers: baseHeaders({ 'Content-Type': 'application/json', Accept: 'text/event-stream, application/json' }),
        body: JSON.stringify({ bot_id: this.bot.id, bot_name: Array.from(this.bot.name || '').slice(0, 100).join(''), bot_icon_url: this.bot.icon_url || undefined, message: text, conversation_id: this.conversationId || undefined, file_ids: fileIDs.length ? fileIDs : undefined, stream: true }),
        signal: run.controller.signal,
      });
    } catch (err) {
      this.end(run, run.stopped ? 'canceled' : 'failed', run.stopped || run.detached ? null : networkError(), true);
      return;
    }
    if (!res.ok) {
      const err = await errorFromResponse(res);
      if (res.status === 401) this.onUnauthenticated(err);
      this.end(run, 'failed', err, true);
      return;
    }
    const ct = res.headers.get('Content-Type') || '';
    if (!ct.includes('text/event-stream')) {
      await this.handleJSON(run, res);
      return;
    }
    let broken = false;
    try {
      await readEvents(res.body, parser, (ev) => this.onEvent(run, ev));
    } catch {
      broken = true;
    }
    // The connection dropped before the end, or the server ended it because it is
    // restarting: resume from the last event id — with several instances another one
    // carries on with the same reply. A restart gets a second try after the server's
    // retry hint; if nothing carries on, its end says the reply is in the history.
    for (let tries = 0; !run.stopped && !run.detached && !run.end && run.chatId && tries < 2; tries++) {
      if (tries > 0 && !run.handoff) break;
      if (tries > 0) await new Promise((ok) => { setTimeout(ok, 3000); });
      const shutdown = run.handoff;
      run.handoff = null;
      broken = !(await this.resume(run, parser));
      if (!run.end && !run.handoff) run.handoff = shutdown;
    }
    if (!run.end && run.handoff) run.end = run.handoff;
    this.settle(run, broken);
  }

  /** settle ends a run from its end event (or its absence: the connection was lost). */
  settle(run, broken) {
    if (run.detached) return;
    const e = run.end;
    if (run.stopped) this.end(run, 'canceled', null, false);
    else if (!e) this.end(run, 'incomplete', broken || !run.chatId ? new ApiError(0, 'stream_cut', t('chat.connectionLost')) : null, true);
    else if (e.status === 'completed') this.end(run, 'complete', null, false);
    else if (e.status === 'canceled') this.end(run, 'canceled', null, false);
    else if (e.code === 'requires_action') this.end(run, 'requires_action', null, false);
    else if (e.status === 'failed') this.end(run, 'failed', Object.assign(new ApiError(0, String(e.code || 'chat_failed'), e.message || t('chat.failed'), e.logId ? t('chat.logId', { id: e.logId }) : ''), { logId: e.logId, raw: e.message }), true);
    else this.end(run, 'incomplete', new ApiError(0, String(e.code || 'stream_cut'), e.message || t('chat.connectionLost')), true);
  }

  /**
   * attach follows a reply that is still being generated (opened from history) by
   * replaying its events from the start: GET /api/chat/{chat_id}/stream.
   */
  async attach(msg, chatID) {
    const saved = msg.stored;
    const run = { controller: new AbortController(), msg, chatId: chatID, convId: this.conversationId, end: null, stopped: false, detached: false };
    this.run = run;
    this.announcer.start();
    this.updateButtons();
    msg.reset();
    msg.status = 'streaming';
    msg.el.dataset.status = 'streaming';
    msg.body.setAttribute('aria-busy', 'true');
    msg.note.hidden = true;
    msg.actions.hidden = true;
    if (!(await this.resume(run, new SSEParser()))) {
      if (run.detached) return;
      if (run.stopped) { this.settle(run, true); return; }
      if (this.run === run) this.run = null;
      msg.reset();
      if (saved) applyStored(msg, saved);
      msg.finish('streaming', null, { last: true });
      this.updateButtons();
      return;
    }
    this.settle(run, false);
  }

  resume(run, parser) {
    return resumeEvents('/api/chat/' + encodeURIComponent(run.chatId) + '/stream', parser, run.controller.signal, (ev) => this.onEvent(run, ev));
  }

  async handleJSON(run, res) {
    let body = {};
    try { body = await res.json(); } catch { body = {}; }
    if (body && body.error) {
      this.end(run, 'failed', apiErrorOf(res.status, body.error), true);
      return;
    }
    if (body.conversation_id) this.setConversation(run, body.conversation_id);
    run.chatId = body.chat_id || '';
    run.msg.chatId = run.chatId;
    applyStored(run.msg, { content: body.answer, reasoning: body.reasoning, cards: body.cards, question: body.question, follow_ups: body.follow_ups, usage: body.usage });
    this.end(run, 'complete', null, false);
  }

  setConversation(run, convId) {
    if (!convId) return;
    run.convId = convId;
    if (this.run === run && this.conversationId !== convId) {
      this.conversationId = convId;
      this.onConversationChanged(convId, true);
    }
  }

  /** onEvent applies one of our stream events to the run's reply. */
  onEvent(run, ev) {
    if (run.detached) return;
    let d = null;
    try { d = JSON.parse(ev.data); } catch { d = null; }
    const obj = d && typeof d === 'object' ? d : {};
    const msg = run.msg;
    const text = typeof obj.text === 'string' ? obj.text : '';
    const scroll = () => this.scrollToEnd(false);
    switch (ev.event) {
      case 'chat':
        run.chatId = String(obj.chat_id || '');
        msg.chatId = run.chatId;
        msg.el.dataset.chatId = run.chatId;
        this.setConversation(run, String(obj.conversation_id || ''));
        if (this.run === run) this.onConversationChanged(this.conversationId, true); // the history marks it live
        break;
      case 'reasoning':
        if (text) { msg.appendReasoning(text); msg.scheduleRender(scroll); }
        break;
      case 'delta':
        if (text) { msg.appendDelta(String(obj.message_id || 'answer'), text); msg.scheduleRender(scroll); if (text.includes('\n')) this.announcer.progress(msg.content); }
        break;
      case 'card':
        if (obj.card && typeof obj.card === 'object') { msg.addCard(obj.card); scroll(); }
        break;
      case 'question':
        msg.setQuestion(text, Array.isArray(obj.options) ? obj.options.filter((o) => typeof o === 'string') : []);
        scroll();
        break;
      case 'follow_up':
        if (text) { msg.addFollowUp(text); scroll(); }
        break;
      case 'end':
        if (!ev.ownId && obj.code === 'server_shutdown') {
          // Ends only this connection: the reply goes on (docs/stream-contract.md).
          run.handoff = { status: String(obj.status || ''), code: 'server_shutdown', message: endWords(obj), logId: '' };
          break;
        }
        run.end = { status: String(obj.status || ''), code: String(obj.code || ''), message: endWords(obj), logId: typeof obj.log_id === 'string' ? obj.log_id : '' };
        if (obj.usage) msg.setUsage(obj.usage);
        break;
      default:
        break; // unknown events are ignored (the server may add kinds)
    }
  }

  end(run, status, err, retry) {
    if (run.detached) return;
    run.msg.finish(status, err, { retry, last: true });
    this.announcer.finish(run.msg.content, endState(run.msg));
    if (this.run === run) this.run = null;
    this.updateButtons();
    this.scrollToEnd(false);
    this.onConversationChanged(this.conversationId, true);
  }

  /** openConversation shows a stored conversation from history. */
  async openConversation(id) {
    const seq = this.openSeq = (this.openSeq || 0) + 1; // a later open or bot wins (a reload at an address races a click)
    const data = await api.messages(id);
    if (seq !== this.openSeq) return;
    this.detach();
    const conv = data.conversation || {};
    this.bot = { id: conv.bot_id || '', name: conv.bot_name || '', icon_url: conv.bot_icon_url || '', description: '' };
    this.conversationId = conv.id || id;
    this.convTitle = { id: this.conversationId, title: String(conv.title || '') }; // the tab title (router.js)
    this.resetView();
    const msgs = Array.isArray(data.messages) ? data.messages : [];
    let lastUser = '';
    let last = null;
    for (const m of msgs) {
      if (m.role === 'user') {
        lastUser = String(m.content || '');
        this.list.append(this.userMessage(lastUser).el);
        continue;
      }
      const msg = this.newReply(lastUser);
      msg.chatId = String(m.chat_id || '');
      msg.el.dataset.chatId = msg.chatId;
      msg.stored = m;
      applyStored(msg, m);
      let st = ['complete', 'canceled', 'incomplete', 'failed', 'streaming'].includes(m.status) ? m.status : 'complete';
      if (st === 'failed' && m.error_code === 'requires_action') st = 'requires_action';
      msg.finish(st, null, { retry: st === 'failed' || st === 'incomplete', last: false });
      last = msg;
    }
    for (const [i, r] of this.replies.entries()) {
      if (i < this.replies.length - 1) r.clearFollowUps();
    }
    if (last) last.setLast(true);
    this.stick = true;
    this.scrollToEnd(true);
    if (last && last.status === 'streaming' && last.chatId) this.attach(last, last.chatId);
    api.bot(this.bot.id).then((full) => {
      if (this.bot && this.bot.id === full.id) {
        this.bot = { ...this.bot, ...full };
        this.setHeader(this.bot);
        this.updateButtons();
      }
    }).catch(() => {});
  }
}

/**
 * applyStored fills a reply from a finished one's parts, as the history and the
 * non-stream answer give them: answer (content), reasoning, cards, question, follow-ups,
 * usage. The same parts the stream delivered, so a reply reads the same after a reload.
 */
function applyStored(msg, m) {
  if (typeof m.reasoning === 'string' && m.reasoning) msg.setReasoning(m.reasoning);
  if (Array.isArray(m.cards)) for (const c of m.cards) if (c && typeof c === 'object') msg.addCard(c);
  msg.setPart('answer', typeof m.content === 'string' ? m.content : '');
  const q = m.question;
  if (q && typeof q === 'object' && (typeof q.text === 'string' || Array.isArray(q.options))) {
    msg.setQuestion(typeof q.text === 'string' ? q.text : '', Array.isArray(q.options) ? q.options.filter((o) => typeof o === 'string') : []);
  }
  if (Array.isArray(m.follow_ups)) for (const f of m.follow_ups) msg.addFollowUp(f);
  msg.setUsage(m.usage);
}

/** openPopover is the open popover (a reply's details), which its own Escape closes; null where the selector is unknown. */
function openPopover() {
  try { return document.querySelector(':popover-open'); } catch { return null; }
}
