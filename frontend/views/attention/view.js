/**
 * The attention view of one (run, tag) of kind "attention": scores
 * `[heads, q, k]` or `[batch, heads, q, k]` (see tb_plugin/attention.py).
 *
 * - small multiples of every head of the chosen sample, plus their mean;
 *   clicking one focuses it;
 * - the focused head as a heatmap with query tokens down the left and key
 *   tokens along the top, zoomable (long sequences: one canvas pixel per
 *   score, upscaled by CSS), with a read-out of query, key and weight;
 * - for short sequences, a line view: query tokens left, key tokens right,
 *   lines weighted by attention; hovering a token highlights its lines;
 * - for vision transformers (a patch grid), the input image with the
 *   attention of a picked query patch over it;
 * - per head, the mean attention entropy over the logged steps, so one sees
 *   when heads specialise (low entropy: sharp attention); a click jumps to a
 *   step. Registers the "attention entropy" series (mean over heads) of the
 *   compared runs' overlaid charts.
 *
 * Token labels only ever reach the page through textContent.
 */

import { cellAt, CellCursor } from "../../cell_cursor.js";
import { LatestStep } from "../../latest_step.js";
import { LineChart } from "../../charts/line.js";
import { DIVERGING, SEQUENTIAL } from "../../colormap.js";
import { ViewFrame } from "../../frame.js";
import { countClipped } from "../../scales.js";
import { el, clear, svg } from "../../dom.js";
import { formatShape, formatStep, formatValue } from "../../format.js";
import { paintGrid } from "../../heatmap.js";
import { Legend } from "../../legend.js";

/** Longest sequence drawn as lines (beyond it, lines are unreadable). */
export const MAX_LINE_TOKENS = 64;
/** Cell size (CSS px) from which token labels are drawn beside the heatmap. */
const LABEL_MIN_CELL = 10;
const ZOOMS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96];
const HEAD_COLOURS = 8;

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
function headEntropies(values, offset, heads, q, k) {
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
 * Attention entropy overlaid across compared runs (for an attention tag).
 * @type {import("../../compare_charts.js").CompareSeries}
 */
export const entropySeries = {
  key: "attention-entropy",
  title: "Attention entropy, mean over heads (nats)",
  load: async ({ api, run, tag, listing }) => {
    const info = (listing[run] || {})[tag];
    if (!info || info.error || info.kind !== "attention") return null;
    const series = await api.attentionSummary(run, tag);
    return series.steps.length ? { steps: series.steps, values: meanOverHeads(series) } : null;
  },
};

export class AttentionView {
  /**
   * @param {HTMLElement} container
   * @param {{api: import("../../api.js").Api, run: string, tag: string, info?: any, colourScale?: "layer"|"channel",
   *          sample?: number, onLoad?: (tensor: any, plan: {batch: number}) => void,
   *          jumpToStep?: (step: number) => void}} options jumpToStep: show another step (a click on the entropy chart)
   */
  constructor(container, { api, run, tag, info = {}, colourScale = "layer", sample = 0, onLoad, jumpToStep, load, difference = false, title }) {
    /** @private where a step's scores come from (a difference column subtracts two) */
    this._load = load || ((/** @type {number} */ step) => api.tensor(run, tag, step));
    /** @private the picture is a difference of two score tensors: diverging, centred on zero */
    this._difference = difference;
    /** @private */ this._colormap = difference ? DIVERGING : SEQUENTIAL;
    /** @private @type {import("../../scales.js").Scale|null} the colour range from outside */
    this._extRange = null;
    this.api = api;
    this.run = run;
    this.tag = tag;
    this.info = info;
    /** @private */ this._scale = colourScale;
    /** @private */ this._sample = sample;
    /** @private */ this._onLoad = onLoad || null;
    /** @private */
    this._steps = new LatestStep({
      load: (step) => this._loadStep(step),
      show: (_step, { tensor, labels, image }) => {
        this._tensor = tensor;
        this._labels = labels;
        this._image = image;
        this.showMessage(null);
        this._render();
        if (this._onLoad) this._onLoad(tensor, { batch: this._batch() });
      },
      fail: (step, e) => {
        this._tensor = null;
        this.frame.setStep(step);
        this.frame.setPicture(false);
        this.frame.showFailure(step, e);
      },
      shownStep: () => this.shownStep,
      alive: () => !this._destroyed,
      busy: (on) => this.frame.busy(on),
    });
    /** @private @type {any} */ this._tensor = null;
    /** @private labels of the shown step: {query_tokens, key_tokens} */ this._labels = null;
    /** @private @type {{shape: number[], values: Float32Array}|null} */ this._image = null;
    /** @private the focused head; `heads` means the mean over heads */ this._head = 0;
    /** @private @type {"heatmap"|"lines"|"image"} */ this._mode = info.patch_grid && !difference ? "image" : "heatmap";
    /** @private @type {number|null} CSS px per cell; null: fit */ this._cell = null;
    /** @private the query picked on the image */ this._query = 0;
    /** @private */ this._destroyed = false;
    /** @private @type {any} */ this._entropy = null;
    /** @private */ this._jump = jumpToStep || null;

    this.frame = new ViewFrame({
      kind: "attention",
      run,
      tag,
      title,
      shape: info.shape || [],
      description: info.description,
      className: "attn-view",
      hint: "Hover a cell or token to read its weight",
    });
    this._stepLabel = this.frame.stepLabel;
    this._summary = this.frame.summary;
    this._message = this.frame.message;
    this._legend = new Legend(this._colormap);
    this.frame.setLegend(this._legend.element);
    this._modeButtons = el("div", { class: "attn-modes", role: "group", "aria-label": "how to show the focused head" });
    this._zoomOut = el("button", { class: "attn-zoom-out", type: "button", title: "Zoom out", text: "−", onclick: () => this._zoom(-1) });
    this._zoomIn = el("button", { class: "attn-zoom-in", type: "button", title: "Zoom in", text: "+", onclick: () => this._zoom(1) });
    this._zoomLabel = el("span", { class: "attn-zoom-label" });
    this._zoomBox = el("div", { class: "attn-zoom" }, [this._zoomOut, this._zoomLabel, this._zoomIn]);
    this._heads = el("div", { class: "attn-heads", role: "group", "aria-label": "heads" });
    this._focusTitle = el("div", { class: "attn-focus-title" });
    this._focus = el("div", { class: "attn-focus" });
    this._chart = new LineChart({
      key: "attention-entropy",
      title: "Attention entropy per head (nats; low = sharp)",
      describe: (i) => this._describeEntropy(i),
      label: "mean attention entropy per head",
      onPick: (i) => {
        if (this._jump && this._entropy && i < this._entropy.steps.length) this._jump(this._entropy.steps[i]);
      },
    });
    this._chartBox = el("div", { class: "attn-entropy" }, [this._chart.element]);
    this._body = this.frame.body;
    this._body.classList.add("attn-body");
    this._body.append(el("div", { class: "attn-toolbar" }, [this._modeButtons, this._zoomBox]), this._heads, this._focusTitle, this._focus);
    if (!difference) this._body.append(this._chartBox);
    this.element = this.frame.element;
    container.append(this.element);
    this._loadEntropy();
  }

  get shownStep() {
    return this._tensor ? this._tensor.step : null;
  }

  /** @param {number} step */
  setStep(step) {
    return this._steps.request(step);
  }

  /** @private the scores, labels and (ViT) image of a step */
  async _loadStep(step) {
    const tensor = await this._load(step);
    const own = tensor.sourceStep ?? step; // a difference: run A's step (labels, image)
    const [labels, image] = await Promise.all([
      this._fetchLabels(own),
      this.info.patch_grid && !this._difference ? this._fetchImage(own) : Promise.resolve(null),
    ]);
    if (tensor.shape.length !== 3 && tensor.shape.length !== 4) {
      throw new Error(`attention scores must be [heads, q, k] or [batch, heads, q, k], got ${formatShape(tensor.shape)}`);
    }
    return { tensor, labels, image };
  }

  /** @private labels of a step: its own when it logged some, else the tag's */
  async _fetchLabels(step) {
    const fallback = { query_tokens: this.info.query_tokens || null, key_tokens: this.info.key_tokens || null };
    const parsed = await this.api.attentionBlob(this.run, this.tag, step, 1);
    if (!parsed) return fallback;
    return parsed && typeof parsed === "object" ? parsed : fallback;
  }

  /** @private the ViT input image of a step, or null */
  async _fetchImage(step) {
    return this.api.attentionBlob(this.run, this.tag, step, 2);
  }

  /** @private */
  async _loadEntropy() {
    try {
      const series = await this.api.attentionSummary(this.run, this.tag);
      if (this._destroyed || !series || !Array.isArray(series.steps)) return;
      this._entropy = series;
      const heads = series.entropy.length ? series.entropy[0].length : 0;
      const lines = [];
      for (let h = 0; h < heads; h++) {
        lines.push({ name: `head ${h}`, cls: `attn-h${h % HEAD_COLOURS}`, values: series.entropy.map((/** @type {number[]} */ e) => e[h]) });
      }
      this._chart.spec.domain = [0, series.max_entropy || 1];
      this._chart.setData(series.steps, lines);
      this._syncChart();
    } catch (e) {
      if (!this._destroyed) this._chartBox.append(el("p", { class: "attn-note", text: `No entropy chart: ${e instanceof Error ? e.message : e}` }));
    }
  }

  /** @private @param {number} i */
  _describeEntropy(i) {
    const s = this._entropy;
    if (!s || !s.entropy[i]) return "";
    return s.entropy[i].map((/** @type {number} */ v, /** @type {number} */ h) => `h${h} ${v.toFixed(2)}`).join(" · ");
  }

  /** @private */
  _syncChart() {
    if (!this._entropy || !this._tensor) return;
    const i = this._entropy.steps.indexOf(this._tensor.step);
    this._chart.setCurrent(this._tensor.step, i);
  }

  /** @param {number} sample */
  setSample(sample) {
    if (sample === this._sample) return;
    this._sample = sample;
    if (this._tensor) this._render();
  }

  /** @param {"layer"|"channel"} mode layer: one range for all heads; channel: each head its own */
  setColourScale(mode) {
    if (mode === this._scale) return;
    this._scale = mode;
    if (this._tensor) this._render();
  }

  refreshMarks() {}

  /** @param {string|null} text @param {"error"|"info"} [tone] */
  showMessage(text, tone = "error") {
    this.frame.setPicture(this._tensor !== null);
    this.frame.showMessage(text, tone);
  }

  /**
   * The colour range from outside (scales.js; null: the shown sample's own).
   * @param {import("../../scales.js").Scale|null} range
   */
  setScaleRange(range) {
    this._extRange = range;
    if (this._tensor && this._tensor.step === this._steps.wanted) this._render();
  }

  destroy() {
    this._destroyed = true;
    this.frame.destroy();
  }

  // ---- geometry of the shown tensor ----

  /** @private */
  _batch() {
    return this._tensor && this._tensor.shape.length === 4 ? this._tensor.shape[0] : 1;
  }

  /** @private */
  _dims() {
    const shape = this._tensor.shape;
    const [heads, q, k] = shape.slice(-3);
    const sample = Math.min(Math.max(0, this._sample), this._batch() - 1);
    return { heads, q, k, sample, offset: sample * heads * q * k };
  }

  /**
   * @private the scores of head `h` of the shown sample as (values, offset); h === heads: the mean
   * @param {number} h
   */
  _headValues(h) {
    const { heads, q, k, offset } = this._dims();
    const values = this._tensor.values;
    if (h < heads) return { values, offset: offset + h * q * k };
    if (!this._mean || this._mean.key !== `${this._tensor.step}/${offset}`) {
      const mean = new Float32Array(q * k);
      for (let hh = 0; hh < heads; hh++) {
        const base = offset + hh * q * k;
        for (let i = 0; i < q * k; i++) mean[i] += values[base + i] / heads;
      }
      /** @private */
      this._mean = { key: `${this._tensor.step}/${offset}`, values: mean };
    }
    return { values: this._mean.values, offset: 0 };
  }

  /** @private [lo, hi] of the colour scale for head h */
  _range(h) {
    const { heads, q, k } = this._dims();
    const per = (/** @type {number} */ hh) => {
      const { values, offset } = this._headValues(hh);
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = offset; i < offset + q * k; i++) {
        const v = values[i];
        if (Number.isFinite(v)) {
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
      return [lo, hi];
    };
    let [lo, hi] = this._scale === "channel" ? per(h) : [Infinity, -Infinity];
    if (this._scale !== "channel") {
      for (let hh = 0; hh <= heads; hh++) {
        const [a, b] = per(hh);
        lo = Math.min(lo, a);
        hi = Math.max(hi, b);
      }
    }
    if (this._difference) {
      const m = Math.max(Math.abs(lo), Math.abs(hi));
      [lo, hi] = [-m, m];
    } else if (this.info.normalized !== false) lo = Math.min(0, lo); // weights: 0 is "no attention"
    const ext = this._extRange;
    if (ext && this._scale !== "channel" && Number.isFinite(ext.min) && Number.isFinite(ext.max)) [lo, hi] = [ext.min, ext.max];
    if (!(hi > lo)) hi = lo + 1;
    return [lo, hi];
  }

  /** @private @param {number} h @param {HTMLCanvasElement} canvas */
  _paint(h, canvas) {
    const { q, k } = this._dims();
    const { values, offset } = this._headValues(h);
    const [lo, hi] = this._range(h);
    canvas.width = k;
    canvas.height = q;
    const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d", { alpha: false }));
    paintGrid(ctx, values, { rows: q, cols: k, offset, rowStride: k, colStride: 1 }, { lo: [lo], hi: [hi] }, this._colormap);
  }

  // ---- rendering ----

  /** @private */
  _render() {
    const { heads, q, k, sample } = this._dims();
    if (this._head > heads) this._head = 0;
    const batch = this._batch();
    this.frame.setStep(this._tensor.step, this._tensor.label);
    this.frame.setPicture(true);
    this._summary.textContent = `${heads} head${heads === 1 ? "" : "s"} · ${q} queries × ${k} keys${
      batch > 1 ? ` · sample ${sample} of ${batch}` : ""
    } · ${this._tensor.encoding}`;
    const [lo, hi] = this._range(this._head);
    const st = this._tensor.stats;
    const ext = this._extRange;
    const name =
      this._scale === "channel"
        ? "Each head scaled to its own range (focused head shown)"
        : ext
          ? ext.name
          : "Colour range shared by the heads of this sample";
    const clipped = ext && ext.clip && this._scale !== "channel" ? countClipped(this._tensor.values, lo, hi) : 0;
    this._legend.update({ mode: "layer", lo, hi, name, clipped, nan: st.nan, posInf: st.posInf, negInf: st.negInf, channels: heads, noun: "heads" });
    this._renderModes(q, k);
    this._renderHeads(heads);
    this._renderFocus();
    this._syncChart();
  }

  /** @private */
  _renderModes(q, k) {
    const modes = [["heatmap", "Heatmap"]];
    // A difference has signed values: only the heatmap (diverging, centred on zero) shows it honestly.
    if (!this._difference && q <= MAX_LINE_TOKENS && k <= MAX_LINE_TOKENS) modes.push(["lines", "Lines"]);
    if (this.info.patch_grid && !this._difference) modes.push(["image", "On the image"]);
    if (!modes.some(([m]) => m === this._mode)) this._mode = "heatmap";
    clear(this._modeButtons);
    for (const [mode, text] of modes) {
      this._modeButtons.append(
        el("button", {
          type: "button",
          class: "attn-mode",
          dataset: { mode },
          "aria-pressed": String(mode === this._mode),
          text,
          onclick: () => {
            this._mode = /** @type {any} */ (mode);
            this._render();
          },
        })
      );
    }
    this._zoomBox.hidden = this._mode !== "heatmap";
  }

  /** @private */
  _renderHeads(heads) {
    clear(this._heads);
    const { q, k } = this._dims();
    const size = Math.max(48, Math.min(120, 720 / (heads + 1)));
    const cell = Math.max(size / Math.max(q, k), 0.1);
    for (let h = 0; h <= heads; h++) {
      const canvas = el("canvas", { class: "attn-thumb-canvas", role: "img", "aria-label": h < heads ? `head ${h}` : "mean over heads" });
      this._paint(h, canvas);
      canvas.style.width = `${Math.round(k * cell)}px`;
      canvas.style.height = `${Math.round(q * cell)}px`;
      const entropy = h < heads ? headEntropies(this._tensor.values, this._dims().offset, heads, q, k)[h] : null;
      this._heads.append(
        el(
          "button",
          {
            type: "button",
            class: `attn-thumb${h === this._head ? " attn-thumb-on" : ""}`,
            dataset: { head: h < heads ? String(h) : "mean" },
            "aria-pressed": String(h === this._head),
            title: h < heads ? `head ${h}: mean entropy ${entropy === null ? "" : entropy.toFixed(3)} nats` : "mean over heads",
            onclick: () => {
              this._head = h;
              this._render();
            },
          },
          [canvas, el("span", { class: `attn-thumb-caption${h < heads ? ` attn-h${h % HEAD_COLOURS}` : ""}`, text: h < heads ? `head ${h}` : "mean" })]
        )
      );
    }
  }

  /** @private */
  _headName() {
    const { heads } = this._dims();
    return this._head < heads ? `head ${this._head}` : "mean over heads";
  }

  /** @private */
  _renderFocus() {
    clear(this._focus);
    this._focus.dataset.mode = this._mode;
    this._focusTitle.textContent = `${this._headName()} · ${
      this._mode === "lines" ? "query tokens (left) → key tokens (right)" : this._mode === "image" ? "attention of the picked query over the image" : "rows: queries · columns: keys"
    }`;
    if (this._mode === "lines") this._renderLines();
    else if (this._mode === "image") this._renderImage();
    else this._renderHeatmap();
  }

  /** @private fit cell size for the focused heatmap */
  _fitCell() {
    const { q, k } = this._dims();
    // Grow to the width available (minus the query labels), and to most of the window's height.
    const width = Math.max(160, (this._body.clientWidth || this.element.clientWidth || 640) - 80);
    const height = Math.max(240, Math.round(window.innerHeight * 0.75));
    const fit = Math.floor(Math.min(width / k, height / q));
    return ZOOMS.reduce((best, z) => (z <= Math.max(1, fit) ? z : best), 1);
  }

  /** @private @param {number} direction */
  _zoom(direction) {
    const cell = this._cell || this._fitCell();
    const i = ZOOMS.indexOf(cell);
    const next = ZOOMS[Math.min(ZOOMS.length - 1, Math.max(0, (i < 0 ? 0 : i) + direction))];
    if (next === cell) return;
    const scroller = this._scroller;
    const centre = scroller
      ? { x: (scroller.scrollLeft + scroller.clientWidth / 2) / cell, y: (scroller.scrollTop + scroller.clientHeight / 2) / cell }
      : null;
    this._cell = next;
    if (this._focusCanvas && scroller && centre) {
      // Zoom in place: resize the canvas (no repaint) and keep the centre still.
      this._layoutHeatmap();
      scroller.scrollLeft = centre.x * next - scroller.clientWidth / 2;
      scroller.scrollTop = centre.y * next - scroller.clientHeight / 2;
    } else this._renderFocus();
  }

  /** @private */
  _renderHeatmap() {
    const { q, k, sample } = this._dims();
    const canvas = el("canvas", { class: "attn-focus-canvas", role: "img", "aria-label": `${this._headName()} attention heatmap` });
    this._paint(this._head, canvas);
    const cursor = el("div", { class: "attn-cursor", hidden: true, "aria-hidden": "true" });
    this._qLabels = labelsFor(this._labels && this._labels.query_tokens, sample, q);
    this._kLabels = labelsFor(this._labels && this._labels.key_tokens, sample, k);
    this._left = el("div", { class: "attn-labels-left", "aria-label": "query tokens" });
    this._top = el("div", { class: "attn-labels-top", "aria-label": "key tokens" });
    const plot = el("div", { class: "attn-plot" }, [canvas, cursor]);
    const grid = el("div", { class: "attn-grid" }, [el("div", { class: "attn-corner" }), this._top, this._left, plot]);
    this._scroller = el("div", { class: "attn-scroll" }, [grid]);
    this._focusCanvas = canvas;
    this._cursor = cursor;
    canvas.addEventListener("pointermove", (e) => this._hoverCell(cellAt(canvas, q, k, e.clientX, e.clientY)));
    canvas.addEventListener("pointerleave", () => this._hoverCell(null));
    // The keyboard's cell cursor (cell_cursor.js): the same read-out as hover.
    new CellCursor(canvas, { dims: () => ({ rows: q, cols: k }), hover: (cell, keyboard) => this._hoverCell(cell, keyboard), label: `${this._headName()} attention heatmap` });
    this._scroller.addEventListener(
      "wheel",
      (e) => {
        if (!e.ctrlKey && !e.metaKey) return;
        e.preventDefault();
        this._zoom(e.deltaY < 0 ? 1 : -1);
      },
      { passive: false }
    );
    this._focus.append(this._scroller);
    this._layoutHeatmap();
  }

  /** @private sizes the canvas and (when cells are big enough) the token labels */
  _layoutHeatmap() {
    const { q, k } = this._dims();
    const cell = this._cell || this._fitCell();
    const canvas = /** @type {HTMLCanvasElement} */ (this._focusCanvas);
    canvas.style.width = `${k * cell}px`;
    canvas.style.height = `${q * cell}px`;
    this._zoomLabel.textContent = `${cell} px/token`;
    this._zoomOut.disabled = cell === ZOOMS[0];
    this._zoomIn.disabled = cell === ZOOMS[ZOOMS.length - 1];
    const cursor = /** @type {HTMLElement} */ (this._cursor);
    cursor.style.width = `${cell}px`;
    cursor.style.height = `${cell}px`;
    const left = /** @type {HTMLElement} */ (this._left);
    const top = /** @type {HTMLElement} */ (this._top);
    clear(left);
    clear(top);
    const show = cell >= LABEL_MIN_CELL;
    left.hidden = top.hidden = !show;
    if (!show) return;
    left.style.height = `${q * cell}px`;
    top.style.width = `${k * cell}px`;
    const font = `${Math.min(13, Math.max(9, cell * 0.7))}px`;
    /** @type {string[]} */ (this._qLabels).forEach((text, i) => {
      left.append(el("div", { class: "attn-label", dataset: { q: String(i) }, title: `query ${i}`, text, style: { top: `${i * cell}px`, height: `${cell}px`, lineHeight: `${cell}px`, fontSize: font } }));
    });
    /** @type {string[]} */ (this._kLabels).forEach((text, i) => {
      top.append(el("div", { class: "attn-label attn-label-key", dataset: { k: String(i) }, title: `key ${i}`, text, style: { left: `${i * cell}px`, width: `${cell}px`, fontSize: font } }));
    });
  }

  /**
   * @private Outlines a cell of the focus map (query row, key col) and reads it out, or clears both.
   * @param {{row: number, col: number}|null} cell @param {boolean} [keyboard] always outlined (else only cells of 4 px and more)
   */
  _hoverCell(cell, keyboard = false) {
    const cursor = /** @type {HTMLElement} */ (this._cursor);
    for (const on of this._focus.querySelectorAll(".attn-label-on")) on.classList.remove("attn-label-on");
    if (!cell) {
      cursor.hidden = true;
      this._setReadout(null);
      return;
    }
    const { row, col } = cell;
    const size = this._cell || this._fitCell();
    cursor.hidden = size < 4 && !keyboard;
    cursor.style.left = `${col * size}px`;
    cursor.style.top = `${row * size}px`;
    const l = this._focus.querySelector(`.attn-labels-left [data-q="${row}"]`);
    const t = this._focus.querySelector(`.attn-labels-top [data-k="${col}"]`);
    if (l) l.classList.add("attn-label-on");
    if (t) t.classList.add("attn-label-on");
    this._setReadout(row, col);
  }

  /**
   * @private writes the weight of (query row, key col) of the focused head
   * @param {number|null} row @param {number} [col]
   */
  _setReadout(row, col = 0) {
    if (row === null || !this._tensor) {
      this.frame.readout.set(null);
      return;
    }
    const { q, k, sample } = this._dims();
    const { values, offset } = this._headValues(this._head);
    const ql = labelsFor(this._labels && this._labels.query_tokens, sample, q);
    const kl = labelsFor(this._labels && this._labels.key_tokens, sample, k);
    this.frame.readout.set(
      formatValue(values[offset + row * k + col]),
      `query “${ql[row]}” (${row}) → key “${kl[col]}” (${col}) · ${this._headName()} · sample ${sample} · ${this._tensor.label || formatStep(this._tensor.step)}`
    );
  }

  /** @private */
  _renderLines() {
    const { q, k, sample } = this._dims();
    const { values, offset } = this._headValues(this._head);
    const ql = labelsFor(this._labels && this._labels.query_tokens, sample, q);
    const kl = labelsFor(this._labels && this._labels.key_tokens, sample, k);
    const row = 22;
    const width = 460;
    const xq = 150;
    const xk = width - 150;
    const height = Math.max(q, k) * row + 12;
    const yq = (/** @type {number} */ i) => 10 + i * row + row / 2 + ((Math.max(q, k) - q) * row) / 2;
    const yk = (/** @type {number} */ j) => 10 + j * row + row / 2 + ((Math.max(q, k) - k) * row) / 2;
    const [, hi] = this._range(this._head);
    const root = svg("svg", { class: "attn-lines", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${this._headName()}: attention as lines` });
    const lines = svg("g", { class: "attn-line-layer" });
    for (let i = 0; i < q; i++) {
      for (let j = 0; j < k; j++) {
        const w = values[offset + i * k + j];
        if (!(w > hi * 0.02)) continue; // too faint to see
        const t = Math.min(1, w / hi);
        lines.append(
          svg("line", {
            class: "attn-line",
            x1: xq + 6,
            y1: yq(i).toFixed(1),
            x2: xk - 6,
            y2: yk(j).toFixed(1),
            "stroke-width": (0.5 + 4 * t).toFixed(2),
            "stroke-opacity": (0.12 + 0.88 * t).toFixed(3),
            dataset: { q: String(i), k: String(j), w: String(w) },
          })
        );
      }
    }
    root.append(lines);
    const tokens = svg("g", { class: "attn-line-tokens" });
    const hover = (/** @type {"q"|"k"|null} */ side, /** @type {number} */ index) => {
      root.classList.toggle("attn-lines-focus", side !== null);
      for (const line of lines.children) {
        const d = /** @type {SVGElement} */ (line).dataset;
        line.classList.toggle("attn-line-on", side !== null && Number(d[side]) === index);
      }
      for (const t of tokens.children) t.classList.toggle("attn-token-on", side !== null && /** @type {SVGElement} */ (t).dataset[side] === String(index));
      if (side === null) this._setReadout(null);
      else this._readoutLine(side, index, ql, kl, values, offset, q, k);
    };
    ql.forEach((text, i) => {
      tokens.append(
        svg("text", { class: "attn-token attn-token-q", x: xq, y: yq(i).toFixed(1), "text-anchor": "end", "dominant-baseline": "middle", dataset: { q: String(i) }, text,
          onpointerenter: () => hover("q", i), onpointerleave: () => hover(null, 0) })
      );
    });
    kl.forEach((text, j) => {
      tokens.append(
        svg("text", { class: "attn-token attn-token-k", x: xk, y: yk(j).toFixed(1), "text-anchor": "start", "dominant-baseline": "middle", dataset: { k: String(j) }, text,
          onpointerenter: () => hover("k", j), onpointerleave: () => hover(null, 0) })
      );
    });
    root.append(tokens);
    this._focus.append(el("div", { class: "attn-lines-box" }, [el("div", { class: "attn-lines-heads" }, [el("span", { text: "queries" }), el("span", { text: "keys" })]), root]));
  }

  /** @private read-out of a hovered token in the line view: its strongest partner */
  _readoutLine(side, index, ql, kl, values, offset, q, k) {
    let best = -1;
    let bestW = -Infinity;
    const n = side === "q" ? k : q;
    for (let o = 0; o < n; o++) {
      const w = side === "q" ? values[offset + index * k + o] : values[offset + o * k + index];
      if (w > bestW) {
        bestW = w;
        best = o;
      }
    }
    this.frame.readout.set(
      formatValue(bestW),
      side === "q"
        ? `query “${ql[index]}” (${index}) attends most to key “${kl[best]}” (${best}) · ${this._headName()}`
        : `key “${kl[index]}” (${index}) is read most by query “${ql[best]}” (${best}) · ${this._headName()}`
    );
  }

  /** @private the ViT view: the input image, the picked query's attention over its patches */
  _renderImage() {
    const { q, k, sample } = this._dims();
    const [rows, cols] = this.info.patch_grid;
    const prefix = this.info.prefix_tokens || 0;
    if (this._query >= q) this._query = 0;
    const ql = labelsFor(this._labels && this._labels.query_tokens, sample, q);
    const size = 384;
    const cw = Math.floor(size / cols);
    const ch = Math.floor(size / rows);
    const image = el("canvas", { class: "attn-image", width: cols * cw, height: rows * ch, "aria-label": "input image" });
    const overlay = el("canvas", { class: "attn-overlay", width: cols, height: rows, role: "img", "aria-label": "attention over the image patches" });
    overlay.style.width = `${cols * cw}px`;
    overlay.style.height = `${rows * ch}px`;
    const pick = el("div", { class: "attn-pick", "aria-hidden": "true" });
    const ictx = /** @type {CanvasRenderingContext2D} */ (image.getContext("2d"));
    if (this._image) this._drawImage(ictx, cols * cw, rows * ch, sample);
    else {
      ictx.fillStyle = "#777";
      ictx.fillRect(0, 0, cols * cw, rows * ch);
    }
    const { values, offset } = this._headValues(this._head);
    const base = offset + this._query * k + prefix;
    let hi = 0;
    for (let p = 0; p < rows * cols; p++) hi = Math.max(hi, values[base + p]);
    const octx = /** @type {CanvasRenderingContext2D} */ (overlay.getContext("2d"));
    const img = octx.createImageData(cols, rows);
    for (let p = 0; p < rows * cols; p++) {
      const rgb = SEQUENTIAL.colourOf(values[base + p], 0, hi || 1);
      img.data.set([rgb[0], rgb[1], rgb[2], Math.round(60 + 160 * ((values[base + p] || 0) / (hi || 1)))], p * 4);
    }
    octx.putImageData(img, 0, 0);
    const qPatch = this._query - prefix;
    pick.hidden = !(qPatch >= 0 && qPatch < rows * cols && q === k);
    if (!pick.hidden) {
      pick.style.left = `${(qPatch % cols) * cw}px`;
      pick.style.top = `${Math.floor(qPatch / cols) * ch}px`;
      pick.style.width = `${cw}px`;
      pick.style.height = `${ch}px`;
    }
    const where = (/** @type {PointerEvent} */ e) => {
      const r = overlay.getBoundingClientRect();
      const c = Math.floor(((e.clientX - r.left) / r.width) * cols);
      const rr = Math.floor(((e.clientY - r.top) / r.height) * rows);
      return c >= 0 && rr >= 0 && c < cols && rr < rows ? rr * cols + c : -1;
    };
    overlay.addEventListener("pointermove", (e) => {
      const p = where(e);
      if (p < 0) return this._setReadout(null);
      this._setReadout(this._query, prefix + p);
    });
    overlay.addEventListener("pointerleave", () => this._setReadout(null));
    overlay.addEventListener("click", (e) => {
      const p = where(e);
      if (p >= 0 && q === k) {
        this._query = prefix + p;
        this._renderFocus();
      }
    });
    const options = ql.map((text, i) => el("option", { value: String(i), text: i < prefix ? `${text} (prefix ${i})` : `${text} (patch ${i - prefix})` }));
    const select = el("select", { class: "attn-query-select", "aria-label": "query" }, options);
    select.value = String(this._query);
    select.addEventListener("change", () => {
      this._query = Number(select.value);
      this._renderFocus();
    });
    this._focus.append(
      el("div", { class: "attn-image-box" }, [
        el("label", { class: "attn-query" }, [el("span", { text: "Query " }), select, el("span", { class: "attn-note", text: q === k ? " or click a patch" : "" })]),
        el("div", { class: "attn-image-frame" }, [image, overlay, pick]),
        this._image ? null : el("p", { class: "attn-note", text: "No input image was logged; patches are shown on grey." }),
      ])
    );
  }

  /** @private draws the logged input image of the sample into a w x h canvas */
  _drawImage(ctx, w, h, sample) {
    const { shape, values } = /** @type {{shape: number[], values: Float32Array}} */ (this._image);
    const [ih, iw, c] = shape.slice(-3);
    const base = shape.length === 4 ? Math.min(sample, shape[0] - 1) * ih * iw * c : 0;
    let max = 0;
    for (let i = base; i < base + ih * iw * c; i++) if (values[i] > max) max = values[i];
    const scale = max > 1.5 ? 1 : 255;
    const tmp = el("canvas", { width: iw, height: ih });
    const tctx = /** @type {CanvasRenderingContext2D} */ (tmp.getContext("2d"));
    const img = tctx.createImageData(iw, ih);
    for (let p = 0; p < ih * iw; p++) {
      for (let j = 0; j < 3; j++) img.data[p * 4 + j] = values[base + p * c + (c >= 3 ? j : 0)] * scale;
      img.data[p * 4 + 3] = 255;
    }
    tctx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(tmp, 0, 0, w, h);
  }
}

