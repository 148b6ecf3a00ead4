/**
 * The weight-change series of a weights tag, from the backend
 * (`/weight_change`: ||W_t - W_prev|| / ||W_prev|| and against the first
 * step, one small request per run and tag, cached by the Api), overlaid
 * across compared runs. The weights view draws the same series for one run.
 */

import { registerCompareSeries } from "../compare_charts.js";

// Weight change overlaid across compared runs (for a weights tag): one /weight_change request per run.
registerCompareSeries({
  key: "weight-change",
  title: "Weight change ‖Wₜ − Wₜ₋₁‖ / ‖Wₜ₋₁‖",
  load: async ({ api, run, tag, listing }) => {
    const info = (listing[run] || {})[tag];
    if (!info || info.error || info.kind !== "weights") return null;
    const answer = await api.weightChange(run, tag, info.max_step ?? "");
    return answer.steps.length < 2 ? null : { steps: answer.steps, values: answer.relative_change };
  },
});
