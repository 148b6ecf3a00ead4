/**
 * The activation statistics overlaid when runs are compared
 * (compare_charts.js): mean, spread, dead, zero and saturated fractions of
 * the shown layer, from its statistics tag.
 */

import { statsTagFor } from "../../layerstats.js";

/** From the activation statistics of the shown layer. @param {keyof import("./api.js").StatsSeries} field */
function fromStats(field) {
  return async ({ api, run, tag, listing }) => {
    const ref = statsTagFor(listing[run] || {}, tag);
    if (!ref) return null;
    const series = (await api.stats(run))[ref.tag];
    if (!series) return null;
    const values = /** @type {Array<number|null>} */ (series[field]);
    if (!Array.isArray(values) || !values.some((v) => typeof v === "number")) return null;
    return { steps: series.steps, values };
  };
}

/** @type {import("../../compare_charts.js").CompareSeries[]} */
export const STATS_SERIES = [
  { key: "mean", title: "Mean", load: fromStats("mean") },
  { key: "std", title: "Standard deviation", load: fromStats("std") },
  { key: "dead", title: "Dead fraction", percent: true, load: fromStats("dead_fraction") },
  { key: "zeros", title: "Exact zeros", percent: true, load: fromStats("zero_fraction") },
  { key: "saturated", title: "Saturated fraction", percent: true, load: fromStats("saturated_fraction") },
];
