/**
 * How a tensor of a given shape is shown: which heatmaps, which strides into
 * the flat values, and how big each cell is drawn. Pure functions of the
 * shape (no DOM), so every view and a future comparison view agree.
 *
 *   rank 0, 1        one vertical strip (values top to bottom)
 *   rank 2 [b, u]    "dense": the chosen sample's units as a strip, and a
 *                    units x samples heatmap (units top to bottom, one column
 *                    per sample, aligned with the strip)
 *   rank 3 [b, t, f] "sequence": the chosen sample's t x f heatmap
 *   rank 4 [b, h, w, c]  "maps": one h x w feature map per channel
 *   rank >= 5        "maps" with the middle axes collapsed into rows:
 *                    [b, d1..dk, w, c] -> (d1*..*dk) x w per channel
 */

/** @typedef {import("../../heatmap.js").Grid} Grid */

/**
 * @typedef {Object} Panel
 * @property {string} key stable id within the plan
 * @property {string} caption
 * @property {string} label accessible name
 * @property {number} cellWidth CSS px per value
 * @property {number} cellHeight CSS px per value
 * @property {(sample: number) => Grid} grid the grid for the chosen sample
 * @property {boolean} [samplesAcross] columns are samples (draw a marker on the chosen one)
 * @property {string} [group] "strip" | "matrix" | "map"
 */

/**
 * @typedef {Object} Plan
 * @property {"empty"|"strip"|"dense"|"sequence"|"maps"} kind
 * @property {number} batch samples to choose from (1 when there is no batch axis)
 * @property {string} summary one line describing the layout
 * @property {Panel[]} panels
 * @property {string[]} axisNames a name per axis, for the read-out
 * @property {string} channelNoun what the last axis holds ("channels", "units", ...), for the per-channel scale
 * @property {string} signature equal signatures share DOM
 */

/** @param {number} v @param {number} lo @param {number} hi */
const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

/** CSS px per value so that `n` values span about `target` px (integer when >= 1). */
function cellFor(n, target, max) {
  if (n <= 0) return 1;
  const raw = target / n;
  return raw >= 1 ? clamp(Math.floor(raw), 1, max) : raw;
}

/** @param {number[]} dims */
const product = (dims) => dims.reduce((a, b) => a * b, 1);

/**
 * @param {number[]} shape the decoded tensor's shape
 * @returns {Plan}
 */
export function planLayout(shape) {
  const rank = shape.length;
  const signature = `${rank}:${shape.join("x")}`;
  if (product(shape) === 0) {
    return {
      kind: "empty",
      batch: 1,
      summary: "empty tensor",
      panels: [],
      axisNames: shape.map((_, i) => `axis ${i}`),
      channelNoun: "channels",
      signature,
    };
  }
  if (rank <= 1) {
    const n = rank === 0 ? 1 : shape[0];
    const cell = rank === 0 ? 48 : cellFor(n, 480, 24);
    return {
      kind: "strip",
      batch: 1,
      summary: rank === 0 ? "a single value" : `${n} values, top to bottom`,
      axisNames: rank === 0 ? [] : ["unit"],
      channelNoun: "channels",
      signature,
      panels: [
        {
          key: "strip",
          group: "strip",
          caption: rank === 0 ? "value" : `values 0–${n - 1} ↓`,
          label: "values as a vertical strip",
          cellWidth: 40,
          cellHeight: cell,
          grid: () => ({ rows: n, cols: 1, offset: 0, rowStride: 1, colStride: 0 }),
        },
      ],
    };
  }
  const batch = shape[0];
  if (rank === 2) {
    const units = shape[1];
    const cellHeight = cellFor(units, 480, 24);
    return {
      kind: "dense",
      batch,
      summary: `${units} units per sample, top to bottom`,
      axisNames: ["sample", "unit"],
      channelNoun: "units",
      signature,
      panels: [
        {
          key: "strip",
          group: "strip",
          caption: `units 0–${units - 1} ↓`,
          label: "units of the chosen sample as a vertical strip",
          cellWidth: 40,
          cellHeight,
          grid: (s) => ({ rows: units, cols: 1, offset: s * units, rowStride: 1, colStride: 0, channelRowStride: 1 }),
        },
        {
          key: "matrix",
          group: "matrix",
          caption: `samples 0–${batch - 1} →`,
          label: "units by samples heatmap",
          cellWidth: cellFor(batch, 480, 40),
          cellHeight,
          samplesAcross: true,
          grid: () => ({ rows: units, cols: batch, offset: 0, rowStride: 1, colStride: units, channelRowStride: 1 }),
        },
      ],
    };
  }
  if (rank === 3) {
    const [, t, f] = shape;
    const cell = Math.min(cellFor(f, 720, 24), cellFor(t, 480, 24));
    return {
      kind: "sequence",
      batch,
      summary: `${t} positions (rows) × ${f} features (columns) per sample`,
      axisNames: ["sample", "position", "feature"],
      channelNoun: "features",
      signature,
      panels: [
        {
          key: "sequence",
          group: "matrix",
          caption: "positions ↓ · features →",
          label: "positions by features heatmap of the chosen sample",
          cellWidth: cell,
          cellHeight: cell,
          grid: (s) => ({ rows: t, cols: f, offset: s * t * f, rowStride: f, colStride: 1, channelColStride: 1 }),
        },
      ],
    };
  }
  const channels = shape[rank - 1];
  const width = shape[rank - 2];
  const height = product(shape.slice(1, rank - 2));
  const target = channels <= 4 ? 208 : channels <= 16 ? 144 : channels <= 64 ? 104 : 80;
  const cell = cellFor(Math.max(height, width), target, 64);
  const perSample = height * width * channels;
  const collapsed = rank > 4;
  const panels = [];
  for (let c = 0; c < channels; c++) {
    panels.push({
      key: `ch${c}`,
      group: "map",
      caption: `ch ${c}`,
      label: `feature map of channel ${c}`,
      cellWidth: cell,
      cellHeight: cell,
      grid: (s) => ({
        rows: height,
        cols: width,
        offset: s * perSample + c,
        rowStride: width * channels,
        colStride: channels,
        channelOffset: c,
      }),
    });
  }
  const middle = shape.slice(1, rank - 2).join(" × ");
  return {
    kind: "maps",
    batch,
    summary: collapsed
      ? `${channels} channels of ${height} × ${width} (axes ${middle} stacked into rows)`
      : `${channels} feature maps of ${height} × ${width}`,
    axisNames: collapsed
      ? ["sample", ...shape.slice(1, rank - 2).map((_, i) => `axis ${i + 1}`), "col", "channel"]
      : ["sample", "row", "col", "channel"],
    channelNoun: "channels",
    signature,
    panels,
  };
}

/**
 * The multi-index of flat index `index` in a C-order array of `shape`.
 * @param {number} index
 * @param {number[]} shape
 * @returns {number[]}
 */
export function unravel(index, shape) {
  const out = new Array(shape.length);
  let rest = index;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    out[axis] = rest % shape[axis];
    rest = Math.floor(rest / shape[axis]);
  }
  return out;
}
