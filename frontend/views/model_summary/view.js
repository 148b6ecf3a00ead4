/**
 * The architecture overview (kind "model_summary"): the model's layers with
 * class, output shape and parameter count, nested layers indented, each row
 * linking to the layer's activations, weights and statistics in the run.
 * Below it, the callback's logging plan when the run has one
 * (logging_plan.js: budget, bytes, reductions, samples per map, cadence of
 * full weights). The run's landing page.
 */

import { el, clear } from "../../dom.js";
import { groupLayers } from "../../layers.js";
import { ViewFrame } from "../../frame.js";
import { formatCount, formatStep } from "../../format.js";
import { loggingPlanTag, renderLoggingPlan } from "./logging_plan.js";

/** @param {Array<number|null>|null} shape */
function shapeText(shape) {
  if (!shape) return "–";
  return `(${shape.map((d) => (d === null || d < 0 ? "None" : String(d))).join(", ")})`;
}

export class ArchitectureView {
  /**
   * @param {HTMLElement} container
   * @param {{api: import("../../api.js").Api, run: string, tag: string, info?: any, onLoad?: Function,
   *          navigate?: (run: string, tag: string) => void}} options
   */
  constructor(container, { api, run, tag, info = {}, onLoad, navigate }) {
    this.api = api;
    this.run = run;
    this.tag = tag;
    /** @private */ this._onLoad = onLoad || null;
    /** @private */ this._navigate = navigate || null;
    /** @private */ this._destroyed = false;
    /** @private @type {number|null} */ this._shown = null;
    this.frame = new ViewFrame({ kind: "architecture", run, tag, description: info.description, className: "arch-view" });
    this._stepLabel = this.frame.stepLabel;
    this._summary = this.frame.summary;
    this._message = this.frame.message;
    this._body = this.frame.body;
    this._body.classList.add("arch-body");
    this.element = this.frame.element;
    container.append(this.element);
  }

  /** @param {number} step */
  async setStep(step) {
    if (step === this._shown) return;
    this._shown = step;
    try {
      const [doc, listing] = await Promise.all([this.api.modelSummary(this.run, this.tag, step), this.api.tags().catch(() => ({}))]);
      if (this._destroyed || step !== this._shown) return;
      this.showMessage(null);
      const infos = (listing && listing[this.run]) || {};
      this._render(doc, infos);
      this.frame.setStep(step);
      await this._renderPlan(infos, step);
      if (this._onLoad) this._onLoad(null, { batch: 1 });
    } catch (e) {
      if (this._destroyed) return;
      this._shown = null;
      this.showMessage(`Could not load the model summary: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** @private */
  _render(doc, infos) {
    clear(this._body);
    const layers = Array.isArray(doc.layers) ? doc.layers : [];
    this._summary.textContent = `${String(doc.class || "Model")} ${String(doc.name || "")} · ${layers.length} layers · ${formatCount(
      Number(doc.total_params) || 0
    )} parameters (${formatCount(Number(doc.trainable_params) || 0)} trainable)`;
    const byPath = new Map(groupLayers(infos).layers.map((l) => [l.path, l]));
    const link = (/** @type {string} */ text, /** @type {string|null} */ target, /** @type {string} */ kind) =>
      target
        ? el("button", {
            type: "button",
            class: `arch-link arch-link-${kind}`,
            text,
            title: target,
            onclick: () => this._navigate && this._navigate(this.run, target),
          })
        : el("span", { class: "arch-link arch-link-none", text: "–" });
    const head = el("tr", {}, ["Layer", "Class", "Output shape", "Parameters", "Show"].map((t) => el("th", { scope: "col", text: t })));
    const rows = layers.map((/** @type {any} */ layer) => {
      const path = String(layer.path);
      const entries = (byPath.get(path) || { entries: [] }).entries;
      const acts = entries.find((e) => e.kind === "activations");
      const nameCell = el("td", { class: "arch-name" }, [el("span", { class: "arch-indent", style: { paddingLeft: `${Number(layer.depth || 0) * 18}px` } }), el("span", { text: String(layer.name) })]);
      nameCell.title = path;
      return el("tr", { class: "arch-row", dataset: { path, depth: String(layer.depth || 0) } }, [
        nameCell,
        el("td", { class: "arch-class", text: String(layer.class) }),
        el("td", { class: "arch-shape", text: shapeText(layer.output_shape) }),
        el("td", { class: "arch-params", text: formatCount(Number(layer.params) || 0) }),
        // Every kind the layer has; statistics logged with activations show beside them, so that button opens those.
        el(
          "td",
          { class: "arch-links" },
          entries.length
            ? entries.map((e) =>
                link(e.label, e.kind === "activation_stats" && acts ? acts.tag : e.tag, e.kind === "activation_stats" ? "stats" : e.kind)
              )
            : [link("–", null, "none")]
        ),
      ]);
    });
    this._body.append(el("table", { class: "arch-table" }, [el("thead", {}, [head]), el("tbody", {}, rows)]));
  }

  /**
   * @private The logging plan in effect at `step` (its latest step at or before it, else its first).
   * @param {Object<string, any>} infos @param {number} step
   */
  async _renderPlan(infos, step) {
    const tag = loggingPlanTag(infos);
    if (!tag) return;
    const box = el("div", { class: "plan-box" });
    this._body.append(box);
    try {
      const steps = (await this.api.steps(this.run, tag)).steps.slice().sort((a, b) => a - b);
      if (!steps.length) return;
      const at = steps.filter((s) => s <= step).pop() ?? steps[0];
      const doc = await this.api.document(this.run, tag, at);
      if (this._destroyed || step !== this._shown) return;
      box.append(renderLoggingPlan(doc, { tag, step: formatStep(at) }));
    } catch (e) {
      if (this._destroyed || step !== this._shown) return;
      box.append(el("p", { class: "plan-error", role: "status", text: `Could not load the logging plan: ${e instanceof Error ? e.message : String(e)}` }));
    }
  }

  setSample() {}
  setColourScale() {}
  refreshMarks() {}

  /** @param {string|null} text */
  showMessage(text, tone = "error") {
    this.frame.showMessage(text, tone);
  }

  destroy() {
    this._destroyed = true;
    this.frame.destroy();
  }
}
