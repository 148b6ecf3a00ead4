/**
 * The backend's routes, relative to the document base (`plugin/internals/`),
 * with errors surfaced as `ApiError` carrying the server's `error` message.
 * Decoded steps are cached per (run, tag, step) in a small LRU shared by
 * every view that uses this `Api`, so scrubbing back is instant.
 */

import { LruCache } from "./cache.js";
import { decodePayload } from "./decode.js";
import { computeStats } from "./stats.js";

/**
 * @typedef {Object} TagInfo
 * @property {string} [kind]
 * @property {number[]} [shape]
 * @property {string} [dtype]
 * @property {string} [encoding]
 * @property {string} [description]
 * @property {number} [max_step]
 * @property {number} [version]
 * @property {string} [error] set when this release cannot read the tag's metadata
 * @property {string} [source_tag] statistics tags: the activations tag they describe
 * @property {string|null} [activation] statistics tags: the layer's activation ("relu", ...)
 * @property {number} [units] statistics tags: units (entries of the last axis)
 */

/** @typedef {Object<string, Object<string, TagInfo>>} TagListing */

/**
 * @typedef {Object} Tensor
 * @property {string} run
 * @property {string} tag
 * @property {number} step
 * @property {number[]} shape
 * @property {Float32Array} values
 * @property {string} encoding
 * @property {import("./stats.js").TensorStats} stats
 */

/**
 * The activation statistics of one statistics tag, one entry per step
 * (ascending); null where a value does not apply (e.g. dead units of a
 * layer that is not ReLU-like). See tb_plugin/stats.py.
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

/** A failed request, with a message fit for the user. */
export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {{status?: number, route?: string}} [details]
   */
  constructor(message, { status = 0, route = "" } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.route = route;
  }
}

/** The message of a failure, fit for the user. @param {unknown} e */
export function errorMessage(e) {
  return e instanceof Error ? e.message : String(e);
}

export class Api {
  /**
   * @param {{fetch?: typeof fetch, cacheEntries?: number, cacheBytes?: number}} [options]
   */
  constructor({ fetch: fetchImpl, cacheEntries = 64, cacheBytes = 256 << 20 } = {}) {
    /** @private */
    this._fetch = fetchImpl || window.fetch.bind(window);
    /** @private @type {LruCache<Promise<Tensor>>} */
    this._cache = new LruCache({ maxEntries: cacheEntries, maxCost: cacheBytes });
    /** @private @type {Map<string, Promise<Object<string, StatsSeries>>>} per run */
    this._stats = new Map();
    /** @private @type {Map<string, Promise<any>>} per (route, run, tag): small per-tag series */
    this._series = new Map();
    /** @private @type {Map<string, any>} the answers of `_series` that arrived */
    this._seriesDone = new Map();
    /** @private @type {Map<string, Promise<any>>|undefined} class statistics answers (`_classJson`) */
    this._classCache = undefined;
    /** Requests made, and bytes received, per route (for the benchmark and tests). */
    this.counts = /** @type {Object<string, {requests: number, bytes: number}>} */ ({});
  }

  /**
   * @private
   * @param {string} route e.g. "tags"
   * @param {Object<string, string|number>} [params]
   * @returns {Promise<Response>}
   */
  async _get(route, params) {
    const query = params ? "?" + new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])) : "";
    let response;
    try {
      response = await this._fetch(`./${route}${query}`, { credentials: "same-origin" });
    } catch (e) {
      throw new ApiError(`Could not reach TensorBoard (${e instanceof Error ? e.message : e}). Is it still running?`, {
        route,
      });
    }
    const count = (this.counts[route] = this.counts[route] || { requests: 0, bytes: 0 });
    count.requests++;
    count.bytes += Number(response.headers && response.headers.get ? response.headers.get("content-length") || 0 : 0);
    if (!response.ok) {
      let message = `TensorBoard answered ${response.status} ${response.statusText}`.trim();
      try {
        const text = (await response.text()).trim();
        let body = null;
        try {
          body = JSON.parse(text);
        } catch (_) {
          // Not JSON (e.g. TensorBoard's own text/plain errors): show the text.
        }
        if (body && typeof body.error === "string") message = body.error;
        else if (text && !/^\s*</.test(text)) message = `${message}: ${text.slice(0, 500)}`;
      } catch (_) {
        // No readable body: keep the status line.
      }
      throw new ApiError(message, { status: response.status, route });
    }
    return response;
  }

  /** @private */
  async _json(route, params) {
    const response = await this._get(route, params);
    try {
      return await response.json();
    } catch (e) {
      throw new ApiError(`TensorBoard sent an unreadable answer for /${route}`, { route });
    }
  }

  /** `{run: {tag: info}}` @returns {Promise<TagListing>} */
  async tags() {
    const listing = await this._json("tags");
    if (!listing || typeof listing !== "object" || Array.isArray(listing)) {
      throw new ApiError("TensorBoard sent an unexpected tag listing", { route: "tags" });
    }
    return listing;
  }

  /**
   * @param {string} run
   * @param {string} tag
   * @returns {Promise<{steps: number[], wall_times: number[]}>}
   */
  async steps(run, tag) {
    const answer = await this._json("steps", { run, tag });
    if (!answer || !Array.isArray(answer.steps)) {
      throw new ApiError("TensorBoard sent an unexpected step list", { route: "steps" });
    }
    return { steps: answer.steps, wall_times: answer.wall_times || [] };
  }

  /**
   * The ascending step lists of `tag` in each of `runs` (no steps where a run
   * does not have the tag), and the message of each run whose list failed.
   * @param {string[]} runs @param {string} tag @param {TagListing} listing
   * @returns {Promise<{stepsOf: Map<string, number[]>, errors: Map<string, string>}>}
   */
  async stepLists(runs, tag, listing) {
    const answers = await Promise.all(
      runs.map((run) =>
        (listing[run] || {})[tag]
          ? this.steps(run, tag).then(
              (a) => ({ run, steps: a.steps.slice().sort((x, y) => x - y), error: null }),
              (e) => ({ run, steps: [], error: errorMessage(e) })
            )
          : Promise.resolve({ run, steps: [], error: null })
      )
    );
    return {
      stepsOf: new Map(answers.map((a) => [a.run, a.steps])),
      errors: new Map(answers.filter((a) => a.error !== null).map((a) => [a.run, /** @type {string} */ (a.error)])),
    };
  }

  /**
   * One step decoded, with its statistics; cached.
   * @param {string} run
   * @param {string} tag
   * @param {number} step
   * @returns {Promise<Tensor>}
   */
  tensor(run, tag, step) {
    const key = JSON.stringify([run, tag, step]);
    const cached = this._cache.get(key);
    if (cached) return cached;
    const pending = this._load(run, tag, step);
    this._cache.set(key, pending, 0);
    pending.then(
      (tensor) => this._cache.setCost(key, tensor.values.byteLength),
      () => this._cache.delete(key) // retry failures next time
    );
    return pending;
  }

  /** @private */
  async _load(run, tag, step) {
    const response = await this._get("data", { run, tag, step });
    const decoded = await decodePayload(await response.arrayBuffer());
    return {
      run,
      tag,
      step,
      shape: decoded.shape,
      values: decoded.values,
      encoding: decoded.header.encoding,
      stats: computeStats(decoded.values, decoded.shape),
    };
  }

  /**
   * Every statistics series of `run` (`{stats tag: series}`), in one
   * request; cached per run until `forgetStats`.
   * @param {string} run
   * @returns {Promise<Object<string, StatsSeries>>}
   */
  stats(run) {
    const cached = this._stats.get(run);
    if (cached) return cached;
    const pending = this._json("stats", { run }).then((answer) => {
      if (!answer || typeof answer !== "object" || Array.isArray(answer)) {
        throw new ApiError("TensorBoard sent unexpected statistics", { route: "stats" });
      }
      for (const series of Object.values(answer)) {
        if (!series || !Array.isArray(series.steps)) {
          throw new ApiError("TensorBoard sent unexpected statistics", { route: "stats" });
        }
      }
      return /** @type {Object<string, StatsSeries>} */ (answer);
    });
    this._stats.set(run, pending);
    pending.catch(() => {
      if (this._stats.get(run) === pending) this._stats.delete(run); // retry failures next time
    });
    return pending;
  }

  /**
   * Mean attention entropy per head and step of an attention tag
   * (`/attention_summary`; see tb_plugin/attention.py `entropy_series`).
   * @param {string} run
   * @param {string} tag
   * @returns {Promise<{steps: number[], entropy: number[][], max_entropy: number|null}>}
   */
  async attentionSummary(run, tag) {
    const answer = await this._json("attention_summary", { run, tag });
    if (!answer || !Array.isArray(answer.steps) || !Array.isArray(answer.entropy)) {
      throw new ApiError("TensorBoard sent an unexpected attention summary", { route: "attention_summary" });
    }
    return answer;
  }

  /**
   * @private A small per-tag series (`/ranges`, `/weight_change`, `/weight_stats`), cached per
   * (run, tag, extra query) until the tag's step list changes (`version`: e.g. its max step).
   */
  _tagSeries(route, run, tag, version, check, extra = {}) {
    const key = JSON.stringify([route, run, tag, version, extra]);
    const cached = this._series.get(key);
    if (cached) return cached;
    const pending = this._json(route, { run, tag, ...extra }).then((answer) => {
      if (!answer || !Array.isArray(answer.steps) || !check(answer)) {
        throw new ApiError(`TensorBoard sent an unexpected answer for /${route}`, { route });
      }
      return answer;
    });
    this._series.set(key, pending);
    pending.then(
      (answer) => {
        if (this._series.get(key) === pending) this._seriesDone.set(key, answer);
      },
      () => {
        if (this._series.get(key) === pending) this._series.delete(key);
      }
    );
    return pending;
  }

  /**
   * The `/ranges` answer when it has arrived, else null (without asking: call `ranges`).
   * @param {string} run @param {string} tag @param {number|string} [version] @param {boolean} [channels]
   */
  rangesIfReady(run, tag, version = "", channels = false) {
    return this._seriesDone.get(JSON.stringify(["ranges", run, tag, version, channels ? { channels: 1 } : {}])) || null;
  }

  /**
   * Per-step finite min, max, 1st and 99th percentile of an array tag (`/ranges`).
   * With `channels`, also per channel (`channel_min`, ... : per step, one value per channel; the
   * per-channel colour scale's, larger: asked for only then).
   * @param {string} run @param {string} tag @param {number|string} [version] the tag's max step @param {boolean} [channels]
   * @returns {Promise<{steps: number[], min: Array<number|null>, max: Array<number|null>, p01: Array<number|null>, p99: Array<number|null>}>}
   */
  ranges(run, tag, version = "", channels = false) {
    return this._tagSeries("ranges", run, tag, version, (a) => Array.isArray(a.min) && Array.isArray(a.max), channels ? { channels: 1 } : {});
  }

  /**
   * The change of a weights tag over steps (`/weight_change`).
   * @param {string} run @param {string} tag @param {number|string} [version] the tag's max step
   * @returns {Promise<{steps: number[], relative_change: Array<number|null>, relative_to_first: Array<number|null>, norm: Array<number|null>}>}
   */
  weightChange(run, tag, version = "") {
    return this._tagSeries("weight_change", run, tag, version, (a) => Array.isArray(a.relative_change));
  }

  /**
   * A variable's exact change series as the callback logged it (`/weight_stats`, kind weight_stats).
   * @param {string} run @param {string} tag the weight_stats tag @param {number|string} [version] its max step
   * @returns {Promise<{steps: number[], relative_change: Array<number|null>, update_ratio: Array<number|null>, norm: Array<number|null>}>}
   */
  weightStats(run, tag, version = "") {
    return this._tagSeries("weight_stats", run, tag, version, (a) => Array.isArray(a.relative_change));
  }

  /**
   * Blob `index` of an attention step (`/attention_blob`): 1 token labels (parsed JSON, or null
   * when the step has none), 2 the input image payload (decoded, or null).
   * @param {string} run @param {string} tag @param {number} step @param {1|2} index
   */
  async attentionBlob(run, tag, step, index) {
    const response = await this._get("attention_blob", { run, tag, step, index });
    if (index === 1) {
      const text = await response.text();
      return text ? JSON.parse(text) : null;
    }
    const bytes = await response.arrayBuffer();
    return bytes.byteLength ? decodePayload(bytes) : null;
  }

  /**
   * One step of an embedding tag projected to 2-D and aligned onto the step
   * before (`/embedding`; tb_plugin/projections.py), cached per (run, tag, step, method).
   * @param {string} run @param {string} tag @param {number} step @param {string} [method]
   * @returns {Promise<any>} {step, method, methods, points, labels, class_names, columns, knn_accuracy, ...}
   */
  embedding(run, tag, step, method = "pca") {
    const key = JSON.stringify(["embedding", run, tag, step, method]);
    const cached = this._cache.get(key);
    if (cached) return cached;
    const pending = this._json("embedding", { run, tag, step, method }).then((answer) => {
      if (!answer || !Array.isArray(answer.points)) {
        throw new ApiError("TensorBoard sent an unexpected embedding", { route: "embedding" });
      }
      return answer;
    });
    this._cache.set(key, pending, 0);
    pending.then(
      (answer) => this._cache.setCost(key, answer.points.length * 48),
      () => this._cache.delete(key)
    );
    return pending;
  }

  /**
   * Per-step scores of an embedding tag (`/embedding_scores`), cached until its steps change.
   * @param {string} run @param {string} tag @param {string} [method] @param {number|string} [version] its max step
   * @returns {Promise<{steps: number[], knn_accuracy: Array<number|null>, knn_accuracy_projected: Array<number|null>,
   *   silhouette: Array<number|null>}>}
   */
  embeddingScores(run, tag, method = "pca", version = "") {
    const key = JSON.stringify(["embedding_scores", run, tag, method, version]);
    const cached = this._series.get(key);
    if (cached) return cached;
    const pending = this._json("embedding_scores", { run, tag, method }).then((answer) => {
      if (!answer || !Array.isArray(answer.steps) || !Array.isArray(answer.knn_accuracy)) {
        throw new ApiError("TensorBoard sent unexpected embedding scores", { route: "embedding_scores" });
      }
      return answer;
    });
    this._series.set(key, pending);
    pending.catch(() => {
      if (this._series.get(key) === pending) this._series.delete(key);
    });
    return pending;
  }

  /**
   * The samples' thumbnails in force at a step (`/embedding_thumbnails`): a
   * decoded `[n, h, w, c]` payload, or null when none were logged. Cached.
   * @param {string} run @param {string} tag @param {number} step
   */
  embeddingThumbnails(run, tag, step) {
    const key = JSON.stringify(["embedding_thumbnails", run, tag, step]);
    const cached = this._cache.get(key);
    if (cached) return cached;
    const pending = this._get("embedding_thumbnails", { run, tag, step })
      .then((response) => response.arrayBuffer())
      .then((bytes) => (bytes.byteLength ? decodePayload(bytes) : null));
    this._cache.set(key, pending, 0);
    pending.then(
      (d) => this._cache.setCost(key, d ? d.values.byteLength : 0),
      () => this._cache.delete(key)
    );
    return pending;
  }

  /**
   * Blob `index` of an attribution step (`/attribution_blob`): 1 the side document (parsed JSON),
   * 2 the Grad-CAM maps at the layer's resolution, 3 the probe images in force at the step
   * (decoded payloads, or null when none was logged). Cached like tensors.
   * @param {string} run @param {string} tag @param {number} step @param {1|2|3} index
   */
  attributionBlob(run, tag, step, index) {
    const key = JSON.stringify(["attribution_blob", run, tag, step, index]);
    const cached = this._cache.get(key);
    if (cached) return cached;
    const pending = (async () => {
      const response = await this._get("attribution_blob", { run, tag, step, index });
      if (index === 1) {
        const text = await response.text();
        try {
          return text ? JSON.parse(text) : null;
        } catch (_) {
          throw new ApiError("TensorBoard sent an unreadable attribution document", { route: "attribution_blob" });
        }
      }
      const bytes = await response.arrayBuffer();
      return bytes.byteLength ? decodePayload(bytes) : null;
    })();
    this._cache.set(key, /** @type {any} */ (pending), 0);
    pending.then(
      (v) => this._cache.setCost(key, v && v.values ? v.values.byteLength : 1024),
      () => this._cache.delete(key)
    );
    return pending;
  }

  /**
   * A JSON document (a model summary, a logging plan) at a step.
   * @param {string} run @param {string} tag @param {number} step
   */
  async document(run, tag, step) {
    const response = await this._get("data", { run, tag, step });
    try {
      return JSON.parse(await response.text());
    } catch (_) {
      throw new ApiError(`TensorBoard sent an unreadable document for ${tag}`, { route: "data" });
    }
  }

  /** A model summary document at a step (see `document`). @param {string} run @param {string} tag @param {number} step */
  modelSummary(run, tag, step) {
    return this.document(run, tag, step);
  }

  /**
   * @private A cached JSON answer of a class statistics route (a few kept; failures retried).
   * @param {string} route @param {Object<string, string|number>} params @param {(a: any) => boolean} check
   */
  _classJson(route, params, check) {
    const key = JSON.stringify([route, params]);
    if (!this._classCache) this._classCache = new Map();
    const cache = this._classCache;
    const cached = cache.get(key);
    if (cached) return cached;
    const pending = this._json(route, params).then((answer) => {
      if (!answer || typeof answer !== "object" || !check(answer)) {
        throw new ApiError(`TensorBoard sent an unexpected answer for /${route}`, { route });
      }
      return answer;
    });
    cache.set(key, pending);
    while (cache.size > 48) cache.delete(cache.keys().next().value);
    pending.catch(() => {
      if (cache.get(key) === pending) cache.delete(key);
    });
    return pending;
  }

  /**
   * A class statistics step without per-unit means (`/class_stats`; tb_plugin/class_stats.py):
   * confusion, misclassified samples, per-layer similarity, clustering order and separability.
   * @param {string} run @param {string} tag @param {number} step
   */
  classStats(run, tag, step) {
    return this._classJson("class_stats", { run, tag, step }, (a) => Array.isArray(a.confusion) && Array.isArray(a.layers));
  }

  /**
   * Classes a and b of a class statistics step, per layer (`/class_pair`).
   * @param {string} run @param {string} tag @param {number} step @param {number} a @param {number} b
   */
  classPair(run, tag, step, a, b) {
    return this._classJson("class_pair", { run, tag, step, a, b }, (x) => Array.isArray(x.layers) && Array.isArray(x.samples));
  }

  /**
   * The k probe samples that activate each channel most at an activations step
   * (`/top_samples`, numpy over the logged values): `{samples, scores,
   * positions, patches, k, channels, map_shape, score}`, patches in the
   * input of `inputTag` (an attribution tag of the run), or null without one.
   * @param {string} run @param {string} tag @param {number} step @param {number} k
   * @param {string|null} [inputTag]
   */
  topSamples(run, tag, step, k, inputTag = null) {
    const params = inputTag ? { run, tag, step, k, input_tag: inputTag } : { run, tag, step, k };
    return this._classJson("top_samples", params, (a) => Array.isArray(a.samples) && Array.isArray(a.scores));
  }

  /**
   * The evaluation samples' thumbnails in force at `step` (`/class_samples`), decoded; null when none.
   * @param {string} run @param {string} tag @param {number} step
   */
  async classSamples(run, tag, step) {
    const response = await this._get("class_samples", { run, tag, step });
    const bytes = await response.arrayBuffer();
    return bytes.byteLength ? decodePayload(bytes) : null;
  }

  /** Forgets the cached statistics of `run` (all runs when omitted), e.g. after a reload. @param {string} [run] */
  forgetStats(run) {
    if (run === undefined) this._stats.clear();
    else this._stats.delete(run);
  }

  /** Forgets cached steps (e.g. after a reload rewrote a step). */
  clearCache() {
    this._cache.clear();
    this._series.clear();
    this._seriesDone.clear();
    if (this._classCache) this._classCache.clear();
  }
}
