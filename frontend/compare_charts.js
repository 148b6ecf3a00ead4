/**
 * Statistics of the compared runs overlaid: one chart per series (mean,
 * std, dead fraction, exact zeros, ...), one line per run in the run's
 * stable colour, the current step marked; a click jumps to a step.
 *
 * Series come from the view registry (a kind's `compareSeries`: the
 * activation statistics, weight change, attention entropy, ...), each
 * `{key, title, percent, load}`, where `load({api, run, tag, listing})`
 * resolves to `{steps, values}` for that run and shown tag, or null when it
 * does not apply.
 */

import { Generation } from "./cancel.js";
import { LineChart } from "./charts/line.js";
import { el, clear } from "./dom.js";
import { formatTick } from "./format.js";
import { unionSteps } from "./compare.js";
import { compareSeries } from "./views/kinds.js";

/**
 * @typedef {Object} CompareSeries
 * @property {string} key
 * @property {string} title
 * @property {boolean} [percent]
 * @property {(ctx: {api: import("./api.js").Api, run: string, tag: string, listing: import("./api.js").TagListing}) =>
 *   Promise<{steps: number[], values: Array<number|null>}|null>} load
 */

export class CompareCharts {
  /**
   * @param {HTMLElement} container
   * @param {{api: import("./api.js").Api, onStep: (step: number) => void}} options
   */
  constructor(container, { api, onStep }) {
    this.api = api;
    this._onStep = onStep;
    /** @private @type {Array<{chart: LineChart, steps: number[]}>} */ this._charts = [];
    /** @private @type {number|null} */ this._step = null;
    /** @private the newest load of the charts */ this._loads = new Generation();
    this._legend = el("div", { class: "compare-legend" });
    this._grid = el("div", { class: "stats-charts compare-charts-grid" });
    this._status = el("p", { class: "stats-status", role: "status" });
    this.element = el("section", { class: "compare-charts", "aria-label": "Statistics of the compared runs" }, [
      el("header", { class: "stats-head" }, [el("h3", { class: "stats-title", text: "Statistics, runs overlaid" }), this._legend]),
      this._status,
      this._grid,
    ]);
    container.append(this.element);
  }

  /**
   * @param {string[]} runs
   * @param {string} tag
   * @param {import("./api.js").TagListing} listing
   * @param {(run: string) => string} colourOf a run's colour class
   */
  async setRuns(runs, tag, listing, colourOf) {
    const ticket = this._loads.begin();
    clear(this._legend);
    for (const run of runs) {
      this._legend.append(
        el("span", { class: "chart-key" }, [el("span", { class: `run-swatch ${colourOf(run)}`, "aria-hidden": "true" }), run])
      );
    }
    this._status.textContent = "Loading statistics…";
    this._status.hidden = false;
    const loaded = await Promise.all(
      compareSeries().map(async (spec) => ({
        spec,
        lines: await Promise.all(
          runs.map(async (run) => {
            try {
              const data = await spec.load({ api: this.api, run, tag, listing });
              return data ? { run, ...data } : null;
            } catch (_) {
              return null;
            }
          })
        ),
      }))
    );
    if (!ticket.live) return;
    clear(this._grid);
    this._charts = [];
    for (const { spec, lines } of loaded) {
      const present = lines.filter(Boolean);
      if (present.length === 0) continue;
      const steps = unionSteps(present.map((l) => l.steps));
      const show = (/** @type {number} */ v) => (spec.percent ? `${(v * 100).toFixed(1)}%` : formatTick(v));
      const chart = new LineChart({
        key: spec.key,
        title: spec.title,
        label: `${spec.title} of each compared run`,
        percent: spec.percent,
        domain: spec.percent ? [0, 1] : undefined,
        describe: (i) =>
          present
            .map((l) => {
              const j = l.steps.indexOf(steps[i]);
              const v = j >= 0 ? l.values[j] : null;
              return typeof v === "number" ? show(v) : "–";
            })
            .join(" · "),
        onPick: (i) => this._onStep(steps[i]),
      });
      this._grid.append(chart.element);
      chart.setData(
        steps,
        present.map((l) => ({ name: l.run, cls: colourOf(l.run), values: l.values, steps: l.steps }))
      );
      this._charts.push({ chart, steps });
    }
    this._status.hidden = this._charts.length > 0;
    this._status.textContent = this._charts.length ? "" : "No statistics logged for this layer in the compared runs.";
    if (this._step !== null) this.setStep(this._step);
  }

  /** Marks `step` on every chart. @param {number} step */
  setStep(step) {
    this._step = step;
    for (const { chart, steps } of this._charts) {
      let best = -1;
      for (let i = 0; i < steps.length; i++) if (best < 0 || Math.abs(steps[i] - step) < Math.abs(steps[best] - step)) best = i;
      chart.setCurrent(step, best);
    }
  }

  destroy() {
    this._loads.cancel();
    this.element.remove();
  }
}
