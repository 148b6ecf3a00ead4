/**
 * The Internals tab, wired: the host and the URL state, the toolbar and
 * picker (toolbar.js), the planner (plan.js) that says what each column
 * shows, the panel manager (columns.js) that builds and paints them, and
 * playback (playback.js). App owns the shared selection (runs, tag, mode,
 * reference, step, sample, colour scale and range) and forwards it; work
 * a newer choice supersedes is dropped through one helper (cancel.js).
 */

import { errorMessage } from "./api.js";
import { Generation } from "./cancel.js";
import { Columns } from "./columns.js";
import { offeredRuns } from "./compare.js";
import { clear } from "./dom.js";
import { landingTag } from "./layers.js";
import { layerListing, STATS_KIND } from "./layerstats.js";
import { comparedRuns, nearestIndex, planColumns } from "./plan.js";
import { listenForShortcuts, Playback } from "./playback.js";
import { StatsWatch } from "./stats_watch.js";
import { Toolbar } from "./toolbar.js";
import { applyUrlState, lostFromLink, UrlState, urlStateOf } from "./urlstate.js";
import { emptyState, notice, staleLinkNotice, tagError } from "./notices.js";

export class App {
  /**
   * @param {HTMLElement} root
   * @param {{api: import("./api.js").Api, host?: import("./host.js").Host}} options
   */
  constructor(root, { api, host }) {
    this.api = api;
    // The shared selection (see urlstate.js ViewChoice): the compared runs (runs[0] is the picker's run,
    // "A" of a difference), how they are compared, and how the picture is drawn (scales.js).
    /** @type {string[]} */ this.runs = [];
    /** @type {string|null} */ this.run = null;
    /** @type {string|null} */ this.tag = null;
    /** @type {"side"|"diff-runs"|"diff-step"} */ this.mode = "side";
    /** @type {number|null} the reference step of "diff-step" */ this.refStep = null;
    /** @type {import("./scales.js").ScaleMode} */ this.rangeMode = "fixed";
    /** @type {"layer"|"channel"} */ this.colourScale = "layer";
    this.sharedScale = true;
    this.sample = 0;
    /** @type {number|null} the step the user chose; kept across run/tag changes */ this.wantedStep = null;
    /** @type {number[]} the slider's steps (the union over panels) */ this.steps = [];
    this.index = -1;
    /** @type {Map<string, number[]>} each involved run's steps of the tag */ this.stepsOf = new Map();
    /** @type {import("./api.js").TagListing} */ this.listing = {};
    /** @type {string[]|null} TensorBoard's runs (host GetRuns / RunsChanged); null: no host */ this.hostRuns = null;
    /** @private newest selection, newest step shown */ this._selecting = new Generation();
    /** @private */ this._showing = new Generation();
    /** @private */ this._restoring = false;
    /** @private */ this._refreshing = false;
    /** @private @type {{runs: string[], tag: string|null}|null} what a link asked for, checked once the listing is known */
    this._urlWanted = null;
    /** @private @type {HTMLElement|null} */ this._staleNotice = null;
    this.urlState = new UrlState({ host, onPop: (state) => this._applyUrl(state, true) });
    this.ui = new Toolbar({
      onPick: (run, tag) => this.select(run, tag),
      onRuns: (runs) => runs.length && this._change(() => ([this.runs, this.run] = [runs.slice(), runs[0]]), true),
      onMode: (mode) => this._change(() => (this.mode = mode), true),
      onRef: (step) => this._change(() => (this.refStep = step), true),
      onSample: (sample) => this.setSample(sample),
      onRange: (mode) => this._change(() => (this.rangeMode = mode), false),
      onColourScale: (scale) => this.setColourScale(scale),
      onShared: (on) => this._change(() => (this.sharedScale = on), false),
      onIndex: (i) => this._goTo(i, this.steps[i]),
      onTogglePlay: () => this.playback.toggle(),
    });
    this.picker = this.ui.picker;
    this.badges = new StatsWatch(api, this.picker);
    this.panels = new Columns(this.ui.viewsArea, {
      api,
      onLoad: (batch) => this._onViewLoad(batch),
      navigate: (run, tag) => this.select(run, tag),
      jumpToStep: (step) => this.jumpToStep(step),
      onRangesReady: () => {
        if (this.index >= 0 && !this.playback.playing) this.showIndex(this.index);
      },
    });
    this.playback = new Playback({
      count: () => this.steps.length,
      index: () => this.index,
      show: (i) => {
        this.wantedStep = this.steps[i];
        return this.showIndex(i);
      },
      onPlaying: (on) => this.ui.stepControl.setPlaying(on),
    });
    this.page = document.createElement("div");
    this.page.className = "page";
    root.append(this.page);
    listenForShortcuts(document, {
      active: () => this.page.firstChild === this.ui.shell,
      togglePlay: () => this.playback.toggle(),
      stepBy: (d) => {
        const i = this.index + d;
        if (i >= 0 && i < this.steps.length) this._goTo(i, this.steps[i]);
      },
      focusFilter: () => this.picker.focusFilter(),
    });
  }

  /** The view of the shown tag (the first column's; see views/kinds.js), or null. */
  get view() {
    return this.panels.view;
  }

  /** Loads the tag listing and shows the first layer (or the empty state), as the URL says. */
  async start() {
    this._applyUrl(await this.urlState.read(), false);
    await this.refresh();
  }

  /**
   * Takes the state of a URL (at start, or back/forward).
   * @param {import("./urlstate.js").UrlState} state
   * @param {boolean} show whether to show it now (else the first refresh does)
   */
  _applyUrl(state, show) {
    this.playback.pause();
    this._urlWanted = { runs: state.runs ? state.runs.slice() : [], tag: state.tag || null };
    applyUrlState(/** @type {any} */ (this), state);
    this.ui.reflect(this);
    if (show && this.run !== null && this.tag !== null && this.listing[this.run]) {
      this._restoring = true;
      this.select(this.run, this.tag).finally(() => (this._restoring = false));
    }
  }

  /** @private Writes the view state into the URL. @param {boolean} [replace] */
  _saveUrl(replace = false) {
    if (this._restoring || this.run === null || this.tag === null) return;
    this.urlState.write(urlStateOf(/** @type {any} */ (this), this.steps[this.index]), { replace: replace || this.playback.playing });
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
    this.ui.checklist.setRuns(offeredRuns(all, this.hostRuns), all, this.runs);
  }

  /**
   * @private An option changed: replan the columns (`replan`: what they show changed) or repaint them.
   * @param {() => void} apply @param {boolean} replan
   */
  async _change(apply, replan) {
    apply();
    this.ui.reflect(this);
    // The change is recorded now, as the user made it: written after the
    // work below, a quick second change would already be in the state and
    // this one would get no history entry of its own.
    this._saveUrl();
    if (replan && this.run !== null && this.tag !== null) await this.select(this.run, this.tag, { keepRuns: true });
    else if (!replan && this.index >= 0) await this.showIndex(this.index);
    this._saveUrl(true); // what the work resolved (the step shown) updates that entry
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
        if (this.view === null) this._showPage(notice("Could not load the layer list", errorMessage(e)));
        return;
      }
      this.listing = listing;
      const statsChanged = this.badges.note(listing);
      if (Object.keys(listing).length === 0) {
        this.panels.destroy();
        this.run = this.tag = null;
        this._showPage(emptyState());
        return;
      }
      const first = this.page.firstChild !== this.ui.shell;
      if (first) this._showPage(this.ui.shell);
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
          this.badges.loadBadges(run);
          await this.panels.reloadStats();
        }
        await this._refreshSteps();
      }
    } finally {
      this._refreshing = false;
    }
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
    if (this._staleNotice) this._staleNotice.remove();
    const lost = lostFromLink(wanted, listing);
    this._staleNotice = lost.length ? staleLinkNotice(lost, run, tag) : null;
    if (this._staleNotice) this.ui.insertAboveViews(this._staleNotice);
  }

  /** @private @param {Node} content */
  _showPage(content) {
    if (this.page.firstChild === content) return;
    clear(this.page);
    this.page.append(content);
  }

  /**
   * Shows the logged step nearest to `step` (a step picked on a chart).
   * @param {number} step
   */
  jumpToStep(step) {
    const i = nearestIndex(this.steps, step);
    if (i >= 0) this._goTo(i, step);
  }

  /** @private The user moved to step index `i` (wanting `step`): pause, show, record. @param {number} i @param {number} step */
  _goTo(i, step) {
    this.playback.pause();
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
    const ticket = this._selecting.begin();
    const userPick = !keepRuns && !this._restoring;
    this.runs = comparedRuns(this.runs, run, this.run, this.listing, keepRuns);
    this.run = run;
    this.tag = tag;
    this.picker.select(run, tag);
    this._updateChecklist();
    this.panels.destroy();
    this.badges.loadBadges(run);
    const infos = this.listing[run] || {};
    const info = infos[tag] || {};
    if (info.error) {
      this._setSteps([]);
      this.ui.viewsArea.append(tagError(tag, info.error));
      return;
    }
    if (info.kind === STATS_KIND && info.source_tag && infos[info.source_tag]) {
      // Its activations were logged too: they show with the statistics beside them.
      return this.select(run, info.source_tag, { keepRuns });
    }
    if (info.kind === STATS_KIND) {
      // Statistics only: one column, the statistics panel; its steps come from the statistics.
      const series = await this.panels.buildStatsOnly(run, tag, info);
      if (!ticket.live) return;
      this._setSteps(series ? series.steps : []);
      await this._showWanted();
      if (userPick && ticket.live) this._saveUrl();
      return;
    }
    // Step lists of every run involved; then the planner says what each column shows.
    const { stepsOf, errors } = await this.api.stepLists(this.mode === "diff-runs" ? this.runs.slice(0, 2) : this.runs, tag, this.listing);
    if (!ticket.live) return;
    this.stepsOf = stepsOf;
    const plan = planColumns({ runs: this.runs, mode: this.mode, refStep: this.refStep, listing: this.listing, tag, stepsOf, errors });
    this.ui.setComparing(plan);
    this.panels.build(plan, tag, this);
    this._setSteps(plan.steps);
    if (plan.mode === "diff-step") {
      this.refStep = plan.refStep;
      this.ui.setRefSteps(plan.steps, this.refStep);
    }
    if (plan.steps.length === 0) {
      if (this.view && !errors.size) this.view.showMessage("No steps logged for this layer yet.");
      return;
    }
    await this._showWanted();
    if (userPick) this._saveUrl();
  }

  /** @private Shows the step nearest the user's (the latest when none). */
  async _showWanted() {
    if (this.steps.length === 0) return;
    const wanted = this.wantedStep === null ? this.steps[this.steps.length - 1] : this.wantedStep;
    await this.showIndex(nearestIndex(this.steps, wanted));
  }

  /** @private @param {number[]} steps */
  _setSteps(steps) {
    this.steps = steps.slice().sort((a, b) => a - b);
    this.ui.stepControl.setSteps(this.steps);
  }

  /** @private Picks up new steps of the current tag after a reload. */
  async _refreshSteps() {
    const { run, tag, panels } = this;
    if (run === null || tag === null || !(panels.view || panels.statsView)) return;
    const atEnd = this.index === this.steps.length - 1;
    if (panels.comparing || this.mode !== "side") {
      // Comparing: rebuild the panels with every run's new steps.
      if (atEnd && !this.playback.playing) this.wantedStep = null;
      await this.select(run, tag, { keepRuns: true });
      return;
    }
    const steps = await panels.reloadSteps(run, tag);
    if (!steps || run !== this.run || tag !== this.tag) return;
    const previousStep = this.steps[this.index];
    this._setSteps(steps);
    if (this.steps.length === 0) return;
    // Follow new steps when the user was watching the latest one.
    if (atEnd && !this.playback.playing) this.wantedStep = this.steps[this.steps.length - 1];
    const target = atEnd && !this.playback.playing ? this.steps.length - 1 : nearestIndex(this.steps, previousStep ?? 0);
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
    this.ui.stepControl.setIndex(i, this.wantedStep);
    const ticket = this._showing.begin();
    const perChannel = this.colourScale === "channel";
    if (!(await this.panels.show(step, { rangeMode: this.rangeMode, sharedScale: this.sharedScale, perChannel, ticket }))) return;
    if (!this._shownOnce) {
      this._shownOnce = true;
      performance.mark("internals-first-shown"); // the benchmark's "tab open to first painted view"
    }
    document.dispatchEvent(new CustomEvent("internals-shown", { detail: { step } }));
  }

  /** @private @param {number} batch */
  _onViewLoad(batch) {
    const count = Math.max(1, batch);
    if (this.sample >= count) this.setSample(count - 1);
    this.ui.setSamples(batch, this.sample);
  }

  /** @param {number} sample */
  setSample(sample) {
    this.sample = sample;
    this.ui.sampleSelect.select.value = String(sample);
    this.panels.setSample(sample);
    this._saveUrl();
  }

  /** @param {"layer"|"channel"} mode the per-channel scale has ranges of its own: repaint with them */
  setColourScale(mode) {
    this.panels.setColourScale(mode);
    return this._change(() => (this.colourScale = mode), false);
  }
}
