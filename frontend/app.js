/**
 * The Internals tab: sidebar (run and layer picker with trouble badges,
 * sample, colour scale), a step toolbar with playback, and for the chosen
 * run/tag a column with the activations view and, when the run logged
 * statistics, the statistics panel beside it. The app owns the shared
 * selection (step, sample, scale) and forwards it to its views; today it
 * composes one column, and side-by-side comparison will add one column
 * (ActivationsView + StatsView) per run next to it.
 */

import { ApiError } from "./api.js";
import { labelledSelect, nearestIndex, RunTagPicker, StepControl } from "./controls.js";
import { el, clear } from "./dom.js";
import { badgesByLayer, hasStats, layerListing, statsSignature, statsTagFor, STATS_KIND } from "./layerstats.js";
import { viewFor } from "./views/registry.js";
import { emptyState, notice } from "./views/empty.js";
import { StatsView } from "./views/stats.js";

/** Pause between frames while playing, after each frame has been drawn. */
const FRAME_MS = 700;

/** Keys typed into these elements are text, not shortcuts. */
function isTextEntry(target) {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  return target instanceof HTMLInputElement && !["range", "radio", "checkbox", "button"].includes(target.type);
}

export class App {
  /**
   * @param {HTMLElement} root
   * @param {{api: import("./api.js").Api}} options
   */
  constructor(root, { api }) {
    this.api = api;
    this.root = root;
    /** @type {import("./api.js").TagListing} */
    this.listing = {};
    /** @type {string|null} */ this.run = null;
    /** @type {string|null} */ this.tag = null;
    /** @type {number[]} */ this.steps = [];
    this.index = -1;
    /** @type {number|null} the step the user chose; kept across run/tag changes */
    this.wantedStep = null;
    this.sample = 0;
    /** @type {"layer"|"channel"} */
    this.colourScale = "layer";
    this.playing = false;
    /** @type {any} the view of the shown tag (see views/registry.js) */
    this.view = null;
    /** @type {StatsView|null} the statistics panel, when the run logged statistics for the layer */
    this.statsView = null;
    /** @private @type {Map<string, string>} per run: what its statistics looked like at the last listing */
    this._statsSignatures = new Map();
    this._selectToken = 0;
    this._playToken = 0;
    this._refreshing = false;

    this.picker = new RunTagPicker({ onChange: (run, tag) => this.select(run, tag) });
    this.sampleSelect = labelledSelect({
      label: "Sample",
      options: [["0", "Sample 0"]],
      onChange: (v) => this.setSample(Number(v)),
    });
    this.scaleSelect = labelledSelect({
      label: "Colour scale",
      options: [
        ["layer", "Shared across the layer"],
        ["channel", "Per channel (unit)"],
      ],
      value: "layer",
      onChange: (v) => this.setColourScale(v === "channel" ? "channel" : "layer"),
      hint: "Shared keeps channels comparable; per channel reveals detail in quiet channels.",
    });
    this.stepControl = new StepControl({
      onIndex: (i) => {
        this.pause();
        this.wantedStep = this.steps[i];
        this.showIndex(i);
      },
      onTogglePlay: () => this.togglePlay(),
    });
    this.viewsArea = el("div", { class: "views" });
    this.sidebar = el("aside", { class: "sidebar", "aria-label": "Choose what to show" }, [
      el("div", { class: "brand" }, [
        el("div", { class: "brand-title", text: "Internals" }),
        el("div", { class: "brand-sub", text: "Layer activations over training" }),
      ]),
      this.picker.element,
      this.sampleSelect.element,
      this.scaleSelect.element,
      el("div", { class: "keys", "aria-label": "Keyboard shortcuts" }, [
        el("div", { class: "control-label", text: "Keyboard" }),
        keyLine(["Space", "k"], "play / pause"),
        keyLine(["j", "l"], "previous / next step"),
        keyLine(["←", "→"], "step, on the slider"),
        keyLine(["/"], "filter layers"),
      ]),
    ]);
    this.main = el("main", { class: "main" }, [el("div", { class: "toolbar" }, [this.stepControl.element]), this.viewsArea]);
    this.shell = el("div", { class: "app" }, [this.sidebar, this.main]);
    this.page = el("div", { class: "page" });
    root.append(this.page);
    document.addEventListener("keydown", (e) => this._onKey(e));
  }

  /** Loads the tag listing and shows the first layer (or the empty state). */
  async start() {
    await this.refresh();
  }

  /**
   * Re-reads the tag listing (at start and after TensorBoard reloads),
   * keeping the selection when it still exists.
   */
  async refresh() {
    if (this._refreshing) return;
    this._refreshing = true;
    try {
      let listing;
      try {
        listing = await this.api.tags();
      } catch (e) {
        if (this.view === null) this._showPage(notice("Could not load the layer list", errorText(e)));
        return;
      }
      this.listing = listing;
      const statsChanged = this._noteStatsChanges(listing);
      if (Object.keys(listing).length === 0) {
        this._destroyView();
        this.run = this.tag = null;
        this._showPage(emptyState());
        return;
      }
      const first = this.page.firstChild !== this.shell;
      if (first) this._showPage(this.shell);
      const before = { run: this.run, tag: this.tag };
      const { run, tag } = this.picker.setListing(layerListing(listing), this.run, this.tag);
      if (run !== null && tag !== null && (first || run !== before.run || tag !== before.tag)) {
        await this.select(run, tag);
      } else if (run !== null && tag !== null) {
        if (statsChanged.has(run)) {
          this._loadBadges(run);
          if (this.statsView) {
            await this.statsView.reload();
            if (this.view) this.view.refreshMarks();
          }
        }
        await this._refreshSteps();
      }
    } finally {
      this._refreshing = false;
    }
  }

  /**
   * @private
   * Forgets the cached statistics of every run whose statistics tags
   * changed since the last listing (new steps or tags).
   * @param {import("./api.js").TagListing} listing
   * @returns {Set<string>} those runs
   */
  _noteStatsChanges(listing) {
    const changed = new Set();
    for (const [run, infos] of Object.entries(listing)) {
      const signature = statsSignature(infos);
      const before = this._statsSignatures.get(run);
      if (before !== undefined && before !== signature) {
        this.api.forgetStats(run);
        changed.add(run);
      }
      this._statsSignatures.set(run, signature);
    }
    return changed;
  }

  /**
   * @private
   * Puts trouble badges on the layers of `run`, from the run's statistics
   * (one request for all layers, shared with the statistics panel).
   * @param {string} run
   */
  _loadBadges(run) {
    const infos = this.listing[run] || {};
    if (!hasStats(infos)) {
      this.picker.setBadges(run, {});
      return;
    }
    this.api.stats(run).then(
      (series) => {
        // Drop answers overtaken by a reload that changed the run's statistics.
        if (statsSignature(this.listing[run]) === statsSignature(infos)) {
          this.picker.setBadges(run, badgesByLayer(this.listing[run], series));
        }
      },
      () => {} // no badges; the statistics panel says what failed
    );
  }

  /** @private @param {Node} content */
  _showPage(content) {
    if (this.page.firstChild === content) return;
    clear(this.page);
    this.page.append(content);
  }

  /** @private */
  _destroyView() {
    if (this.view) this.view.destroy();
    if (this.statsView) this.statsView.destroy();
    this.view = null;
    this.statsView = null;
    clear(this.viewsArea);
  }

  /**
   * Shows the logged step nearest to `step` (a step picked on a chart).
   * @param {number} step
   */
  jumpToStep(step) {
    const i = nearestIndex(this.steps, step);
    if (i < 0) return;
    this.pause();
    this.wantedStep = step;
    this.showIndex(i);
  }

  /**
   * Shows `tag` of `run`, at the available step nearest the user's step.
   * @param {string} run
   * @param {string} tag
   */
  async select(run, tag) {
    const token = ++this._selectToken;
    this.run = run;
    this.tag = tag;
    this.picker.select(run, tag);
    this._destroyView();
    this._loadBadges(run);
    const infos = this.listing[run] || {};
    const info = infos[tag] || {};
    if (info.error) {
      this.steps = [];
      this.stepControl.setSteps([]);
      this.viewsArea.append(
        el("div", { class: "tag-error" }, [
          notice(`This layer can't be shown: ${tag}`, info.error),
        ])
      );
      return;
    }
    // One column per run: the activations, and the statistics beside them.
    const body = el("div", { class: "run-body" });
    this.viewsArea.append(el("div", { class: "run-column" }, [body]));
    const statsRef = statsTagFor(infos, tag);
    if (info.kind === STATS_KIND) {
      await this._selectStatsOnly(run, tag, body, token);
      return;
    }
    const View = viewFor(info.kind);
    this.view = new View(body, {
      api: this.api,
      run,
      tag,
      info,
      colourScale: this.colourScale,
      sample: this.sample,
      onLoad: (_tensor, plan) => this._onViewLoad(plan.batch),
      unitMarks: (step) => (this.statsView ? this.statsView.unitMarksAt(step) : null),
      navigate: (/** @type {string} */ toRun, /** @type {string} */ toTag) => this.select(toRun, toTag),
    });
    if (statsRef) this.statsView = this._makeStatsView(body, run, statsRef, info.shape);
    let steps;
    try {
      ({ steps } = await this.api.steps(run, tag));
    } catch (e) {
      if (token !== this._selectToken) return;
      this.steps = [];
      this.stepControl.setSteps([]);
      if (this.view) this.view.showMessage(`Could not list the steps of ${tag}: ${errorText(e)}`);
      return;
    }
    if (token !== this._selectToken) return;
    this._setSteps(steps);
    if (steps.length === 0) {
      if (this.view) this.view.showMessage("No steps logged for this layer yet.");
      return;
    }
    const wanted = this.wantedStep === null ? steps[steps.length - 1] : this.wantedStep;
    await this.showIndex(nearestIndex(steps, wanted));
  }

  /**
   * @private
   * @param {HTMLElement} container
   * @param {string} run
   * @param {{tag: string, info: import("./api.js").TagInfo}} ref the statistics tag
   * @param {number[]} [layerShape]
   */
  _makeStatsView(container, run, ref, layerShape) {
    const statsView = new StatsView(container, {
      api: this.api,
      run,
      tag: ref.tag,
      info: ref.info,
      layerShape,
      onStep: (step) => this.jumpToStep(step),
      onLoad: () => {
        if (this.view && this.statsView === statsView) this.view.refreshMarks();
      },
    });
    return statsView;
  }

  /**
   * @private
   * A statistics tag listed on its own: its layer's activations were not
   * logged (e.g. too large), so only the statistics panel shows; its steps
   * come from the statistics.
   */
  async _selectStatsOnly(run, tag, body, token) {
    body.append(
      el("div", { class: "stats-only" }, [
        notice(
          "Only statistics were logged for this layer",
          "Its activations are not in this run (for example, the layer output was larger than max_values), so there " +
            "is no picture of them; the statistics below were computed from the full output.",
          "info"
        ),
      ])
    );
    this.statsView = this._makeStatsView(body, run, { tag, info: (this.listing[run] || {})[tag] || {} });
    const series = await this.statsView.ready;
    if (token !== this._selectToken) return;
    this._setSteps(series ? series.steps : []);
    if (this.steps.length === 0) return;
    const wanted = this.wantedStep === null ? this.steps[this.steps.length - 1] : this.wantedStep;
    await this.showIndex(nearestIndex(this.steps, wanted));
  }

  /** @private @param {number[]} steps */
  _setSteps(steps) {
    this.steps = steps.slice().sort((a, b) => a - b);
    this.stepControl.setSteps(this.steps);
  }

  /** @private Picks up new steps of the current tag after a reload. */
  async _refreshSteps() {
    if (this.run === null || this.tag === null || !(this.view || this.statsView)) return;
    const { run, tag } = this;
    let steps;
    if (this.view) {
      try {
        ({ steps } = await this.api.steps(run, tag));
      } catch (_) {
        return; // keep showing what we have
      }
    } else {
      const series = /** @type {StatsView} */ (this.statsView).series;
      if (!series) return;
      steps = series.steps;
    }
    if (run !== this.run || tag !== this.tag) return;
    const atEnd = this.index === this.steps.length - 1;
    const previousStep = this.steps[this.index];
    this._setSteps(steps);
    if (this.steps.length === 0) return;
    // Follow new steps when the user was watching the latest one.
    if (atEnd && !this.playing) this.wantedStep = this.steps[this.steps.length - 1];
    const target = atEnd && !this.playing ? this.steps.length - 1 : nearestIndex(this.steps, previousStep ?? 0);
    await this.showIndex(target);
  }

  /**
   * Moves to step index `i` of the current tag and waits until it is drawn.
   * @param {number} i
   */
  async showIndex(i) {
    if (i < 0 || i >= this.steps.length) return;
    this.index = i;
    this.stepControl.setIndex(i, this.wantedStep);
    if (this.statsView) this.statsView.setStep(this.steps[i]);
    if (this.view) await this.view.setStep(this.steps[i]);
  }

  /** @private @param {number} batch */
  _onViewLoad(batch) {
    const options = [];
    for (let s = 0; s < batch; s++) options.push([String(s), `Sample ${s}`]);
    const count = Math.max(1, batch);
    if (this.sample >= count) this.setSample(count - 1);
    this.sampleSelect.setOptions(options.length ? options : [["0", "No batch axis"]], String(this.sample));
    this.sampleSelect.select.disabled = batch <= 1;
  }

  /** @param {number} sample */
  setSample(sample) {
    this.sample = sample;
    this.sampleSelect.select.value = String(sample);
    if (this.view) this.view.setSample(sample);
  }

  /** @param {"layer"|"channel"} mode */
  setColourScale(mode) {
    this.colourScale = mode;
    this.scaleSelect.select.value = mode;
    if (this.view) this.view.setColourScale(mode);
  }

  togglePlay() {
    if (this.playing) this.pause();
    else this.play();
  }

  pause() {
    if (!this.playing) return;
    this.playing = false;
    this._playToken++;
    this.stepControl.setPlaying(false);
  }

  /** Steps through the available steps, one frame after the previous one was drawn. */
  async play() {
    if (this.playing || this.steps.length < 2) return;
    this.playing = true;
    const token = ++this._playToken;
    this.stepControl.setPlaying(true);
    const alive = () => this.playing && token === this._playToken;
    if (this.index === this.steps.length - 1) {
      this.wantedStep = this.steps[0];
      await this.showIndex(0);
    }
    while (alive()) {
      await new Promise((resolve) => window.setTimeout(resolve, FRAME_MS));
      if (!alive() || this.steps.length < 2) break;
      const next = (this.index + 1) % this.steps.length;
      this.wantedStep = this.steps[next];
      await this.showIndex(next); // never more than one fetch in flight
    }
  }

  /** @private @param {KeyboardEvent} e */
  _onKey(e) {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    if (this.page.firstChild !== this.shell) return;
    const target = e.target;
    if (isTextEntry(target)) return;
    const onButton = target instanceof HTMLButtonElement;
    const onRadio = target instanceof HTMLInputElement && target.type === "radio";
    if ((e.key === " " && !onButton && !onRadio) || e.key === "k") {
      e.preventDefault();
      this.togglePlay();
    } else if (e.key === "j" || e.key === "l") {
      e.preventDefault();
      const i = this.index + (e.key === "j" ? -1 : 1);
      if (i >= 0 && i < this.steps.length) {
        this.pause();
        this.wantedStep = this.steps[i];
        this.showIndex(i);
      }
    } else if (e.key === "/") {
      e.preventDefault();
      this.picker.focusFilter();
    }
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

/** @param {unknown} e */
function errorText(e) {
  if (e instanceof ApiError || e instanceof Error) return e.message;
  return String(e);
}
