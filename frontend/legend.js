/**
 * The colour legend: the map as a bar with its value range, and swatches
 * for NaN, +Inf and -Inf (colours outside the map) with their counts.
 */

import { cssColour, LUT_SIZE } from "./colormap.js";
import { el } from "./dom.js";
import { formatCount, formatTick } from "./format.js";

export class Legend {
  /** @param {import("./colormap.js").Colormap} colormap */
  constructor(colormap) {
    this.colormap = colormap;
    const bar = el("canvas", { class: "legend-bar", width: LUT_SIZE, height: 1, "aria-hidden": "true" });
    const ctx = /** @type {CanvasRenderingContext2D} */ (bar.getContext("2d"));
    const image = ctx.createImageData(LUT_SIZE, 1);
    image.data.set(colormap.lut);
    ctx.putImageData(image, 0, 0);
    this._lo = el("span", { class: "legend-tick legend-lo" });
    this._mid = el("span", { class: "legend-tick legend-mid" });
    this._hi = el("span", { class: "legend-tick legend-hi" });
    this._mode = el("div", { class: "legend-mode" });
    /** @type {Object<string, HTMLElement>} */
    this._counts = {};
    const specials = [
      ["nan", "NaN", colormap.nan],
      ["posInf", "+Inf", colormap.posInf],
      ["negInf", "-Inf", colormap.negInf],
    ].map(([key, name, rgb]) => {
      const count = el("span", { class: "legend-count", text: "0" });
      this._counts[/** @type {string} */ (key)] = count;
      return el("span", { class: "legend-special", dataset: { kind: key } }, [
        el("span", { class: "swatch", style: { background: cssColour(/** @type {any} */ (rgb)) } }),
        el("span", { class: "legend-special-name", text: name }),
        count,
      ]);
    });
    this.element = el("div", { class: "legend", role: "group", "aria-label": "colour legend" }, [
      el("div", { class: "legend-scale" }, [
        el("div", { class: "legend-bar-wrap" }, [bar, el("div", { class: "legend-ticks" }, [this._lo, this._mid, this._hi])]),
        this._mode,
      ]),
      el("div", { class: "legend-specials", title: "Non-finite values, painted in colours outside the map" }, specials),
    ]);
  }

  /**
   * @param {{mode: "layer"|"channel", lo: number, hi: number,
   *          nan: number, posInf: number, negInf: number, channels: number, noun?: string,
   *          shared?: boolean, symmetric?: boolean, name?: string, clipped?: number, extra?: string, channelWhere?: string|null}} state
   *   lo/hi: the shared range (layer mode) or the range over all channels;
   *   name: what the range is (the colour-scale mode, see scales.js); clipped: values beyond it;
   *   channelWhere: what each channel's own range spans (scales.js; default: this step)
   */
  update({ mode, lo, hi, nan, posInf, negInf, channels, noun = "channels", shared = false, symmetric = false, name, clipped = 0, extra, channelWhere = null }) {
    this.element.dataset.mode = mode;
    this.element.dataset.lo = String(lo);
    this.element.dataset.hi = String(hi);
    this.element.dataset.clipped = String(clipped);
    this.element.classList.toggle("legend-clipped", clipped > 0);
    if (mode === "layer") {
      this._lo.textContent = (clipped ? "≤ " : "") + formatTick(lo);
      this._mid.textContent = hi > lo ? formatTick((lo + hi) / 2) : "";
      this._hi.textContent = (clipped ? "≥ " : "") + formatTick(hi);
      const where = shared ? "shared across the compared panels" : "shared across the layer (all samples)";
      const text = name || `Colour range ${where}${symmetric ? ", centred on zero" : ""}`;
      this._mode.textContent =
        (hi > lo ? text : `${text}: all values equal`) +
        (clipped ? ` · ${formatCount(clipped)} value${clipped === 1 ? "" : "s"} beyond, painted at the ends (clipped)` : "") +
        (extra ? ` · ${extra}` : "");
    } else {
      this._lo.textContent = "own min";
      this._mid.textContent = "";
      this._hi.textContent = "own max";
      this._mode.textContent =
        channels > 1
          ? `Each of ${channels} ${noun} scaled to its own range ${channelWhere || "at this step"}${shared ? " across the compared panels" : ""}` +
            `${symmetric ? ", centred on zero" : ""} (layer: ${formatTick(lo)} … ${formatTick(hi)})` +
            (clipped ? ` · ${formatCount(clipped)} value${clipped === 1 ? "" : "s"} beyond, painted at the ends (clipped)` : "") +
            (extra ? ` · ${extra}` : "")
          : `One range: ${formatTick(lo)} … ${formatTick(hi)}`;
    }
    for (const [key, n] of Object.entries({ nan, posInf, negInf })) {
      this._counts[key].textContent = formatCount(n);
      /** @type {HTMLElement} */ (this._counts[key].parentElement).classList.toggle("legend-zero", n === 0);
    }
  }
}
