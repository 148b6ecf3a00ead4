/**
 * The comparison planner: pure functions, no DOM, no fetches (unit-tested
 * under node, tests/frontend/plan.test.mjs).
 *
 * `planColumns(input)` turns (the compared runs, the mode, the reference
 * step, the tag listing, each run's step list) into one column spec per
 * panel; `columnAt(column, step, refStep)` says what a column shows at a
 * step of the slider: which (run, step) pairs it reads, whether a
 * difference is computed, and the honest label of it (nearest steps named).
 *
 * Modes:
 *   "side"       one column per run, each its own values;
 *   "diff-runs"  one column: run A − run B (the first two runs), each side at
 *                its step nearest to the slider's;
 *   "diff-step"  one column per run: its step nearest to the slider's minus its
 *                step nearest to the reference step.
 * Differences apply to the kinds whose values can be subtracted (the view
 * registry's `difference`: activations, weights, attention); for any other
 * kind the plan falls back to side by side and says why.
 */

import { formatStep } from "./format.js";
import { differenceKinds } from "./views/kinds.js";

// A step as the user reads it (step -1: before training), kept with the other formatters.
export { formatStep };

/** "a", "a and b", "a, b and c" @param {string[]} items */
function listText(items) {
  return items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/**
 * The compared runs after choosing `run`: it becomes run A (first) unless
 * `keep` (it already is), runs the listing no longer has are dropped, each
 * run once.
 * @param {string[]} runs the runs compared so far
 * @param {string} run the run chosen
 * @param {string|null} previous the run chosen before (replaced by `run`)
 * @param {Object<string, any>} listing
 * @param {boolean} keep
 * @returns {string[]}
 */
export function comparedRuns(runs, run, previous, listing, keep) {
  let out = keep ? runs.slice() : [run, ...runs.filter((r) => r !== run && r !== previous)];
  out = out.filter((r, i) => listing[r] && out.indexOf(r) === i);
  if (!out.includes(run)) out.unshift(run);
  return out;
}

/**
 * Index of the step of `steps` (ascending) nearest to `wanted`; ties go to
 * the earlier step; -1 when empty.
 * @param {number[]} steps @param {number} wanted
 */
export function nearestIndex(steps, wanted) {
  if (steps.length === 0) return -1;
  let lo = 0;
  let hi = steps.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid] < wanted) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && wanted - steps[lo - 1] <= steps[lo] - wanted) return lo - 1;
  return lo;
}

/** @param {number[]} steps @param {number} wanted @returns {number|null} */
export function nearestStep(steps, wanted) {
  const i = nearestIndex(steps, wanted);
  return i < 0 ? null : steps[i];
}

/** Ascending union of step lists. @param {number[][]} lists */
export function unionSteps(lists) {
  const set = new Set();
  for (const list of lists) for (const s of list) set.add(s);
  return Array.from(set).sort((a, b) => a - b);
}

/**
 * @typedef {Object} ColumnSpec
 * @property {string} key stable id of the column
 * @property {string} run the run whose view (header, kind, info) the column uses
 * @property {string|null} kind the tag's kind in that run (null when not logged there)
 * @property {Object} info the tag's listing entry in that run ({} when not logged)
 * @property {"none"|"runs"|"step"} diff what the column subtracts
 * @property {string[]} sides the runs read: [run] or [A, B]
 * @property {string} title the header's run text ("a", "a − b", "a: step − reference")
 * @property {TextParts} titleParts the same, each run name a part of its own (bidi-isolated when shown)
 * @property {number[]} steps the steps the column can show (for a difference: A's)
 * @property {string|null} placeholder quiet text instead of a view (tag not logged, ...)
 * @property {string|null} message an explanation shown in the view (e.g. steps failed to list)
 */

/**
 * A label whose run names are kept apart from the text around them, so a
 * view can isolate each (right-to-left names stay where they are).
 * @typedef {Array<string|{run: string}>} TextParts
 */

/**
 * @typedef {Object} Plan
 * @property {"side"|"diff-runs"|"diff-step"} mode the mode in effect
 * @property {string|null} fallback why the asked-for mode is not in effect (null when it is)
 * @property {boolean} compare more than one panel, or a difference (compare controls apply)
 * @property {ColumnSpec[]} columns
 * @property {number[]} steps the slider's steps: the union over the columns
 * @property {number|null} refStep the reference step in effect ("diff-step")
 */

/**
 * @param {{runs: string[], mode: "side"|"diff-runs"|"diff-step", refStep: number|null,
 *          listing: Object<string, Object<string, any>>, tag: string,
 *          stepsOf: Object<string, number[]>|Map<string, number[]>,
 *          errors?: Object<string, string>|Map<string, string>}} input
 *   stepsOf: each run's ascending steps of `tag` (runs without the tag may be missing);
 *   errors: runs whose step list could not be read, with the message
 * @returns {Plan}
 */
export function planColumns({ runs, mode, refStep, listing, tag, stepsOf, errors }) {
  const get = (/** @type {any} */ m, /** @type {string} */ k) => (m instanceof Map ? m.get(k) : m ? m[k] : undefined);
  const runsKnown = runs.filter((r, i) => listing[r] && runs.indexOf(r) === i);
  const infoOf = (/** @type {string} */ r) => (listing[r] || {})[tag] || null;
  const stepsFor = (/** @type {string} */ r) => /** @type {number[]} */ ((get(stepsOf, r) || []).slice().sort((a, b) => a - b));
  const errorOf = (/** @type {string} */ r) => get(errors, r) || null;
  const firstInfo = runsKnown.map(infoOf).find(Boolean) || null;
  const kind = firstInfo ? firstInfo.kind || null : null;
  let effective = mode;
  let fallback = null;
  const subtractable = differenceKinds();
  if (mode !== "side" && !subtractable.includes(/** @type {string} */ (kind))) {
    effective = "side";
    fallback = `Differences apply to ${listText(subtractable)}; ${tag} is ${kind ? `of kind ${kind}` : "not logged"}, so the runs are shown side by side.`;
  } else if (mode === "diff-runs" && runsKnown.length < 2) {
    effective = "side";
    fallback = "A difference of runs needs two ticked runs (A and B); showing the run on its own.";
  }
  /** @type {ColumnSpec[]} */
  const columns = [];
  const missing = (/** @type {string} */ r) => `${tag} is not logged in this run`;
  if (effective === "diff-runs") {
    const [a, b] = runsKnown;
    const ia = infoOf(a);
    const ib = infoOf(b);
    let placeholder = null;
    if (!ia || !ib) placeholder = `No difference: ${tag} is not logged in run ${!ia ? a : b}.`;
    else if (ia.kind !== ib.kind) placeholder = `No difference: ${tag} is ${ia.kind} in ${a} but ${ib.kind} in ${b}.`;
    else if (!sameShape(ia.shape, ib.shape)) {
      placeholder = `No difference: shapes differ (${a} [${(ia.shape || []).join(", ")}], ${b} [${(ib.shape || []).join(", ")}]).`;
    }
    const err = errorOf(a) || errorOf(b);
    columns.push({
      key: `diff:${a}:${b}`,
      run: a,
      kind: ia ? ia.kind || null : null,
      info: ia || {},
      diff: "runs",
      sides: [a, b],
      title: `${a} − ${b}`,
      titleParts: [{ run: a }, " − ", { run: b }],
      steps: placeholder ? [] : unionSteps([stepsFor(a), stepsFor(b)]),
      placeholder,
      message: err ? `Could not list the steps of ${tag} in ${errorOf(a) ? a : b}: ${err}` : null,
    });
  } else {
    for (const r of runsKnown) {
      const info = infoOf(r);
      const err = errorOf(r);
      columns.push({
        key: `${effective}:${r}`,
        run: r,
        kind: info ? info.kind || null : null,
        info: info || {},
        diff: effective === "diff-step" && info ? "step" : "none",
        sides: [r],
        title: effective === "diff-step" ? `${r}: step − reference` : r,
        titleParts: effective === "diff-step" ? [{ run: r }, ": step − reference"] : [{ run: r }],
        steps: info ? stepsFor(r) : [],
        placeholder: info ? null : missing(r),
        message: err ? `Could not list the steps of ${tag} in ${r}: ${err}` : null,
      });
    }
  }
  const steps = unionSteps(columns.map((c) => c.steps));
  let ref = null;
  if (effective === "diff-step") {
    const own = columns.find((c) => c.steps.length);
    const base = own ? own.steps : steps;
    ref = base.length ? (refStep === null || refStep === undefined ? base[0] : refStep) : null;
  }
  return {
    mode: effective,
    fallback,
    compare: columns.length > 1 || effective !== "side",
    columns,
    steps,
    refStep: ref,
  };
}

/** @param {number[]|undefined} a @param {number[]|undefined} b */
export function sameShape(a, b) {
  if (!Array.isArray(a) || !Array.isArray(b)) return true; // unknown: the decoded shapes decide
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * @typedef {Object} ColumnStep
 * @property {{run: string, step: number}|null} a what is read (the minuend in a difference)
 * @property {{run: string, step: number}|null} b the subtrahend, or null when no difference
 * @property {boolean} nearest a side is at a step other than the slider's
 * @property {string} label what the column paints, nearest steps named
 * @property {TextParts} labelParts the same, run names apart
 * @property {string|null} missing why nothing can be painted at this step (null when something can)
 */

/**
 * What `column` shows at the slider's `step`.
 * @param {ColumnSpec} column
 * @param {number} step
 * @param {number|null} refStep the plan's reference step ("diff-step")
 * @param {Object<string, number[]>|Map<string, number[]>} [stepsOf] each run's steps (for the sides of a run difference)
 * @returns {ColumnStep}
 */
export function columnAt(column, step, refStep, stepsOf) {
  const get = (/** @type {string} */ r) =>
    /** @type {number[]} */ ((stepsOf instanceof Map ? stepsOf.get(r) : stepsOf ? stepsOf[r] : null) || column.steps);
  const mark = (/** @type {number} */ s) => (s === step ? formatStep(s) : `${formatStep(s)} (nearest to ${formatStep(step)})`);
  if (column.placeholder) return withParts({ a: null, b: null, nearest: false, label: column.placeholder, missing: column.placeholder });
  if (column.diff === "runs") {
    const [ra, rb] = column.sides;
    const sa = nearestStep(get(ra), step);
    const sb = nearestStep(get(rb), step);
    if (sa === null || sb === null) {
      const which = sa === null ? ra : rb;
      return { a: null, b: null, nearest: false, label: `${which}: no steps`, labelParts: [{ run: which }, ": no steps"], missing: `No difference: run ${which} has no logged steps.` };
    }
    return {
      a: { run: ra, step: sa },
      b: { run: rb, step: sb },
      nearest: sa !== step || sb !== step,
      label: `${ra} ${mark(sa)} − ${rb} ${mark(sb)}`,
      labelParts: [{ run: ra }, ` ${mark(sa)} − `, { run: rb }, ` ${mark(sb)}`],
      missing: null,
    };
  }
  const own = nearestStep(column.steps, step);
  if (own === null) return withParts({ a: null, b: null, nearest: false, label: "no steps", missing: "No steps logged for this layer yet." });
  if (column.diff === "step") {
    const ref = nearestStep(column.steps, refStep === null ? column.steps[0] : refStep);
    const r = /** @type {number} */ (ref);
    return withParts({
      a: { run: column.run, step: own },
      b: { run: column.run, step: r },
      nearest: own !== step,
      label: `${mark(own)} − reference ${formatStep(r)}${refStep !== null && r !== refStep ? ` (nearest to ${formatStep(refStep)})` : ""}`,
      missing: null,
    });
  }
  return withParts({ a: { run: column.run, step: own }, b: null, nearest: own !== step, label: mark(own), missing: null });
}

/** A column step whose label names no run: one part. @param {Omit<ColumnStep, "labelParts">} at @returns {ColumnStep} */
function withParts(at) {
  return { ...at, labelParts: [at.label] };
}
