/**
 * Colour-scale modes: which value range a panel's colours span. Pure (no DOM).
 *
 *   "fixed"   the whole tag's range over all its logged steps (the default:
 *             playing and scrubbing compare like with like), from `/ranges`;
 *   "step"    the shown step's own range;
 *   "robust"  the 1st to 99th percentile over all steps (from `/ranges`);
 *             values beyond are painted at the ends and counted as clipped;
 *   "unit"    fixed 0 to 1 (attention probabilities).
 * Signed views (weights, differences) are centred on zero: [-m, m].
 * Per-channel ranges (the "per channel" colour scale) follow the same mode:
 * fixed and robust from `/ranges`' per-channel entries over all steps, "step"
 * and differences from the shown tensor (then null here: the view uses the
 * step's own), and the legend names which (`channelWhere`).
 * A difference has no whole-tag range (it is computed in the browser from
 * two steps), so it is always scaled per step, and the legend says so.
 * `combineScales` gives one range across compared panels.
 */

/** @typedef {"fixed"|"step"|"robust"|"unit"} ScaleMode */

/** [value, label] of each mode, for the select. */
export const SCALE_MODES = [
  ["fixed", "Fixed over all steps"],
  ["step", "Per step"],
  ["robust", "Robust (1st–99th percentile, all steps)"],
  ["unit", "Fixed 0–1"],
];

/**
 * @typedef {Object} Scale
 * @property {number} min
 * @property {number} max
 * @property {ScaleMode} mode the mode in effect
 * @property {string} name what the range is, for the legend
 * @property {string} label the mode's name without counts (for a range shared across panels)
 * @property {boolean} clip values beyond the range are expected (robust, 0–1): count them
 * @property {Float64Array|null} channelMin per-channel ranges over the whole tag (fixed, robust); null: the shown step's own
 * @property {Float64Array|null} channelMax
 * @property {string|null} channelWhere what the per-channel ranges span, for the legend (null: this step's)
 */

/** @param {ScaleMode|string} mode */
export function scaleMode(mode) {
  return mode === "step" || mode === "robust" || mode === "unit" ? mode : "fixed";
}

/**
 * The whole tag's range from a `/ranges` answer: [min, max] over steps of the
 * per-step min/max ("fixed") or p01/p99 ("robust"); null when no step has values.
 * @param {{min: Array<number|null>, max: Array<number|null>, p01: Array<number|null>, p99: Array<number|null>}} ranges
 * @param {"fixed"|"robust"} mode
 * @returns {[number, number]|null}
 */
export function tagRange(ranges, mode) {
  const los = mode === "robust" ? ranges.p01 : ranges.min;
  const his = mode === "robust" ? ranges.p99 : ranges.max;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of los) if (v !== null && Number.isFinite(v) && v < lo) lo = v;
  for (const v of his) if (v !== null && Number.isFinite(v) && v > hi) hi = v;
  return lo <= hi ? [lo, hi] : null;
}

/**
 * Per channel, the whole tag's range from a `/ranges` answer: over steps of
 * each channel's min/max ("fixed") or p01/p99 ("robust"); null when the
 * answer has no per-channel entries or the channel count changes between steps.
 * A channel without finite values gets [0, 0].
 * @param {any} ranges @param {"fixed"|"robust"} mode
 * @returns {{lo: Float64Array, hi: Float64Array}|null}
 */
export function tagChannelRanges(ranges, mode) {
  const los = mode === "robust" ? ranges.channel_p01 : ranges.channel_min;
  const his = mode === "robust" ? ranges.channel_p99 : ranges.channel_max;
  if (!Array.isArray(los) || !Array.isArray(his) || !los.length) return null;
  const n = Array.isArray(los[0]) ? los[0].length : 0;
  if (!n || !los.every((l) => Array.isArray(l) && l.length === n) || !his.every((h) => Array.isArray(h) && h.length === n)) return null;
  const lo = new Float64Array(n).fill(Infinity);
  const hi = new Float64Array(n).fill(-Infinity);
  for (const row of los) row.forEach((v, c) => v !== null && Number.isFinite(v) && v < lo[c] && (lo[c] = v));
  for (const row of his) row.forEach((v, c) => v !== null && Number.isFinite(v) && v > hi[c] && (hi[c] = v));
  for (let c = 0; c < n; c++) if (!(lo[c] <= hi[c])) lo[c] = hi[c] = 0;
  return { lo, hi };
}

/**
 * The range a panel paints with.
 * @param {{mode: ScaleMode, signed: boolean, difference: boolean, attention?: boolean,
 *          stats: {min: number, max: number, finite: number}|null,
 *          ranges: any|null, steps?: number}} input
 *   signed: centred on zero (weights, differences); stats: the shown step's (needed for "step"
 *   and differences); ranges: the tag's `/ranges` answer (needed for "fixed" and "robust")
 * @returns {Scale|null} null when what it needs is missing
 */
export function resolveScale({ mode, signed, difference, attention = false, stats, ranges }) {
  mode = scaleMode(mode);
  const finish = (/** @type {number} */ lo, /** @type {number} */ hi, /** @type {ScaleMode} */ m, /** @type {string} */ name, clip = false, label = name,
    /** @type {{lo: Float64Array, hi: Float64Array}|null} */ channels = null, /** @type {string|null} */ channelWhere = null) => {
    if (signed) {
      const a = Math.max(Math.abs(lo), Math.abs(hi));
      [lo, hi] = [-a, a];
      name += ", centred on zero";
      label += ", centred on zero";
      if (channels) {
        const m = channels.lo.map((l, c) => Math.max(Math.abs(l), Math.abs(channels.hi[c])));
        channels = { lo: m.map((v) => -v), hi: m };
      }
    } else if (attention && m !== "unit") lo = Math.min(0, lo); // 0 is "no attention"
    return { min: lo, max: hi, mode: m, name, label, clip, channelMin: channels && channels.lo, channelMax: channels && channels.hi, channelWhere: channels && channelWhere };
  };
  if (mode === "unit" && !difference) return finish(0, 1, "unit", "Fixed 0–1", true);
  if (difference || mode === "step") {
    if (!stats) return null;
    const lo = stats.finite ? stats.min : 0;
    const hi = stats.finite ? stats.max : 0;
    const name = difference
      ? mode === "step"
        ? "Per step (this difference)"
        : "Per step: a difference has no whole-tag range"
      : "Per step (this step's range)";
    return finish(lo, hi, "step", name);
  }
  if (!ranges) return null;
  const r = tagRange(ranges, mode);
  const [lo, hi] = r || [0, 0];
  const n = Array.isArray(ranges.steps) ? ranges.steps.length : 0;
  const channels = tagChannelRanges(ranges, mode);
  return mode === "robust"
    ? finish(lo, hi, "robust", `Robust: 1st–99th percentile over all ${n} steps`, true, "Robust: 1st–99th percentile over all steps",
        channels, `from its 1st to 99th percentile over all ${n} steps (beyond: clipped)`)
    : finish(lo, hi, "fixed", `Fixed over all ${n} steps`, false, "Fixed over all steps", channels, `over all ${n} steps`);
}

/**
 * One range across compared panels (null entries skipped).
 * @param {Array<Scale|null>} scales
 * @returns {Scale|null}
 */
export function combineScales(scales) {
  const list = /** @type {Scale[]} */ (scales.filter(Boolean));
  if (!list.length) return null;
  const min = Math.min(...list.map((s) => s.min));
  const max = Math.max(...list.map((s) => s.max));
  const first = list[0];
  const sameName = list.every((s) => s.name === first.name);
  const sameLabel = list.every((s) => s.label === first.label);
  const name = sameName ? first.name : sameLabel ? first.label : "Mixed scales";
  // Per-channel ranges: one across panels when every panel has them for the same channels.
  const n = first.channelMin ? first.channelMin.length : 0;
  const perChannel = n > 0 && list.every((s) => s.channelMin && s.channelMax && s.channelMin.length === n && s.channelWhere === first.channelWhere);
  const channelMin = perChannel ? Float64Array.from({ length: n }, (_, c) => Math.min(...list.map((s) => /** @type {Float64Array} */ (s.channelMin)[c]))) : null;
  const channelMax = perChannel ? Float64Array.from({ length: n }, (_, c) => Math.max(...list.map((s) => /** @type {Float64Array} */ (s.channelMax)[c]))) : null;
  return {
    ...first,
    min,
    max,
    clip: list.some((s) => s.clip),
    name: `${name}; shared across ${list.length} panels`,
    channelMin,
    channelMax,
    channelWhere: perChannel ? first.channelWhere : null,
  };
}

/**
 * Finite values outside their channel's [lo[c], hi[c]] (channels along the last axis of C-order values).
 * @param {ArrayLike<number>} values @param {ArrayLike<number>} lo @param {ArrayLike<number>} hi
 */
export function countClippedPerChannel(values, lo, hi) {
  const channels = lo.length;
  let n = 0;
  for (let i = 0, c = 0; i < values.length; i++, c = c + 1 === channels ? 0 : c + 1) {
    const v = values[i];
    if (v < lo[c] || v > hi[c]) n += Number.isFinite(v) ? 1 : 0;
  }
  return n;
}

/**
 * Finite values outside [lo, hi] (painted at the ends: clipped).
 * @param {ArrayLike<number>} values @param {number} lo @param {number} hi
 */
export function countClipped(values, lo, hi) {
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo || v > hi) n += Number.isFinite(v) ? 1 : 0;
  }
  return n;
}
