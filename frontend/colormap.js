/**
 * Colour maps as 256-entry lookup tables.
 *
 * `SEQUENTIAL` is viridis (perceptually uniform, CIE L* rising from ~15 to
 * ~91, readable in greyscale and by most colour-blind viewers), for
 * activations and attention. `DIVERGING` is Moreland's cool-warm, centred on
 * zero, for signed values (weights, differences): use it with
 * `symmetricRange`. Both come from their published tables
 * (colormap_tables.js); mirror positions of cool-warm have equal lightness
 * (|ΔL*| < 0.5), so neither sign looks stronger. (The hand-made maps they
 * replace: "ember", and a blue-white-red whose red side was up to 4.8 L*
 * brighter than its blue side.)
 *
 * Non-finite values get colours that no map contains (each map names its
 * own): on viridis NaN is magenta, +Inf orange-red, -Inf cyan; on cool-warm
 * NaN is green, +Inf yellow, -Inf purple.
 */

import { COOLWARM, VIRIDIS } from "./colormap_tables.js";

/** @typedef {[number, number, number]} RGB */

/**
 * @typedef {Object} ColormapSpec
 * @property {string} name
 * @property {Array<[number, string]>} [stops] control points: position in [0, 1] and "#rrggbb", ascending
 * @property {string} [table] 256 "rrggbb" entries (a published map); used instead of `stops`
 * @property {string} nan colour of NaN
 * @property {string} posInf colour of +Inf
 * @property {string} negInf colour of -Inf
 */

/** @type {ColormapSpec} */
export const SEQUENTIAL_SPEC = Object.freeze({
  name: "viridis",
  table: VIRIDIS,
  nan: "#ff00ff",
  posInf: "#ff4d00",
  negInf: "#00e5ff",
});

/** @type {ColormapSpec} */
export const DIVERGING_SPEC = Object.freeze({
  name: "cool-warm",
  table: COOLWARM,
  nan: "#1fd17a",
  posInf: "#facc15",
  negInf: "#9333ea",
});

export const LUT_SIZE = 256;

/**
 * @param {string} hex "#rrggbb"
 * @returns {RGB}
 */
export function parseHex(hex) {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!match) throw new Error(`not a #rrggbb colour: ${hex}`);
  return [parseInt(match[1], 16), parseInt(match[2], 16), parseInt(match[3], 16)];
}

/** A colour map: a lookup table plus the non-finite colours. */
export class Colormap {
  /** @param {ColormapSpec} spec */
  constructor(spec) {
    const table = spec.table;
    const stops = table
      ? Array.from({ length: table.length / 6 }, (_, i) => /** @type {[number, RGB]} */ ([i / (table.length / 6 - 1), parseHex(`#${table.slice(6 * i, 6 * i + 6)}`)]))
      : /** @type {Array<[number, string]>} */ (spec.stops).map(([t, hex]) => /** @type {[number, RGB]} */ ([t, parseHex(hex)]));
    if (stops.length < 2 || stops[0][0] !== 0 || stops[stops.length - 1][0] !== 1) {
      throw new Error(`colour map ${spec.name}: stops must run from 0 to 1`);
    }
    this.name = spec.name;
    this.spec = spec;
    /** @private */
    this._stops = stops;
    /** RGBA entries; entry i is the colour at t = i / 255. */
    this.lut = new Uint8ClampedArray(LUT_SIZE * 4);
    for (let i = 0; i < LUT_SIZE; i++) {
      const [r, g, b] = this.interpolate(i / (LUT_SIZE - 1));
      this.lut.set([Math.round(r), Math.round(g), Math.round(b), 255], i * 4);
    }
    /** @type {RGB} */ this.nan = parseHex(spec.nan);
    /** @type {RGB} */ this.posInf = parseHex(spec.posInf);
    /** @type {RGB} */ this.negInf = parseHex(spec.negInf);
  }

  /**
   * The exact (unrounded) colour at position t, clamped to [0, 1].
   * @param {number} t
   * @returns {RGB}
   */
  interpolate(t) {
    const stops = this._stops;
    const u = Math.min(1, Math.max(0, t));
    for (let k = 1; k < stops.length; k++) {
      const [t1, c1] = stops[k];
      if (u <= t1) {
        const [t0, c0] = stops[k - 1];
        const f = t1 > t0 ? (u - t0) / (t1 - t0) : 0;
        return [0, 1, 2].map((j) => c0[j] + (c1[j] - c0[j]) * f);
      }
    }
    return stops[stops.length - 1][1].slice();
  }

  /**
   * The lookup-table index for position t (nearest entry).
   * @param {number} t
   */
  index(t) {
    const i = Math.round(t * (LUT_SIZE - 1));
    return i < 0 ? 0 : i > LUT_SIZE - 1 ? LUT_SIZE - 1 : i;
  }

  /**
   * The painted colour of `value` in the range [lo, hi]: the LUT entry, or a
   * non-finite colour. A degenerate range (hi <= lo) paints the middle entry.
   * @param {number} value
   * @param {number} lo
   * @param {number} hi
   * @returns {RGB}
   */
  colourOf(value, lo, hi) {
    if (Number.isNaN(value)) return this.nan;
    if (value === Infinity) return this.posInf;
    if (value === -Infinity) return this.negInf;
    const i = this.index(hi > lo ? (value - lo) / (hi - lo) : 0.5) * 4;
    return [this.lut[i], this.lut[i + 1], this.lut[i + 2]];
  }
}

/** @param {RGB} rgb */
export function cssColour(rgb) {
  return `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
}

/**
 * A range symmetric about zero that covers [lo, hi], for the diverging map.
 * @param {number} lo
 * @param {number} hi
 * @returns {[number, number]}
 */
export function symmetricRange(lo, hi) {
  const m = Math.max(Math.abs(lo), Math.abs(hi));
  return [-m, m];
}

export const SEQUENTIAL = new Colormap(SEQUENTIAL_SPEC);
export const DIVERGING = new Colormap(DIVERGING_SPEC);
