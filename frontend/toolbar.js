/**
 * The tab's controls and page shell: the sidebar (brand, layer picker, runs
 * to compare, compare mode and reference step, keyboard help) and the
 * toolbar above the views (the step control first in tab order, then what
 * acts on the picture: sample, colour range, colour scale, one range across
 * panels). It builds the elements and reports the user's choices through
 * handlers; it keeps no view state (App does) and only reflects it.
 */

import { RunChecklist } from "./compare.js";
import { labelledSelect, StepControl } from "./controls.js";
import { el } from "./dom.js";
import { RunTagPicker } from "./picker.js";
import { formatStep } from "./format.js";
import { scaleMode, SCALE_MODES } from "./scales.js";

/**
 * @typedef {Object} ToolbarHandlers
 * @property {(run: string, tag: string) => void} onPick a layer chosen in the picker
 * @property {(runs: string[]) => void} onRuns the runs to compare
 * @property {(mode: "side"|"diff-runs"|"diff-step") => void} onMode
 * @property {(step: number) => void} onRef the reference step of "diff-step"
 * @property {(sample: number) => void} onSample
 * @property {(mode: import("./scales.js").ScaleMode) => void} onRange which range the colours span
 * @property {(scale: "layer"|"channel") => void} onColourScale
 * @property {(on: boolean) => void} onShared one colour range across compared panels
 * @property {(index: number) => void} onIndex a step index chosen on the step control
 * @property {() => void} onTogglePlay
 */

export class Toolbar {
  /** @param {ToolbarHandlers} on */
  constructor(on) {
    this.picker = new RunTagPicker({ onChange: on.onPick });
    this.checklist = new RunChecklist({ onChange: on.onRuns });
    this.sampleSelect = labelledSelect({
      label: "Sample",
      options: [["0", "Sample 0"]],
      onChange: (v) => on.onSample(Number(v)),
    });
    this.scaleSelect = labelledSelect({
      label: "Colour scale",
      options: [
        ["layer", "Shared across the layer"],
        ["channel", "Per channel (unit)"],
      ],
      value: "layer",
      onChange: (v) => on.onColourScale(v === "channel" ? "channel" : "layer"),
      hint: "Shared keeps channels comparable; per channel reveals detail in quiet channels.",
    });
    this.rangeSelect = labelledSelect({
      label: "Colour range",
      options: SCALE_MODES.map(([v, t]) => [v, t]),
      value: "fixed",
      onChange: (v) => on.onRange(scaleMode(v)),
      hint: "Fixed keeps colours comparable while scrubbing and playing; the legend names the range in use.",
    });
    this.modeSelect = labelledSelect({
      label: "Compare as",
      options: [
        ["side", "Side by side"],
        ["diff-runs", "Difference: run A − run B"],
        ["diff-step", "Difference: step − reference step"],
      ],
      value: "side",
      onChange: (v) => on.onMode(/** @type {any} */ (v)),
      hint: "A and B are the first two ticked runs.",
    });
    this.refSelect = labelledSelect({ label: "Reference step", options: [], onChange: (v) => on.onRef(Number(v)) });
    this.refSelect.element.hidden = true;
    this.sharedBox = el("input", {
      type: "checkbox",
      class: "shared-scale",
      checked: true,
      onchange: () => on.onShared(this.sharedBox.checked),
    });
    this.sharedControl = el("label", { class: "control-check" }, [this.sharedBox, "One colour range across compared panels"]);
    this.stepControl = new StepControl({ onIndex: on.onIndex, onTogglePlay: on.onTogglePlay });
    this.viewsArea = el("div", { class: "views" });
    this.sidebar = el("aside", { class: "sidebar", "aria-label": "Choose what to show" }, [
      el("div", { class: "brand" }, [
        el("div", { class: "brand-title", text: "Internals" }),
        el("div", { class: "brand-sub", text: "Inside the network, over training" }),
      ]),
      this.picker.element,
      this.checklist.element,
      this.modeSelect.element,
      this.refSelect.element,
      el("div", { class: "keys", "aria-label": "Keyboard shortcuts" }, [
        el("div", { class: "control-label", text: "Keyboard" }),
        keyLine(["Space", "k"], "play / pause"),
        keyLine(["j", "l"], "previous / next step"),
        keyLine(["←", "→"], "step, on the slider"),
        keyLine(["/"], "filter layers"),
      ]),
    ]);
    // The controls that act on the picture sit with it, under the step toolbar (first in tab order).
    const viewControls = el("div", { class: "view-controls", role: "group", "aria-label": "How the picture is drawn" }, [
      this.sampleSelect.element,
      this.rangeSelect.element,
      this.scaleSelect.element,
      this.sharedControl,
    ]);
    this.main = el("main", { class: "main" }, [el("div", { class: "toolbar" }, [this.stepControl.element, viewControls]), this.viewsArea]);
    /** The page shell: views and toolbar, then the sidebar. */
    this.shell = el("div", { class: "app" }, [this.main, this.sidebar]);
  }

  /**
   * Shows the drawing options in effect (e.g. from a URL).
   * @param {{mode: string, rangeMode: string, colourScale: string, sharedScale: boolean}} state
   */
  reflect({ mode, rangeMode, colourScale, sharedScale }) {
    this.modeSelect.select.value = mode;
    this.rangeSelect.select.value = rangeMode;
    this.scaleSelect.select.value = colourScale;
    this.sharedBox.checked = sharedScale;
  }

  /**
   * What applies to the shown panels: the reference step only to "diff-step", the shared range only when comparing.
   * @param {{mode: string, compare: boolean}} plan
   */
  setComparing({ mode, compare }) {
    this.refSelect.element.hidden = mode !== "diff-step";
    this.sharedControl.hidden = !compare;
  }

  /** The reference steps offered, and the one in effect. @param {number[]} steps @param {number|null} ref */
  setRefSteps(steps, ref) {
    this.refSelect.setOptions(steps.map((st) => [String(st), formatStep(st, { capital: true })]), String(ref));
  }

  /** The samples of the shown batch (`batch` 0: no batch axis). @param {number} batch @param {number} sample */
  setSamples(batch, sample) {
    const options = [];
    for (let s = 0; s < batch; s++) options.push([String(s), `Sample ${s}`]);
    this.sampleSelect.setOptions(options.length ? options : [["0", "No batch axis"]], String(sample));
    this.sampleSelect.select.disabled = batch <= 1;
  }

  /** Puts `node` (e.g. a notice) above the views. @param {HTMLElement} node */
  insertAboveViews(node) {
    this.main.insertBefore(node, this.viewsArea);
  }
}

/** @param {string[]} keys @param {string} what */
function keyLine(keys, what) {
  const line = el("div", { class: "key-line" });
  keys.forEach((key, i) => {
    if (i) line.append(" ");
    line.append(el("kbd", { text: key }));
  });
  line.append(el("span", { class: "key-what", text: what }));
  return line;
}
