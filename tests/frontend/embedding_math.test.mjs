// Unit tests of the embedding scatter's arithmetic (frontend/views/embedding/math.js), under node.
import test from "node:test";
import assert from "node:assert/strict";
import { bounds, categorize, CATEGORICAL, drawOrder, ease, fit, flatPoints, interpolate, nearest, OTHER_COLOUR } from "../../frontend/views/embedding/math.js";

test("categorize: class indices in index order with their names, one palette colour each", () => {
  const { index, categories } = categorize([2, 0, 1, 0, 2, 2], ["cat", "dog", "emu"]);
  assert.deepEqual(categories.map((c) => [c.name, c.count]), [["cat", 2], ["dog", 1], ["emu", 3]]);
  assert.deepEqual(categories.map((c) => c.colour), CATEGORICAL.slice(0, 3));
  assert.deepEqual(Array.from(index), [2, 0, 1, 0, 2, 2]);
  // Strings in natural order; missing values named.
  const s = categorize(["b10", "b2", null, "b2"]);
  assert.deepEqual(s.categories.map((c) => c.name), ["b10", "b2", "no label"].sort(new Intl.Collator("en", { numeric: true }).compare));
});

test("categorize: more categories than colours share one named 'other' entry, never a repeated colour", () => {
  const values = [];
  for (let k = 0; k < 14; k++) for (let r = 0; r <= k; r++) values.push(`c${k}`); // c13 most frequent
  const { index, categories } = categorize(values);
  assert.equal(categories.length, 10);
  const colours = categories.map((c) => c.colour);
  assert.equal(new Set(colours).size, 10);
  const other = categories[categories.length - 1];
  assert.equal(other.colour, OTHER_COLOUR);
  assert.equal(other.name, "5 other categories");
  assert.equal(other.count, 1 + 2 + 3 + 4 + 5); // c0..c4, the least frequent
  assert.equal(categories.reduce((s, c) => s + c.count, 0), values.length);
  // Every sample's colour is its category's (or 'other').
  values.forEach((v, i) => {
    const c = categories[index[i]];
    assert.ok(c.name === v || c === other);
  });
});

test("interpolate: halfway is the midpoint; missing start positions jump; t=1 is the target", () => {
  const from = flatPoints([[0, 0], null, [2, 2]]);
  const to = flatPoints([[2, 4], [1, 1], null]);
  const mid = interpolate(from, to, 0.5);
  assert.deepEqual(Array.from(mid.slice(0, 4)), [1, 2, 1, 1]);
  assert.ok(Number.isNaN(mid[4]) && Number.isNaN(mid[5]));
  assert.deepEqual(Array.from(interpolate(from, to, 1).slice(0, 4)), [2, 4, 1, 1]);
  assert.deepEqual(Array.from(interpolate(null, to, 0.2).slice(0, 2)), [2, 4]);
  assert.equal(ease(0), 0);
  assert.equal(ease(1), 1);
  assert.equal(ease(0.5), 0.5);
});

test("fit: one scale for both axes, the box centred, y up; nearest finds the point under the pointer", () => {
  const pts = flatPoints([[-1, 0], [3, 1], [1, 0.5], null]);
  const box = bounds(pts);
  assert.deepEqual(box, { x0: -1, x1: 3, y0: 0, y1: 1 });
  const tf = fit(box, 420, 420, 10);
  assert.equal(tf.sx, 100); // 400 px for 4 units across; up would allow 400 per unit
  assert.equal(tf.sy, -100);
  const px = (i) => [pts[2 * i] * tf.sx + tf.ox, pts[2 * i + 1] * tf.sy + tf.oy];
  assert.deepEqual(px(0), [10, 260]);
  assert.deepEqual(px(1), [410, 160]);
  assert.ok(px(0)[1] > px(1)[1]); // larger y is higher up
  assert.equal(nearest(pts, tf, 12, 258, 8), 0);
  assert.equal(nearest(pts, tf, 12, 258, 8, (i) => i !== 0), -1); // filtered out
  assert.equal(nearest(pts, tf, 210, 210, 8), 2);
  assert.equal(nearest(pts, tf, 100, 100, 8), -1);
  assert.equal(bounds(flatPoints([null])), null);
});

test("drawOrder: the hovered and highlighted samples last", () => {
  assert.deepEqual(drawOrder(5, [1, 3]), [0, 2, 4, 1, 3]);
  assert.deepEqual(drawOrder(3, [-1, 7]), [0, 1, 2]);
});
