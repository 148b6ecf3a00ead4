/**
 * The confusion view's arithmetic: pure functions, no DOM, no fetches
 * (unit-tested under node, tests/frontend/confusion.test.mjs). The numbers
 * come from the backend (tb_plugin/class_stats.py); this module only turns
 * them into what is painted: row rates, orders, ranges, chart positions.
 */

/**
 * Row-normalised confusion: rate[a][b] = C[a][b] / (samples of true class a);
 * null for a class without samples.
 * @param {number[][]} confusion
 * @returns {Array<Array<number|null>>}
 */
export function rowRates(confusion) {
  return confusion.map((row) => {
    const total = row.reduce((s, v) => s + v, 0);
    return row.map((v) => (total > 0 ? v / total : null));
  });
}

/**
 * Off-diagonal cells by count, largest first (ties: row, then column order).
 * @param {number[][]} confusion
 * @param {number} [limit]
 * @returns {Array<{a: number, b: number, count: number}>}
 */
export function confusedCells(confusion, limit = Infinity) {
  const cells = [];
  confusion.forEach((row, a) =>
    row.forEach((count, b) => {
      if (a !== b && count > 0) cells.push({ a, b, count });
    })
  );
  cells.sort((x, y) => y.count - x.count || x.a - y.a || x.b - y.b);
  return cells.slice(0, limit);
}

/**
 * A square matrix with rows and columns reordered: out[i][j] = m[order[i]][order[j]].
 * @template T
 * @param {T[][]} matrix
 * @param {number[]} order
 * @returns {T[][]}
 */
export function permute(matrix, order) {
  return order.map((i) => order.map((j) => matrix[i][j]));
}

/**
 * Whether `order` is a permutation of 0..k-1 (else the identity is used).
 * @param {any} order @param {number} k
 * @returns {number[]}
 */
export function validOrder(order, k) {
  const identity = Array.from({ length: k }, (_, i) => i);
  if (!Array.isArray(order) || order.length !== k) return identity;
  const seen = new Set(order);
  return seen.size === k && order.every((i) => Number.isInteger(i) && i >= 0 && i < k) ? order : identity;
}

/**
 * The common range of two class-mean profiles (finite values; [0, 1] when none).
 * @param {Array<number|null>|null} a @param {Array<number|null>|null} b
 * @returns {[number, number]}
 */
export function profileRange(a, b) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const list of [a, b]) {
    for (const v of list || []) {
      if (v === null || !Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (lo === Infinity) return [0, 1];
  if (hi === lo) return [lo - 0.5, hi + 0.5];
  return [lo, hi];
}

/**
 * The largest finite |value| (a symmetric range ±m for differences; 1 when none is above zero).
 * @param {Array<number|null>|null} values
 */
export function absMax(values) {
  let m = 0;
  for (const v of values || []) if (v !== null && Number.isFinite(v) && Math.abs(v) > m) m = Math.abs(v);
  return m > 0 ? m : 1;
}

/**
 * Position t in [0, 1] of `value` in [lo, hi] (clamped), or null for a missing value.
 * @param {number|null} value @param {number} lo @param {number} hi
 */
export function position(value, lo, hi) {
  if (value === null || !Number.isFinite(value)) return null;
  if (!(hi > lo)) return 0.5;
  return Math.min(1, Math.max(0, (value - lo) / (hi - lo)));
}

/**
 * The x positions (px) of n points spread over [left, right] (one point: the middle).
 * @param {number} n @param {number} left @param {number} right
 */
export function spread(n, left, right) {
  if (n <= 1) return [(left + right) / 2];
  return Array.from({ length: n }, (_, i) => left + ((right - left) * i) / (n - 1));
}

/**
 * A y mapping for values into [top, bottom] px over [lo, hi] (hi at the top).
 * @param {number} lo @param {number} hi @param {number} top @param {number} bottom
 * @returns {(v: number) => number}
 */
export function yScale(lo, hi, top, bottom) {
  const span = hi > lo ? hi - lo : 1;
  return (v) => bottom - ((v - lo) / span) * (bottom - top);
}

/**
 * Cell size (px) of a k x k matrix that fits `width` px, between `min` and `max`.
 * @param {number} k @param {number} width @param {number} [min] @param {number} [max]
 */
export function cellSize(k, width, min = 6, max = 44) {
  return Math.max(min, Math.min(max, Math.floor(width / Math.max(1, k))));
}

/**
 * Samples of true class a predicted as b, for display: the first `limit` and how many more.
 * @param {number[]} samples @param {number} limit
 */
export function shownSamples(samples, limit) {
  return { shown: samples.slice(0, limit), more: Math.max(0, samples.length - limit) };
}

/**
 * The index of the layer whose similarity heatmap shows first: the last layer
 * before the output layer when there are several (the last hidden layer), else 0.
 * @param {number} layers
 */
export function defaultSimilarityLayer(layers) {
  return layers > 1 ? layers - 2 : 0;
}

/** A rate as a percentage with one decimal. @param {number|null} r */
export function percent(r) {
  return r === null || !Number.isFinite(r) ? "–" : `${(100 * r).toFixed(1)}%`;
}

/** The name of class i (its index when the step names none). @param {any} doc @param {number} i */
export function nameOf(doc, i) {
  const names = doc && Array.isArray(doc.class_names) ? doc.class_names : null;
  return names && names[i] !== undefined ? String(names[i]) : String(i);
}
