/**
 * Which view shows a tag, by the `kind` its listing entry has.
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
 * Views ignore the options they do not need. A new summary kind adds its
 * view here.
 */

import { ActivationsView } from "./activations/view.js";
import { AttentionView } from "./attention/view.js";
import { AttributionView } from "./attribution/view.js";
import { EmbeddingView } from "./embedding/view.js";
import { ArchitectureView } from "./model_summary/view.js";
import { ConfusionView } from "./class_stats/view.js";
import { WeightsView } from "./weights/view.js";

/** @type {Map<string, any>} kind -> view class */
const VIEWS = new Map([
  ["activations", ActivationsView],
  ["weights", WeightsView],
  ["model_summary", ArchitectureView],
  ["attention", AttentionView],
  ["attribution", AttributionView],
  ["embedding", EmbeddingView],
  ["class_stats", ConfusionView],
]);

/**
 * The view class for a summary kind (activations for unknown kinds, which
 * the listing marks with an error before they get here).
 * @param {string|undefined} kind
 */
export function viewFor(kind) {
  return (kind && VIEWS.get(kind)) || ActivationsView;
}
