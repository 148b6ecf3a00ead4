/**
 * Canvas heatmaps: values painted one canvas pixel per value (native
 * resolution), upscaled by CSS with `image-rendering: pixelated`, plus
 * hover hit-testing from pointer position back to (row, col) and the flat
 * index into the tensor.
 */

import { el, clear } from "./dom.js";
import { cellAt, CellCursor } from "./cell_cursor.js";

/**
 * Where the pixel (row, col) of a heatmap reads from, as strides into the
 * tensor's flat C-order values, and which colour-scale channel it uses.
 * @typedef {Object} Grid
 * @property {number} rows
 * @property {number} cols
 * @property {number} offset flat index of pixel (0, 0)
 * @property {number} rowStride
 * @property {number} colStride
 * @property {number} [channelOffset] colour-scale channel of pixel (0, 0) (default 0)
 * @property {number} [channelRowStride] (default 0)
 * @property {number} [channelColStride] (default 0)
 */

/**
 * Per-channel colour ranges: channel c maps [lo[c], hi[c]] onto the map.
 * @typedef {{lo: ArrayLike<number>, hi: ArrayLike<number>}} Scale
 */

/**
 * @typedef {Object} Hit
 * @property {number} row
 * @property {number} col
 * @property {number} index flat index into the tensor
 * @property {number} channel colour-scale channel
 */

/** @param {Grid} grid @param {number} row @param {number} col */
export function gridIndex(grid, row, col) {
  return grid.offset + row * grid.rowStride + col * grid.colStride;
}

/** @param {Grid} grid @param {number} row @param {number} col */
export function gridChannel(grid, row, col) {
  return (grid.channelOffset || 0) + row * (grid.channelRowStride || 0) + col * (grid.channelColStride || 0);
}

/**
 * Paints `grid` of `values` into `ctx` at native resolution.
 * @param {CanvasRenderingContext2D} ctx
 * @param {Float32Array} values
 * @param {Grid} grid
 * @param {Scale} scale
 * @param {import("./colormap.js").Colormap} colormap
 */
export function paintGrid(ctx, values, grid, scale, colormap) {
  const { rows, cols, rowStride, colStride } = grid;
  if (rows === 0 || cols === 0) return;
  const image = ctx.createImageData(cols, rows);
  const out = image.data;
  const lut = colormap.lut;
  const last = lut.length / 4 - 1;
  const nan = colormap.nan;
  const posInf = colormap.posInf;
  const negInf = colormap.negInf;
  const chRow = grid.channelRowStride || 0;
  const chCol = grid.channelColStride || 0;
  let p = 0;
  for (let r = 0; r < rows; r++) {
    let index = grid.offset + r * rowStride;
    let channel = (grid.channelOffset || 0) + r * chRow;
    for (let c = 0; c < cols; c++, index += colStride, channel += chCol, p += 4) {
      const v = values[index];
      /** @type {ArrayLike<number>} */
      let rgb;
      let o = 0;
      if (v !== v) rgb = nan;
      else if (v === Infinity) rgb = posInf;
      else if (v === -Infinity) rgb = negInf;
      else {
        const lo = scale.lo[channel];
        const hi = scale.hi[channel];
        let k = hi > lo ? Math.round(((v - lo) / (hi - lo)) * last) : last >> 1;
        k = k < 0 ? 0 : k > last ? last : k;
        rgb = lut;
        o = k * 4;
      }
      out[p] = rgb[o];
      out[p + 1] = rgb[o + 1];
      out[p + 2] = rgb[o + 2];
      out[p + 3] = 255;
    }
  }
  ctx.putImageData(image, 0, 0);
}

/** One heatmap: a canvas in a figure with an optional caption. */
export class Heatmap {
  /**
   * @param {{grid: Grid, cellWidth: number, cellHeight: number, caption?: string,
   *          label?: string, className?: string}} options
   *   cell sizes are CSS pixels per value; `label` is the canvas's accessible name.
   */
  constructor({ grid, cellWidth, cellHeight, caption, label, className }) {
    this.grid = grid;
    this.canvas = el("canvas", {
      class: "hm-canvas",
      width: grid.cols,
      height: grid.rows,
      role: "img",
      tabindex: "0",
      "aria-label": `${label || caption || "heatmap"} (arrow keys move a cell cursor)`,
    });
    // Its width, and the cells' shape: the height follows (CSS height: auto), also when the
    // canvas shrinks to its column (CSS max-width).
    this.canvas.style.width = `${grid.cols * cellWidth}px`;
    this.canvas.style.aspectRatio = `${grid.cols * cellWidth} / ${grid.rows * cellHeight}`;
    this.caption = caption === undefined ? null : el("figcaption", { class: "hm-caption", text: caption });
    /** @private */
    this._cellWidth = cellWidth;
    /** @private */
    this._cellHeight = cellHeight;
    /** @private */
    this._marker = el("div", { class: "hm-marker", hidden: true, "aria-hidden": "true" });
    /** @private the hovered cell's outline */
    this._cursor = el("div", { class: "hm-cursor", hidden: true, "aria-hidden": "true" });
    this._cursor.style.width = `${100 / Math.max(1, grid.cols)}%`;
    this._cursor.style.height = `${100 / Math.max(1, grid.rows)}%`;
    this.frame = el("div", { class: "hm-frame" }, [this.canvas, this._marker, this._cursor]);
    this.element = el("figure", { class: className ? `hm ${className}` : "hm" }, [this.frame, this.caption]);
    /** @private */
    this._ctx = /** @type {CanvasRenderingContext2D} */ (this.canvas.getContext("2d", { alpha: false }));
    /** @private @type {((hit: Hit|null) => void)|null} */
    this._onHover = null;
    /** @private @type {HTMLElement|null} gutter of row marks, made on first use */
    this._rowMarks = null;
    /** @private the keyboard's cell cursor (cell_cursor.js), reading out like the pointer */
    this._keys = new CellCursor(this.canvas, {
      dims: () => this.grid,
      hover: (cell, keyboard) => this._hover(cell && this._hit(cell), keyboard),
    });
    this._listeners = [
      ["pointermove", (/** @type {PointerEvent} */ e) => this._hover(this.hitTest(e.clientX, e.clientY))],
      ["pointerleave", () => this._hover(null)],
    ];
    for (const [type, fn] of this._listeners) this.canvas.addEventListener(type, fn);
  }

  /**
   * @param {Float32Array} values
   * @param {Scale} scale
   * @param {import("./colormap.js").Colormap} colormap
   */
  paint(values, scale, colormap) {
    paintGrid(this._ctx, values, this.grid, scale, colormap);
  }

  /**
   * Repaints the cells whose flat index is not kept (e.g. pruned weights) in
   * one neutral colour that the colour map does not contain.
   * @param {Uint8Array} kept 1 = kept, per flat index
   * @param {[number, number, number]} rgb
   */
  maskCells(kept, rgb) {
    const { rows, cols } = this.grid;
    if (!rows || !cols) return;
    const image = this._ctx.getImageData(0, 0, cols, rows);
    const out = image.data;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        if (kept[gridIndex(this.grid, r, c)]) continue;
        const p = (r * cols + c) * 4;
        out[p] = rgb[0];
        out[p + 1] = rgb[1];
        out[p + 2] = rgb[2];
      }
    }
    this._ctx.putImageData(image, 0, 0);
  }

  /** @private @param {Hit|null} hit @param {boolean} [keyboard] */
  _hover(hit, keyboard = false) {
    // Outline the cell when cells are big enough to see one (always for the keyboard's cursor).
    const show = hit !== null && (keyboard || (this._cellWidth >= 4 && this._cellHeight >= 4));
    this._cursor.hidden = !show;
    if (show && hit) {
      this._cursor.style.left = `${(100 * hit.col) / this.grid.cols}%`;
      this._cursor.style.top = `${(100 * hit.row) / this.grid.rows}%`;
    }
    if (this._onHover) this._onHover(hit);
  }

  /** @param {((hit: Hit|null) => void)|null} callback */
  onHover(callback) {
    this._onHover = callback;
  }

  /**
   * The value under a viewport point, or null outside the canvas.
   * @param {number} clientX
   * @param {number} clientY
   * @returns {Hit|null}
   */
  hitTest(clientX, clientY) {
    const cell = cellAt(this.canvas, this.grid.rows, this.grid.cols, clientX, clientY);
    return cell && this._hit(cell);
  }

  /** @private @param {{row: number, col: number}} cell @returns {Hit} */
  _hit(cell) {
    return { ...cell, index: gridIndex(this.grid, cell.row, cell.col), channel: gridChannel(this.grid, cell.row, cell.col) };
  }

  /**
   * Outlines one column (e.g. the chosen sample), or none.
   * @param {number|null} col
   */
  markColumn(col) {
    const show = col !== null && col >= 0 && col < this.grid.cols;
    this._marker.hidden = !show;
    if (show) {
      this._marker.style.left = `${(100 * col) / this.grid.cols}%`;
      this._marker.style.width = `${100 / this.grid.cols}%`;
    }
  }

  /**
   * Flags the whole heatmap (e.g. the feature map of a dead channel), or clears the flag.
   * @param {"dead"|"saturated"|null} kind
   */
  setFlag(kind) {
    this.element.classList.toggle("hm-flag-dead", kind === "dead");
    this.element.classList.toggle("hm-flag-saturated", kind === "saturated");
  }

  /**
   * Ticks in a gutter beside the given rows (e.g. dead units of a dense
   * layer), on the left or right edge; an empty list removes them.
   * @param {Array<{row: number, kind: string}>} rows
   * @param {"left"|"right"} [side]
   */
  markRows(rows, side = "left") {
    if (!this._rowMarks) {
      this._rowMarks = el("div", { class: `hm-rowmarks hm-rowmarks-${side}`, "aria-hidden": "true" });
      this.frame.append(this._rowMarks);
    }
    clear(this._rowMarks);
    const h = this._cellHeight;
    for (const { row, kind } of rows) {
      if (row < 0 || row >= this.grid.rows) continue;
      const tick = el("div", { class: `hm-rowmark hm-rowmark-${kind}` });
      tick.style.top = `${(100 * row) / this.grid.rows}%`;
      tick.style.height = h >= 4 ? `calc(${100 / this.grid.rows}% - 1px)` : `${Math.max(1, h)}px`;
      this._rowMarks.append(tick);
    }
    this._rowMarks.hidden = rows.length === 0;
  }

  /** @param {boolean} on */
  setHighlighted(on) {
    this.element.classList.toggle("hm-active", on);
  }

  destroy() {
    for (const [type, fn] of this._listeners) this.canvas.removeEventListener(type, fn);
    this._keys.destroy();
    this._onHover = null;
    this.element.remove();
  }
}
