/**
 * The attention view's arithmetic (pure, no DOM): token labels of a sample,
 * each head's mean row entropy, the mean over heads, and the colour range
 * of a head. The view (view.js) draws; this computes.
 */

/**
 * Labels of sample `s` from a tag's labels (shared list or one per sample).
 * @param {any} labels @param {number} sample @param {number} length
 * @returns {string[]}
 */
export function labelsFor(labels, sample, length) {
  let list = Array.isArray(labels) ? labels : null;
  if (list && list.length && Array.isArray(list[0])) list = list[Math.min(sample, list.length - 1)];
  if (!list || list.length !== length) return Array.from({ length }, (_, i) => String(i));
  return list.map(String);
}

/**
 * Mean row entropy (nats) of each head of one sample.
 * @param {Float32Array} values @param {number} offset @param {number} heads @param {number} q @param {number} k
 */
export function headEntropies(values, offset, heads, q, k) {
  const out = [];
  for (let h = 0; h < heads; h++) {
    let sum = 0;
    for (let r = 0; r < q; r++) {
      const base = offset + (h * q + r) * k;
      let total = 0;
      for (let c = 0; c < k; c++) if (values[base + c] > 0) total += values[base + c];
      let e = 0;
      for (let c = 0; c < k; c++) {
        const p = values[base + c] / total;
        if (p > 0) e -= p * Math.log(p);
      }
      sum += e;
    }
    out.push(sum / q);
  }
  return out;
}

/**
 * Mean over heads of each step's per-head entropy (an /attention_summary answer).
 * @param {{steps: number[], entropy: number[][]}} series
 * @returns {Array<number|null>}
 */
export function meanOverHeads(series) {
  return series.entropy.map((e) => (Array.isArray(e) && e.length ? e.reduce((a, b) => a + b, 0) / e.length : null));
}

/**
 * The mean over heads of one sample's scores, as a `[q, k]` array.
 * @param {Float32Array} values @param {number} offset the sample's first score @param {number} heads @param {number} q @param {number} k
 */
export function meanOfHeads(values, offset, heads, q, k) {
  const mean = new Float32Array(q * k);
  for (let hh = 0; hh < heads; hh++) {
    const base = offset + hh * q * k;
    for (let i = 0; i < q * k; i++) mean[i] += values[base + i] / heads;
  }
  return mean;
}

/**
 * [lo, hi] of the finite values among `n` from `offset` ([Infinity, -Infinity] when none).
 * @param {ArrayLike<number>} values @param {number} offset @param {number} n
 * @returns {[number, number]}
 */
export function finiteRange(values, offset, n) {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = offset; i < offset + n; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return [lo, hi];
}

/**
 * The colour range [lo, hi] of head `h` (`heads`: the mean over heads).
 * @param {(h: number) => [number, number]} rangeOf the finite range of head h (0 ... heads)
 * @param {number} h @param {number} heads
 * @param {{perHead: boolean, difference: boolean, normalized: boolean,
 *   ext: import("../../scales.js").Scale|null}} how perHead: each head its own range (else one
 *   over the heads and their mean); difference: symmetric about zero; normalized: attention
 *   weights, whose 0 means "no attention" (the range starts there); ext: the range from outside
 *   (scales.js), taken unless perHead
 * @returns {[number, number]}
 */
export function colourRange(rangeOf, h, heads, { perHead, difference, normalized, ext }) {
  let [lo, hi] = perHead ? rangeOf(h) : [Infinity, -Infinity];
  if (!perHead) {
    for (let hh = 0; hh <= heads; hh++) {
      const [a, b] = rangeOf(hh);
      lo = Math.min(lo, a);
      hi = Math.max(hi, b);
    }
  }
  if (difference) {
    const m = Math.max(Math.abs(lo), Math.abs(hi));
    [lo, hi] = [-m, m];
  } else if (normalized) lo = Math.min(0, lo);
  if (ext && !perHead && Number.isFinite(ext.min) && Number.isFinite(ext.max)) [lo, hi] = [ext.min, ext.max];
  if (!(hi > lo)) hi = lo + 1;
  return [lo, hi];
}

/**
 * The strongest partner of a token: for query `index` the key it attends most to, for key
 * `index` the query that reads it most, with that weight.
 * @param {ArrayLike<number>} values @param {number} offset @param {number} q @param {number} k
 * @param {"q"|"k"} side @param {number} index
 * @returns {{best: number, weight: number}} best -1 when there is none
 */
export function strongestPartner(values, offset, q, k, side, index) {
  let best = -1;
  let weight = -Infinity;
  const n = side === "q" ? k : q;
  for (let o = 0; o < n; o++) {
    const w = side === "q" ? values[offset + index * k + o] : values[offset + o * k + index];
    if (w > weight) {
      weight = w;
      best = o;
    }
  }
  return { best, weight };
}
