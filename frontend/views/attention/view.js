/**
 * The attention view of one (run, tag) of kind "attention": scores
 * `[heads, q, k]` or `[batch, heads, q, k]` (see tb_plugin/kinds/attention.py).
 *
 * - small multiples of every head of the chosen sample, plus their mean;
 *   clicking one focuses it;
 * - the focused head as a zoomable heatmap with query tokens down the left
 *   and key tokens along the top (focus.js), with a read-out of query, key
 *   and weight;
 * - for short sequences, a line view: query tokens left, key tokens right,
 *   lines weighted by attention (lines.js);
 * - for vision transformers (a patch grid), the input image with the
 *   attention of a picked query patch over it (image.js);
 * - per head, the mean attention entropy over the logged steps (entropy.js).
 *
 * This module holds the view's state and draws the heads; the arithmetic is
 * math.js. Token labels only ever reach the page through textContent.
 */

import { LatestStep } from "../../latest_step.js";
import { DIVERGING, SEQUENTIAL } from "../../colormap.js";
import { ViewFrame } from "../../frame.js";
import { countClipped } from "../../scales.js";
import { el, clear } from "../../dom.js";
import { formatShape, formatStep, formatValue } from "../../format.js";
import { paintGrid } from "../../heatmap.js";
import { Legend } from "../../legend.js";
import { EntropyChart, HEAD_COLOURS } from "./entropy.js";
import { FocusHeatmap } from "./focus.js";
import { renderImage } from "./image.js";
import { MAX_LINE_TOKENS, renderLines } from "./lines.js";
import { colourRange, finiteRange, headEntropies, labelsFor, meanOfHeads } from "./math.js";

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
    /** @private the query picked on the image */ this._query = 0;
    /** @private */ this._destroyed = false;

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
    /** @private the focused head as a heatmap; its zoom is kept across steps and heads */
    this._focusMap = new FocusHeatmap({
      fitWidth: () => this._body.clientWidth || this.element.clientWidth || 640,
      rerender: () => this._renderFocus(),
    });
    this._heads = el("div", { class: "attn-heads", role: "group", "aria-label": "heads" });
    this._focusTitle = el("div", { class: "attn-focus-title" });
    this._focus = el("div", { class: "attn-focus" });
    /** @private per head, the mean entropy over steps (a click shows that step) */
    this._entropy = new EntropyChart({ api, run, tag, jumpToStep: jumpToStep || null });
    this._body = this.frame.body;
    this._body.classList.add("attn-body");
    this._body.append(el("div", { class: "attn-toolbar" }, [this._modeButtons, this._focusMap.controls]), this._heads, this._focusTitle, this._focus);
    if (!difference) this._body.append(this._entropy.element);
    this.element = this.frame.element;
    container.append(this.element);
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
    this._entropy.destroy();
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
      /** @private the mean over heads of the shown sample, kept while it is shown */
      this._mean = { key: `${this._tensor.step}/${offset}`, values: meanOfHeads(values, offset, heads, q, k) };
    }
    return { values: this._mean.values, offset: 0 };
  }

  /** @private [lo, hi] of the colour scale for head h */
  _range(h) {
    const { heads, q, k } = this._dims();
    const rangeOf = (/** @type {number} */ hh) => {
      const { values, offset } = this._headValues(hh);
      return finiteRange(values, offset, q * k);
    };
    return colourRange(rangeOf, h, heads, {
      perHead: this._scale === "channel",
      difference: this._difference,
      normalized: this.info.normalized !== false, // weights: 0 is "no attention"
      ext: this._extRange,
    });
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
    this._entropy.setStep(this._tensor.step);
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
    this._focusMap.controls.hidden = this._mode !== "heatmap";
  }

  /** @private */
  _renderHeads(heads) {
    clear(this._heads);
    const { q, k } = this._dims();
    const size = Math.max(48, Math.min(120, 720 / (heads + 1)));
    const cell = Math.max(size / Math.max(q, k), 0.1);
    const entropies = headEntropies(this._tensor.values, this._dims().offset, heads, q, k);
    for (let h = 0; h <= heads; h++) {
      const canvas = el("canvas", { class: "attn-thumb-canvas", role: "img", "aria-label": h < heads ? `head ${h}` : "mean over heads" });
      this._paint(h, canvas);
      canvas.style.width = `${Math.round(k * cell)}px`;
      canvas.style.height = `${Math.round(q * cell)}px`;
      const entropy = h < heads ? entropies[h] : null;
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
    const { q, k, sample } = this._dims();
    const { values, offset } = this._headValues(this._head);
    const ql = labelsFor(this._labels && this._labels.query_tokens, sample, q);
    const kl = labelsFor(this._labels && this._labels.key_tokens, sample, k);
    const name = this._headName();
    if (this._mode === "lines") {
      renderLines(this._focus, { values, offset, q, k, ql, kl, hi: this._range(this._head)[1], name, readout: this.frame.readout });
    } else if (this._mode === "image") {
      if (this._query >= q) this._query = 0;
      renderImage(this._focus, {
        values,
        offset,
        q,
        k,
        ql,
        patchGrid: this.info.patch_grid,
        prefix: this.info.prefix_tokens || 0,
        query: this._query,
        sample,
        image: this._image,
        onQuery: (query) => {
          this._query = query;
          this._renderFocus();
        },
        onCell: (row, col) => this._setReadout(row, col),
      });
    } else {
      this._focusMap.render(this._focus, {
        q,
        k,
        qLabels: ql,
        kLabels: kl,
        name,
        paint: (canvas) => this._paint(this._head, canvas),
        onCell: (row, col) => this._setReadout(row, col),
      });
    }
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
}
