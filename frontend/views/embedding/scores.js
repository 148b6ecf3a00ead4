/**
 * The embedding's scores over steps (`/embedding_scores`), beside the
 * scatter: k-NN label accuracy in the full space and in the projection, and
 * the silhouette score; the shown step marked, hover shared by both charts,
 * a click shows that step.
 */

import { LineChart } from "../../charts/line.js";
import { methodName, num, pct } from "./math.js";

export class ScoreCharts {
  /**
   * @param {{api: any, run: string, tag: string, version: number|string, box: HTMLElement,
   *   method: () => string, alive: () => boolean, jumpToStep: ((step: number) => void)|null}} options
   *   version: the tag's max step (new steps: new scores); box: where the charts go;
   *   method: the projection method in force
   */
  constructor({ api, run, tag, version, box, method, alive, jumpToStep }) {
    Object.assign(this, { _api: api, _run: run, _tag: tag, _version: version, _box: box, _method: method, _alive: alive, _jump: jumpToStep });
    /** @private @type {Promise<void>|null} */ this._pending = null;
    /** @private @type {LineChart[]} */ this._charts = [];
    /** @private @type {number[]} */ this._steps = [];
  }

  /**
   * Marks `step` on the charts, loading them first (again when `reload`: the method changed).
   * @param {number} step @param {boolean} [reload]
   */
  show(step, reload = false) {
    if (!this._pending || reload) {
      const method = this._method();
      this._pending = this._api.embeddingScores(this._run, this._tag, method, this._version).then(
        (/** @type {any} */ scores) => {
          if (!this._alive() || method !== this._method()) return;
          this._build(scores);
        },
        () => {
          this._pending = null; // retried at the next step
        }
      );
    }
    /** @type {Promise<void>} */ (this._pending).then(() => {
      const i = this._steps.indexOf(step);
      for (const chart of this._charts) chart.setCurrent(step, i);
    });
  }

  /** @private @param {any} s */
  _build(s) {
    for (const chart of this._charts) chart.element.remove();
    this._steps = s.steps;
    const method = methodName(this._method());
    const onHover = (/** @type {number|null} */ i) => {
      for (const chart of this._charts) chart.setHover(i);
    };
    const onPick = (/** @type {number} */ i) => {
      if (this._jump && i >= 0 && i < s.steps.length) this._jump(s.steps[i]);
    };
    const knn = new LineChart({
      key: "knn",
      title: "5-NN label accuracy",
      legend: [
        ["full space", "c-max"],
        [method, "c-min"],
      ],
      label: "Leave-one-out 5-nearest-neighbour label accuracy over steps, in the full space and in the projection",
      domain: [0, 1],
      percent: true,
      describe: (i) => `${pct(s.knn_accuracy[i])} full · ${pct(s.knn_accuracy_projected[i])} ${method}`,
      onHover,
      onPick,
    });
    knn.setData(s.steps, [
      { name: "full", cls: "c-max", values: s.knn_accuracy },
      { name: "projected", cls: "c-min", values: s.knn_accuracy_projected },
    ]);
    const sil = new LineChart({
      key: "silhouette",
      title: "Silhouette (full space)",
      label: "Mean silhouette coefficient of the labels in the full space over steps",
      domain: [-1, 1],
      describe: (i) => num(s.silhouette[i]),
      onHover,
      onPick,
    });
    sil.setData(s.steps, [{ name: "silhouette", cls: "c-mean", values: s.silhouette }]);
    this._charts = [knn, sil];
    this._box.append(knn.element, sil.element);
  }
}
