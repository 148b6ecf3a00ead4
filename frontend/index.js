/**
 * Entry point: TensorBoard's plugin page imports this module (served at
 * ./static/index.js under the base href plugin/internals/) and calls render().
 */

import "./views/registry.js"; // registers every view (views/kinds.js) before the tab starts
import { App } from "./app.js";
import { connectHost } from "./host.js";
import { applyTheme, ThemeWatcher } from "./theme.js";
import { createApi } from "./views/kinds.js";

/** Adds style.css (next to this module) and resolves once it applied. */
function loadStylesheet() {
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = new URL("./style.css", import.meta.url).href;
  const loaded = new Promise((resolve) => {
    link.addEventListener("load", resolve, { once: true });
    link.addEventListener("error", resolve, { once: true }); // unstyled beats blank
  });
  document.head.append(link);
  return loaded;
}

export async function render() {
  document.documentElement.lang = "en";
  document.title = "Internals";
  new ThemeWatcher(applyTheme).start();
  await loadStylesheet();
  /** @type {App|null} */
  let app = null;
  const host = connectHost({
    onDataReloaded: () => app && app.refresh(),
    onRunsChanged: (runs) => app && app.setHostRuns(runs),
  });
  app = new App(document.body, { api: createApi(), host });
  if (host.connected) {
    // TensorBoard's run list (the compare checklist follows it); an older host may not answer.
    host.request("experimental.GetRuns").then(
      (runs) => Array.isArray(runs) && app && app.setHostRuns(runs.map(String)),
      () => {}
    );
  }
  await app.start();
}
