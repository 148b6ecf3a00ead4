/**
 * Weight analysis in the browser, the twin of tb_plugin/weights.py: a
 * variable as an [inputs, outputs] matrix, relative change, magnitude
 * pruning, sparsity, histogram and PCA of the output units (Jacobi
 * eigen-decomposition of the smaller Gram/covariance matrix). Pure
 * functions, no DOM.
 */

/**
 * [inputs, outputs] of a variable: the last axis is the outputs, every leading axis folds into the inputs.
 * @param {number[]} shape
 * @returns {[number, number]}
 */
export function matrixDims(shape) {
  if (shape.length === 0) return [1, 1];
  if (shape.length === 1) return [1, shape[0]];
  const outputs = shape[shape.length - 1];
  return [shape.slice(0, -1).reduce((a, b) => a * b, 1), outputs];
}

/** Frobenius norm over finite values (NaN/Inf make it NaN). @param {ArrayLike<number>} v */
export function norm(v) {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/**
 * ||current - previous|| / ||previous|| (Infinity when ||previous|| is 0 and they differ).
 * @param {ArrayLike<number>} previous
 * @param {ArrayLike<number>} current
 */
export function relativeChange(previous, current) {
  let d = 0;
  let b = 0;
  for (let i = 0; i < current.length; i++) {
    const x = current[i] - previous[i];
    d += x * x;
    b += previous[i] * previous[i];
  }
  if (b === 0) return d === 0 ? 0 : Infinity;
  return Math.sqrt(d) / Math.sqrt(b);
}

/**
 * Element-wise current - reference.
 * @param {Float32Array} current
 * @param {Float32Array} reference
 */
export function delta(current, reference) {
  const out = new Float32Array(current.length);
  for (let i = 0; i < current.length; i++) out[i] = current[i] - reference[i];
  return out;
}

/**
 * Magnitude pruning: zeroes floor(fraction * n) weights of smallest |w| (ties: first ones first; NaN counts as largest).
 * @param {Float32Array} values
 * @param {number} fraction in [0, 1]
 * @returns {{values: Float32Array, kept: Uint8Array, weightsKept: number, normKept: number, threshold: number}}
 */
export function prune(values, fraction) {
  const n = values.length;
  const removed = Math.min(n, Math.max(0, Math.floor(fraction * n + 1e-9)));
  const mag = (/** @type {number} */ i) => {
    const v = values[i];
    return v !== v ? Infinity : Math.abs(v);
  };
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => mag(a) - mag(b) || a - b);
  const kept = new Uint8Array(n).fill(1);
  for (let k = 0; k < removed; k++) kept[order[k]] = 0;
  const out = new Float32Array(n);
  let all = 0;
  let rest = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    all += v * v;
    if (kept[i]) {
      out[i] = v;
      rest += v * v;
    }
  }
  return {
    values: out,
    kept,
    weightsKept: n ? (n - removed) / n : 1,
    normKept: all > 0 ? Math.sqrt(rest) / Math.sqrt(all) : 1,
    threshold: removed > 0 ? mag(order[removed - 1]) : 0,
  };
}

/**
 * Fraction of values with |v| < threshold (NaN never counts).
 * @param {ArrayLike<number>} values
 * @param {number} threshold
 */
export function sparsity(values, threshold) {
  let c = 0;
  for (let i = 0; i < values.length; i++) if (Math.abs(values[i]) < threshold) c++;
  return values.length ? c / values.length : 0;
}

/**
 * Counts of the values (non-finite ones aside) in `bins` equal bins.
 * @param {ArrayLike<number>} values
 * @param {number} bins
 * @returns {{edges: number[], counts: number[]}}
 */
export function histogram(values, bins = 30) {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (!(hi >= lo)) return { edges: [0, 1], counts: [0] };
  if (hi === lo) {
    lo -= 0.5;
    hi += 0.5;
  }
  const counts = new Array(bins).fill(0);
  const width = (hi - lo) / bins;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
  }
  const edges = [];
  for (let k = 0; k <= bins; k++) edges.push(lo + k * width);
  return { edges, counts };
}

/**
 * Eigen-decomposition of a symmetric matrix (cyclic Jacobi).
 * @param {Float64Array} a n*n row-major, destroyed
 * @param {number} n
 * @returns {{values: Float64Array, vectors: Float64Array}} vectors column k = eigenvector k (unsorted)
 */
function jacobi(a, n) {
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    let diag = 0;
    for (let p = 0; p < n; p++) {
      diag += a[p * n + p] * a[p * n + p];
      for (let q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    }
    if (off <= 1e-24 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors: v };
}

/** The largest matrix side PCA decomposes (the smaller of units and inputs). */
export const PCA_MAX_SIDE = 256;

/**
 * PCA of the output units (columns of the [inputs, outputs] matrix), centred.
 * @param {Float32Array} values C-order variable
 * @param {number[]} shape
 * @param {number} [components]
 * @returns {{ratios: number[], axes: Float64Array[]}|null} null when too large or non-finite
 *   axes: unit vectors over the inputs, each with its largest-magnitude entry positive
 */
export function pca(values, shape, components = 8) {
  const [d, n] = matrixDims(shape); // features d (inputs), samples n (outputs)
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return null;
  if (Math.min(n, d) > PCA_MAX_SIDE || n < 2) return null;
  // X: n samples x d features, centred. values[i*n + j] = input i, output j.
  const x = new Float64Array(n * d);
  for (let f = 0; f < d; f++) {
    let mean = 0;
    for (let s = 0; s < n; s++) mean += values[f * n + s];
    mean /= n;
    for (let s = 0; s < n; s++) x[s * d + f] = values[f * n + s] - mean;
  }
  const useGram = n <= d;
  const m = useGram ? n : d;
  const a = new Float64Array(m * m);
  if (useGram) {
    for (let p = 0; p < n; p++)
      for (let q = p; q < n; q++) {
        let s = 0;
        for (let f = 0; f < d; f++) s += x[p * d + f] * x[q * d + f];
        a[p * n + q] = a[q * n + p] = s;
      }
  } else {
    for (let p = 0; p < d; p++)
      for (let q = p; q < d; q++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += x[k * d + p] * x[k * d + q];
        a[p * d + q] = a[q * d + p] = s;
      }
  }
  const { values: eig, vectors } = jacobi(a, m);
  const order = Array.from({ length: m }, (_, i) => i).sort((i, j) => eig[j] - eig[i]);
  let total = 0;
  for (let i = 0; i < m; i++) total += Math.max(0, eig[i]);
  const ratios = [];
  const axes = [];
  for (const k of order.slice(0, Math.min(components, m))) {
    const lambda = Math.max(0, eig[k]);
    ratios.push(total > 0 ? lambda / total : 0);
    const axis = new Float64Array(d);
    if (useGram) {
      for (let f = 0; f < d; f++) {
        let s = 0;
        for (let p = 0; p < n; p++) s += x[p * d + f] * vectors[p * m + k];
        axis[f] = s;
      }
    } else for (let f = 0; f < d; f++) axis[f] = vectors[f * m + k];
    const len = norm(axis);
    let big = 0;
    for (let f = 0; f < d; f++) if (Math.abs(axis[f]) > Math.abs(axis[big])) big = f;
    const sign = axis[big] < 0 ? -1 : 1;
    for (let f = 0; f < d; f++) axis[f] = len > 0 ? (sign * axis[f]) / len : 0;
    axes.push(axis);
  }
  return { ratios, axes };
}
