/**
 * The embedding view's requests, added to the core Api (api.js `extend`)
 * by the registry: a step projected to 2-D, the scores over steps, the
 * samples' thumbnails.
 */

import { ApiError } from "../../api.js";

/** @typedef {import("../../api.js").Api} Api */

export const embeddingApi = {
  /**
   * One step of an embedding tag projected to 2-D and aligned onto the step
   * before (`/embedding`; tb_plugin/backend/projections.py), cached per (run, tag, step, method).
   * @this {Api} @param {string} run @param {string} tag @param {number} step @param {string} [method]
   * @returns {Promise<any>} {step, method, methods, points, labels, class_names, columns, knn_accuracy, ...}
   */
  embedding(run, tag, step, method = "pca") {
    return this.cached(
      JSON.stringify(["embedding", run, tag, step, method]),
      () =>
        this.json("embedding", { run, tag, step, method }).then((answer) => {
          if (!answer || !Array.isArray(answer.points)) {
            throw new ApiError("TensorBoard sent an unexpected embedding", { route: "embedding" });
          }
          return answer;
        }),
      (answer) => answer.points.length * 48
    );
  },

  /**
   * Per-step scores of an embedding tag (`/embedding_scores`), cached until its steps change.
   * @this {Api} @param {string} run @param {string} tag @param {string} [method] @param {number|string} [version] its max step
   * @returns {Promise<{steps: number[], knn_accuracy: Array<number|null>, knn_accuracy_projected: Array<number|null>,
   *   silhouette: Array<number|null>}>}
   */
  embeddingScores(run, tag, method = "pca", version = "") {
    return this.remember("embedding_scores", JSON.stringify([run, tag, method, version]), () =>
      this.json("embedding_scores", { run, tag, method }).then((answer) => {
        if (!answer || !Array.isArray(answer.steps) || !Array.isArray(answer.knn_accuracy)) {
          throw new ApiError("TensorBoard sent unexpected embedding scores", { route: "embedding_scores" });
        }
        return answer;
      })
    );
  },

  /**
   * The samples' thumbnails in force at a step (`/embedding_thumbnails`): a
   * decoded `[n, h, w, c]` payload, or null when none were logged. Cached.
   * @this {Api} @param {string} run @param {string} tag @param {number} step
   */
  embeddingThumbnails(run, tag, step) {
    return this.cached(
      JSON.stringify(["embedding_thumbnails", run, tag, step]),
      () => this.payload("embedding_thumbnails", { run, tag, step }),
      (decoded) => (decoded ? decoded.values.byteLength : 0)
    );
  },
};
