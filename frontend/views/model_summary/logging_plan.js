/**
 * The callback's logging plan (kind "logging_plan", the JSON document of
 * tb_plugin/core/plan.py `Plan.document`), shown on the architecture page: the
 * budget and the bytes per snapshot, what was reduced and why, how many
 * probe samples each layer's map keeps, and how often each variable is
 * written in full. Every number is the document's own, formatted; nothing
 * is left out (long lists scroll).
 */

import { el } from "../../dom.js";
import { formatCount } from "../../format.js";

/** The kind of the plan document (tb_plugin.metadata.KIND_LOGGING_PLAN). */
export const LOGGING_PLAN_KIND = "logging_plan";

/**
 * The run's logging-plan tag, or null.
 * @param {Object<string, import("../../api.js").TagInfo>} runTags
 */
export function loggingPlanTag(runTags) {
  return Object.keys(runTags || {}).find((t) => runTags[t].kind === LOGGING_PLAN_KIND && !runTags[t].error) || null;
}

/** Bytes as the plan's console text prints them (MiB with one decimal; small sizes in KiB / bytes). @param {number} b */
export function formatBytes(b) {
  if (!Number.isFinite(b)) return "–";
  if (b >= 2 ** 20) return `${(b / 2 ** 20).toFixed(1)} MiB`;
  if (b >= 1024) return `${(b / 1024).toFixed(1)} KiB`;
  return `${formatCount(b)} bytes`;
}

/**
 * How often a variable is written in full, from the plan's cadence and groups.
 * @param {any} doc @param {string} tag
 */
export function weightsCadence(doc, tag) {
  const groups = Array.isArray(doc.weights_groups) ? doc.weights_groups : [];
  const every = Number(doc.weights_every) || 0;
  if (!every) return "not in full (change series only)";
  if (!groups.some((g) => Array.isArray(g) && g.includes(tag))) return "not in full (change series only)";
  const n = groups.length > 1 ? groups.length : every;
  return n === 1 ? "every snapshot" : `every ${n} snapshots`;
}

/**
 * The plan as a section of the architecture page.
 * @param {any} doc the plan document
 * @param {{tag: string, step: string}} where the plan's tag and its step label
 */
export function renderLoggingPlan(doc, where) {
  const num = (/** @type {any} */ v) => Number(v) || 0;
  const budget = doc.budget_bytes === null || doc.budget_bytes === undefined ? null : num(doc.budget_bytes);
  const within = doc.within_budget !== false;
  const line = (/** @type {string} */ cls, /** @type {string} */ text) => el("p", { class: cls, text });
  const kv = (/** @type {string} */ key, /** @type {string} */ value, /** @type {string} */ name) =>
    el("tr", { dataset: { row: name } }, [el("th", { scope: "row", text: key }), el("td", { class: "plan-value", text: value })]);

  const head = line(
    "plan-summary",
    `At most ${formatBytes(num(doc.bytes_largest_snapshot))} per snapshot, ${formatBytes(num(doc.bytes_per_snapshot))} on average; ` +
      (budget === null ? "no budget (everything as asked)." : `budget ${formatBytes(budget)} per snapshot${within ? ", within it." : "."}`)
  );
  const warning = doc.warning ? el("p", { class: "plan-warning", role: "status", text: `Over the budget: ${String(doc.warning)}` }) : null;

  const parts = Array.isArray(doc.parts) ? doc.parts : [];
  const partsBytes = parts.reduce((s, /** @type {any} */ p) => s + num(p.bytes), 0);
  const variables = Array.isArray(doc.variables) ? doc.variables : [];
  const encodings = doc.variable_encodings || {};
  const q8 = Object.values(encodings).filter((e) => e === "q8").length;
  const every = num(doc.weights_every);
  const groups = Array.isArray(doc.weights_groups) ? doc.weights_groups.length : 0;
  const weightsText = every
    ? `${formatBytes(num(doc.bytes_weights_full))} for ${formatCount(variables.length)} variables in ${String(doc.weights_encoding)}` +
      (q8 && doc.weights_encoding !== "q8" ? ` (${q8} in q8)` : "") +
      `; each variable every ${groups > 1 ? `${groups} snapshots, a share of them per snapshot` : every === 1 ? "snapshot" : `${every} snapshots`}`
    : "not logged";
  const bytes = el("table", { class: "plan-table plan-bytes" }, [
    el("tbody", {}, [
      kv("Statistics and change series (never reduced)", formatBytes(num(doc.bytes_fixed) - partsBytes) + " per snapshot", "fixed"),
      kv("Activation maps and attention", formatBytes(num(doc.bytes_maps)) + " per snapshot", "maps"),
      kv("Full weights", weightsText, "weights"),
      ...parts.map((/** @type {any} */ p) => kv(String(p.name), formatBytes(num(p.bytes)) + " per snapshot" + (p.note ? ` (${p.note})` : ""), `part-${p.name}`)),
    ]),
  ]);

  const reductions = Array.isArray(doc.reductions) ? doc.reductions : [];
  const reduced = el("section", { class: "plan-block", dataset: { block: "reductions" } }, [
    el("h4", { text: reductions.length ? `Reduced (${reductions.length}), and why` : "Nothing reduced" }),
    reductions.length ? el("ul", { class: "plan-reductions" }, reductions.map((/** @type {any} */ r) => el("li", { text: String(r) }))) : null,
  ]);

  const maps = Array.isArray(doc.maps) ? doc.maps : [];
  const mapRows = maps.map((/** @type {any} */ m) =>
    el("tr", { class: num(m.samples) < num(m.probe_samples) ? "plan-row-reduced" : "", dataset: { tag: String(m.tag) } }, [
      el("td", {}, [el("bdi", { class: "user-text", title: String(m.tag), text: String(m.tag) })]),
      el("td", { class: "plan-num", text: num(m.samples) ? `${m.samples} of ${m.probe_samples}` : `statistics only (of ${m.probe_samples})` }),
      el("td", { class: "plan-num", text: formatBytes(num(m.bytes)) }),
      el("td", { text: String(m.encoding || "") }),
    ])
  );
  const mapTable = el("section", { class: "plan-block", dataset: { block: "maps" } }, [
    el("h4", { text: `Probe samples per map (${maps.length} maps)` }),
    el("div", { class: "plan-scroll" }, [
      el("table", { class: "plan-table plan-maps" }, [
        el("thead", {}, [el("tr", {}, ["Map", "Samples", "Bytes", "Encoding"].map((t) => el("th", { scope: "col", text: t })))]),
        el("tbody", {}, mapRows),
      ]),
    ]),
  ]);

  const varRows = variables.map((/** @type {any} */ v) =>
    el("tr", { dataset: { tag: String(v.tag) } }, [
      el("td", {}, [el("bdi", { class: "user-text", title: String(v.tag), text: String(v.tag) })]),
      el("td", { class: "plan-num", text: formatCount(num(v.values)) }),
      el("td", { text: String(encodings[v.tag] || doc.weights_encoding || "") }),
      el("td", { text: weightsCadence(doc, String(v.tag)) }),
    ])
  );
  const varTable = el("section", { class: "plan-block", dataset: { block: "weights" } }, [
    el("h4", { text: `Full weights per variable (${variables.length})` }),
    el("div", { class: "plan-scroll" }, [
      el("table", { class: "plan-table plan-vars" }, [
        el("thead", {}, [el("tr", {}, ["Variable", "Values", "Encoding", "Written in full"].map((t) => el("th", { scope: "col", text: t })))]),
        el("tbody", {}, varRows),
      ]),
    ]),
  ]);

  return el("section", { class: "logging-plan", "aria-label": "Logging plan", dataset: { tag: where.tag } }, [
    el("h3", { class: "plan-title", text: `Logging plan (${where.step})` }),
    head,
    warning,
    bytes,
    reduced,
    mapTable,
    varTable,
  ]);
}
