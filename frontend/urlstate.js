/**
 * The view state (runs, tag, step, sample, mode, ...) in the URL.
 *
 * What TensorBoard 2.21 supports: the host answers
 * "experimental.GetURLPluginData" with the parent URL's `p.internals.<key>`
 * hash entries, but has no message to write them. The plugin page is
 * same-origin with TensorBoard, so we:
 * - read the state at start from GetURLPluginData (falling back to reading
 *   the parent's hash directly, then to our own frame's hash);
 * - write it as `p.internals.<key>=<value>` entries into the parent's hash
 *   with history.replaceState (TensorBoard's own keys are kept; no
 *   hashchange fires, so TensorBoard does not react), so the address bar
 *   holds a link that reopens the same comparison;
 * - record each change of what is compared (runs, tag, mode, reference) as
 *   a history entry of our own frame (history.pushState on the iframe's
 *   hash; step and sample changes update the current entry), so the
 *   browser's back/forward step through comparisons; on popstate the app
 *   applies the entry and mirrors it to the parent again.
 */

export const PLUGIN = "internals";
const PREFIX = `p.${PLUGIN}.`;

/**
 * @typedef {Object} UrlState
 * @property {string[]} [runs]
 * @property {string} [tag]
 * @property {number} [step]
 * @property {number} [sample]
 * @property {string} [mode] "side" | "diff-runs" | "diff-step"
 * @property {number} [ref] reference step of "diff-step"
 * @property {string} [scale] "layer" | "channel"
 * @property {boolean} [shared] one colour range across compared panels
 * @property {string} [range] colour range mode: "fixed" | "step" | "robust" | "unit" (scales.js)
 */

/** @param {Object<string, string>} dict @returns {UrlState} */
export function parseState(dict) {
  /** @type {UrlState} */
  const out = {};
  if (!dict || typeof dict !== "object") return out;
  if (typeof dict.runs === "string") {
    try {
      const runs = JSON.parse(dict.runs);
      if (Array.isArray(runs)) out.runs = runs.map(String);
    } catch (_) {
      // a hand-edited URL: ignore the key
    }
  }
  if (typeof dict.tag === "string" && dict.tag) out.tag = dict.tag;
  for (const key of /** @type {const} */ (["step", "sample", "ref"])) {
    const v = Number(dict[key]);
    if (typeof dict[key] === "string" && dict[key] !== "" && Number.isFinite(v)) out[key] = v;
  }
  if (["side", "diff-runs", "diff-step"].includes(dict.mode)) out.mode = dict.mode;
  if (dict.scale === "layer" || dict.scale === "channel") out.scale = dict.scale;
  if (dict.shared === "0" || dict.shared === "1") out.shared = dict.shared === "1";
  if (["fixed", "step", "robust", "unit"].includes(dict.range)) out.range = dict.range;
  return out;
}

/** @param {UrlState} state @returns {Object<string, string>} */
export function serialiseState(state) {
  /** @type {Object<string, string>} */
  const out = {};
  if (state.runs && state.runs.length) out.runs = JSON.stringify(state.runs);
  if (state.tag) out.tag = state.tag;
  if (typeof state.step === "number") out.step = String(state.step);
  if (typeof state.sample === "number") out.sample = String(state.sample);
  if (state.mode) out.mode = state.mode;
  if (typeof state.ref === "number") out.ref = String(state.ref);
  if (state.scale) out.scale = state.scale;
  if (typeof state.shared === "boolean") out.shared = state.shared ? "1" : "0";
  if (state.range) out.range = state.range;
  return out;
}

/**
 * TensorBoard's hash format: `&`-separated entries, `key=value` URI-encoded;
 * an entry without `=` is the tab name.
 * @param {string} hash without the leading "#"
 * @returns {Array<[string|null, string]>} [key, value]; key null for the tab
 */
function hashEntries(hash) {
  /** @type {Array<[string|null, string]>} */
  const out = [];
  for (const part of hash.split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    try {
      if (eq < 0) out.push([null, decodeURIComponent(part)]);
      else out.push([decodeURIComponent(part.slice(0, eq)), decodeURIComponent(part.slice(eq + 1))]);
    } catch (_) {
      // malformed escape: skip the entry
    }
  }
  return out;
}

/** Our entries of a hash, prefix removed. @param {string} hash @returns {Object<string, string>} */
export function pluginEntries(hash) {
  /** @type {Object<string, string>} */
  const out = {};
  for (const [key, value] of hashEntries(hash.replace(/^#/, ""))) {
    if (key && key.startsWith(PREFIX)) out[key.slice(PREFIX.length)] = value;
  }
  return out;
}

/**
 * `hash` with our entries replaced by `dict` (other entries kept in order).
 * @param {string} hash @param {Object<string, string>} dict
 */
export function withPluginEntries(hash, dict) {
  const parts = [];
  for (const part of hash.replace(/^#/, "").split("&")) {
    if (!part) continue;
    let key = part;
    const eq = part.indexOf("=");
    try {
      key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    } catch (_) {
      // keep as is
    }
    if (eq >= 0 && key.startsWith(PREFIX)) continue;
    parts.push(part);
  }
  for (const [key, value] of Object.entries(dict)) {
    parts.push(`${encodeURIComponent(PREFIX + key)}=${encodeURIComponent(value)}`);
  }
  return parts.join("&");
}

/**
 * Our frame's URL with `dict` as its hash (absolute: the entry page's
 * <base href> would otherwise resolve a bare "#..." against plugin/internals/).
 * @param {Object<string, string>} dict
 */
function ownUrl(dict) {
  const url = new URL(window.location.href);
  url.hash = withPluginEntries("", dict);
  return url.href;
}

/** The parent window when it is TensorBoard and readable (same origin), else null. */
function readableParent() {
  try {
    if (window.parent === window) return null;
    void window.parent.location.hash; // throws when cross-origin
    return window.parent;
  } catch (_) {
    return null;
  }
}

export class UrlState {
  /**
   * @param {{host?: import("./host.js").Host, onPop?: (state: UrlState) => void}} options
   */
  constructor({ host, onPop } = {}) {
    this._host = host || null;
    /** @private */ this._last = "";
    /** @private @type {string|undefined} the last state written, without step and sample */ this._lastStructure = undefined;
    if (onPop) {
      window.addEventListener("popstate", () => {
        const state = parseState(pluginEntries(window.location.hash));
        const dict = serialiseState(state);
        this._last = JSON.stringify(dict);
        const { step: _step, sample: _sample, ...structure } = dict;
        this._lastStructure = JSON.stringify(structure);
        this._mirror(dict);
        onPop(/** @type {any} */ (state));
      });
    }
  }

  /**
   * The state to start from: the parent URL's `p.internals.*` entries
   * (through the host, else read directly), else our own frame's hash.
   * @returns {Promise<UrlState>}
   */
  async read() {
    /** @type {Object<string, string>|null} */
    let dict = null;
    const parent = readableParent();
    if (parent) dict = pluginEntries(parent.location.hash);
    if ((!dict || Object.keys(dict).length === 0) && this._host && this._host.connected) {
      try {
        const answer = await this._host.request("experimental.GetURLPluginData", { pluginName: PLUGIN });
        if (answer && typeof answer === "object") dict = answer;
      } catch (_) {
        // older host: fall through
      }
    }
    if (!dict || Object.keys(dict).length === 0) dict = pluginEntries(window.location.hash);
    const state = parseState(dict);
    this._last = JSON.stringify(serialiseState(state));
    // Our frame's history starts at this state, so "back" can return to it.
    try {
      window.history.replaceState(null, "", ownUrl(serialiseState(state)));
    } catch (_) {
      // sandboxed: no history
    }
    return state;
  }

  /**
   * Records `state`: a new history entry (or, with `replace` or within a
   * burst of changes such as playback, the current one updated) and the
   * parent URL mirrored.
   * @param {UrlState} state
   * @param {{replace?: boolean}} [options]
   */
  write(state, { replace = false } = {}) {
    const dict = serialiseState(state);
    const key = JSON.stringify(dict);
    if (key === this._last) return;
    this._last = key;
    // A new history entry when what is compared changes (runs, tag, mode,
    // reference...); scrubbing steps or samples updates the current entry,
    // so back/forward walk comparisons, not every frame of an animation.
    const { step: _step, sample: _sample, ...structure } = dict;
    const structural = JSON.stringify(structure);
    const push = !replace && this._lastStructure !== undefined && structural !== this._lastStructure;
    this._lastStructure = structural;
    const url = ownUrl(dict);
    try {
      if (push) window.history.pushState(null, "", url);
      else window.history.replaceState(null, "", url);
    } catch (_) {
      // sandboxed: no history
    }
    this._mirror(dict);
  }

  /** @private Writes our entries into the parent's hash (no history entry, no hashchange). */
  _mirror(dict) {
    const parent = readableParent();
    if (!parent) return;
    try {
      const hash = withPluginEntries(parent.location.hash, dict);
      const url = new URL(parent.location.href);
      url.hash = hash;
      parent.history.replaceState(parent.history.state, "", url.href);
    } catch (_) {
      // the parent refused: the state stays in our frame's URL only
    }
  }
}

/**
 * What a link asked for that a listing does not have, as phrases for a notice (empty: nothing lost).
 * @param {{runs: string[], tag: string|null}} wanted
 * @param {Object<string, Object<string, any>>} listing
 * @returns {string[]}
 */
export function lostFromLink(wanted, listing) {
  const lost = [];
  const missingRuns = wanted.runs.filter((r) => !listing[r]);
  if (missingRuns.length) lost.push(`run${missingRuns.length > 1 ? "s" : ""} ${missingRuns.map((r) => `“${r}”`).join(", ")}`);
  const firstRun = wanted.runs.find((r) => listing[r]);
  if (wanted.tag && !(firstRun ? listing[firstRun][wanted.tag] : Object.values(listing).some((t) => t[wanted.tag]))) {
    lost.push(`layer “${wanted.tag}”${firstRun ? ` in run “${firstRun}”` : ""}`);
  }
  return lost;
}

/**
 * @typedef {Object} ViewChoice the tab's shared selection, as App holds it
 * @property {string[]} runs
 * @property {string|null} tag
 * @property {string|null} run
 * @property {number|null} wantedStep
 * @property {number} sample
 * @property {string} mode
 * @property {number|null} refStep
 * @property {string} colourScale
 * @property {boolean} sharedScale
 * @property {string} rangeMode
 */

/**
 * Takes what a URL state says into `choice` (keys it does not name stay).
 * @param {ViewChoice} choice @param {UrlState} state
 */
export function applyUrlState(choice, state) {
  if (state.runs && state.runs.length) choice.runs = state.runs.slice();
  if (state.tag) choice.tag = state.tag;
  if (choice.runs.length) choice.run = choice.runs[0];
  if (typeof state.step === "number") choice.wantedStep = state.step;
  if (typeof state.sample === "number") choice.sample = state.sample;
  if (state.mode) choice.mode = state.mode;
  choice.refStep = typeof state.ref === "number" ? state.ref : null;
  if (state.scale) choice.colourScale = state.scale;
  if (typeof state.shared === "boolean") choice.sharedScale = state.shared;
  if (state.range) choice.rangeMode = state.range;
}

/**
 * The URL state of `choice` with `shown` the step on screen (undefined: none).
 * @param {ViewChoice} choice @param {number|undefined} shown
 * @returns {UrlState}
 */
export function urlStateOf(choice, shown) {
  return {
    runs: choice.runs,
    tag: choice.tag ?? undefined,
    step: typeof shown === "number" ? (choice.wantedStep ?? shown) : undefined,
    sample: choice.sample,
    mode: choice.mode,
    ref: choice.mode === "diff-step" && choice.refStep !== null ? choice.refStep : undefined,
    scale: choice.colourScale,
    shared: choice.sharedScale,
    range: choice.rangeMode,
  };
}
