/**
 * The attribution view (kind `attribution`): where in each probe input the
 * evidence for a class lies, at the step on the slider.
 *
 * The chosen sample's input image with the chosen method's map painted over
 * it at the chosen opacity (each pixel `(1 - opacity) * image + opacity *
 * colour(value)`, `attribution_math.overlayPixels`), its true and predicted
 * class with their probabilities, and a grid of every probe sample drawn the
 * same way (click one to enlarge it). The method switch (Grad-CAM,
 * gradients, SmoothGrad, integrated gradients) and the class switch (true,
 * predicted) act on all of them. Unsigned maps use the sequential map over
 * [0, max], integrated gradients the diverging map centred on zero; the
 * range spans every sample and both classes of that method at this step,
 * and the legend names it. Data: the maps (`/data`), the side document and
 * the probe images (`/attribution_blob`), all through the `Api`.
 *
 * Text models (the token layout, `doc.layout === "tokens"`, maps `[samples,
 * targets, tokens, methods]`): the chosen sample's tokens as text, each on
 * the background colour of its score (the diverging map centred on zero,
 * the range over every sample and both classes at this step), a bar per
 * token, and every sample as a highlighted row (click one to focus it).
 * Token labels are set as text only.
 */

import { DIVERGING, SEQUENTIAL, cssColour } from "../../colormap.js";
import { el, clear } from "../../dom.js";
import { ViewFrame } from "../../frame.js";
import { formatShape, formatStep, formatValue } from "../../format.js";
import { LatestStep } from "../../latest_step.js";
import { Legend } from "../../legend.js";
import { imageRgb, mapOf, methodLabel, methodRange, overlayPixels, sampleCaption, SIGNED_METHODS, textOn, tokenScores } from "./math.js";

const DEFAULT_OPACITY = 0.6;
const MAIN_PX = 320;
const THUMB_PX = 76;

export class AttributionView {
  /**
   * @param {HTMLElement} container
   * @param {{api: import("../../api.js").Api, run: string, tag: string, info?: any, sample?: number,
   *          onLoad?: (tensor: any, plan: {batch: number}) => void, title?: string}} options
   */
  constructor(container, { api, run, tag, info = {}, sample = 0, onLoad, title }) {
    this.api = api;
    this.run = run;
    this.tag = tag;
    this.info = info;
    /** @private */ this._sample = sample;
    /** @private */ this._onLoad = onLoad || null;
    /** @private */ this._destroyed = false;
    /** @private @type {any} the shown step: {step, tensor, doc, images} */ this._data = null;
    /** @private */ this._method = (info.methods && info.methods[0]) || "gradcam";
    /** @private */ this._target = info.targets && info.targets.includes("true") ? "true" : "predicted";
    /** @private */ this._opacity = DEFAULT_OPACITY;
    this._steps = new LatestStep({
      load: (step) => this._loadStep(step),
      show: (_step, data) => {
        this._data = data;
        this.frame.showMessage(null);
        this._render();
        if (this._onLoad) this._onLoad(data.tensor, { batch: data.tensor.shape[0] });
      },
      fail: (step, e) => {
        this._data = null;
        this.frame.setStep(step);
        this.frame.setPicture(false);
        this.frame.showFailure(step, e);
      },
      shownStep: () => this.shownStep,
      alive: () => !this._destroyed,
      busy: (on) => this.frame.busy(on),
    });
    this.frame = new ViewFrame({
      kind: "attribution",
      run,
      tag,
      title,
      shape: info.shape || [],
      shapeTitle: info.layout === "tokens"
        ? "logged shape: samples × classes (true, predicted) × tokens × methods"
        : "logged shape: samples × classes (true, predicted) × height × width × methods",
      chips: [info.gradcam_layer ? el("span", { class: "shape-chip", title: "the layer Grad-CAM uses", text: `Grad-CAM on ${info.gradcam_layer}` }) : null],
      description: info.description,
      className: "attr-view",
      hint: info.layout === "tokens" ? "Hover a token to read its score" : "Hover the image to read the map's value",
    });
    /** @private */ this._legendBox = el("div", { class: "attr-legend" });
    this.frame.setLegend(this._legendBox);
    /** @private */ this._methods = el("div", { class: "attr-methods", role: "group", "aria-label": "attribution method" });
    /** @private */ this._targets = el("div", { class: "attr-targets", role: "group", "aria-label": "class explained" });
    /** @private */ this._opacityInput = el("input", {
      type: "range", min: "0", max: "100", step: "5", value: String(Math.round(DEFAULT_OPACITY * 100)),
      class: "attr-opacity-input", "aria-label": "overlay opacity",
      oninput: () => {
        this._opacity = Number(this._opacityInput.value) / 100;
        this._opacityText.textContent = `${this._opacityInput.value}%`;
        this._render();
      },
    });
    /** @private */ this._opacityText = el("span", { class: "attr-opacity-text", text: `${Math.round(DEFAULT_OPACITY * 100)}%` });
    /** @private */ this._main = el("canvas", { class: "attr-main", width: 1, height: 1, role: "img", "aria-label": "input with the attribution map" });
    /** @private */ this._caption = el("div", { class: "attr-caption" });
    /** @private */ this._grid = el("div", { class: "attr-grid", role: "group", "aria-label": "probe samples" });
    this._main.addEventListener("pointermove", (e) => this._hover(e));
    this._main.addEventListener("pointerleave", () => this.frame.readout.set(null));
    this.frame.body.append(
      el("div", { class: "attr-toolbar" }, [
        this._methods,
        this._targets,
        el("label", { class: "attr-opacity" }, [el("span", { text: "Overlay opacity " }), this._opacityInput, this._opacityText]),
      ]),
      el("div", { class: "attr-layout" }, [el("div", { class: "attr-focus" }, [this._main, this._caption]), this._grid])
    );
    this.element = this.frame.element;
    container.append(this.element);
  }

  get shownStep() {
    return this._data ? this._data.step : null;
  }

  /** @param {number} step */
  setStep(step) {
    return this._steps.request(step);
  }

  /** @param {number} sample */
  setSample(sample) {
    this._sample = sample;
    if (this._data) this._render();
  }

  setColourScale() {} // the range is the method's over the step (named in the legend)

  refreshMarks() {}

  /** @param {string|null} text */
  showMessage(text) {
    this.frame.showMessage(text);
  }

  destroy() {
    this._destroyed = true;
    this.frame.destroy();
  }

  /** @private the maps, side document and probe images of a step */
  async _loadStep(step) {
    const [tensor, doc, images] = await Promise.all([
      this.api.tensor(this.run, this.tag, step),
      this.api.attributionBlob(this.run, this.tag, step, 1),
      this.api.attributionBlob(this.run, this.tag, step, 3),
    ]);
    const tokens = Boolean(doc && doc.layout === "tokens");
    if (tokens && (tensor.shape.length !== 4 || !Array.isArray(doc.tokens) || doc.tokens.length !== tensor.shape[0])) {
      throw new Error(`token attribution maps must be [samples, classes, tokens, methods] with one label list per sample, got ${formatShape(tensor.shape)}`);
    }
    if (!tokens && tensor.shape.length !== 5) throw new Error(`attribution maps must be [samples, classes, height, width, methods], got ${formatShape(tensor.shape)}`);
    if (!doc || !Array.isArray(doc.methods) || doc.methods.length !== tensor.shape[tensor.shape.length - 1]) {
      throw new Error("this step's attribution document is missing or does not match its maps");
    }
    return { step, tensor, doc, images };
  }

  /** @private */
  _render() {
    const data = this._data;
    if (!data) return;
    const { tensor, doc, images } = data;
    const [n, , h, w] = tensor.shape;
    if (!doc.methods.includes(this._method)) this._method = doc.methods[0];
    if (!doc.targets.includes(this._target)) this._target = doc.targets[doc.targets.length - 1];
    if (this._sample >= n) this._sample = n - 1;
    if (doc.layout === "tokens") return this._renderTokens();
    const m = doc.methods.indexOf(this._method);
    const t = doc.targets.indexOf(this._target);
    const signed = SIGNED_METHODS.includes(this._method);
    const colormap = signed ? DIVERGING : SEQUENTIAL;
    const [lo, hi] = methodRange(tensor.values, tensor.shape, m, signed);
    this.frame.setStep(data.step);
    this.frame.summary.textContent = `${n} probe sample${n === 1 ? "" : "s"} · ${h}×${w}`;
    this._renderSwitches(doc);
    const paint = (/** @type {HTMLCanvasElement} */ canvas, /** @type {number} */ s) => {
      canvas.width = w;
      canvas.height = h;
      const rgb = images ? imageRgb(images.values, images.shape, s) : null;
      const px = overlayPixels(mapOf(tensor.values, tensor.shape, s, t, m), rgb, colormap, lo, hi, this._opacity);
      const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
      const img = ctx.createImageData(w, h);
      img.data.set(px);
      ctx.putImageData(img, 0, 0);
    };
    const scale = Math.max(1, Math.floor(MAIN_PX / Math.max(h, w)));
    this._main.style.width = `${w * scale}px`;
    this._main.style.height = `${h * scale}px`;
    paint(this._main, this._sample);
    Object.assign(this._main.dataset, { sample: String(this._sample), method: this._method, target: this._target, step: String(data.step) });
    this._renderCaption(doc);
    clear(this._grid);
    for (let s = 0; s < n; s++) {
      const canvas = el("canvas", { class: "attr-thumb-canvas", width: w, height: h, "aria-hidden": "true" });
      const thumb = Math.max(1, Math.floor(THUMB_PX / Math.max(h, w)));
      canvas.style.width = `${w * thumb}px`;
      canvas.style.height = `${h * thumb}px`;
      paint(canvas, s);
      const cap = sampleCaption(doc, s);
      const button = el(
        "button",
        {
          type: "button",
          class: `attr-thumb${s === this._sample ? " attr-thumb-on" : ""}${cap.correct === false ? " attr-thumb-wrong" : ""}`,
          title: `Sample ${s}: ${cap.truth ? cap.truth + " · " : ""}${cap.predicted}`,
          "aria-pressed": s === this._sample ? "true" : "false",
          dataset: { sample: String(s) },
          onclick: () => this.setSample(s),
        },
        [canvas, el("span", { class: "attr-thumb-label", text: `${s}${cap.correct === false ? " ✗" : ""}` })]
      );
      this._grid.append(button);
    }
    const bad = { nan: 0, posInf: 0, negInf: 0 };
    for (let i = m; i < tensor.values.length; i += tensor.shape[4]) {
      const v = tensor.values[i];
      if (Number.isNaN(v)) bad.nan++;
      else if (v === Infinity) bad.posInf++;
      else if (v === -Infinity) bad.negInf++;
    }
    const legend = new Legend(colormap);
    legend.update({
      mode: "layer",
      lo,
      hi,
      ...bad,
      channels: 1,
      name: `${methodLabel(this._method)} (${colormap.name}): range over all ${n} samples and ${doc.targets.length === 2 ? "both classes" : "the predicted class"} at this step${signed ? ", centred on zero" : ""}`,
      extra: `painted over the input at ${Math.round(this._opacity * 100)}% opacity`,
    });
    legend.element.dataset.colormap = colormap.name;
    clear(this._legendBox);
    this._legendBox.append(legend.element);
    this.frame.setPicture(true);
  }

  /** @private the token layout: highlighted text, bars and a row per sample */
  _renderTokens() {
    const { tensor, doc } = this._data;
    const [n, , k] = tensor.shape;
    const m = doc.methods.indexOf(this._method);
    const t = doc.targets.indexOf(this._target);
    const signed = SIGNED_METHODS.includes(this._method);
    const colormap = signed ? DIVERGING : SEQUENTIAL;
    const [lo, hi] = methodRange(tensor.values, tensor.shape, m, signed);
    this.frame.setStep(this._data.step);
    this.frame.summary.textContent = `${n} probe sample${n === 1 ? "" : "s"} · ${k} tokens`;
    this._renderSwitches(doc);
    this._opacityInput.parentElement.hidden = true;
    this._main.hidden = true;
    const where = `${methodLabel(this._method)} · ${this._target} class · ${formatStep(this._data.step)}`;
    const row = (/** @type {number} */ s, /** @type {boolean} */ focus) => {
      const scores = tokenScores(tensor.values, tensor.shape, s, t, m);
      const labels = doc.tokens[s] || [];
      const line = el("div", { class: focus ? "attr-tokens attr-tokens-main" : "attr-tokens", dataset: { sample: String(s) } });
      scores.forEach((v, i) => {
        const c = colormap.colourOf(v, lo, hi);
        const span = el("span", { class: "attr-token", text: labels[i] !== undefined ? String(labels[i]) : String(i), dataset: { index: String(i), value: String(v) } });
        span.style.background = cssColour(c);
        span.style.color = textOn(c);
        if (focus) {
          span.addEventListener("pointerenter", () => this.frame.readout.set(formatValue(v), `token ${i} · sample ${s} · ${where}`));
          span.addEventListener("pointerleave", () => this.frame.readout.set(null));
        }
        line.append(span);
      });
      return [line, scores, labels];
    };
    const [main, scores, labels] = row(this._sample, true);
    Object.assign(main.dataset, { method: this._method, target: this._target, step: String(this._data.step) });
    const bars = el("div", { class: "attr-token-bars", role: "img", "aria-label": "score per token" });
    const a = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    scores.forEach((v, i) => {
      const frac = Math.min(1, Math.abs(v) / a) * 50;
      const bar = el("div", { class: "attr-bar-fill" });
      Object.assign(bar.style, { left: v >= 0 ? "50%" : `${50 - frac}%`, width: `${frac}%`, background: cssColour(colormap.colourOf(v, lo, hi)) });
      bars.append(el("div", { class: "attr-bar-row", dataset: { index: String(i) } }, [
        el("span", { class: "attr-bar-label", text: labels[i] !== undefined ? String(labels[i]) : String(i) }),
        el("span", { class: "attr-bar-track" }, [bar]),
        el("span", { class: "attr-bar-value", text: formatValue(v) }),
      ]));
    });
    let focusBox = this._main.parentElement.querySelector(".attr-token-focus");
    if (!focusBox) {
      focusBox = el("div", { class: "attr-token-focus" });
      this._main.parentElement.prepend(focusBox);
    }
    clear(focusBox);
    focusBox.append(main, bars);
    this._renderCaption(doc);
    clear(this._grid);
    this._grid.classList.add("attr-grid-tokens");
    for (let s = 0; s < n; s++) {
      const cap = sampleCaption(doc, s);
      this._grid.append(el("button", {
        type: "button",
        class: `attr-token-row${s === this._sample ? " attr-thumb-on" : ""}${cap.correct === false ? " attr-thumb-wrong" : ""}`,
        title: `Sample ${s}: ${cap.truth ? cap.truth + " · " : ""}${cap.predicted}`,
        "aria-pressed": s === this._sample ? "true" : "false",
        dataset: { sample: String(s) },
        onclick: () => this.setSample(s),
      }, [el("span", { class: "attr-thumb-label", text: `${s}${cap.correct === false ? " ✗" : ""}` }), row(s, false)[0]]));
    }
    const bad = { nan: 0, posInf: 0, negInf: 0 };
    for (let i = m; i < tensor.values.length; i += tensor.shape[3]) {
      const v = tensor.values[i];
      if (Number.isNaN(v)) bad.nan++;
      else if (v === Infinity) bad.posInf++;
      else if (v === -Infinity) bad.negInf++;
    }
    const legend = new Legend(colormap);
    legend.update({
      mode: "layer",
      lo,
      hi,
      ...bad,
      channels: 1,
      name: `${methodLabel(this._method)} per token (${colormap.name}): range over all ${n} samples and ${doc.targets.length === 2 ? "both classes" : "the predicted class"} at this step${signed ? ", centred on zero" : ""}`,
      extra: doc.embedding_layer ? `over the output of embedding layer ${doc.embedding_layer}, summed over its dimension` : "one score per token",
    });
    legend.element.dataset.colormap = colormap.name;
    clear(this._legendBox);
    this._legendBox.append(legend.element);
    this.frame.setPicture(true);
  }

  /** @private */
  _renderSwitches(doc) {
    clear(this._methods);
    for (const method of doc.methods) {
      this._methods.append(
        el("button", {
          type: "button",
          class: `attr-method${method === this._method ? " attr-on" : ""}`,
          "aria-pressed": method === this._method ? "true" : "false",
          dataset: { method },
          text: methodLabel(method),
          onclick: () => {
            this._method = method;
            this._render();
          },
        })
      );
    }
    clear(this._targets);
    for (const target of doc.targets) {
      this._targets.append(
        el("button", {
          type: "button",
          class: `attr-target${target === this._target ? " attr-on" : ""}`,
          "aria-pressed": target === this._target ? "true" : "false",
          dataset: { target },
          text: target === "true" ? "True class" : "Predicted class",
          onclick: () => {
            this._target = target;
            this._render();
          },
        })
      );
    }
  }

  /** @private */
  _renderCaption(doc) {
    const s = this._sample;
    const cap = sampleCaption(doc, s);
    const lines = [el("div", { class: "attr-cap-title", text: `Sample ${s} · explaining the ${this._target === "true" ? "true" : "predicted"} class` })];
    if (cap.truth) lines.push(el("div", { class: "attr-cap-truth", text: cap.truth }));
    lines.push(el("div", { class: `attr-cap-pred${cap.correct === false ? " attr-wrong" : ""}`, text: cap.predicted + (cap.correct === false ? " (wrong)" : "") }));
    if (this._method === "integrated_gradients" && doc.completeness_error && doc.completeness_error[this._target]) {
      const e = doc.completeness_error[this._target][s];
      const ig = doc.integrated_gradients || null;
      const how = ig ? `; ${ig.steps} steps, ${ig.baseline} baseline, f = the class ${doc.score || "score"}` : "";
      const sum = doc.layout === "tokens" ? "Σ token scores" : "Σ attributions";
      lines.push(
        el("div", {
          class: "attr-cap-note",
          text: `Completeness error ${(100 * e).toFixed(2)}% (|${sum} − (f(x) − f(baseline))| / |f(x) − f(baseline)|${how})`,
        })
      );
    }
    if (this._method === "gradcam" && doc.gradcam_layer) {
      lines.push(el("div", { class: "attr-cap-note", text: `Grad-CAM on ${doc.gradcam_layer} (${(doc.gradcam_shape || []).join("×")}), upsampled bilinearly` }));
    }
    clear(this._caption);
    this._caption.append(...lines);
  }

  /** @private @param {PointerEvent} e */
  _hover(e) {
    const data = this._data;
    if (!data) return;
    const [, , h, w] = data.tensor.shape;
    const r = this._main.getBoundingClientRect();
    const col = Math.floor(((e.clientX - r.left) / r.width) * w);
    const row = Math.floor(((e.clientY - r.top) / r.height) * h);
    if (col < 0 || row < 0 || col >= w || row >= h) return this.frame.readout.set(null);
    const m = data.doc.methods.indexOf(this._method);
    const t = data.doc.targets.indexOf(this._target);
    const v = mapOf(data.tensor.values, data.tensor.shape, this._sample, t, m)[row * w + col];
    this.frame.readout.set(formatValue(v), `${methodLabel(this._method)} · sample ${this._sample} · row ${row}, col ${col} · ${this._target} class · ${formatStep(data.step)}`);
  }
}
