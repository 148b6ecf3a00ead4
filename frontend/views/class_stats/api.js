/**
 * The class statistics view's requests, added to the core Api (api.js
 * `extend`) by the registry: a step's confusion and per-layer statistics,
 * one pair of classes, the evaluation samples' thumbnails.
 */

/** @typedef {import("../../api.js").Api} Api */

export const classStatsApi = {
  /**
   * A class statistics step without per-unit means (`/class_stats`; tb_plugin/kinds/class_stats.py):
   * confusion, misclassified samples, per-layer similarity, clustering order and separability.
   * @this {Api} @param {string} run @param {string} tag @param {number} step
   */
  classStats(run, tag, step) {
    return this.smallJson("class_stats", { run, tag, step }, (a) => Array.isArray(a.confusion) && Array.isArray(a.layers));
  },

  /**
   * Classes a and b of a class statistics step, per layer (`/class_pair`).
   * @this {Api} @param {string} run @param {string} tag @param {number} step @param {number} a @param {number} b
   */
  classPair(run, tag, step, a, b) {
    return this.smallJson("class_pair", { run, tag, step, a, b }, (x) => Array.isArray(x.layers) && Array.isArray(x.samples));
  },

  /**
   * The evaluation samples' thumbnails in force at `step` (`/class_samples`), decoded; null when none.
   * @this {Api} @param {string} run @param {string} tag @param {number} step
   */
  classSamples(run, tag, step) {
    return this.payload("class_samples", { run, tag, step });
  },
};
