/**
 * Comparing runs: the run checklist (following TensorBoard's run list, with
 * its own filter), stable run colours, the union of steps, a colour range
 * shared across compared panels, and difference tensors (run A − run B,
 * step t − reference step). Pure helpers plus one control; no app state.
 */

import { nearestIndex } from "./controls.js";
import { el, clear } from "./dom.js";
import { computeStats } from "./stats.js";
import { columnAt } from "./plan.js";
import { formatStep } from "./format.js";

/** Colours per run (CSS classes run-c0 .. run-c7, both themes). */
export const RUN_COLOURS = 8;

/** Case-insensitive natural sort. */
const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/**
 * A run's colour class, stable for a run name within a listing: its place
 * among all runs (sorted), not among the selected ones.
 * @param {string} run @param {string[]} allRuns
 */
export function runColourClass(run, allRuns) {
  const sorted = allRuns.slice().sort(collator.compare);
  const i = Math.max(0, sorted.indexOf(run));
  return `run-c${i % RUN_COLOURS}`;
}

/** Ascending union of step lists. @param {number[][]} lists */
export function unionSteps(lists) {
  const set = new Set();
  for (const list of lists) for (const s of list) set.add(s);
  return Array.from(set).sort((a, b) => a - b);
}

/** The step of `steps` nearest to `wanted` (null when empty). @param {number[]} steps @param {number} wanted */
export function nearestStep(steps, wanted) {
  const i = nearestIndex(steps, wanted);
  return i < 0 ? null : steps[i];
}

/**
 * One colour range across tensors: the overall min/max and, when every
 * tensor has the same channel count, per-channel min/max.
 * @param {import("./stats.js").TensorStats[]} stats
 * @returns {import("./views/activations/view.js").SharedRange|null}
 */
export function sharedRange(stats) {
  if (stats.length === 0) return null;
  let min = Infinity;
  let max = -Infinity;
  for (const s of stats) {
    if (s.finite === 0) continue;
    min = Math.min(min, s.min);
    max = Math.max(max, s.max);
  }
  if (min > max) min = max = 0;
  const channels = stats[0].channels;
  let channelMin = null;
  let channelMax = null;
  if (stats.every((s) => s.channels === channels)) {
    channelMin = new Float64Array(channels).fill(Infinity);
    channelMax = new Float64Array(channels).fill(-Infinity);
    for (const s of stats) {
      for (let c = 0; c < channels; c++) {
        if (s.finite === 0) continue;
        channelMin[c] = Math.min(channelMin[c], s.channelMin[c]);
        channelMax[c] = Math.max(channelMax[c], s.channelMax[c]);
      }
    }
    for (let c = 0; c < channels; c++) {
      if (channelMin[c] > channelMax[c]) channelMin[c] = channelMax[c] = 0;
    }
  }
  return { min, max, channelMin, channelMax };
}

/** A thrown shape mismatch: shown as an explanation, not as a failure. */
export class ShapeMismatch extends Error {
  constructor(message) {
    super(message);
    this.name = "ShapeMismatch";
  }
}

/**
 * `a − b` element-wise, as a tensor for the activations view.
 * @param {import("./api.js").Tensor} a
 * @param {import("./api.js").Tensor} b
 * @param {{run: string, step: number}} as the label of the result
 * @returns {import("./api.js").Tensor}
 */
export function differenceTensor(a, b, as) {
  const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
  if (!same) {
    throw new ShapeMismatch(
      `Shapes differ, so there is no element-wise difference: ${a.run} ${formatStep(a.step)} is [${a.shape.join(", ")}], ` +
        `${b.run} ${formatStep(b.step)} is [${b.shape.join(", ")}].`
    );
  }
  const values = new Float32Array(a.values.length);
  const x = a.values;
  const y = b.values;
  for (let i = 0; i < values.length; i++) values[i] = x[i] - y[i];
  return {
    run: as.run,
    tag: a.tag,
    step: as.step,
    shape: a.shape.slice(),
    values,
    encoding: "difference",
    stats: computeStats(values, a.shape),
  };
}

/**
 * The runs the checklist offers: TensorBoard's (its run selector), else all
 * the listing's (no host, or an older host that lists nothing).
 * @param {string[]} all the listing's runs @param {string[]|null} hostRuns
 */
export function offeredRuns(all, hostRuns) {
  const offered = hostRuns ? all.filter((r) => hostRuns.includes(r)) : all;
  return offered.length ? offered : all;
}

/**
 * The runs to compare: a checklist of TensorBoard's runs (that have
 * internals data), with its own filter box. Order of selection is kept
 * (the first selected run is "A" of a difference).
 */
export class RunChecklist {
  /** @param {{onChange: (runs: string[]) => void}} options */
  constructor({ onChange }) {
    this._onChange = onChange;
    /** @type {string[]} */ this._runs = [];
    /** @type {string[]} */ this.selected = [];
    /** @type {string[]} all runs of the listing (for colours) */ this._all = [];
    this._filter = el("input", {
      type: "search",
      class: "compare-filter",
      placeholder: "Filter runs",
      autocomplete: "off",
      spellcheck: "false",
      "aria-label": "Filter runs to compare",
      oninput: () => this._applyFilter(),
    });
    this._list = el("div", { class: "compare-runs", role: "group", "aria-label": "Runs to compare" });
    this._hint = el("p", { class: "control-hint", text: "Tick two or more runs to see them side by side." });
    this.element = el("div", { class: "control control-compare" }, [
      el("div", { class: "control-label", text: "Compare runs" }),
      this._filter,
      this._list,
      this._hint,
    ]);
  }

  /**
   * @param {string[]} runs the runs to offer (TensorBoard's, with data)
   * @param {string[]} all every run of the listing (colours)
   * @param {string[]} selected
   */
  setRuns(runs, all, selected) {
    this._runs = runs.slice().sort(collator.compare);
    this._all = all;
    this.selected = selected.filter((r) => this._runs.includes(r));
    this._render();
  }

  /** @param {string[]} selected */
  select(selected) {
    this.selected = selected.filter((r) => this._runs.includes(r));
    for (const box of /** @type {HTMLInputElement[]} */ (Array.from(this._list.querySelectorAll("input")))) {
      box.checked = this.selected.includes(box.value);
      box.disabled = box.checked && this.selected.length === 1;
    }
  }

  /** @private */
  _render() {
    clear(this._list);
    for (const run of this._runs) {
      const box = el("input", { type: "checkbox", class: "compare-box" });
      box.value = run;
      box.checked = this.selected.includes(run);
      box.disabled = box.checked && this.selected.length === 1; // always at least one run
      box.addEventListener("change", () => {
        if (box.checked) this.selected = [...this.selected.filter((r) => r !== run), run];
        else this.selected = this.selected.filter((r) => r !== run);
        this.select(this.selected);
        this._onChange(this.selected.slice());
      });
      this._list.append(
        el("label", { class: "compare-run", dataset: { run } }, [
          box,
          el("span", { class: `run-swatch ${runColourClass(run, this._all)}`, "aria-hidden": "true" }),
          el("bdi", { class: "compare-run-name", title: run, text: run }),
        ])
      );
    }
    this._applyFilter();
  }

  /** @private */
  _applyFilter() {
    const q = this._filter.value.trim().toLowerCase();
    for (const item of /** @type {HTMLElement[]} */ (Array.from(this._list.children))) {
      item.hidden = q !== "" && !(item.dataset.run || "").toLowerCase().includes(q);
    }
  }
}

/** Nothing to subtract at a step (a side has no steps): shown as an explanation. */
export class NoDifference extends Error {
  constructor(message) {
    super(message);
    this.name = "NoDifference";
  }
}

/**
 * Where a difference column's tensors come from: at a slider step, both
 * sides as the planner says (`plan.columnAt`), decoded through the Api, then
 * subtracted element-wise; the result carries the column's honest label.
 * The last few results are kept (differences are computed, not cached by the Api).
 * @param {import("./api.js").Api} api
 * @param {import("./plan.js").ColumnSpec} spec
 * @param {string} tag
 * @param {Map<string, number[]>} stepsOf
 * @param {() => number|null} refStep the reference step in effect
 * @returns {(step: number) => Promise<import("./api.js").Tensor>}
 */
export function differenceLoader(api, spec, tag, stepsOf, refStep) {
  /** @type {Map<string, Promise<any>>} */
  const cache = new Map();
  return (step) => {
    const at = columnAt(spec, step, refStep(), stepsOf);
    const key = at.a && at.b ? `${at.a.run}@${at.a.step}-${at.b.run}@${at.b.step}` : `none@${step}`;
    let p = cache.get(key);
    if (!p) {
      p = (async () => {
        if (!at.a || !at.b) throw new NoDifference(at.missing || "Nothing to subtract at this step.");
        const [ta, tb] = await Promise.all([api.tensor(at.a.run, tag, at.a.step), api.tensor(at.b.run, tag, at.b.step)]);
        const d = differenceTensor(ta, tb, { run: spec.title, step });
        return { ...d, label: at.label, sides: [at.a, at.b], sourceStep: at.a.step };
      })();
      cache.set(key, p);
      p.catch(() => cache.delete(key));
      if (cache.size > 6) cache.delete(/** @type {string} */ (cache.keys().next().value));
    }
    // The step asked for (the view's "shown step"), even when a cached pair answers several.
    return p.then((t) => (t.step === step ? t : { ...t, step }));
  };
}

/** Errors that explain why nothing is painted (not failures). @param {unknown} e */
export function isExplanation(e) {
  return e instanceof Error && (e.name === "ShapeMismatch" || e.name === "NoDifference");
}
