/** The architecture page's registration (views/registry.js lists it): the run's layers, and its logging plan. */

import { modelSummaryApi } from "./api.js";
import { LOGGING_PLAN_KIND } from "./logging_plan.js";
import { ArchitectureView } from "./view.js";

/** @type {import("../kinds.js").ViewKind} */
export default {
  kind: "model_summary",
  View: ArchitectureView,
  api: modelSummaryApi,
  stylesheet: new URL("./model_summary.css", import.meta.url).href,
  picker: { label: "architecture", architecture: true, note: "architecture overview" },
  shows: [LOGGING_PLAN_KIND],
};
