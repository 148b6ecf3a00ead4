/**
 * The statistics panel's registration (views/registry.js lists it): a layer's
 * activation statistics over steps, beside its activations (columns.js),
 * or alone when only statistics were logged.
 */

import { activationStatsApi } from "./api.js";
import { STATS_SERIES } from "./series.js";
import { StatsView } from "./view.js";

/** @type {import("../kinds.js").ViewKind} */
export default {
  kind: "activation_stats",
  View: StatsView,
  api: activationStatsApi,
  stylesheet: new URL("./activation_stats.css", import.meta.url).href,
  picker: { prefix: "activation_stats/", label: "statistics", rank: 1, note: "statistics only" },
  compareSeries: STATS_SERIES,
};
