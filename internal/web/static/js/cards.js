// cards: the server's safe card shape (stream contract: title, text, image_url, links,
// options, unknown) and question options as DOM. Every string goes in through
// textContent; URLs are checked again here (https: only) although the server already
// dropped the others; an image loads only from the sources answers may load images
// from (images.js: Coze's CDN), any other becomes the same placeholder as in an answer.

import { h, icon, httpsURL } from './dom.js';
import { t } from './i18n.js';
import { answerImageURL, blockedImageSource, imagePlaceholder } from './images.js';

const MAX_OPTIONS = 12;
const MAX_LINKS = 8;

function str(v) { return typeof v === 'string' ? v.trim() : ''; }

/**
 * optionGroup renders choices as buttons; a click calls onPick(text). It returns the
 * group element and its buttons (the message enables or disables them).
 */
export function optionGroup(options, onPick) {
  const texts = [];
  for (const o of Array.isArray(options) ? options : []) {
    const s = str(o);
    if (s && !texts.includes(s)) texts.push(s);
    if (texts.length === MAX_OPTIONS) break;
  }
  if (!texts.length) return { el: null, buttons: [] };
  const buttons = texts.map((text) => h('button', {
    type: 'button', class: 'chip option', text, disabled: true,
    attrs: { 'data-testid': 'option' },
    on: { click: () => onPick(text) },
  }));
  const el = h('div', { class: 'options', attrs: { role: 'group', 'aria-label': t('chat.options'), 'data-i18n-aria-label': 'chat.options' } }, buttons);
  return { el, buttons };
}

/**
 * renderCard builds one card; onPick receives a chosen option. A card that says it is
 * unknown, or has nothing we can show, becomes a neutral line (never raw JSON).
 */
export function renderCard(card, onPick) {
  const c = card && typeof card === 'object' && !Array.isArray(card) ? card : { unknown: true };
  const title = str(c.title);
  const text = str(c.text);
  const image = httpsURL(c.image_url);
  const links = [];
  for (const l of Array.isArray(c.links) ? c.links : []) {
    const url = l && typeof l === 'object' ? httpsURL(l.url) : '';
    if (url) links.push({ url, text: str(l.text) || new URL(url).hostname });
    if (links.length === MAX_LINKS) break;
  }
  const opts = optionGroup(c.options, onPick);
  if (c.unknown === true || (!title && !text && !image && !links.length && !opts.el)) {
    return {
      el: h('div', { class: 'card card-unknown', attrs: { role: 'note', 'data-testid': 'msg-card', 'data-card': 'unknown' } },
        icon('info'), h('span', { text: t('card.unknown'), attrs: { 'data-i18n': 'card.unknown' } })),
      buttons: [],
    };
  }
  let img = null;
  const loadable = image ? answerImageURL(image) : '';
  if (loadable) {
    img = h('img', { class: 'card-image', src: loadable, alt: '', loading: 'lazy', decoding: 'async', referrerPolicy: 'no-referrer' });
    // A broken image leaves no empty frame.
    img.addEventListener('error', () => img.remove(), { once: true });
  } else if (image && blockedImageSource(image)) {
    img = imagePlaceholder(blockedImageSource(image), title);
  }
  const linkRow = links.length
    ? h('div', { class: 'card-links', attrs: { role: 'group', 'aria-label': t('card.links'), 'data-i18n-aria-label': 'card.links' } },
      links.map((l) => h('a', {
        class: 'btn btn-tonal card-link', href: l.url, target: '_blank', rel: 'noopener noreferrer nofollow', referrerPolicy: 'no-referrer',
      }, h('span', { class: 'card-link-text', text: l.text }), icon('openNew'))))
    : null;
  const el = h('div', { class: 'card', attrs: { role: 'group', 'aria-label': title || t('card.label'), 'data-testid': 'msg-card' } },
    img,
    h('div', { class: 'card-content' },
      title ? h('div', { class: 'card-title', text: title }) : null,
      text ? h('div', { class: 'card-text', text }) : null,
      linkRow,
      opts.el));
  return { el, buttons: opts.buttons };
}
