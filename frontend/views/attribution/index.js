/** The attribution view's registration (views/registry.js lists it): what the model looks at, per probe sample. */

import { attributionApi } from "./api.js";
import { AttributionView } from "./view.js";

/** @type {import("../kinds.js").ViewKind} */
export default {
  kind: "attribution",
  View: AttributionView,
  api: attributionApi,
  stylesheet: new URL("./attribution.css", import.meta.url).href,
  picker: {},
};
