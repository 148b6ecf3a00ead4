/**
 * The run select and the layer tree: layers grouped by path as the model
 * nests them (`backbone/block3/conv`), each layer a row listing what it has
 * (activations, statistics, kernel, bias, attention, ...) as choices of one
 * radio group, so arrow keys move through them; the run's architecture first.
 *
 * The filter matches paths (every term; also kinds and tags); Enter in it
 * opens the first match, ArrowDown moves into the tree; the count says layers.
 * Trouble badges ("43% dead", "NaN") sit on the entry they concern.
 */

import { el, clear } from "./dom.js";
import { formatShape } from "./format.js";
import { groupLayers, matches, treeRows } from "./layers.js";
import { STATS_KIND } from "./layerstats.js";
import { viewKind } from "./views/kinds.js";

/** @typedef {import("./api.js").TagListing} TagListing */

let idCounter = 0;
/** @param {string} prefix */
function uid(prefix) {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

export class RunTagPicker {
  /** @param {{onChange: (run: string, tag: string) => void}} options */
  constructor({ onChange }) {
    this._onChange = onChange;
    /** @type {TagListing} */ this._listing = {};
    /** @type {string|null} */ this.run = null;
    /** @type {string|null} */ this.tag = null;
    /** @type {Map<string, Object<string, import("./layerstats.js").Badge[]>>} */ this._badges = new Map();
    /** @private @type {{architecture: string|null, layers: import("./layers.js").Layer[]}} */
    this._tree = { architecture: null, layers: [] };
    const runId = uid("run");
    const filterId = uid("filter");
    this._radioName = uid("tag");
    this._runSelect = el("select", { id: runId, class: "run-select", onchange: () => this._pickRun(this._runSelect.value) });
    this._filter = el("input", {
      id: filterId,
      class: "tag-filter",
      type: "search",
      placeholder: "Filter layers by path (press /)",
      autocomplete: "off",
      spellcheck: "false",
      "aria-describedby": `${filterId}-count`,
      oninput: () => this._applyFilter(),
      onkeydown: (/** @type {KeyboardEvent} */ e) => this._filterKey(e),
    });
    this._count = el("div", { id: `${filterId}-count`, class: "tag-count", "aria-live": "polite" });
    this._list = el("div", { class: "tag-list layer-tree", role: "radiogroup", "aria-label": "Layers" });
    this._none = el("p", { class: "tag-none", hidden: true });
    this.element = el("div", { class: "picker" }, [
      el("div", { class: "control" }, [el("label", { class: "control-label", for: runId, text: "Run" }), this._runSelect]),
      el("div", { class: "control control-layers" }, [
        el("label", { class: "control-label", for: filterId, text: "Layer" }),
        this._filter,
        this._count,
        this._list,
        this._none,
      ]),
    ]);
  }

  /** @param {string} run @param {Object<string, import("./layerstats.js").Badge[]>} byTag */
  setBadges(run, byTag) {
    this._badges.set(run, byTag);
    if (run !== this.run) return;
    for (const item of /** @type {HTMLElement[]} */ (Array.from(this._list.querySelectorAll(".tag-item")))) {
      const holder = item.querySelector(".tag-badges");
      if (holder) this._fillBadges(/** @type {HTMLElement} */ (holder), byTag[item.dataset.tag || ""] || []);
    }
  }

  /** @private @param {HTMLElement} holder @param {import("./layerstats.js").Badge[]} badges */
  _fillBadges(holder, badges) {
    clear(holder);
    for (const badge of badges) {
      holder.append(el("span", { class: `tag-badge badge-${badge.kind}${badge.strong ? " badge-strong" : ""}`, title: badge.title, text: badge.text }));
    }
    holder.hidden = badges.length === 0;
  }

  focusFilter() {
    this._filter.focus();
    this._filter.select();
  }

  /**
   * @param {TagListing} listing @param {string|null} run @param {string|null} tag
   * @returns {{run: string|null, tag: string|null}}
   */
  setListing(listing, run, tag) {
    this._listing = listing;
    const runs = Object.keys(listing).sort(collator.compare);
    clear(this._runSelect);
    for (const name of runs) {
      const option = el("option", { text: name });
      option.value = name;
      option.label = `\u2068${name}\u2069`; // shown isolated (a name may hold bidi controls); the text stays the name
      this._runSelect.append(option);
    }
    this._runSelect.disabled = runs.length === 0;
    this.run = run !== null && runs.includes(run) ? run : runs[0] ?? null;
    if (this.run !== null) this._runSelect.value = this.run;
    const tags = this.run === null ? [] : Object.keys(listing[this.run]);
    this.tag = tag !== null && tags.includes(tag) ? tag : this._firstTag(this.run);
    this._renderTags();
    return { run: this.run, tag: this.tag };
  }

  /** Selects run/tag programmatically (no onChange). @param {string} run @param {string} tag */
  select(run, tag) {
    const sameRun = run === this.run && this._list.childElementCount > 0;
    this.run = run;
    this.tag = tag;
    this._runSelect.value = run;
    if (!sameRun) {
      this._renderTags();
      return;
    }
    for (const radio of this._radios()) radio.checked = radio.value === tag;
  }

  /** @private @returns {HTMLInputElement[]} */
  _radios() {
    return Array.from(this._list.querySelectorAll("input.tag-radio"));
  }

  /** @private the first entry of the first layer (matching the filter), else the architecture */
  _firstTag(run) {
    if (run === null) return null;
    const { architecture, layers } = groupLayers(this._listing[run] || {});
    const q = this._filter.value;
    const hit = layers.find((l) => matches(l, q));
    if (hit) return hit.entries[0].tag;
    return architecture ?? (layers[0] ? layers[0].entries[0].tag : null);
  }

  /** @private @param {string} run */
  _pickRun(run) {
    this.run = run;
    const tags = Object.keys(this._listing[run] || {});
    if (this.tag === null || !tags.includes(this.tag)) this.tag = this._firstTag(run);
    this._renderTags();
    if (this.tag !== null) this._onChange(run, this.tag);
  }

  /** @private one choice: a radio with its label, shape and badges */
  _entry(tag, label, info, title) {
    const radio = el("input", { type: "radio", name: this._radioName, class: "tag-radio", "aria-label": title });
    radio.value = tag;
    radio.checked = tag === this.tag;
    radio.addEventListener("change", () => {
      if (!radio.checked) return;
      this.tag = tag;
      this._onChange(/** @type {string} */ (this.run), tag);
    });
    radio.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        radio.checked = true;
        this.tag = tag;
        this._onChange(/** @type {string} */ (this.run), tag);
      }
    });
    const note = (viewKind(info.kind) || { picker: {} }).picker.note; // e.g. "statistics only", instead of a shape
    const detail = info.error
      ? el("span", { class: "tag-warning", text: "unreadable", title: info.error })
      : el("span", { class: "tag-shape", text: note || formatShape(info.shape || []) });
    const badges = el("span", { class: "tag-badges" });
    this._fillBadges(badges, (this._badges.get(/** @type {string} */ (this.run)) || {})[tag] || []);
    const shape = info.shape ? ` ${formatShape(info.shape)}` : "";
    const item = el("label", { class: "tag-item", dataset: { tag }, title: `${tag}${shape}${info.description ? `\n${info.description}` : ""}` }, [
      radio,
      el("span", { class: "tag-main" }, [el("bdi", { class: "tag-label", text: label }), detail]),
      badges,
    ]);
    return item;
  }

  /** @private */
  _renderTags() {
    const focused = this._radios().find((r) => r === document.activeElement);
    const focusedTag = focused ? focused.value : null;
    clear(this._list);
    if (this.run === null) return;
    const infos = this._listing[this.run] || {};
    this._tree = groupLayers(infos);
    const { architecture, layers } = this._tree;
    if (architecture) {
      const row = el("div", { class: "layer-row layer-architecture", dataset: { path: "" } }, [
        this._entry(architecture, "Architecture", infos[architecture], `${architecture}: the architecture overview`),
      ]);
      this._list.append(row);
    }
    const stats = new Set(Object.keys(this._allTags()).filter((t) => (this._allTags()[t] || {}).kind === STATS_KIND));
    for (const r of treeRows(layers)) {
      const indent = { paddingInlineStart: `${8 + 12 * r.depth}px` };
      if (r.type === "group") {
        this._list.append(
          el("div", { class: "layer-group", dataset: { path: r.path }, style: indent, title: r.path }, [el("bdi", { class: "layer-group-name", text: r.name })])
        );
        continue;
      }
      const layer = /** @type {import("./layers.js").Layer} */ (r.layer);
      const entries = layer.entries.map((e) => this._entry(e.tag, e.label, e.info, `${layer.path}: ${e.label}`));
      // Statistics logged with the activations show in the activations view: said, not a second choice.
      const statsAlso = layer.entries.some((e) => e.kind === "activations" && Array.from(stats).some((s) => (this._allTags()[s] || {}).source_tag === e.tag));
      const row = el("div", { class: "layer-row", dataset: { path: layer.path }, style: indent }, [
        el("div", { class: "layer-name", title: layer.path }, [el("bdi", { text: r.name }), statsAlso ? el("span", { class: "layer-also", text: "+ statistics" }) : null]),
        el("div", { class: "layer-entries" }, entries),
      ]);
      this._list.append(row);
    }
    for (const radio of this._radios()) if (radio.value === focusedTag) radio.focus();
    this._applyFilter();
  }

  /** @private every tag of the run, stats folded into layers included */
  _allTags() {
    return (this._fullListing && this.run !== null && this._fullListing[this.run]) || this._listing[/** @type {string} */ (this.run)] || {};
  }

  /** The unfiltered listing (to tell which layers also have statistics). @param {TagListing} listing */
  setFullListing(listing) {
    this._fullListing = listing;
  }

  /** @private Hides layers (and their empty groups) that do not match; takes them out of the arrow order. */
  _applyFilter() {
    const q = this._filter.value.trim();
    const byPath = new Map(this._tree.layers.map((l) => [l.path, l]));
    let shown = 0;
    /** @type {Set<string>} */ const visible = new Set();
    for (const row of /** @type {HTMLElement[]} */ (Array.from(this._list.querySelectorAll(".layer-row")))) {
      const path = row.dataset.path || "";
      const layer = byPath.get(path);
      const ok = layer ? matches(layer, q) : q === "" || "architecture".includes(q.toLowerCase());
      row.hidden = !ok;
      for (const radio of /** @type {HTMLInputElement[]} */ (Array.from(row.querySelectorAll("input")))) radio.disabled = !ok;
      for (const item of /** @type {HTMLElement[]} */ (Array.from(row.querySelectorAll(".tag-item")))) item.hidden = !ok;
      if (ok && layer) {
        shown++;
        const parts = path.split("/");
        for (let i = 1; i < parts.length; i++) visible.add(parts.slice(0, i).join("/"));
      }
    }
    for (const g of /** @type {HTMLElement[]} */ (Array.from(this._list.querySelectorAll(".layer-group")))) g.hidden = !visible.has(g.dataset.path || "");
    const total = this._tree.layers.length;
    const noun = (/** @type {number} */ n) => `${n} layer${n === 1 ? "" : "s"}`;
    this._count.textContent = total === 0 && !this._tree.architecture ? "No layers in this run" : q ? `${shown} of ${noun(total)}` : noun(total);
    this._none.hidden = !(q && shown === 0);
    this._none.textContent = `No layer path contains “${q}”.`;
  }

  /** @private Enter opens the first match; ArrowDown moves into the tree. @param {KeyboardEvent} e */
  _filterKey(e) {
    const first = this._radios().find((r) => !r.disabled && r.closest(".layer-row:not(.layer-architecture)")) || this._radios().find((r) => !r.disabled);
    if (!first) return;
    if (e.key === "Enter") {
      e.preventDefault();
      first.checked = true;
      this.tag = first.value;
      this._onChange(/** @type {string} */ (this.run), first.value);
    } else if (e.key === "ArrowDown") {
      e.preventDefault();
      (this._radios().find((r) => r.checked && !r.disabled) || first).focus();
    }
  }
}
