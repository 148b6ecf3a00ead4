/**
 * The class statistics view (kind "class_stats", tb_plugin/class_stats.py):
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
 * Numbers come from `/class_stats` and `/class_pair` through `Api`; this
 * module only paints them (arithmetic in math.js).
 */

import { niceTicks } from "../../charts/scales.js";
import { DIVERGING, SEQUENTIAL, cssColour, LUT_SIZE } from "../../colormap.js";
import { clear, el, svg } from "../../dom.js";
import { ViewFrame } from "../../frame.js";
import { formatTick, formatValue } from "../../format.js";
import {
  absMax,
  cellSize,
  confusedCells,
  defaultSimilarityLayer,
  percent,
  permute,
  profileRange,
  rowRates,
  shownSamples,
  spread,
  validOrder,
  yScale,
} from "./math.js";

const MATRIX_WIDTH = 380;
const LABEL_PX = 64;
const MAX_SAMPLES = 48;
const STRIP_WIDTH = 520;

/** A colour bar of a map with its end labels. @param {import("../../colormap.js").Colormap} map @param {string} lo @param {string} hi @param {string} name */
function colourBar(map, lo, hi, name) {
  const bar = el("canvas", { class: "cm-legend-bar", width: LUT_SIZE, height: 1, "aria-hidden": "true" });
  const ctx = /** @type {CanvasRenderingContext2D} */ (bar.getContext("2d"));
  const image = ctx.createImageData(LUT_SIZE, 1);
  image.data.set(map.lut);
  ctx.putImageData(image, 0, 0);
  return el("div", { class: "cm-legend" }, [
    el("span", { class: "cm-legend-name", text: name }),
    el("span", { class: "cm-legend-tick", text: lo }),
    bar,
    el("span", { class: "cm-legend-tick", text: hi }),
  ]);
}

/**
 * The open cell per tag, shared by every live view of that tag: compared runs show the same
 * (true, predicted) pair, and the pair stays open when the panels are rebuilt.
 * @type {Map<string, {a: number, b: number}>}
 */
const openPairs = new Map();
/** @type {Set<ConfusionView>} */
const liveViews = new Set();

/** The name of class i. @param {any} doc @param {number} i */
function nameOf(doc, i) {
  const names = doc && Array.isArray(doc.class_names) ? doc.class_names : null;
  return names && names[i] !== undefined ? String(names[i]) : String(i);
}

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
    const doc = this._doc;
    const k = doc.classes;
    const rates = rowRates(doc.confusion);
    const cell = cellSize(k, MATRIX_WIDTH);
    const size = cell * k;
    const width = LABEL_PX + size + 4;
    const height = LABEL_PX + size + 4;
    const root = svg("svg", { class: "cm-svg", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "confusion matrix" });
    const cells = svg("g", { class: "cm-cells", transform: `translate(${LABEL_PX},${LABEL_PX})` });
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++) {
        const count = doc.confusion[a][b];
        const rate = rates[a][b];
        const rgb = rate === null ? SEQUENTIAL.nan : SEQUENTIAL.colourOf(rate, 0, 1);
        const rect = svg("rect", {
          class: `cm-cell${a === b ? " cm-diag" : ""}`,
          x: b * cell,
          y: a * cell,
          width: cell,
          height: cell,
          fill: cssColour(rgb),
          dataset: { a: String(a), b: String(b), count: String(count), rate: rate === null ? "" : String(rate) },
          tabindex: k <= 20 ? "0" : null,
        });
        const describe = () =>
          this.frame.readout.set(
            `${count} of ${doc.confusion[a].reduce((s, v) => s + v, 0)} (${percent(rate)})`,
            `true ${nameOf(doc, a)} → predicted ${nameOf(doc, b)}`
          );
        rect.addEventListener("pointerenter", describe);
        rect.addEventListener("focus", describe);
        rect.addEventListener("click", () => this._openPair(a, b));
        rect.addEventListener("keydown", (e) => {
          if (/** @type {KeyboardEvent} */ (e).key === "Enter") this._openPair(a, b);
        });
        cells.append(rect);
        if (cell >= 22 && count > 0) {
          cells.append(
            svg("text", { class: `cm-count${rate !== null && rate > 0.6 ? " cm-count-dark" : ""}`, x: b * cell + cell / 2, y: a * cell + cell / 2 + 4 }, [
              String(count),
            ])
          );
        }
      }
    }
    if (this._pair) {
      cells.append(svg("rect", { class: "cm-selected", x: this._pair.b * cell, y: this._pair.a * cell, width: cell, height: cell }));
    }
    cells.addEventListener("pointerleave", () => this.frame.readout.set(null));
    root.append(cells, ...this._axisLabels(k, cell, (i) => nameOf(doc, i)));
    root.append(
      svg("text", { class: "cm-axis-title", x: LABEL_PX + size / 2, y: 10 }, ["predicted class"]),
      svg("text", { class: "cm-axis-title", x: 10, y: LABEL_PX + size / 2, transform: `rotate(-90 10 ${LABEL_PX + size / 2})` }, ["true class"])
    );
    clear(this.matrixBox);
    this.matrixBox.append(el("h3", { class: "cm-title", text: "Confusion matrix" }), root);
  }

  /** @private Row labels at the left, column labels above (rotated). */
  _axisLabels(k, cell, label) {
    const out = [];
    const fits = cell >= 10;
    for (let i = 0; i < k; i++) {
      if (!fits && i % Math.ceil(10 / cell) !== 0) continue;
      const text = label(i);
      out.push(svg("text", { class: "cm-label cm-row-label", x: LABEL_PX - 4, y: LABEL_PX + i * cell + cell / 2 + 4 }, [text]));
      const cx = LABEL_PX + i * cell + cell / 2;
      out.push(svg("text", { class: "cm-label cm-col-label", x: cx, y: LABEL_PX - 4, transform: `rotate(-50 ${cx} ${LABEL_PX - 4})` }, [text]));
    }
    return out;
  }

  /** @private */
  _renderSimilarity() {
    const doc = this._doc;
    clear(this.simBox);
    const layers = doc.layers || [];
    if (!layers.length) return;
    if (this._simLayer === null || this._simLayer >= layers.length) this._simLayer = defaultSimilarityLayer(layers.length);
    const layer = layers[this._simLayer];
    const k = doc.classes;
    const order = validOrder(layer.order, k);
    const matrix = permute(layer.similarity, order);
    // Colour over this layer's range of off-diagonal cosines up to 1 (named in the legend below).
    let lo = 1;
    layer.similarity.forEach((/** @type {Array<number|null>} */ row, i) =>
      row.forEach((v, j) => {
        if (i !== j && v !== null && Number.isFinite(v) && v < lo) lo = v;
      })
    );
    if (!(lo < 1)) lo = 0;
    const cell = cellSize(k, MATRIX_WIDTH - 60);
    const size = cell * k;
    const width = LABEL_PX + size + 4;
    const root = svg("svg", { class: "cm-svg cm-sim-svg", width, height: width, viewBox: `0 0 ${width} ${width}`, role: "img", "aria-label": "class similarity" });
    const cells = svg("g", { transform: `translate(${LABEL_PX},${LABEL_PX})` });
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        const v = matrix[i][j];
        const a = order[i];
        const b = order[j];
        const rect = svg("rect", {
          class: "cm-sim-cell",
          x: j * cell,
          y: i * cell,
          width: cell,
          height: cell,
          fill: cssColour(v === null ? SEQUENTIAL.nan : SEQUENTIAL.colourOf(v, lo, 1)),
          dataset: { a: String(a), b: String(b), value: v === null ? "" : String(v) },
        });
        rect.addEventListener("pointerenter", () =>
          this.frame.readout.set(
            v === null ? "undefined (no mean)" : `cosine ${formatValue(v)}`,
            `${nameOf(doc, a)} · ${nameOf(doc, b)} in ${layer.path}`
          )
        );
        if (a !== b) rect.addEventListener("click", () => this._openPair(a, b));
        cells.append(rect);
      }
    }
    cells.addEventListener("pointerleave", () => this.frame.readout.set(null));
    root.append(cells, ...this._axisLabels(k, cell, (i) => nameOf(doc, order[i])));
    const select = el("select", {
      class: "cm-layer-select",
      "aria-label": "layer of the similarity heatmap",
      onchange: () => {
        this._simLayer = Number(select.value);
        this._renderSimilarity();
      },
    });
    layers.forEach((/** @type {any} */ l, i) => {
      const option = el("option", { text: l.path });
      option.value = String(i);
      select.append(option);
    });
    select.value = String(this._simLayer);
    this.simBox.append(
      el("h3", { class: "cm-title" }, ["Class similarity in ", select]),
      colourBar(SEQUENTIAL, formatTick(lo), "1", "Colour: cosine similarity, from this layer's least similar pair to 1"),
      root,
      el("p", {
        class: "cm-note cm-order",
        text:
          `Cosine similarity of the class means in ${layer.path}; rows and columns in the order of average-linkage ` +
          `clustering on 1 − cosine, so similar classes sit together: ${order.map((i) => nameOf(doc, i)).join(", ")}.`,
      })
    );
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
      this._renderPair(pair, thumbs);
    } catch (e) {
      if (this._destroyed || own !== this._token) return;
      clear(this.pairBox);
      this.pairBox.append(el("p", { class: "cm-error", role: "alert", text: `Could not load classes ${a} and ${b}: ${e instanceof Error ? e.message : String(e)}` }));
    }
  }

  /** @private */
  _renderPair(pair, thumbs) {
    const doc = this._doc;
    const A = nameOf(doc, pair.a);
    const B = nameOf(doc, pair.b);
    clear(this.pairBox);
    const nA = pair.class_counts[0];
    this.pairBox.append(
      el("h3", { class: "cm-pair-title", text: pair.a === pair.b ? `Class ${A}: correctly predicted ${pair.count} of ${nA}` : `True ${A} predicted as ${B}: ${pair.count} of ${nA} (${percent(nA ? pair.count / nA : null)})` }),
      el("div", { class: "cm-key" }, [
        el("span", { class: "cm-key-a" }, [el("span", { class: "cm-swatch cm-swatch-a" }), `A = ${A} (${nA} samples)`]),
        el("span", { class: "cm-key-b" }, [el("span", { class: "cm-swatch cm-swatch-b" }), `B = ${B} (${pair.class_counts[1]} samples)`]),
      ])
    );
    if (pair.a !== pair.b) this.pairBox.append(this._separability(pair, A, B));
    this.pairBox.append(this._profiles(pair, A, B));
    if (pair.a !== pair.b) this.pairBox.append(this._samples(pair, thumbs, A, B));
  }

  /** @private The layer-by-layer separability of A vs B: two SVG line charts over the layers. */
  _separability(pair, A, B) {
    const layers = pair.layers;
    const box = el("div", { class: "cm-sep" }, [el("h4", { class: "cm-subtitle", text: `Where along the network ${A} and ${B} part` })]);
    const charts = el("div", { class: "cm-sep-charts" });
    const specs = [
      { key: "fisher", title: `Fisher ratio ${A} vs ${B} (between- over within-class variance)`, values: layers.map((l) => l.pair_fisher), lo: 0, hi: null, fmt: formatTick },
      { key: "ncm", title: `Nearest-class-mean accuracy ${A} vs ${B} (50% = no separation)`, values: layers.map((l) => l.pair_ncm_accuracy), lo: 0.4, hi: 1, fmt: (v) => `${Math.round(v * 100)}%` },
    ];
    for (const spec of specs) {
      if (spec.values.every((v) => v === null)) continue;
      const W = 340;
      const H = 150;
      const left = 44;
      const right = W - 10;
      const top = 10;
      const bottom = H - 40;
      const finite = spec.values.filter((v) => v !== null && Number.isFinite(v));
      const hi = spec.hi === null ? Math.max(1e-9, ...finite) : spec.hi;
      const lo = Math.min(spec.lo, ...finite);
      const ticks = niceTicks(lo, hi, 4).filter((t) => t >= lo - 1e-12 && t <= hi * 1.0000001 + 1e-12);
      const y = yScale(ticks.length ? Math.min(lo, ticks[0]) : lo, hi, top, bottom);
      const xs = spread(layers.length, left + 10, right - 10);
      const root = svg("svg", { class: `cm-sep-svg cm-sep-${spec.key}`, width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": spec.title });
      for (const t of ticks) {
        root.append(svg("line", { class: "cm-grid", x1: left, x2: right, y1: y(t), y2: y(t) }));
        root.append(svg("text", { class: "cm-tick", x: left - 4, y: y(t) + 3 }, [spec.fmt(t)]));
      }
      const points = spec.values.map((v, i) => (v === null ? null : [xs[i], y(v)]));
      const d = points.filter(Boolean).map((p, i) => `${i ? "L" : "M"}${p[0].toFixed(1)},${p[1].toFixed(1)}`).join(" ");
      root.append(svg("path", { class: "cm-line", d }));
      spec.values.forEach((v, i) => {
        const label = layers[i].path;
        root.append(svg("text", { class: "cm-xlabel", x: xs[i], y: bottom + 14, transform: `rotate(20 ${xs[i]} ${bottom + 14})` }, [label.length > 14 ? label.slice(0, 13) + "…" : label]));
        if (v === null) return;
        const dot = svg("circle", { class: "cm-dot", cx: xs[i], cy: y(v), r: 4, dataset: { layer: label, value: String(v) } });
        dot.addEventListener("pointerenter", () => this.frame.readout.set(spec.fmt === formatTick ? formatValue(v) : percent(v), `${spec.title.split(" (")[0]} in ${label}`));
        dot.addEventListener("pointerleave", () => this.frame.readout.set(null));
        root.append(dot);
      });
      charts.append(el("figure", { class: "cm-chart" }, [el("figcaption", { class: "cm-chart-title", text: spec.title }), root]));
    }
    box.append(charts);
    return box;
  }

  /** @private Per layer the class-mean profiles of A and B and their difference. */
  _profiles(pair, A, B) {
    const box = el("div", { class: "cm-profiles" }, [
      el("h4", { class: "cm-subtitle", text: `Class-mean profiles of ${A} and ${B}, layer by layer` }),
      el("div", { class: "cm-legends" }, [
        colourBar(SEQUENTIAL, "lo", "hi", "Unit strips: class mean, over the layer's range of both means (named per layer)"),
        colourBar(DIVERGING, "−m", "+m", "A − B, symmetric (±m named per layer)"),
      ]),
    ]);
    for (const layer of pair.layers) {
      const conv = layer.reduction === "spatial_mean";
      const [lo, hi] = profileRange(layer.mean_a, layer.mean_b);
      const m = absMax(layer.difference);
      const row = el("div", { class: "cm-profile", dataset: { layer: layer.path } }, [
        el("div", { class: "cm-profile-head" }, [
          el("span", { class: "cm-profile-name", text: layer.path }),
          el("span", {
            class: "cm-note",
            text:
              `${layer.units} ${conv ? "channels (means over space)" : "units"} · cosine ${formatValue(layer.similarity)}` +
              ` · means ${formatTick(lo)} … ${formatTick(hi)} · A − B ±${formatTick(m)}`,
          }),
        ]),
      ]);
      if (conv) row.append(this._bars(layer, lo, hi, m, A, B));
      else {
        row.append(
          this._strip(layer, "mean_a", `mean ${A}`, SEQUENTIAL, lo, hi),
          this._strip(layer, "mean_b", `mean ${B}`, SEQUENTIAL, lo, hi),
          this._strip(layer, "difference", `${A} − ${B}`, DIVERGING, -m, m)
        );
      }
      box.append(row);
    }
    return box;
  }

  /** @private One unit strip: a canvas of one pixel per unit, scaled up. */
  _strip(layer, key, label, map, lo, hi) {
    const values = layer[key] || [];
    const n = Math.max(1, values.length);
    const canvas = el("canvas", {
      class: `cm-strip cm-strip-${key}`,
      width: n,
      height: 1,
      dataset: { lo: String(lo), hi: String(hi) },
      style: { width: `${Math.min(STRIP_WIDTH, Math.max(n * 10, 200))}px` },
    });
    const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
    const image = ctx.createImageData(n, 1);
    values.forEach((v, i) => {
      const rgb = v === null ? map.nan : map.colourOf(v, lo, hi);
      image.data.set([rgb[0], rgb[1], rgb[2], 255], i * 4);
    });
    ctx.putImageData(image, 0, 0);
    canvas.addEventListener("pointermove", (e) => {
      const rect = canvas.getBoundingClientRect();
      const u = Math.min(n - 1, Math.max(0, Math.floor(((/** @type {PointerEvent} */ (e).clientX - rect.left) / rect.width) * n)));
      this.frame.readout.set(
        `${formatValue(layer.mean_a[u])} vs ${formatValue(layer.mean_b[u])} (A − B ${formatValue(layer.difference ? layer.difference[u] : null)})`,
        `unit ${u} of ${layer.path}: mean of A vs mean of B`
      );
    });
    canvas.addEventListener("pointerleave", () => this.frame.readout.set(null));
    return el("div", { class: "cm-strip-row" }, [el("span", { class: "cm-strip-label", text: label }), canvas]);
  }

  /** @private Conv layers: per channel a bar for A and B, and the difference below. */
  _bars(layer, lo, hi, m, A, B) {
    const n = layer.units;
    const W = Math.min(STRIP_WIDTH + 60, Math.max(200, n * 14 + 50));
    const left = 40;
    const plotW = W - left - 6;
    const slot = plotW / Math.max(1, n);
    const H = 150;
    const y1 = yScale(Math.min(0, lo), Math.max(0, hi), 8, 80);
    const y2 = yScale(-m, m, 92, 142);
    const root = svg("svg", { class: "cm-bars", width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `channel means of ${A} and ${B} in ${layer.path}` });
    root.append(
      svg("line", { class: "cm-axis", x1: left, x2: W - 6, y1: y1(0), y2: y1(0) }),
      svg("line", { class: "cm-axis", x1: left, x2: W - 6, y1: y2(0), y2: y2(0) }),
      svg("text", { class: "cm-tick", x: left - 4, y: y1(Math.max(0, hi)) + 4 }, [formatTick(Math.max(0, hi))]),
      svg("text", { class: "cm-tick", x: left - 4, y: y1(Math.min(0, lo)) + 4 }, [formatTick(Math.min(0, lo))]),
      svg("text", { class: "cm-tick", x: left - 4, y: y2(0) + 4 }, ["A−B"])
    );
    for (let c = 0; c < n; c++) {
      const x = left + c * slot;
      const bw = Math.max(1, slot / 2 - 1);
      const bars = [
        ["a", layer.mean_a[c], x + 0.5, y1],
        ["b", layer.mean_b[c], x + 0.5 + bw, y1],
        ["diff", layer.difference ? layer.difference[c] : null, x + slot / 4, y2],
      ];
      for (const [cls, v, bx, y] of bars) {
        if (v === null || v === undefined) continue;
        const yv = /** @type {(v: number) => number} */ (y)(/** @type {number} */ (v));
        const y0 = /** @type {(v: number) => number} */ (y)(0);
        const bar = svg("rect", {
          class: `cm-bar cm-bar-${cls}${cls === "diff" && /** @type {number} */ (v) < 0 ? " cm-bar-neg" : ""}`,
          x: bx,
          y: Math.min(yv, y0),
          width: bw,
          height: Math.max(0.5, Math.abs(yv - y0)),
          dataset: { channel: String(c), value: String(v) },
        });
        bar.addEventListener("pointerenter", () =>
          this.frame.readout.set(
            `${formatValue(layer.mean_a[c])} vs ${formatValue(layer.mean_b[c])} (A − B ${formatValue(layer.difference ? layer.difference[c] : null)})`,
            `channel ${c} of ${layer.path}: spatial mean, class mean of A vs B`
          )
        );
        root.append(bar);
      }
    }
    root.addEventListener("pointerleave", () => this.frame.readout.set(null));
    return root;
  }

  /** @private The samples of A predicted as B, with their inputs when logged. */
  _samples(pair, thumbs, A, B) {
    const { shown, more } = shownSamples(pair.samples, MAX_SAMPLES);
    const box = el("div", { class: "cm-samples" }, [
      el("h4", { class: "cm-subtitle", text: `Evaluation samples of ${A} predicted as ${B} (${pair.samples.length})` }),
    ]);
    if (!pair.samples.length) {
      box.append(el("p", { class: "cm-note", text: "None at this step." }));
      return box;
    }
    const grid = el("div", { class: "cm-sample-grid" });
    for (const index of shown) {
      const figure = el("figure", { class: "cm-sample", dataset: { index: String(index) } });
      if (thumbs && thumbs.shape.length >= 3 && index < thumbs.shape[0]) figure.append(this._thumbnail(thumbs, index));
      figure.append(el("figcaption", { text: `#${index}` }));
      grid.append(figure);
    }
    box.append(grid);
    if (more) box.append(el("p", { class: "cm-note", text: `… and ${more} more` }));
    box.append(
      el("p", {
        class: "cm-note",
        text: thumbs ? "Inputs scaled to [0, 1] over the evaluation set; #: position in class_data." : "#: position in class_data (no input thumbnails were logged).",
      })
    );
    return box;
  }

  /** @private A sample's thumbnail on a canvas (grey or RGB, values in [0, 1] or [0, 255]). */
  _thumbnail(thumbs, index) {
    const [, h, w] = thumbs.shape;
    const c = thumbs.shape.length === 4 ? thumbs.shape[3] : 1;
    const canvas = el("canvas", { class: "cm-thumb", width: w, height: h, style: { width: `${Math.max(40, w * 3)}px` } });
    const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
    const image = ctx.createImageData(w, h);
    const base = index * h * w * c;
    let max = 0;
    for (let i = 0; i < h * w * c; i++) max = Math.max(max, thumbs.values[base + i]);
    const scale = max > 1 ? 1 : 255;
    for (let p = 0; p < h * w; p++) {
      for (let k = 0; k < 3; k++) image.data[p * 4 + k] = Math.round(thumbs.values[base + p * c + (c === 3 ? k : 0)] * scale);
      image.data[p * 4 + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
    return canvas;
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
