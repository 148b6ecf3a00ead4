/**
 * The weights view's requests, added to the core Api (api.js `extend`) by
 * the registry: the change of a variable over training, computed by the
 * backend from the full weights or logged exactly (kind weight_stats).
 */

/** @typedef {import("../../api.js").Api} Api */

export const weightsApi = {
  /**
   * The change of a weights tag over steps (`/weight_change`).
   * @this {Api} @param {string} run @param {string} tag @param {number|string} [version] the tag's max step
   * @returns {Promise<{steps: number[], relative_change: Array<number|null>, relative_to_first: Array<number|null>, norm: Array<number|null>}>}
   */
  weightChange(run, tag, version = "") {
    return this.tagSeries("weight_change", run, tag, version, (a) => Array.isArray(a.relative_change));
  },

  /**
   * A variable's exact change series as the callback logged it (`/weight_stats`, kind weight_stats).
   * @this {Api} @param {string} run @param {string} tag the weight_stats tag @param {number|string} [version] its max step
   * @returns {Promise<{steps: number[], relative_change: Array<number|null>, update_ratio: Array<number|null>, norm: Array<number|null>}>}
   */
  weightStats(run, tag, version = "") {
    return this.tagSeries("weight_stats", run, tag, version, (a) => Array.isArray(a.relative_change));
  },
};
