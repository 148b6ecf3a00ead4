/**
 * Where things go on the charts' SVG (charts/line.js, charts/histogram.js):
 * round ticks, the plot's margins and the value-to-pixel scales. Pure (no
 * DOM), so it can be read and tested apart from the drawing.
 */

import { formatTick } from "../format.js";

/** Height of every chart's SVG, in CSS px. */
export const HEIGHT = 92;
/** Room around the plot (the left is `plotLeft`: it depends on the tick labels). */
export const MARGIN = { top: 7, right: 10, bottom: 18 };
const TICK_CHAR_PX = 6; // ~width of a 10px tabular digit

/**
 * "Nice" round ticks covering [lo, hi] (1, 2 or 5 times a power of ten).
 * @param {number} lo
 * @param {number} hi
 * @param {number} count about this many intervals
 * @param {boolean} [integer] ticks are integers (steps)
 * @returns {number[]} ascending, first <= lo, last >= hi
 */
export function niceTicks(lo, hi, count, integer = false) {
  if (!(hi > lo)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return niceTicks(lo - pad, hi + pad, count, integer);
  }
  const raw = (hi - lo) / Math.max(1, count);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const multiples = [1, 2, 5, 10];
  let step = power * (multiples.find((m) => m * power >= raw) || 10);
  if (integer) step = Math.max(1, Math.round(step));
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks = [];
  for (let k = first; k <= last; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

/** @param {number|null|undefined} v @returns {v is number} */
export const finite = (v) => typeof v === "number" && Number.isFinite(v);

/**
 * Runs of consecutive indices whose values are all finite (lines break at gaps).
 * @param {number} n
 * @param {(i: number) => boolean} ok
 * @returns {Array<[number, number]>} [start, end) pairs
 */
export function segments(n, ok) {
  const out = [];
  let start = -1;
  for (let i = 0; i <= n; i++) {
    const good = i < n && ok(i);
    if (good && start < 0) start = i;
    if (!good && start >= 0) {
      out.push([start, i]);
      start = -1;
    }
  }
  return /** @type {Array<[number, number]>} */ (out);
}

/** A coordinate rounded to a tenth of a pixel (shorter SVG). @param {number} v */
export const px = (v) => Math.round(v * 10) / 10;

/**
 * Where the plot starts: room for the y tick labels, the same for every
 * chart whose labels fit (so stacked charts line up).
 * @param {string[]} labels
 */
export const plotLeft = (labels) => Math.min(64, Math.max(40, Math.max(...labels.map((t) => t.length)) * TICK_CHAR_PX + 10));

/** "950", "12.3k", "1.2M" @param {number} n */
export function compactCount(n) {
  const a = Math.abs(n);
  if (a >= 1e6) return `${Number((n / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${Number((n / 1e3).toPrecision(3))}k`;
  return String(Math.round(n));
}

/**
 * @typedef {Object} LineScales
 * @property {number[]} yTicks
 * @property {string[]} labels the y ticks' text
 * @property {number} left @property {number} right @property {number} top @property {number} bottom the plot, in px
 * @property {number} s0 @property {number} s1 the step axis' ends
 * @property {boolean} single one step only: drawn in the middle
 * @property {(s: number) => number} x step -> px
 * @property {(v: number) => number} y value -> px
 */

/**
 * The scales of a chart over steps: the y range covers every line and the
 * band (and the fixed `domain`, when given), the x range the chart's steps
 * and every line's own.
 * @param {{steps: number[], lines: import("./line.js").Line[], band: {lo: Array<number|null>, hi: Array<number|null>}|null,
 *   domain?: [number, number], integer?: boolean, percent?: boolean, width: number}} chart
 * @returns {LineScales}
 */
export function lineScales({ steps, lines, band, domain, integer, percent, width }) {
  let lo = Infinity;
  let hi = -Infinity;
  const take = (/** @type {number|null} */ v) => {
    if (finite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  };
  for (const line of lines) line.values.forEach(take);
  let sMin = steps.length ? steps[0] : Infinity;
  let sMax = steps.length ? steps[steps.length - 1] : -Infinity;
  for (const line of lines) {
    if (line.steps && line.steps.length) {
      sMin = Math.min(sMin, line.steps[0]);
      sMax = Math.max(sMax, line.steps[line.steps.length - 1]);
    }
  }
  if (band) {
    band.lo.forEach(take);
    band.hi.forEach(take);
  }
  if (domain) {
    lo = Math.min(lo, domain[0]);
    hi = Math.max(hi, domain[1]);
  }
  if (!(lo <= hi)) {
    lo = 0;
    hi = 1;
  }
  const yTicks = niceTicks(lo, hi, 3, Boolean(integer));
  const y0 = yTicks[0];
  const y1 = yTicks[yTicks.length - 1];
  const labels = yTicks.map((v) => (percent ? `${Math.round(v * 100)}%` : formatTick(v)));
  const left = plotLeft(labels);
  const right = width - MARGIN.right;
  const top = MARGIN.top;
  const bottom = HEIGHT - MARGIN.bottom;
  const s0 = Number.isFinite(sMin) ? sMin : 0;
  const s1 = sMax > s0 ? sMax : s0 + 1;
  const single = !(sMax > sMin);
  const span = s1 - s0 || 1;
  const x = (/** @type {number} */ s) => (single ? (left + right) / 2 : left + ((s - s0) / span) * (right - left));
  const y = (/** @type {number} */ v) => bottom - ((v - y0) / (y1 - y0 || 1)) * (bottom - top);
  return { yTicks, labels, left, right, top, bottom, s0, s1, single, x, y };
}

/**
 * The step ticks of a chart's x axis: about one per 60 px, within the steps.
 * @param {LineScales} scales @param {number} width
 */
export function stepTicks({ single, s0, s1 }, width) {
  return single ? [s0] : niceTicks(s0, s1, Math.max(2, Math.floor(width / 60)), true).filter((s) => s >= s0 && s <= s1);
}

/**
 * @typedef {Object} HistogramScales
 * @property {boolean} clip one bin towers over the rest: the y axis stops short of it
 * @property {number[]} yTicks @property {string[]} labels
 * @property {number} left @property {number} right @property {number} top @property {number} bottom
 * @property {number} yTop the top of the y axis (counts above it are clipped)
 * @property {number} bw a bin's width in px
 * @property {(count: number) => number} y count -> px (clipped at `yTop`)
 */

/**
 * The scales of a histogram. A bin much taller than all others (the zeros
 * of a ReLU layer) is clipped, so the rest stay readable.
 * @param {number[]} counts @param {number} width
 * @returns {HistogramScales}
 */
export function histogramScales(counts, width) {
  const bins = counts.length;
  const sorted = counts.slice().sort((a, b) => b - a);
  const clip = bins > 2 && sorted[1] > 0 && sorted[0] > 3 * sorted[1];
  const yMax = Math.max(1, clip ? sorted[1] * 1.3 : sorted[0] || 0);
  const yTicks = niceTicks(0, yMax, 2).filter((v) => Number.isInteger(v));
  const top = MARGIN.top + 2;
  const bottom = HEIGHT - MARGIN.bottom;
  const labels = yTicks.map((v) => compactCount(v));
  const left = plotLeft(labels);
  const right = width - MARGIN.right - (clip ? 4 : 0);
  const yTop = yTicks[yTicks.length - 1] || yMax;
  const y = (/** @type {number} */ v) => bottom - (Math.min(v, yTop) / yTop) * (bottom - top);
  const bw = bins ? (right - left) / bins : 0;
  return { clip, yTicks, labels, left, right, top, bottom, yTop, bw, y };
}
