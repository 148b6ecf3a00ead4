/**
 * A chart card (charts/line.js, charts/histogram.js): its title, an
 * optional legend and a value read-out in HTML, above the plot. Text lives
 * here, next to the SVG, so it wraps and reads like the rest of the page.
 */

import { el } from "../dom.js";

export class Card {
  /** @param {{key: string, title: string, legend?: Array<[string, string]>}} spec legend: [label, class] */
  constructor({ key, title, legend = [] }) {
    this.value = el("span", { class: "chart-value", "aria-live": "off" });
    this.plot = el("div", { class: "chart-plot" });
    this.element = el("figure", { class: "chart", dataset: { chart: key } }, [
      el("figcaption", { class: "chart-head" }, [
        el("span", { class: "chart-title", text: title }),
        legend.length
          ? el(
              "span",
              { class: "chart-legend" },
              legend.map(([label, cls]) =>
                el("span", { class: "chart-key" }, [el("span", { class: `chart-swatch ${cls}`, "aria-hidden": "true" }), label])
              )
            )
          : null,
        this.value,
      ]),
      this.plot,
    ]);
  }

  /** The plot's width in CSS px (a default before layout). */
  width() {
    return Math.max(160, Math.floor(this.plot.clientWidth || 300));
  }
}
