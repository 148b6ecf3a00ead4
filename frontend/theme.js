/**
 * Light and dark theme following TensorBoard: the host page puts the class
 * `dark-mode` on its <body> (the plugin iframe is same-origin, so we can
 * read it and watch it with a MutationObserver). If the parent cannot be
 * read, fall back to the browser's prefers-color-scheme.
 */

/** Applies the theme to this document. @param {boolean} dark */
export function applyTheme(dark) {
  const root = document.documentElement;
  root.dataset.theme = dark ? "dark" : "light";
  root.style.colorScheme = dark ? "dark" : "light";
}

export class ThemeWatcher {
  /** @param {(dark: boolean) => void} onChange called at start and on every change */
  constructor(onChange) {
    this._onChange = onChange;
    /** @type {MutationObserver|null} */
    this._observer = null;
    /** @type {MediaQueryList|null} */
    this._media = null;
    this._onMedia = () => this._emit(Boolean(this._media && this._media.matches));
    /** @type {boolean|null} */
    this._dark = null;
  }

  start() {
    const body = parentBody();
    if (body) {
      const read = () => this._emit(body.classList.contains("dark-mode"));
      try {
        this._observer = new MutationObserver(read);
        this._observer.observe(body, { attributes: true, attributeFilter: ["class"] });
        read();
        return;
      } catch (_) {
        this._observer = null; // fall through to the media query
      }
    }
    this._media = window.matchMedia("(prefers-color-scheme: dark)");
    this._media.addEventListener("change", this._onMedia);
    this._onMedia();
  }

  stop() {
    if (this._observer) this._observer.disconnect();
    if (this._media) this._media.removeEventListener("change", this._onMedia);
    this._observer = null;
    this._media = null;
  }

  /** @private @param {boolean} dark */
  _emit(dark) {
    if (dark === this._dark) return;
    this._dark = dark;
    this._onChange(dark);
  }
}

/** The host page's <body>, or null when there is no readable parent. */
function parentBody() {
  try {
    if (window.parent === window) return null;
    return window.parent.document.body || null;
  } catch (_) {
    return null; // cross-origin parent
  }
}
