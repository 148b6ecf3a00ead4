// Unit tests of the confusion view's arithmetic (frontend/views/class_stats/math.js), under node.
import test from "node:test";
import assert from "node:assert/strict";
import {
  absMax,
  cellSize,
  confusedCells,
  defaultSimilarityLayer,
  percent,
  permute,
  position,
  profileRange,
  rowRates,
  shownSamples,
  spread,
  validOrder,
  yScale,
} from "../../frontend/views/class_stats/math.js";

test("rowRates divides each row by its true-class count; empty rows are null", () => {
  assert.deepEqual(rowRates([[3, 1], [0, 0]]), [[0.75, 0.25], [null, null]]);
});

test("confusedCells ranks off-diagonal cells by count", () => {
  const c = [[5, 2, 0], [4, 9, 4], [0, 1, 7]];
  assert.deepEqual(confusedCells(c), [
    { a: 1, b: 0, count: 4 },
    { a: 1, b: 2, count: 4 },
    { a: 0, b: 1, count: 2 },
    { a: 2, b: 1, count: 1 },
  ]);
  assert.equal(confusedCells(c, 1).length, 1);
});

test("permute reorders rows and columns alike; validOrder falls back to the identity", () => {
  assert.deepEqual(permute([[1, 2, 3], [4, 5, 6], [7, 8, 9]], [2, 0, 1]), [[9, 7, 8], [3, 1, 2], [6, 4, 5]]);
  assert.deepEqual(validOrder([1, 0], 2), [1, 0]);
  assert.deepEqual(validOrder([1, 1], 2), [0, 1]);
  assert.deepEqual(validOrder(null, 3), [0, 1, 2]);
  assert.deepEqual(validOrder([0, 1, 5], 3), [0, 1, 2]);
});

test("profile ranges, symmetric maxima and positions", () => {
  assert.deepEqual(profileRange([1, null, 3], [-2, NaN]), [-2, 3]);
  assert.deepEqual(profileRange([2], [2]), [1.5, 2.5]);
  assert.deepEqual(profileRange(null, [null]), [0, 1]);
  assert.equal(absMax([0.5, -2, null]), 2);
  assert.equal(absMax([0, null]), 1);
  assert.equal(position(1, 0, 4), 0.25);
  assert.equal(position(9, 0, 4), 1);
  assert.equal(position(null, 0, 4), null);
  assert.equal(position(3, 3, 3), 0.5);
});

test("chart geometry", () => {
  assert.deepEqual(spread(3, 10, 30), [10, 20, 30]);
  assert.deepEqual(spread(1, 10, 30), [20]);
  const y = yScale(0, 2, 10, 110);
  assert.equal(y(0), 110);
  assert.equal(y(2), 10);
  assert.equal(y(1), 60);
  assert.equal(cellSize(10, 360), 36);
  assert.equal(cellSize(100, 360), 6);
  assert.equal(cellSize(2, 360), 44);
});

test("samples, default layer and percentages", () => {
  assert.deepEqual(shownSamples([1, 2, 3], 2), { shown: [1, 2], more: 1 });
  assert.equal(defaultSimilarityLayer(4), 2);
  assert.equal(defaultSimilarityLayer(1), 0);
  assert.equal(percent(0.1234), "12.3%");
  assert.equal(percent(null), "–");
});
