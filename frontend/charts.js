/**
 * Small SVG charts for the statistics panel, drawn here (no library): a
 * line chart over training steps (lines, an optional band, the current
 * step marked, hover and click to pick a step) and a histogram of one step.
 * Every element is made with createElementNS; colours come from CSS classes,
 * so both themes apply. Text (title, values) lives in HTML next to the SVG.
 */

import { el, svg, clear } from "./dom.js";
import { formatStep, formatTick } from "./format.js";
import { showTip } from "./frame.js";

const HEIGHT = 92;
const MARGIN = { top: 7, right: 10, bottom: 18 };
const TICK_CHAR_PX = 6; // ~width of a 10px tabular digit
/** Above this many steps, the line is drawn without a dot per step. */
const MAX_DOTS = 80;

/**
 * "Nice" round ticks covering [lo, hi] (1, 2 or 5 times a power of ten).
 * @param {number} lo
 * @param {number} hi
 * @param {number} count about this many intervals
 * @param {boolean} [integer] ticks are integers (steps)
 * @returns {number[]} ascending, first <= lo, last >= hi
 */
export function niceTicks(lo, hi, count, integer = false) {
  if (!(hi > lo)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return niceTicks(lo - pad, hi + pad, count, integer);
  }
  const raw = (hi - lo) / Math.max(1, count);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const multiples = [1, 2, 5, 10];
  let step = power * (multiples.find((m) => m * power >= raw) || 10);
  if (integer) step = Math.max(1, Math.round(step));
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks = [];
  for (let k = first; k <= last; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

/** @param {number} v */
const finite = (v) => typeof v === "number" && Number.isFinite(v);

/**
 * Runs of consecutive indices whose values are all finite (lines break at gaps).
 * @param {number} n
 * @param {(i: number) => boolean} ok
 * @returns {Array<[number, number]>} [start, end) pairs
 */
function segments(n, ok) {
  const out = [];
  let start = -1;
  for (let i = 0; i <= n; i++) {
    const good = i < n && ok(i);
    if (good && start < 0) start = i;
    if (!good && start >= 0) {
      out.push([start, i]);
      start = -1;
    }
  }
  return /** @type {Array<[number, number]>} */ (out);
}

/** @param {number} v */
const px = (v) => Math.round(v * 10) / 10;

/**
 * Where the plot starts: room for the y tick labels, the same for every
 * chart whose labels fit (so stacked charts line up).
 * @param {string[]} labels
 */
const plotLeft = (labels) => Math.min(64, Math.max(40, Math.max(...labels.map((t) => t.length)) * TICK_CHAR_PX + 10));

/**
 * @typedef {Object} Line
 * @property {string} name e.g. "mean"
 * @property {string} cls CSS class giving its colour
 * @property {Array<number|null>} values one per step
 * @property {number[]} [steps] the line's own steps (ascending; overlays of runs
 *   logged at different steps); default: the chart's steps
 */

/**
 * A chart card: title, a value read-out and a plot.
 */
class Card {
  /** @param {{key: string, title: string, legend?: Array<[string, string]>}} spec legend: [label, class] */
  constructor({ key, title, legend = [] }) {
    this.value = el("span", { class: "chart-value", "aria-live": "off" });
    this.plot = el("div", { class: "chart-plot" });
    this.element = el("figure", { class: "chart", dataset: { chart: key } }, [
      el("figcaption", { class: "chart-head" }, [
        el("span", { class: "chart-title", text: title }),
        legend.length
          ? el(
              "span",
              { class: "chart-legend" },
              legend.map(([label, cls]) =>
                el("span", { class: "chart-key" }, [el("span", { class: `chart-swatch ${cls}`, "aria-hidden": "true" }), label])
              )
            )
          : null,
        this.value,
      ]),
      this.plot,
    ]);
  }

  /** The plot's width in CSS px (a default before layout). */
  width() {
    return Math.max(160, Math.floor(this.plot.clientWidth || 300));
  }
}

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
    // y range over everything drawn
    let lo = Infinity;
    let hi = -Infinity;
    const take = (/** @type {number|null} */ v) => {
      if (finite(v)) {
        lo = Math.min(lo, /** @type {number} */ (v));
        hi = Math.max(hi, /** @type {number} */ (v));
      }
    };
    for (const line of lines) line.values.forEach(take);
    // x range: the chart's steps and every line's own steps
    let sMin = steps.length ? steps[0] : Infinity;
    let sMax = steps.length ? steps[steps.length - 1] : -Infinity;
    for (const line of lines) {
      if (line.steps && line.steps.length) {
        sMin = Math.min(sMin, line.steps[0]);
        sMax = Math.max(sMax, line.steps[line.steps.length - 1]);
      }
    }
    if (band) {
      band.lo.forEach(take);
      band.hi.forEach(take);
    }
    if (this.spec.domain) {
      lo = Math.min(lo, this.spec.domain[0]);
      hi = Math.max(hi, this.spec.domain[1]);
    }
    if (!(lo <= hi)) {
      lo = 0;
      hi = 1;
    }
    const yTicks = niceTicks(lo, hi, 3, Boolean(this.spec.integer));
    const y0 = yTicks[0];
    const y1 = yTicks[yTicks.length - 1];
    const tickText = (/** @type {number} */ v) => (this.spec.percent ? `${Math.round(v * 100)}%` : formatTick(v));
    const labels = yTicks.map(tickText);
    const left = plotLeft(labels);
    const right = width - MARGIN.right;
    const top = MARGIN.top;
    const bottom = HEIGHT - MARGIN.bottom;
    const s0 = Number.isFinite(sMin) ? sMin : 0;
    const s1 = sMax > s0 ? sMax : s0 + 1;
    const single = !(sMax > sMin);
    const span = s1 - s0 || 1;
    const x = (/** @type {number} */ s) => (single ? (left + right) / 2 : left + ((s - s0) / span) * (right - left));
    const y = (/** @type {number} */ v) => bottom - ((v - y0) / (y1 - y0 || 1)) * (bottom - top);
    this._scale = { x, y, left, right };

    const grid = svg("g", { class: "chart-axes", "aria-hidden": "true" });
    yTicks.forEach((v, k) => {
      grid.append(
        svg("line", { class: k === 0 ? "chart-grid chart-base" : "chart-grid", x1: left, x2: right, y1: px(y(v)), y2: px(y(v)) }),
        svg("text", { class: "chart-tick", x: left - 6, y: px(y(v)), "text-anchor": "end", "dominant-baseline": "middle", text: labels[k] })
      );
    });
    if (n) {
      const xTicks = single ? [s0] : niceTicks(s0, s1, Math.max(2, Math.floor(width / 60)), true).filter((s) => s >= s0 && s <= s1);
      for (const s of xTicks) {
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

/**
 * The histogram of one step: one bar per bin. A bin much taller than all
 * others (the zeros of a ReLU layer) is clipped, so the rest stay readable;
 * its count is written next to it.
 */
export class HistogramChart {
  /** @param {{key: string, title: string}} spec */
  constructor(spec) {
    this.card = new Card(spec);
    this.element = this.card.element;
    this.title = /** @type {HTMLElement} */ (this.element.querySelector(".chart-title"));
    /** @private @type {{edges: number[], counts: number[]}|null} */ this._hist = null;
    /** @private @type {number|null} */ this._step = null;
    /** @private @type {number|null} */ this._hoverBin = null;
    /** @private */ this._width = 0;
    /** @private @type {{left: number, right: number, bw: number, bins: number}|null} */ this._geometry = null;
    /** @private @type {SVGElement|null} */ this._hoverLayer = null;
    this._svg = svg("svg", { class: "chart-svg chart-hist", role: "img", height: HEIGHT });
    this._svg.addEventListener("pointermove", (e) => this._pointer(/** @type {PointerEvent} */ (e)));
    this._svg.addEventListener("pointerleave", () => {
      this._hoverBin = null;
      this._paintHover();
      showTip(null);
    });
    this.card.plot.append(this._svg);
  }

  /**
   * @param {{edges: number[], counts: number[]}|null} histogram
   * @param {number|null} step the step it belongs to
   */
  setData(histogram, step) {
    this._hist = histogram;
    this._step = step;
    this.render();
  }

  render() {
    this._width = this.card.width();
    const width = this._width;
    const svgEl = this._svg;
    clear(svgEl);
    svgEl.setAttribute("width", String(width));
    svgEl.setAttribute("viewBox", `0 0 ${width} ${HEIGHT}`);
    this.title.textContent = this._step === null ? "Histogram" : `Histogram ${this._step === -1 ? "before training" : "at " + formatStep(this._step)}`;
    const hist = this._hist;
    const counts = hist ? hist.counts : [];
    const edges = hist ? hist.edges : [];
    const bins = counts.length;
    const total = counts.reduce((a, b) => a + b, 0);
    const sorted = counts.slice().sort((a, b) => b - a);
    const clip = bins > 2 && sorted[1] > 0 && sorted[0] > 3 * sorted[1];
    const yMax = Math.max(1, clip ? sorted[1] * 1.3 : sorted[0] || 0);
    const yTicks = niceTicks(0, yMax, 2).filter((v) => Number.isInteger(v));
    const top = MARGIN.top + 2;
    const bottom = HEIGHT - MARGIN.bottom;
    const labels = yTicks.map((v) => compactCount(v));
    const left = plotLeft(labels);
    const right = width - MARGIN.right - (clip ? 4 : 0);
    const yTop = yTicks[yTicks.length - 1] || yMax;
    const y = (/** @type {number} */ v) => bottom - (Math.min(v, yTop) / yTop) * (bottom - top);
    const grid = svg("g", { class: "chart-axes", "aria-hidden": "true" });
    yTicks.forEach((v, k) => {
      grid.append(
        svg("line", { class: k === 0 ? "chart-grid chart-base" : "chart-grid", x1: left, x2: right, y1: px(y(v)), y2: px(y(v)) }),
        svg("text", { class: "chart-tick", x: left - 6, y: px(y(v)), "text-anchor": "end", "dominant-baseline": "middle", text: labels[k] })
      );
    });
    svgEl.append(grid);
    const bw = bins ? (right - left) / bins : 0;
    this._geometry = { left, right, bw, bins };
    const bars = svg("g", { class: "chart-bars" });
    for (let k = 0; k < bins; k++) {
      const c = counts[k];
      const clipped = clip && c > yTop;
      const h = c > 0 ? Math.max(1, bottom - y(c)) : 0;
      const bar = svg("rect", {
        class: clipped ? "chart-bar chart-bar-clipped" : "chart-bar",
        x: px(left + k * bw + 0.5),
        y: px(bottom - h),
        width: px(Math.max(0.5, bw - 1)),
        height: px(h),
        dataset: { bin: k },
      });
      bars.append(bar);
      if (clipped) {
        // A break mark across the bar's top, and its true count beside it.
        const yb = top + 7;
        bars.append(
          svg("line", { class: "chart-break", x1: px(left + k * bw - 1), x2: px(left + (k + 1) * bw + 1), y1: yb + 2, y2: yb - 2 }),
          svg("text", {
            class: "chart-tick chart-clip-label",
            x: px(left + (k + 1) * bw + 3),
            y: top + 3,
            "dominant-baseline": "hanging",
            text: compactCount(c),
          })
        );
      }
    }
    svgEl.append(bars);
    const constant = bins > 0 && edges.length === bins + 1 && edges[0] === edges[bins];
    if (constant) {
      // One value throughout (e.g. a layer with every unit dead): no spread to draw.
      clear(bars);
      clear(grid);
      svgEl.append(
        svg("line", { class: "chart-grid chart-base", x1: left, x2: right, y1: bottom, y2: bottom }),
        svg("text", {
          class: "chart-note",
          x: px((left + right) / 2),
          y: px((top + bottom) / 2),
          "text-anchor": "middle",
          "dominant-baseline": "middle",
          text: `all ${total.toLocaleString("en-US")} values are ${formatTick(edges[0])}`,
        })
      );
    } else if (bins && edges.length === bins + 1) {
      const lo = edges[0];
      const hi = edges[bins];
      const axis = svg("g", { class: "chart-axes", "aria-hidden": "true" });
      axis.append(
        svg("text", { class: "chart-tick", x: left, y: HEIGHT - 4, "text-anchor": "start", text: formatTick(lo) }),
        svg("text", { class: "chart-tick", x: right, y: HEIGHT - 4, "text-anchor": "end", text: formatTick(hi) })
      );
      if (lo < 0 && hi > 0) {
        const x0 = left + ((0 - lo) / (hi - lo)) * (right - left);
        if (x0 - left > 30 && right - x0 > 30) {
          axis.append(
            svg("line", { class: "chart-zero", x1: px(x0), x2: px(x0), y1: top, y2: bottom }),
            svg("text", { class: "chart-tick", x: px(x0), y: HEIGHT - 4, "text-anchor": "middle", text: "0" })
          );
        }
      }
      svgEl.append(axis);
    }
    this._hoverLayer = svg("g", { "aria-hidden": "true" });
    svgEl.append(this._hoverLayer);
    svgEl.setAttribute(
      "aria-label",
      bins
        ? `Histogram of the activations at step ${this._step}: ${compactCount(total)} values in ${bins} bins from ${formatTick(edges[0])} to ${formatTick(edges[bins])}`
        : "Histogram: no values"
    );
    this._paintHover();
  }

  /** @private */
  _paintHover() {
    const value = this.card.value;
    const hist = this._hist;
    const total = hist ? hist.counts.reduce((a, b) => a + b, 0) : 0;
    if (this._hoverLayer) clear(this._hoverLayer);
    const k = this._hoverBin;
    value.classList.toggle("chart-value-hover", k !== null);
    if (!hist || k === null || k < 0 || k >= hist.counts.length) {
      value.textContent = hist ? `${total.toLocaleString("en-US")} values` : "";
      return;
    }
    const c = hist.counts[k];
    const share = total ? ` (${((100 * c) / total).toFixed(c && (100 * c) / total < 1 ? 2 : 1)}%)` : "";
    value.textContent = `${formatTick(hist.edges[k])} … ${formatTick(hist.edges[k + 1])}: ${c.toLocaleString("en-US")}${share}`;
    const g = this._geometry;
    if (g && this._hoverLayer) {
      this._hoverLayer.append(
        svg("rect", { class: "chart-bar-hover", x: px(g.left + k * g.bw), y: MARGIN.top, width: px(g.bw), height: HEIGHT - MARGIN.bottom - MARGIN.top })
      );
    }
  }

  /** @private @param {PointerEvent} e */
  _pointer(e) {
    const g = this._geometry;
    if (!g || !g.bins) return;
    const rect = this._svg.getBoundingClientRect();
    const xIn = ((e.clientX - rect.left) / (rect.width || 1)) * this._width;
    const k = Math.floor((xIn - g.left) / g.bw);
    this._hoverBin = k >= 0 && k < g.bins ? k : null;
    this._paintHover();
    showTip(this._hoverBin === null ? null : this.card.value.textContent || "", this.title.textContent || "");
  }
}

/** "950", "12.3k", "1.2M" @param {number} n */
export function compactCount(n) {
  const a = Math.abs(n);
  if (a >= 1e6) return `${Number((n / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${Number((n / 1e3).toPrecision(3))}k`;
  return String(Math.round(n));
}
