/**
 * The registered summary kinds: for each, its view and everything else the
 * tab needs to know about it (views/registry.js lists them, one line each,
 * and registers them when the tab starts: index.js imports it). The layer
 * tree (layers.js, picker.js), the planner (plan.js), the panel manager
 * (columns.js), the compared runs' charts (compare_charts.js), the Api
 * (`createApi`) and the stylesheets (index.js) read their lists of kinds
 * from here. This module imports no view, so views may import the modules
 * that read it (e.g. the architecture page groups layers with layers.js).
 *
 * Every view class is instantiated per run and per tag, as
 * `new View(container, options)`, by the panel manager (columns.js) with
 * these options: api, run, tag, info, colourScale, sample, onLoad, unitMarks,
 * navigate, jumpToStep(step) to show another step, e.g. from a chart click,
 * runTags: the run's tag listing; a difference column adds load(step) (the
 * difference tensor), colormap, symmetric, difference: true and title. A
 * view exposes `setStep(step)` (a promise, settled once drawn),
 * `setSample(i)`, `setColourScale(scale)`, `showMessage(text)`,
 * `refreshMarks()` and `destroy()`, and optionally `setScaleRange(scale)`
 * (scales.js: the colour range the panel manager resolved; null: its own).
 * Views ignore the options they do not need. (The statistics panel of kind
 * activation_stats is the exception: columns.js builds it beside the
 * activations it describes, or alone.)
 */

import { Api } from "../api.js";

/**
 * How the layer tree (layers.js, picker.js) lists a kind's tags.
 * @typedef {Object} PickerEntry
 * @property {string} [prefix] tags are named `<prefix><layer path>` (e.g. "attention/"); else the tag is the path
 * @property {string} [label] what the entry is of its layer (default: the kind)
 * @property {number} [rank] its place among a layer's entries (lower first; unranked last)
 * @property {string[]} [variables] the entries are a layer's variables, labelled by name, these first
 *   (ranked `rank`, `rank + 1`, ...); the layer is the tag's `layer` field, else the path up to the name
 * @property {string} [note] shown instead of the tag's shape
 * @property {boolean} [architecture] the run's architecture overview (not a layer; the landing page)
 */

/**
 * A kind's registration: its folder's index.js.
 * @typedef {Object} ViewKind
 * @property {string} kind the summary kind (tb_plugin/format/metadata.py `KINDS`)
 * @property {any} View the view class (see above)
 * @property {Object<string, Function>} api its requests, added to the core Api (views/<kind>/api.js)
 * @property {string} stylesheet URL of its stylesheet (index.js loads every one at start)
 * @property {PickerEntry} picker
 * @property {string[]} [shows] kinds shown inside this view, not listed in the picker
 * @property {boolean} [difference] its values can be subtracted (difference columns, plan.js)
 * @property {{signed?: boolean, attention?: boolean}} [scale] colour range: centred on zero;
 *   attention weights (scales.js `resolveScale`)
 * @property {import("../compare_charts.js").CompareSeries[]} [compareSeries] overlaid when runs are compared
 */

/** @type {ViewKind[]} in registration order */
const registered = [];

/**
 * Registers the views (views/registry.js, once at start). A kind twice is a mistake.
 * @param {ViewKind[]} views
 */
export function registerViews(views) {
  for (const v of views) {
    if (registered.some((r) => r.kind === v.kind)) throw new Error(`view kind ${v.kind} is registered twice`);
    registered.push(v);
  }
}

/** Every registered kind, in registration order. @returns {readonly ViewKind[]} */
export function viewKinds() {
  return registered;
}

/** The registration of `kind`, or null. @param {string|null|undefined} kind @returns {ViewKind|null} */
export function viewKind(kind) {
  return registered.find((v) => v.kind === kind) || null;
}

/**
 * The view class for a summary kind (the activations view for unknown kinds,
 * which the listing marks with an error before they get here).
 * @param {string|undefined} kind
 */
export function viewFor(kind) {
  return (viewKind(kind) || /** @type {ViewKind} */ (viewKind("activations"))).View;
}

/** How the layer tree lists the tags of `kind` (an unknown kind: as its own layer). @param {string} kind @returns {PickerEntry} */
export function pickerEntry(kind) {
  const v = viewKind(kind);
  return (v && v.picker) || {};
}

/** Kinds whose values can be subtracted (difference columns), in registration order. */
export function differenceKinds() {
  return registered.filter((v) => v.difference).map((v) => v.kind);
}

/** Kinds shown inside another view (not listed in the picker). */
export function shownInsideKinds() {
  return registered.flatMap((v) => v.shows || []);
}

/** Every series the compared runs' charts may overlay, in registration order. */
export function compareSeries() {
  return registered.flatMap((v) => v.compareSeries || []);
}

/** The URLs of every view's stylesheet, in registration order. */
export function viewStylesheets() {
  return registered.map((v) => v.stylesheet);
}

/**
 * An Api with every view's requests (views/<kind>/api.js) added to the core.
 * @param {ConstructorParameters<typeof Api>[0]} [options]
 */
export function createApi(options) {
  const api = new Api(options);
  for (const v of registered) api.extend(v.api);
  return api;
}
