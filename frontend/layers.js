/**
 * A run's tags as layers: which layer (path) each tag belongs to and what it
 * is of that layer (activations, statistics, kernel, bias, attention, ...).
 * Pure (no DOM), unit-tested under node (tests/frontend/layers.test.mjs).
 * Where a kind's tags go is its `picker` entry in the view registry
 * (views/kinds.js); with today's kinds:
 *
 *   activations/<path>          -> <path>: "activations"
 *   activation_stats/<path>     -> <path>: "statistics"
 *   weights/<path>/<variable>   -> the tag's `layer` (else <path>): <variable>
 *   attention/<path>            -> <path>: "attention"
 *   embedding/<path>            -> <path>: "embedding" (the callback's embeddings)
 *   model_summary               -> the run's architecture (not a layer)
 *   logging_plan, weight_stats  -> not listed: shown inside other views (the
 *                                  callback's plan on the architecture page; the
 *                                  exact change series in the weights view's chart)
 *   any other tag               -> the tag itself: its kind (a TF-free Writer names tags freely)
 */

import { pickerEntry, shownInsideKinds, viewKinds } from "./views/kinds.js";

/** Case-insensitive natural sort ("block2" before "block10"). */
const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/** Kinds that are not layers' data shown in the picker (see the module docstring). */
export function unlistedKinds() {
  return shownInsideKinds();
}

/** @type {{kinds: number, ranks: Map<string, number>}|null} label -> rank, made once every kind is registered */
let rankTable = null;

/**
 * The place of an entry among its layer's, by its label (lower first): the registry's
 * ranks (activations, statistics, attention, embedding, then variables: kernel, bias),
 * every other label after them.
 * @param {string} label
 */
export function entryRank(label) {
  const kinds = viewKinds();
  if (!rankTable || rankTable.kinds !== kinds.length) {
    /** @type {Map<string, number>} */
    const ranks = new Map();
    for (const { kind, picker } of kinds) {
      if (picker.rank === undefined) continue;
      const first = picker.rank;
      if (picker.variables) picker.variables.forEach((name, i) => ranks.set(name, first + i));
      else ranks.set(picker.label || kind, first);
    }
    rankTable = { kinds: kinds.length, ranks };
  }
  const { ranks } = rankTable;
  return ranks.has(label) ? /** @type {number} */ (ranks.get(label)) : Math.max(-1, ...ranks.values()) + 1;
}

/**
 * @typedef {Object} LayerEntry
 * @property {string} tag
 * @property {string} label what it is of the layer ("activations", "kernel", ...)
 * @property {string} kind the tag's kind
 * @property {any} info
 */

/**
 * @typedef {Object} Layer
 * @property {string} path e.g. "backbone/block3/conv"
 * @property {LayerEntry[]} entries
 */

/**
 * Where `tag` belongs.
 * @param {string} tag @param {any} info
 * @returns {{path: string|null, label: string}} path null: the architecture
 */
export function placeOf(tag, info) {
  const kind = (info && info.kind) || "activations";
  const picker = pickerEntry(kind);
  if (picker.architecture) return { path: null, label: picker.label || kind };
  const prefix = picker.prefix;
  const rest = prefix && tag.startsWith(prefix) && tag.length > prefix.length ? tag.slice(prefix.length) : null;
  if (picker.variables) {
    const name = rest ?? tag;
    const cut = name.lastIndexOf("/");
    const variable = cut >= 0 ? name.slice(cut + 1) : name;
    const layer = info && typeof info.layer === "string" && info.layer ? info.layer : cut >= 0 ? name.slice(0, cut) : name;
    return { path: layer, label: variable || kind };
  }
  return { path: rest ?? tag, label: picker.label || kind };
}

/**
 * @param {Object<string, any>} infos one run's (listed) tags
 * @returns {{architecture: string|null, layers: Layer[]}} layers sorted by path
 */
export function groupLayers(infos) {
  /** @type {Map<string, LayerEntry[]>} */
  const byPath = new Map();
  let architecture = null;
  const unlisted = unlistedKinds();
  for (const [tag, info] of Object.entries(infos)) {
    if (info && unlisted.includes(info.kind)) continue;
    const { path, label } = placeOf(tag, info);
    if (path === null) {
      if (architecture === null || collator.compare(tag, architecture) < 0) architecture = tag;
      continue;
    }
    const list = byPath.get(path) || [];
    list.push({ tag, label, kind: (info && info.kind) || "activations", info });
    byPath.set(path, list);
  }
  const layers = Array.from(byPath, ([path, entries]) => ({
    path,
    entries: entries.sort((a, b) => entryRank(a.label) - entryRank(b.label) || collator.compare(a.label, b.label) || collator.compare(a.tag, b.tag)),
  })).sort((a, b) => comparePaths(a.path, b.path));
  return { architecture, layers };
}

/** Paths in tree order: segment by segment, naturally. @param {string} a @param {string} b */
export function comparePaths(a, b) {
  const x = a.split("/");
  const y = b.split("/");
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = collator.compare(x[i], y[i]);
    if (c) return c;
  }
  return x.length - y.length;
}

/**
 * Whether a layer matches the filter: every whitespace-separated term is in
 * its path, or in one of its entries' labels or tags (case-insensitive).
 * @param {Layer} layer @param {string} query
 */
export function matches(layer, query) {
  const terms = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const hay = [layer.path, ...layer.entries.flatMap((e) => [e.label, e.tag])].join("\n").toLowerCase();
  return terms.every((t) => hay.includes(t));
}

/**
 * The rows of the tree, in order: group headers (a path prefix shared by
 * several layers, or a parent of one) and layers, each with its depth.
 * @param {Layer[]} layers sorted by `comparePaths`
 * @returns {Array<{type: "group"|"layer", path: string, name: string, depth: number, layer?: Layer}>}
 */
export function treeRows(layers) {
  const paths = new Set(layers.map((l) => l.path));
  /** @type {Array<{type: "group"|"layer", path: string, name: string, depth: number, layer?: Layer}>} */
  const rows = [];
  const emitted = new Set();
  for (const l of layers) {
    const parts = l.path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join("/");
      if (emitted.has(prefix) || paths.has(prefix)) continue; // a layer of that path heads its children itself
      emitted.add(prefix);
      rows.push({ type: "group", path: prefix, name: parts[i - 1], depth: i - 1 });
    }
    rows.push({ type: "layer", path: l.path, name: parts[parts.length - 1], depth: parts.length - 1, layer: l });
  }
  return rows;
}

/**
 * The model summary of the run the picker opens first (runs sorted as the picker sorts them), or null.
 * @param {import("./api.js").TagListing} listing
 */
export function landingTag(listing) {
  const runs = Object.keys(listing).sort(collator.compare);
  if (!runs.length) return null;
  const tag = Object.keys(listing[runs[0]]).find((t) => pickerEntry(listing[runs[0]][t].kind).architecture);
  return tag ? { run: runs[0], tag } : null;
}
