/**
 * Activation statistics (the /stats route's series) as the tab uses them:
 * which statistics tag belongs to which layer, what counts as trouble at a
 * step (dead or saturated units, non-finite values) and the badges and unit
 * marks that show it. Pure functions, no DOM.
 */

import { nearestIndex } from "./controls.js";
import { formatStep } from "./format.js";

/** @typedef {import("./api.js").TagInfo} TagInfo */
/** @typedef {import("./views/activation_stats/api.js").StatsSeries} StatsSeries */

export const STATS_KIND = "activation_stats";

/** Dead fraction from which a "dead" badge is drawn in the strong style. */
export const STRONG_DEAD_FRACTION = 0.25;

/** @param {TagInfo|undefined} info */
export function isStatsTag(info) {
  return Boolean(info && !info.error && info.kind === STATS_KIND);
}

/**
 * The tags to list as layers: every tag except statistics tags whose
 * activations tag is in the run too (those show with their layer). A
 * statistics tag without its activations (e.g. the layer was too big to
 * log) stays listed, so its statistics can still be shown.
 * @param {Object<string, TagInfo>} infos one run's tags
 * @returns {Object<string, TagInfo>}
 */
export function layerTags(infos) {
  /** @type {Object<string, TagInfo>} */
  const out = {};
  for (const [tag, info] of Object.entries(infos)) {
    if (isStatsTag(info) && info.source_tag && info.source_tag !== tag && info.source_tag in infos) continue;
    out[tag] = info;
  }
  return out;
}

/**
 * @param {import("./api.js").TagListing} listing
 * @returns {import("./api.js").TagListing} the listing with `layerTags` per run
 */
export function layerListing(listing) {
  /** @type {import("./api.js").TagListing} */
  const out = {};
  for (const [run, infos] of Object.entries(listing)) out[run] = layerTags(infos);
  return out;
}

/**
 * The statistics tag of a listed layer: the tag itself when it is one,
 * else the statistics tag whose `source_tag` names it.
 * @param {Object<string, TagInfo>} infos one run's tags
 * @param {string} tag
 * @returns {{tag: string, info: TagInfo}|null}
 */
export function statsTagFor(infos, tag) {
  if (isStatsTag(infos[tag])) return { tag, info: infos[tag] };
  const candidates = Object.keys(infos)
    .filter((t) => isStatsTag(infos[t]) && infos[t].source_tag === tag)
    .sort();
  return candidates.length ? { tag: candidates[0], info: infos[candidates[0]] } : null;
}

/** Whether a run has any statistics tag. @param {Object<string, TagInfo>} infos */
export function hasStats(infos) {
  return Object.values(infos || {}).some(isStatsTag);
}

/**
 * Changes whenever a run's statistics change (a new step, a new tag), so a
 * cached /stats answer can be kept across reloads that brought nothing new.
 * @param {Object<string, TagInfo>} infos
 */
export function statsSignature(infos) {
  return JSON.stringify(
    Object.keys(infos || {})
      .filter((t) => isStatsTag(infos[t]))
      .sort()
      .map((t) => [t, infos[t].max_step, /** @type {any} */ (infos[t]).max_wall_time])
  );
}

/**
 * Index of `step` in the series, or -1 when it was not logged.
 * @param {StatsSeries} series
 * @param {number} step
 */
export function indexOfStep(series, step) {
  const i = nearestIndex(series.steps, step);
  return i >= 0 && series.steps[i] === step ? i : -1;
}

/**
 * Index of the logged step nearest to `step` (-1 when there is none).
 * @param {StatsSeries} series
 * @param {number} step
 */
export function nearestStepIndex(series, step) {
  return nearestIndex(series.steps, step);
}

/** @param {Array<number|null>|undefined} values @param {number} i */
function at(values, i) {
  const v = values ? values[i] : null;
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/**
 * "43%"; "<1%" and ">99%" so that a few units are never shown as 0% or 100%.
 * @param {number} fraction in [0, 1]
 */
export function formatPercent(fraction) {
  if (fraction <= 0) return "0%";
  if (fraction >= 1) return "100%";
  const rounded = Math.round(fraction * 100);
  if (rounded === 0) return "<1%";
  if (rounded === 100) return ">99%";
  return `${rounded}%`;
}

/**
 * @typedef {Object} Trouble
 * @property {number} step
 * @property {number|null} units
 * @property {{count: number|null, fraction: number}|null} dead null when it does not apply
 * @property {{count: number|null, fraction: number}|null} saturated
 * @property {number} nonfinite
 */

/**
 * The trouble indicators at index `i` of a series.
 * @param {StatsSeries} series
 * @param {number} i
 * @returns {Trouble}
 */
export function troubleAt(series, i) {
  const deadFraction = at(series.dead_fraction, i);
  const saturatedFraction = at(series.saturated_fraction, i);
  return {
    step: series.steps[i],
    units: at(series.units, i),
    dead: deadFraction === null ? null : { count: at(series.dead_units, i), fraction: deadFraction },
    saturated:
      saturatedFraction === null ? null : { count: at(series.saturated_units, i), fraction: saturatedFraction },
    nonfinite: at(series.nonfinite_count, i) || 0,
  };
}

/**
 * @typedef {Object} Badge
 * @property {"dead"|"saturated"|"nonfinite"} kind
 * @property {string} text
 * @property {boolean} strong drawn in the strong style
 * @property {string} title the explanation (tooltip)
 */

/**
 * Badges for a layer's latest logged step: "43% dead", "12% saturated",
 * "NaN" (non-finite values). Empty when all is well.
 * @param {StatsSeries} series
 * @param {string} [noun] what a unit is called ("channels", "units")
 * @returns {Badge[]}
 */
export function badgesFor(series, noun = "units") {
  const n = series.steps.length;
  if (n === 0) return [];
  const t = troubleAt(series, n - 1);
  const of = (/** @type {number|null} */ count) =>
    count !== null && t.units !== null ? `${count} of ${t.units} ${noun}` : `Some ${noun}`;
  /** @type {Badge[]} */
  const badges = [];
  if (t.dead && t.dead.fraction > 0) {
    badges.push({
      kind: "dead",
      text: `${formatPercent(t.dead.fraction)} dead`,
      strong: t.dead.fraction >= STRONG_DEAD_FRACTION,
      title: `${of(t.dead.count)} dead at ${formatStep(t.step)} (never positive on the probe batch)`,
    });
  }
  if (t.saturated && t.saturated.fraction > 0) {
    badges.push({
      kind: "saturated",
      text: `${formatPercent(t.saturated.fraction)} saturated`,
      strong: t.saturated.fraction >= STRONG_DEAD_FRACTION,
      title: `${of(t.saturated.count)} saturated at ${formatStep(t.step)} (stuck at the activation's limits)`,
    });
  }
  if (t.nonfinite > 0) {
    badges.push({
      kind: "nonfinite",
      text: "NaN",
      strong: true,
      title: `${t.nonfinite.toLocaleString("en-US")} non-finite values (NaN or ±Inf) at step ${t.step}`,
    });
  }
  return badges;
}

/**
 * Badges of every listed layer of a run that has statistics.
 * @param {Object<string, TagInfo>} infos the run's tags (all of them)
 * @param {Object<string, StatsSeries>} seriesByTag the run's /stats answer
 * @returns {Object<string, Badge[]>} by listed tag
 */
export function badgesByLayer(infos, seriesByTag) {
  /** @type {Object<string, Badge[]>} */
  const out = {};
  for (const tag of Object.keys(layerTags(infos))) {
    const ref = statsTagFor(infos, tag);
    const series = ref ? seriesByTag[ref.tag] : undefined;
    if (!series) continue;
    const shape = (infos[tag] && infos[tag].shape) || [];
    const badges = badgesFor(series, shape.length >= 4 ? "channels" : "units");
    if (badges.length) out[tag] = badges;
  }
  return out;
}

/**
 * @typedef {Object} UnitMarks
 * @property {number} step
 * @property {Set<number>} dead
 * @property {Set<number>} saturated
 */

/**
 * The flagged units at `step` (exactly that step: marks of another step
 * would point at the wrong picture), or null.
 * @param {StatsSeries} series
 * @param {number} step
 * @returns {UnitMarks|null}
 */
export function unitMarksAt(series, step) {
  const i = indexOfStep(series, step);
  if (i < 0) return null;
  return {
    step,
    dead: new Set((series.dead_unit_indices || [])[i] || []),
    saturated: new Set((series.saturated_unit_indices || [])[i] || []),
  };
}
