/**
 * Sidebar and toolbar controls, all real form elements (focusable, with
 * labels): the run and layer picker with a text filter, the step slider with
 * play/pause and prev/next, and plain labelled selects.
 */

import { el, clear } from "./dom.js";
import { formatStep, nearestIndex } from "./plan.js";

let idCounter = 0;
/** A document-unique id for label/control pairs. @param {string} prefix */
function uid(prefix) {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}


/**
 * The step slider: a range input over the *index* into the available steps,
 * play/pause, previous/next buttons and a label of the step shown.
 */
export class StepControl {
  /**
   * @param {{onIndex: (index: number) => void, onTogglePlay: () => void}} options
   *   onIndex: the user moved to a step index (slider, arrows or buttons)
   */
  constructor({ onIndex, onTogglePlay }) {
    /** @type {number[]} */
    this._steps = [];
    const sliderId = uid("step");
    this._play = el("button", {
      type: "button",
      class: "btn btn-play",
      "aria-pressed": "false",
      title: "Play / pause (Space or k)",
      onclick: () => onTogglePlay(),
    });
    this._prev = el("button", {
      type: "button",
      class: "btn btn-icon",
      title: "Previous step (j)",
      "aria-label": "Previous step",
      text: "‹",
      onclick: () => this._nudge(-1, onIndex),
    });
    this._next = el("button", {
      type: "button",
      class: "btn btn-icon",
      title: "Next step (l)",
      "aria-label": "Next step",
      text: "›",
      onclick: () => this._nudge(1, onIndex),
    });
    this._slider = el("input", {
      id: sliderId,
      type: "range",
      class: "step-slider",
      min: 0,
      max: 0,
      step: 1,
      value: 0,
      oninput: () => onIndex(Number(this._slider.value)),
    });
    this._label = el("label", { class: "step-readout", for: sliderId });
    this._value = el("span", { class: "step-value", text: "Step –" });
    this._position = el("span", { class: "step-position" });
    this._note = el("span", { class: "step-note" });
    this._label.append(this._value, this._position, this._note);
    this.element = el("div", { class: "stepbar", role: "group", "aria-label": "Training step" }, [
      this._play,
      this._prev,
      this._slider,
      this._next,
      this._label,
    ]);
    this.setPlaying(false);
    this.setSteps([]);
  }

  /** @private */
  _nudge(delta, onIndex) {
    const i = Number(this._slider.value) + delta;
    if (i >= 0 && i < this._steps.length) onIndex(i);
  }

  /** @param {number[]} steps ascending */
  setSteps(steps) {
    this._steps = steps;
    this._slider.max = String(Math.max(0, steps.length - 1));
    const off = steps.length === 0;
    this._slider.disabled = off;
    this._play.disabled = steps.length < 2;
    this._prev.disabled = off;
    this._next.disabled = off;
    if (off) {
      this._value.textContent = "No steps";
      this._position.textContent = "";
      this._note.textContent = "";
    }
  }

  /**
   * Moves the slider to `index` and labels the step shown.
   * @param {number} index
   * @param {number|null} wanted the step the user asked for (noted when not available)
   */
  setIndex(index, wanted) {
    const step = this._steps[index];
    this._slider.value = String(index);
    this._slider.setAttribute("aria-valuetext", formatStep(step));
    this._value.textContent = formatStep(step, { capital: true });
    this._position.textContent = `${index + 1} of ${this._steps.length}`;
    this._note.textContent = wanted !== null && wanted !== step ? `nearest to ${wanted === -1 ? formatStep(wanted) : wanted}` : "";
  }

  /** @param {boolean} playing */
  setPlaying(playing) {
    this._play.setAttribute("aria-pressed", String(playing));
    clear(this._play);
    this._play.append(
      el("span", { class: playing ? "icon icon-pause" : "icon icon-play", "aria-hidden": "true" }),
      playing ? "Pause" : "Play"
    );
  }

  /** Gives focus to the slider. */
  focus() {
    this._slider.focus();
  }
}

/**
 * A labelled <select>.
 * @param {{label: string, options: Array<[string, string]>, value?: string, onChange: (value: string) => void, hint?: string}} spec
 *   options: [value, text] pairs
 * @returns {{element: HTMLElement, select: HTMLSelectElement, setOptions: (options: Array<[string, string]>, value: string) => void}}
 */
export function labelledSelect({ label, options, value, onChange, hint }) {
  const id = uid("select");
  const select = el("select", { id, title: hint || null, onchange: () => onChange(select.value) });
  const setOptions = (/** @type {Array<[string, string]>} */ opts, /** @type {string} */ current) => {
    clear(select);
    for (const [v, text] of opts) {
      const option = el("option", { text });
      option.value = v;
      select.append(option);
    }
    if (current !== undefined) select.value = current;
  };
  setOptions(options, value ?? (options[0] ? options[0][0] : ""));
  const element = el("div", { class: "control" }, [
    el("label", { class: "control-label", for: id, text: label }),
    select,
    hint ? el("p", { class: "control-hint", text: hint }) : null,
  ]);
  return { element, select, setOptions };
}

// The nearest-step rule lives with the other pure step logic (plan.js, unit-tested).
export { nearestIndex };
