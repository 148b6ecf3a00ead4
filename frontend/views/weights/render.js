/**
 * The weights view's pictures, apart from the view: a variable as an
 * [inputs, outputs] heatmap, conv kernels [kh, kw, in, out] as filters (an
 * input-channel x output-filter grid, one input channel, the mean over
 * them, or an RGB composite for 3-channel inputs), and the principal
 * components of the output units. Every picture reads out (value, where)
 * through `hover`, for the pointer and for the keyboard's cell cursor.
 *
 * Renderers take a `Target` (where to draw and how) and push what they made
 * onto `target.parts` (each has destroy()).
 */

import { cellAt, CellCursor } from "../../cell_cursor.js";
import { DIVERGING } from "../../colormap.js";
import { el, svg } from "../../dom.js";
import { formatValue } from "../../format.js";
import { Heatmap } from "../../heatmap.js";
import { matrixDims, pca } from "./math.js";

/** Pruned weights: a neutral dark grey that the diverging map does not contain (named in the legend). */
export const PRUNED_RGB = /** @type {[number, number, number]} */ ([64, 64, 64]);
/** Input channels drawn as rows of the conv filter grid. */
export const GRID_INPUTS = 8;
/** Width the matrix heatmap aims at, in CSS px. */
const MATRIX_WIDTH = 560;
const MATRIX_HEIGHT = 640;

/** PCA results per values array (a given array always has the same shape). @type {WeakMap<Float32Array, any>} */
const pcaCache = new WeakMap();

/** @param {number} f */
export const pct = (f) => `${(100 * f).toFixed(1)}%`;

/**
 * @typedef {Object} Target
 * @property {HTMLElement} box where the picture goes
 * @property {Array<{destroy: () => void}>} parts what the renderer made (destroyed before the next picture)
 * @property {(hit: {value: number|string, where: string}|null) => void} hover the read-out
 * @property {Uint8Array|null} kept pruning: 1 = kept, per flat index (null: nothing pruned)
 * @property {boolean} perChannel colour range per output unit (else one for the variable)
 * @property {{lo: ArrayLike<number>, hi: ArrayLike<number>}|null} unitRanges per output unit, the whole tag's
 *   range (scales.js, centred on zero); null: each unit's own ±max|w| at this step
 * @property {string} tag
 */

/**
 * The colour range per output unit: [lo, hi] everywhere, or per unit its
 * whole-tag range (`unitRanges`) or its own ±max|w| at this step.
 * @param {Float32Array} values @param {number[]} shape @param {number} lo @param {number} hi @param {boolean} perChannel
 * @param {{lo: ArrayLike<number>, hi: ArrayLike<number>}|null} [unitRanges]
 * @returns {import("../../heatmap.js").Scale}
 */
export function weightScale(values, shape, lo, hi, perChannel, unitRanges = null) {
  const outputs = shape.length ? shape[shape.length - 1] : 1;
  if (!perChannel || shape.length === 0) {
    return { lo: new Float64Array(Math.max(1, outputs)).fill(lo), hi: new Float64Array(Math.max(1, outputs)).fill(hi) };
  }
  if (unitRanges && unitRanges.lo.length === outputs) return { lo: Float64Array.from(unitRanges.lo), hi: Float64Array.from(unitRanges.hi) };
  const m = new Float64Array(outputs);
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (Number.isFinite(a) && a > m[i % outputs]) m[i % outputs] = a;
  }
  return { lo: m.map((v) => -v), hi: m };
}

/**
 * A variable as an [inputs, outputs] heatmap (rank 1: one row; higher ranks flattened into the rows).
 * @param {Target} t @param {Float32Array} values @param {number[]} shape @param {number} lo @param {number} hi
 */
export function renderMatrix(t, values, shape, lo, hi) {
  const [rows, cols] = matrixDims(shape);
  const cellWidth = Math.max(1, Math.min(32, Math.floor(MATRIX_WIDTH / cols)));
  const cellHeight = rows === 1 ? Math.max(12, Math.min(cellWidth, 32)) : Math.max(1, Math.min(cellWidth, Math.floor(MATRIX_HEIGHT / rows)));
  const heatmap = new Heatmap({
    grid: { rows, cols, offset: 0, rowStride: cols, colStride: 1, channelColStride: 1 },
    cellWidth,
    cellHeight,
    caption: shape.length <= 1 ? `${cols} values` : `${rows} inputs (rows) × ${cols} outputs (columns)`,
    label: `weights of ${t.tag}`,
    className: "hm-weights",
  });
  heatmap.element.dataset.panel = "matrix";
  heatmap.paint(values, weightScale(values, shape, lo, hi, t.perChannel, t.unitRanges), DIVERGING);
  if (t.kept) heatmap.maskCells(t.kept, PRUNED_RGB);
  heatmap.onHover((hit) => t.hover(hit && { value: values[hit.index], where: shape.length <= 1 ? `unit ${hit.col}` : `input ${hit.row}, output ${hit.col}` }));
  t.parts.push(heatmap);
  t.box.append(heatmap.element);
}

/**
 * Conv kernels [kh, kw, in, out] as filters.
 * @param {Target} t @param {Float32Array} values @param {number[]} shape @param {number} lo @param {number} hi
 * @param {"grid"|"rgb"|"mean"|number} channel the grid of input channels x filters, an RGB composite, the mean, or one input channel
 */
export function renderFilters(t, values, shape, lo, hi, channel) {
  if (channel === "grid") {
    renderFilterGrid(t, values, shape, lo, hi);
    return;
  }
  const [kh, kw, inC, out] = shape;
  const cell = Math.max(4, Math.min(16, Math.floor(64 / Math.max(kh, kw))));
  const grid = el("div", { class: "weights-filters" });
  const scale = weightScale(values, shape, lo, hi, t.perChannel, t.unitRanges);
  let shown = values;
  let inStride = inC;
  let cOffset = typeof channel === "number" ? channel : 0;
  if (channel === "mean") {
    shown = new Float32Array(kh * kw * out);
    for (let p = 0; p < kh * kw; p++)
      for (let o = 0; o < out; o++) {
        let sum = 0;
        for (let c = 0; c < inC; c++) sum += values[(p * inC + c) * out + o];
        shown[p * out + o] = sum / inC;
      }
    inStride = 1;
    cOffset = 0;
  }
  for (let o = 0; o < out; o++) {
    if (channel === "rgb") {
      const tile = new RgbFilter(values, shape, o, scale.hi[o], cell, t.hover);
      t.parts.push(tile);
      grid.append(tile.element);
      continue;
    }
    const heatmap = new Heatmap({
      grid: { rows: kh, cols: kw, offset: cOffset * (channel === "mean" ? 0 : out) + o, rowStride: kw * inStride * out, colStride: inStride * out, channelOffset: o },
      cellWidth: cell,
      cellHeight: cell,
      caption: `filter ${o}`,
      label: `filter ${o}`,
      className: "weights-filter",
    });
    heatmap.element.dataset.panel = `filter-${o}`;
    heatmap.paint(shown, scale, DIVERGING);
    if (t.kept && channel !== "mean") heatmap.maskCells(t.kept, PRUNED_RGB);
    const what = channel === "mean" ? "mean over input channels" : `input channel ${channel}`;
    heatmap.onHover((hit) => t.hover(hit && { value: shown[hit.index], where: `filter ${o}, ${what}, row ${hit.row}, col ${hit.col}` }));
    t.parts.push(heatmap);
    grid.append(heatmap.element);
  }
  t.box.append(grid);
}

/**
 * Conv filters as a grid: one row per input channel (the first GRID_INPUTS),
 * one column per output filter, each weight at least 12 px.
 * @param {Target} t @param {Float32Array} values @param {number[]} shape @param {number} lo @param {number} hi
 */
function renderFilterGrid(t, values, shape, lo, hi) {
  const [kh, kw, inC, out] = shape;
  const rows = Math.min(inC, GRID_INPUTS);
  const cell = Math.max(12, Math.min(24, Math.floor(48 / Math.max(kh, kw))));
  const scale = weightScale(values, shape, lo, hi, t.perChannel, t.unitRanges);
  const grid = el("div", { class: "weights-filter-grid", style: { gridTemplateColumns: `auto repeat(${out}, max-content)` } });
  grid.append(el("div", { class: "wfg-corner", text: "in \\ out" }));
  for (let o = 0; o < out; o++) grid.append(el("div", { class: "wfg-head", text: String(o) }));
  for (let c = 0; c < rows; c++) {
    grid.append(el("div", { class: "wfg-row", text: `in ${c}` }));
    for (let o = 0; o < out; o++) {
      const heatmap = new Heatmap({
        grid: { rows: kh, cols: kw, offset: c * out + o, rowStride: kw * inC * out, colStride: inC * out, channelOffset: o },
        cellWidth: cell,
        cellHeight: cell,
        label: `filter ${o}, input channel ${c}`,
        className: "weights-filter weights-tile",
      });
      heatmap.element.dataset.panel = `tile-${c}-${o}`;
      heatmap.paint(values, scale, DIVERGING);
      if (t.kept) heatmap.maskCells(t.kept, PRUNED_RGB);
      heatmap.onHover((hit) => t.hover(hit && { value: values[hit.index], where: `filter ${o}, input channel ${c}, row ${hit.row}, col ${hit.col}` }));
      t.parts.push(heatmap);
      grid.append(heatmap.element);
    }
  }
  const note = inC > rows ? el("p", { class: "weights-note", text: `First ${rows} of ${inC} input channels; pick one channel or the mean above for the others.` }) : null;
  t.box.append(el("div", { class: "weights-filter-scroll" }, [grid]), note);
}

/**
 * One filter of a 3-input-channel kernel as an RGB composite: input channels
 * 0, 1, 2 as red, green, blue, each at `rgbLevel(w, m)` (mid-grey at zero);
 * hover or the keyboard's cell cursor reads the three weights of a pixel.
 */
export class RgbFilter {
  /**
   * @param {Float32Array} values the kernel [kh, kw, 3, out]
   * @param {number[]} shape @param {number} o the output filter @param {number} m the level's range (±m at 0 / 255)
   * @param {number} cell CSS px per weight @param {Target["hover"]} hover
   */
  constructor(values, shape, o, m, cell, hover) {
    const [kh, kw, inC, out] = shape;
    const canvas = el("canvas", { class: "hm-canvas weights-rgb", width: kw, height: kh, role: "img" });
    canvas.style.width = `${kw * cell}px`; // the height follows from its kw x kh pixels (CSS height: auto)
    const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d", { alpha: false }));
    const image = ctx.createImageData(kw, kh);
    const at = (/** @type {number} */ r, /** @type {number} */ k, /** @type {number} */ c) => values[((r * kw + k) * inC + c) * out + o];
    for (let r = 0; r < kh; r++)
      for (let k = 0; k < kw; k++) {
        for (let c = 0; c < 3; c++) image.data[(r * kw + k) * 4 + c] = rgbLevel(at(r, k, c), m);
        image.data[(r * kw + k) * 4 + 3] = 255;
      }
    ctx.putImageData(image, 0, 0);
    const outline = el("div", { class: "hm-cursor", hidden: true, "aria-hidden": "true" });
    outline.style.width = `${100 / kw}%`;
    outline.style.height = `${100 / kh}%`;
    /** @param {{row: number, col: number}|null} cell */
    const show = (cell) => {
      outline.hidden = cell === null;
      if (!cell) return hover(null);
      outline.style.left = `${(100 * cell.col) / kw}%`;
      outline.style.top = `${(100 * cell.row) / kh}%`;
      const rgb = [0, 1, 2].map((c) => formatValue(at(cell.row, cell.col, c)));
      hover({ value: `R ${rgb[0]}, G ${rgb[1]}, B ${rgb[2]}`, where: `filter ${o}, row ${cell.row}, col ${cell.col}` });
    };
    canvas.addEventListener("pointermove", (e) => show(cellAt(canvas, kh, kw, e.clientX, e.clientY)));
    canvas.addEventListener("pointerleave", () => show(null));
    /** @private */
    this._cursor = new CellCursor(canvas, { dims: () => ({ rows: kh, cols: kw }), hover: show, label: `filter ${o}, RGB composite` });
    this.element = el("figure", { class: "hm weights-filter", dataset: { panel: `filter-${o}` } }, [
      el("div", { class: "hm-frame" }, [canvas, outline]),
      el("figcaption", { class: "hm-caption", text: `filter ${o}` }),
    ]);
  }

  destroy() {
    this._cursor.destroy();
    this.element.remove();
  }
}

/**
 * An RGB channel level: 128 at zero, 0/255 at -m/+m.
 * @param {number} v
 * @param {number} m
 */
export function rgbLevel(v, m) {
  if (!Number.isFinite(v)) return v > 0 ? 255 : 0;
  if (!(m > 0)) return 128;
  return Math.max(0, Math.min(255, Math.round(127.5 + 127.5 * (v / m))));
}

/**
 * PCA of the output units: explained-variance bars and the top components
 * drawn as filters (conv) or rows.
 * @param {Target} t @param {Float32Array} values @param {number[]} shape
 */
export function renderPca(t, values, shape) {
  if (shape.length < 2) {
    t.box.append(el("p", { class: "weights-note", text: "PCA needs a matrix (at least two axes)." }));
    return;
  }
  // The same values (a re-render for a new colour range, pruning, ...) reuse their PCA: it is the costly part.
  if (!pcaCache.has(values)) pcaCache.set(values, pca(values, shape, 8));
  const result = pcaCache.get(values);
  if (!result) {
    t.box.append(el("p", { class: "weights-note", text: "No PCA: too few output units, too large, or non-finite values." }));
    return;
  }
  const w = 260;
  const barH = 16;
  const chart = svg("svg", { class: "weights-pca-bars", width: w, height: result.ratios.length * (barH + 4), viewBox: `0 0 ${w} ${result.ratios.length * (barH + 4)}`, role: "img", "aria-label": "explained variance per component" });
  result.ratios.forEach((r, k) => {
    const y = k * (barH + 4);
    chart.append(
      svg("text", { x: 0, y: y + barH - 4, class: "weights-pca-label", text: `PC${k + 1}` }),
      svg("rect", { x: 34, y, width: Math.max(1, r * (w - 100)), height: barH, class: "weights-pca-bar" }),
      svg("text", { x: 38 + r * (w - 100), y: y + barH - 4, class: "weights-pca-value", text: pct(r) })
    );
  });
  const ratiosText = el("p", { class: "weights-pca-ratios", text: `Explained variance: ${result.ratios.map(pct).join(", ")}` });
  ratiosText.dataset.ratios = JSON.stringify(result.ratios);
  const comps = el("div", { class: "weights-pca-components" });
  const topK = Math.min(3, result.axes.length);
  for (let k = 0; k < topK; k++) {
    const axis = Float32Array.from(result.axes[k]);
    let m = 0;
    for (const v of axis) m = Math.max(m, Math.abs(v));
    const sc = { lo: [-m], hi: [m] };
    let grid;
    let cell;
    let shown = axis;
    if (shape.length === 4) {
      // [kh, kw, in] as kh rows of kw*in: input channels side by side.
      const [kh, kw, inC] = shape;
      shown = new Float32Array(kh * kw * inC);
      for (let r = 0; r < kh; r++) for (let c = 0; c < kw; c++) for (let ch = 0; ch < inC; ch++) shown[r * kw * inC + ch * kw + c] = axis[(r * kw + c) * inC + ch];
      grid = { rows: kh, cols: kw * inC, offset: 0, rowStride: kw * inC, colStride: 1 };
      cell = Math.max(2, Math.min(10, Math.floor(240 / (kw * inC))));
    } else {
      grid = { rows: 1, cols: axis.length, offset: 0, rowStride: axis.length, colStride: 1 };
      cell = Math.max(1, Math.min(12, Math.floor(240 / axis.length)));
    }
    const h = new Heatmap({
      grid,
      cellWidth: cell,
      cellHeight: shape.length === 4 ? cell : Math.max(cell, 10),
      caption: `PC${k + 1} · ${pct(result.ratios[k])}${shape.length === 4 ? ` · input channels side by side` : " · one cell per input"}`,
      label: `principal component ${k + 1}`,
      className: "weights-pc",
    });
    h.paint(shown, sc, DIVERGING);
    h.onHover((hit) => t.hover(hit && { value: shown[hit.index], where: `PC${k + 1}, entry ${hit.index}` }));
    t.parts.push(h);
    comps.append(h.element);
  }
  t.box.append(chart, ratiosText, comps);
}
