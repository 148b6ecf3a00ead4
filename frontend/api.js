/**
 * Every request to the backend: its routes, relative to the document base
 * (`plugin/internals/`), with errors surfaced as `ApiError` carrying the
 * server's `error` message, and every cache of their answers. Nothing else
 * calls `fetch`.
 *
 * This core holds the requests every kind shares (the tag listing, step
 * lists, decoded steps, colour ranges, JSON documents) and the building
 * blocks a view's requests are made of (`get`, `json`, `payload`, `cached`,
 * `remember`, `tagSeries`, `smallJson`). Each view's own requests live in
 * its folder (views/<kind>/api.js) and are added to an `Api` with `extend`
 * (views/kinds.js `createApi` adds every registered one). Decoded steps are cached per
 * (run, tag, step) in a small LRU shared by every view that uses this `Api`,
 * so scrubbing back is instant.
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
    /** @private @type {LruCache<Promise<any>>} decoded steps and other large answers (`cached`) */
    this._cache = new LruCache({ maxEntries: cacheEntries, maxCost: cacheBytes });
    /** @private @type {Map<string, Map<string, Promise<any>>>} named promise caches (`remember`) */
    this._memos = new Map();
    /** @private @type {Map<string, Promise<any>>} per (route, run, tag): small per-tag series */
    this._series = new Map();
    /** @private @type {Map<string, any>} the answers of `_series` that arrived */
    this._seriesDone = new Map();
    /** @private @type {Map<string, Promise<any>>} a few small JSON answers (`smallJson`) */
    this._small = new Map();
    /** Requests made, and bytes received, per route (for the benchmark and tests). */
    this.counts = /** @type {Object<string, {requests: number, bytes: number}>} */ ({});
  }

  /**
   * Adds a view's requests (views/<kind>/api.js) as methods of this Api,
   * called with it as `this`. A name already taken is a mistake, not an override.
   * @param {Object<string, Function>} methods
   * @returns {this}
   */
  extend(methods) {
    for (const [name, method] of Object.entries(methods)) {
      if (name in this) throw new Error(`Api.${name} is defined twice`);
      /** @type {any} */ (this)[name] = method.bind(this);
    }
    return this;
  }

  // ---- building blocks of every request ----

  /**
   * A route's answer; an `ApiError` with the server's message when it failed.
   * @param {string} route e.g. "tags"
   * @param {Object<string, string|number>} [params]
   * @returns {Promise<Response>}
   */
  async get(route, params) {
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

  /** A route's JSON answer. @param {string} route @param {Object<string, string|number>} [params] */
  async json(route, params) {
    const response = await this.get(route, params);
    try {
      return await response.json();
    } catch (e) {
      throw new ApiError(`TensorBoard sent an unreadable answer for /${route}`, { route });
    }
  }

  /**
   * A route's payload (decode.js), decoded; null when the answer is empty (nothing logged).
   * @param {string} route @param {Object<string, string|number>} params
   */
  async payload(route, params) {
    const response = await this.get(route, params);
    const bytes = await response.arrayBuffer();
    return bytes.byteLength ? decodePayload(bytes) : null;
  }

  /**
   * `load()` cached under `key` in the LRU of large answers, its cost (bytes)
   * told once it arrived; a failure is forgotten, so the next call retries.
   * @template T
   * @param {string} key @param {() => Promise<T>} load @param {(answer: T) => number} costOf
   * @returns {Promise<T>}
   */
  cached(key, load, costOf) {
    const hit = this._cache.get(key);
    if (hit) return hit;
    const pending = load();
    this._cache.set(key, pending, 0);
    pending.then(
      (answer) => this._cache.setCost(key, costOf(answer)),
      () => this._cache.delete(key) // retry failures next time
    );
    return pending;
  }

  /**
   * `load()` kept under `key` in the promise cache `name` until `forget` (or
   * `clearCache`); a failure is forgotten, so the next call retries.
   * @template T
   * @param {string} name @param {string} key @param {() => Promise<T>} load
   * @returns {Promise<T>}
   */
  remember(name, key, load) {
    let memo = this._memos.get(name);
    if (!memo) this._memos.set(name, (memo = new Map()));
    const hit = memo.get(key);
    if (hit) return hit;
    const pending = load();
    memo.set(key, pending);
    const kept = memo;
    pending.catch(() => {
      if (kept.get(key) === pending) kept.delete(key);
    });
    return pending;
  }

  /** Drops `key` from the promise cache `name` (every key when omitted). @param {string} name @param {string} [key] */
  forget(name, key) {
    const memo = this._memos.get(name);
    if (!memo) return;
    if (key === undefined) memo.clear();
    else memo.delete(key);
  }

  /**
   * A small per-tag series (`/ranges`, `/weight_change`, `/weight_stats`), cached per
   * (run, tag, extra query) until the tag's step list changes (`version`: e.g. its max step).
   * @param {string} route @param {string} run @param {string} tag @param {number|string} version
   * @param {(answer: any) => boolean} check the answer has the expected shape (besides `steps`)
   * @param {Object<string, string|number>} [extra] more query parameters
   */
  tagSeries(route, run, tag, version, check, extra = {}) {
    const key = JSON.stringify([route, run, tag, version, extra]);
    const cached = this._series.get(key);
    if (cached) return cached;
    const pending = this.json(route, { run, tag, ...extra }).then((answer) => {
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
   * A cached small JSON answer of a route (a few kept, the oldest dropped; failures retried).
   * @param {string} route @param {Object<string, string|number>} params @param {(a: any) => boolean} check
   */
  smallJson(route, params, check) {
    const key = JSON.stringify([route, params]);
    const cache = this._small;
    const cached = cache.get(key);
    if (cached) return cached;
    const pending = this.json(route, params).then((answer) => {
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

  // ---- what every kind shares ----

  /** `{run: {tag: info}}` @returns {Promise<TagListing>} */
  async tags() {
    const listing = await this.json("tags");
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
    const answer = await this.json("steps", { run, tag });
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
    return this.cached(
      JSON.stringify([run, tag, step]),
      () => this._load(run, tag, step),
      (tensor) => tensor.values.byteLength
    );
  }

  /** @private @param {string} run @param {string} tag @param {number} step @returns {Promise<Tensor>} */
  async _load(run, tag, step) {
    const response = await this.get("data", { run, tag, step });
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
    return this.tagSeries("ranges", run, tag, version, (a) => Array.isArray(a.min) && Array.isArray(a.max), channels ? { channels: 1 } : {});
  }

  /**
   * A JSON document (a model summary, a logging plan) at a step.
   * @param {string} run @param {string} tag @param {number} step
   */
  async document(run, tag, step) {
    const response = await this.get("data", { run, tag, step });
    try {
      return JSON.parse(await response.text());
    } catch (_) {
      throw new ApiError(`TensorBoard sent an unreadable document for ${tag}`, { route: "data" });
    }
  }

  /** Forgets every cached answer (e.g. after a reload rewrote a step). */
  clearCache() {
    this._cache.clear();
    this._series.clear();
    this._seriesDone.clear();
    this._small.clear();
    for (const memo of this._memos.values()) memo.clear();
  }
}
