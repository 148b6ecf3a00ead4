/**
 * The embedding view (kind "embedding"): a layer's representation of fixed,
 * labelled samples as a canvas scatter, one point per sample, projected to
 * 2-D by the backend (`/embedding`: PCA, or t-SNE / UMAP where installed)
 * and aligned onto the step before, so that a step change moves each point
 * from where it was (animated) instead of flipping the picture.
 *
 * - Colour: by label (class names when logged) or by a metadata column; the
 *   legend names the colouring, and its entries filter classes (click).
 * - Hover: the sample's label, metadata and thumbnail in the tooltip.
 * - Click: highlights a sample; the highlight, the class filter, the
 *   colouring and the method are shared by every view of the same tag
 *   (compared runs hold the same samples in the same order), and kept
 *   across steps. Escape or a second click clears it.
 * - Beside it: k-NN label accuracy in the full space and in the projection
 *   and the silhouette score over steps (`/embedding_scores`), the current
 *   step marked; a click on a chart shows that step.
 * - The Projector hand-off: where it was written, and a link to the tab.
 *
 * This module holds the state (shared by the views of one tag), the
 * controls, legend and numbers; the scatter is scatter.js, the charts
 * scores.js, the tooltip's thumbnails thumbnails.js, the arithmetic math.js.
 */

import { el, clear } from "../../dom.js";
import { ViewFrame } from "../../frame.js";
import { formatStep } from "../../format.js";
import { labelledSelect } from "../../controls.js";
import { categorize, CATEGORICAL, flatPoints, methodName, num, pct } from "./math.js";
import { Scatter } from "./scatter.js";
import { ScoreCharts } from "./scores.js";
import { thumbnail, thumbnailsOf } from "./thumbnails.js";

/**
 * What the views of one tag share (compared runs): the highlighted sample,
 * hidden categories, colouring and method.
 * @type {Map<string, {sample: number, hidden: Set<string>, colourBy: string, method: string, views: Set<EmbeddingView>}>}
 */
const SHARED = new Map();
function sharedFor(/** @type {string} */ tag) {
  let s = SHARED.get(tag);
  if (!s) {
    s = { sample: -1, hidden: new Set(), colourBy: "label", method: "pca", views: new Set() };
    SHARED.set(tag, s);
  }
  return s;
}

export class EmbeddingView {
  /**
   * @param {HTMLElement} container
   * @param {{api: import("../../api.js").Api, run: string, tag: string, info?: any, onLoad?: Function,
   *          jumpToStep?: (step: number) => void}} options
   */
  constructor(container, { api, run, tag, info = {}, onLoad, jumpToStep }) {
    this.api = api;
    this.run = run;
    this.tag = tag;
    this.info = info;
    /** @private */ this._onLoad = onLoad || null;
    /** @private */ this._jump = jumpToStep || null;
    /** @private */ this._destroyed = false;
    /** @private */ this._shared = sharedFor(tag);
    this._shared.views.add(this);
    /** @private @type {number|null} the step asked for */ this._wanted = null;
    /** @private @type {any} the shown step's answer */ this._doc = null;
    /** @private the hovered sample (-1: none) */ this._hover = -1;
    /** @private @type {number|undefined} */ this._slowNote = undefined;
    /** @private @type {{index: Int32Array, categories: import("./math.js").Category[]}} */
    this._colours = { index: new Int32Array(0), categories: [] };
    /** @private @type {import("./thumbnails.js").Thumbnails|null} the shown step's */ this._thumbs = null;

    const shape = Array.isArray(info.shape) ? info.shape : undefined;
    this.frame = new ViewFrame({
      kind: "embedding",
      run,
      tag,
      shape,
      shapeTitle: "logged rows: samples x dimensions",
      description: info.description,
      className: "embedding-view",
      hint: "Hover a point to read its sample; click to highlight it in every run",
    });
    this.element = this.frame.element;
    this._legend = el("div", { class: "emb-legend", role: "group", "aria-label": "colouring and class filter" });
    this.frame.setLegend(this._legend);
    this._colourSelect = labelledSelect({ label: "Colour by", options: [["label", "label"]], onChange: (v) => this._setShared({ colourBy: v }) });
    this._methodSelect = labelledSelect({ label: "Projection", options: [["pca", "PCA"]], onChange: (v) => this._setShared({ method: v }) });
    this._projector = el("div", { class: "emb-projector" });
    this._highlightNote = el("span", { class: "emb-highlight-note", "aria-live": "polite" });
    /** @private */
    this._scatter = new Scatter({
      label: `scatter of ${tag} in run ${run}`,
      style: () => ({ colours: this._colours, visible: (i) => this._visible(i), hover: this._hover, highlight: this._shared.sample }),
      onDraw: () => this._noteHighlight(),
    });
    const canvas = this._scatter.canvas;
    canvas.addEventListener("pointermove", (e) => this._setHover(this._scatter.at(e)));
    canvas.addEventListener("pointerleave", () => this._setHover(-1));
    canvas.addEventListener("click", (e) => {
      const i = this._scatter.at(e);
      this._setShared({ sample: i === this._shared.sample ? -1 : i });
    });
    canvas.addEventListener("keydown", (e) => {
      if (e.key === "Escape") this._setShared({ sample: -1 });
    });
    this._numbers = el("div", { class: "emb-numbers" });
    this._side = el("div", { class: "emb-side" }, [this._numbers]);
    /** @private */
    this._scores = new ScoreCharts({
      api,
      run,
      tag,
      version: info.max_step ?? "",
      box: this._side,
      method: () => this._shared.method,
      alive: () => !this._destroyed,
      jumpToStep: this._jump,
    });
    this.frame.body.append(
      el("div", { class: "emb-toolbar" }, [this._colourSelect.element, this._methodSelect.element, this._highlightNote]),
      el("div", { class: "emb-row" }, [el("div", { class: "emb-plot" }, [canvas]), this._side]),
      this._projector
    );
    container.append(this.element);
  }

  /** @param {number} step */
  async setStep(step) {
    this._wanted = step;
    const method = this._shared.method;
    this.frame.busy(true);
    // t-SNE and UMAP take seconds a step, computed once for every step up to this one: say so.
    window.clearTimeout(this._slowNote);
    if (method !== "pca") {
      this._slowNote = window.setTimeout(() => {
        const name = methodName(method);
        this.frame.status.textContent = `Computing ${name} (the first time, for every step up to this one)…`;
      }, 400);
    }
    try {
      const doc = await this.api.embedding(this.run, this.tag, step, method);
      window.clearTimeout(this._slowNote);
      if (this._destroyed || step !== this._wanted || method !== this._shared.method) return;
      this.frame.busy(false);
      this.showMessage(null);
      const sameMethod = this._doc && this._doc.method === doc.method;
      this._doc = doc;
      this._controls(doc);
      this._recolour();
      this._scatter.setTarget(flatPoints(doc.points), Boolean(sameMethod), { step: doc.step, method: doc.method });
      this.frame.setStep(doc.step);
      this.frame.setPicture(true);
      this._summary(doc);
      this._projectorNote(doc);
      this._loadThumbs(doc.step);
      this._scores.show(doc.step);
      if (this._onLoad) this._onLoad(null, { batch: 1 });
    } catch (e) {
      window.clearTimeout(this._slowNote);
      if (this._destroyed || step !== this._wanted) return;
      this.frame.busy(false);
      this.frame.showFailure(step, e);
    }
  }

  setSample() {}
  setColourScale() {}
  refreshMarks() {}

  /** @param {string|null} text @param {"error"|"info"} [tone] */
  showMessage(text, tone = "error") {
    this.frame.showMessage(text, tone);
  }

  destroy() {
    this._destroyed = true;
    window.clearTimeout(this._slowNote);
    this._scatter.destroy();
    this._shared.views.delete(this);
    this.frame.destroy();
  }

  // ---- shared state -----------------------------------------------------------

  /** @private @param {{sample?: number, colourBy?: string, method?: string, hidden?: Set<string>}} change */
  _setShared(change) {
    const s = this._shared;
    const methodChanged = change.method !== undefined && change.method !== s.method;
    Object.assign(s, change);
    for (const view of s.views) view._sync(methodChanged);
  }

  /** @private @param {boolean} methodChanged */
  _sync(methodChanged) {
    if (this._destroyed) return;
    this._colourSelect.select.value = this._shared.colourBy;
    this._methodSelect.select.value = this._shared.method;
    if (methodChanged && this._wanted !== null) {
      this.setStep(this._wanted);
      if (this._doc) this._scores.show(this._doc.step, true);
      return;
    }
    this._recolour();
    this._scatter.draw();
  }

  // ---- data -------------------------------------------------------------------

  /** @private */
  _controls(doc) {
    const colourOptions = /** @type {Array<[string, string]>} */ ([]);
    if (doc.labels) colourOptions.push(["label", "label"]);
    for (const name of Object.keys(doc.columns || {})) colourOptions.push([`column:${name}`, name]);
    if (!colourOptions.length) colourOptions.push(["none", "nothing (no labels logged)"]);
    if (!colourOptions.some(([v]) => v === this._shared.colourBy)) this._shared.colourBy = colourOptions[0][0];
    this._colourSelect.setOptions(colourOptions, this._shared.colourBy);
    const methods = Array.isArray(doc.methods) && doc.methods.length ? doc.methods : ["pca"];
    this._methodSelect.setOptions(
      methods.map((/** @type {string} */ m) => [m, methodName(m)]),
      this._shared.method
    );
    this._methodSelect.select.disabled = methods.length < 2;
    this._methodSelect.select.title =
      methods.length < 2 ? "Only PCA is available: install scikit-learn (t-SNE) or the 'umap' extra (UMAP) where TensorBoard runs" : "";
  }

  /** @private The colouring of the shown step. */
  _recolour() {
    const doc = this._doc;
    if (!doc) return;
    const by = this._shared.colourBy;
    let values = null;
    let names = null;
    if (by === "label" && doc.labels) {
      values = doc.labels;
      names = doc.class_names;
    } else if (by.startsWith("column:")) values = (doc.columns || {})[by.slice(7)] || null;
    this._colours = values
      ? categorize(values, names)
      : { index: new Int32Array(doc.points.length), categories: [{ name: "all samples (no labels logged)", colour: CATEGORICAL[0], count: doc.points.length }] };
    this._renderLegend(by === "label" ? "label" : by.startsWith("column:") ? by.slice(7) : "");
  }

  /** @private @param {string} what */
  _renderLegend(what) {
    clear(this._legend);
    const hidden = this._shared.hidden;
    this._legend.append(el("span", { class: "emb-legend-title", text: what ? `Colour: ${what}` : "One colour" }));
    for (const c of this._colours.categories) {
      const off = hidden.has(c.name);
      this._legend.append(
        el(
          "button",
          {
            type: "button",
            class: `emb-key${off ? " emb-key-off" : ""}`,
            "aria-pressed": off ? "false" : "true",
            title: off ? `Show ${c.name}` : `Hide ${c.name}`,
            onclick: () => {
              const next = new Set(hidden);
              if (next.has(c.name)) next.delete(c.name);
              else next.add(c.name);
              this._setShared({ hidden: next });
            },
          },
          [el("span", { class: "emb-swatch", style: { background: c.colour }, "aria-hidden": "true" }), el("bdi", { text: c.name }), el("span", { class: "emb-count", text: ` ${c.count}` })]
        )
      );
    }
  }

  /** @private Whether sample i is drawn (its category is not filtered out). @param {number} i */
  _visible(i) {
    const hidden = this._shared.hidden;
    if (!hidden.size) return true;
    const c = this._colours.categories[this._colours.index[i]];
    return !c || !hidden.has(c.name);
  }

  /** @private @param {any} doc */
  _summary(doc) {
    const method = methodName(doc.method);
    const parts = [`${method} of ${doc.finite_rows} samples`];
    if (doc.method === "pca" && Array.isArray(doc.explained_variance)) {
      parts.push(`explained variance ${pct(doc.explained_variance[0])} + ${pct(doc.explained_variance[1])}`);
    }
    const missing = doc.points.length - doc.finite_rows;
    if (missing > 0) parts.push(`${missing} rows with non-finite values left out`);
    this.frame.summary.textContent = parts.join(" · ");
    clear(this._numbers);
    const scored = doc.scored_samples && doc.scored_samples < doc.finite_rows ? ` (on a fixed subset of ${doc.scored_samples})` : "";
    const rows = [
      ["5-NN accuracy, full space", pct(doc.knn_accuracy)],
      [`5-NN accuracy, ${method}`, pct(doc.knn_accuracy_projected)],
      ["Silhouette, full space", num(doc.silhouette)],
    ];
    this._numbers.append(
      el("div", { class: "emb-numbers-title", text: `${formatStep(doc.step, { capital: true })}${scored}` }),
      el("dl", { class: "emb-dl" }, rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]))
    );
  }

  /** @private @param {any} doc */
  _projectorNote(doc) {
    clear(this._projector);
    const p = doc.projector;
    if (!p) {
      this._projector.append(
        el("span", {
          class: "emb-projector-none",
          text: `Not handed off to TensorBoard's Projector. To open it there: python -m tb_plugin.projector LOGDIR "${this.run}" "${this.tag}"`,
        })
      );
      return;
    }
    const open = el("button", {
      type: "button",
      class: "emb-projector-open",
      text: "Open in the Projector tab",
      onclick: () => {
        try {
          window.top.location.hash = "#projector";
        } catch (_) {
          // Not inside TensorBoard's page: nothing to switch.
        }
      },
    });
    this._projector.append(
      el("span", { class: "emb-projector-where", text: `Handed off to TensorBoard's Projector as “${p.tensor_name}”, written to ${p.config}. ` }),
      open,
      el("span", {
        class: "emb-projector-limits",
        text: " The Projector re-reads its config only when runs or checkpoints change (reload TensorBoard after a new hand-off).",
      })
    );
  }

  /** @private @param {number} step */
  async _loadThumbs(step) {
    try {
      const thumbs = await this.api.embeddingThumbnails(this.run, this.tag, step);
      if (this._destroyed) return;
      this._thumbs = thumbnailsOf(thumbs);
    } catch (_) {
      this._thumbs = null; // no thumbnails; the tooltip still has the label
    }
  }

  /** @private The highlighted sample, said beside the controls. */
  _noteHighlight() {
    const i = this._shared.sample;
    this._highlightNote.textContent = i >= 0 ? `Highlighted: sample #${i} (${this._sampleLabel(i)}); Esc clears` : "";
  }

  // ---- pointer ----------------------------------------------------------------

  /** @private @param {number} i */
  _sampleLabel(i) {
    const doc = this._doc;
    if (!doc || !doc.labels) return "no label";
    const v = doc.labels[i];
    return doc.class_names && Number.isInteger(v) && v >= 0 && v < doc.class_names.length ? String(doc.class_names[v]) : String(v);
  }

  /** @private @param {number} i */
  _setHover(i) {
    if (i === this._hover) return;
    this._hover = i;
    this._scatter.draw();
    const doc = this._doc;
    if (i < 0 || !doc) {
      this.frame.readout.set(null);
      return;
    }
    const where = [`sample #${i}`];
    for (const [name, values] of Object.entries(doc.columns || {})) where.push(`${name}: ${/** @type {any[]} */ (values)[i]}`);
    const p = doc.points[i];
    if (p) where.push(`at (${p[0].toPrecision(3)}, ${p[1].toPrecision(3)})`);
    this.frame.readout.set(this._sampleLabel(i), where.join(" · "), thumbnail(this._thumbs, i));
  }
}
