/** Full-page messages: the empty state (how to log data) and load errors. */

import { el } from "./dom.js";

const WRITER_SNIPPET = `from tb_plugin import summary

writer = summary.Writer(logdir)          # e.g. "logs/run1"
for epoch in range(epochs):
    ...                                  # train
    writer.activations("conv1", array, step=epoch)   # array: [batch, h, w, channels]`;

const TF_SNIPPET = `import tensorflow as tf
from tb_plugin import summary

writer = tf.summary.create_file_writer(logdir)
with writer.as_default(step=epoch):
    summary.activations("conv1", conv1_output)`;

/** The empty state: no internals data in the log directory yet. */
export function emptyState() {
  return el("div", { class: "empty", role: "region", "aria-label": "No data" }, [
    el("div", { class: "empty-card" }, [
      el("h1", { class: "empty-title", text: "No layer activations logged yet" }),
      el("p", {
        text:
          "The Internals tab shows what each layer outputs over training: feature maps of conv layers, " +
          "unit activations of dense layers. Log them from your training loop:",
      }),
      el("h2", { class: "empty-sub", text: "Any framework (NumPy arrays, no TensorFlow needed)" }),
      el("pre", { class: "code" }, [el("code", { text: WRITER_SNIPPET })]),
      el("h2", { class: "empty-sub", text: "TensorFlow, tf.summary style" }),
      el("pre", { class: "code" }, [el("code", { text: TF_SNIPPET })]),
      el("p", {}, [
        "Then start ",
        el("code", { text: "tensorboard --logdir logs" }),
        ". New data shows up here after TensorBoard's next reload.",
      ]),
    ]),
  ]);
}

/**
 * A message filling the main area.
 * @param {string} title
 * @param {string} detail user-visible text (set as text, never parsed)
 * @param {"error"|"info"} [tone]
 */
export function notice(title, detail, tone = "error") {
  return el("div", { class: `notice notice-${tone}`, role: tone === "error" ? "alert" : "status" }, [
    el("h2", { class: "notice-title", text: title }),
    el("p", { class: "notice-detail", text: detail }),
  ]);
}

/**
 * A link named runs or a layer this TensorBoard does not have: says so, and what shows instead.
 * @param {string[]} lost what the link named (urlstate.js `lostFromLink`)
 * @param {string|null} run @param {string|null} tag what shows instead
 */
export function staleLinkNotice(lost, run, tag) {
  const box = el("div", { class: "stale-notice", role: "status" });
  const close = el("button", { type: "button", class: "stale-close", "aria-label": "Dismiss", text: "×", onclick: () => box.remove() });
  box.append(
    el("span", { text: `This link names ${lost.join(" and ")}, which this TensorBoard does not have (renamed or deleted?). Showing ` }),
    el("bdi", { text: tag ?? "nothing" }),
    el("span", { text: run ? ` of run ` : "" }),
    ...(run ? [el("bdi", { text: run })] : []),
    el("span", { text: " instead." }),
    close
  );
  return box;
}

/** A tag this release cannot show, and why. @param {string} tag @param {string} why */
export function tagError(tag, why) {
  return el("div", { class: "tag-error" }, [notice(`This layer can't be shown: ${tag}`, why)]);
}
