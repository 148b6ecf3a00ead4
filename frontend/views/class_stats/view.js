/**
 * The class statistics view (kind "class_stats", tb_plugin/kinds/class_stats.py):
 *
 * - the confusion matrix of a step (rows: true class, columns: predicted
 *   class), coloured by the row-normalised rate (the share of the true
 *   class's samples, named in the legend), counts in the cells when they fit,
 *   counts and rates on hover; the step comes from the tab's slider;
 * - a class x class cosine-similarity heatmap of one layer's class means,
 *   rows and columns in the average-linkage clustering order (named);
 * - clicking a cell (true A, predicted B) opens, for every layer, the
 *   class-mean profiles of A and B and their difference (dense layers: unit
 *   strips; conv layers: channel bars of the spatial means), the
 *   layer-by-layer separability of A vs B as SVG charts (pairwise Fisher
 *   ratio and nearest-class-mean accuracy: where the classes part or fail
 *   to), and the evaluation samples of A predicted as B with their inputs.
 *
 * Numbers come from `/class_stats` and `/class_pair` through `Api`. This
 * module holds the state (the open pair, shared by the views of a tag) and
 * the summary; the matrices are drawn by matrices.js, the pair's detail by
 * pair.js, the arithmetic is math.js.
 */

import { SEQUENTIAL } from "../../colormap.js";
import { el, clear } from "../../dom.js";
import { ViewFrame } from "../../frame.js";
import { colourBar, renderMatrix, renderSimilarity } from "./matrices.js";
import { confusedCells, defaultSimilarityLayer, nameOf, percent } from "./math.js";
import { renderPair } from "./pair.js";

/**
 * The open cell per tag, shared by every live view of that tag: compared runs show the same
 * (true, predicted) pair, and the pair stays open when the panels are rebuilt.
 * @type {Map<string, {a: number, b: number}>}
 */
const openPairs = new Map();
/** @type {Set<ConfusionView>} */
const liveViews = new Set();

export class ConfusionView {
  /**
   * @param {HTMLElement} container
   * @param {{api: import("../../api.js").Api, run: string, tag: string, info?: any, onLoad?: Function}} options
   */
  constructor(container, { api, run, tag, info = {}, onLoad }) {
    this.api = api;
    this.run = run;
    this.tag = tag;
    this.info = info;
    /** @private */ this._onLoad = onLoad || null;
    /** @private */ this._destroyed = false;
    /** @private @type {number|null} */ this._step = null;
    /** @private @type {any} */ this._doc = null;
    /** @private @type {{a: number, b: number}|null} */ this._pair = openPairs.get(tag) || null;
    /** @private @type {number|null} */ this._simLayer = null;
    /** @private */ this._token = 0;
    this.frame = new ViewFrame({
      kind: "class statistics",
      run,
      tag,
      description: info.description,
      className: "confusion-view",
      hint: "Hover a cell for its count and rate; click it to compare the two classes inside the network",
    });
    this.frame.setLegend(
      el("div", { class: "cm-legends" }, [
        colourBar(SEQUENTIAL, "0%", "100%", "Confusion colour: share of the true class's samples (row-normalised)"),
      ])
    );
    this.matrixBox = el("div", { class: "cm-matrix" });
    this.simBox = el("div", { class: "cm-similarity" });
    this.pairBox = el("div", { class: "cm-pair" }, [
      el("p", { class: "cm-hint", text: "Click a cell of the confusion matrix (true A, predicted B) to see where inside the network A and B part." }),
    ]);
    this.frame.body.append(el("div", { class: "cm-top" }, [this.matrixBox, this.simBox]), this.pairBox);
    this.element = this.frame.element;
    container.append(this.element);
    liveViews.add(this);
  }

  /** @param {number} step */
  async setStep(step) {
    if (step === this._step && this._doc) return;
    this._step = step;
    const token = ++this._token;
    this.frame.busy(true);
    try {
      const doc = await this.api.classStats(this.run, this.tag, step);
      if (this._destroyed || token !== this._token) return;
      this._doc = doc;
      this.showMessage(null);
      this.frame.setStep(step);
      this._renderSummary();
      this._renderMatrix();
      this._renderSimilarity();
      this.frame.setPicture(true);
      if (this._pair) await this._openPair(this._pair.a, this._pair.b, token);
      if (this._onLoad) this._onLoad(null, { batch: 1 });
    } catch (e) {
      if (this._destroyed || token !== this._token) return;
      this._doc = null;
      this.frame.showFailure(step, e);
    } finally {
      if (token === this._token) this.frame.busy(false);
    }
  }

  /** @private */
  _renderSummary() {
    const doc = this._doc;
    const top = confusedCells(doc.confusion, 1)[0];
    this.frame.summary.textContent =
      `${doc.samples} evaluation samples · ${doc.classes} classes · accuracy ${percent(doc.accuracy)}` +
      (top ? ` · most confused: ${nameOf(doc, top.a)} → ${nameOf(doc, top.b)} (${top.count})` : "");
  }

  /** @private */
  _renderMatrix() {
    renderMatrix(this.matrixBox, { doc: this._doc, pair: this._pair, readout: this.frame.readout, onPick: (a, b) => this._openPair(a, b) });
  }

  /** @private */
  _renderSimilarity() {
    const layers = this._doc.layers || [];
    if (layers.length && (this._simLayer === null || this._simLayer >= layers.length)) this._simLayer = defaultSimilarityLayer(layers.length);
    renderSimilarity(this.simBox, {
      doc: this._doc,
      layerIndex: /** @type {number} */ (this._simLayer),
      readout: this.frame.readout,
      onPick: (a, b) => this._openPair(a, b),
      onLayer: (index) => {
        this._simLayer = index;
        this._renderSimilarity();
      },
    });
  }

  /**
   * @private Opens the detail of true class a predicted as b.
   * @param {number} a @param {number} b @param {number} [token] the setStep in progress
   */
  async _openPair(a, b, token) {
    const changed = !this._pair || this._pair.a !== a || this._pair.b !== b;
    this._pair = { a, b };
    if (token === undefined) {
      openPairs.set(this.tag, { a, b });
      for (const view of liveViews) {
        const other = view._pair;
        if (view !== this && view.tag === this.tag && (!other || other.a !== a || other.b !== b)) view._openPair(a, b);
      }
    }
    if (!this._doc || this._step === null) return; // opened when the step arrives
    if (a >= this._doc.classes || b >= this._doc.classes) {
      clear(this.pairBox);
      this.pairBox.append(el("p", { class: "cm-note", text: `This run has ${this._doc.classes} classes; class ${Math.max(a, b)} is not among them.` }));
      return;
    }
    const step = this._step;
    const own = token === undefined ? ++this._token : token;
    if (changed && token === undefined) this._renderMatrix();
    try {
      const [pair, thumbs] = await Promise.all([
        this.api.classPair(this.run, this.tag, step, a, b),
        this._doc.thumbnails ? this.api.classSamples(this.run, this.tag, step).catch(() => null) : Promise.resolve(null),
      ]);
      if (this._destroyed || own !== this._token) return;
      renderPair(this.pairBox, { doc: this._doc, pair, thumbs, readout: this.frame.readout });
    } catch (e) {
      if (this._destroyed || own !== this._token) return;
      clear(this.pairBox);
      this.pairBox.append(el("p", { class: "cm-error", role: "alert", text: `Could not load classes ${a} and ${b}: ${e instanceof Error ? e.message : String(e)}` }));
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
    liveViews.delete(this);
    this.frame.destroy();
  }
}
