/**
 * The attention view's requests, added to the core Api (api.js `extend`)
 * by the registry: the per-step blobs (token labels, the input image) and
 * the entropy series.
 */

import { ApiError } from "../../api.js";

/** @typedef {import("../../api.js").Api} Api */

export const attentionApi = {
  /**
   * Mean attention entropy per head and step of an attention tag
   * (`/attention_summary`; see tb_plugin/kinds/attention.py `entropy_series`).
   * @this {Api} @param {string} run @param {string} tag
   * @returns {Promise<{steps: number[], entropy: number[][], max_entropy: number|null}>}
   */
  async attentionSummary(run, tag) {
    const answer = await this.json("attention_summary", { run, tag });
    if (!answer || !Array.isArray(answer.steps) || !Array.isArray(answer.entropy)) {
      throw new ApiError("TensorBoard sent an unexpected attention summary", { route: "attention_summary" });
    }
    return answer;
  },

  /**
   * Blob `index` of an attention step (`/attention_blob`): 1 token labels (parsed JSON, or null
   * when the step has none), 2 the input image payload (decoded, or null).
   * @this {Api} @param {string} run @param {string} tag @param {number} step @param {1|2} index
   */
  async attentionBlob(run, tag, step, index) {
    if (index !== 1) return this.payload("attention_blob", { run, tag, step, index });
    const text = await (await this.get("attention_blob", { run, tag, step, index })).text();
    return text ? JSON.parse(text) : null;
  },
};
