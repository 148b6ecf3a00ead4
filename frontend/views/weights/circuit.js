/**
 * The circuit diagram of a run's consecutive dense kernels: which kernels
 * chain into a stack around the shown one (from the model summary's layer
 * order, else the listing), which edges are drawn (all non-zero ones, or the
 * top-k per output of large kernels), and the SVG itself. Used by the
 * weights view (view.js).
 */

import { el, svg, clear } from "../../dom.js";

/** Largest side drawn as a circuit; above DIAGRAM_TOPK_AT edges only the top-k per output are drawn. */
export const DIAGRAM_MAX_SIDE = 64;
const DIAGRAM_TOPK_AT = 300;
const DIAGRAM_TOPK = 3;
/** Most dense layers drawn in one circuit. */
const DIAGRAM_MAX_LAYERS = 6;
/**
 * @typedef {Object} CircuitLayer
 * @property {string} tag
 * @property {string} name the layer's name (or the tag)
 * @property {number[]} shape [inputs, outputs]
 * @property {Float32Array} values row-major [inputs, outputs], as drawn (pruned)
 * @property {boolean} shown the kernel of the view
 */

/**
 * The edges of a kernel a circuit draws: every non-zero one, or for large
 * kernels only the top `DIAGRAM_TOPK` by |w| per output (NaN counts).
 * @param {ArrayLike<number>} values row-major [nIn, nOut]
 * @param {number} nIn @param {number} nOut
 * @returns {{edges: Array<[number, number]>, topk: boolean}}
 */
export function circuitEdges(values, nIn, nOut) {
  const topk = nIn * nOut > DIAGRAM_TOPK_AT;
  /** @type {Array<[number, number]>} */
  const edges = [];
  for (let o = 0; o < nOut; o++) {
    const ins = [];
    for (let i = 0; i < nIn; i++) if (values[i * nOut + o] !== 0 || Number.isNaN(values[i * nOut + o])) ins.push(i);
    if (topk) ins.sort((a, b) => Math.abs(values[b * nOut + o]) - Math.abs(values[a * nOut + o]));
    for (const i of topk ? ins.slice(0, DIAGRAM_TOPK) : ins) edges.push([i, o]);
  }
  return { edges, topk };
}

/** Largest finite |v|. @param {ArrayLike<number>} values */
function maxAbs(values) {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (Number.isFinite(a) && a > m) m = a;
  }
  return m;
}

/** @param {number} n */
const range = (n) => Array.from({ length: n }, (_, i) => i);

/**
 * Draws a circuit into `box`: columns of neurons (the first layer's inputs,
 * then each layer's outputs), edges with thickness ∝ |w| (per layer) and
 * colour by sign. Sets `data-edges` (the shown kernel's edges) and
 * `data-layers` on the box; each layer's edges are in a
 * `g.circuit-layer[data-tag][data-edges]`.
 * @param {HTMLElement} box
 * @param {CircuitLayer[]} layers consecutive, each one's outputs the next one's inputs
 * @param {{label: string, hover: (hit: {value: number, where: string}|null) => void}} options
 */
export function drawCircuit(box, layers, { label, hover }) {
  clear(box);
  const shown = /** @type {CircuitLayer} */ (layers.find((l) => l.shown) || layers[0]);
  const [sIn, sOut] = shown.shape;
  if (sIn > DIAGRAM_MAX_SIDE * 4 || sOut > DIAGRAM_MAX_SIDE) {
    box.append(el("p", { class: "weights-note", text: `Too large to draw (${sIn} × ${sOut}); the diagram draws layers up to ${DIAGRAM_MAX_SIDE * 4} inputs × ${DIAGRAM_MAX_SIDE} outputs.` }));
    delete box.dataset.edges;
    box.dataset.layers = "0";
    return;
  }
  const stacked = layers.length > 1;
  const drawn = layers.map((l) => ({ ...l, ...circuitEdges(l.values, l.shape[0], l.shape[1]), m: maxAbs(l.values) }));
  const first = drawn[0];
  const firstUsed = first.topk ? [...new Set(first.edges.map(([i]) => i))].sort((a, b) => a - b) : range(first.shape[0]);
  /** @type {number[][]} neuron indices per column */
  const columns = [firstUsed, ...drawn.map((l) => range(l.shape[1]))];
  const gap = 18;
  const top = stacked ? 28 : 10;
  const height = Math.max(...columns.map((c) => c.length)) * gap + top + 10;
  const span = stacked ? 200 : 300;
  const width = 120 + span * drawn.length;
  const xOf = (/** @type {number} */ c) => 60 + c * span;
  const yOf = columns.map((col) => new Map(col.map((n, k) => [n, top + (k + 0.5) * ((height - top - 10) / col.length)])));
  const diagram = svg("svg", { class: "weights-circuit-svg", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
  drawn.forEach((l, j) => {
    const nOut = l.shape[1];
    const g = svg("g", {
      class: l.shown ? "circuit-layer circuit-layer-shown" : "circuit-layer",
      dataset: { tag: l.tag, layer: l.name, edges: String(l.edges.length), inputs: String(l.shape[0]), outputs: String(nOut) },
    });
    for (const [i, o] of l.edges) {
      const v = l.values[i * nOut + o];
      const t = l.m > 0 && Number.isFinite(v) ? Math.abs(v) / l.m : 1;
      const line = svg("line", {
        x1: xOf(j),
        y1: yOf[j].get(i),
        x2: xOf(j + 1),
        y2: yOf[j + 1].get(o),
        class: Number.isFinite(v) ? (v >= 0 ? "edge edge-pos" : "edge edge-neg") : "edge edge-bad",
        "stroke-width": (0.3 + 3.7 * t).toFixed(2),
        "stroke-opacity": (0.25 + 0.75 * t).toFixed(2),
        dataset: { input: String(i), output: String(o) },
      });
      const where = `${stacked ? `${l.name}: ` : ""}input ${i} → output ${o}`;
      line.addEventListener("pointerenter", () => hover({ value: v, where }));
      line.addEventListener("pointerleave", () => hover(null));
      g.append(line);
    }
    diagram.append(g);
    if (stacked) {
      diagram.append(
        svg("text", {
          x: (xOf(j) + xOf(j + 1)) / 2,
          y: 12,
          class: l.shown ? "circuit-layer-name circuit-layer-name-shown" : "circuit-layer-name",
          "text-anchor": "middle",
          text: l.name,
        })
      );
    }
  });
  const last = columns.length - 1;
  columns.forEach((col, c) => {
    const cls = c === 0 ? "neuron neuron-in" : c === last ? "neuron neuron-out" : "neuron neuron-hidden";
    for (const n of col) {
      const y = /** @type {number} */ (yOf[c].get(n));
      diagram.append(svg("circle", { cx: xOf(c), cy: y, r: 5, class: cls, dataset: { column: String(c), unit: String(n) } }));
      if (c === 0 && col.length <= 40) diagram.append(svg("text", { x: xOf(c) - 10, y: y + 3, class: "neuron-label", "text-anchor": "end", text: `in ${n}` }));
      else if (c === last) diagram.append(svg("text", { x: xOf(c) + 10, y: y + 3, class: "neuron-label", text: `out ${n}` }));
    }
  });
  const describe = (/** @type {typeof drawn[number]} */ l, /** @type {boolean} */ isFirst) =>
    l.topk
      ? `top ${DIAGRAM_TOPK} edges (largest |w|) per output${isFirst ? `; ${firstUsed.length} of ${l.shape[0]} inputs drawn` : ""}`
      : `all ${l.edges.length} non-zero edges`;
  const caption = stacked
    ? `${drawn.length} consecutive dense layers (${drawn.map((l) => l.name).join(" → ")}): ` +
      drawn.map((l, j) => `${l.name} ${describe(l, j === 0)}`).join("; ") +
      ". Thickness ∝ |w| within each layer; red positive, blue negative."
    : `${capitalise(describe(first, true))}. Thickness ∝ |w|; red positive, blue negative.`;
  box.append(el("p", { class: "weights-note weights-circuit-caption", text: caption }), diagram);
  box.dataset.edges = String(drawn[layers.indexOf(shown)].edges.length);
  box.dataset.layers = String(drawn.length);
}

/** @param {string} s */
const capitalise = (s) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * The layer paths of a run in model order, from its model summary, or null.
 * @param {import("../../api.js").Api} api @param {string} run
 * @param {Object<string, import("../../api.js").TagInfo>} infos
 * @returns {Promise<string[]|null>}
 */
async function modelLayerOrder(api, run, infos) {
  const tag = Object.keys(infos).find((t) => infos[t] && !infos[t].error && infos[t].kind === "model_summary");
  if (!tag) return null;
  const { steps } = await api.steps(run, tag);
  if (!steps.length) return null;
  const doc = await api.modelSummary(run, tag, Math.max(...steps));
  return doc && Array.isArray(doc.layers) ? doc.layers.map((/** @type {any} */ l) => String(l.path)) : null;
}

/**
 * The dense kernel among a layer's weights tags (`shown` when it is one of
 * them), or null when the layer is not a dense layer.
 * @param {string[]} tags @param {Object<string, any>} infos @param {string} shown
 */
function denseKernel(tags, infos, shown) {
  if (tags.includes(shown)) return shown;
  const matrices = tags.filter((t) => (infos[t].shape || []).length === 2);
  if (matrices.length !== 1) return null;
  const cls = infos[matrices[0]].layer_class;
  return !cls || /dense|linear/i.test(String(cls)) ? matrices[0] : null;
}

/**
 * The consecutive dense kernels around `tag` in its run (see WeightsView._denseStack).
 * @param {import("../../api.js").Api} api
 * @param {string} run @param {string} tag @param {any} info
 * @param {Object<string, import("../../api.js").TagInfo>|null} runTags
 * @returns {Promise<Array<{tag: string, info: any}>>}
 */
export async function findDenseStack(api, run, tag, info, runTags) {
  const infos = /** @type {Object<string, any>} */ (runTags || (await api.tags())[run] || {});
  const self = [{ tag, info }];
  const layerOf = (/** @type {string} */ t) => String(infos[t].layer || t);
  /** @type {Map<string, string[]>} layer path -> its weights tags, in listing order */
  const byLayer = new Map();
  for (const t of Object.keys(infos)) {
    if (!infos[t] || infos[t].error || infos[t].kind !== "weights") continue;
    byLayer.set(layerOf(t), [...(byLayer.get(layerOf(t)) || []), t]);
  }
  if (!infos[tag]) return self;
  let order = null;
  try {
    order = await modelLayerOrder(api, run, infos);
  } catch (_) {
    order = null;
  }
  if (!order || !order.includes(layerOf(tag))) order = [...byLayer.keys()];
  const seq = order.filter((l) => byLayer.has(l)).map((l) => denseKernel(/** @type {string[]} */ (byLayer.get(l)), infos, tag));
  const at = seq.indexOf(tag);
  const shapeOf = (/** @type {string} */ t) => /** @type {number[]} */ (infos[t].shape || []);
  const fits = (/** @type {string|null} */ t) =>
    t !== null && shapeOf(t).length === 2 && shapeOf(t)[0] <= DIAGRAM_MAX_SIDE * 4 && shapeOf(t)[1] <= DIAGRAM_MAX_SIDE;
  if (at < 0 || !fits(tag)) return self;
  const chains = (/** @type {string} */ a, /** @type {string} */ b) => shapeOf(a)[1] === shapeOf(b)[0];
  let lo = at;
  let hi = at;
  while (hi - lo + 1 < DIAGRAM_MAX_LAYERS) {
    if (hi + 1 < seq.length && fits(seq[hi + 1]) && chains(/** @type {string} */ (seq[hi]), /** @type {string} */ (seq[hi + 1]))) hi++;
    else if (lo > 0 && fits(seq[lo - 1]) && chains(/** @type {string} */ (seq[lo - 1]), /** @type {string} */ (seq[lo]))) lo--;
    else break;
  }
  return seq.slice(lo, hi + 1).map((t) => ({ tag: /** @type {string} */ (t), info: t === tag ? info : infos[/** @type {string} */ (t)] }));
}

