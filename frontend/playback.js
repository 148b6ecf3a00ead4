/**
 * Playback through the steps (one frame after the previous one was drawn,
 * so never more than one step's fetch in flight) and the tab's keyboard
 * shortcuts (Space/k play, j/l previous/next step, / filter layers).
 */

import { Generation } from "./cancel.js";

/** Pause between frames while playing, after each frame has been drawn. */
export const FRAME_MS = 700;

export class Playback {
  /**
   * @param {{count: () => number, index: () => number, show: (index: number) => Promise<void>,
   *   onPlaying: (playing: boolean) => void}} hooks count/index: the steps and the one shown;
   *   show: moves to a step index (the user's wanted step) and resolves once it is drawn
   */
  constructor(hooks) {
    /** @private */ this._hooks = hooks;
    /** @private */ this._loop = new Generation();
    this.playing = false;
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  pause() {
    if (!this.playing) return;
    this.playing = false;
    this._loop.cancel();
    this._hooks.onPlaying(false);
  }

  /** Steps through the available steps until paused. */
  async play() {
    const { count, index, show, onPlaying } = this._hooks;
    if (this.playing || count() < 2) return;
    this.playing = true;
    const ticket = this._loop.begin();
    onPlaying(true);
    if (index() === count() - 1) await show(0);
    while (ticket.live) {
      await new Promise((resolve) => window.setTimeout(resolve, FRAME_MS));
      if (!ticket.live || count() < 2) break;
      await show((index() + 1) % count());
    }
  }
}

/** Keys typed into these elements are text, not shortcuts. @param {EventTarget|null} target */
export function isTextEntry(target) {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  return target instanceof HTMLInputElement && !["range", "radio", "checkbox", "button"].includes(target.type);
}

/**
 * Listens for the tab's shortcuts on `doc`.
 * @param {Document} doc
 * @param {{active: () => boolean, togglePlay: () => void, stepBy: (delta: number) => void, focusFilter: () => void}} on
 *   active: whether the tab's shell is showing (not the empty state)
 */
export function listenForShortcuts(doc, { active, togglePlay, stepBy, focusFilter }) {
  doc.addEventListener("keydown", (e) => {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || !active()) return;
    const target = e.target;
    if (isTextEntry(target)) return;
    const onButton = target instanceof HTMLButtonElement;
    const onRadio = target instanceof HTMLInputElement && target.type === "radio";
    if ((e.key === " " && !onButton && !onRadio) || e.key === "k") {
      e.preventDefault();
      togglePlay();
    } else if (e.key === "j" || e.key === "l") {
      e.preventDefault();
      stepBy(e.key === "j" ? -1 : 1);
    } else if (e.key === "/") {
      e.preventDefault();
      focusFilter();
    }
  });
}
