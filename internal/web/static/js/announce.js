// announce: a streamed answer read out politely, one finished paragraph at a time, then how
// it ended (issue 10 item 11). The message list is not a live region: it changes on every
// token, which a screen reader would read as a stutter of fragments.

import { h } from './dom.js';
import { t } from './i18n.js';
import { renderMarkdown } from './markdown.js';

// Block elements whose text is spoken apart from its neighbours' (a table cell, a list item).
const BLOCK = /^(P|LI|TD|TH|TR|PRE|BLOCKQUOTE|H[1-6]|DIV|UL|OL|TABLE|FIGCAPTION|DT|DD)$/;
const FENCE = /^\s{0,3}(```|~~~)/;

/** spokenText is the plain text of a markdown paragraph, as rendered (sanitized) and read. */
export function spokenText(md) {
  const parts = [];
  const walk = (node) => {
    for (const n of node.childNodes) {
      if (n.nodeType === Node.TEXT_NODE) parts.push(n.data);
      else if (n.nodeType === Node.ELEMENT_NODE) {
        if (n.tagName === 'IMG') { parts.push(' ', n.getAttribute('alt') || '', ' '); continue; }
        const block = BLOCK.test(n.tagName);
        if (block) parts.push(' ');
        walk(n);
        if (block) parts.push(' ');
      }
    }
  };
  walk(renderMarkdown(md, false));
  return parts.join('').replace(/\s+/g, ' ').trim();
}

/**
 * AnswerAnnouncer appends to a polite live region each paragraph of the answer once it
 * is finished (a blank line outside a code fence follows it), and at the end the rest
 * and the final state. It scans only the lines it has not seen.
 */
export class AnswerAnnouncer {
  /** who, if given, names the bot before its answer's first words (side-by-side answers). */
  constructor(region, who = '') {
    this.region = region;
    this.who = who;
    this.start();
  }

  /** start empties the region for a new answer. */
  start() {
    this.from = 0; // where the paragraph not yet said begins
    this.pos = 0; // the first character not yet scanned
    this.fence = false;
    this.named = !this.who;
    this.region.replaceChildren();
  }

  /**
   * progress says every paragraph of text that has been finished since the last call;
   * only a line break can finish one, so callers may skip pieces without one.
   */
  progress(text) {
    if (text.length < this.pos) this.start(); // the reply was replayed from its start
    for (let nl = text.indexOf('\n', this.pos); nl >= 0; nl = text.indexOf('\n', this.pos)) {
      const line = text.slice(this.pos, nl);
      this.pos = nl + 1;
      if (FENCE.test(line)) this.fence = !this.fence;
      else if (!this.fence && !line.trim()) this.sayUpTo(text, this.pos);
    }
  }

  /** finish says what is left of text, then state (how the answer ended), if any. */
  finish(text, state) {
    this.progress(text);
    this.sayUpTo(text, text.length);
    this.say(state);
  }

  sayUpTo(text, end) {
    const md = text.slice(this.from, end).trim();
    this.from = end;
    if (md) this.say(spokenText(md));
  }

  say(words) {
    if (!words) return;
    if (!this.named) { words = t('a11y.botSays', { bot: this.who, text: words }); this.named = true; }
    this.region.append(h('p', { text: words }));
  }
}

/** endState says how a reply ended: its note's words, or that it is complete. */
export function endState(msg) {
  if (msg.note.hidden) return t('a11y.answerDone');
  const words = msg.note.querySelector('.note-text') || msg.note;
  return words.textContent;
}
