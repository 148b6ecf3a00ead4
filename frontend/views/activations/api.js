/**
 * The activations view's requests, added to the core Api (api.js `extend`)
 * by the registry. Its steps themselves come from the core (`tensor`).
 */

/** @typedef {import("../../api.js").Api} Api */

export const activationsApi = {
  /**
   * The k probe samples that activate each channel most at an activations step
   * (`/top_samples`, numpy over the logged values): `{samples, scores,
   * positions, patches, k, channels, map_shape, score}`, patches in the
   * input of `inputTag` (an attribution tag of the run), or null without one.
   * @this {Api} @param {string} run @param {string} tag @param {number} step @param {number} k
   * @param {string|null} [inputTag]
   */
  topSamples(run, tag, step, k, inputTag = null) {
    const params = inputTag ? { run, tag, step, k, input_tag: inputTag } : { run, tag, step, k };
    return this.smallJson("top_samples", params, (a) => Array.isArray(a.samples) && Array.isArray(a.scores));
  },
};
