/**
 * The detail of one pair of classes in the class statistics view (true A,
 * predicted B; views/class_stats/view.js): the layer-by-layer separability
 * of A and B as SVG charts (pairwise Fisher ratio and nearest-class-mean
 * accuracy: where the classes part or fail to), the class-mean profiles of
 * A and B and their difference per layer (dense layers: unit strips; conv
 * layers: channel bars of the spatial means), and the evaluation samples of
 * A predicted as B with their inputs.
 */

import { niceTicks } from "../../charts/scales.js";
import { DIVERGING, SEQUENTIAL } from "../../colormap.js";
import { clear, el, svg } from "../../dom.js";
import { formatTick, formatValue } from "../../format.js";
import { colourBar } from "./matrices.js";
import { absMax, nameOf, percent, profileRange, shownSamples, spread, yScale } from "./math.js";

/** @typedef {import("./matrices.js").Readout} Readout */

const MAX_SAMPLES = 48;
const STRIP_WIDTH = 520;

/**
 * The detail of a pair of classes (`/class_pair`) into `box`: where along the network they part,
 * their class-mean profiles layer by layer, and the samples of A predicted as B.
 * @param {HTMLElement} box @param {{doc: any, pair: any, thumbs: any, readout: Readout}} what
 *   doc: the step's class statistics; thumbs: the evaluation samples' inputs (null: none logged)
 */
export function renderPair(box, { doc, pair, thumbs, readout }) {
  const A = nameOf(doc, pair.a);
  const B = nameOf(doc, pair.b);
  clear(box);
  const nA = pair.class_counts[0];
  box.append(
    el("h3", { class: "cm-pair-title", text: pair.a === pair.b ? `Class ${A}: correctly predicted ${pair.count} of ${nA}` : `True ${A} predicted as ${B}: ${pair.count} of ${nA} (${percent(nA ? pair.count / nA : null)})` }),
    el("div", { class: "cm-key" }, [
      el("span", { class: "cm-key-a" }, [el("span", { class: "cm-swatch cm-swatch-a" }), `A = ${A} (${nA} samples)`]),
      el("span", { class: "cm-key-b" }, [el("span", { class: "cm-swatch cm-swatch-b" }), `B = ${B} (${pair.class_counts[1]} samples)`]),
    ])
  );
  if (pair.a !== pair.b) box.append(separability(pair, A, B, readout));
  box.append(profiles(pair, A, B, readout));
  if (pair.a !== pair.b) box.append(samples(pair, thumbs, A, B));
}

/** The layer-by-layer separability of A vs B: two SVG line charts over the layers. */
function separability(pair, A, B, readout) {
  const layers = pair.layers;
  const box = el("div", { class: "cm-sep" }, [el("h4", { class: "cm-subtitle", text: `Where along the network ${A} and ${B} part` })]);
  const charts = el("div", { class: "cm-sep-charts" });
  const specs = [
    { key: "fisher", title: `Fisher ratio ${A} vs ${B} (between- over within-class variance)`, values: layers.map((l) => l.pair_fisher), lo: 0, hi: null, fmt: formatTick },
    { key: "ncm", title: `Nearest-class-mean accuracy ${A} vs ${B} (50% = no separation)`, values: layers.map((l) => l.pair_ncm_accuracy), lo: 0.4, hi: 1, fmt: (v) => `${Math.round(v * 100)}%` },
  ];
  for (const spec of specs) {
    if (spec.values.every((v) => v === null)) continue;
    const W = 340;
    const H = 150;
    const left = 44;
    const right = W - 10;
    const top = 10;
    const bottom = H - 40;
    const finite = spec.values.filter((v) => v !== null && Number.isFinite(v));
    const hi = spec.hi === null ? Math.max(1e-9, ...finite) : spec.hi;
    const lo = Math.min(spec.lo, ...finite);
    const ticks = niceTicks(lo, hi, 4).filter((t) => t >= lo - 1e-12 && t <= hi * 1.0000001 + 1e-12);
    const y = yScale(ticks.length ? Math.min(lo, ticks[0]) : lo, hi, top, bottom);
    const xs = spread(layers.length, left + 10, right - 10);
    const root = svg("svg", { class: `cm-sep-svg cm-sep-${spec.key}`, width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": spec.title });
    for (const t of ticks) {
      root.append(svg("line", { class: "cm-grid", x1: left, x2: right, y1: y(t), y2: y(t) }));
      root.append(svg("text", { class: "cm-tick", x: left - 4, y: y(t) + 3 }, [spec.fmt(t)]));
    }
    const points = spec.values.map((v, i) => (v === null ? null : [xs[i], y(v)]));
    const d = points.filter(Boolean).map((p, i) => `${i ? "L" : "M"}${p[0].toFixed(1)},${p[1].toFixed(1)}`).join(" ");
    root.append(svg("path", { class: "cm-line", d }));
    spec.values.forEach((v, i) => {
      const label = layers[i].path;
      root.append(svg("text", { class: "cm-xlabel", x: xs[i], y: bottom + 14, transform: `rotate(20 ${xs[i]} ${bottom + 14})` }, [label.length > 14 ? label.slice(0, 13) + "…" : label]));
      if (v === null) return;
      const dot = svg("circle", { class: "cm-dot", cx: xs[i], cy: y(v), r: 4, dataset: { layer: label, value: String(v) } });
      dot.addEventListener("pointerenter", () => readout.set(spec.fmt === formatTick ? formatValue(v) : percent(v), `${spec.title.split(" (")[0]} in ${label}`));
      dot.addEventListener("pointerleave", () => readout.set(null));
      root.append(dot);
    });
    charts.append(el("figure", { class: "cm-chart" }, [el("figcaption", { class: "cm-chart-title", text: spec.title }), root]));
  }
  box.append(charts);
  return box;
}

/** Per layer the class-mean profiles of A and B and their difference. */
function profiles(pair, A, B, readout) {
  const box = el("div", { class: "cm-profiles" }, [
    el("h4", { class: "cm-subtitle", text: `Class-mean profiles of ${A} and ${B}, layer by layer` }),
    el("div", { class: "cm-legends" }, [
      colourBar(SEQUENTIAL, "lo", "hi", "Unit strips: class mean, over the layer's range of both means (named per layer)"),
      colourBar(DIVERGING, "−m", "+m", "A − B, symmetric (±m named per layer)"),
    ]),
  ]);
  for (const layer of pair.layers) {
    const conv = layer.reduction === "spatial_mean";
    const [lo, hi] = profileRange(layer.mean_a, layer.mean_b);
    const m = absMax(layer.difference);
    const row = el("div", { class: "cm-profile", dataset: { layer: layer.path } }, [
      el("div", { class: "cm-profile-head" }, [
        el("span", { class: "cm-profile-name", text: layer.path }),
        el("span", {
          class: "cm-note",
          text:
            `${layer.units} ${conv ? "channels (means over space)" : "units"} · cosine ${formatValue(layer.similarity)}` +
            ` · means ${formatTick(lo)} … ${formatTick(hi)} · A − B ±${formatTick(m)}`,
        }),
      ]),
    ]);
    if (conv) row.append(bars(layer, lo, hi, m, A, B, readout));
    else {
      row.append(
        strip(readout, layer, "mean_a", `mean ${A}`, SEQUENTIAL, lo, hi),
        strip(readout, layer, "mean_b", `mean ${B}`, SEQUENTIAL, lo, hi),
        strip(readout, layer, "difference", `${A} − ${B}`, DIVERGING, -m, m)
      );
    }
    box.append(row);
  }
  return box;
}

/** One unit strip: a canvas of one pixel per unit, scaled up. */
function strip(readout, layer, key, label, map, lo, hi) {
  const values = layer[key] || [];
  const n = Math.max(1, values.length);
  const canvas = el("canvas", {
    class: `cm-strip cm-strip-${key}`,
    width: n,
    height: 1,
    dataset: { lo: String(lo), hi: String(hi) },
    style: { width: `${Math.min(STRIP_WIDTH, Math.max(n * 10, 200))}px` },
  });
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
  const image = ctx.createImageData(n, 1);
  values.forEach((v, i) => {
    const rgb = v === null ? map.nan : map.colourOf(v, lo, hi);
    image.data.set([rgb[0], rgb[1], rgb[2], 255], i * 4);
  });
  ctx.putImageData(image, 0, 0);
  canvas.addEventListener("pointermove", (e) => {
    const rect = canvas.getBoundingClientRect();
    const u = Math.min(n - 1, Math.max(0, Math.floor(((/** @type {PointerEvent} */ (e).clientX - rect.left) / rect.width) * n)));
    readout.set(
      `${formatValue(layer.mean_a[u])} vs ${formatValue(layer.mean_b[u])} (A − B ${formatValue(layer.difference ? layer.difference[u] : null)})`,
      `unit ${u} of ${layer.path}: mean of A vs mean of B`
    );
  });
  canvas.addEventListener("pointerleave", () => readout.set(null));
  return el("div", { class: "cm-strip-row" }, [el("span", { class: "cm-strip-label", text: label }), canvas]);
}

/** Conv layers: per channel a bar for A and B, and the difference below. */
function bars(layer, lo, hi, m, A, B, readout) {
  const n = layer.units;
  const W = Math.min(STRIP_WIDTH + 60, Math.max(200, n * 14 + 50));
  const left = 40;
  const plotW = W - left - 6;
  const slot = plotW / Math.max(1, n);
  const H = 150;
  const y1 = yScale(Math.min(0, lo), Math.max(0, hi), 8, 80);
  const y2 = yScale(-m, m, 92, 142);
  const root = svg("svg", { class: "cm-bars", width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `channel means of ${A} and ${B} in ${layer.path}` });
  root.append(
    svg("line", { class: "cm-axis", x1: left, x2: W - 6, y1: y1(0), y2: y1(0) }),
    svg("line", { class: "cm-axis", x1: left, x2: W - 6, y1: y2(0), y2: y2(0) }),
    svg("text", { class: "cm-tick", x: left - 4, y: y1(Math.max(0, hi)) + 4 }, [formatTick(Math.max(0, hi))]),
    svg("text", { class: "cm-tick", x: left - 4, y: y1(Math.min(0, lo)) + 4 }, [formatTick(Math.min(0, lo))]),
    svg("text", { class: "cm-tick", x: left - 4, y: y2(0) + 4 }, ["A−B"])
  );
  for (let c = 0; c < n; c++) {
    const x = left + c * slot;
    const bw = Math.max(1, slot / 2 - 1);
    const bars = [
      ["a", layer.mean_a[c], x + 0.5, y1],
      ["b", layer.mean_b[c], x + 0.5 + bw, y1],
      ["diff", layer.difference ? layer.difference[c] : null, x + slot / 4, y2],
    ];
    for (const [cls, v, bx, y] of bars) {
      if (v === null || v === undefined) continue;
      const yv = /** @type {(v: number) => number} */ (y)(/** @type {number} */ (v));
      const y0 = /** @type {(v: number) => number} */ (y)(0);
      const bar = svg("rect", {
        class: `cm-bar cm-bar-${cls}${cls === "diff" && /** @type {number} */ (v) < 0 ? " cm-bar-neg" : ""}`,
        x: bx,
        y: Math.min(yv, y0),
        width: bw,
        height: Math.max(0.5, Math.abs(yv - y0)),
        dataset: { channel: String(c), value: String(v) },
      });
      bar.addEventListener("pointerenter", () =>
        readout.set(
          `${formatValue(layer.mean_a[c])} vs ${formatValue(layer.mean_b[c])} (A − B ${formatValue(layer.difference ? layer.difference[c] : null)})`,
          `channel ${c} of ${layer.path}: spatial mean, class mean of A vs B`
        )
      );
      root.append(bar);
    }
  }
  root.addEventListener("pointerleave", () => readout.set(null));
  return root;
}

/** The samples of A predicted as B, with their inputs when logged. */
function samples(pair, thumbs, A, B) {
  const { shown, more } = shownSamples(pair.samples, MAX_SAMPLES);
  const box = el("div", { class: "cm-samples" }, [
    el("h4", { class: "cm-subtitle", text: `Evaluation samples of ${A} predicted as ${B} (${pair.samples.length})` }),
  ]);
  if (!pair.samples.length) {
    box.append(el("p", { class: "cm-note", text: "None at this step." }));
    return box;
  }
  const grid = el("div", { class: "cm-sample-grid" });
  for (const index of shown) {
    const figure = el("figure", { class: "cm-sample", dataset: { index: String(index) } });
    if (thumbs && thumbs.shape.length >= 3 && index < thumbs.shape[0]) figure.append(thumbnail(thumbs, index));
    figure.append(el("figcaption", { text: `#${index}` }));
    grid.append(figure);
  }
  box.append(grid);
  if (more) box.append(el("p", { class: "cm-note", text: `… and ${more} more` }));
  box.append(
    el("p", {
      class: "cm-note",
      text: thumbs ? "Inputs scaled to [0, 1] over the evaluation set; #: position in the evaluation samples." : "#: position in the evaluation samples (no input thumbnails were logged).",
    })
  );
  return box;
}

/** A sample's thumbnail on a canvas (grey or RGB, values in [0, 1] or [0, 255]). */
function thumbnail(thumbs, index) {
  const [, h, w] = thumbs.shape;
  const c = thumbs.shape.length === 4 ? thumbs.shape[3] : 1;
  const canvas = el("canvas", { class: "cm-thumb", width: w, height: h, style: { width: `${Math.max(40, w * 3)}px` } });
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
  const image = ctx.createImageData(w, h);
  const base = index * h * w * c;
  let max = 0;
  for (let i = 0; i < h * w * c; i++) max = Math.max(max, thumbs.values[base + i]);
  const scale = max > 1 ? 1 : 255;
  for (let p = 0; p < h * w; p++) {
    for (let k = 0; k < 3; k++) image.data[p * 4 + k] = Math.round(thumbs.values[base + p * c + (c === 3 ? k : 0)] * scale);
    image.data[p * 4 + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}
