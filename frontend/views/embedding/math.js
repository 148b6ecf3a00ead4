/**
 * The embedding scatter's arithmetic, pure (no DOM): categorical colouring
 * with an honest legend, interpolation of points between steps, the
 * equal-aspect fit of points into a canvas, and the nearest point to the
 * pointer. Unit-tested under node (tests/frontend/embedding_math.test.mjs).
 *
 * Points are flat `Float64Array`s `[x0, y0, x1, y1, ...]`; NaN marks a sample
 * without a position (a row with non-finite values at that step).
 */

/**
 * Tableau 10, the published categorical palette (Tableau's default since
 * 2016): ten hues a viewer tells apart, in their published order.
 */
export const CATEGORICAL = Object.freeze([
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
]);
/** The colour of samples in no shown category ("other", "no label"): a named neutral. */
export const OTHER_COLOUR = "#595959";

/**
 * @typedef {Object} Category
 * @property {string} name what the legend says
 * @property {string} colour CSS colour
 * @property {number} count samples of it
 */

/**
 * Colours per sample from one categorical column. Up to 10 categories each
 * get a palette colour; with more, the 9 most frequent do and the rest share
 * OTHER_COLOUR under one legend entry that says how many categories it holds,
 * so no colour ever stands for two names without saying so.
 * @param {Array<string|number|null>|null} values one per sample (null: no column)
 * @param {string[]|null} [names] names of integer class indices
 * @returns {{index: Int32Array, categories: Category[]}} index: the sample's category
 */
export function categorize(values, names = null) {
  if (!values) return { index: new Int32Array(0), categories: [] };
  const nameOf = (/** @type {any} */ v) =>
    v === null || v === undefined ? "no label" : names && Number.isInteger(v) && v >= 0 && v < names.length ? String(names[v]) : String(v);
  /** @type {Map<string, number>} */
  const counts = new Map();
  const keys = values.map(nameOf);
  for (const k of keys) counts.set(k, (counts.get(k) || 0) + 1);
  const numeric = values.every((v) => typeof v === "number");
  const collator = new Intl.Collator("en", { numeric: true });
  // Class order: by index for integer labels, else natural order of the names.
  let order = Array.from(counts.keys());
  if (numeric) {
    const first = new Map();
    keys.forEach((k, i) => {
      if (!first.has(k)) first.set(k, Number(values[i]));
    });
    order.sort((a, b) => first.get(a) - first.get(b));
  } else order.sort(collator.compare);
  const max = CATEGORICAL.length;
  /** @type {Set<string>} */
  let shown = new Set(order);
  if (order.length > max) {
    const top = order.slice().sort((a, b) => /** @type {number} */ (counts.get(b)) - /** @type {number} */ (counts.get(a)) || collator.compare(a, b));
    shown = new Set(top.slice(0, max - 1));
  }
  /** @type {Category[]} */
  const categories = [];
  /** @type {Map<string, number>} */
  const where = new Map();
  for (const k of order) {
    if (!shown.has(k)) continue;
    where.set(k, categories.length);
    categories.push({ name: k, colour: CATEGORICAL[categories.length], count: /** @type {number} */ (counts.get(k)) });
  }
  if (shown.size < order.length) {
    const rest = order.filter((k) => !shown.has(k));
    const other = categories.length;
    categories.push({
      name: `${rest.length} other categories`,
      colour: OTHER_COLOUR,
      count: rest.reduce((s, k) => s + /** @type {number} */ (counts.get(k)), 0),
    });
    for (const k of rest) where.set(k, other);
  }
  const index = new Int32Array(keys.length);
  keys.forEach((k, i) => {
    index[i] = /** @type {number} */ (where.get(k));
  });
  return { index, categories };
}

/**
 * Served points (`[[x, y] | null, ...]`) as a flat array (NaN for null).
 * @param {Array<[number, number]|null>} points
 */
export function flatPoints(points) {
  const out = new Float64Array(points.length * 2);
  points.forEach((p, i) => {
    out[2 * i] = p ? p[0] : NaN;
    out[2 * i + 1] = p ? p[1] : NaN;
  });
  return out;
}

/**
 * Positions a fraction `t` of the way from `from` to `to` (same samples).
 * A sample with no position in `from` (or a different sample count) is at
 * its `to` position; one without a position in `to` has none.
 * @param {Float64Array|null} from @param {Float64Array} to @param {number} t in [0, 1]
 */
export function interpolate(from, to, t) {
  if (!from || from.length !== to.length || t >= 1) return to.slice();
  const out = new Float64Array(to.length);
  for (let i = 0; i < to.length; i += 2) {
    const fx = from[i];
    const fy = from[i + 1];
    if (Number.isFinite(fx) && Number.isFinite(fy)) {
      out[i] = fx + (to[i] - fx) * t;
      out[i + 1] = fy + (to[i + 1] - fy) * t;
    } else {
      out[i] = to[i];
      out[i + 1] = to[i + 1];
    }
  }
  return out;
}

/** Smooth start and stop (cubic ease in-out). @param {number} t */
export function ease(t) {
  const c = Math.min(1, Math.max(0, t));
  return c < 0.5 ? 4 * c * c * c : 1 - Math.pow(-2 * c + 2, 3) / 2;
}

/**
 * The bounding box of the finite points, or null when there are none.
 * @param {Float64Array} points
 * @returns {{x0: number, x1: number, y0: number, y1: number}|null}
 */
export function bounds(points) {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < points.length; i += 2) {
    const x = points[i];
    const y = points[i + 1];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return x0 <= x1 ? { x0, x1, y0, y1 } : null;
}

/**
 * The map from projection coordinates to canvas px: one scale for both axes
 * (distances mean the same across and up), the box centred, y up.
 * `px = x * sx + ox`, `py = y * sy + oy` (sy < 0).
 * @param {{x0: number, x1: number, y0: number, y1: number}|null} box
 * @param {number} width @param {number} height @param {number} pad px kept free at each edge
 */
export function fit(box, width, height, pad) {
  if (!box) return { sx: 1, sy: -1, ox: width / 2, oy: height / 2 };
  const w = Math.max(box.x1 - box.x0, 1e-12);
  const h = Math.max(box.y1 - box.y0, 1e-12);
  const scale = Math.min((width - 2 * pad) / w, (height - 2 * pad) / h);
  const cx = (box.x0 + box.x1) / 2;
  const cy = (box.y0 + box.y1) / 2;
  return { sx: scale, sy: -scale, ox: width / 2 - cx * scale, oy: height / 2 + cy * scale };
}

/**
 * The sample nearest to canvas point (px, py) within `radius` px, among the
 * samples `visible(i)` says are drawn; -1 when none.
 * @param {Float64Array} points @param {{sx: number, sy: number, ox: number, oy: number}} tf
 * @param {number} px @param {number} py @param {number} radius @param {(i: number) => boolean} [visible]
 */
export function nearest(points, tf, px, py, radius, visible) {
  let best = -1;
  let bestD = radius * radius;
  for (let i = 0; i < points.length / 2; i++) {
    const x = points[2 * i];
    const y = points[2 * i + 1];
    if (!Number.isFinite(x) || !Number.isFinite(y) || (visible && !visible(i))) continue;
    const dx = x * tf.sx + tf.ox - px;
    const dy = y * tf.sy + tf.oy - py;
    const d = dx * dx + dy * dy;
    if (d <= bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

/**
 * The draw order: later samples are drawn over earlier ones; the hovered and
 * the highlighted sample go last so they are never hidden.
 * @param {number} n @param {number[]} last
 */
export function drawOrder(n, last) {
  const keep = last.filter((i) => i >= 0 && i < n);
  const order = [];
  const skip = new Set(keep);
  for (let i = 0; i < n; i++) if (!skip.has(i)) order.push(i);
  return order.concat(keep);
}

/** The projection methods' names as the user reads them. */
export const METHOD_NAMES = Object.freeze({ pca: "PCA", tsne: "t-SNE", umap: "UMAP" });

/** @param {string} method @returns {string} */
export function methodName(method) {
  return METHOD_NAMES[/** @type {keyof typeof METHOD_NAMES} */ (method)] || method;
}

/** A share as "12.3%", "n/a" when missing. @param {number|null|undefined} v */
export const pct = (v) => (typeof v === "number" && Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : "n/a");

/** A score as "0.123", "n/a" when missing. @param {number|null|undefined} v */
export const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(3) : "n/a");
