// Unit tests of the layer grouping (frontend/layers.js), under node.
import test from "node:test";
import "../../frontend/views/registry.js"; // the registered kinds (views/kinds.js) say where tags go
import assert from "node:assert/strict";
import { groupLayers, matches, placeOf, treeRows } from "../../frontend/layers.js";

const infos = {
  "activations/backbone/block10/conv": { kind: "activations" },
  "activations/backbone/block2/conv": { kind: "activations" },
  "activation_stats/backbone/block2/conv": { kind: "activation_stats" },
  "weights/backbone/block2/conv/kernel": { kind: "weights", layer: "backbone/block2/conv" },
  "weights/backbone/block2/conv/bias": { kind: "weights", layer: "backbone/block2/conv" },
  "attention/encoder/mha": { kind: "attention" },
  "activations/encoder": { kind: "activations" },
  model_summary: { kind: "model_summary" },
  "dense/kernel": { kind: "weights", layer: "dense" },
  conv: { kind: "activations" },
};

test("placeOf: the layer path and what the tag is of it", () => {
  assert.deepEqual(placeOf("weights/a/b/kernel", { kind: "weights" }), { path: "a/b", label: "kernel" });
  assert.deepEqual(placeOf("weights/x/kernel", { kind: "weights", layer: "model/x" }), { path: "model/x", label: "kernel" });
  assert.deepEqual(placeOf("activation_stats/a", { kind: "activation_stats" }), { path: "a", label: "statistics" });
  assert.deepEqual(placeOf("model_summary", { kind: "model_summary" }), { path: null, label: "architecture" });
  assert.deepEqual(placeOf("conv", { kind: "activations" }), { path: "conv", label: "activations" });
});

test("groupLayers: one entry per layer, natural order, kinds in a fixed order", () => {
  const { architecture, layers } = groupLayers(infos);
  assert.equal(architecture, "model_summary");
  assert.deepEqual(layers.map((l) => l.path), ["backbone/block2/conv", "backbone/block10/conv", "conv", "dense", "encoder", "encoder/mha"]);
  assert.deepEqual(layers[0].entries.map((e) => e.label), ["activations", "statistics", "kernel", "bias"]);
  assert.deepEqual(layers[3].entries.map((e) => e.tag), ["dense/kernel"]);
});

test("treeRows: group headers for shared prefixes; a layer heads its own children", () => {
  const rows = treeRows(groupLayers(infos).layers);
  assert.deepEqual(
    rows.map((r) => `${r.type}:${r.path}:${r.depth}`),
    [
      "group:backbone:0",
      "group:backbone/block2:1",
      "layer:backbone/block2/conv:2",
      "group:backbone/block10:1",
      "layer:backbone/block10/conv:2",
      "layer:conv:0",
      "layer:dense:0",
      "layer:encoder:0",
      "layer:encoder/mha:1",
    ]
  );
});

test("matches: paths, labels and tags, every term", () => {
  const [layer] = groupLayers(infos).layers;
  assert.ok(matches(layer, "block2/conv"));
  assert.ok(matches(layer, "BLOCK2 kernel"));
  assert.ok(!matches(layer, "block10"));
  assert.ok(matches(layer, ""));
});

test("the logging plan and the exact change series are not listed as layers", () => {
  const listed = groupLayers({
    "activations/dense": { kind: "activations" },
    logging_plan: { kind: "logging_plan" },
    "weight_stats/dense/kernel": { kind: "weight_stats" },
  });
  assert.deepEqual(listed.layers.map((l) => l.path), ["dense"]);
  assert.equal(listed.architecture, null);
});
