/**
 * The class statistics view's two matrices (views/class_stats/view.js): the
 * confusion matrix of a step, and the cosine similarity of the class means
 * in one layer, as SVG; and the colour bars their legends use. Hovering a
 * cell reads it out; clicking one opens that pair of classes.
 */

import { SEQUENTIAL, cssColour, LUT_SIZE } from "../../colormap.js";
import { clear, el, svg } from "../../dom.js";
import { formatTick, formatValue } from "../../format.js";
import { cellSize, nameOf, percent, permute, rowRates, validOrder } from "./math.js";

/** @typedef {{set: (value: string|null, where?: string) => void}} Readout the view's read-out */

const MATRIX_WIDTH = 380;
const LABEL_PX = 64;

/** A colour bar of a map with its end labels. @param {import("../../colormap.js").Colormap} map @param {string} lo @param {string} hi @param {string} name */
export function colourBar(map, lo, hi, name) {
  const bar = el("canvas", { class: "cm-legend-bar", width: LUT_SIZE, height: 1, "aria-hidden": "true" });
  const ctx = /** @type {CanvasRenderingContext2D} */ (bar.getContext("2d"));
  const image = ctx.createImageData(LUT_SIZE, 1);
  image.data.set(map.lut);
  ctx.putImageData(image, 0, 0);
  return el("div", { class: "cm-legend" }, [
    el("span", { class: "cm-legend-name", text: name }),
    el("span", { class: "cm-legend-tick", text: lo }),
    bar,
    el("span", { class: "cm-legend-tick", text: hi }),
  ]);
}

/**
 * The confusion matrix of a step into `box`: rows the true class, columns the predicted one,
 * coloured by the row-normalised rate; counts in the cells when they fit; the open pair outlined.
 * @param {HTMLElement} box @param {{doc: any, pair: {a: number, b: number}|null, readout: Readout,
 *   onPick: (a: number, b: number) => void}} what onPick: a cell clicked (or Enter on it)
 */
export function renderMatrix(box, { doc, pair, readout, onPick }) {
  const k = doc.classes;
  const rates = rowRates(doc.confusion);
  const cell = cellSize(k, MATRIX_WIDTH);
  const size = cell * k;
  const width = LABEL_PX + size + 4;
  const height = LABEL_PX + size + 4;
  const root = svg("svg", { class: "cm-svg", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "confusion matrix" });
  const cells = svg("g", { class: "cm-cells", transform: `translate(${LABEL_PX},${LABEL_PX})` });
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < k; b++) {
      const count = doc.confusion[a][b];
      const rate = rates[a][b];
      const rgb = rate === null ? SEQUENTIAL.nan : SEQUENTIAL.colourOf(rate, 0, 1);
      const rect = svg("rect", {
        class: `cm-cell${a === b ? " cm-diag" : ""}`,
        x: b * cell,
        y: a * cell,
        width: cell,
        height: cell,
        fill: cssColour(rgb),
        dataset: { a: String(a), b: String(b), count: String(count), rate: rate === null ? "" : String(rate) },
        tabindex: k <= 20 ? "0" : null,
      });
      const describe = () =>
        readout.set(
          `${count} of ${doc.confusion[a].reduce((s, v) => s + v, 0)} (${percent(rate)})`,
          `true ${nameOf(doc, a)} → predicted ${nameOf(doc, b)}`
        );
      rect.addEventListener("pointerenter", describe);
      rect.addEventListener("focus", describe);
      rect.addEventListener("click", () => onPick(a, b));
      rect.addEventListener("keydown", (e) => {
        if (/** @type {KeyboardEvent} */ (e).key === "Enter") onPick(a, b);
      });
      cells.append(rect);
      if (cell >= 22 && count > 0) {
        cells.append(
          svg("text", { class: `cm-count${rate !== null && rate > 0.6 ? " cm-count-dark" : ""}`, x: b * cell + cell / 2, y: a * cell + cell / 2 + 4 }, [
            String(count),
          ])
        );
      }
    }
  }
  if (pair) {
    cells.append(svg("rect", { class: "cm-selected", x: pair.b * cell, y: pair.a * cell, width: cell, height: cell }));
  }
  cells.addEventListener("pointerleave", () => readout.set(null));
  root.append(cells, ...axisLabels(k, cell, (i) => nameOf(doc, i)));
  root.append(
    svg("text", { class: "cm-axis-title", x: LABEL_PX + size / 2, y: 10 }, ["predicted class"]),
    svg("text", { class: "cm-axis-title", x: 10, y: LABEL_PX + size / 2, transform: `rotate(-90 10 ${LABEL_PX + size / 2})` }, ["true class"])
  );
  clear(box);
  box.append(el("h3", { class: "cm-title", text: "Confusion matrix" }), root);
}

/**
 * Row labels at the left, column labels above (rotated); every few when the cells are small.
 * @param {number} k @param {number} cell @param {(i: number) => string} label
 */
function axisLabels(k, cell, label) {
  const out = [];
  const fits = cell >= 10;
  for (let i = 0; i < k; i++) {
    if (!fits && i % Math.ceil(10 / cell) !== 0) continue;
    const text = label(i);
    out.push(svg("text", { class: "cm-label cm-row-label", x: LABEL_PX - 4, y: LABEL_PX + i * cell + cell / 2 + 4 }, [text]));
    const cx = LABEL_PX + i * cell + cell / 2;
    out.push(svg("text", { class: "cm-label cm-col-label", x: cx, y: LABEL_PX - 4, transform: `rotate(-50 ${cx} ${LABEL_PX - 4})` }, [text]));
  }
  return out;
}

/**
 * The class x class cosine similarity of one layer's class means into `box`, rows and columns in
 * the layer's clustering order, with a select of the layer.
 * @param {HTMLElement} box @param {{doc: any, layerIndex: number, readout: Readout,
 *   onPick: (a: number, b: number) => void, onLayer: (index: number) => void}} what layerIndex:
 *   the layer shown (valid); onPick: a pair of classes clicked; onLayer: another layer chosen
 */
export function renderSimilarity(box, { doc, layerIndex, readout, onPick, onLayer }) {
  clear(box);
  const layers = doc.layers || [];
  if (!layers.length) return;
  const layer = layers[layerIndex];
  const k = doc.classes;
  const order = validOrder(layer.order, k);
  const matrix = permute(layer.similarity, order);
  // Colour over this layer's range of off-diagonal cosines up to 1 (named in the legend below).
  let lo = 1;
  layer.similarity.forEach((/** @type {Array<number|null>} */ row, i) =>
    row.forEach((v, j) => {
      if (i !== j && v !== null && Number.isFinite(v) && v < lo) lo = v;
    })
  );
  if (!(lo < 1)) lo = 0;
  const cell = cellSize(k, MATRIX_WIDTH - 60);
  const size = cell * k;
  const width = LABEL_PX + size + 4;
  const root = svg("svg", { class: "cm-svg cm-sim-svg", width, height: width, viewBox: `0 0 ${width} ${width}`, role: "img", "aria-label": "class similarity" });
  const cells = svg("g", { transform: `translate(${LABEL_PX},${LABEL_PX})` });
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const v = matrix[i][j];
      const a = order[i];
      const b = order[j];
      const rect = svg("rect", {
        class: "cm-sim-cell",
        x: j * cell,
        y: i * cell,
        width: cell,
        height: cell,
        fill: cssColour(v === null ? SEQUENTIAL.nan : SEQUENTIAL.colourOf(v, lo, 1)),
        dataset: { a: String(a), b: String(b), value: v === null ? "" : String(v) },
      });
      rect.addEventListener("pointerenter", () =>
        readout.set(
          v === null ? "undefined (no mean)" : `cosine ${formatValue(v)}`,
          `${nameOf(doc, a)} · ${nameOf(doc, b)} in ${layer.path}`
        )
      );
      if (a !== b) rect.addEventListener("click", () => onPick(a, b));
      cells.append(rect);
    }
  }
  cells.addEventListener("pointerleave", () => readout.set(null));
  root.append(cells, ...axisLabels(k, cell, (i) => nameOf(doc, order[i])));
  const select = el("select", {
    class: "cm-layer-select",
    "aria-label": "layer of the similarity heatmap",
    onchange: () => onLayer(Number(select.value)),
  });
  layers.forEach((/** @type {any} */ l, i) => {
    const option = el("option", { text: l.path });
    option.value = String(i);
    select.append(option);
  });
  select.value = String(layerIndex);
  box.append(
    el("h3", { class: "cm-title" }, ["Class similarity in ", select]),
    colourBar(SEQUENTIAL, formatTick(lo), "1", "Colour: cosine similarity, from this layer's least similar pair to 1"),
    root,
    el("p", {
      class: "cm-note cm-order",
      text:
        `Cosine similarity of the class means in ${layer.path}; rows and columns in the order of average-linkage ` +
        `clustering on 1 − cosine, so similar classes sit together: ${order.map((i) => nameOf(doc, i)).join(", ")}.`,
    })
  );
}
