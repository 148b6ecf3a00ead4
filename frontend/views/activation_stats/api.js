/**
 * The statistics panel's requests (kind activation_stats), added to the
 * core Api (api.js `extend`) by the registry: every statistics series of a
 * run in one request, kept until a reload says they changed. The panel
 * (view.js), the picker's trouble badges (stats_watch.js), the compared
 * runs' overlaid charts and the dead/saturated marks all read them.
 */

import { ApiError } from "../../api.js";

/** @typedef {import("../../api.js").Api} Api */

/**
 * The activation statistics of one statistics tag, one entry per step
 * (ascending); null where a value does not apply (e.g. dead units of a
 * layer that is not ReLU-like). See tb_plugin/kinds/activation_stats.py.
 * @typedef {Object} StatsSeries
 * @property {number[]} steps
 * @property {number[]} wall_times
 * @property {Array<number|null>} mean
 * @property {Array<number|null>} std
 * @property {Array<number|null>} min
 * @property {Array<number|null>} max
 * @property {Array<number|null>} zero_fraction
 * @property {Array<number|null>} nonfinite_count
 * @property {Array<number|null>} units
 * @property {Array<number|null>} dead_units
 * @property {Array<number|null>} dead_fraction
 * @property {Array<number|null>} saturated_units
 * @property {Array<number|null>} saturated_fraction
 * @property {Array<{edges: number[], counts: number[]}>} histograms
 * @property {number[][]} dead_unit_indices
 * @property {number[][]} saturated_unit_indices
 */

export const activationStatsApi = {
  /**
   * Every statistics series of `run` (`{stats tag: series}`), in one
   * request; cached per run until `forgetStats`.
   * @this {Api} @param {string} run
   * @returns {Promise<Object<string, StatsSeries>>}
   */
  stats(run) {
    return this.remember("stats", run, () =>
      this.json("stats", { run }).then((answer) => {
        if (!answer || typeof answer !== "object" || Array.isArray(answer)) {
          throw new ApiError("TensorBoard sent unexpected statistics", { route: "stats" });
        }
        for (const series of Object.values(answer)) {
          if (!series || !Array.isArray(series.steps)) {
            throw new ApiError("TensorBoard sent unexpected statistics", { route: "stats" });
          }
        }
        return /** @type {Object<string, StatsSeries>} */ (answer);
      })
    );
  },

  /** Forgets the cached statistics of `run` (all runs when omitted), e.g. after a reload. @this {Api} @param {string} [run] */
  forgetStats(run) {
    this.forget("stats", run);
  },
};
