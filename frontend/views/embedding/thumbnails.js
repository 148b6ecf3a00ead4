/**
 * The samples' input thumbnails in the embedding's tooltip: one decoded
 * `[n, h, w, c]` payload per step, each sample drawn scaled to its range
 * over all samples, upscaled without smoothing.
 */

import { el } from "../../dom.js";

/** The thumbnail's longest side, in CSS px (whole multiples of the input). */
const THUMB_PX = 64;

/**
 * @typedef {{shape: number[], values: Float32Array, lo: number, hi: number}} Thumbnails
 *   lo, hi: the finite range over every sample
 */

/**
 * The thumbnails of a payload with their range, or null when it holds none.
 * @param {{shape: number[], values: Float32Array}|null} decoded
 * @returns {Thumbnails|null}
 */
export function thumbnailsOf(decoded) {
  if (!decoded || decoded.shape.length < 3) return null;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of decoded.values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return Object.assign(decoded, { lo, hi });
}

/**
 * Sample `i`'s thumbnail as a small canvas, or null.
 * @param {Thumbnails|null} t @param {number} i
 */
export function thumbnail(t, i) {
  if (!t || i >= t.shape[0]) return null;
  const [, h, w] = t.shape;
  const c = t.shape.length > 3 ? t.shape[3] : 1;
  const image = new ImageData(w, h);
  const span = t.hi > t.lo ? t.hi - t.lo : 1;
  const base = i * h * w * c;
  for (let k = 0; k < h * w; k++) {
    for (let ch = 0; ch < 3; ch++) {
      const v = t.values[base + k * c + (c >= 3 ? ch : 0)];
      image.data[4 * k + ch] = Math.round((255 * ((Number.isFinite(v) ? v : t.lo) - t.lo)) / span);
    }
    image.data[4 * k + 3] = 255;
  }
  const small = el("canvas", { width: w, height: h });
  /** @type {CanvasRenderingContext2D} */ (small.getContext("2d")).putImageData(image, 0, 0);
  const scale = Math.max(1, Math.floor(THUMB_PX / Math.max(w, h)));
  const big = el("canvas", { class: "emb-thumb", width: w * scale, height: h * scale, "aria-label": `input of sample #${i}` });
  const ctx = /** @type {CanvasRenderingContext2D} */ (big.getContext("2d"));
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, w * scale, h * scale);
  return big;
}
