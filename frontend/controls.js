/**
 * Sidebar and toolbar controls, all real form elements (focusable, with
 * labels): the run and layer picker with a text filter, the step slider with
 * play/pause and prev/next, and plain labelled selects.
 */

import { el, clear } from "./dom.js";
import { formatShape } from "./format.js";

/** @typedef {import("./api.js").TagListing} TagListing */

let idCounter = 0;
/** A document-unique id for label/control pairs. @param {string} prefix */
function uid(prefix) {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** Case-insensitive natural sort ("layer2" before "layer10"). */
const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/**
 * Run select + layer search + layer list (a radio group: arrow keys move
 * through the visible layers).
 */
export class RunTagPicker {
  /**
   * @param {{onChange: (run: string, tag: string) => void}} options
   */
  constructor({ onChange }) {
    this._onChange = onChange;
    /** @type {TagListing} */
    this._listing = {};
    /** @type {string|null} */
    this.run = null;
    /** @type {string|null} */
    this.tag = null;
    /** @type {Map<string, Object<string, import("./layerstats.js").Badge[]>>} badges per run, by tag */
    this._badges = new Map();
    const runId = uid("run");
    const filterId = uid("filter");
    this._radioName = uid("tag");
    this._runSelect = el("select", { id: runId, class: "run-select", onchange: () => this._pickRun(this._runSelect.value) });
    this._filter = el("input", {
      id: filterId,
      class: "tag-filter",
      type: "search",
      placeholder: "Filter layers (press /)",
      autocomplete: "off",
      spellcheck: "false",
      oninput: () => this._applyFilter(),
    });
    this._count = el("div", { class: "tag-count", "aria-live": "polite" });
    this._list = el("div", { class: "tag-list", role: "radiogroup", "aria-label": "Layers" });
    this._none = el("p", { class: "tag-none", hidden: true });
    this.element = el("div", { class: "picker" }, [
      el("div", { class: "control" }, [el("label", { class: "control-label", for: runId, text: "Run" }), this._runSelect]),
      el("div", { class: "control control-layers" }, [
        el("label", { class: "control-label", for: filterId, text: "Layer" }),
        this._filter,
        this._count,
        this._list,
        this._none,
      ]),
    ]);
  }

  /**
   * Shows trouble badges ("43% dead", "NaN") on the layers of `run`,
   * replacing the run's previous ones.
   * @param {string} run
   * @param {Object<string, import("./layerstats.js").Badge[]>} byTag
   */
  setBadges(run, byTag) {
    this._badges.set(run, byTag);
    if (run !== this.run) return;
    for (const item of /** @type {HTMLElement[]} */ (Array.from(this._list.children))) {
      const holder = item.querySelector(".tag-badges");
      if (holder) this._fillBadges(/** @type {HTMLElement} */ (holder), byTag[item.dataset.tag || ""] || []);
    }
  }

  /** @private @param {HTMLElement} holder @param {import("./layerstats.js").Badge[]} badges */
  _fillBadges(holder, badges) {
    clear(holder);
    for (const badge of badges) {
      holder.append(
        el("span", {
          class: `tag-badge badge-${badge.kind}${badge.strong ? " badge-strong" : ""}`,
          title: badge.title,
          text: badge.text,
        })
      );
    }
    holder.hidden = badges.length === 0;
  }

  /** Focuses the layer filter box. */
  focusFilter() {
    this._filter.focus();
    this._filter.select();
  }

  /**
   * Shows a new listing, keeping the current run and tag when they still
   * exist. Does not call onChange.
   * @param {TagListing} listing
   * @param {string|null} run
   * @param {string|null} tag
   * @returns {{run: string|null, tag: string|null}} the selection after the update
   */
  setListing(listing, run, tag) {
    this._listing = listing;
    const runs = Object.keys(listing).sort(collator.compare);
    clear(this._runSelect);
    for (const name of runs) {
      const option = el("option", { text: name });
      option.value = name;
      this._runSelect.append(option);
    }
    this._runSelect.disabled = runs.length === 0;
    this.run = run !== null && runs.includes(run) ? run : runs[0] ?? null;
    if (this.run !== null) this._runSelect.value = this.run;
    const tags = this.run === null ? [] : Object.keys(listing[this.run]);
    this.tag = tag !== null && tags.includes(tag) ? tag : this._firstTag(this.run);
    this._renderTags();
    return { run: this.run, tag: this.tag };
  }

  /**
   * Selects run/tag programmatically (no onChange).
   * @param {string} run
   * @param {string} tag
   */
  select(run, tag) {
    const sameRun = run === this.run && this._list.childElementCount > 0;
    this.run = run;
    this.tag = tag;
    this._runSelect.value = run;
    if (!sameRun) {
      this._renderTags();
      return;
    }
    // Same run: only move the check mark, so keyboard focus stays put.
    for (const radio of this._radios()) radio.checked = radio.value === tag;
  }

  /** @private @returns {HTMLInputElement[]} */
  _radios() {
    return Array.from(this._list.querySelectorAll("input.tag-radio"));
  }

  /** @private @param {string|null} run */
  _firstTag(run) {
    if (run === null) return null;
    const tags = Object.keys(this._listing[run] || {}).sort(collator.compare);
    const query = this._filter.value.trim().toLowerCase();
    return tags.find((t) => t.toLowerCase().includes(query)) ?? tags[0] ?? null;
  }

  /** @private @param {string} run */
  _pickRun(run) {
    this.run = run;
    const tags = Object.keys(this._listing[run] || {});
    if (this.tag === null || !tags.includes(this.tag)) this.tag = this._firstTag(run);
    this._renderTags();
    if (this.tag !== null) this._onChange(run, this.tag);
  }

  /** @private */
  _renderTags() {
    // Rebuilding the list must not drop keyboard focus from it.
    const focused = this._radios().find((r) => r === document.activeElement);
    const focusedTag = focused ? focused.value : null;
    clear(this._list);
    if (this.run === null) return;
    const infos = this._listing[this.run] || {};
    for (const tag of Object.keys(infos).sort(collator.compare)) {
      const info = infos[tag];
      const radio = el("input", { type: "radio", name: this._radioName, class: "tag-radio" });
      radio.value = tag;
      radio.checked = tag === this.tag;
      radio.addEventListener("change", () => {
        if (!radio.checked) return;
        this.tag = tag;
        this._onChange(/** @type {string} */ (this.run), tag);
      });
      const detail = info.error
        ? el("span", { class: "tag-warning", text: "unreadable", title: info.error })
        : info.kind === "activation_stats"
          ? el("span", { class: "tag-shape", text: "statistics only" })
          : info.kind === "model_summary"
            ? el("span", { class: "tag-shape", text: "architecture overview" })
            : el("span", { class: "tag-shape", text: formatShape(info.shape || []) });
      const badges = el("span", { class: "tag-badges" });
      this._fillBadges(badges, (this._badges.get(this.run) || {})[tag] || []);
      const item = el("label", { class: "tag-item", dataset: { tag } }, [
        radio,
        el("span", { class: "tag-main" }, [el("span", { class: "tag-label", text: tag }), detail]),
        badges,
      ]);
      if (info.description) item.title = info.description;
      this._list.append(item);
      if (tag === focusedTag) radio.focus();
    }
    this._applyFilter();
  }

  /** @private Hides (and takes out of the tab/arrow order) layers not matching the filter. */
  _applyFilter() {
    const terms = this._filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const items = /** @type {HTMLLabelElement[]} */ (Array.from(this._list.children));
    let shown = 0;
    for (const item of items) {
      const name = (item.dataset.tag || "").toLowerCase();
      const match = terms.every((term) => name.includes(term));
      const radio = /** @type {HTMLInputElement} */ (item.querySelector("input"));
      item.hidden = !match;
      radio.disabled = !match;
      if (match) shown++;
    }
    this._count.textContent =
      items.length === 0 ? "No layers in this run" : terms.length ? `${shown} of ${items.length} layers` : `${items.length} layers`;
    this._none.hidden = !(terms.length && shown === 0);
    this._none.textContent = `No layer name contains “${this._filter.value.trim()}”.`;
  }
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
    this._slider.setAttribute("aria-valuetext", `step ${step}`);
    this._value.textContent = `Step ${step}`;
    this._position.textContent = `${index + 1} of ${this._steps.length}`;
    this._note.textContent = wanted !== null && wanted !== step ? `nearest to ${wanted}` : "";
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

/**
 * The step in `steps` (ascending) nearest to `wanted`; ties go to the earlier step.
 * @param {number[]} steps
 * @param {number} wanted
 * @returns {number} its index, or -1 when `steps` is empty
 */
export function nearestIndex(steps, wanted) {
  if (steps.length === 0) return -1;
  let lo = 0;
  let hi = steps.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid] < wanted) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && wanted - steps[lo - 1] <= steps[lo] - wanted) return lo - 1;
  return lo;
}
