/** The weights view's registration (views/registry.js lists it): a layer's variables, their change and circuit. */

import { weightsApi } from "./api.js";
import { WEIGHT_STATS_KIND, weightChangeSeries } from "./change.js";
import { WeightsView } from "./view.js";

/** @type {import("../kinds.js").ViewKind} */
export default {
  kind: "weights",
  View: WeightsView,
  api: weightsApi,
  stylesheet: new URL("./weights.css", import.meta.url).href,
  picker: { prefix: "weights/", variables: ["kernel", "bias"], rank: 4 },
  shows: [WEIGHT_STATS_KIND],
  difference: true,
  scale: { signed: true },
  compareSeries: [weightChangeSeries],
};
