// messages: the DOM of one chat message (user or assistant) and its small toolbar.
// Bot text (answer, reasoning, question) reaches the DOM only through renderMarkdown
// (sanitized fragment); everything else (names, cards, options, follow-ups, error
// messages) through textContent.

import { h, icon, avatar, copyText, placeMenu } from './dom.js';
import { renderMarkdown } from './markdown.js';
import { renderCard, optionGroup } from './cards.js';
import { t } from './i18n.js';
import { explain } from './deadends.js';

let uid = 0;

function toolButton(name, labelKey, onClick, cls = '') {
  const b = h('button', {
    type: 'button',
    class: 'icon-btn icon-btn-sm ' + cls,
    title: t(labelKey),
    attrs: { 'aria-label': t(labelKey), 'data-i18n-title': labelKey, 'data-i18n-aria-label': labelKey },
    on: { click: onClick },
  }, icon(name));
  return b;
}

function flashCopied(btn) {
  btn.replaceChildren(icon('check'));
  btn.classList.add('is-done');
  setTimeout(() => { btn.replaceChildren(icon('copy')); btn.classList.remove('is-done'); }, 1500);
}

/**
 * UserMessage is a sent message bubble (plain text, pre-wrapped). onEdit, when given,
 * adds Edit: the message goes back into the composer and is sent as a new one.
 */
export class UserMessage {
  constructor(text, fileNames = [], { onEdit } = {}) {
    this.text = text;
    const copy = toolButton('copy', 'chat.copy', async () => { if (await copyText(this.text)) flashCopied(copy); });
    const edit = onEdit && (text || fileNames.length) ? toolButton('edit', 'chat.editResend', onEdit, 'edit-msg') : null;
    const files = fileNames.length
      ? h('div', { class: 'msg-files' }, fileNames.map((n) => h('span', { class: 'file-chip' }, icon('attach'), h('span', { class: 'file-name', text: n }))))
      : null;
    this.el = h('div', { class: 'msg user', attrs: { 'data-testid': 'msg-user' } },
      h('div', { class: 'msg-main' },
        files,
        text ? h('div', { class: 'bubble' }, h('div', { class: 'msg-body plain', text: text })) : null,
        h('div', { class: 'msg-actions' }, text ? copy : null, edit)));
  }
}

/**
 * AssistantMessage is one bot reply: the bot's thinking (a foldable block above the
 * answer), answer parts keyed by Coze message id (multi-answer replies concatenate in
 * arrival order), cards, a question with options, follow-up chips, usage and a status
 * note. The answer alone is what Copy copies.
 */
export class AssistantMessage {
  constructor(bot, { onFollowUp, onRetry, onRegenerate, prologue = false } = {}) {
    this.parts = new Map();
    this.reasoning = '';
    this.cards = [];
    this.question = null;
    this.optionButtons = [];
    this.choiceMade = false;
    this.isLast = true;
    this.followUps = [];
    this.usage = null;
    this.chatId = '';
    this.userText = '';
    this.status = 'streaming';
    this.pending = 0;
    this.onFollowUp = onFollowUp;
    this.onRetry = onRetry;
    this.onRegenerate = onRegenerate;

    const n = ++uid;
    this.n = n;
    this.body = h('div', { class: 'msg-body markdown' });
    this.bubble = h('div', { class: 'bubble answer' }, this.body);
    this.reasoningBody = h('div', { class: 'reasoning-body markdown', id: 'reasoning-' + n });
    this.reasoningLabel = h('span', { class: 'reasoning-label' });
    this.reasoningToggle = h('button', {
      type: 'button', class: 'reasoning-toggle',
      attrs: { 'aria-expanded': 'true', 'aria-controls': this.reasoningBody.id },
      on: { click: () => { this.reasoningTouched = true; this.setReasoningOpen(!this.reasoningOpen); } },
    }, icon('lightbulb', 'reasoning-icon'), this.reasoningLabel, icon('expand', 'reasoning-chevron'));
    this.reasoningEl = h('div', { class: 'reasoning', hidden: true, attrs: { 'data-testid': 'msg-reasoning' } },
      this.reasoningToggle, this.reasoningBody);
    this.setReasoningOpen(true);
    this.reasoningFolded = false; // folded once automatically when the answer starts
    this.reasoningTouched = false;
    this.reasoningDrawn = '';
    this.cardsEl = h('div', { class: 'msg-cards', hidden: true });
    this.questionEl = h('div', { class: 'msg-question', hidden: true, attrs: { 'data-testid': 'msg-question' } });
    this.note = h('div', { class: 'msg-note', hidden: true, attrs: { role: 'status' } });
    this.chips = h('div', { class: 'chips follow-ups', hidden: true, attrs: { role: 'group', 'aria-label': t('chat.followUps') } });
    this.actions = h('div', { class: 'msg-actions', hidden: true });
    // The head (avatar and name) sits above the answer, which has the full width;
    // markGroups hides it on a reply that follows one of the same bot.
    this.el = h('div', { class: 'msg assistant' + (prologue ? ' prologue' : ''), dataset: { botId: (bot && bot.id) || '' }, attrs: { 'data-testid': prologue ? 'msg-prologue' : 'msg-assistant' } },
      h('div', { class: 'msg-main' },
        h('div', { class: 'msg-head' },
          h('div', { class: 'msg-avatar' }, avatar(bot && bot.icon_url, bot && bot.name, 'sm')),
          h('div', { class: 'msg-name', text: (bot && bot.name) || '' })),
        this.reasoningEl, this.bubble, this.cardsEl, this.questionEl,
        this.note, this.actions, this.chips));
    if (!prologue) {
      this.el.dataset.status = 'streaming';
      this.body.setAttribute('aria-busy', 'true');
      this.setThinking(true);
    }
  }

  /** content is the full answer text (all answer parts). */
  get content() { return Array.from(this.parts.values()).filter((s) => s).join('\n\n'); }

  setThinking(on) {
    this.el.classList.toggle('is-thinking', on);
    if (on) {
      this.body.replaceChildren(h('span', { class: 'typing', attrs: { role: 'status', 'aria-label': t('chat.thinking') } },
        h('span', { class: 'dot' }), h('span', { class: 'dot' }), h('span', { class: 'dot' })));
    }
  }

  /** appendDelta adds a streamed fragment to message id. */
  appendDelta(id, text) { this.parts.set(id, (this.parts.get(id) || '') + text); }

  /** setPart replaces message id's text with the authoritative completed content. */
  setPart(id, text) { this.parts.set(id, text); }

  /** appendReasoning adds a streamed fragment of the bot's thinking. */
  appendReasoning(text) {
    if (typeof text !== 'string' || !text) return;
    this.reasoning += text;
    this.reasoningEl.hidden = false;
    this.scheduleRender();
  }

  /** setReasoning replaces the whole thinking text (history). */
  setReasoning(text) {
    this.reasoning = typeof text === 'string' ? text : '';
    this.reasoningEl.hidden = !this.reasoning;
    this.scheduleRender();
  }

  setReasoningOpen(open) {
    this.reasoningOpen = open;
    this.reasoningEl.classList.toggle('is-open', open);
    this.reasoningToggle.setAttribute('aria-expanded', String(open));
    this.reasoningBody.hidden = !open;
  }

  /** addCard shows one card (the server's safe card shape); its options act like a question's. */
  addCard(card) {
    const { el, buttons } = renderCard(card, (text) => this.choose(text));
    this.cards.push(card);
    this.cardsEl.append(el);
    this.cardsEl.hidden = false;
    this.optionButtons.push(...buttons);
    this.updateOptions();
    this.showContent();
  }

  /** setQuestion shows the bot's question (markdown) with its options as buttons. */
  setQuestion(text, options) {
    const q = { text: typeof text === 'string' ? text : '', options: Array.isArray(options) ? options : [] };
    this.question = q;
    const old = this.questionEl.querySelectorAll('.option');
    this.optionButtons = this.optionButtons.filter((b) => !Array.from(old).includes(b));
    const { el, buttons } = optionGroup(q.options, (choice) => this.choose(choice));
    const body = h('div', { class: 'msg-body markdown question-text' });
    if (q.text) body.append(renderMarkdown(q.text, true));
    this.questionEl.replaceChildren(h('div', { class: 'bubble question' }, icon('help', 'question-icon'), body), el);
    this.questionEl.hidden = !q.text && !el;
    this.optionButtons.push(...buttons);
    this.updateOptions();
    this.showContent();
  }

  /** choose sends an option as the next user message (as a follow-up chip does). */
  choose(text) {
    if (!this.optionsEnabled()) return;
    this.choiceMade = true;
    this.updateOptions();
    if (this.onFollowUp) this.onFollowUp(text);
  }

  optionsEnabled() { return this.status !== 'streaming' && this.isLast && !this.choiceMade; }

  updateOptions() {
    const on = this.optionsEnabled();
    for (const b of this.optionButtons) b.disabled = !on;
  }

  /** showContent drops the typing dots once something other than the answer arrived. */
  showContent() {
    if (this.status === 'streaming' && !this.content) {
      if (this.el.classList.contains('is-thinking')) this.body.replaceChildren();
      this.el.classList.remove('is-thinking');
      this.el.classList.add('is-empty');
    }
  }

  /**
   * scheduleRender re-renders (sanitized) at most once per animation frame; in a
   * hidden tab, where frames do not run, at most every 250 ms.
   */
  scheduleRender(after) {
    if (this.pending) return;
    const run = () => {
      this.pending = 0;
      this.render(false);
      if (after) after();
    };
    this.pendingTimer = document.hidden;
    this.pending = this.pendingTimer ? setTimeout(run, 250) : requestAnimationFrame(run);
  }

  /** render draws the thinking and the answer; final=true enables code language auto-detection. */
  render(final) {
    if (this.pending && final) {
      if (this.pendingTimer) clearTimeout(this.pending); else cancelAnimationFrame(this.pending);
      this.pending = 0;
    }
    const text = this.content;
    this.renderReasoning(final, text);
    if (!text && this.status === 'streaming') {
      if (this.reasoning) this.showContent();
      return;
    }
    this.el.classList.remove('is-thinking');
    this.body.replaceChildren(renderMarkdown(text, final));
    this.el.classList.toggle('is-empty', !text);
  }

  renderReasoning(final, answer) {
    if (!this.reasoning) return;
    const live = this.status === 'streaming' && !answer;
    const key = live ? 'chat.reasoning.live' : 'chat.reasoning.done';
    this.reasoningLabel.textContent = t(key);
    this.reasoningLabel.dataset.i18n = key;
    this.reasoningEl.classList.toggle('is-live', live);
    // Fold once when the answer starts; after that the reader decides.
    if (answer && !this.reasoningFolded) {
      this.reasoningFolded = true;
      if (!this.reasoningTouched) this.setReasoningOpen(false);
    } else if (!this.reasoningFolded && !this.reasoningTouched && !this.reasoningOpen) {
      this.setReasoningOpen(true);
    }
    const drawn = (final ? 'F' : 'S') + this.reasoning;
    if (drawn === this.reasoningDrawn) return;
    this.reasoningDrawn = drawn;
    this.reasoningBody.replaceChildren(renderMarkdown(this.reasoning, final));
  }

  /**
   * reset empties a reply before its events are replayed from the start (following a
   * reply that is still being generated): answer, thinking, cards, question, chips.
   */
  reset() {
    this.parts.clear();
    this.reasoning = '';
    this.reasoningDrawn = '';
    this.reasoningFolded = false;
    this.reasoningTouched = false;
    this.setReasoningOpen(true);
    this.reasoningEl.hidden = true;
    this.reasoningBody.replaceChildren();
    this.cards = [];
    this.cardsEl.replaceChildren();
    this.cardsEl.hidden = true;
    this.question = null;
    this.questionEl.replaceChildren();
    this.questionEl.hidden = true;
    this.optionButtons = [];
    this.choiceMade = false;
    this.clearFollowUps();
    this.followUps = [];
  }

  addFollowUp(text) {
    if (typeof text !== 'string' || !text.trim() || this.followUps.includes(text)) return;
    this.followUps.push(text);
    this.chips.append(h('button', {
      type: 'button', class: 'chip follow-up', text,
      on: { click: () => this.onFollowUp && this.onFollowUp(text) },
    }));
    this.chips.hidden = false;
  }

  clearFollowUps() { this.chips.replaceChildren(); this.chips.hidden = true; }

  setUsage(u) {
    if (!u || typeof u !== 'object') return;
    this.usage = {
      total: Number(u.token_count) || 0, input: Number(u.input_count) || 0, output: Number(u.output_count) || 0,
    };
    if (this.status !== 'streaming') this.buildActions(this.isLast);
  }

  /**
   * finish ends streaming with status complete|canceled|incomplete|failed|streaming and an
   * optional error {message, hint}; retry offers the Retry button.
   */
  finish(status, err, { retry = false, last = true } = {}) {
    this.status = status;
    this.el.dataset.status = status;
    this.body.removeAttribute('aria-busy');
    this.setThinking(false);
    this.isLast = last;
    this.render(true);
    this.updateOptions();
    const noteKey = { canceled: 'chat.canceled', incomplete: 'chat.incomplete', failed: 'chat.failed', streaming: 'chat.streamingNote', requires_action: 'chat.requiresAction' }[status];
    // Dead ends: plain words and the action that can help instead of a useless Retry (deadends.js).
    const plain = explain(err, this);
    if (plain) { err = plain.err; retry = retry && plain.retry; }
    this.deadEnd = Boolean(plain && !plain.retry); // neither Retry nor Regenerate can help
    if (err || noteKey) {
      this.note.replaceChildren();
      this.note.className = 'msg-note ' + (err || status === 'failed' ? 'is-error' : 'is-info');
      this.note.append(icon(err || status === 'failed' ? 'error' : 'info'));
      const text = h('div', { class: 'note-text' });
      text.append(h('span', { class: 'note-msg', text: err && err.message ? err.message : t(noteKey || 'chat.failed') }));
      if (err && err.hint) text.append(h('span', { class: 'note-hint', text: err.hint }));
      this.note.append(text);
      if (plain) plain.extra(text, this.note);
      if (retry && this.onRetry) {
        this.note.append(h('button', { type: 'button', class: 'btn btn-text retry', on: { click: () => this.onRetry(this) } }, icon('refresh'), h('span', { text: t('chat.retry') })));
      }
      this.note.hidden = false;
    } else {
      this.note.hidden = true;
    }
    this.buildActions(last);
  }

  buildActions(last) {
    const items = [];
    if (this.content) {
      const copy = toolButton('copy', 'chat.copy', async () => { if (await copyText(this.content)) flashCopied(copy); }, 'copy-msg');
      items.push(copy);
    }
    const hasRetry = !this.note.hidden && this.note.querySelector('.retry');
    if (last && !hasRetry && !this.deadEnd && this.onRegenerate && (this.userText || (this.userFiles && this.userFiles.ids.length))) {
      items.push(toolButton('refresh', 'chat.regenerate', () => this.onRegenerate(this), 'regenerate'));
    }
    if (this.usage) items.push(...this.detailsMenu());
    this.actions.replaceChildren(...items);
    this.actions.hidden = items.length === 0;
  }

  /**
   * detailsMenu is the "⋯" button and the popover it opens with the reply's details
   * (token usage), kept off the reply itself. The browser's popover gives Escape and
   * click-outside; focus moves in on open and back to the button on Escape.
   */
  detailsMenu() {
    const pop = h('div', {
      class: 'msg-details', id: 'details-' + this.n, tabIndex: -1,
      attrs: { popover: 'auto', role: 'dialog', 'aria-label': t('chat.details'), 'data-i18n-aria-label': 'chat.details', 'data-testid': 'msg-details' },
    },
    h('div', { class: 'msg-details-title', text: t('chat.details'), attrs: { 'data-i18n': 'chat.details' } }),
    h('div', { class: 'msg-usage', text: t('chat.usage', this.usage) }));
    const btn = h('button', {
      type: 'button', class: 'icon-btn icon-btn-sm details-btn', title: t('chat.details'),
      attrs: {
        'aria-label': t('chat.details'), 'data-i18n-title': 'chat.details', 'data-i18n-aria-label': 'chat.details',
        'aria-haspopup': 'dialog', 'aria-expanded': 'false', 'aria-controls': pop.id, popovertarget: pop.id,
      },
    }, icon('moreHoriz'));
    pop.addEventListener('beforetoggle', (e) => { if (e.newState === 'open') pop.classList.remove('is-placed'); });
    pop.addEventListener('toggle', (e) => {
      const open = e.newState === 'open';
      btn.setAttribute('aria-expanded', String(open));
      if (!open) return;
      placeMenu(pop, btn, true);
      pop.classList.add('is-placed');
      pop.focus();
    });
    // Tabbing out closes it, as leaving a menu does.
    pop.addEventListener('focusout', (e) => {
      if (e.relatedTarget && !pop.contains(e.relatedTarget) && e.relatedTarget !== btn) pop.hidePopover();
    });
    return [btn, pop];
  }

  /** setLast shows or hides the regenerate button (only the last reply has it). */
  setLast(last) {
    this.isLast = last;
    this.updateOptions();
    if (this.status !== 'streaming') this.buildActions(last);
  }
}

/**
 * markGroups shows a bot's name once per group: an assistant message right after
 * another of the same bot is marked is-continued (chat.css hides its head).
 */
export function markGroups(list) {
  let prev = null;
  for (const el of list.children) {
    const same = prev && el.classList.contains('assistant') && prev.classList.contains('assistant') && prev.dataset.botId === el.dataset.botId;
    el.classList.toggle('is-continued', Boolean(same));
    prev = el;
  }
}

/** watchGroups keeps markGroups true while messages are added and removed. */
export function watchGroups(list) {
  markGroups(list);
  new MutationObserver(() => markGroups(list)).observe(list, { childList: true });
}

/** prologueMessage renders the bot's opening text plus suggested-question chips. */
export function prologueMessage(bot, onPick) {
  const m = new AssistantMessage(bot, { prologue: true });
  const text = bot.prologue || '';
  if (text) {
    m.parts.set('prologue', text);
    m.status = 'complete';
    m.render(true);
  } else {
    m.bubble.hidden = true;
  }
  const qs = Array.isArray(bot.suggested_questions) ? bot.suggested_questions.filter((q) => typeof q === 'string' && q.trim()) : [];
  if (qs.length) {
    m.chips.className = 'chips suggestions';
    m.chips.setAttribute('aria-label', t('chat.suggested'));
    for (const q of qs.slice(0, 6)) {
      m.chips.append(h('button', { type: 'button', class: 'chip suggested', text: q, on: { click: () => onPick(q) } }));
    }
    m.chips.hidden = false;
  }
  if (!text && !qs.length) return null;
  return m;
}
