/**
 * The focused head as a zoomable heatmap (canvas): queries down the left,
 * keys along the top, their token labels beside it when the cells are big
 * enough; long sequences get one canvas pixel per score, upscaled by CSS.
 * Hover or the keyboard's cell cursor (cell_cursor.js) outlines a cell and
 * its two labels; the view reads the weight out. Zoom with the buttons or
 * Ctrl/⌘ + wheel, in place (the centre stays still).
 */

import { cellAt, CellCursor } from "../../cell_cursor.js";
import { clear, el } from "../../dom.js";

/** CSS px per score the zoom steps through. */
const ZOOMS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96];
/** Cell size (CSS px) from which token labels are drawn beside the heatmap. */
const LABEL_MIN_CELL = 10;

/**
 * @typedef {Object} FocusMap what `render` draws
 * @property {number} q @property {number} k queries, keys
 * @property {string[]} qLabels @property {string[]} kLabels
 * @property {string} name the head's name ("head 2", "mean over heads")
 * @property {(canvas: HTMLCanvasElement) => void} paint paints the scores, one pixel each
 * @property {(row: number|null, col?: number) => void} onCell a cell hovered (null: none)
 */

export class FocusHeatmap {
  /**
   * @param {{fitWidth: () => number, rerender: () => void}} options fitWidth: the width available
   *   (CSS px); rerender: draw the focus again (a zoom before any heatmap was drawn)
   */
  constructor({ fitWidth, rerender }) {
    /** @private */ this._fitWidth = fitWidth;
    /** @private */ this._rerender = rerender;
    /** @private @type {number|null} CSS px per cell; null: fit (kept across steps and heads) */ this._cell = null;
    /** @private @type {(FocusMap & {box: HTMLElement, canvas: HTMLCanvasElement, cursor: HTMLElement,
     *   left: HTMLElement, top: HTMLElement, scroller: HTMLElement})|null} the map drawn last */
    this._shown = null;
    this._zoomOut = el("button", { class: "attn-zoom-out", type: "button", title: "Zoom out", text: "−", onclick: () => this.zoom(-1) });
    this._zoomIn = el("button", { class: "attn-zoom-in", type: "button", title: "Zoom in", text: "+", onclick: () => this.zoom(1) });
    this._zoomLabel = el("span", { class: "attn-zoom-label" });
    /** The zoom buttons (the view puts them in its toolbar). */
    this.controls = el("div", { class: "attn-zoom" }, [this._zoomOut, this._zoomLabel, this._zoomIn]);
  }

  /** Draws `map` into `box`. @param {HTMLElement} box @param {FocusMap} map */
  render(box, map) {
    const { q, k, name } = map;
    const canvas = el("canvas", { class: "attn-focus-canvas", role: "img", "aria-label": `${name} attention heatmap` });
    map.paint(canvas);
    const cursor = el("div", { class: "attn-cursor", hidden: true, "aria-hidden": "true" });
    const left = el("div", { class: "attn-labels-left", "aria-label": "query tokens" });
    const top = el("div", { class: "attn-labels-top", "aria-label": "key tokens" });
    const plot = el("div", { class: "attn-plot" }, [canvas, cursor]);
    const grid = el("div", { class: "attn-grid" }, [el("div", { class: "attn-corner" }), top, left, plot]);
    const scroller = el("div", { class: "attn-scroll" }, [grid]);
    this._shown = { ...map, box, canvas, cursor, left, top, scroller };
    canvas.addEventListener("pointermove", (e) => this._hover(cellAt(canvas, q, k, e.clientX, e.clientY)));
    canvas.addEventListener("pointerleave", () => this._hover(null));
    // The keyboard's cell cursor (cell_cursor.js): the same read-out as hover.
    new CellCursor(canvas, { dims: () => ({ rows: q, cols: k }), hover: (cell, keyboard) => this._hover(cell, keyboard), label: `${name} attention heatmap` });
    scroller.addEventListener(
      "wheel",
      (e) => {
        if (!e.ctrlKey && !e.metaKey) return;
        e.preventDefault();
        this.zoom(e.deltaY < 0 ? 1 : -1);
      },
      { passive: false }
    );
    box.append(scroller);
    this._layout();
  }

  /** One zoom step in (1) or out (-1). @param {number} direction */
  zoom(direction) {
    const shown = this._shown;
    const cell = this._cell || (shown ? this._fitCell(shown.q, shown.k) : ZOOMS[0]);
    const i = ZOOMS.indexOf(cell);
    const next = ZOOMS[Math.min(ZOOMS.length - 1, Math.max(0, (i < 0 ? 0 : i) + direction))];
    if (next === cell) return;
    this._cell = next;
    if (!shown) {
      this._rerender();
      return;
    }
    // Zoom in place: resize the canvas (no repaint) and keep the centre still.
    const { scroller } = shown;
    const centre = { x: (scroller.scrollLeft + scroller.clientWidth / 2) / cell, y: (scroller.scrollTop + scroller.clientHeight / 2) / cell };
    this._layout();
    scroller.scrollLeft = centre.x * next - scroller.clientWidth / 2;
    scroller.scrollTop = centre.y * next - scroller.clientHeight / 2;
  }

  /** @private the zoom that fits q x k cells: the width available (minus the query labels), most of the window's height */
  _fitCell(q, k) {
    const width = Math.max(160, this._fitWidth() - 80);
    const height = Math.max(240, Math.round(window.innerHeight * 0.75));
    const fit = Math.floor(Math.min(width / k, height / q));
    return ZOOMS.reduce((best, z) => (z <= Math.max(1, fit) ? z : best), 1);
  }

  /** @private sizes the canvas and (when cells are big enough) the token labels */
  _layout() {
    const { q, k, canvas, cursor, left, top, qLabels, kLabels } = /** @type {NonNullable<FocusHeatmap["_shown"]>} */ (this._shown);
    const cell = this._cell || this._fitCell(q, k);
    canvas.style.width = `${k * cell}px`;
    canvas.style.height = `${q * cell}px`;
    this._zoomLabel.textContent = `${cell} px/token`;
    this._zoomOut.disabled = cell === ZOOMS[0];
    this._zoomIn.disabled = cell === ZOOMS[ZOOMS.length - 1];
    cursor.style.width = `${cell}px`;
    cursor.style.height = `${cell}px`;
    clear(left);
    clear(top);
    const show = cell >= LABEL_MIN_CELL;
    left.hidden = top.hidden = !show;
    if (!show) return;
    left.style.height = `${q * cell}px`;
    top.style.width = `${k * cell}px`;
    const font = `${Math.min(13, Math.max(9, cell * 0.7))}px`;
    qLabels.forEach((text, i) => {
      left.append(el("div", { class: "attn-label", dataset: { q: String(i) }, title: `query ${i}`, text, style: { top: `${i * cell}px`, height: `${cell}px`, lineHeight: `${cell}px`, fontSize: font } }));
    });
    kLabels.forEach((text, i) => {
      top.append(el("div", { class: "attn-label attn-label-key", dataset: { k: String(i) }, title: `key ${i}`, text, style: { left: `${i * cell}px`, width: `${cell}px`, fontSize: font } }));
    });
  }

  /**
   * @private Outlines a cell (query row, key col) and its labels and has it read out, or clears both.
   * @param {{row: number, col: number}|null} cell @param {boolean} [keyboard] always outlined (else only cells of 4 px and more)
   */
  _hover(cell, keyboard = false) {
    const { q, k, box, cursor, onCell } = /** @type {NonNullable<FocusHeatmap["_shown"]>} */ (this._shown);
    for (const on of box.querySelectorAll(".attn-label-on")) on.classList.remove("attn-label-on");
    if (!cell) {
      cursor.hidden = true;
      onCell(null);
      return;
    }
    const { row, col } = cell;
    const size = this._cell || this._fitCell(q, k);
    cursor.hidden = size < 4 && !keyboard;
    cursor.style.left = `${col * size}px`;
    cursor.style.top = `${row * size}px`;
    const l = box.querySelector(`.attn-labels-left [data-q="${row}"]`);
    const t = box.querySelector(`.attn-labels-top [data-k="${col}"]`);
    if (l) l.classList.add("attn-label-on");
    if (t) t.classList.add("attn-label-on");
    onCell(row, col);
  }
}
