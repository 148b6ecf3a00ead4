/**
 * The views of the tab, one line per summary kind. Each kind's folder
 * (views/<kind>/) holds its view, its math, its stylesheet and its requests;
 * its index.js is its registration (a `ViewKind`, views/kinds.js). To add a
 * kind: add its folder, import its index.js here and name it in VIEWS
 * (docs/frontend-views.md).
 *
 * Imported once, by the entry point (index.js), which registers them before
 * the tab starts; every other module reads the registered kinds through
 * views/kinds.js, so no view ever imports this list.
 */

import { registerViews } from "./kinds.js";
import activations from "./activations/index.js";
import activation_stats from "./activation_stats/index.js";
import attention from "./attention/index.js";
import attribution from "./attribution/index.js";
import class_stats from "./class_stats/index.js";
import embedding from "./embedding/index.js";
import model_summary from "./model_summary/index.js";
import weights from "./weights/index.js";

/** @type {import("./kinds.js").ViewKind[]} one line per kind (the order of lists made from it, e.g. `differenceKinds`) */
export const VIEWS = [
  activations,
  activation_stats,
  weights,
  attention,
  embedding,
  attribution,
  class_stats,
  model_summary,
];

registerViews(VIEWS);
