/**
 * Attention entropy over steps (`/attention_summary`): per head, the mean
 * entropy of its rows at each logged step, so one sees when heads
 * specialise (low entropy: sharp attention); a click on the chart jumps to
 * that step. The mean over heads is also overlaid when runs are compared.
 */

import { LineChart } from "../../charts/line.js";
import { el } from "../../dom.js";
import { meanOverHeads } from "./math.js";

/** Head colours (attention.css .attn-h0 ...), reused beyond. */
export const HEAD_COLOURS = 8;

/**
 * Attention entropy overlaid across compared runs (for an attention tag).
 * @type {import("../../compare_charts.js").CompareSeries}
 */
export const entropySeries = {
  key: "attention-entropy",
  title: "Attention entropy, mean over heads (nats)",
  load: async ({ api, run, tag, listing }) => {
    const info = (listing[run] || {})[tag];
    if (!info || info.error || info.kind !== "attention") return null;
    const series = await api.attentionSummary(run, tag);
    return series.steps.length ? { steps: series.steps, values: meanOverHeads(series) } : null;
  },
};

/** The entropy chart of one attention tag, its shown step marked. */
export class EntropyChart {
  /**
   * @param {{api: any, run: string, tag: string, jumpToStep: ((step: number) => void)|null}} options
   */
  constructor({ api, run, tag, jumpToStep }) {
    /** @private @type {{steps: number[], entropy: number[][], max_entropy: number|null}|null} */ this._series = null;
    /** @private @type {number|null} the shown step */ this._step = null;
    /** @private */ this._destroyed = false;
    /** @private */
    this._chart = new LineChart({
      key: "attention-entropy",
      title: "Attention entropy per head (nats; low = sharp)",
      describe: (i) => this._describe(i),
      label: "mean attention entropy per head",
      onPick: (i) => {
        if (jumpToStep && this._series && i < this._series.steps.length) jumpToStep(this._series.steps[i]);
      },
    });
    this.element = el("div", { class: "attn-entropy" }, [this._chart.element]);
    this._load(api, run, tag);
  }

  /** Marks the shown step. @param {number} step */
  setStep(step) {
    this._step = step;
    this._sync();
  }

  destroy() {
    this._destroyed = true;
  }

  /** @private */
  async _load(api, run, tag) {
    try {
      const series = await api.attentionSummary(run, tag);
      if (this._destroyed || !series || !Array.isArray(series.steps)) return;
      this._series = series;
      const heads = series.entropy.length ? series.entropy[0].length : 0;
      const lines = [];
      for (let h = 0; h < heads; h++) {
        lines.push({ name: `head ${h}`, cls: `attn-h${h % HEAD_COLOURS}`, values: series.entropy.map((/** @type {number[]} */ e) => e[h]) });
      }
      this._chart.spec.domain = [0, series.max_entropy || 1];
      this._chart.setData(series.steps, lines);
      this._sync();
    } catch (e) {
      if (!this._destroyed) this.element.append(el("p", { class: "attn-note", text: `No entropy chart: ${e instanceof Error ? e.message : e}` }));
    }
  }

  /** @private @param {number} i */
  _describe(i) {
    const s = this._series;
    if (!s || !s.entropy[i]) return "";
    return s.entropy[i].map((v, h) => `h${h} ${v.toFixed(2)}`).join(" · ");
  }

  /** @private */
  _sync() {
    if (!this._series || this._step === null) return;
    this._chart.setCurrent(this._step, this._series.steps.indexOf(this._step));
  }
}
