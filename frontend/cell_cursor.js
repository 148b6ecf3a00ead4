/**
 * A keyboard cell cursor for any canvas of rows x cols cells (heatmaps,
 * the attention focus map, RGB filter composites): the canvas is focusable;
 * arrow keys move the cursor (Shift: 8 cells), Home/End go to the row's
 * ends, Escape clears it; a keyboard focus (not a click) starts it at the
 * first cell. The owner draws the outline and the read-out from the
 * `hover` callback, the same one its pointer hover calls, so keyboard and
 * pointer read the same; the tooltip is placed at the cell.
 */

import { setTipAnchor } from "./frame.js";

/** @typedef {{row: number, col: number}} Cell */

export class CellCursor {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{dims: () => {rows: number, cols: number}, hover: (cell: Cell|null, keyboard: boolean) => void, label?: string}} options
   *   dims: the grid now (it may change, e.g. a zoom); label: the canvas's accessible name
   */
  constructor(canvas, { dims, hover, label }) {
    this.canvas = canvas;
    /** @private */ this._dims = dims;
    /** @private */ this._hover = hover;
    /** @type {Cell|null} the keyboard's cell */ this.cell = null;
    canvas.tabIndex = 0;
    if (label !== undefined) canvas.setAttribute("aria-label", `${label} (arrow keys move a cell cursor)`);
    /** @private @type {Array<[string, any]>} */
    this._listeners = [
      ["keydown", (/** @type {KeyboardEvent} */ e) => this._keydown(e)],
      ["focus", () => canvas.matches(":focus-visible") && this.move(0, 0)], // keyboard focus, not a click
      ["blur", () => this._hover(null, true)],
    ];
    for (const [type, fn] of this._listeners) canvas.addEventListener(type, fn);
  }

  /** @private @param {KeyboardEvent} e */
  _keydown(e) {
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const big = e.shiftKey ? 8 : 1;
    if (e.key in moves) {
      const [dr, dc] = moves[/** @type {keyof typeof moves} */ (e.key)];
      this.move(dr * big, dc * big);
    } else if (e.key === "Home") this.move(0, -Infinity);
    else if (e.key === "End") this.move(0, Infinity);
    else if (e.key === "Escape") {
      this._hover(null, true);
      return;
    } else return;
    e.preventDefault();
    e.stopPropagation(); // not the app's step shortcuts
  }

  /**
   * Moves the cursor by (dr, dc) cells, clamped (±Infinity: to the edge).
   * @param {number} dr @param {number} dc
   */
  move(dr, dc) {
    const { rows, cols } = this._dims();
    if (!rows || !cols) return;
    const at = this.cell || { row: 0, col: 0 };
    const row = Math.max(0, Math.min(rows - 1, at.row + (Number.isFinite(dr) ? dr : dr > 0 ? rows : -rows)));
    const col = Math.max(0, Math.min(cols - 1, at.col + (Number.isFinite(dc) ? dc : dc > 0 ? cols : -cols)));
    this.cell = { row, col };
    const rect = this.canvas.getBoundingClientRect();
    setTipAnchor(rect.left + ((col + 1) / cols) * rect.width, rect.top + ((row + 1) / rows) * rect.height);
    this._hover(this.cell, true);
  }

  destroy() {
    for (const [type, fn] of this._listeners) this.canvas.removeEventListener(type, fn);
  }
}

/**
 * The cell under a viewport point of a canvas showing rows x cols cells, or null outside it.
 * @param {HTMLCanvasElement} canvas @param {number} rows @param {number} cols @param {number} clientX @param {number} clientY
 * @returns {Cell|null}
 */
export function cellAt(canvas, rows, cols, clientX, clientY) {
  const rect = canvas.getBoundingClientRect();
  if (!rect.width || !rect.height) return null;
  const col = Math.floor(((clientX - rect.left) / rect.width) * cols);
  const row = Math.floor(((clientY - rect.top) / rect.height) * rows);
  if (row < 0 || col < 0 || row >= rows || col >= cols) return null;
  return { row, col };
}
