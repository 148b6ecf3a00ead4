// Unit tests of the charts' ticks and scales (frontend/charts/scales.js), under node.
import test from "node:test";
import assert from "node:assert/strict";
import { compactCount, HEIGHT, histogramScales, lineScales, MARGIN, niceTicks, segments, stepTicks } from "../../frontend/charts/scales.js";

test("niceTicks: round steps covering the range", () => {
  assert.deepEqual(niceTicks(0, 1, 3), [0, 0.5, 1]);
  assert.deepEqual(niceTicks(-0.3, 6.2, 3), [-5, 0, 5, 10]);
  assert.deepEqual(niceTicks(0, 12, 4, true), [0, 5, 10, 15]);
  assert.deepEqual(niceTicks(2, 2, 2), [1.5, 2, 2.5]); // a flat range is padded
});

test("segments: runs of finite values, lines break at gaps", () => {
  const values = [1, null, 2, 3, NaN, 4];
  assert.deepEqual(segments(values.length, (i) => Number.isFinite(values[i])), [[0, 1], [2, 4], [5, 6]]);
});

test("compactCount", () => {
  assert.equal(compactCount(950), "950");
  assert.equal(compactCount(12345), "12.3k");
  assert.equal(compactCount(1234567), "1.23M");
});

test("lineScales: every line, the band and the domain in range; steps to px", () => {
  const s = lineScales({
    steps: [0, 10],
    lines: [{ name: "a", cls: "c", values: [0.2, 0.4] }, { name: "b", cls: "c", values: [null, 0.9], steps: [5, 20] }],
    band: { lo: [0.1, 0.3], hi: [0.3, 0.5] },
    domain: [0, 1],
    percent: true,
    width: 300,
  });
  assert.deepEqual(s.labels, ["0%", "50%", "100%"]);
  assert.equal(s.s0, 0);
  assert.equal(s.s1, 20);
  assert.equal(s.x(0), s.left);
  assert.equal(s.x(20), 300 - MARGIN.right);
  assert.equal(s.y(0), HEIGHT - MARGIN.bottom);
  assert.equal(s.y(1), MARGIN.top);
  assert.deepEqual(stepTicks(s, 300), [0, 5, 10, 15, 20]);
});

test("lineScales: one step sits in the middle", () => {
  const s = lineScales({ steps: [7], lines: [{ name: "a", cls: "c", values: [1] }], band: null, width: 200 });
  assert.ok(s.single);
  assert.equal(s.x(7), (s.left + s.right) / 2);
  assert.deepEqual(stepTicks(s, 200), [7]);
});

test("histogramScales: a towering bin is clipped so the rest stay readable", () => {
  const tall = histogramScales([1000, 10, 8, 5], 300);
  assert.ok(tall.clip);
  assert.ok(tall.yTop < 1000);
  assert.equal(tall.y(1000), tall.y(tall.yTop));
  const even = histogramScales([10, 8, 5], 300);
  assert.ok(!even.clip);
  assert.equal(even.bw, (even.right - even.left) / 3);
});
