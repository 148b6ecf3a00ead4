// Unit tests of the attribution view's pure helpers (frontend/views/attribution/math.js), under node.
import test from "node:test";
import assert from "node:assert/strict";
import { className, imageRgb, mapOf, methodRange, overlayPixels, sampleCaption, textOn, tokenScores } from "../../frontend/views/attribution/math.js";
import { DIVERGING, SEQUENTIAL } from "../../frontend/colormap.js";

// [n=2, targets=2, h=2, w=3, methods=2]: value = 1000 s + 100 t + 10 p + m (p = pixel index)
const shape = [2, 2, 2, 3, 2];
const values = new Float32Array(2 * 2 * 6 * 2);
for (let s = 0; s < 2; s++)
  for (let t = 0; t < 2; t++)
    for (let p = 0; p < 6; p++) for (let m = 0; m < 2; m++) values[(((s * 2 + t) * 6 + p) * 2) + m] = 1000 * s + 100 * t + 10 * p + m;

test("mapOf picks one sample, target and method in row-major pixel order", () => {
  assert.deepEqual(Array.from(mapOf(values, shape, 1, 0, 1)), [1001, 1011, 1021, 1031, 1041, 1051]);
  assert.deepEqual(Array.from(mapOf(values, shape, 0, 1, 0)), [100, 110, 120, 130, 140, 150]);
  assert.throws(() => mapOf(values, shape, 2, 0, 0), RangeError);
});

test("methodRange spans every sample and target of one method; signed maps are symmetric", () => {
  assert.deepEqual(methodRange(values, shape, 0, false), [0, 1150]);
  assert.deepEqual(methodRange(values, shape, 1, false), [0, 1151]);
  const signed = new Float32Array([-3, 0, 2, NaN]);
  assert.deepEqual(methodRange(signed, [1, 1, 2, 2, 1], 0, true), [-3, 3]);
  assert.deepEqual(methodRange(new Float32Array([NaN]), [1, 1, 1, 1, 1], 0, false), [0, 0]);
});

test("imageRgb scales [0, 1] images to bytes and greys one channel", () => {
  const img = new Float32Array([0, 0.5, 1, 0.25]);
  assert.deepEqual(Array.from(imageRgb(img, [1, 2, 2, 1], 0)), [0, 0, 0, 128, 128, 128, 255, 255, 255, 64, 64, 64]);
  const big = new Float32Array([0, 200, 255, 10, 20, 30]);
  assert.deepEqual(Array.from(imageRgb(big, [1, 1, 2, 3], 0)), [0, 200, 255, 10, 20, 30]);
});

test("overlayPixels blends the colour map's colour over the image at the opacity", () => {
  const map = new Float32Array([0, 1]);
  const rgb = new Uint8ClampedArray([10, 20, 30, 200, 200, 200]);
  const px = overlayPixels(map, rgb, SEQUENTIAL, 0, 1, 0.5);
  const lo = SEQUENTIAL.colourOf(0, 0, 1);
  const hi = SEQUENTIAL.colourOf(1, 0, 1);
  assert.deepEqual(Array.from(px.slice(0, 4)), [Math.round(5 + lo[0] / 2), Math.round(10 + lo[1] / 2), Math.round(15 + lo[2] / 2), 255]);
  assert.deepEqual(Array.from(px.slice(4, 8)), [Math.round(100 + hi[0] / 2), Math.round(100 + hi[1] / 2), Math.round(100 + hi[2] / 2), 255]);
  assert.deepEqual(Array.from(overlayPixels(map, rgb, DIVERGING, -1, 1, 0).slice(0, 3)), [10, 20, 30]);
  const full = overlayPixels(new Float32Array([-1]), null, DIVERGING, -1, 1, 1);
  assert.deepEqual(Array.from(full.slice(0, 3)), DIVERGING.colourOf(-1, -1, 1));
});

test("captions name the classes with their probabilities, or scores", () => {
  const doc = { class_names: ["x", "plus"], predicted_class: [1], true_class: [0], predicted_probability: [0.75], true_probability: [0.25], probabilities: true };
  assert.deepEqual(sampleCaption(doc, 0), { truth: "true x (0) p = 0.250", predicted: "predicted plus (1) p = 0.750", correct: false });
  const scores = { class_names: null, predicted_class: [2], true_class: null, predicted_probability: [3.5], probabilities: false };
  assert.deepEqual(sampleCaption(scores, 0), { truth: null, predicted: "predicted class 2 score = 3.500", correct: null });
  assert.equal(className(null, null), "–");
});

test("token layout: tokenScores picks one sample, target and method; methodRange reads the 4-d shape", () => {
  // [n=2, targets=2, tokens=3, methods=2]: value = 100 s + 10 t + k, negated for method 1
  const tshape = [2, 2, 3, 2];
  const tv = new Float32Array(24);
  for (let s = 0; s < 2; s++)
    for (let t = 0; t < 2; t++)
      for (let k = 0; k < 3; k++) for (let m = 0; m < 2; m++) tv[((s * 2 + t) * 3 + k) * 2 + m] = (m ? -1 : 1) * (100 * s + 10 * t + k);
  assert.deepEqual(Array.from(tokenScores(tv, tshape, 1, 1, 0)), [110, 111, 112]);
  assert.deepEqual(Array.from(tokenScores(tv, tshape, 0, 1, 1)), [-10, -11, -12]);
  assert.throws(() => tokenScores(tv, tshape, 0, 2, 0), RangeError);
  assert.deepEqual(methodRange(tv, tshape, 1, true), [-112, 112]);
  assert.equal(textOn([255, 255, 255]), "#000");
  assert.equal(textOn([20, 20, 120]), "#fff");
});
