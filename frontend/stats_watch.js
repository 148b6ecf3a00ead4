/**
 * Keeps the picker's trouble badges in step with each run's statistics:
 * notices which runs' statistics changed at a reload (and forgets their
 * cached series), and puts badges on a run's layers from one /stats request
 * (shared with the statistics panel through the Api's cache).
 */

import { badgesByLayer, hasStats, statsSignature } from "./layerstats.js";

export class StatsWatch {
  /** @param {import("./api.js").Api} api @param {{setBadges: (run: string, badges: any) => void}} picker */
  constructor(api, picker) {
    this.api = api;
    this.picker = picker;
    /** @type {import("./api.js").TagListing} the listing last noted */ this.listing = {};
    /** @private @type {Map<string, string>} per run: what its statistics looked like at the last listing */
    this._signatures = new Map();
  }

  /**
   * Takes a new listing; forgets the cached statistics of every run whose
   * statistics tags changed since the last one (new steps or tags).
   * @param {import("./api.js").TagListing} listing
   * @returns {Set<string>} those runs
   */
  note(listing) {
    this.listing = listing;
    const changed = new Set();
    for (const [run, infos] of Object.entries(listing)) {
      const signature = statsSignature(infos);
      const before = this._signatures.get(run);
      if (before !== undefined && before !== signature) {
        this.api.forgetStats(run);
        changed.add(run);
      }
      this._signatures.set(run, signature);
    }
    return changed;
  }

  /** Puts trouble badges on the layers of `run`. @param {string} run */
  loadBadges(run) {
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
}
