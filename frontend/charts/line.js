/**
 * A chart of values over training steps, drawn here (no library): lines,
 * an optional band (e.g. mean ± std), the current step marked, hover and
 * click to pick a step. Every element is made with createElementNS; colours
 * come from CSS classes (charts.css), so both themes apply. Where things go
 * is charts/scales.js; the title and read-out are the card's (charts/card.js).
 */

import { svg, clear } from "../dom.js";
import { formatStep } from "../format.js";
import { showTip } from "../frame.js";
import { Card } from "./card.js";
import { finite, HEIGHT, lineScales, MARGIN, px, segments, stepTicks } from "./scales.js";

/** Above this many steps, the line is drawn without a dot per step. */
const MAX_DOTS = 80;

/**
 * @typedef {Object} Line
 * @property {string} name e.g. "mean"
 * @property {string} cls CSS class giving its colour
 * @property {Array<number|null>} values one per step
 * @property {number[]} [steps] the line's own steps (ascending; overlays of runs
 *   logged at different steps); default: the chart's steps
 */

/**
 * Values over training steps: one or more lines, an optional band (e.g.
 * mean ± std), the current step as a vertical line; hover shows a step's
 * values (through `onHover`), a click picks the nearest step.
 */
export class LineChart {
  /**
   * @param {{key: string, title: string, legend?: Array<[string, string]>,
   *          domain?: [number, number], percent?: boolean, integer?: boolean,
   *          describe: (i: number) => string, label: string,
   *          onHover?: (i: number|null) => void, onPick?: (i: number) => void}} spec
   *   domain: a fixed y range (widened when values leave it); percent: ticks as %; integer: counts;
   *   describe(i): the value text at step index i; label: what the chart shows (accessible name)
   */
  constructor(spec) {
    this.spec = spec;
    this.card = new Card(spec);
    this.element = this.card.element;
    /** @type {number[]} */ this.steps = [];
    /** @type {Line[]} */ this.lines = [];
    /** @type {{lo: Array<number|null>, hi: Array<number|null>, cls: string}|null} */ this.band = null;
    /** @private @type {number|null} current step */ this._step = null;
    /** @private @type {number} index shown in the read-out when not hovering */ this._index = -1;
    /** @private @type {number|null} */ this._hover = null;
    /** @private */ this._width = 0;
    /** @private @type {{x: (s: number) => number, y: (v: number) => number, left: number, right: number}|null} */
    this._scale = null;
    /** @private @type {SVGElement|null} the current step's marker */ this._currentLayer = null;
    /** @private @type {SVGElement|null} the hovered step's guide */ this._hoverLayer = null;
    this._svg = svg("svg", { class: "chart-svg", role: "img", height: HEIGHT });
    this._svg.addEventListener("pointermove", (e) => this._pointer(/** @type {PointerEvent} */ (e)));
    this._svg.addEventListener("pointerleave", () => {
      if (this.spec.onHover) this.spec.onHover(null);
      else this.setHover(null);
      showTip(null);
    });
    this._svg.addEventListener("click", (e) => {
      const i = this._indexAt(/** @type {MouseEvent} */ (e).clientX);
      if (i >= 0 && this.spec.onPick) this.spec.onPick(i);
    });
    this.card.plot.append(this._svg);
  }

  /**
   * @param {number[]} steps ascending
   * @param {Line[]} lines
   * @param {{lo: Array<number|null>, hi: Array<number|null>, cls: string}|null} [band]
   */
  setData(steps, lines, band = null) {
    this.steps = steps;
    this.lines = lines;
    this.band = band;
    this.render();
  }

  /**
   * Marks the current step (drawn at its place on the step axis) and reads
   * out the values at `index` (the logged step nearest to it).
   * @param {number|null} step
   * @param {number} index
   */
  setCurrent(step, index) {
    this._step = step;
    this._index = index;
    this._drawCurrent();
    this._readout();
  }

  /** Shows the guide and values of step index `i` (null: back to the current step). @param {number|null} i */
  setHover(i) {
    this._hover = i;
    this._drawHover();
    this._readout();
  }

  /** @private */
  _readout() {
    const i = this._hover !== null ? this._hover : this._index;
    const value = this.card.value;
    value.classList.toggle("chart-value-hover", this._hover !== null);
    if (i < 0 || i >= this.steps.length) {
      value.textContent = "";
      return;
    }
    const text = this.spec.describe(i);
    value.textContent = this._hover !== null || this.steps[i] !== this._step ? `${formatStep(this.steps[i])} · ${text}` : text;
  }

  /** Redraws at the plot's current width (call after a resize). */
  render() {
    this._width = this.card.width();
    const svgEl = this._svg;
    clear(svgEl);
    const width = this._width;
    svgEl.setAttribute("width", String(width));
    svgEl.setAttribute("viewBox", `0 0 ${width} ${HEIGHT}`);
    const { steps, lines, band } = this;
    const n = steps.length;
    const scales = lineScales({ steps, lines, band, domain: this.spec.domain, integer: this.spec.integer, percent: this.spec.percent, width });
    const { yTicks, labels, left, right, x, y } = scales;
    this._scale = { x, y, left, right };

    const grid = svg("g", { class: "chart-axes", "aria-hidden": "true" });
    yTicks.forEach((v, k) => {
      grid.append(
        svg("line", { class: k === 0 ? "chart-grid chart-base" : "chart-grid", x1: left, x2: right, y1: px(y(v)), y2: px(y(v)) }),
        svg("text", { class: "chart-tick", x: left - 6, y: px(y(v)), "text-anchor": "end", "dominant-baseline": "middle", text: labels[k] })
      );
    });
    if (n) {
      const { single, s0, s1 } = scales;
      for (const s of stepTicks(scales, width)) {
        // Step -1 is the snapshot before training (Keras-aligned steps).
        // Ticks at the ends are anchored inwards, so the first one never runs
        // into the axis title left of the plot (nor the last past the edge).
        const anchor = single ? "middle" : s === s0 ? "start" : s === s1 ? "end" : "middle";
        grid.append(svg("text", { class: "chart-tick", x: px(x(s)), y: HEIGHT - 4, "text-anchor": anchor, text: s === -1 ? "before" : String(s) }));
      }
      grid.append(svg("text", { class: "chart-tick chart-axis-title", x: left - 6, y: HEIGHT - 4, "text-anchor": "end", text: "step" }));
    }
    svgEl.append(grid);

    if (band) {
      for (const [a, b] of segments(n, (i) => finite(band.lo[i]) && finite(band.hi[i]))) {
        const upper = [];
        const lower = [];
        for (let i = a; i < b; i++) {
          upper.push(`${px(x(steps[i]))},${px(y(/** @type {number} */ (band.hi[i])))}`);
          lower.unshift(`${px(x(steps[i]))},${px(y(/** @type {number} */ (band.lo[i])))}`);
        }
        svgEl.append(svg("polygon", { class: `chart-band ${band.cls}`, points: [...upper, ...lower].join(" ") }));
      }
    }
    lines.forEach((line, k) => {
      const g = svg("g", { class: `chart-series ${line.cls}`, dataset: { series: line.name } });
      const ls = line.steps || steps;
      for (const [a, b] of segments(ls.length, (i) => finite(line.values[i]))) {
        const points = [];
        for (let i = a; i < b; i++) points.push(`${px(x(ls[i]))},${px(y(/** @type {number} */ (line.values[i])))}`);
        if (b - a === 1) {
          g.append(svg("circle", { class: "chart-lone", cx: points[0].split(",")[0], cy: points[0].split(",")[1], r: 2.5 }));
        }
        g.append(svg("polyline", { class: "chart-line", points: points.join(" ") }));
      }
      if ((k === 0 || line.steps) && ls.length <= MAX_DOTS) {
        for (let i = 0; i < ls.length; i++) {
          const v = line.values[i];
          if (!finite(v)) continue;
          g.append(svg("circle", { class: "chart-pt", cx: px(x(ls[i])), cy: px(y(/** @type {number} */ (v))), r: 2, dataset: { step: ls[i], value: String(v) } }));
        }
      }
      svgEl.append(g);
    });
    this._currentLayer = svg("g", { class: "chart-current-layer", "aria-hidden": "true" });
    this._hoverLayer = svg("g", { class: "chart-hover-layer", "aria-hidden": "true" });
    svgEl.append(this._currentLayer, this._hoverLayer);
    this._drawCurrent();
    this._drawHover();
    this._readout();
    const last = n - 1;
    svgEl.setAttribute(
      "aria-label",
      n
        ? `${this.spec.label} over ${n} step${n === 1 ? "" : "s"} (${steps[0]} to ${steps[last]}); at step ${steps[last]}: ${this.spec.describe(last)}`
        : `${this.spec.label}: no steps`
    );
  }

  /**
   * @private draws a vertical line at step `s` and, when it was logged, a dot on each line
   * @param {SVGElement|null} layer @param {string} cls @param {number|null} s @param {number} i
   */
  _marker(layer, cls, s, i) {
    if (!layer || !this._scale) return;
    clear(layer);
    if (s === null || i < 0 || i >= this.steps.length) return;
    const { x, y } = this._scale;
    const xs = px(Math.min(this._scale.right, Math.max(this._scale.left, x(s))));
    layer.append(svg("line", { class: cls, x1: xs, x2: xs, y1: MARGIN.top - 3, y2: HEIGHT - MARGIN.bottom }));
    for (const line of this.lines) {
      // A line's value at s, when s was logged for it.
      const j = line.steps ? line.steps.indexOf(s) : this.steps[i] === s ? i : -1;
      if (j < 0) continue;
      const v = line.values[j];
      if (finite(v)) layer.append(svg("circle", { class: `${cls}-pt ${line.cls}`, cx: xs, cy: px(y(/** @type {number} */ (v))), r: 3.5 }));
    }
  }

  /** @private */
  _drawCurrent() {
    this._marker(this._currentLayer, "chart-current", this._step, this._index);
  }

  /** @private */
  _drawHover() {
    const i = this._hover;
    this._marker(this._hoverLayer, "chart-hover", i === null ? null : this.steps[i], i === null ? -1 : i);
  }

  /** @private the step index nearest to a viewport x, or -1 */
  _indexAt(clientX) {
    if (!this._scale || this.steps.length === 0) return -1;
    const rect = this._svg.getBoundingClientRect();
    const xIn = ((clientX - rect.left) / (rect.width || 1)) * this._width;
    let best = -1;
    let bestDistance = Infinity;
    for (let i = 0; i < this.steps.length; i++) {
      const d = Math.abs(this._scale.x(this.steps[i]) - xIn);
      if (d < bestDistance) {
        bestDistance = d;
        best = i;
      }
    }
    return best;
  }

  /** @private @param {PointerEvent} e */
  _pointer(e) {
    const i = this._indexAt(e.clientX);
    if (this.spec.onHover) this.spec.onHover(i < 0 ? null : i);
    else this.setHover(i < 0 ? null : i);
    // The read-out, at the pointer too.
    const text = this.card.value.textContent || "";
    showTip(i < 0 || !text ? null : text, this.spec.title || "");
  }
}
