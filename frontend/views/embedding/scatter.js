/**
 * The embedding's scatter: a canvas with one point per sample, coloured by
 * category, moved from where it was to a new step's positions (animated,
 * unless the user prefers reduced motion), the hovered and highlighted
 * samples ringed on top. The view (view.js) says what to draw; the
 * arithmetic is math.js.
 *
 * The canvas carries what tests and the benchmark read: `data-step`,
 * `data-method`, `data-settled` (the animation finished), `data-transform`
 * (JSON {sx, sy, ox, oy}: px = x * sx + ox in CSS px), `data-highlight`
 * and `data-paint-ms` (the last frame's drawing time; every frame is also a
 * User Timing measure "embedding-paint").
 */

import { el } from "../../dom.js";
import { bounds, drawOrder, ease, fit, interpolate, nearest, OTHER_COLOUR } from "./math.js";

const ANIMATION_MS = 350;
const PAD = 10;
const RADIUS = 2.5;
const HOVER_PX = 8;

/**
 * What a frame draws, asked for at every frame.
 * @typedef {Object} ScatterStyle
 * @property {{index: Int32Array, categories: import("./math.js").Category[]}} colours each sample's category
 * @property {(i: number) => boolean} visible sample i is drawn (its category is not filtered out)
 * @property {number} hover the hovered sample (-1: none)
 * @property {number} highlight the highlighted sample (-1: none)
 */

export class Scatter {
  /**
   * @param {{label: string, style: () => ScatterStyle, onDraw: () => void}} options label: the
   *   canvas's accessible name; onDraw: after every frame
   */
  constructor({ label, style, onDraw }) {
    /** @private */ this._style = style;
    /** @private */ this._onDraw = onDraw;
    /** @private @type {Float64Array|null} target positions */ this._to = null;
    /** @private @type {Float64Array|null} positions on screen now */ this._now = null;
    /** @private @type {Float64Array|null} */ this._from = null;
    /** @private */ this._start = 0;
    /** @private */ this._raf = 0;
    /** @private */ this._destroyed = false;
    /** @private @type {{sx: number, sy: number, ox: number, oy: number}} */ this._tf = { sx: 1, sy: -1, ox: 0, oy: 0 };
    this.canvas = el("canvas", { class: "emb-canvas", tabindex: "0", role: "img", "aria-label": label });
  }

  /**
   * Moves the points to `target` (flat x, y pairs) of `step`, animated from where they are when
   * `animate` and the point count is the same.
   * @param {Float64Array} target @param {boolean} animate @param {{step: number, method: string}} of
   */
  setTarget(target, animate, { step, method }) {
    const reduced = typeof matchMedia === "function" && matchMedia("(prefers-reduced-motion: reduce)").matches;
    this._from = animate && !reduced && this._now && this._now.length === target.length ? this._now : null;
    this._to = target;
    this._start = performance.now();
    this.canvas.dataset.settled = "false";
    this.canvas.dataset.step = String(step);
    this.canvas.dataset.method = String(method);
    cancelAnimationFrame(this._raf);
    this._frame();
  }

  /**
   * The sample nearest the pointer (within a few px, visible ones only), or -1.
   * @param {MouseEvent} e
   */
  at(e) {
    const r = this.canvas.getBoundingClientRect();
    if (!this._now) return -1;
    return nearest(this._now, this._tf, e.clientX - r.left, e.clientY - r.top, HOVER_PX, this._style().visible);
  }

  destroy() {
    this._destroyed = true;
    cancelAnimationFrame(this._raf);
  }

  /** @private One animation frame (and the next, until the points arrive). */
  _frame() {
    if (this._destroyed || !this._to) return;
    const t = this._from ? (performance.now() - this._start) / ANIMATION_MS : 1;
    this._now = t >= 1 ? this._to : interpolate(/** @type {Float64Array} */ (this._from), this._to, ease(t));
    this.draw();
    if (t < 1) this._raf = requestAnimationFrame(() => this._frame());
    else {
      this._from = null;
      this.canvas.dataset.settled = "true";
    }
  }

  /** Paints the points where they are now (e.g. after the colouring or the highlight changed). */
  draw() {
    const points = this._now;
    if (!points) return;
    const { colours, visible, hover, highlight } = this._style();
    const started = performance.now();
    const canvas = this.canvas;
    const width = Math.max(200, Math.floor(canvas.clientWidth || 420));
    const height = width;
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
    }
    canvas.style.height = `${height}px`;
    const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const tf = fit(bounds(points), width, height, PAD);
    this._tf = tf;
    const { index, categories } = colours;
    const n = points.length / 2;
    // One path per colour (fast for thousands of points), drawn in category order.
    /** @type {Path2D[]} */
    const paths = categories.map(() => new Path2D());
    for (let i = 0; i < n; i++) {
      const x = points[2 * i];
      const y = points[2 * i + 1];
      if (!Number.isFinite(x) || !Number.isFinite(y) || !visible(i)) continue;
      const px = x * tf.sx + tf.ox;
      const py = y * tf.sy + tf.oy;
      const path = paths[index[i]] || paths[0];
      if (!path) continue;
      path.moveTo(px + RADIUS, py);
      path.arc(px, py, RADIUS, 0, 2 * Math.PI);
    }
    ctx.globalAlpha = n > 3000 ? 0.7 : 0.9;
    paths.forEach((path, k) => {
      ctx.fillStyle = categories[k] ? categories[k].colour : OTHER_COLOUR;
      ctx.fill(path);
    });
    ctx.globalAlpha = 1;
    for (const i of drawOrder(n, [hover, highlight]).slice(-2)) {
      if (i !== hover && i !== highlight) continue;
      const x = points[2 * i];
      const y = points[2 * i + 1];
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      const px = x * tf.sx + tf.ox;
      const py = y * tf.sy + tf.oy;
      const c = categories[index[i]];
      ctx.beginPath();
      ctx.arc(px, py, i === highlight ? 5 : 4, 0, 2 * Math.PI);
      ctx.fillStyle = c ? c.colour : OTHER_COLOUR;
      ctx.fill();
      ctx.lineWidth = 2;
      ctx.strokeStyle = getComputedStyle(canvas).color || "#000";
      ctx.stroke();
      if (i === highlight) {
        ctx.beginPath();
        ctx.arc(px, py, 9, 0, 2 * Math.PI);
        ctx.lineWidth = 1.5;
        ctx.stroke();
      }
    }
    canvas.dataset.transform = JSON.stringify(tf);
    canvas.dataset.highlight = String(highlight);
    canvas.dataset.paintMs = (performance.now() - started).toFixed(3);
    // A User Timing entry per frame (the benchmark reads them; cheap, kept by the browser).
    if (performance.measure) performance.measure("embedding-paint", { start: started });
    this._onDraw();
  }
}
