/**
 * The activations view of one (run, tag): heatmaps of the chosen step and
 * sample, a colour legend and a hover read-out. It holds no global state:
 * instantiate one per run (side-by-side comparison puts several in a row)
 * and drive them with setStep / setSample / setColourScale.
 *
 * For a conv or dense layer whose run has probe images (an `attribution`
 * tag with the image layout), "Top probe samples" shows, per channel, the k
 * probe samples with the highest activation at the shown step (`/top_samples`:
 * the strongest value over positions, computed from the logged activations),
 * each as its probe image with the input patch under the strongest position
 * outlined, and its score.
 */

import { LatestStep } from "../../latest_step.js";
import { SEQUENTIAL } from "../../colormap.js";
import { el, clear } from "../../dom.js";
import { formatShape, formatStep, formatTick, formatValue } from "../../format.js";
import { Heatmap } from "../../heatmap.js";
import { Legend } from "../../legend.js";
import { planLayout, unravel } from "./layout.js";
import { ViewFrame } from "../../frame.js";
import { countClipped, countClippedPerChannel } from "../../scales.js";
import { imageRgb } from "../attribution/math.js";

const TOP_K = 5;
const TOP_PX = 64;

/** @typedef {"layer"|"channel"} ColourScale */

/**
 * @typedef {Object} ViewOptions
 * @property {import("../../api.js").Api} api
 * @property {string} run
 * @property {string} tag
 * @property {import("../../api.js").TagInfo} [info] the tag's listing entry
 * @property {ColourScale} [colourScale] default "layer"
 * @property {number} [sample] default 0
 * @property {import("../../colormap.js").Colormap} [colormap] default SEQUENTIAL
 * @property {(tensor: import("../../api.js").Tensor, plan: import("./layout.js").Plan) => void} [onLoad]
 *   called after each step is shown
 * @property {(step: number) => (import("../../layerstats.js").UnitMarks|null)} [unitMarks]
 *   the flagged (dead, saturated) units at a step: marked on feature maps and dense rows
 * @property {(step: number) => Promise<import("../../api.js").Tensor>} [load]
 *   where a step's tensor comes from (default: api.tensor(run, tag, step)); a
 *   difference view passes one that subtracts two tensors
 * @property {boolean} [symmetric] colour range symmetric about zero (differences, with DIVERGING)
 * @property {string} [title] the run chip's text (default: the run)
 */

/**
 * A colour range imposed from outside (e.g. shared across compared runs):
 * used instead of the shown tensor's own range.
 * @typedef {Object} SharedRange
 * @property {number} min
 * @property {number} max
 * @property {Float64Array|null} channelMin null when the compared tensors' channels differ
 * @property {Float64Array|null} channelMax
 */

export class ActivationsView {
  /**
   * @param {HTMLElement} container the view appends its root element here
   * @param {ViewOptions} options
   */
  constructor(
    container,
    { api, run, tag, info = {}, colourScale = "layer", sample = 0, colormap = SEQUENTIAL, onLoad, unitMarks, load, symmetric = false, title }
  ) {
    this.api = api;
    this.run = run;
    this.tag = tag;
    this.info = info;
    /** @private */ this._colourScale = colourScale;
    /** @private */ this._sample = sample;
    /** @private */ this._colormap = colormap;
    /** @private */ this._onLoad = onLoad || null;
    /** @private */ this._unitMarks = unitMarks || null;
    /** @private */ this._load = load || ((/** @type {number} */ step) => api.tensor(run, tag, step));
    /** @private a derived tensor (e.g. a difference): no top probe samples */ this._derived = Boolean(load);
    /** @private */ this._symmetric = symmetric;
    /** @private @type {SharedRange|null} */ this._range = null;
    /** @private @type {import("../../layerstats.js").UnitMarks|null} the marks drawn */
    this._marks = null;
    /** @private */
    this._steps = new LatestStep({
      load: (step) => this._load(step),
      show: (_step, tensor) => {
        this._tensor = tensor;
        this.showMessage(null);
        this._render();
        if (this._onLoad && this._plan) this._onLoad(tensor, this._plan);
      },
      fail: (step, e) => {
        this._tensor = null;
        this.frame.setStep(step);
        this.frame.setPicture(false);
        this.frame.showFailure(step, e);
      },
      shownStep: () => this.shownStep,
      alive: () => !this._destroyed,
      busy: (on) => this._setBusy(on),
    });
    /** @private @type {import("../../api.js").Tensor|null} */
    this._tensor = null;
    /** @private @type {import("./layout.js").Plan|null} */
    this._plan = null;
    /** @private @type {Array<{panel: import("./layout.js").Panel, heatmap: Heatmap}>} */
    this._panels = [];
    /** @private @type {{heatmap: Heatmap, hit: import("../../heatmap.js").Hit}|null} */
    this._hover = null;
    /** @private */ this._destroyed = false;
    /** @private @type {number|undefined} */
    this._spinnerTimer = undefined;

    this.frame = new ViewFrame({ kind: "activations", run, tag, title, shape: info.shape || [], description: info.description });
    this._stepLabel = this.frame.stepLabel;
    this._summary = this.frame.summary;
    this._legend = new Legend(colormap);
    this.frame.setLegend(this._legend.element);
    this._message = this.frame.message;
    this._body = this.frame.body;
    this.element = this.frame.element;
    /** @private the "Top probe samples" panel (shown when the run has probe images) */
    this._top = el("details", { class: "top-samples", hidden: true });
    /** @private */ this._topChannel = el("input", { type: "number", min: "0", value: "0", class: "top-channel", "aria-label": "channel", onchange: () => this._renderTop() });
    /** @private */ this._topBody = el("div", { class: "top-body" });
    /** @private @type {string|null|undefined} the run's attribution tag (undefined: not looked up yet) */
    this._inputTag = undefined;
    this._top.append(
      el("summary", { text: "Top probe samples" }),
      el("label", { class: "top-pick" }, [el("span", { text: "Channel " }), this._topChannel, el("span", { class: "top-note", text: ` the ${TOP_K} probe samples with the highest activation (max over positions) at this step` })]),
      this._topBody
    );
    this._top.addEventListener("toggle", () => this._renderTop());
    this.frame.element.append(this._top);
    container.append(this.element);
  }

  /** @private finds the run's attribution tag with probe images (once) */
  async _findInputTag() {
    if (this._inputTag !== undefined) return this._inputTag;
    this._inputTag = null;
    try {
      const listing = await this.api.tags();
      const tags = listing[this.run] || {};
      for (const [tag, info] of Object.entries(tags)) {
        if (info && info.kind === "attribution" && (info.layout || "image") === "image") {
          this._inputTag = tag;
          break;
        }
      }
    } catch (_) {
      this._inputTag = null;
    }
    return this._inputTag;
  }

  /** @private shows the panel for conv/dense layers of runs with probe images, and fills it when open */
  async _renderTop() {
    const tensor = this._tensor;
    const plan = this._plan;
    if (this._derived || !tensor || !plan || (plan.kind !== "maps" && plan.kind !== "dense") || tensor.shape.length < 2) {
      this._top.hidden = true;
      return;
    }
    const inputTag = await this._findInputTag();
    this._top.hidden = !inputTag;
    if (!inputTag || !this._top.open || this._destroyed) return;
    const channels = tensor.shape[tensor.shape.length - 1];
    this._topChannel.max = String(channels - 1);
    const channel = Math.min(channels - 1, Math.max(0, Math.floor(Number(this._topChannel.value) || 0)));
    const step = tensor.step;
    try {
      const [top, images] = await Promise.all([
        this.api.topSamples(this.run, this.tag, step, TOP_K, tensor.shape.length === 4 ? inputTag : null),
        this.api.attributionBlob(this.run, inputTag, step, 3),
      ]);
      if (this._destroyed || !this._tensor || this._tensor.step !== step) return;
      clear(this._topBody);
      Object.assign(this._topBody.dataset, { step: String(step), channel: String(channel) });
      const samples = top.samples[channel] || [];
      this._topBody.dataset.samples = samples.join(",");
      samples.forEach((s, i) => {
        const canvas = el("canvas", { class: "top-thumb", width: 1, height: 1, role: "img", "aria-label": `probe sample ${s}` });
        if (images && images.shape.length === 4) {
          const [, h, w] = images.shape;
          const zoom = Math.max(1, Math.floor(TOP_PX / Math.max(h, w)));
          canvas.width = w * zoom;
          canvas.height = h * zoom;
          const rgb = imageRgb(images.values, images.shape, s);
          const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
          const img = ctx.createImageData(w, h);
          for (let p = 0; p < h * w; p++) {
            img.data.set([rgb[p * 3], rgb[p * 3 + 1], rgb[p * 3 + 2], 255], p * 4);
          }
          const small = document.createElement("canvas");
          small.width = w;
          small.height = h;
          /** @type {CanvasRenderingContext2D} */ (small.getContext("2d")).putImageData(img, 0, 0);
          ctx.imageSmoothingEnabled = false;
          ctx.drawImage(small, 0, 0, w * zoom, h * zoom);
          const patch = top.patches && top.patches[channel] ? top.patches[channel][i] : null;
          if (patch) {
            const [t, l, b, r] = patch;
            ctx.strokeStyle = "#ff1744";
            ctx.lineWidth = 2;
            ctx.strokeRect(l * zoom + 1, t * zoom + 1, (r - l) * zoom - 2, (b - t) * zoom - 2);
            canvas.dataset.patch = patch.join(",");
          }
        }
        const where = top.positions[channel][i].length ? ` at (${top.positions[channel][i].join(", ")})` : "";
        this._topBody.append(
          el("figure", { class: "top-item", dataset: { sample: String(s), rank: String(i) } }, [
            canvas,
            el("figcaption", { text: `sample ${s} · ${formatValue(top.scores[channel][i])}${where}` }),
          ])
        );
      });
    } catch (e) {
      clear(this._topBody);
      this._topBody.append(el("div", { class: "top-error", text: `Top probe samples unavailable: ${e && e.message ? e.message : e}` }));
    }
  }

  /** The step on screen, or null before the first one loaded. */
  get shownStep() {
    return this._tensor ? this._tensor.step : null;
  }

  /** The samples to choose from (known once a step loaded). */
  get sampleCount() {
    return this._plan ? this._plan.batch : 0;
  }

  /**
   * Shows `step`. Only the newest request is shown: answers for steps asked
   * for in between are dropped, and at most one request runs at a time, so
   * scrubbing and playback never pile up fetches.
   * @param {number} step
   * @returns {Promise<void>} settles once the newest step is shown (or failed)
   */
  setStep(step) {
    return this._steps.request(step);
  }

  /**
   * @param {number} sample index along the batch axis
   */
  setSample(sample) {
    if (sample === this._sample) return;
    this._sample = sample;
    if (this._tensor) this._render();
  }

  /** @param {ColourScale} mode "layer" (shared, default) or "channel" */
  setColourScale(mode) {
    if (mode === this._colourScale) return;
    this._colourScale = mode;
    if (this._tensor) this._render();
  }

  /**
   * Uses `range` for the colours instead of the shown tensor's own range
   * (null: back to the tensor's). Redraws the step on screen when it is the
   * one wanted; call before setStep to paint a new step once.
   * @param {SharedRange|null} range
   */
  setScaleRange(range) {
    this._range = range;
    if (this._tensor && this._tensor.step === this._steps.wanted) this._render();
  }

  /** Redraws the unit marks (call when the `unitMarks` source has new data). */
  refreshMarks() {
    if (this._tensor && this._plan) {
      this._applyMarks();
      this._updateReadout();
    }
  }

  destroy() {
    this._destroyed = true;
    for (const { heatmap } of this._panels) heatmap.destroy();
    this._panels = [];
    this.frame.destroy();
  }

  /** @private @param {boolean} busy */
  _setBusy(busy) {
    this.frame.busy(busy);
  }


  /**
   * Replaces the picture with a message (null: shows the picture again).
   * @param {string|null} text
   * @param {"error"|"info"} [tone]
   */
  showMessage(text, tone = "error") {
    this.frame.setPicture(this._tensor !== null);
    this.frame.showMessage(text, tone);
  }


  /** @private */
  _render() {
    const tensor = /** @type {import("../../api.js").Tensor} */ (this._tensor);
    const plan = planLayout(tensor.shape);
    if (!this._plan || this._plan.signature !== plan.signature) this._build(plan);
    this._plan = plan;
    const sample = Math.min(Math.max(0, this._sample), plan.batch - 1);
    const { stats } = tensor;
    const shared = this._range;
    let min = shared ? shared.min : stats.min;
    let max = shared ? shared.max : stats.max;
    let channelMin = shared && shared.channelMin && shared.channelMin.length === stats.channels ? shared.channelMin : stats.channelMin;
    let channelMax = shared && shared.channelMax && shared.channelMax.length === stats.channels ? shared.channelMax : stats.channelMax;
    if (this._symmetric) {
      // Differences: zero sits in the middle of the (diverging) map.
      const m = Math.max(Math.abs(min), Math.abs(max));
      [min, max] = [-m, m];
      const lo = new Float64Array(stats.channels);
      const hi = new Float64Array(stats.channels);
      for (let c = 0; c < stats.channels; c++) {
        const mc = Math.max(Math.abs(channelMin[c]), Math.abs(channelMax[c]));
        lo[c] = -mc;
        hi[c] = mc;
      }
      channelMin = lo;
      channelMax = hi;
    }
    const scale =
      this._colourScale === "channel"
        ? { lo: channelMin, hi: channelMax }
        : { lo: new Float64Array(stats.channels).fill(min), hi: new Float64Array(stats.channels).fill(max) };
    for (const { panel, heatmap } of this._panels) {
      heatmap.grid = panel.grid(sample);
      heatmap.paint(tensor.values, scale, this._colormap);
      if (panel.samplesAcross) heatmap.markColumn(sample);
      if (plan.kind === "dense" && panel.group === "strip" && heatmap.caption) {
        heatmap.caption.textContent = `sample ${sample}\n${panel.caption}`;
      }
      if (panel.group === "map" && heatmap.caption) {
        const c = /** @type {number} */ (heatmap.grid.channelOffset);
        const lo = stats.channelMin[c];
        const hi = stats.channelMax[c];
        heatmap.caption.textContent =
          this._colourScale === "channel" && !(hi > lo) ? `${panel.caption} · const ${formatTick(lo)}` : panel.caption;
        heatmap.element.dataset.range = `channel ${c}: ${formatTick(lo)} … ${formatTick(hi)}`;
        heatmap.element.title = heatmap.element.dataset.range;
      }
    }
    this.frame.setStep(tensor.step, /** @type {any} */ (tensor).label);
    this._summary.textContent =
      plan.kind === "empty"
        ? `empty tensor (shape ${formatShape(tensor.shape)})`
        : `${plan.summary}${plan.batch > 1 ? ` · sample ${sample} of ${plan.batch}` : ""} · ${tensor.encoding}`;
    this._summary.title =
      tensor.encoding === "q8"
        ? "q8: 8-bit per-channel quantisation; each value within 1/510 of its channel's range of the logged one"
        : "f32: lossless float32";
    // The channels' whole-tag ranges (fixed, robust) when the scale has them for these channels; else this step's.
    const ownChannels = shared && shared.channelMin && shared.channelMin.length === stats.channels;
    const clipped = !shared || !shared.clip ? 0
      : this._colourScale !== "channel" ? countClipped(tensor.values, min, max)
      : ownChannels ? countClippedPerChannel(tensor.values, channelMin, channelMax) : 0;
    this._legend.update({
      mode: this._colourScale,
      lo: min,
      hi: max,
      shared: shared !== null,
      symmetric: this._symmetric,
      name: shared && shared.name ? shared.name : undefined,
      channelWhere: ownChannels ? /** @type {any} */ (shared).channelWhere : null,
      clipped,
      nan: stats.nan,
      posInf: stats.posInf,
      negInf: stats.negInf,
      channels: stats.channels,
      noun: plan.channelNoun,
    });
    if (plan.kind === "empty") this.showMessage(`This tensor holds no values (shape ${formatShape(tensor.shape)}).`);
    this._applyMarks();
    this._updateReadout();
    this._renderTop();
  }

  /**
   * @private
   * Marks the flagged units of the shown step: the feature map of a dead
   * (saturated) channel gets a dashed outline and a "dead" tag in its
   * caption; dead units of a dense layer get ticks beside their rows.
   */
  _applyMarks() {
    const tensor = /** @type {import("../../api.js").Tensor} */ (this._tensor);
    const plan = /** @type {import("./layout.js").Plan} */ (this._plan);
    const marks = this._unitMarks && (plan.kind === "maps" || plan.kind === "dense") ? this._unitMarks(tensor.step) : null;
    this._marks = marks && marks.step === tensor.step ? marks : null;
    const kindOf = (/** @type {number} */ unit) =>
      !this._marks ? null : this._marks.dead.has(unit) ? "dead" : this._marks.saturated.has(unit) ? "saturated" : null;
    for (const { panel, heatmap } of this._panels) {
      if (panel.group === "map") {
        const c = /** @type {number} */ (heatmap.grid.channelOffset);
        const kind = kindOf(c);
        heatmap.setFlag(kind);
        const caption = heatmap.caption;
        if (!caption) continue;
        const old = caption.querySelector(".unit-flag");
        if (old) old.remove();
        const range = heatmap.element.dataset.range || "";
        heatmap.element.title = kind ? `${range} · ${kind} at step ${tensor.step}` : range;
        if (kind) caption.append(el("span", { class: `unit-flag unit-flag-${kind}`, text: kind }));
      } else if (plan.kind === "dense" && (panel.group === "strip" || panel.group === "matrix")) {
        const rows = [];
        for (let unit = 0; unit < heatmap.grid.rows; unit++) {
          const kind = kindOf(unit);
          if (kind) rows.push({ row: unit, kind });
        }
        heatmap.markRows(rows, panel.group === "strip" ? "left" : "right");
        if (panel.group === "strip" && heatmap.caption) {
          const old = heatmap.caption.querySelector(".unit-flag");
          if (old) old.remove();
          const dead = rows.filter((r) => r.kind === "dead").length;
          const saturated = rows.length - dead;
          const text = [dead ? `${dead} dead` : "", saturated ? `${saturated} saturated` : ""].filter(Boolean).join(", ");
          if (text) heatmap.caption.append(el("span", { class: `unit-flag unit-flag-${dead ? "dead" : "saturated"}`, text: `◂ ${text}` }));
        }
      }
    }
  }

  /** @private @param {import("./layout.js").Plan} plan */
  _build(plan) {
    for (const { heatmap } of this._panels) heatmap.destroy();
    this._panels = [];
    this._hover = null;
    clear(this._body);
    this._body.dataset.kind = plan.kind;
    /** @type {Object<string, HTMLElement>} */
    const groups = {};
    for (const panel of plan.panels) {
      const heatmap = new Heatmap({
        grid: panel.grid(0),
        cellWidth: panel.cellWidth,
        cellHeight: panel.cellHeight,
        caption: panel.caption,
        label: panel.label,
        className: `hm-${panel.group}`,
      });
      heatmap.element.dataset.panel = panel.key;
      heatmap.onHover((hit) => {
        this._hover = hit ? { heatmap, hit } : null;
        // Outline the hovered feature map, so its channel is easy to spot.
        for (const p of this._panels) {
          p.heatmap.setHighlighted(p.heatmap === heatmap && hit !== null && p.panel.group === "map");
        }
        this._updateReadout();
      });
      const group = panel.group || "map";
      if (!groups[group]) {
        groups[group] = el("div", { class: `panel-group group-${group}` });
        this._body.append(groups[group]);
      }
      groups[group].append(heatmap.element);
      this._panels.push({ panel, heatmap });
    }
  }

  /** @private Writes the hovered value (or the hint) into the read-out. */
  _updateReadout() {
    const tensor = this._tensor;
    const plan = this._plan;
    if (!this._hover || !tensor || !plan) {
      this.frame.readout.set(null);
      return;
    }
    const { hit } = this._hover;
    const value = tensor.values[hit.index];
    const index = unravel(hit.index, tensor.shape);
    const parts = [];
    if (plan.kind === "maps") {
      parts.push(`channel ${index[index.length - 1]}`);
      parts.push(`row ${hit.row}, col ${hit.col}`);
      if (tensor.shape.length > 4) {
        parts.push(`(${plan.axisNames.slice(1, -2).map((n, i) => `${n} = ${index[i + 1]}`).join(", ")})`);
      }
      parts.push(`sample ${index[0]}`);
    } else if (plan.kind === "dense") {
      parts.push(`unit ${index[1]}`, `sample ${index[0]}`);
    } else if (plan.kind === "sequence") {
      parts.push(`position ${index[1]}, feature ${index[2]}`, `sample ${index[0]}`);
    } else if (tensor.shape.length === 1) {
      parts.push(`unit ${index[0]}`);
    }
    const unit = index[index.length - 1];
    if (this._marks && (plan.kind === "maps" || plan.kind === "dense")) {
      const noun = plan.kind === "maps" ? "channel" : "unit";
      if (this._marks.dead.has(unit)) parts.push(`dead ${noun}`);
      else if (this._marks.saturated.has(unit)) parts.push(`saturated ${noun}`);
    }
    parts.push(/** @type {any} */ (tensor).label || formatStep(tensor.step));
    parts.push(`index [${index.join(", ")}]`);
    if (this._colourScale === "channel" && Number.isFinite(value)) {
      const c = hit.channel;
      parts.push(`channel range ${formatTick(tensor.stats.channelMin[c])} … ${formatTick(tensor.stats.channelMax[c])}`);
    }
    this.frame.readout.set(formatValue(value), parts.join(" · "));
  }
}
