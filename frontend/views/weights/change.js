/**
 * The change of a weights tag over training, and where it comes from:
 *
 * - exact: the variable's `weight_stats` series, which the callback logs at
 *   every snapshot from the float32 weights in memory (relative change to
 *   the previous snapshot ‖Wₜ − Wₜ₋₁‖ / ‖Wₜ₋₁‖, update-to-weight ratio of
 *   the last batch, norm; `/weight_stats`, one small request);
 * - else from the stored full weights (`/weight_change`: the same relative
 *   change between consecutive stored steps, and against the first; as
 *   exact as their encoding, f32 or q8), for logs without the series.
 *
 * The weights view's change card and the compared runs' overlaid chart both
 * read it through `loadChange`, and say which source they show.
 */

import { LineChart } from "../../charts/line.js";
import { el } from "../../dom.js";
import { formatTick } from "../../format.js";

/** The kind of the exact series (tb_plugin.metadata.KIND_WEIGHT_STATS). */
export const WEIGHT_STATS_KIND = "weight_stats";

/**
 * @typedef {Object} ChangeSeries
 * @property {"weight_stats"|"full_weights"} source
 * @property {string} tag the tag read (the weight_stats tag, or the weights tag)
 * @property {number[]} steps
 * @property {Array<number|null>} previous relative change to the previous snapshot / stored step
 * @property {Array<number|null>|null} first relative change to the first stored step (full weights only)
 * @property {Array<number|null>|null} update update-to-weight ratio of the last batch (exact only)
 */

/**
 * The exact series' tag of weights tag `tag` in a run's listing, or null.
 * @param {Object<string, import("../../api.js").TagInfo>} runTags @param {string} tag
 */
export function weightStatsTagFor(runTags, tag) {
  for (const [t, info] of Object.entries(runTags || {})) {
    if (info.kind === WEIGHT_STATS_KIND && info.source_tag === tag && !info.error) return t;
  }
  return null;
}

/**
 * The change series of weights tag `tag` of `run`: exact when the run logged it, else from the full weights.
 * @param {import("../../api.js").Api} api @param {string} run @param {string} tag
 * @param {Object<string, import("../../api.js").TagInfo>} runTags the run's listing
 * @returns {Promise<ChangeSeries>}
 */
export async function loadChange(api, run, tag, runTags) {
  const exact = weightStatsTagFor(runTags, tag);
  if (exact) {
    const a = await api.weightStats(run, exact, (runTags[exact] || {}).max_step ?? "");
    const update = a.update_ratio && a.update_ratio.some((/** @type {number|null} */ v) => v !== null) ? a.update_ratio : null;
    return { source: "weight_stats", tag: exact, steps: a.steps, previous: a.relative_change, first: null, update };
  }
  const a = await api.weightChange(run, tag, (runTags[tag] || {}).max_step ?? "");
  return { source: "full_weights", tag, steps: a.steps, previous: a.relative_change, first: a.relative_to_first, update: null };
}

/** What a change series is, in words (the chart's source line). @param {ChangeSeries} s */
export function sourceText(s) {
  return s.source === "weight_stats"
    ? `Exact, at every snapshot: from the float32 weights in memory (series ${s.tag}). ` +
        "Update / weight: the last batch's update ‖ΔW‖ / ‖W‖."
    : "From the stored full weights: between consecutive logged steps, as exact as their encoding (no exact series in this run).";
}

/** The change card of the weights view: one chart of the change over steps, its source named. */
export class WeightChangeCard {
  /**
   * @param {{api: import("../../api.js").Api, run: string, tag: string,
   *   runTags: Object<string, import("../../api.js").TagInfo>, onPick: (step: number) => void}} options
   */
  constructor({ api, run, tag, runTags, onPick }) {
    this.api = api;
    this.run = run;
    this.tag = tag;
    /** @private */ this._runTags = runTags;
    /** @private @type {ChangeSeries|null} */ this._series = null;
    /** @private the step list the series was loaded for */ this._loadedFor = "";
    /** @private @type {number|null} */ this._step = null;
    /** @private */ this._destroyed = false;
    const exact = weightStatsTagFor(runTags, tag) !== null;
    this._chart = new LineChart({
      key: "weights-change",
      title: "Relative change ‖Wₜ − Wₜ₋₁‖ / ‖Wₜ₋₁‖",
      legend: exact
        ? [
            ["vs previous", "c-mean"],
            ["update / weight", "c-max"],
          ]
        : [
            ["previous", "c-mean"],
            ["first", "c-max"],
          ],
      label: "relative change of the weights over steps",
      describe: (i) => this._describe(i),
      onPick: (i) => {
        if (this._series && i < this._series.steps.length) onPick(this._series.steps[i]);
      },
    });
    this._source = el("p", { class: "weights-change-source", dataset: { source: exact ? "weight_stats" : "full_weights" } });
    this.element = el("section", { class: "weights-card", dataset: { card: "change" } }, [
      el("h3", { text: "Change over training" }),
      this._chart.element,
      this._source,
    ]);
  }

  /** Loads the series once per step list (a new step reloads it). @param {number[]} steps the weights tag's steps */
  async load(steps) {
    const key = steps.join(",");
    if (key === this._loadedFor) return;
    this._loadedFor = key;
    let series;
    try {
      series = await loadChange(this.api, this.run, this.tag, this._runTags);
    } catch (e) {
      this._loadedFor = "";
      if (!this._destroyed) this._source.textContent = `Could not load the change series: ${e instanceof Error ? e.message : String(e)}`;
      return;
    }
    if (this._destroyed) return;
    this._series = series;
    this._source.textContent = sourceText(series);
    this._source.dataset.source = series.source;
    const lines =
      series.source === "weight_stats"
        ? [
            { name: "vs previous snapshot", cls: "c-mean", values: series.previous },
            ...(series.update ? [{ name: "update / weight (last batch)", cls: "c-max", values: series.update }] : []),
          ]
        : [
            { name: "vs previous", cls: "c-mean", values: series.previous },
            { name: "vs first", cls: "c-max", values: /** @type {Array<number|null>} */ (series.first) },
          ];
    this._chart.setData(series.steps, lines);
    if (this._step !== null) this.setStep(this._step);
  }

  /** Marks the shown step. @param {number} step */
  setStep(step) {
    this._step = step;
    if (!this._series) return;
    this._chart.setCurrent(step, this._series.steps.indexOf(step));
  }

  /** @private @param {number} i */
  _describe(i) {
    const s = this._series;
    if (!s) return "";
    // null: no finite change (e.g. from an all-zero variable, such as a bias before training).
    const text = (/** @type {number|null|undefined} */ v) => (v === null || v === undefined ? "– (not finite)" : formatTick(v));
    if (s.source === "weight_stats") {
      if (i === 0 && s.previous[0] === null) return "first snapshot";
      return `vs previous snapshot ${text(s.previous[i])}` + (s.update ? ` · update / weight ${text(s.update[i])}` : "");
    }
    if (i === 0) return "first step";
    return `vs previous ${text(s.previous[i])} · vs first ${text(/** @type {any} */ (s.first)[i])}`;
  }

  destroy() {
    this._destroyed = true;
  }
}

/**
 * Weight change overlaid across compared runs (for a weights tag): one small request per run.
 * @type {import("../../compare_charts.js").CompareSeries}
 */
export const weightChangeSeries = {
  key: "weight-change",
  title: "Weight change ‖Wₜ − Wₜ₋₁‖ / ‖Wₜ₋₁‖",
  load: async ({ api, run, tag, listing }) => {
    const info = (listing[run] || {})[tag];
    if (!info || info.error || info.kind !== "weights") return null;
    const s = await loadChange(api, run, tag, listing[run] || {});
    return s.steps.length < 2 ? null : { steps: s.steps, values: s.previous };
  },
};
