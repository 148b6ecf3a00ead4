/** The class statistics view's registration (views/registry.js lists it): confusion, class similarity, pairs. */

import { classStatsApi } from "./api.js";
import { ConfusionView } from "./view.js";

/** @type {import("../kinds.js").ViewKind} */
export default {
  kind: "class_stats",
  View: ConfusionView,
  api: classStatsApi,
  stylesheet: new URL("./class_stats.css", import.meta.url).href,
  picker: {},
};
