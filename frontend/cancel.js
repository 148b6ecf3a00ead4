/**
 * The one cancellation helper: a generation of work that a newer one
 * supersedes (the newest selection, the newest step shown, the current
 * playback loop, the newest load of a panel).
 *
 *   const gen = new Generation();
 *   const ticket = gen.begin();      // supersedes every earlier ticket
 *   await somethingSlow(ticket.signal);
 *   if (!ticket.live) return;        // a newer begin() or cancel() happened
 *
 * Each ticket carries an AbortSignal, aborted when it is superseded, for
 * work that can stop early. Pure (no DOM); unit-tested under node.
 */

export class Ticket {
  /** @param {Generation} generation @param {number} n @param {AbortController} controller */
  constructor(generation, n, controller) {
    /** @private */ this._generation = generation;
    /** @private */ this._n = n;
    /** Aborted once this ticket is superseded or cancelled. */
    this.signal = controller.signal;
  }

  /** Whether this is still the newest ticket of its generation (and not cancelled). */
  get live() {
    return this._generation._n === this._n;
  }
}

export class Generation {
  constructor() {
    /** @package the number of the newest ticket */ this._n = 0;
    /** @private @type {AbortController|null} */ this._controller = null;
    /** @private @type {Ticket|null} */ this._current = null;
  }

  /** Starts new work, superseding all earlier tickets. @returns {Ticket} */
  begin() {
    this._abort();
    const controller = new AbortController();
    this._controller = controller;
    this._current = new Ticket(this, ++this._n, controller);
    return this._current;
  }

  /** The newest ticket, still live, without superseding it (null after cancel() or before any begin()). */
  get current() {
    return this._current && this._current.live ? this._current : null;
  }

  /** Supersedes every ticket without starting new work (e.g. pause, destroy). */
  cancel() {
    this._n++;
    this._abort();
  }

  /** @private */
  _abort() {
    if (this._controller) this._controller.abort();
    this._controller = null;
  }
}
