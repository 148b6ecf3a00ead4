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
 * The canvas carries what tests and the benchmark read: `data-step`,
 * `data-method`, `data-settled` (the animation finished), `data-transform`
 * (JSON {sx, sy, ox, oy}: px = x * sx + ox in CSS px), `data-highlight`
 * and `data-paint-ms` (the last frame's drawing time; every frame is also a
 * User Timing measure "embedding-paint").
 */

import { el, clear } from "../../dom.js";
import { ViewFrame } from "../../frame.js";
import { formatStep } from "../../format.js";
import { LineChart } from "../../charts/line.js";
import { labelledSelect } from "../../controls.js";
import { bounds, categorize, drawOrder, ease, fit, flatPoints, interpolate, nearest, OTHER_COLOUR, CATEGORICAL } from "./math.js";

const METHOD_NAMES = { pca: "PCA", tsne: "t-SNE", umap: "UMAP" };
const ANIMATION_MS = 350;
const PAD = 10;
const RADIUS = 2.5;
const HOVER_PX = 8;
const THUMB_PX = 64;

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

/** @param {number|null|undefined} v */
const pct = (v) => (typeof v === "number" && Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : "n/a");
/** @param {number|null|undefined} v */
const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(3) : "n/a");

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
    /** @private @type {Float64Array|null} target positions */ this._to = null;
    /** @private @type {Float64Array|null} positions on screen now */ this._now = null;
    /** @private @type {Float64Array|null} */ this._from = null;
    /** @private */ this._start = 0;
    /** @private */ this._raf = 0;
    /** @private */ this._hover = -1;
    /** @private @type {number|undefined} */ this._slowNote = undefined;
    /** @private @type {{sx: number, sy: number, ox: number, oy: number}} */ this._tf = { sx: 1, sy: -1, ox: 0, oy: 0 };
    /** @private @type {{index: Int32Array, categories: import("./math.js").Category[]}} */
    this._colours = { index: new Int32Array(0), categories: [] };
    /** @private @type {any} decoded thumbnails payload */ this._thumbs = null;
    /** @private @type {Promise<void>|null} */ this._scoresPending = null;
    /** @private @type {LineChart[]} */ this._charts = [];
    /** @private @type {number[]} */ this._scoreSteps = [];

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
    this._canvas = el("canvas", { class: "emb-canvas", tabindex: "0", role: "img", "aria-label": `scatter of ${tag} in run ${run}` });
    this._canvas.addEventListener("pointermove", (e) => this._pointer(e));
    this._canvas.addEventListener("pointerleave", () => this._setHover(-1));
    this._canvas.addEventListener("click", (e) => this._click(e));
    this._canvas.addEventListener("keydown", (e) => {
      if (e.key === "Escape") this._setShared({ sample: -1 });
    });
    this._numbers = el("div", { class: "emb-numbers" });
    this._side = el("div", { class: "emb-side" }, [this._numbers]);
    this.frame.body.append(
      el("div", { class: "emb-toolbar" }, [this._colourSelect.element, this._methodSelect.element, this._highlightNote]),
      el("div", { class: "emb-row" }, [el("div", { class: "emb-plot" }, [this._canvas]), this._side]),
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
        const name = METHOD_NAMES[/** @type {keyof METHOD_NAMES} */ (method)] || method;
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
      this._setTarget(flatPoints(doc.points), sameMethod);
      this.frame.setStep(doc.step);
      this.frame.setPicture(true);
      this._summary(doc);
      this._projectorNote(doc);
      this._loadThumbs(doc.step);
      this._loadScores(doc.step);
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
    cancelAnimationFrame(this._raf);
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
      if (this._doc) this._loadScores(this._doc.step, true);
      return;
    }
    this._recolour();
    this._draw();
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
      methods.map((/** @type {string} */ m) => [m, METHOD_NAMES[/** @type {keyof METHOD_NAMES} */ (m)] || m]),
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
    const method = METHOD_NAMES[/** @type {keyof METHOD_NAMES} */ (doc.method)] || doc.method;
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
      this._thumbs = thumbs && thumbs.shape.length >= 3 ? thumbs : null;
      if (this._thumbs) {
        let lo = Infinity;
        let hi = -Infinity;
        for (const v of this._thumbs.values) {
          if (!Number.isFinite(v)) continue;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        this._thumbs.lo = lo;
        this._thumbs.hi = hi;
      }
    } catch (_) {
      this._thumbs = null; // no thumbnails; the tooltip still has the label
    }
  }

  /** @private @param {number} step @param {boolean} [reload] */
  _loadScores(step, reload = false) {
    if (!this._scoresPending || reload) {
      const method = this._shared.method;
      this._scoresPending = this.api.embeddingScores(this.run, this.tag, method, this.info.max_step ?? "").then(
        (scores) => {
          if (this._destroyed || method !== this._shared.method) return;
          this._buildCharts(scores);
        },
        () => {
          this._scoresPending = null; // retried at the next step
        }
      );
    }
    this._scoresPending.then(() => {
      const i = this._scoreSteps.indexOf(step);
      for (const chart of this._charts) chart.setCurrent(step, i);
    });
  }

  /** @private @param {any} s */
  _buildCharts(s) {
    for (const chart of this._charts) chart.element.remove();
    this._scoreSteps = s.steps;
    const method = METHOD_NAMES[/** @type {keyof METHOD_NAMES} */ (this._shared.method)] || this._shared.method;
    const onHover = (/** @type {number|null} */ i) => {
      for (const chart of this._charts) chart.setHover(i);
    };
    const onPick = (/** @type {number} */ i) => {
      if (this._jump && i >= 0 && i < s.steps.length) this._jump(s.steps[i]);
    };
    const knn = new LineChart({
      key: "knn",
      title: "5-NN label accuracy",
      legend: [
        ["full space", "c-max"],
        [method, "c-min"],
      ],
      label: "Leave-one-out 5-nearest-neighbour label accuracy over steps, in the full space and in the projection",
      domain: [0, 1],
      percent: true,
      describe: (i) => `${pct(s.knn_accuracy[i])} full · ${pct(s.knn_accuracy_projected[i])} ${method}`,
      onHover,
      onPick,
    });
    knn.setData(s.steps, [
      { name: "full", cls: "c-max", values: s.knn_accuracy },
      { name: "projected", cls: "c-min", values: s.knn_accuracy_projected },
    ]);
    const sil = new LineChart({
      key: "silhouette",
      title: "Silhouette (full space)",
      label: "Mean silhouette coefficient of the labels in the full space over steps",
      domain: [-1, 1],
      describe: (i) => num(s.silhouette[i]),
      onHover,
      onPick,
    });
    sil.setData(s.steps, [{ name: "silhouette", cls: "c-mean", values: s.silhouette }]);
    this._charts = [knn, sil];
    this._side.append(knn.element, sil.element);
  }

  // ---- drawing ----------------------------------------------------------------

  /** @private @param {Float64Array} target @param {boolean} animate */
  _setTarget(target, animate) {
    const reduced = typeof matchMedia === "function" && matchMedia("(prefers-reduced-motion: reduce)").matches;
    this._from = animate && !reduced && this._now && this._now.length === target.length ? this._now : null;
    this._to = target;
    this._start = performance.now();
    this._canvas.dataset.settled = "false";
    this._canvas.dataset.step = String(this._doc.step);
    this._canvas.dataset.method = String(this._doc.method);
    cancelAnimationFrame(this._raf);
    this._frame();
  }

  /** @private One animation frame (and the next, until the points arrive). */
  _frame() {
    if (this._destroyed || !this._to) return;
    const t = this._from ? (performance.now() - this._start) / ANIMATION_MS : 1;
    this._now = t >= 1 ? this._to : interpolate(this._from, this._to, ease(t));
    this._draw();
    if (t < 1) this._raf = requestAnimationFrame(() => this._frame());
    else {
      this._from = null;
      this._canvas.dataset.settled = "true";
    }
  }

  /** @private Paints the points where they are now. */
  _draw() {
    const points = this._now;
    if (!points) return;
    const started = performance.now();
    const canvas = this._canvas;
    const width = Math.max(200, Math.floor(canvas.clientWidth || 420));
    const height = width;
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
    }
    canvas.style.height = `${height}px`;
    const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const tf = fit(bounds(points), width, height, PAD);
    this._tf = tf;
    const { index, categories } = this._colours;
    const n = points.length / 2;
    // One path per colour (fast for thousands of points), drawn in category order.
    /** @type {Path2D[]} */
    const paths = categories.map(() => new Path2D());
    for (let i = 0; i < n; i++) {
      const x = points[2 * i];
      const y = points[2 * i + 1];
      if (!Number.isFinite(x) || !Number.isFinite(y) || !this._visible(i)) continue;
      const px = x * tf.sx + tf.ox;
      const py = y * tf.sy + tf.oy;
      const path = paths[index[i]] || paths[0];
      if (!path) continue;
      path.moveTo(px + RADIUS, py);
      path.arc(px, py, RADIUS, 0, 2 * Math.PI);
    }
    ctx.globalAlpha = n > 3000 ? 0.7 : 0.9;
    paths.forEach((path, k) => {
      ctx.fillStyle = categories[k] ? categories[k].colour : OTHER_COLOUR;
      ctx.fill(path);
    });
    ctx.globalAlpha = 1;
    for (const i of drawOrder(n, [this._hover, this._shared.sample]).slice(-2)) {
      if (i !== this._hover && i !== this._shared.sample) continue;
      const x = points[2 * i];
      const y = points[2 * i + 1];
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      const px = x * tf.sx + tf.ox;
      const py = y * tf.sy + tf.oy;
      const c = categories[index[i]];
      ctx.beginPath();
      ctx.arc(px, py, i === this._shared.sample ? 5 : 4, 0, 2 * Math.PI);
      ctx.fillStyle = c ? c.colour : OTHER_COLOUR;
      ctx.fill();
      ctx.lineWidth = 2;
      ctx.strokeStyle = getComputedStyle(canvas).color || "#000";
      ctx.stroke();
      if (i === this._shared.sample) {
        ctx.beginPath();
        ctx.arc(px, py, 9, 0, 2 * Math.PI);
        ctx.lineWidth = 1.5;
        ctx.stroke();
      }
    }
    canvas.dataset.transform = JSON.stringify(tf);
    canvas.dataset.highlight = String(this._shared.sample);
    canvas.dataset.paintMs = (performance.now() - started).toFixed(3);
    // A User Timing entry per frame (the benchmark reads them; cheap, kept by the browser).
    if (performance.measure) performance.measure("embedding-paint", { start: started });
    this._highlightNote.textContent =
      this._shared.sample >= 0 ? `Highlighted: sample #${this._shared.sample} (${this._sampleLabel(this._shared.sample)}); Esc clears` : "";
  }

  // ---- pointer ----------------------------------------------------------------

  /** @private @param {MouseEvent} e */
  _at(e) {
    const r = this._canvas.getBoundingClientRect();
    if (!this._now) return -1;
    return nearest(this._now, this._tf, e.clientX - r.left, e.clientY - r.top, HOVER_PX, (i) => this._visible(i));
  }

  /** @private @param {PointerEvent} e */
  _pointer(e) {
    this._setHover(this._at(e));
  }

  /** @private @param {MouseEvent} e */
  _click(e) {
    const i = this._at(e);
    this._setShared({ sample: i === this._shared.sample ? -1 : i });
  }

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
    this._draw();
    const doc = this._doc;
    if (i < 0 || !doc) {
      this.frame.readout.set(null);
      return;
    }
    const where = [`sample #${i}`];
    for (const [name, values] of Object.entries(doc.columns || {})) where.push(`${name}: ${/** @type {any[]} */ (values)[i]}`);
    const p = doc.points[i];
    if (p) where.push(`at (${p[0].toPrecision(3)}, ${p[1].toPrecision(3)})`);
    this.frame.readout.set(this._sampleLabel(i), where.join(" · "), this._thumbnail(i));
  }

  /** @private The sample's thumbnail as a small canvas, or null. @param {number} i */
  _thumbnail(i) {
    const t = this._thumbs;
    if (!t || i >= t.shape[0]) return null;
    const [, h, w] = t.shape;
    const c = t.shape.length > 3 ? t.shape[3] : 1;
    const image = new ImageData(w, h);
    const span = t.hi > t.lo ? t.hi - t.lo : 1;
    const base = i * h * w * c;
    for (let k = 0; k < h * w; k++) {
      for (let ch = 0; ch < 3; ch++) {
        const v = t.values[base + k * c + (c >= 3 ? ch : 0)];
        image.data[4 * k + ch] = Math.round((255 * ((Number.isFinite(v) ? v : t.lo) - t.lo)) / span);
      }
      image.data[4 * k + 3] = 255;
    }
    const small = el("canvas", { width: w, height: h });
    /** @type {CanvasRenderingContext2D} */ (small.getContext("2d")).putImageData(image, 0, 0);
    const scale = Math.max(1, Math.floor(THUMB_PX / Math.max(w, h)));
    const big = el("canvas", { class: "emb-thumb", width: w * scale, height: h * scale, "aria-label": `input of sample #${i}` });
    const ctx = /** @type {CanvasRenderingContext2D} */ (big.getContext("2d"));
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(small, 0, 0, w * scale, h * scale);
    return big;
  }
}
