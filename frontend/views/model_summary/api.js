/**
 * The architecture page's requests, added to the core Api (api.js `extend`)
 * by the registry. The model summary is a JSON document at a step (`/data`),
 * read like the logging plan shown below it (core `document`).
 */

/** @typedef {import("../../api.js").Api} Api */

export const modelSummaryApi = {
  /** A model summary document at a step (see `Api.document`). @this {Api} @param {string} run @param {string} tag @param {number} step */
  modelSummary(run, tag, step) {
    return this.document(run, tag, step);
  },
};
