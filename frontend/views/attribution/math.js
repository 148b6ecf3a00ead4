/**
 * Pure helpers of the attribution view (no DOM), unit-tested under node
 * (tests/frontend/attribution.test.mjs).
 *
 * A step's maps are `[samples, targets, height, width, methods]` float32
 * (tb_plugin/attribution_data.py); the side document names the methods
 * (last axis) and targets (second axis: "true", "predicted"). The token
 * layout (`doc.layout === "tokens"`, text models) is `[samples, targets,
 * tokens, methods]`: one score per token.
 */

/** Methods whose maps are signed (drawn on the diverging map, centred on zero). */
export const SIGNED_METHODS = ["integrated_gradients"];

/** What each method's map is, as the legend and the method switch say it. */
export const METHOD_LABELS = {
  gradcam: "Grad-CAM",
  saliency: "Gradients",
  smoothgrad: "SmoothGrad",
  integrated_gradients: "Integrated gradients",
};

/** @param {string} method */
export function methodLabel(method) {
  return /** @type {any} */ (METHOD_LABELS)[method] || method;
}

/**
 * One map `[height, width]` out of a step's maps.
 * @param {Float32Array} values @param {number[]} shape [n, targets, h, w, methods]
 * @param {number} sample @param {number} target @param {number} method
 * @returns {Float32Array}
 */
export function mapOf(values, shape, sample, target, method) {
  const [n, t, h, w, m] = shape;
  if (sample < 0 || sample >= n || target < 0 || target >= t || method < 0 || method >= m) {
    throw new RangeError(`no map for sample ${sample}, target ${target}, method ${method} in shape [${shape.join(", ")}]`);
  }
  const out = new Float32Array(h * w);
  const base = (sample * t + target) * h * w * m;
  for (let p = 0; p < h * w; p++) out[p] = values[base + p * m + method];
  return out;
}

/**
 * The colour range of one method at this step: over every sample and target
 * (so the grid's samples are comparable). Unsigned maps: [0, max];
 * signed: symmetric about zero. Non-finite values are left out.
 * @param {Float32Array} values @param {number[]} shape @param {number} method @param {boolean} signed
 * @returns {[number, number]}
 */
export function methodRange(values, shape, method, signed) {
  const m = shape[shape.length - 1]; // 5-d image maps and 4-d token maps both end in methods
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = method; i < values.length; i += m) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return [0, 0];
  if (signed) {
    const a = Math.max(Math.abs(lo), Math.abs(hi));
    return [-a, a];
  }
  return [Math.min(0, lo), hi];
}

/**
 * The input image of a sample as RGB bytes, `[h * w * 3]`: values in [0, 1]
 * scaled by 255 (when the image's maximum is above 1.5 they are taken as 0-255);
 * one channel is grey.
 * @param {Float32Array} values @param {number[]} shape [n, h, w, c]
 * @param {number} sample
 * @returns {Uint8ClampedArray}
 */
export function imageRgb(values, shape, sample) {
  const [n, h, w, c] = shape;
  const s = Math.min(sample, n - 1);
  const base = s * h * w * c;
  let max = 0;
  for (let i = base; i < base + h * w * c; i++) if (values[i] > max) max = values[i];
  const scale = max > 1.5 ? 1 : 255;
  const out = new Uint8ClampedArray(h * w * 3);
  for (let p = 0; p < h * w; p++) {
    for (let j = 0; j < 3; j++) out[p * 3 + j] = Math.round(values[base + p * c + (c >= 3 ? j : 0)] * scale);
  }
  return out;
}

/**
 * The overlay as painted: each pixel `(1 - opacity) * image + opacity * colour(value)`,
 * RGBA bytes `[h * w * 4]` (opaque), `colour` from the colour map over [lo, hi].
 * @param {Float32Array} map [h * w] @param {Uint8ClampedArray|null} rgb [h * w * 3], null: grey
 * @param {{colourOf: (v: number, lo: number, hi: number) => number[]}} colormap
 * @param {number} lo @param {number} hi @param {number} opacity in [0, 1]
 * @returns {Uint8ClampedArray}
 */
export function overlayPixels(map, rgb, colormap, lo, hi, opacity) {
  const a = Math.min(1, Math.max(0, opacity));
  const out = new Uint8ClampedArray(map.length * 4);
  for (let p = 0; p < map.length; p++) {
    const c = colormap.colourOf(map[p], lo, hi);
    for (let j = 0; j < 3; j++) {
      const base = rgb ? rgb[p * 3 + j] : 128;
      out[p * 4 + j] = Math.round((1 - a) * base + a * c[j]);
    }
    out[p * 4 + 3] = 255;
  }
  return out;
}

/**
 * A class as the view names it: its name when the run logged class names, else "class i".
 * @param {number|null|undefined} index @param {string[]|null|undefined} names
 */
export function className(index, names) {
  if (index === null || index === undefined) return "–";
  return names && names[index] !== undefined ? `${names[index]} (${index})` : `class ${index}`;
}

/**
 * The caption of a sample: true and predicted class with their probabilities (or scores).
 * @param {any} doc the step's side document @param {number} sample
 * @returns {{truth: string|null, predicted: string, correct: boolean|null}}
 */
export function sampleCaption(doc, sample) {
  const names = doc.class_names || null;
  const what = doc.probabilities === false ? "score" : "p";
  const fmt = (/** @type {number|null|undefined} */ v) => (v === null || v === undefined ? "" : ` ${what} = ${v.toFixed(3)}`);
  const pc = doc.predicted_class[sample];
  const predicted = `predicted ${className(pc, names)}${fmt(doc.predicted_probability && doc.predicted_probability[sample])}`;
  if (!doc.true_class) return { truth: null, predicted, correct: null };
  const tc = doc.true_class[sample];
  return {
    truth: `true ${className(tc, names)}${fmt(doc.true_probability && doc.true_probability[sample])}`,
    predicted,
    correct: tc === pc,
  };
}

/**
 * One sample's token scores `[tokens]` out of a token-layout step.
 * @param {Float32Array} values @param {number[]} shape [n, targets, tokens, methods]
 * @param {number} sample @param {number} target @param {number} method
 * @returns {Float32Array}
 */
export function tokenScores(values, shape, sample, target, method) {
  const [n, t, k, m] = shape;
  if (sample < 0 || sample >= n || target < 0 || target >= t || method < 0 || method >= m) {
    throw new RangeError(`no token scores for sample ${sample}, target ${target}, method ${method} in shape [${shape.join(", ")}]`);
  }
  const out = new Float32Array(k);
  const base = (sample * t + target) * k * m;
  for (let p = 0; p < k; p++) out[p] = values[base + p * m + method];
  return out;
}

/**
 * Black or white text, whichever reads better on a background colour (relative luminance).
 * @param {number[]} rgb @returns {string}
 */
export function textOn(rgb) {
  const lum = (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / 255;
  return lum > 0.5 ? "#000" : "#fff";
}
