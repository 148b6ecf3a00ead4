// Unit tests of the comparison planner (frontend/plan.js), under node: `node --test tests/frontend/`.
import test from "node:test";
import "../../frontend/views/registry.js"; // the registered kinds (views/kinds.js) say which kinds can be subtracted
import assert from "node:assert/strict";
import { columnAt, comparedRuns, formatStep, nearestIndex, planColumns, unionSteps } from "../../frontend/plan.js";

const act = (shape) => ({ kind: "activations", shape });
const listing = {
  a: { conv: act([2, 4, 4, 3]), w: { kind: "weights", shape: [3, 2] }, ms: { kind: "model_summary" } },
  b: { conv: act([2, 4, 4, 3]), w: { kind: "weights", shape: [3, 2] } },
  odd: { conv: act([2, 4, 4, 5]) },
  empty: { other: act([1]) },
};
const stepsOf = { a: [0, 2, 4], b: [0, 1, 2, 3, 4], odd: [0, 4], empty: [] };

test("formatStep names step -1 'before training' and treats other negative steps normally", () => {
  assert.equal(formatStep(-1), "before training");
  assert.equal(formatStep(-1, { capital: true }), "Before training");
  assert.equal(formatStep(-2), "step -2");
  assert.equal(formatStep(0), "step 0");
  assert.equal(formatStep(null), "no step");
});

test("nearestIndex: ties go to the earlier step, empty is -1", () => {
  assert.equal(nearestIndex([0, 2, 4], 3), 1);
  assert.equal(nearestIndex([0, 2, 4], 5), 2);
  assert.equal(nearestIndex([-1, 0, 1], -5), 0);
  assert.equal(nearestIndex([], 3), -1);
  assert.deepEqual(unionSteps([[0, 2], [1, 2, -1]]), [-1, 0, 1, 2]);
});

test("side by side: one column per run, the slider over the union, a missing layer is a quiet placeholder", () => {
  const plan = planColumns({ runs: ["a", "b", "empty"], mode: "side", refStep: null, listing, tag: "conv", stepsOf });
  assert.equal(plan.mode, "side");
  assert.equal(plan.compare, true);
  assert.deepEqual(plan.columns.map((c) => c.run), ["a", "b", "empty"]);
  assert.deepEqual(plan.steps, [0, 1, 2, 3, 4]);
  assert.equal(plan.columns[2].placeholder, "conv is not logged in this run");
  assert.equal(plan.columns[2].message, null);
  const at = columnAt(plan.columns[0], 3, null);
  assert.deepEqual(at.a, { run: "a", step: 2 });
  assert.equal(at.b, null);
  assert.equal(at.label, "step 2 (nearest to step 3)");
  assert.equal(at.nearest, true);
  assert.equal(columnAt(plan.columns[2], 3, null).missing, "conv is not logged in this run");
});

test("one run on its own is not a comparison", () => {
  const plan = planColumns({ runs: ["a"], mode: "side", refStep: null, listing, tag: "conv", stepsOf });
  assert.equal(plan.compare, false);
  assert.equal(plan.columns.length, 1);
});

test("run A − run B: one column, both sides at their nearest steps, labelled", () => {
  for (const tag of ["conv", "w"]) {
    const plan = planColumns({ runs: ["a", "b"], mode: "diff-runs", refStep: null, listing, tag, stepsOf });
    assert.equal(plan.mode, "diff-runs");
    assert.equal(plan.columns.length, 1);
    const [col] = plan.columns;
    assert.equal(col.diff, "runs");
    assert.equal(col.title, "a − b");
    assert.deepEqual(plan.steps, [0, 1, 2, 3, 4]);
    const at = columnAt(col, 3, null, stepsOf);
    assert.deepEqual(at.a, { run: "a", step: 2 });
    assert.deepEqual(at.b, { run: "b", step: 3 });
    assert.equal(at.label, "a step 2 (nearest to step 3) − b step 3");
    assert.equal(columnAt(col, 4, null, stepsOf).label, "a step 4 − b step 4");
  }
});

test("run A − run B that cannot be computed says why and reads nothing", () => {
  const shapes = planColumns({ runs: ["a", "odd"], mode: "diff-runs", refStep: null, listing, tag: "conv", stepsOf });
  assert.match(shapes.columns[0].placeholder, /shapes differ/);
  assert.equal(columnAt(shapes.columns[0], 0, null, stepsOf).a, null);
  const absent = planColumns({ runs: ["a", "empty"], mode: "diff-runs", refStep: null, listing, tag: "conv", stepsOf });
  assert.equal(absent.columns[0].placeholder, "No difference: conv is not logged in run empty.");
  assert.deepEqual(absent.steps, []);
  const one = planColumns({ runs: ["a"], mode: "diff-runs", refStep: null, listing, tag: "conv", stepsOf });
  assert.equal(one.mode, "side");
  assert.match(one.fallback, /two ticked runs/);
});

test("step − reference: one column per run, reference defaults to the first step, nearest named", () => {
  const plan = planColumns({ runs: ["a", "b"], mode: "diff-step", refStep: null, listing, tag: "w", stepsOf });
  assert.equal(plan.mode, "diff-step");
  assert.equal(plan.refStep, 0);
  assert.deepEqual(plan.columns.map((c) => c.diff), ["step", "step"]);
  const at = columnAt(plan.columns[0], 4, plan.refStep);
  assert.deepEqual(at.a, { run: "a", step: 4 });
  assert.deepEqual(at.b, { run: "a", step: 0 });
  assert.equal(at.label, "step 4 − reference step 0");
  const near = columnAt(plan.columns[0], 4, 1);
  assert.deepEqual(near.b, { run: "a", step: 0 });
  assert.equal(near.label, "step 4 − reference step 0 (nearest to step 1)");
  const pre = planColumns({ runs: ["a"], mode: "diff-step", refStep: null, listing, tag: "conv", stepsOf: { a: [-1, 0, 1] } });
  assert.equal(pre.refStep, -1);
  assert.equal(columnAt(pre.columns[0], 1, -1).label, "step 1 − reference before training");
});

test("differences of a kind that has no values fall back to side by side and say so", () => {
  const plan = planColumns({ runs: ["a", "b"], mode: "diff-runs", refStep: null, listing, tag: "ms", stepsOf: { a: [0] } });
  assert.equal(plan.mode, "side");
  assert.match(plan.fallback, /model_summary/);
  assert.equal(plan.columns[1].placeholder, "ms is not logged in this run");
});

test("errors listing steps become messages; unknown and repeated runs are dropped", () => {
  const plan = planColumns({ runs: ["a", "zzz", "a", "b"], mode: "side", refStep: null, listing, tag: "conv", stepsOf, errors: { b: "boom" } });
  assert.deepEqual(plan.columns.map((c) => c.run), ["a", "b"]);
  assert.equal(plan.columns[1].message, "Could not list the steps of conv in b: boom");
});

import { combineScales, countClipped, resolveScale, tagRange } from "../../frontend/scales.js";

const ranges = { steps: [0, 1, 2], min: [0, -1, null], max: [2, 3, null], p01: [0.1, -0.5, null], p99: [1.5, 2, null] };

test("scales: fixed and robust come from the whole tag's ranges; per step from the tensor", () => {
  assert.deepEqual(tagRange(ranges, "fixed"), [-1, 3]);
  assert.deepEqual(tagRange(ranges, "robust"), [-0.5, 2]);
  const fixed = resolveScale({ mode: "fixed", signed: false, difference: false, stats: null, ranges });
  assert.equal(fixed.min, -1);
  assert.equal(fixed.max, 3);
  assert.equal(fixed.name, "Fixed over all 3 steps");
  const signed = resolveScale({ mode: "fixed", signed: true, difference: false, stats: null, ranges });
  assert.deepEqual([signed.min, signed.max], [-3, 3]);
  assert.match(signed.name, /centred on zero/);
  const robust = resolveScale({ mode: "robust", signed: false, difference: false, stats: null, ranges });
  assert.deepEqual([robust.min, robust.max, robust.clip], [-0.5, 2, true]);
  const step = resolveScale({ mode: "step", signed: false, difference: false, stats: { min: 1, max: 2, finite: 4 }, ranges: null });
  assert.deepEqual([step.min, step.max], [1, 2]);
  const unit = resolveScale({ mode: "unit", signed: false, difference: false, attention: true, stats: null, ranges: null });
  assert.deepEqual([unit.min, unit.max], [0, 1]);
  const attn = resolveScale({ mode: "fixed", signed: false, difference: false, attention: true, stats: null, ranges: { ...ranges, min: [0.1, 0.2, null] } });
  assert.equal(attn.min, 0);
  assert.equal(resolveScale({ mode: "fixed", signed: false, difference: false, stats: null, ranges: null }), null);
});

test("scales: a difference is per step, centred on zero, and says so", () => {
  const d = resolveScale({ mode: "fixed", signed: true, difference: true, stats: { min: -0.5, max: 2, finite: 3 }, ranges });
  assert.deepEqual([d.min, d.max], [-2, 2]);
  assert.match(d.name, /difference has no whole-tag range/);
  const shared = combineScales([d, null, { ...d, min: -3, max: 3 }]);
  assert.deepEqual([shared.min, shared.max], [-3, 3]);
  assert.match(shared.name, /shared across 2 panels/);
  assert.equal(countClipped([0, 5, -5, NaN, Infinity, 1], -1, 1), 2);
});

test("comparedRuns: the chosen run becomes A, replacing the previous one; gone runs are dropped", () => {
  const runs = { a: {}, b: {}, c: {} };
  assert.deepEqual(comparedRuns(["a", "b"], "c", "a", runs, false), ["c", "b"]);
  assert.deepEqual(comparedRuns(["a", "b"], "b", "a", runs, false), ["b"]);
  assert.deepEqual(comparedRuns(["b", "gone", "a", "b"], "b", "b", runs, true), ["b", "a"]);
  assert.deepEqual(comparedRuns(["a"], "c", null, { c: {} }, true), ["c"]);
});
