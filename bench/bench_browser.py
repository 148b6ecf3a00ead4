"""Browser benchmark: time from a step change (slider input) to the painted frame.

Writes synthetic logs (4 runs of a 16x32x32x64 conv layer, 6 steps each),
starts TensorBoard (Rust data server), opens the Internals tab in Debian's
chromium and measures, inside the page, performance.now() from dispatching
the slider's `input` event to the first requestAnimationFrame after the app
fired "internals-shown" (every panel drawn). Two cases: the 4-run comparison
(shared colour range) and a 1-run view of the same layer. The first pass over
the steps fetches and decodes (cold); later passes hit the tab's cache (warm).

    python bench/bench_browser.py [--steps 6] [--rounds 5]
"""

import argparse
import json
import os
import sys
import tempfile
from urllib.parse import quote

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


def write_logs(root, steps):
    rng = np.random.default_rng(0)
    for run in RUNS:
        with Writer(os.path.join(root, run)) as w:
            for step in range(steps):
                x = np.maximum(rng.normal(size=SHAPE).astype(np.float32), 0)
                w.activations(TAG, x, step=step)


def measure(frame, steps, rounds):
    cold, warm = [], []
    for r in range(rounds):
        for i in list(range(steps)):
            ms = frame.evaluate(MEASURE, i)
            (cold if r == 0 else warm).append(ms)
    return cold, warm


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
    with running_tensorboard(root, "true") as url, sync_playwright() as p:
        for run in RUNS:
            wait_for_steps(url, run, TAG, args.steps)
        b = Browser(p, "/usr/bin/chromium", url)
        try:
            for name, runs in (("4 runs", RUNS), ("1 run", RUNS[:1])):
                state = {"runs": json.dumps(runs), "tag": TAG, "step": "0"}
                h = "&".join("%s=%s" % (quote("p.internals." + k, safe=""), quote(v, safe="")) for k, v in state.items())
                b.page.goto("about:blank")
                b.page.goto(url + "/#internals&" + h)
                frame = b.page.wait_for_selector('iframe[src*="plugin_entry.html?name=internals"]').content_frame()
                frame.wait_for_function(
                    "n => document.querySelectorAll('.run-column .view canvas.hm-canvas').length === n * %d" % SHAPE[-1],
                    arg=len(runs), timeout=60000,
                )
                frame.wait_for_function("() => document.querySelector('.step-value')?.textContent === 'Step 0'")
                cold, warm = measure(frame, args.steps, args.rounds)
                results[name] = {
                    "cold_p50_ms": pct(cold, 50), "cold_p95_ms": pct(cold, 95),
                    "warm_p50_ms": pct(warm, 50), "warm_p95_ms": pct(warm, 95),
                    "samples": {"cold": len(cold), "warm": len(warm)},
                }
            b.check_clean()
        finally:
            b.close()
    out = {"shape": list(SHAPE), "steps": args.steps, "rounds": args.rounds, "results": results}
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "browser-latest.json"), "w") as f:
        json.dump(out, f, indent=2)
    for name, r in results.items():
        print("%-7s cold p50 %7.1f ms  p95 %7.1f ms | warm p50 %7.1f ms  p95 %7.1f ms" % (
            name, r["cold_p50_ms"], r["cold_p95_ms"], r["warm_p50_ms"], r["warm_p95_ms"]))


if __name__ == "__main__":
    main()
