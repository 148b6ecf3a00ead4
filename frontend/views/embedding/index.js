/** The embedding view's registration (views/registry.js lists it): a layer's samples projected to 2-D. */

import { embeddingApi } from "./api.js";
import { EmbeddingView } from "./view.js";

/** @type {import("../kinds.js").ViewKind} */
export default {
  kind: "embedding",
  View: EmbeddingView,
  api: embeddingApi,
  stylesheet: new URL("./embedding.css", import.meta.url).href,
  picker: { prefix: "embedding/", rank: 3 },
};
