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
import { DIVERGING } from "./colormap.js";
import { differenceLoader, nearestStep, RunChecklist, runColourClass } from "./compare.js";
import { columnAt, formatStep, planColumns } from "./plan.js";
import { combineScales, resolveScale, scaleMode, SCALE_MODES } from "./scales.js";
import { CompareCharts } from "./compare_charts.js";
import { UrlState } from "./urlstate.js";
import { labelledSelect, nearestIndex, StepControl } from "./controls.js";
import { RunTagPicker } from "./picker.js";
import { el, clear } from "./dom.js";
import { badgesByLayer, hasStats, layerListing, statsSignature, statsTagFor, STATS_KIND, unitMarksAt } from "./layerstats.js";
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
   * @param {{api: import("./api.js").Api, host?: import("./host.js").Host}} options
   */
  constructor(root, { api, host }) {
    this.api = api;
    /** @type {string[]} the compared runs (runs[0] is the picker's run, "A" of a difference) */
    this.runs = [];
    /** @type {"side"|"diff-runs"|"diff-step"} */
    this.mode = "side";
    /** @type {number|null} the reference step of "diff-step" */
    this.refStep = null;
    /** one colour range across compared panels (else each panel its own) */
    this.sharedScale = true;
    /** @type {import("./scales.js").ScaleMode} which range the colours span (scales.js) */
    this.rangeMode = "fixed";
    /** @type {import("./plan.js").Plan|null} what the columns show (plan.js) */
    this.plan = null;
    /** @type {Map<string, number[]>} each involved run's steps of the tag */
    this.stepsOf = new Map();
    /** @type {string[]|null} TensorBoard's runs (host message GetRuns / RunsChanged); null: no host */
    this.hostRuns = null;
    /**
     * @type {Array<{run: string, view: any, statsView: StatsView|null, steps: number[],
     *   note: HTMLElement, load: ((step: number) => Promise<any>)|null}>}
     */
    this.columns = [];
    /** @type {CompareCharts|null} */
    this.compareCharts = null;
    this.urlState = new UrlState({ host, onPop: (state) => this._applyUrl(state, true) });
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
    this._showToken = 0;
    this._restoring = false;
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
    this.rangeSelect = labelledSelect({
      label: "Colour range",
      options: SCALE_MODES.map(([v, t]) => [v, t]),
      value: "fixed",
      onChange: (v) => this.setRangeMode(scaleMode(v)),
      hint: "Fixed keeps colours comparable while scrubbing and playing; the legend names the range in use.",
    });
    this.checklist = new RunChecklist({ onChange: (runs) => this.setRuns(runs) });
    this.modeSelect = labelledSelect({
      label: "Compare as",
      options: [
        ["side", "Side by side"],
        ["diff-runs", "Difference: run A − run B"],
        ["diff-step", "Difference: step − reference step"],
      ],
      value: "side",
      onChange: (v) => this.setMode(/** @type {any} */ (v)),
      hint: "A and B are the first two ticked runs.",
    });
    this.refSelect = labelledSelect({
      label: "Reference step",
      options: [],
      onChange: (v) => this.setRefStep(Number(v)),
    });
    this.refSelect.element.hidden = true;
    this.sharedBox = el("input", {
      type: "checkbox",
      class: "shared-scale",
      checked: true,
      onchange: () => this.setSharedScale(this.sharedBox.checked),
    });
    this.sharedControl = el("label", { class: "control-check" }, [this.sharedBox, "One colour range across compared panels"]);
    this.stepControl = new StepControl({
      onIndex: (i) => {
        this.pause();
        this.wantedStep = this.steps[i];
        this.showIndex(i).then(() => this._saveUrl());
      },
      onTogglePlay: () => this.togglePlay(),
    });
    this.viewsArea = el("div", { class: "views" });
    this.sidebar = el("aside", { class: "sidebar", "aria-label": "Choose what to show" }, [
      el("div", { class: "brand" }, [
        el("div", { class: "brand-title", text: "Internals" }),
        el("div", { class: "brand-sub", text: "Activations, weights and attention over training" }),
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
    this.viewControls = el("div", { class: "view-controls", role: "group", "aria-label": "How the picture is drawn" }, [
      this.sampleSelect.element,
      this.rangeSelect.element,
      this.scaleSelect.element,
      this.sharedControl,
    ]);
    this.main = el("main", { class: "main" }, [el("div", { class: "toolbar" }, [this.stepControl.element, this.viewControls]), this.viewsArea]);
    this.shell = el("div", { class: "app" }, [this.main, this.sidebar]);
    this.page = el("div", { class: "page" });
    root.append(this.page);
    document.addEventListener("keydown", (e) => this._onKey(e));
  }

  /** Loads the tag listing and shows the first layer (or the empty state), as the URL says. */
  async start() {
    const state = await this.urlState.read();
    this._applyUrl(state, false);
    await this.refresh();
  }

  /**
   * Takes the state of a URL (at start, or back/forward).
   * @param {import("./urlstate.js").UrlState} state
   * @param {boolean} show whether to show it now (else the first refresh does)
   */
  _applyUrl(state, show) {
    this.pause();
    /** @private what a link asked for, checked against the listing once it is known */
    this._urlWanted = { runs: state.runs ? state.runs.slice() : [], tag: state.tag || null };
    if (state.runs && state.runs.length) this.runs = state.runs.slice();
    if (state.tag) this.tag = state.tag;
    if (this.runs.length) this.run = this.runs[0];
    if (typeof state.step === "number") this.wantedStep = state.step;
    if (typeof state.sample === "number") this.sample = state.sample;
    if (state.mode) this.mode = /** @type {any} */ (state.mode);
    this.refStep = typeof state.ref === "number" ? state.ref : null;
    if (state.scale) this.colourScale = /** @type {any} */ (state.scale);
    if (typeof state.shared === "boolean") this.sharedScale = state.shared;
    if (state.range) this.rangeMode = scaleMode(state.range);
    this.rangeSelect.select.value = this.rangeMode;
    this.modeSelect.select.value = this.mode;
    this.scaleSelect.select.value = this.colourScale;
    this.sharedBox.checked = this.sharedScale;
    if (show && this.run !== null && this.tag !== null && this.listing[this.run]) {
      this._restoring = true;
      this.select(this.run, this.tag).finally(() => {
        this._restoring = false;
      });
    }
  }

  /** @private Writes the view state into the URL. @param {boolean} [replace] */
  _saveUrl(replace = false) {
    if (this._restoring || this.run === null || this.tag === null) return;
    const step = this.steps[this.index];
    this.urlState.write(
      {
        runs: this.runs,
        tag: this.tag,
        step: typeof step === "number" ? (this.wantedStep ?? step) : undefined,
        sample: this.sample,
        mode: this.mode,
        ref: this.mode === "diff-step" && this.refStep !== null ? this.refStep : undefined,
        scale: this.colourScale,
        shared: this.sharedScale,
        range: this.rangeMode,
      },
      { replace: replace || this.playing }
    );
  }

  /**
   * TensorBoard's run list changed (host message): offer only its runs.
   * @param {string[]|null} runs
   */
  setHostRuns(runs) {
    this.hostRuns = runs;
    this._updateChecklist();
  }

  /** @private */
  _updateChecklist() {
    const all = Object.keys(this.listing);
    let offered = this.hostRuns ? all.filter((r) => this.hostRuns.includes(r)) : all;
    if (offered.length === 0) offered = all; // an older host that lists nothing: keep ours
    this.checklist.setRuns(offered, all, this.runs);
  }

  /**
   * Compares `runs` (the first is the picker's run).
   * @param {string[]} runs
   */
  async setRuns(runs) {
    if (runs.length === 0 || this.tag === null) return;
    this.runs = runs.slice();
    await this.select(runs[0], this.tag, { keepRuns: true });
    this._saveUrl();
  }

  /** @param {"side"|"diff-runs"|"diff-step"} mode */
  async setMode(mode) {
    this.mode = mode;
    this.modeSelect.select.value = mode;
    if (this.run !== null && this.tag !== null) await this.select(this.run, this.tag, { keepRuns: true });
    this._saveUrl();
  }

  /** @param {number} step */
  async setRefStep(step) {
    this.refStep = step;
    if (this.run !== null && this.tag !== null) await this.select(this.run, this.tag, { keepRuns: true });
    this._saveUrl();
  }

  /** @param {import("./scales.js").ScaleMode} mode */
  async setRangeMode(mode) {
    this.rangeMode = mode;
    this.rangeSelect.select.value = mode;
    if (this.index >= 0) await this.showIndex(this.index);
    this._saveUrl();
  }

  /** @param {boolean} on */
  async setSharedScale(on) {
    this.sharedScale = on;
    this.sharedBox.checked = on;
    if (this.index >= 0) await this.showIndex(this.index);
    this._saveUrl();
  }

  /** Whether more than one panel shows (then compare controls apply). */
  get comparing() {
    return this.columns.length > 1;
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
      // A run's landing page is its architecture overview, until the user picks a layer.
      const landing = this.tag === null && this.run === null ? landingTag(listing) : null;
      this.picker.setFullListing(listing);
      const { run, tag } = this.picker.setListing(layerListing(listing), landing ? landing.run : this.run, landing ? landing.tag : this.tag);
      this._checkUrl(listing, run, tag);
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

  /**
   * @private A run or tag named by the URL that this TensorBoard does not have:
   * said in a notice above the views (not a silent fall-back).
   * @param {import("./api.js").TagListing} listing @param {string|null} run @param {string|null} tag
   */
  _checkUrl(listing, run, tag) {
    const wanted = this._urlWanted;
    this._urlWanted = null;
    if (!wanted) return;
    const lost = [];
    const missingRuns = wanted.runs.filter((r) => !listing[r]);
    if (missingRuns.length) lost.push(`run${missingRuns.length > 1 ? "s" : ""} ${missingRuns.map((r) => `“${r}”`).join(", ")}`);
    const firstRun = wanted.runs.find((r) => listing[r]);
    if (wanted.tag && !(firstRun ? listing[firstRun][wanted.tag] : Object.values(listing).some((t) => t[wanted.tag]))) {
      lost.push(`layer “${wanted.tag}”${firstRun ? ` in run “${firstRun}”` : ""}`);
    }
    if (this.staleNotice) this.staleNotice.remove();
    this.staleNotice = null;
    if (!lost.length) return;
    const close = el("button", { type: "button", class: "stale-close", "aria-label": "Dismiss", text: "×", onclick: () => this.staleNotice && this.staleNotice.remove() });
    this.staleNotice = el("div", { class: "stale-notice", role: "status" }, [
      el("span", { text: `This link names ${lost.join(" and ")}, which this TensorBoard does not have (renamed or deleted?). Showing ` }),
      el("bdi", { text: tag ?? "nothing" }),
      el("span", { text: run ? ` of run ` : "" }),
      run ? el("bdi", { text: run }) : null,
      el("span", { text: " instead." }),
      close,
    ]);
    this.main.insertBefore(this.staleNotice, this.viewsArea);
  }

  /** @private @param {Node} content */
  _showPage(content) {
    if (this.page.firstChild === content) return;
    clear(this.page);
    this.page.append(content);
  }

  /** @private */
  _destroyView() {
    for (const col of this.columns) {
      if (col.view) col.view.destroy();
      if (col.statsView) col.statsView.destroy();
    }
    if (this.view && !this.columns.some((c) => c.view === this.view)) this.view.destroy();
    if (this.statsView && !this.columns.some((c) => c.statsView === this.statsView)) this.statsView.destroy();
    if (this.compareCharts) this.compareCharts.destroy();
    this.columns = [];
    this.compareCharts = null;
    this.view = null;
    this.statsView = null;
    this.viewsArea.classList.remove("views-compare");
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
    this.showIndex(i).then(() => this._saveUrl());
  }

  /**
   * Shows `tag` of `run` (and of the other compared runs), at the available
   * step nearest the user's step.
   * @param {string} run
   * @param {string} tag
   * @param {{keepRuns?: boolean}} [options] keepRuns: `run` is already runs[0]
   */
  async select(run, tag, { keepRuns = false } = {}) {
    const token = ++this._selectToken;
    const userPick = !keepRuns && !this._restoring;
    if (!keepRuns) this.runs = [run, ...this.runs.filter((r) => r !== run && r !== this.run)];
    this.runs = this.runs.filter((r, i) => this.listing[r] && this.runs.indexOf(r) === i);
    if (!this.runs.includes(run)) this.runs.unshift(run);
    this.run = run;
    this.tag = tag;
    this.picker.select(run, tag);
    this._updateChecklist();
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
    if (info.kind === STATS_KIND && info.source_tag && infos[info.source_tag]) {
      // Its activations were logged too: they show with the statistics beside them.
      return this.select(run, info.source_tag, { keepRuns });
    }
    if (info.kind === STATS_KIND) {
      // Statistics only: one column, the statistics panel.
      const body = el("div", { class: "run-body" });
      this.viewsArea.append(el("div", { class: "run-column" }, [body]));
      await this._selectStatsOnly(run, tag, body, token);
      if (userPick && token === this._selectToken) this._saveUrl();
      return;
    }
    // Step lists of every run involved; then the planner says what each column shows.
    const involved = this.mode === "diff-runs" ? this.runs.slice(0, 2) : this.runs;
    const answers = await Promise.all(
      involved.map((r) =>
        (this.listing[r] || {})[tag]
          ? this.api.steps(r, tag).then(
              (a) => ({ run: r, steps: a.steps.slice().sort((x, y) => x - y), error: null }),
              (e) => ({ run: r, steps: [], error: errorText(e) })
            )
          : Promise.resolve({ run: r, steps: [], error: null })
      )
    );
    if (token !== this._selectToken) return;
    /** @type {Map<string, number[]>} */
    const stepsOf = new Map(answers.map((a) => [a.run, a.steps]));
    const errors = new Map(answers.filter((a) => a.error).map((a) => [a.run, /** @type {string} */ (a.error)]));
    const plan = planColumns({ runs: this.runs, mode: this.mode, refStep: this.refStep, listing: this.listing, tag, stepsOf, errors });
    this.plan = plan;
    this.stepsOf = stepsOf;
    const mode = plan.mode;
    const compare = plan.compare;
    this.refSelect.element.hidden = mode !== "diff-step";
    this.sharedControl.hidden = !compare;
    this.viewsArea.classList.toggle("views-compare", compare);
    this.viewsArea.style.setProperty("--columns", String(Math.max(1, plan.columns.length)));
    const allRuns = Object.keys(this.listing);
    if (plan.fallback && this.mode !== "side") this.viewsArea.append(notice("Comparison", plan.fallback, "info"));
    for (const spec of plan.columns) {
      const column = el("div", { class: "run-column", dataset: { run: spec.run, key: spec.key } });
      const note = el("div", { class: "column-note", "aria-live": "off" });
      const body = el("div", { class: "run-body" });
      if (compare) {
        column.append(
          el("div", { class: "column-head" }, [
            el("span", { class: `run-swatch ${runColourClass(spec.run, allRuns)}`, "aria-hidden": "true" }),
            el("bdi", { class: "column-title", title: spec.title, text: spec.title }),
            note,
          ])
        );
      }
      column.append(body);
      this.viewsArea.append(column);
      if (spec.placeholder) {
        body.append(el("p", { class: "column-placeholder", text: spec.placeholder }));
        this.columns.push({ run: spec.run, spec, view: null, statsView: null, steps: [], note, load: null, element: column });
        continue;
      }
      const View = viewFor(spec.kind || info.kind);
      const diff = spec.diff !== "none";
      const load = diff
        ? differenceLoader(this.api, spec, tag, stepsOf, () => (this.plan ? this.plan.refStep : null))
        : (/** @type {number} */ step) => this.api.tensor(spec.run, tag, step);
      const view = new View(body, {
        api: this.api,
        run: spec.run,
        tag,
        info: spec.info,
        colourScale: this.colourScale,
        sample: this.sample,
        onLoad: (/** @type {any} */ _tensor, /** @type {any} */ p) => this._onViewLoad(p.batch),
        unitMarks: (/** @type {number} */ step) =>
          column.statsView ? column.statsView.unitMarksAt(step) : column.markSeries ? unitMarksAt(column.markSeries, step) : null,
        navigate: (/** @type {string} */ toRun, /** @type {string} */ toTag) => this.select(toRun, toTag),
        jumpToStep: (/** @type {number} */ step) => this.jumpToStep(step),
        runTags: this.listing[spec.run] || {},
        ...(diff ? { load, colormap: DIVERGING, symmetric: true, difference: true, title: spec.title } : {}),
      });
      /** @type {any} */
      const col = { run: spec.run, spec, view, statsView: null, steps: spec.steps, note, load, element: column };
      column.statsView = null;
      column.markSeries = null;
      const ref = statsTagFor(this.listing[spec.run] || {}, tag);
      if (ref && !compare) {
        col.statsView = this._makeStatsView(body, spec.run, ref, spec.info.shape);
        column.statsView = col.statsView;
      } else if (ref && !diff) {
        // Compared side by side: no statistics panel per column, but its dead/saturated units still marked.
        const statsTag = ref.tag;
        this.api.stats(spec.run).then(
          (all) => {
            if (token !== this._selectToken || !all[statsTag]) return;
            column.markSeries = all[statsTag];
            view.refreshMarks();
          },
          () => {} // no marks; the overlaid charts say what failed
        );
      }
      this.columns.push(col);
      if (spec.message) view.showMessage(spec.message);
    }
    const viewCol = this.columns.find((c) => c.view);
    this.view = viewCol ? viewCol.view : null;
    this.statsView = viewCol ? viewCol.statsView : null;
    if (compare && this.runs.length > 1) {
      this.compareCharts = new CompareCharts(this.viewsArea, { api: this.api, onStep: (step) => this.jumpToStep(step) });
      this.compareCharts.element.classList.add("compare-charts-row");
      this.compareCharts.setRuns(this.runs, tag, this.listing, (r) => runColourClass(r, allRuns));
    }
    const union = plan.steps;
    this._setSteps(union);
    if (mode === "diff-step") {
      this.refStep = plan.refStep;
      this.refSelect.setOptions(union.map((st) => [String(st), formatStep(st, { capital: true })]), String(this.refStep));
    }
    if (union.length === 0) {
      if (this.view && !errors.size) this.view.showMessage("No steps logged for this layer yet.");
      return;
    }
    const wanted = this.wantedStep === null ? union[union.length - 1] : this.wantedStep;
    await this.showIndex(nearestIndex(union, wanted));
    if (userPick) this._saveUrl();
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
    if (this.columns.length > 1 || this.mode !== "side") {
      // Comparing: rebuild the panels with every run's new steps.
      const atEnd = this.index === this.steps.length - 1;
      if (atEnd && !this.playing) this.wantedStep = null;
      await this.select(run, tag, { keepRuns: true });
      return;
    }
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
    if (this.columns.length === 1) this.columns[0].steps = this.steps;
    if (this.steps.length === 0) return;
    // Follow new steps when the user was watching the latest one.
    if (atEnd && !this.playing) this.wantedStep = this.steps[this.steps.length - 1];
    const target = atEnd && !this.playing ? this.steps.length - 1 : nearestIndex(this.steps, previousStep ?? 0);
    await this.showIndex(target);
  }

  /**
   * Moves to step index `i` of the current tag (every compared panel to its
   * nearest step) and waits until all are drawn; then fires the document
   * event "internals-shown" ({detail: {step}}), e.g. for the benchmark.
   * @param {number} i
   */
  async showIndex(i) {
    if (i < 0 || i >= this.steps.length) return;
    this.index = i;
    const step = this.steps[i];
    this.stepControl.setIndex(i, this.wantedStep);
    const token = ++this._showToken;
    if (this.compareCharts) this.compareCharts.setStep(step);
    const cols = this.columns;
    if (cols.length === 0 && this.statsView) this.statsView.setStep(step); // statistics only
    const plan = this.plan;
    const shown = cols.map((col) => {
      if (!col.view) {
        col.shownStep = null;
        if (col.note) col.note.textContent = "";
        return null;
      }
      const own = nearestStep(col.steps, step);
      col.shownStep = own;
      const at = own === null || !col.spec ? null : columnAt(col.spec, step, plan ? plan.refStep : null, this.stepsOf);
      if (col.note) {
        col.note.textContent = at ? at.label : "no steps";
        col.note.title = col.note.textContent;
        col.note.classList.toggle("column-note-nearest", at !== null && at.nearest);
      }
      return own;
    });
    // The colour range of each panel (scales.js): fixed and robust from the tag's /ranges (cached),
    // per step and differences from the step's tensor (cached); one across panels when shared.
    const scales = await Promise.all(cols.map((col, k) => this._scaleFor(col, shown[k])));
    if (token !== this._showToken) return;
    const common = cols.filter((c) => c.view).length > 1 && this.sharedScale ? combineScales(scales) : null;
    cols.forEach((col, k) => {
      if (col.view && col.view.setScaleRange) col.view.setScaleRange(common || scales[k]);
    });
    await Promise.all(
      cols.map((col, k) => {
        if (col.statsView && shown[k] !== null) col.statsView.setStep(/** @type {number} */ (shown[k]));
        return shown[k] === null || !col.view ? null : col.view.setStep(shown[k]);
      })
    );
    if (token !== this._showToken) return;
    if (!this._shownOnce) {
      this._shownOnce = true;
      performance.mark("internals-first-shown"); // the benchmark's "tab open to first painted view"
    }
    document.dispatchEvent(new CustomEvent("internals-shown", { detail: { step } }));
  }

  /**
   * @private The colour range of a column at its step (null: the view's own).
   * @param {any} col @param {number|null} step
   */
  async _scaleFor(col, step) {
    if (!col.view || !col.view.setScaleRange || step === null || !col.spec) return null;
    const kind = col.spec.kind;
    const difference = col.spec.diff !== "none";
    const mode = this.rangeMode;
    const needsTensor = difference || mode === "step";
    const signed = difference || kind === "weights";
    try {
      if (!needsTensor && mode !== "unit") {
        const tag = /** @type {string} */ (this.tag);
        const version = col.spec.info.max_step ?? "";
        let ranges = this.api.rangesIfReady(col.run, tag, version);
        if (!ranges) {
          // The first request for a tag's ranges can take a while (the backend reads every step once):
          // paint with the step's own range now, named so, and repaint when the whole-tag range is here.
          const pending = this.api.ranges(col.run, tag, version);
          const select = this._selectToken;
          pending.then(
            () => {
              if (select === this._selectToken && this.index >= 0 && !this.playing) this.showIndex(this.index);
            },
            () => {}
          );
          const stats = (await col.load(step)).stats;
          const interim = resolveScale({ mode: "step", signed, difference, attention: kind === "attention", stats, ranges: null });
          return interim && { ...interim, name: `Per step for now (the whole-tag range is loading)${signed ? ", centred on zero" : ""}`, label: "Per step for now" };
        }
        return resolveScale({ mode, signed, difference, attention: kind === "attention", stats: null, ranges });
      }
      const stats = needsTensor ? (await col.load(step)).stats : null;
      return resolveScale({ mode, signed, difference, attention: kind === "attention", stats, ranges: null });
    } catch (_) {
      return null; // the view paints with its own range, and says what failed when its step fails
    }
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
    for (const col of this.columns) if (col.view) col.view.setSample(sample);
    if (!this.columns.length && this.view) this.view.setSample(sample);
    this._saveUrl();
  }

  /** @param {"layer"|"channel"} mode */
  setColourScale(mode) {
    this.colourScale = mode;
    this.scaleSelect.select.value = mode;
    for (const col of this.columns) if (col.view) col.view.setColourScale(mode);
    if (!this.columns.length && this.view) this.view.setColourScale(mode);
    this._saveUrl();
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
        this.showIndex(i).then(() => this._saveUrl());
      }
    } else if (e.key === "/") {
      e.preventDefault();
      this.picker.focusFilter();
    }
  }
}

/**
 * The model summary of the run the picker opens first (runs sorted as the picker sorts them), or null.
 * @param {import("./api.js").TagListing} listing
 */
function landingTag(listing) {
  const runs = Object.keys(listing).sort(new Intl.Collator("en", { numeric: true, sensitivity: "base" }).compare);
  if (!runs.length) return null;
  const tag = Object.keys(listing[runs[0]]).find((t) => listing[runs[0]][t].kind === "model_summary");
  return tag ? { run: runs[0], tag } : null;
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
