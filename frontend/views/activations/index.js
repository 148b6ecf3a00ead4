/** The activations view's registration (views/registry.js lists it): a layer's outputs as heatmaps. */

import { activationsApi } from "./api.js";
import { ActivationsView } from "./view.js";

/** @type {import("../kinds.js").ViewKind} */
export default {
  kind: "activations",
  View: ActivationsView,
  api: activationsApi,
  stylesheet: new URL("./activations.css", import.meta.url).href,
  picker: { prefix: "activations/", rank: 0 },
  difference: true,
};
