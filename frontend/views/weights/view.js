/**
 * The weights view of one (run, tag) of kind "weights": what a layer's
 * variable holds at a step and how it changed. The view holds the state
 * (step, mode, pruning, filters shown) and the controls; the pictures are
 * drawn by render.js, the change over training by change.js,
 * the circuit by circuit.js, the numerics in math.js.
 *
 * - the values (or the delta between two stored full snapshots, named: the
 *   previous / first logged step): conv kernels [kh, kw, in, out] as
 *   filters, other variables as an [inputs, outputs] heatmap on a diverging
 *   map with a range symmetric about zero; hover or the keyboard's cell
 *   cursor reads (input, output, value);
 * - a magnitude-pruning slider: the pictures show what remains, with the
 *   fractions of weights and of the norm kept;
 * - the distribution (histogram) and sparsity (|w| below a threshold);
 * - the relative change over steps (exact per snapshot when the callback
 *   logged it, else from the stored full weights; the card says which);
 * - PCA of the output units; a circuit diagram of the run's consecutive
 *   dense kernels around this one; clicking the change chart jumps to that step.
 *
 * Non-finite weights are painted in their own colours and flagged in a banner.
 */

import { Generation } from "../../cancel.js";
import { LatestStep } from "../../latest_step.js";
import { DIVERGING, symmetricRange } from "../../colormap.js";
import { HistogramChart } from "../../charts/histogram.js";
import { el, clear } from "../../dom.js";
import { formatCount, formatShape, formatStep, formatTick, formatValue } from "../../format.js";
import { Legend } from "../../legend.js";
import { nearestStep } from "../../compare.js";
import { ViewFrame, userText } from "../../frame.js";
import { drawCircuit, findDenseStack } from "./circuit.js";
import { WeightChangeCard } from "./change.js";
import { GRID_INPUTS, pct, renderFilters, renderMatrix, renderPca } from "./render.js";
import { countClipped, countClippedPerChannel } from "../../scales.js";
import { delta, histogram, matrixDims, prune, sparsity } from "./math.js";

export class WeightsView {
  /**
   * @param {HTMLElement} container
   * @param {{api: import("../../api.js").Api, run: string, tag: string, info?: any,
   *          colourScale?: "layer"|"channel", onLoad?: Function,
   *          runTags?: Object<string, import("../../api.js").TagInfo>, jumpToStep?: (step: number) => void}} options
   *   runTags: the run's tag listing (to find the dense stack; fetched when absent);
   *   jumpToStep: show another step (a click on the change chart)
   */
  constructor(container, { api, run, tag, info = {}, colourScale = "layer", onLoad, runTags, jumpToStep, load, difference = false, title }) {
    /** @private where a step's tensor comes from (a difference column subtracts two) */
    this._load = load || ((/** @type {number} */ step) => api.tensor(run, tag, step));
    /** @private the picture is a difference of two tensors (run A − run B, step − reference) */
    this._difference = difference;
    /** @private @type {import("../../scales.js").Scale|null} the colour range from outside */
    this._range = null;
    this.api = api;
    this.run = run;
    this.tag = tag;
    this.info = info;
    /** @private */ this._colourScale = colourScale;
    /** @private */ this._onLoad = onLoad || null;
    /** @private @type {import("../../api.js").Tensor|null} */ this._tensor = null;
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
        if (this._changeCard) this._changeCard.load(this._steps);
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
    /** @private */ this._runTags = runTags || null;
    /** @private */ this._jump = jumpToStep || null;
    /** @private @type {Promise<Array<{tag: string, info: any}>>|null} */ this._stack = null;
    /** @private @type {Map<string, Promise<number[]>>} steps of the stack's other kernels */ this._otherSteps = new Map();
    /** @private the newest circuit drawing (cancelled by destroy) */ this._circuits = new Generation();
    /** @private @type {Map<string, {inputs: any[], value: any}>} see _memo */ this._memos = new Map();
    /** @private per output unit, the whole-tag range in use (null: each unit's own at this step) */ this._unitRanges = null;

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
      ["previous", "Change since the previous stored step"],
      ["first", "Change since the first stored step"],
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
    /** @private the change over training (change.js: the exact series when logged) */
    this._changeCard = difference ? null : new WeightChangeCard({ api, run, tag, runTags: runTags || {}, onPick: (step) => this._jump && this._jump(step) });
    this._pcaBox = el("div", { class: "weights-pca" });
    this._circuitBox = el("div", { class: "weights-circuit" });

    const cards = [
      el("section", { class: "weights-card", dataset: { card: "distribution" } }, [
        el("h3", { text: "Distribution" }),
        this._hist.element,
        sparsityRow,
      ]),
      this._changeCard ? this._changeCard.element : null,
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
   * @param {import("../../scales.js").Scale|null} range
   */
  setScaleRange(range) {
    this._range = range;
    if (this._tensor && this._tensor.step === this._latest.wanted) this._render();
  }

  destroy() {
    this._destroyed = true;
    this._circuits.cancel();
    if (this._changeCard) this._changeCard.destroy();
    for (const h of this._heatmaps) h.destroy();
    this.frame.destroy();
  }

  /** @private The array the pictures show: values or delta, then pruned. */
  _shown() {
    const tensor = /** @type {import("../../api.js").Tensor} */ (this._tensor);
    let values = tensor.values;
    let note = "";
    if (this._mode !== "values") {
      if (this._reference && this._referenceStep !== null && this._referenceStep !== tensor.step) {
        values = this._memo("delta", [tensor.values, this._reference], () => delta(tensor.values, /** @type {Float32Array} */ (this._reference)));
        // The two stored full snapshots this delta subtracts (full weights may be logged on a cadence).
        note = `Change from ${formatStep(this._referenceStep)} to ${formatStep(tensor.step)}: the stored full weights of ${formatStep(tensor.step)} minus those of ${formatStep(this._referenceStep)}.`;
      } else {
        values = this._memo("delta", [tensor.values, tensor.values], () => delta(tensor.values, tensor.values));
        note = `${formatStep(tensor.step, { capital: true })} is the first logged step: no change to show.`;
      }
    }
    const pruned = this._memo("prune", [values, this._prune], () => prune(values, this._prune));
    return { values: this._prune > 0 ? pruned.values : values, raw: values, pruned, note };
  }

  /**
   * @private The last result of `compute` for the same inputs (a re-render for a new colour range
   * or sample keeps the same arrays, and so their delta, pruning and PCA).
   * @param {string} name @param {any[]} inputs compared by identity @param {() => any} compute
   */
  _memo(name, inputs, compute) {
    const hit = this._memos.get(name);
    if (hit && hit.inputs.length === inputs.length && hit.inputs.every((x, i) => x === inputs[i])) return hit.value;
    const value = compute();
    this._memos.set(name, { inputs, value });
    return value;
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
    // Per output unit: the units' whole-tag ranges (fixed, robust) when the scale has them, else this step's.
    const units = shape.length ? shape[shape.length - 1] : 1;
    this._unitRanges = external && external.channelMin && external.channelMax && external.channelMin.length === units && shape.length > 0
      ? { lo: external.channelMin, hi: external.channelMax } : null;
    const perUnit = this._colourScale === "channel";
    const clipped = !external || !external.clip ? 0
      : !perUnit ? countClipped(values, lo, hi)
      : this._unitRanges ? countClippedPerChannel(values, this._unitRanges.lo, this._unitRanges.hi) : 0;
    this.frame.setStep(tensor.step, /** @type {any} */ (tensor).label);
    this.frame.setPicture(true);
    this._summary.textContent = `${formatCount(values.length)} values · ${tensor.encoding}`;
    this._legend.update({
      mode: this._colourScale,
      lo,
      hi,
      name,
      clipped,
      channelWhere: this._unitRanges ? external.channelWhere : null,
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
    const target = this._target(this._picture);
    if (kind === "filters") renderFilters(target, values, shape, lo, hi, this._channel);
    else {
      if (kind === "generic") notes.push(`Rank-${shape.length} variable shown as a ${formatShape(matrixDims(shape))} matrix: leading axes flattened into the rows, the last axis as columns.`);
      renderMatrix(target, values, shape, lo, hi);
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
    if (!this._difference) {
      clear(this._pcaBox);
      renderPca(this._target(this._pcaBox), raw, shape);
    }
    if (this._isDense && !this._difference) this._renderCircuit(values, shape);
    if (this._changeCard) this._changeCard.setStep(tensor.step);
  }

  /** @private Where a renderer draws (render.js): into `box`, its parts destroyed at the next render. @param {HTMLElement} box */
  _target(box) {
    return {
      box,
      parts: this._heatmaps,
      hover: (hit) => this._hover(hit),
      kept: this._kept,
      perChannel: this._colourScale === "channel",
      unitRanges: this._unitRanges,
      tag: this.tag,
    };
  }

  /** @private @param {{value: number|string, where: string}|null} hit */
  _hover(hit) {
    if (!hit) this.frame.readout.set(null);
    else this.frame.readout.set(typeof hit.value === "number" ? formatValue(hit.value) : hit.value, hit.where);
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
    const ticket = this._circuits.begin();
    const tensor = /** @type {import("../../api.js").Tensor} */ (this._tensor);
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
    if (!ticket.live) return;
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

}
