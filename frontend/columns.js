/**
 * The panel manager: builds one column per panel spec of the planner
 * (plan.js) — its header, the view the registry names for the kind, the
 * difference loader of a difference column, the statistics panel or the
 * compared runs' dead/saturated marks — and the overlaid statistics charts
 * when runs are compared; then moves every panel to a step with its colour
 * range (scales.js), one range across panels when shared.
 *
 * It owns the column state (no state on DOM nodes) and its own cancellation
 * (cancel.js): a rebuild or destroy drops every late answer of the previous
 * build. App only says what to build and which step to show.
 */

import { Generation } from "./cancel.js";
import { DIVERGING } from "./colormap.js";
import { differenceLoader, nearestStep, runColourClass } from "./compare.js";
import { CompareCharts } from "./compare_charts.js";
import { el, clear } from "./dom.js";
import { mixedText, setMixedText } from "./frame.js";
import { statsTagFor, unitMarksAt } from "./layerstats.js";
import { columnAt } from "./plan.js";
import { combineScales, resolveScale } from "./scales.js";
import { viewFor, viewKind } from "./views/kinds.js";
import { notice } from "./notices.js";
import { StatsView } from "./views/activation_stats/view.js";

/**
 * @typedef {Object} Column
 * @property {string} run
 * @property {import("./plan.js").ColumnSpec|null} spec
 * @property {any} view the registry's view (null: a placeholder)
 * @property {StatsView|null} statsView
 * @property {any} markSeries compared side by side: the run's statistics series, for unit marks
 * @property {number[]} steps
 * @property {HTMLElement|null} note the column header's step note
 * @property {((step: number) => Promise<any>)|null} load
 * @property {HTMLElement} element
 */

/**
 * @typedef {Object} ColumnHooks
 * @property {(batch: number) => void} onLoad a view loaded a step with `batch` samples
 * @property {(run: string, tag: string) => void} navigate open another tag (e.g. from the architecture page)
 * @property {(step: number) => void} jumpToStep show another step (e.g. a chart click)
 * @property {() => void} onRangesReady a whole-tag range arrived after an interim paint: repaint
 */

export class Columns {
  /**
   * @param {HTMLElement} area the views area
   * @param {{api: import("./api.js").Api} & ColumnHooks} options
   */
  constructor(area, { api, ...hooks }) {
    this.area = area;
    this.api = api;
    /** @private */ this._hooks = hooks;
    /** @type {Column[]} */ this.columns = [];
    /** @type {CompareCharts|null} */ this.compareCharts = null;
    /** @type {any} the first column's view (the one the sample and batch follow) */ this.view = null;
    /** @type {StatsView|null} the statistics panel of a single column, or of a statistics-only tag */ this.statsView = null;
    /** @private */ this._tag = "";
    /** @private @type {import("./plan.js").Plan|null} the plan built */ this._plan = null;
    /** @private @type {Map<string, number[]>} each involved run's steps of the tag */ this._stepsOf = new Map();
    /** @private */ this._build = new Generation();
  }

  /** Whether more than one panel shows. */
  get comparing() {
    return this.columns.length > 1;
  }

  /**
   * Builds the columns the plan says.
   * @param {import("./plan.js").Plan} plan
   * @param {string} tag
   * @param {{listing: import("./api.js").TagListing, runs: string[], stepsOf: Map<string, number[]>,
   *   colourScale: "layer"|"channel", sample: number}} context the selection the plan was made from
   */
  build(plan, tag, { listing, runs, stepsOf, colourScale, sample }) {
    this.destroy();
    const ticket = this._build.begin();
    this._tag = tag;
    this._plan = plan;
    this._stepsOf = stepsOf;
    const refStep = () => plan.refStep;
    const compare = plan.compare;
    const diff = plan.mode !== "side";
    this.area.classList.toggle("views-compare", compare);
    this.area.style.setProperty("--columns", String(Math.max(1, plan.columns.length)));
    const allRuns = Object.keys(listing);
    if (plan.fallback && diff) this.area.append(notice("Comparison", plan.fallback, "info"));
    for (const spec of plan.columns) {
      const element = el("div", { class: "run-column", dataset: { run: spec.run, key: spec.key } });
      const note = el("div", { class: "column-note", "aria-live": "off" });
      const body = el("div", { class: "run-body" });
      if (compare) {
        element.append(
          el("div", { class: "column-head" }, [
            el("span", { class: `run-swatch ${runColourClass(spec.run, allRuns)}`, "aria-hidden": "true" }),
            mixedText("column-title", spec.titleParts || [spec.title]),
            note,
          ])
        );
      }
      element.append(body);
      this.area.append(element);
      /** @type {Column} */
      const col = { run: spec.run, spec, view: null, statsView: null, markSeries: null, steps: [], note, load: null, element };
      this.columns.push(col);
      if (spec.placeholder) {
        body.append(el("p", { class: "column-placeholder", text: spec.placeholder }));
        continue;
      }
      const difference = spec.diff !== "none";
      col.steps = spec.steps;
      col.load = difference
        ? differenceLoader(this.api, spec, tag, stepsOf, refStep)
        : (/** @type {number} */ step) => this.api.tensor(spec.run, tag, step);
      const View = viewFor(spec.kind || spec.info.kind);
      col.view = new View(body, {
        api: this.api,
        run: spec.run,
        tag,
        info: spec.info,
        colourScale,
        sample,
        onLoad: (/** @type {any} */ _tensor, /** @type {any} */ p) => this._hooks.onLoad(p.batch),
        unitMarks: (/** @type {number} */ step) =>
          col.statsView ? col.statsView.unitMarksAt(step) : col.markSeries ? unitMarksAt(col.markSeries, step) : null,
        navigate: this._hooks.navigate,
        jumpToStep: this._hooks.jumpToStep,
        runTags: listing[spec.run] || {},
        ...(difference ? { load: col.load, colormap: DIVERGING, symmetric: true, difference: true, title: spec.title } : {}),
      });
      const ref = statsTagFor(listing[spec.run] || {}, tag);
      if (ref && !compare) {
        col.statsView = this._statsPanel(body, spec.run, ref, spec.info.shape);
      } else if (ref && !difference) {
        // Compared side by side: no statistics panel per column, but its dead/saturated units still marked.
        this.api.stats(spec.run).then(
          (all) => {
            if (!ticket.live || !all[ref.tag]) return;
            col.markSeries = all[ref.tag];
            col.view.refreshMarks();
          },
          () => {} // no marks; the overlaid charts say what failed
        );
      }
      if (spec.message) col.view.showMessage(spec.message);
    }
    const first = this.columns.find((c) => c.view);
    this.view = first ? first.view : null;
    this.statsView = first ? first.statsView : null;
    if (compare && runs.length > 1) {
      this.compareCharts = new CompareCharts(this.area, { api: this.api, onStep: this._hooks.jumpToStep });
      this.compareCharts.element.classList.add("compare-charts-row");
      this.compareCharts.setRuns(runs, tag, listing, (r) => runColourClass(r, allRuns));
    }
  }

  /**
   * A statistics tag listed on its own: its layer's activations were not
   * logged (e.g. too large), so only the statistics panel shows.
   * @param {string} run @param {string} tag @param {import("./api.js").TagInfo} info
   * @returns {Promise<import("./views/activation_stats/api.js").StatsSeries|null>} its series (its steps are the tag's)
   */
  buildStatsOnly(run, tag, info) {
    this.destroy();
    this._build.begin();
    this._tag = tag;
    const body = el("div", { class: "run-body" });
    this.area.append(el("div", { class: "run-column" }, [body]));
    body.append(
      el("div", { class: "stats-only" }, [
        notice(
          "Only statistics were logged for this layer",
          "Its activations are not in this run (for example, the layer output was larger than max_values), so there " +
            "is no picture of them; the statistics below were computed from the full output.",
          "info"
        ),
      ])
    );
    this.statsView = this._statsPanel(body, run, { tag, info });
    return this.statsView.ready;
  }

  /**
   * @private
   * @param {HTMLElement} container @param {string} run
   * @param {{tag: string, info: import("./api.js").TagInfo}} ref the statistics tag
   * @param {number[]} [layerShape]
   */
  _statsPanel(container, run, ref, layerShape) {
    const statsView = new StatsView(container, {
      api: this.api,
      run,
      tag: ref.tag,
      info: ref.info,
      layerShape,
      onStep: this._hooks.jumpToStep,
      onLoad: () => {
        if (this.view && this.statsView === statsView) this.view.refreshMarks();
      },
    });
    return statsView;
  }

  /** New statistics after a reload: the panel re-reads them and the view its marks. */
  async reloadStats() {
    if (!this.statsView) return;
    await this.statsView.reload();
    if (this.view) this.view.refreshMarks();
  }

  /**
   * Moves every panel to its step nearest `step` (its header note says which
   * sides a difference shows) with its colour range, and waits until all are drawn.
   * @param {number} step
   * @param {{rangeMode: import("./scales.js").ScaleMode, sharedScale: boolean, perChannel: boolean,
   *   ticket: import("./cancel.js").Ticket}} options perChannel: the per-channel colour scale (its ranges
   *   are fetched only then); ticket: the caller's, a stale one stops early
   * @returns {Promise<boolean>} whether it ran to the end (false: superseded)
   */
  async show(step, { rangeMode, sharedScale, perChannel, ticket }) {
    if (this.compareCharts) this.compareCharts.setStep(step);
    const cols = this.columns;
    if (cols.length === 0 && this.statsView) this.statsView.setStep(step); // statistics only
    const refStep = this._plan ? this._plan.refStep : null;
    const stepsOf = this._stepsOf;
    const shown = cols.map((col) => {
      if (!col.view) {
        if (col.note) col.note.textContent = "";
        return null;
      }
      const own = nearestStep(col.steps, step);
      const at = own === null || !col.spec ? null : columnAt(col.spec, step, refStep, stepsOf);
      if (col.note) {
        setMixedText(col.note, at ? at.labelParts : ["no steps"]);
        col.note.classList.toggle("column-note-nearest", at !== null && at.nearest);
      }
      return own;
    });
    // The colour range of each panel (scales.js): fixed and robust from the tag's /ranges (cached),
    // per step and differences from the step's tensor (cached); one across panels when shared.
    const scales = await Promise.all(cols.map((col, k) => this._scaleFor(col, shown[k], rangeMode, perChannel)));
    if (!ticket.live) return false;
    const common = cols.filter((c) => c.view).length > 1 && sharedScale ? combineScales(scales) : null;
    cols.forEach((col, k) => {
      if (col.view && col.view.setScaleRange) col.view.setScaleRange(common || scales[k]);
    });
    await Promise.all(
      cols.map((col, k) => {
        if (col.statsView && shown[k] !== null) col.statsView.setStep(/** @type {number} */ (shown[k]));
        return shown[k] === null || !col.view ? null : col.view.setStep(shown[k]);
      })
    );
    return ticket.live;
  }

  /**
   * @private The colour range of a column at its step (null: the view's own).
   * @param {Column} col @param {number|null} step @param {import("./scales.js").ScaleMode} mode @param {boolean} perChannel
   */
  async _scaleFor(col, step, mode, perChannel) {
    if (!col.view || !col.view.setScaleRange || step === null || !col.spec || !col.load) return null;
    const scale = (viewKind(col.spec.kind) || {}).scale || {};
    const difference = col.spec.diff !== "none";
    const needsTensor = difference || mode === "step";
    const signed = difference || Boolean(scale.signed);
    const attention = Boolean(scale.attention);
    try {
      if (!needsTensor && mode !== "unit") {
        const version = col.spec.info.max_step ?? "";
        const ranges = this.api.rangesIfReady(col.run, this._tag, version, perChannel);
        if (!ranges) {
          // The first request for a tag's ranges can take a while (the backend reads every step once):
          // paint with the step's own range now, named so, and repaint when the whole-tag range is here.
          const build = this._build.current;
          this.api.ranges(col.run, this._tag, version, perChannel).then(
            () => build && build.live && this._hooks.onRangesReady(),
            () => {}
          );
          const stats = (await col.load(step)).stats;
          const interim = resolveScale({ mode: "step", signed, difference, attention, stats, ranges: null });
          return interim && { ...interim, name: `Per step for now (the whole-tag range is loading)${signed ? ", centred on zero" : ""}`, label: "Per step for now" };
        }
        return resolveScale({ mode, signed, difference, attention, stats: null, ranges });
      }
      const stats = needsTensor ? (await col.load(step)).stats : null;
      return resolveScale({ mode, signed, difference, attention, stats, ranges: null });
    } catch (_) {
      return null; // the view paints with its own range, and says what failed when its step fails
    }
  }

  /**
   * A single panel's steps after a reload, which it takes (null: unknown, or rebuilt meanwhile).
   * @param {string} run @param {string} tag
   * @returns {Promise<number[]|null>}
   */
  async reloadSteps(run, tag) {
    const build = this._build.current;
    let steps = null;
    if (this.view) {
      try {
        ({ steps } = await this.api.steps(run, tag));
      } catch (_) {
        return null; // keep showing what we have
      }
    } else if (this.statsView && this.statsView.series) steps = this.statsView.series.steps;
    if (!steps || !build || !build.live) return null;
    steps = steps.slice().sort((a, b) => a - b);
    if (this.columns.length === 1) this.columns[0].steps = steps;
    return steps;
  }

  /** @param {number} sample */
  setSample(sample) {
    for (const col of this.columns) if (col.view) col.view.setSample(sample);
  }

  /** @param {"layer"|"channel"} mode */
  setColourScale(mode) {
    for (const col of this.columns) if (col.view) col.view.setColourScale(mode);
  }

  /** Removes every panel and drops the late answers of this build. */
  destroy() {
    this._build.cancel();
    for (const col of this.columns) {
      if (col.view) col.view.destroy();
      if (col.statsView) col.statsView.destroy();
    }
    if (this.statsView && !this.columns.some((c) => c.statsView === this.statsView)) this.statsView.destroy();
    if (this.compareCharts) this.compareCharts.destroy();
    this.columns = [];
    this._plan = null;
    this.compareCharts = null;
    this.view = null;
    this.statsView = null;
    this.area.classList.remove("views-compare");
    clear(this.area);
  }
}
