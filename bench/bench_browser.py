"""Browser benchmark: step change to painted frame, tab open to first paint,
and what the weights view's change chart fetches.

Writes synthetic logs (4 runs of a 16x32x32x64 conv layer, 6 steps each, and
one 256x256 weights tag per run), starts TensorBoard (Rust data server),
opens the Internals tab in Debian's chromium and measures:

- step change: inside the page, performance.now() from dispatching the
  slider's `input` event to the first requestAnimationFrame after the app
  fired "internals-shown" (every panel drawn). Cases: the 4-run comparison
  with the default colour range (fixed over all steps, from /ranges), the
  same with the per-step range, and a 1-run view. The first pass over the
  steps fetches and decodes (first visit); later passes hit the tab's cache
  (visited).
- tab open to first paint: from the parent page's navigation start to the
  app's "internals-first-shown" performance mark (first view painted), for a
  1-run and a 4-run URL.
- the weights view's change chart: requests and bytes per route when a
  weights tag is opened: a tag with the callback's exact change series
  (the chart reads /weight_stats) and one without (it reads /weight_change,
  computed from the stored full weights); before /weight_change the chart
  downloaded every step's payload.

    python bench/bench_browser.py [--steps 6] [--rounds 5]
"""

import argparse
import json
import os
import sys
import tempfile
import time
from urllib.parse import quote, urlparse

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, os.path.join(HERE, ".."))

from tensorboard_process import running_tensorboard, wait_for_steps  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from tb_plugin.summary import Writer  # noqa: E402
from test_browser import Browser  # noqa: E402

RUNS = ["run0", "run1", "run2", "run3"]
TAG = "conv"
SHAPE = (16, 32, 32, 64)
WEIGHTS = "weights/dense/kernel"  # with its exact change series (weight_stats), as the callback logs it
PLAIN = "weights/plain/kernel"  # full weights only (a TF-free Writer's log)
WEIGHTS_SHAPE = (256, 256)

MEASURE = """async (index) => {
  const slider = document.querySelector('.step-slider');
  const shown = new Promise((resolve) => document.addEventListener('internals-shown', resolve, { once: true }));
  const t0 = performance.now();
  slider.value = String(index);
  slider.dispatchEvent(new Event('input', { bubbles: true }));
  await shown;
  await new Promise((resolve) => requestAnimationFrame(() => resolve()));
  return performance.now() - t0;
}"""


def write_stats(w, tag, kernel, previous, step):
    """The exact change series of `tag` at `step`, as tb_plugin/core/logger.py writes it."""
    w.weight_stats("weight_stats/" + tag[len("weights/"):], kernel, step, previous=previous, source_tag=tag,
                   layer="dense", layer_class="Dense")


def write_logs(root, steps):
    rng = np.random.default_rng(0)
    for run in RUNS:
        with Writer(os.path.join(root, run)) as w:
            previous = None
            for step in range(steps):
                x = np.maximum(rng.normal(size=SHAPE).astype(np.float32), 0)
                w.activations(TAG, x, step=step)
                k = rng.normal(size=WEIGHTS_SHAPE).astype(np.float32) * (1 + 0.1 * step)
                w.weights(WEIGHTS, k, step=step, layer="dense", layer_class="Dense")
                write_stats(w, WEIGHTS, k, previous, step)
                previous = k
                w.weights(PLAIN, k, step=step, layer="plain", layer_class="Dense")


def measure(frame, steps, rounds):
    cold, warm = [], []
    for r in range(rounds):
        for i in list(range(steps)):
            ms = frame.evaluate(MEASURE, i)
            (cold if r == 0 else warm).append(ms)
    return cold, warm


def open_tab(b, url, state):
    h = "&".join("%s=%s" % (quote("p.internals." + k, safe=""), quote(v, safe="")) for k, v in state.items())
    b.page.goto("about:blank")
    b.page.goto(url + "/#internals&" + h)
    return b.page.wait_for_selector('iframe[src*="plugin_entry.html?name=internals"]').content_frame()


def pct(values, q):
    return float(np.percentile(values, q)) if values else float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="bench_browser_")
    write_logs(root, args.steps)
    results = {}
    opened = {}
    fetches = {}
    with running_tensorboard(root, "true") as url, sync_playwright() as p:
        for run in RUNS:
            wait_for_steps(url, run, TAG, args.steps)
            wait_for_steps(url, run, WEIGHTS, args.steps)
            wait_for_steps(url, run, PLAIN, args.steps)
        b = Browser(p, "/usr/bin/chromium", url)
        try:
            for name, runs, scale in (("4 runs, fixed scale", RUNS, "fixed"), ("4 runs, per-step scale", RUNS, "step"), ("1 run, fixed scale", RUNS[:1], "fixed")):
                t_open = time.perf_counter()
                frame = open_tab(b, url, {"runs": json.dumps(runs), "tag": TAG, "step": "0", "range": scale})
                frame.wait_for_function(
                    "n => document.querySelectorAll('.run-column .view canvas.hm-canvas').length === n * %d" % SHAPE[-1],
                    arg=len(runs), timeout=60000,
                )
                frame.wait_for_function("() => document.querySelector('.step-value')?.textContent === 'Step 0'")
                frame.wait_for_function("() => performance.getEntriesByName('internals-first-shown').length > 0", timeout=60000)
                first = frame.evaluate("performance.timeOrigin + performance.getEntriesByName('internals-first-shown')[0].startTime")
                origin = b.page.evaluate("performance.timeOrigin")
                opened[name] = {"first_paint_ms": first - origin, "wall_ms": (time.perf_counter() - t_open) * 1000}
                cold, warm = measure(frame, args.steps, args.rounds)
                results[name] = {
                    "first_visit_p50_ms": pct(cold, 50), "first_visit_p95_ms": pct(cold, 95),
                    "visited_p50_ms": pct(warm, 50), "visited_p95_ms": pct(warm, 95),
                    "samples": {"first_visit": len(cold), "visited": len(warm)},
                }
            # The weights view: what its change chart fetches (one run; then 4 runs compared), with and
            # without the exact series.
            for name, runs, tag in (("1 run, exact series", RUNS[:1], WEIGHTS), ("4 runs, exact series", RUNS, WEIGHTS),
                                    ("1 run, full weights only", RUNS[:1], PLAIN), ("4 runs, full weights only", RUNS, PLAIN)):
                seen = []
                listener = lambda r: seen.append(r)  # noqa: E731
                b.page.on("requestfinished", listener)
                frame = open_tab(b, url, {"runs": json.dumps(runs), "tag": tag, "step": str(args.steps - 1)})
                chart = "[data-chart=weights-change] .chart-pt" if len(runs) == 1 else ".compare-charts [data-chart=weight-change] .chart-pt"
                frame.wait_for_selector(chart, state="attached", timeout=60000)
                frame.wait_for_function(
                    "n => document.querySelectorAll('.run-column .hm[data-panel=matrix] canvas').length === n && "
                    "Array.from(document.querySelectorAll('.run-column .legend')).every(l => l.dataset.lo !== undefined)",
                    arg=len(runs), timeout=60000,
                )
                time.sleep(1.0)  # let stragglers finish
                b.page.remove_listener("requestfinished", listener)
                by_route = {}
                for r in seen:
                    path = urlparse(r.url).path
                    if "/data/plugin/internals/" not in path or "/static/" in path:
                        continue
                    route = path.rsplit("/", 1)[-1]
                    size = r.sizes()["responseBodySize"]
                    entry = by_route.setdefault(route, {"requests": 0, "bytes": 0})
                    entry["requests"] += 1
                    entry["bytes"] += size
                payload = by_route.get("data", {}).get("bytes", 0) / max(1, by_route.get("data", {}).get("requests", 1))
                fetches[name] = {
                    "by_route": by_route,
                    "before_change_chart_bytes": payload * args.steps * len(runs),  # every step's payload, per run
                    "before_change_chart_requests": args.steps * len(runs),
                }
            b.check_clean()
        finally:
            b.close()
    out = {"shape": list(SHAPE), "weights_shape": list(WEIGHTS_SHAPE), "steps": args.steps, "rounds": args.rounds,
           "results": results, "tab_open": opened, "weights_view_fetches": fetches}
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "browser-latest.json"), "w") as f:
        json.dump(out, f, indent=2)
    for name, r in results.items():
        print("%-24s first visit p50 %7.1f ms  p95 %7.1f ms | visited p50 %7.1f ms  p95 %7.1f ms | tab open to first paint %7.0f ms" % (
            name, r["first_visit_p50_ms"], r["first_visit_p95_ms"], r["visited_p50_ms"], r["visited_p95_ms"], opened[name]["first_paint_ms"]))
    for name, f in fetches.items():
        routes = ", ".join("%s %d req %d B" % (k, v["requests"], v["bytes"]) for k, v in sorted(f["by_route"].items()))
        print("weights view, %s: %s (before /weight_change: the chart alone fetched %d payloads, %d B)" % (
            name, routes, f["before_change_chart_requests"], f["before_change_chart_bytes"]))


if __name__ == "__main__":
    main()
