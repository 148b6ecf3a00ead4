/**
 * Loads and shows only the latest step asked for.
 *
 * Views call `request(step)` as the slider moves or playback runs. At most
 * one load runs at a time; steps asked for meanwhile are coalesced to the
 * newest, and a result that is no longer wanted is dropped, so scrubbing
 * and playback never pile up fetches or paint stale steps.
 */
export class LatestStep {
  /**
   * @param {{
   *   load: (step: number) => Promise<any>,
   *   show: (step: number, value: any) => void,
   *   fail: (step: number, error: unknown) => void,
   *   shownStep: () => number|null,
   *   alive: () => boolean,
   *   busy?: (on: boolean) => void,
   * }} hooks `load` fetches a step; `show` / `fail` paint it or its error;
   *   `shownStep` is the step on screen; `alive` is false once the view is destroyed
   */
  constructor(hooks) {
    this._hooks = hooks;
    /** @type {number|null} the newest step asked for */
    this.wanted = null;
    /** @private @type {number|null} the last step loaded (shown or failed) */
    this._loaded = null;
    /** @private @type {Promise<void>|null} */
    this._running = null;
  }

  /**
   * Asks for `step`; asking again for a step that is not on screen (e.g. it
   * failed) retries it.
   * @param {number} step
   * @returns {Promise<void>} settles once the newest step asked for is shown or failed
   */
  request(step) {
    this.wanted = step;
    if (this._hooks.shownStep() !== step) this._loaded = null;
    if (!this._running) {
      this._running = this._pump().finally(() => {
        this._running = null;
      });
    }
    return this._running;
  }

  /** @private */
  async _pump() {
    const hooks = this._hooks;
    while (hooks.alive() && this.wanted !== null && this.wanted !== this._loaded) {
      const step = this.wanted;
      if (hooks.busy) hooks.busy(true);
      try {
        const value = await hooks.load(step);
        if (!hooks.alive()) return;
        this._loaded = step;
        if (step === this.wanted) hooks.show(step, value);
      } catch (e) {
        if (!hooks.alive()) return;
        this._loaded = step;
        if (step === this.wanted) hooks.fail(step, e);
      } finally {
        if (hooks.busy) hooks.busy(false);
      }
    }
  }
}
