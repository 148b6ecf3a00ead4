/**
 * The weights view of one (run, tag) of kind "weights": what a layer's
 * variable holds at a step and how it changed.
 *
 * - the values (or the delta to the previous / first logged step): conv
 *   kernels [kh, kw, in, out] as a grid of filters (an RGB composite for
 *   3-channel inputs, else one input channel or the mean over them), other
 *   variables as an [inputs, outputs] heatmap on a diverging map with a
 *   range symmetric about zero; hover reads (input, output, value);
 * - a magnitude-pruning slider: the pictures show what remains, with the
 *   fractions of weights and of the norm kept;
 * - the distribution (histogram) and sparsity (|w| below a threshold);
 * - the relative change ||W_t - W_(t-1)|| / ||W_(t-1)|| over the steps;
 * - PCA of the output units: explained-variance bars, top components drawn
 *   as filters / rows;
 * - a circuit diagram of the run's consecutive dense kernels around this one
 *   (columns of neurons; top-k edges per output when large; pruning applied
 *   to every layer); clicking the change chart jumps to that step.
 *
 * Registers the "weight change" series of the compared runs' overlaid charts.
 *
 * Non-finite weights are painted in their own colours and flagged in a banner.
 */

import { LatestStep } from "../latest_step.js";
import { DIVERGING, cssColour, symmetricRange } from "../colormap.js";
import { HistogramChart, LineChart } from "../charts.js";
import { el, svg, clear } from "../dom.js";
import { formatCount, formatShape, formatStep, formatTick, formatValue } from "../format.js";
import { Heatmap } from "../heatmap.js";
import { Legend } from "../legend.js";
import { nearestStep } from "../compare.js";
import { ViewFrame, userText } from "../frame.js";
import { drawCircuit, findDenseStack } from "./circuit.js";
import "./weight_change.js";
import { countClipped } from "../scales.js";
import { delta, histogram, matrixDims, pca, prune, sparsity } from "./weights_math.js";

let cssLoaded = false;
/** Loads weights.css once (a stylesheet link: CSP-safe). */
export function loadWeightsCss() {
  if (cssLoaded) return;
  cssLoaded = true;
  document.head.append(el("link", { rel: "stylesheet", href: new URL("../weights.css", import.meta.url).href }));
}

/** Pruned weights: a neutral dark grey that the diverging map does not contain (named in the legend). */
const PRUNED_RGB = /** @type {[number, number, number]} */ ([64, 64, 64]);
/** Input channels drawn as rows of the conv filter grid. */
const GRID_INPUTS = 8;
/** Width the matrix heatmap aims at, in CSS px. */
const MATRIX_WIDTH = 560;
const MATRIX_HEIGHT = 640;

/** @param {number} f */
const pct = (f) => `${(100 * f).toFixed(1)}%`;

export class WeightsView {
  /**
   * @param {HTMLElement} container
   * @param {{api: import("../api.js").Api, run: string, tag: string, info?: any,
   *          colourScale?: "layer"|"channel", onLoad?: Function,
   *          runTags?: Object<string, import("../api.js").TagInfo>, jumpToStep?: (step: number) => void}} options
   *   runTags: the run's tag listing (to find the dense stack; fetched when absent);
   *   jumpToStep: show another step (a click on the change chart)
   */
  constructor(container, { api, run, tag, info = {}, colourScale = "layer", onLoad, runTags, jumpToStep, load, difference = false, title }) {
    loadWeightsCss();
    /** @private where a step's tensor comes from (a difference column subtracts two) */
    this._load = load || ((/** @type {number} */ step) => api.tensor(run, tag, step));
    /** @private the picture is a difference of two tensors (run A − run B, step − reference) */
    this._difference = difference;
    /** @private @type {import("../scales.js").Scale|null} the colour range from outside */
    this._range = null;
    this.api = api;
    this.run = run;
    this.tag = tag;
    this.info = info;
    /** @private */ this._colourScale = colourScale;
    /** @private */ this._onLoad = onLoad || null;
    /** @private @type {import("../api.js").Tensor|null} */ this._tensor = null;
    /** @private @type {Float32Array|null} reference of the change mode */ this._reference = null;
    /** @private @type {number|null} */ this._referenceStep = null;
    /** @private @type {"values"|"previous"|"first"} */ this._mode = "values";
    /** @private input channel of conv filters: "rgb", "mean" or an index */ this._channel = "mean";
    /** @private */ this._prune = 0;
    /** @private */ this._threshold = 0.01;
    /** @private @type {number[]} */ this._steps = [];
    /** @private */
    this._latest = new LatestStep({
      load: (step) => this._loadStep(step),
      show: (_step, { tensor, ref, refStep }) => {
        this._tensor = tensor;
        this._reference = ref ? ref.values : null;
        this._referenceStep = refStep;
        this.showMessage(null);
        this._render();
        if (this._onLoad) this._onLoad(tensor, { batch: 1 });
        if (!this._difference) this._loadSeries();
      },
      fail: (step, e) => {
        this._tensor = null;
        this.frame.setStep(step);
        this.frame.showFailure(step, e);
      },
      shownStep: () => (this._tensor ? this._tensor.step : null),
      alive: () => !this._destroyed,
      busy: (on) => this.frame.busy(on),
    });
    /** @private */ this._destroyed = false;
    /** @private @type {Heatmap[]} */ this._heatmaps = [];
    /** @private series token */ this._seriesFor = "";
    /** @private @type {number[]|undefined} steps of the change chart */ this._changeSteps = undefined;
    /** @private */ this._runTags = runTags || null;
    /** @private */ this._jump = jumpToStep || null;
    /** @private @type {Promise<Array<{tag: string, info: any}>>|null} */ this._stack = null;
    /** @private @type {Map<string, Promise<number[]>>} steps of the stack's other kernels */ this._otherSteps = new Map();
    /** @private */ this._circuitToken = 0;

    const shape = info.shape || [];
    this._isConv = shape.length === 4;
    this._isDense = shape.length === 2;
    // Conv filters: an RGB composite for 3 input channels, else a grid of input channel x filter tiles.
    if (this._isConv) this._channel = shape[2] === 3 ? "rgb" : "grid";

    this._flag = el("div", { class: "weights-flag", role: "alert", hidden: true });
    this._message = el("div", { class: "view-message", hidden: true, role: "alert" });
    this._legend = new Legend(DIVERGING);
    const layerText = info.layer ? `${info.layer_class || "layer"} ${info.layer}` : "";
    this.frame = new ViewFrame({
      kind: "weights",
      run,
      tag,
      title,
      shape,
      shapeTitle: "variable shape",
      chips: [layerText ? userText("shape-chip weights-layer-chip", layerText, "layer") : null],
      description: info.description,
      className: "weights-view",
    });
    this._stepLabel = this.frame.stepLabel;
    this._summary = this.frame.summary;
    this._status = this.frame.status;
    this._message = this.frame.message;

    // Controls.
    const modeOptions = [
      ["values", "Values"],
      ["previous", "Change since the previous step"],
      ["first", "Change since the first step"],
    ];
    this._modeSelect = el(
      "select",
      { class: "weights-mode", "aria-label": "What to show", onchange: () => this._setMode(this._modeSelect.value) },
      modeOptions.map(([v, t]) => el("option", { value: v, text: t }))
    );
    this._channelSelect = null;
    if (this._isConv) {
      const opts = [];
      if (shape[2] === 3) opts.push(["rgb", "RGB composite"]);
      opts.push(["grid", `Input channels × filters (first ${Math.min(shape[2], GRID_INPUTS)})`]);
      opts.push(["mean", "Mean over input channels"]);
      for (let c = 0; c < shape[2]; c++) opts.push([String(c), `Input channel ${c}`]);
      this._channelSelect = el(
        "select",
        {
          class: "weights-channel",
          "aria-label": "Input channel",
          onchange: () => {
            const v = /** @type {HTMLSelectElement} */ (this._channelSelect).value;
            this._channel = v === "rgb" || v === "mean" || v === "grid" ? v : Number(v);
            this._render();
          },
        },
        opts.map(([v, t]) => el("option", { value: v, text: t }))
      );
      this._channelSelect.value = String(this._channel);
    }
    this._pruneSlider = el("input", {
      type: "range",
      class: "weights-prune",
      min: "0",
      max: "0.99",
      step: "0.01",
      value: "0",
      "aria-label": "Fraction of weights pruned (smallest magnitude first)",
      oninput: () => {
        this._prune = Number(this._pruneSlider.value);
        this._render();
      },
    });
    this._pruneText = el("span", { class: "weights-prune-text", "aria-live": "polite" });
    const controls = el("div", { class: "weights-controls" }, [
      difference ? null : el("label", { class: "weights-control" }, [el("span", { class: "control-label", text: "Show" }), this._modeSelect]),
      this._channelSelect
        ? el("label", { class: "weights-control" }, [el("span", { class: "control-label", text: "Filters" }), this._channelSelect])
        : null,
      el("label", { class: "weights-control weights-prune-control" }, [
        el("span", { class: "control-label", text: "Magnitude pruning" }),
        this._pruneSlider,
        this._pruneText,
      ]),
    ]);

    this._picture = el("div", { class: "weights-picture" });
    this._pictureNote = el("p", { class: "weights-note" });

    // Side cards.
    this._hist = new HistogramChart({ key: "weights-hist", title: "Histogram" });
    this._thresholdInput = el("input", {
      type: "number",
      class: "weights-threshold",
      value: String(this._threshold),
      min: "0",
      step: "any",
      "aria-label": "Sparsity threshold",
      onchange: () => {
        const t = Number(this._thresholdInput.value);
        if (Number.isFinite(t) && t >= 0) {
          this._threshold = t;
          this._render();
        }
      },
    });
    this._sparsityText = el("span", { class: "weights-sparsity" });
    const sparsityRow = el("div", { class: "weights-sparsity-row" }, [
      el("span", { text: "Sparsity: |w| <" }),
      this._thresholdInput,
      this._sparsityText,
    ]);
    this._changeChart = new LineChart({
      key: "weights-change",
      title: "Relative change ‖Wₜ − Wₜ₋₁‖ / ‖Wₜ₋₁‖",
      legend: [
        ["previous", "c-mean"],
        ["first", "c-max"],
      ],
      label: "relative change of the weights over steps",
      describe: (i) => this._describeChange(i),
      onPick: (i) => {
        if (this._jump && this._changeSteps && i < this._changeSteps.length) this._jump(this._changeSteps[i]);
      },
    });
    /** @private @type {{previous: Array<number|null>, first: Array<number|null>}} */
    this._change = { previous: [], first: [] };
    this._pcaBox = el("div", { class: "weights-pca" });
    this._circuitBox = el("div", { class: "weights-circuit" });

    const cards = [
      el("section", { class: "weights-card", dataset: { card: "distribution" } }, [
        el("h3", { text: "Distribution" }),
        this._hist.element,
        sparsityRow,
      ]),
      difference ? null : el("section", { class: "weights-card", dataset: { card: "change" } }, [el("h3", { text: "Change over training" }), this._changeChart.element]),
      difference ? null : el("section", { class: "weights-card", dataset: { card: "pca" } }, [el("h3", { text: "PCA of the output units" }), this._pcaBox]),
      this._isDense && !difference
        ? el("section", { class: "weights-card weights-card-wide", dataset: { card: "circuit" } }, [el("h3", { text: "Circuit" }), this._circuitBox])
        : null,
    ];

    this._body = this.frame.body;
    this._body.classList.add("weights-body");
    this._body.append(
      controls,
      el("div", { class: "weights-sticky" }, [this._legend.element, this.frame.readout.element]),
      this._pictureNote,
      this._picture,
      el("div", { class: "weights-cards" }, cards)
    );
    this.frame.message.before(this._flag);
    this.element = this.frame.element;
    container.append(this.element);
  }

  /** @param {number} step */
  setStep(step) {
    return this._latest.request(step);
  }

  /** @private a step's tensor and, in a change mode, its reference step's */
  async _loadStep(step) {
    if (this._steps.length === 0 || !this._steps.includes(step)) {
      this._steps = (await this.api.steps(this.run, this.tag)).steps.slice().sort((a, b) => a - b);
    }
    const tensor = await this._load(step);
    const refStep = this._difference ? null : this._referenceStepFor(step);
    const ref = refStep === null ? null : await this.api.tensor(this.run, this.tag, refStep);
    return { tensor, ref, refStep };
  }

  /** @private @param {number} step */
  _referenceStepFor(step) {
    if (this._mode === "values") return null;
    const i = this._steps.indexOf(step);
    if (this._mode === "first") return this._steps.length ? this._steps[0] : null;
    return i > 0 ? this._steps[i - 1] : null;
  }

  /** @private @param {string} mode */
  async _setMode(mode) {
    this._mode = mode === "previous" || mode === "first" ? mode : "values";
    this._modeSelect.value = this._mode;
    if (this._tensor) {
      const step = this._tensor.step;
      const refStep = this._referenceStepFor(step);
      const ref = refStep === null ? null : await this.api.tensor(this.run, this.tag, refStep);
      if (this._destroyed || !this._tensor || this._tensor.step !== step) return;
      this._reference = ref ? ref.values : null;
      this._referenceStep = refStep;
      this._render();
    }
  }

  setSample() {}

  /** @param {"layer"|"channel"} mode */
  setColourScale(mode) {
    if (mode === this._colourScale) return;
    this._colourScale = mode;
    if (this._tensor) this._render();
  }

  refreshMarks() {}

  /** @param {string|null} text @param {"error"|"info"} [tone] */
  showMessage(text, tone = "error") {
    this.frame.showMessage(text, tone);
  }

  /**
   * The colour range from outside (scales.js; null: the shown values' own
   * max |w|). A change picture of the view's own ("since the previous step")
   * is always scaled to itself.
   * @param {import("../scales.js").Scale|null} range
   */
  setScaleRange(range) {
    this._range = range;
    if (this._tensor && this._tensor.step === this._latest.wanted) this._render();
  }

  destroy() {
    this._destroyed = true;
    for (const h of this._heatmaps) h.destroy();
    this.frame.destroy();
  }

  /** @private The array the pictures show: values or delta, then pruned. */
  _shown() {
    const tensor = /** @type {import("../api.js").Tensor} */ (this._tensor);
    let values = tensor.values;
    let note = "";
    if (this._mode !== "values") {
      if (this._reference && this._referenceStep !== null && this._referenceStep !== tensor.step) {
        values = delta(values, this._reference);
        note = `Change from ${formatStep(this._referenceStep)} to ${formatStep(tensor.step)}.`;
      } else {
        values = delta(values, values);
        note = `${formatStep(tensor.step, { capital: true })} is the first logged step: no change to show.`;
      }
    }
    const pruned = prune(values, this._prune);
    return { values: this._prune > 0 ? pruned.values : values, raw: values, pruned, note };
  }

  /** @private */
  _render() {
    if (!this._tensor) return;
    const tensor = this._tensor;
    const shape = tensor.shape;
    const { values, raw, pruned, note } = this._shown();
    for (const h of this._heatmaps) h.destroy();
    this._heatmaps = [];
    clear(this._picture);
    this._hover(null);

    // Non-finite weights: flagged, never hidden.
    const s = tensor.stats;
    const bad = s.nan + s.posInf + s.negInf;
    this._flag.hidden = bad === 0;
    this._flag.textContent = bad
      ? `⚠ ${formatCount(bad)} non-finite weight${bad === 1 ? "" : "s"} at step ${tensor.step}: ` +
        `${formatCount(s.nan)} NaN, ${formatCount(s.posInf)} +Inf, ${formatCount(s.negInf)} −Inf (painted in their own colours)`
      : "";

    let m = 0;
    for (let i = 0; i < values.length; i++) {
      const a = Math.abs(values[i]);
      if (Number.isFinite(a) && a > m) m = a;
    }
    const external = this._range && this._mode === "values" ? this._range : null;
    const [lo, hi] = external ? symmetricRange(external.min, external.max) : symmetricRange(-m, m);
    const name = external
      ? external.name
      : this._mode !== "values"
        ? "Per step (this change), centred on zero"
        : "Per step (this step's max |w|), centred on zero";
    const clipped = external && external.clip && this._colourScale !== "channel" ? countClipped(values, lo, hi) : 0;
    this.frame.setStep(tensor.step, /** @type {any} */ (tensor).label);
    this.frame.setPicture(true);
    this._summary.textContent = `${formatCount(values.length)} values · ${tensor.encoding}`;
    this._legend.update({
      mode: this._colourScale,
      lo,
      hi,
      name,
      clipped,
      symmetric: true,
      extra: this._prune > 0 ? "pruned weights painted dark grey (not a value)" : undefined,
      nan: s.nan,
      posInf: s.posInf,
      negInf: s.negInf,
      channels: shape[shape.length - 1] || 1,
      noun: "output units",
    });

    let kind = "matrix";
    if (this._isConv && shape.length === 4) kind = "filters";
    else if (shape.length !== 2 && shape.length !== 1 && shape.length !== 0) kind = "generic";
    this._picture.dataset.kind = kind;
    const notes = [note];
    this._kept = this._prune > 0 ? pruned.kept : null;
    if (kind === "filters") this._renderFilters(values, shape, lo, hi);
    else {
      if (kind === "generic") notes.push(`Rank-${shape.length} variable shown as a ${formatShape(matrixDims(shape))} matrix: leading axes flattened into the rows, the last axis as columns.`);
      this._renderMatrix(values, shape, lo, hi);
    }
    this._pictureNote.textContent = notes.filter(Boolean).join(" ");
    this._pictureNote.hidden = !this._pictureNote.textContent;

    this._pruneText.textContent =
      `${pct(this._prune)} pruned · kept ${pct(pruned.weightsKept)} of weights, ${pct(pruned.normKept)} of the norm` +
      (this._prune > 0 ? ` (|w| > ${formatTick(pruned.threshold)})` : "");
    this._pruneText.dataset.weightsKept = String(pruned.weightsKept);
    this._pruneText.dataset.normKept = String(pruned.normKept);

    this._hist.setData(histogram(raw, 30), tensor.step);
    const sp = sparsity(raw, this._threshold);
    this._sparsityText.textContent = `${pct(sp)} of ${formatCount(raw.length)} weights`;
    this._sparsityText.dataset.fraction = String(sp);
    if (!this._difference) this._renderPca(raw, shape);
    if (this._isDense && !this._difference) this._renderCircuit(values, shape);
    this._drawChangeChart();
  }

  /** @private */
  _scale(values, shape, lo, hi) {
    const outputs = shape.length ? shape[shape.length - 1] : 1;
    if (this._colourScale !== "channel" || shape.length === 0) {
      return { lo: new Float64Array(Math.max(1, outputs)).fill(lo), hi: new Float64Array(Math.max(1, outputs)).fill(hi) };
    }
    const m = new Float64Array(outputs);
    for (let i = 0; i < values.length; i++) {
      const a = Math.abs(values[i]);
      if (Number.isFinite(a) && a > m[i % outputs]) m[i % outputs] = a;
    }
    return { lo: m.map((v) => -v), hi: m };
  }

  /** @private */
  _renderMatrix(values, shape, lo, hi) {
    const [rows, cols] = matrixDims(shape);
    const cellWidth = Math.max(1, Math.min(32, Math.floor(MATRIX_WIDTH / cols)));
    const cellHeight = rows === 1 ? Math.max(12, Math.min(cellWidth, 32)) : Math.max(1, Math.min(cellWidth, Math.floor(MATRIX_HEIGHT / rows)));
    const heatmap = new Heatmap({
      grid: { rows, cols, offset: 0, rowStride: cols, colStride: 1, channelColStride: 1 },
      cellWidth,
      cellHeight,
      caption: shape.length <= 1 ? `${cols} values` : `${rows} inputs (rows) × ${cols} outputs (columns)`,
      label: `weights of ${this.tag}`,
      className: "hm-weights",
    });
    heatmap.element.dataset.panel = "matrix";
    heatmap.paint(values, this._scale(values, shape, lo, hi), DIVERGING);
    if (this._kept) heatmap.maskCells(this._kept, PRUNED_RGB);
    heatmap.onHover((hit) =>
      this._hover(hit && { value: values[hit.index], where: shape.length <= 1 ? `unit ${hit.col}` : `input ${hit.row}, output ${hit.col}` })
    );
    this._heatmaps.push(heatmap);
    this._picture.append(heatmap.element);
  }

  /** @private */
  _renderFilters(values, shape, lo, hi) {
    if (this._channel === "grid") {
      this._renderFilterGrid(values, shape, lo, hi);
      return;
    }
    const [kh, kw, inC, out] = shape;
    const cell = Math.max(4, Math.min(16, Math.floor(64 / Math.max(kh, kw))));
    const grid = el("div", { class: "weights-filters" });
    const scale = this._scale(values, shape, lo, hi);
    const channel = this._channel;
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
      const caption = `filter ${o}`;
      if (channel === "rgb") {
        const canvas = el("canvas", { class: "hm-canvas weights-rgb", width: kw, height: kh, role: "img", "aria-label": `filter ${o}, RGB composite` });
        canvas.style.width = `${kw * cell}px`;
        canvas.style.height = `${kh * cell}px`;
        const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d", { alpha: false }));
        const image = ctx.createImageData(kw, kh);
        const mo = scale.hi[o];
        for (let r = 0; r < kh; r++)
          for (let k = 0; k < kw; k++) {
            for (let c = 0; c < 3; c++) {
              const v = values[((r * kw + k) * inC + c) * out + o];
              image.data[(r * kw + k) * 4 + c] = rgbLevel(v, mo);
            }
            image.data[(r * kw + k) * 4 + 3] = 255;
          }
        ctx.putImageData(image, 0, 0);
        canvas.addEventListener("pointermove", (e) => {
          const rect = canvas.getBoundingClientRect();
          const k = Math.min(kw - 1, Math.floor(((e.clientX - rect.left) / rect.width) * kw));
          const r = Math.min(kh - 1, Math.floor(((e.clientY - rect.top) / rect.height) * kh));
          const rgb = [0, 1, 2].map((c) => formatValue(values[((r * kw + k) * inC + c) * out + o]));
          this._hover({ value: `R ${rgb[0]}, G ${rgb[1]}, B ${rgb[2]}`, where: `filter ${o}, row ${r}, col ${k}` });
        });
        canvas.addEventListener("pointerleave", () => this._hover(null));
        const fig = el("figure", { class: "hm weights-filter", dataset: { panel: `filter-${o}` } }, [
          el("div", { class: "hm-frame" }, [canvas]),
          el("figcaption", { class: "hm-caption", text: caption }),
        ]);
        grid.append(fig);
        continue;
      }
      const heatmap = new Heatmap({
        grid: { rows: kh, cols: kw, offset: cOffset * (channel === "mean" ? 0 : out) + o, rowStride: kw * inStride * out, colStride: inStride * out, channelOffset: o },
        cellWidth: cell,
        cellHeight: cell,
        caption,
        label: `filter ${o}`,
        className: "weights-filter",
      });
      heatmap.element.dataset.panel = `filter-${o}`;
      heatmap.paint(shown, scale, DIVERGING);
      if (this._kept && channel !== "mean") heatmap.maskCells(this._kept, PRUNED_RGB);
      const what = channel === "mean" ? "mean over input channels" : `input channel ${channel}`;
      heatmap.onHover((hit) => this._hover(hit && { value: shown[hit.index], where: `filter ${o}, ${what}, row ${hit.row}, col ${hit.col}` }));
      this._heatmaps.push(heatmap);
      grid.append(heatmap.element);
    }
    this._picture.append(grid);
  }

  /**
   * @private Conv filters as a grid: one row per input channel (the first
   * GRID_INPUTS), one column per output filter, each weight at least 12 px.
   */
  _renderFilterGrid(values, shape, lo, hi) {
    const [kh, kw, inC, out] = shape;
    const rows = Math.min(inC, GRID_INPUTS);
    const cell = Math.max(12, Math.min(24, Math.floor(48 / Math.max(kh, kw))));
    const scale = this._scale(values, shape, lo, hi);
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
        if (this._kept) heatmap.maskCells(this._kept, PRUNED_RGB);
        heatmap.onHover((hit) => this._hover(hit && { value: values[hit.index], where: `filter ${o}, input channel ${c}, row ${hit.row}, col ${hit.col}` }));
        this._heatmaps.push(heatmap);
        grid.append(heatmap.element);
      }
    }
    const note = inC > rows ? el("p", { class: "weights-note", text: `First ${rows} of ${inC} input channels; pick one channel or the mean above for the others.` }) : null;
    this._picture.append(el("div", { class: "weights-filter-scroll" }, [grid]), note);
  }

  /** @private @param {{value: number|string, where: string}|null} hit */
  _hover(hit) {
    if (!hit) this.frame.readout.set(null);
    else this.frame.readout.set(typeof hit.value === "number" ? formatValue(hit.value) : hit.value, hit.where);
  }

  /** @private */
  _renderPca(values, shape) {
    clear(this._pcaBox);
    if (shape.length < 2) {
      this._pcaBox.append(el("p", { class: "weights-note", text: "PCA needs a matrix (at least two axes)." }));
      return;
    }
    const result = pca(values, shape, 8);
    if (!result) {
      this._pcaBox.append(el("p", { class: "weights-note", text: "No PCA: too few output units, too large, or non-finite values." }));
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
      h.onHover((hit) => this._hover(hit && { value: shown[hit.index], where: `PC${k + 1}, entry ${hit.index}` }));
      this._heatmaps.push(h);
      comps.append(h.element);
    }
    this._pcaBox.append(chart, ratiosText, comps);
  }

  /**
   * @private
   * The circuit of the dense stack this kernel belongs to, drawn when every
   * layer's values at the shown step have arrived (other layers come from
   * the Api's cache after the first time).
   * @param {Float32Array} values this kernel as shown (values or change, pruned)
   * @param {number[]} shape
   */
  async _renderCircuit(values, shape) {
    const token = ++this._circuitToken;
    const tensor = /** @type {import("../api.js").Tensor} */ (this._tensor);
    const step = tensor.step;
    /** @type {CircuitLayer[]} */
    let layers;
    try {
      const stack = await this._denseStack();
      layers = await Promise.all(
        stack.map(async ({ tag, info }) => {
          if (tag === this.tag) return { tag, name: info.layer || tag, shape, values, shown: true };
          const own = await this._layerValues(tag, step);
          return { tag, name: info.layer || tag, shape: /** @type {number[]} */ (info.shape), values: prune(own, this._prune).values, shown: false };
        })
      );
    } catch (_) {
      layers = [{ tag: this.tag, name: this.info.layer || this.tag, shape, values, shown: true }];
    }
    if (this._destroyed || token !== this._circuitToken) return;
    drawCircuit(this._circuitBox, layers, { label: `circuit of ${this.tag}`, hover: (hit) => this._hover(hit) });
    this._circuitBox.dataset.step = String(step);
    this._circuitBox.dataset.prune = String(this._prune);
  }

  /**
   * @private
   * Another variable of the run at (the logged step nearest to) `step`, as
   * the mode shows it: its values, or its change since its previous / first step.
   * @param {string} tag @param {number} step
   */
  async _layerValues(tag, step) {
    let steps = this._otherSteps.get(tag);
    if (!steps) {
      steps = this.api.steps(this.run, tag).then((a) => a.steps.slice().sort((x, y) => x - y));
      this._otherSteps.set(tag, steps);
      steps.catch(() => this._otherSteps.delete(tag));
    }
    const list = await steps;
    const own = nearestStep(list, step);
    if (own === null) throw new Error(`no steps of ${tag}`);
    const current = (await this.api.tensor(this.run, tag, own)).values;
    if (this._mode === "values") return current;
    const i = list.indexOf(own);
    const refStep = this._mode === "first" ? list[0] : i > 0 ? list[i - 1] : null;
    if (refStep === null || refStep === own) return new Float32Array(current.length);
    return delta(current, (await this.api.tensor(this.run, tag, refStep)).values);
  }

  /**
   * @private
   * The consecutive dense kernels around this one (cached): from the run's
   * model summary layer order (else the listing order of the weights tags),
   * the rank-2 kernels whose shapes chain (outputs of one = inputs of the
   * next) and that are small enough to draw; a layer with other weights
   * (conv, normalisation) ends the stack.
   * @returns {Promise<Array<{tag: string, info: any}>>}
   */
  _denseStack() {
    if (!this._stack) {
      this._stack = findDenseStack(this.api, this.run, this.tag, this.info, this._runTags);
      this._stack.catch(() => {
        this._stack = null;
      });
    }
    return this._stack;
  }

  /** @private The relative change over steps, from the backend (`/weight_change`: one small request). */
  async _loadSeries() {
    const key = this._steps.join(",");
    if (key === this._seriesFor) return;
    this._seriesFor = key;
    let answer;
    try {
      answer = await this.api.weightChange(this.run, this.tag, this.info.max_step ?? key);
    } catch (e) {
      this._seriesFor = "";
      return;
    }
    if (this._destroyed) return;
    this._change = { previous: answer.relative_change, first: answer.relative_to_first };
    this._changeSteps = answer.steps;
    this._changeChart.setData(answer.steps, [
      { name: "vs previous", cls: "c-mean", values: this._change.previous },
      { name: "vs first", cls: "c-max", values: this._change.first },
    ]);
    this._drawChangeChart();
  }

  /** @private */
  _drawChangeChart() {
    if (!this._tensor || !this._changeSteps) return;
    const i = this._changeSteps.indexOf(this._tensor.step);
    this._changeChart.setCurrent(this._tensor.step, i);
  }

  /** @private @param {number} i */
  _describeChange(i) {
    const p = this._change.previous[i];
    const f = this._change.first[i];
    if (i === 0) return "first step";
    // null: no finite change (e.g. from an all-zero variable, such as a bias before training).
    const text = (/** @type {number|null|undefined} */ v) => (v === null || v === undefined ? "– (not finite)" : formatTick(v));
    return `vs previous ${text(p)} · vs first ${text(f)}`;
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

export { cssColour };
