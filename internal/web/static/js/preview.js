// preview: a picked image shown before (or without) any upload. CSP img-src has no
// data: or blob:, so the file is decoded with createImageBitmap and drawn on a canvas,
// cropped to a square like an avatar. Used by the bot icon and the composer's chips.

import { h } from './dom.js';

/** isImageFile reports whether the browser may be able to draw file. */
export function isImageFile(file) { return /^image\//.test(file.type || ''); }

/**
 * imagePreview resolves to a size×size canvas (CSS class cls) showing file's image
 * cropped to its centre square, labelled with the file name; null when the browser
 * cannot decode it (Coze may still take the file).
 */
export async function imagePreview(file, size, cls) {
  let bmp;
  try { bmp = await createImageBitmap(file); } catch { return null; }
  const side = Math.min(bmp.width, bmp.height);
  const c = h('canvas', { class: cls, width: size, height: size, attrs: { role: 'img', 'aria-label': file.name } });
  c.getContext('2d').drawImage(bmp, (bmp.width - side) / 2, (bmp.height - side) / 2, side, side, 0, 0, size, size);
  bmp.close();
  return c;
}
