/**
 * The histogram of one step, drawn here (no library) as SVG: one bar per
 * bin, a bin much taller than all others clipped (charts/scales.js
 * `histogramScales`) with its count written next to it, hover reads a bin
 * out. Colours come from CSS classes (charts.css).
 */

import { svg, clear } from "../dom.js";
import { formatStep, formatTick } from "../format.js";
import { showTip } from "../frame.js";
import { Card } from "./card.js";
import { compactCount, HEIGHT, histogramScales, MARGIN, px } from "./scales.js";

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
    const { clip, yTicks, labels, left, right, top, bottom, yTop, bw, y } = histogramScales(counts, width);
    const grid = svg("g", { class: "chart-axes", "aria-hidden": "true" });
    yTicks.forEach((v, k) => {
      grid.append(
        svg("line", { class: k === 0 ? "chart-grid chart-base" : "chart-grid", x1: left, x2: right, y1: px(y(v)), y2: px(y(v)) }),
        svg("text", { class: "chart-tick", x: left - 6, y: px(y(v)), "text-anchor": "end", "dominant-baseline": "middle", text: labels[k] })
      );
    });
    svgEl.append(grid);
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
