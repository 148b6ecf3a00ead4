/**
 * Entry point: TensorBoard's plugin page imports this module (served at
 * ./static/index.js under the base href plugin/internals/) and calls render().
 */

import "./views/registry.js"; // registers every view (views/kinds.js) before the tab starts
import { App } from "./app.js";
import { connectHost } from "./host.js";
import { applyTheme, ThemeWatcher } from "./theme.js";
import { createApi, viewStylesheets } from "./views/kinds.js";

/**
 * The tab's stylesheets next to this module, in cascade order: the theme
 * (tokens, and the cascade layer every sheet uses) first, then one sheet per
 * component; each view's own sheet (views/<kind>/) follows, from the registry.
 */
export const STYLESHEETS = [
  "theme.css",
  "base.css",
  "shell.css",
  "toolbar.css",
  "picker.css",
  "frame.css",
  "legend.css",
  "heatmap.css",
  "charts/charts.css",
  "notices.css",
  "compare.css",
  "columns.css",
];

/**
 * Adds every stylesheet as a <link> (CSP-safe: no inline style), in order,
 * and resolves once all of them applied (or failed: unstyled beats blank).
 */
function loadStylesheets() {
  const hrefs = [...STYLESHEETS.map((name) => new URL(`./${name}`, import.meta.url).href), ...viewStylesheets()];
  return Promise.all(
    hrefs.map((href) => {
      const link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = href;
      const loaded = new Promise((resolve) => {
        link.addEventListener("load", resolve, { once: true });
        link.addEventListener("error", resolve, { once: true });
      });
      document.head.append(link);
      return loaded;
    })
  );
}

export async function render() {
  document.documentElement.lang = "en";
  document.title = "Internals";
  new ThemeWatcher(applyTheme).start();
  await loadStylesheets();
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
