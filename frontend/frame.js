/**
 * What every view shares: the header (run, tag, shape and other chips,
 * description, step label, summary, loading status), the message that
 * replaces the picture, the legend slot, and the read-out, mirrored in a
 * tooltip at the pointer (or at the keyboard's cell cursor).
 *
 * User strings (run, tag, descriptions) are bidi-isolated (`<bdi>`), shortened
 * with an ellipsis by CSS and shown whole in the element's title.
 */

import { el } from "./dom.js";
import { formatShape, formatStep, formatValue } from "./format.js";

/** Where the last pointer move happened (viewport px); the tooltip goes there. */
const anchor = { x: 0, y: 0 };
let tracking = false;
/** @type {HTMLElement|null} */
let tipElement = null;

function trackPointer() {
  if (tracking) return;
  tracking = true;
  document.addEventListener(
    "pointermove",
    (e) => {
      anchor.x = e.clientX;
      anchor.y = e.clientY;
    },
    { capture: true, passive: true }
  );
}

/** Puts the tooltip next to a viewport point (e.g. a keyboard-chosen cell). @param {number} x @param {number} y */
export function setTipAnchor(x, y) {
  anchor.x = x;
  anchor.y = y;
}

/** @returns {HTMLElement} the one floating tooltip */
function tip() {
  if (!tipElement || !tipElement.isConnected) {
    tipElement = el("div", { class: "cursor-tip", role: "tooltip", hidden: true }, [
      el("div", { class: "cursor-tip-value" }),
      el("div", { class: "cursor-tip-where" }),
    ]);
    document.body.append(tipElement);
  }
  return tipElement;
}

/**
 * Shows `value` and `where` at the pointer (null hides it), with an optional
 * picture above them (e.g. a sample's thumbnail canvas).
 * @param {string|null} value @param {string} [where] @param {HTMLElement|null} [image]
 */
export function showTip(value, where = "", image = null) {
  const t = tip();
  const old = t.querySelector(".cursor-tip-image");
  if (old && (value === null || old.firstChild !== image)) old.remove();
  if (value === null) {
    t.hidden = true;
    return;
  }
  if (image && !t.querySelector(".cursor-tip-image")) t.prepend(el("div", { class: "cursor-tip-image" }, [image]));
  /** @type {HTMLElement} */ (t.querySelector(".cursor-tip-value")).textContent = value;
  /** @type {HTMLElement} */ (t.querySelector(".cursor-tip-where")).textContent = where;
  t.hidden = false;
  const pad = 14;
  const w = t.offsetWidth;
  const h = t.offsetHeight;
  const vw = document.documentElement.clientWidth;
  const vh = document.documentElement.clientHeight;
  let x = anchor.x + pad;
  let y = anchor.y + pad;
  if (x + w > vw - 4) x = Math.max(4, anchor.x - pad - w);
  if (y + h > vh - 4) y = Math.max(4, anchor.y - pad - h);
  t.style.left = `${x}px`;
  t.style.top = `${y}px`;
}

/** The read-out: value and where, in the view's sticky bar and in the tooltip at the pointer. */
export class Readout {
  /** @param {string} hint the text shown while nothing is hovered */
  constructor(hint) {
    trackPointer();
    this.hint = hint;
    this.value = el("span", { class: "readout-value", text: "–" });
    this.where = el("span", { class: "readout-where", text: hint });
    this.element = el("div", { class: "readout", "aria-live": "off" }, [this.value, this.where]);
  }

  /**
   * @param {number|string|null} value null: nothing hovered
   * @param {string} [where]
   * @param {HTMLElement|null} [image] shown in the tooltip only
   */
  set(value, where = "", image = null) {
    if (value === null) {
      this.value.textContent = "–";
      this.where.textContent = this.hint;
      showTip(null);
      return;
    }
    const text = typeof value === "number" ? formatValue(value) : value;
    this.value.textContent = text;
    this.where.textContent = where;
    showTip(text, where, image);
  }
}

/** A user string: isolated from the surrounding text direction, ellipsised, whole on hover. @param {string} cls @param {string} text @param {string} [what] */
export function userText(cls, text, what) {
  return el("bdi", { class: `${cls} user-text`, title: what ? `${what}: ${text}` : text, text });
}

/**
 * Text with user strings in it (plan.js TextParts): each run name its own
 * `<bdi>`, so names in any direction keep their place in the sentence.
 * @param {string} cls @param {Array<string|{run: string}>} parts
 * @returns {HTMLElement}
 */
export function mixedText(cls, parts) {
  const span = el("span", { class: cls });
  setMixedText(span, parts);
  return span;
}

/** Sets `node`'s content to `parts` (as `mixedText`). @param {HTMLElement} node @param {Array<string|{run: string}>} parts */
export function setMixedText(node, parts) {
  node.replaceChildren(...parts.map((p) => (typeof p === "string" ? p : el("bdi", { class: "user-text", text: p.run }))));
  node.title = node.textContent || "";
}

/**
 * @typedef {Object} FrameOptions
 * @property {string} kind e.g. "activations" (the section's accessible name and class)
 * @property {string} run
 * @property {string} tag
 * @property {string} [title] the run chip's text (default: the run; "a − b" for a difference)
 * @property {number[]} [shape] the logged shape chip
 * @property {string} [shapeTitle]
 * @property {Array<HTMLElement|null>} [chips] more chips after the shape
 * @property {string} [description]
 * @property {string} [className] extra class of the section
 * @property {string} [hint] the read-out's idle text
 */

/**
 * The frame of one view. Views append their picture to `frame.body` and put
 * a legend into `frame.sticky` (before the read-out).
 */
export class ViewFrame {
  /** @param {FrameOptions} options */
  constructor({ kind, run, tag, title, shape, shapeTitle = "logged shape", chips = [], description, className = "", hint = "Hover a cell to read its exact value" }) {
    this.stepLabel = el("span", { class: "step-label", text: "step –" });
    this.summary = el("span", { class: "view-summary" });
    this.status = el("span", { class: "view-status", role: "status" });
    this.message = el("div", { class: "view-message", hidden: true, role: "alert" });
    this.readout = new Readout(hint);
    this.sticky = el("div", { class: "view-sticky", hidden: true }, [this.readout.element]);
    this.body = el("div", { class: "view-body" });
    /** @private */ this._spinner = undefined;
    /** @private */ this._hasPicture = false;
    this.element = el("section", { class: `view ${className}`.trim(), "aria-label": `${kind} of ${tag} in run ${run}` }, [
      el("header", { class: "view-head" }, [
        el("div", { class: "view-title" }, [
          userText("run-chip", title || run, "run"),
          el("h2", { class: "tag-name", title: tag }, [el("bdi", { class: "user-text", text: tag })]),
          shape ? el("span", { class: "shape-chip", title: shapeTitle, text: formatShape(shape) }) : null,
          ...chips,
        ]),
        description ? el("p", { class: "view-desc", text: description }) : null,
        el("div", { class: "view-meta" }, [this.stepLabel, this.summary, this.status]),
      ]),
      this.sticky,
      this.message,
      this.body,
    ]);
  }

  /** Puts `node` (e.g. the legend) first in the sticky bar. @param {Node} node */
  setLegend(node) {
    this.sticky.prepend(node);
  }

  /** @param {number|null} step @param {string} [label] an honest label instead (a difference) */
  setStep(step, label) {
    this.stepLabel.textContent = label || formatStep(step);
    this.stepLabel.title = this.stepLabel.textContent;
  }

  /** The loading state: shown only when it takes long enough to notice. @param {boolean} on */
  busy(on) {
    window.clearTimeout(this._spinner);
    if (on) {
      this._spinner = window.setTimeout(() => {
        this.status.textContent = "Loading…";
      }, 200);
    } else this.status.textContent = "";
  }

  /** A picture is on screen (the sticky legend and read-out make sense). @param {boolean} on */
  setPicture(on) {
    this._hasPicture = on;
    this.sticky.hidden = !on || !this.message.hidden;
  }

  /**
   * Replaces the picture with a message (null: shows the picture again).
   * @param {string|null} text
   * @param {"error"|"info"} [tone]
   */
  showMessage(text, tone = "error") {
    this.message.hidden = text === null;
    this.message.classList.toggle("view-message-info", tone === "info");
    this.message.textContent = text || "";
    this.body.hidden = text !== null;
    this.sticky.hidden = text !== null || !this._hasPicture;
    if (text !== null) showTip(null);
  }

  /** The message for a failed step: explanations (no difference) are info, not errors. @param {number} step @param {unknown} e */
  showFailure(step, e) {
    const explain = e instanceof Error && (e.name === "ShapeMismatch" || e.name === "NoDifference");
    const text = e instanceof Error ? e.message : String(e);
    this.showMessage(explain ? text : `Could not show ${formatStep(step)}: ${text}`, explain ? "info" : "error");
  }

  destroy() {
    window.clearTimeout(this._spinner);
    showTip(null);
    this.element.remove();
  }
}
