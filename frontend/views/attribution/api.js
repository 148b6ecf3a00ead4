/**
 * The attribution view's requests, added to the core Api (api.js `extend`)
 * by the registry (the activations view's top samples use them too).
 */

import { ApiError } from "../../api.js";

/** @typedef {import("../../api.js").Api} Api */

export const attributionApi = {
  /**
   * Blob `index` of an attribution step (`/attribution_blob`): 1 the side document (parsed JSON),
   * 2 the Grad-CAM maps at the layer's resolution, 3 the probe images in force at the step
   * (decoded payloads, or null when none was logged). Cached like tensors.
   * @this {Api} @param {string} run @param {string} tag @param {number} step @param {1|2|3} index
   */
  attributionBlob(run, tag, step, index) {
    const load = async () => {
      if (index !== 1) return this.payload("attribution_blob", { run, tag, step, index });
      const text = await (await this.get("attribution_blob", { run, tag, step, index })).text();
      try {
        return text ? JSON.parse(text) : null;
      } catch (_) {
        throw new ApiError("TensorBoard sent an unreadable attribution document", { route: "attribution_blob" });
      }
    };
    return this.cached(JSON.stringify(["attribution_blob", run, tag, step, index]), load, (v) => (v && v.values ? v.values.byteLength : 1024));
  },
};
