// Unit tests of the colour-scale modes' per-channel ranges (frontend/scales.js), under node.
import test from "node:test";
import assert from "node:assert/strict";
import { combineScales, countClippedPerChannel, resolveScale, tagChannelRanges } from "../../frontend/scales.js";

// Two steps of a 3-channel tag, as /ranges answers (channel 2 has no finite value at step 0).
const ranges = {
  steps: [0, 1],
  min: [-1, -3],
  max: [2, 5],
  p01: [-0.9, -2.5],
  p99: [1.9, 4.5],
  channel_min: [[-1, 0, null], [-3, 1, 2]],
  channel_max: [[2, 1, null], [0, 5, 4]],
  channel_p01: [[-0.5, 0.1, null], [-2, 1.5, 2.5]],
  channel_p99: [[1.5, 0.9, null], [-0.5, 4, 3.5]],
};

test("fixed per channel: each channel's min and max over all steps, named so", () => {
  const s = resolveScale({ mode: "fixed", signed: false, difference: false, stats: null, ranges });
  assert.deepEqual(Array.from(s.channelMin), [-3, 0, 2]);
  assert.deepEqual(Array.from(s.channelMax), [2, 5, 4]);
  assert.equal(s.channelWhere, "over all 2 steps");
  assert.deepEqual([s.min, s.max], [-3, 5]);
});

test("robust per channel: percentiles over all steps; signed views centre each channel on zero", () => {
  const s = resolveScale({ mode: "robust", signed: true, difference: false, stats: null, ranges });
  assert.deepEqual(Array.from(s.channelMax), [2, 4, 3.5]);
  assert.deepEqual(Array.from(s.channelMin), [-2, -4, -3.5]);
  assert.match(s.channelWhere, /1st to 99th percentile over all 2 steps/);
});

test("per step and differences have no whole-tag channel ranges (the view uses the step's own)", () => {
  const stats = { min: 0, max: 1, finite: 4 };
  assert.equal(resolveScale({ mode: "step", signed: false, difference: false, stats, ranges: null }).channelMin, null);
  assert.equal(resolveScale({ mode: "fixed", signed: true, difference: true, stats, ranges }).channelMin, null);
  assert.equal(tagChannelRanges({ channel_min: [[0, 1], [0]], channel_max: [[1, 2], [1]] }, "fixed"), null); // channels changed
  assert.equal(tagChannelRanges({ min: [0], max: [1] }, "fixed"), null); // an older backend
});

test("shared across panels: per channel the widest range; mixed channel counts drop them", () => {
  const a = resolveScale({ mode: "fixed", signed: false, difference: false, stats: null, ranges });
  const other = { ...ranges, channel_min: [[-10, 0.5, 3], [-1, 2, 3]], channel_max: [[0, 0.5, 9], [1, 2, 3]] };
  const b = resolveScale({ mode: "fixed", signed: false, difference: false, stats: null, ranges: other });
  const c = combineScales([a, b]);
  assert.deepEqual(Array.from(c.channelMin), [-10, 0, 2]);
  assert.deepEqual(Array.from(c.channelMax), [2, 5, 9]);
  const two = { ...ranges, channel_min: [[0, 0]], channel_max: [[1, 1]] };
  assert.equal(combineScales([a, resolveScale({ mode: "fixed", signed: false, difference: false, stats: null, ranges: two })]).channelMin, null);
});

test("clipped per channel counts finite values beyond their channel's range", () => {
  // C-order values of shape [2, 3]: channels along the last axis.
  const values = Float32Array.from([5, 0, Infinity, -4, 6, 3]);
  assert.equal(countClippedPerChannel(values, [-3, 0, 2], [2, 5, 4]), 3); // 5 (ch 0), -4 (ch 0), 6 (ch 1); Inf is not finite
});
