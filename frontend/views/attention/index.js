/** The attention view's registration (views/registry.js lists it): heads, tokens, entropy over steps. */

import { attentionApi } from "./api.js";
import { entropySeries } from "./entropy.js";
import { AttentionView } from "./view.js";

/** @type {import("../kinds.js").ViewKind} */
export default {
  kind: "attention",
  View: AttentionView,
  api: attentionApi,
  stylesheet: new URL("./attention.css", import.meta.url).href,
  picker: { prefix: "attention/", rank: 2 },
  difference: true,
  scale: { attention: true },
  compareSeries: [entropySeries],
};
