/**
 * The statistics panel of one (run, layer): small charts of the layer's
 * activation statistics across steps (mean ± std, min / max, exact zeros,
 * dead or saturated units, non-finite values when there are any) with the
 * current step marked, and the histogram of the current step. Like
 * ActivationsView it holds no global state: instantiate one per run and
 * drive it with setStep. Clicking a chart asks for a step through `onStep`
 * (the app's step control decides); the slider stays the keyboard way.
 */

import { Generation } from "../../cancel.js";
import { HistogramChart } from "../../charts/histogram.js";
import { LineChart } from "../../charts/line.js";
import { el, clear } from "../../dom.js";
import { formatTick } from "../../format.js";
import { nearestStepIndex, unitMarksAt } from "../../layerstats.js";

/** @typedef {import("./api.js").StatsSeries} StatsSeries */

/**
 * @typedef {Object} StatsViewOptions
 * @property {import("../../api.js").Api} api
 * @property {string} run
 * @property {string} tag the statistics tag (kind "activation_stats")
 * @property {import("../../api.js").TagInfo} [info] its listing entry (activation, units)
 * @property {number[]} [layerShape] the activations' logged shape, to name units ("channels" for feature maps)
 * @property {(step: number) => void} [onStep] the user picked a step on a chart
 * @property {(series: StatsSeries|null) => void} [onLoad] the series arrived (or is missing)
 */

/** @param {number|null|undefined} v */
const num = (v) => (typeof v === "number" && Number.isFinite(v) ? formatTick(v) : "–");
/** @param {number|null|undefined} f */
const pct = (f) => {
  if (typeof f !== "number" || !Number.isFinite(f)) return "–";
  const p = f * 100;
  return `${p === 0 || p === 100 ? p : p.toFixed(p < 10 ? 1 : 0)}%`;
};

/** @param {Array<number|null>|undefined} values */
const applies = (values) => Array.isArray(values) && values.some((v) => typeof v === "number" && Number.isFinite(v));

export class StatsView {
  /**
   * @param {HTMLElement} container the view appends its root element here
   * @param {StatsViewOptions} options
   */
  constructor(container, { api, run, tag, info = {}, layerShape, onStep, onLoad }) {
    this.api = api;
    this.run = run;
    this.tag = tag;
    this.info = info;
    /** @private */ this._noun = (layerShape || []).length >= 4 ? "channels" : "units";
    /** @private */ this._onStep = onStep || null;
    /** @private */ this._onLoad = onLoad || null;
    /** @type {StatsSeries|null} */
    this.series = null;
    /** @private @type {number|null} */ this._step = null;
    /** @private @type {LineChart[]} */ this._lines = [];
    /** @private @type {HistogramChart|null} */ this._histogram = null;
    /** @private */ this._destroyed = false;
    /** @private */ this._width = 0;
    /** @private the newest load of the series (cancelled by destroy) */ this._loads = new Generation();

    this._sub = el("span", { class: "stats-sub" });
    this._status = el("p", { class: "stats-status", role: "status" });
    this._charts = el("div", { class: "stats-charts" });
    this.element = el("section", { class: "stats-panel", "aria-label": `activation statistics of ${tag} in run ${run}` }, [
      el("header", { class: "stats-head" }, [el("h3", { class: "stats-title", text: "Statistics" }), this._sub]),
      this._status,
      this._charts,
    ]);
    container.append(this.element);
    /** @private */
    this._resize =
      typeof ResizeObserver === "function"
        ? new ResizeObserver(() => {
            // Only the width matters; the charts never change it (no loop).
            const width = this._charts.clientWidth;
            if (width && width !== this._width) {
              this._width = width;
              this._renderCharts();
            }
          })
        : null;
    if (this._resize) this._resize.observe(this._charts);
    this._setStatus("Loading statistics…");
    /** Settles with the series (null when missing or failed). @type {Promise<StatsSeries|null>} */
    this.ready = this._load();
  }

  /**
   * Marks `step` on every chart and shows its histogram.
   * @param {number} step
   */
  setStep(step) {
    this._step = step;
    this._showStep();
  }

  /** Re-reads the series (after a reload brought new steps). @returns {Promise<StatsSeries|null>} */
  reload() {
    this.ready = this._load();
    return this.ready;
  }

  /**
   * The dead and saturated units at exactly `step`, for marking them in the activations view.
   * @param {number} step
   * @returns {import("../../layerstats.js").UnitMarks|null}
   */
  unitMarksAt(step) {
    return this.series ? unitMarksAt(this.series, step) : null;
  }

  destroy() {
    this._destroyed = true;
    this._loads.cancel();
    if (this._resize) this._resize.disconnect();
    this.element.remove();
  }

  /** @private @param {string|null} text @param {boolean} [error] */
  _setStatus(text, error = false) {
    this._status.hidden = text === null;
    this._status.textContent = text || "";
    this._status.classList.toggle("stats-error", error);
  }

  /** @private @returns {Promise<StatsSeries|null>} */
  async _load() {
    const ticket = this._loads.begin();
    let series = null;
    try {
      const all = await this.api.stats(this.run);
      if (!ticket.live) return this.series;
      series = all[this.tag] || null;
      if (!series) this._setStatus(`No statistics logged for ${this.tag} yet.`);
    } catch (e) {
      if (!ticket.live) return this.series;
      this._setStatus(`Could not load the statistics: ${e instanceof Error ? e.message : String(e)}`, true);
    }
    this.series = series;
    if (series) {
      this._setStatus(series.steps.length ? null : "No steps logged yet.");
      this._build(series);
    } else {
      this._clearCharts();
    }
    if (this._onLoad) this._onLoad(series);
    return series;
  }

  /** @private */
  _clearCharts() {
    this._lines = [];
    this._histogram = null;
    clear(this._charts);
  }

  /** @private @param {StatsSeries} series */
  _build(series) {
    this._clearCharts();
    const s = series;
    const noun = this._noun;
    const units = s.units.find((u) => typeof u === "number") ?? this.info.units;
    const activation = this.info.activation;
    this._sub.textContent = [
      activation ? activation : "no activation",
      typeof units === "number" ? `${units} ${units === 1 ? noun.replace(/s$/, "") : noun}` : null,
      `${s.steps.length} step${s.steps.length === 1 ? "" : "s"}`,
    ]
      .filter(Boolean)
      .join(" · ");
    const onHover = (/** @type {number|null} */ i) => {
      for (const chart of this._lines) chart.setHover(i);
    };
    const onPick = (/** @type {number} */ i) => {
      if (this._onStep && i >= 0 && i < s.steps.length) this._onStep(s.steps[i]);
    };
    const common = { onHover, onPick };
    const add = (/** @type {LineChart} */ chart) => {
      this._lines.push(chart);
      this._charts.append(chart.element);
      return chart;
    };
    const n = s.steps.length;
    const plus = s.mean.map((m, i) => (m === null || s.std[i] === null ? null : m + /** @type {number} */ (s.std[i])));
    const minus = s.mean.map((m, i) => (m === null || s.std[i] === null ? null : m - /** @type {number} */ (s.std[i])));
    add(
      new LineChart({
        ...common,
        key: "mean",
        title: "Mean ± std",
        label: "Mean activation with a band of one standard deviation",
        describe: (i) => `${num(s.mean[i])} ± ${num(s.std[i])}`,
      })
    ).setData(s.steps, [{ name: "mean", cls: "c-mean", values: s.mean }], { lo: minus, hi: plus, cls: "c-mean" });
    add(
      new LineChart({
        ...common,
        key: "range",
        title: "Min / max",
        legend: [
          ["max", "c-max"],
          ["min", "c-min"],
        ],
        label: "Smallest and largest activation",
        describe: (i) => `${num(s.min[i])} … ${num(s.max[i])}`,
      })
    ).setData(s.steps, [
      { name: "max", cls: "c-max", values: s.max },
      { name: "min", cls: "c-min", values: s.min },
    ]);
    add(
      new LineChart({
        ...common,
        key: "zeros",
        title: "Exact zeros",
        label: "Fraction of activations that are exactly zero",
        domain: [0, 1],
        percent: true,
        describe: (i) => pct(s.zero_fraction[i]),
      })
    ).setData(s.steps, [{ name: "zero_fraction", cls: "c-zero", values: s.zero_fraction }]);
    const flagged = (/** @type {"dead"|"saturated"} */ kind) => {
      const fractions = kind === "dead" ? s.dead_fraction : s.saturated_fraction;
      const counts = kind === "dead" ? s.dead_units : s.saturated_units;
      if (!applies(fractions)) return;
      add(
        new LineChart({
          ...common,
          key: kind,
          title: kind === "dead" ? `Dead ${noun}` : `Saturated ${noun}`,
          label:
            kind === "dead"
              ? `Fraction of ${noun} that are never positive on the probe batch`
              : `Fraction of ${noun} stuck at the activation's limits`,
          domain: [0, 1],
          percent: true,
          describe: (i) =>
            typeof counts[i] === "number" && typeof s.units[i] === "number"
              ? `${counts[i]} of ${s.units[i]} · ${pct(fractions[i])}`
              : pct(fractions[i]),
        })
      ).setData(s.steps, [{ name: `${kind}_fraction`, cls: kind === "dead" ? "c-dead" : "c-sat", values: fractions }]);
    };
    flagged("dead");
    flagged("saturated");
    if (s.nonfinite_count.some((v) => typeof v === "number" && v > 0)) {
      add(
        new LineChart({
          ...common,
          key: "nonfinite",
          title: "Non-finite values",
          integer: true,
          label: "Count of NaN and infinite activations",
          describe: (i) => (typeof s.nonfinite_count[i] === "number" ? Number(s.nonfinite_count[i]).toLocaleString("en-US") : "–"),
        })
      ).setData(s.steps, [{ name: "nonfinite_count", cls: "c-nan", values: s.nonfinite_count }]);
    }
    this._histogram = new HistogramChart({ key: "histogram", title: "Histogram" });
    this._charts.append(this._histogram.element);
    if (n === 0) return;
    this._showStep();
  }

  /** @private Redraws every chart at the current width. */
  _renderCharts() {
    for (const chart of this._lines) chart.render();
    if (this._histogram) this._histogram.render();
  }

  /** @private */
  _showStep() {
    const s = this.series;
    if (!s || s.steps.length === 0 || this._step === null) return;
    const i = nearestStepIndex(s, this._step);
    for (const chart of this._lines) chart.setCurrent(this._step, i);
    if (this._histogram) this._histogram.setData(s.histograms[i] || null, s.steps[i]);
  }
}
