"""Embedding benchmark: logging cost and projection latency.

    python bench/bench_embedding.py [--reps 10]

* Logging: `Writer.embedding` of a 1,000 x 128 float32 matrix with labels
  (q8, the default), against `Writer.activations` of the same matrix in the
  same loop (the baseline: an array summary without labels or projection).
* Projection: a run with `--steps` steps of 1,000 x 128 and of 10,000 x 128
  labelled rows (four separating classes), served by a real TensorBoard
  (`--load_fast=false`): the first `/embedding` request for the last step
  (which computes the whole aligned chain: PCA, Procrustes, 5-NN accuracy in
  both spaces and silhouette for every step) and the same request again
  (cached), new connection per request; for PCA, and for t-SNE and UMAP
  where installed (`--nonlinear-steps` steps: each starts from the step
  before's layout).
* Repaint: the embedding view of a 10,000-point run in Debian's chromium;
  the slider moves step by step (`--rounds` passes, answers cached after the
  first); every animation frame's drawing time (the view's "embedding-paint"
  User Timing measures), p50 / p95, and the whole step change (slider input
  to the animation's end).

    python bench/bench_embedding.py [--reps 10] [--steps 5] [--nonlinear-steps 2] [--only pca,tsne,umap,paint]
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

import numpy as np  # noqa: E402

from tb_plugin import summary  # noqa: E402


def rows(n, d, step, steps, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((4, d)) * 3
    y = np.arange(n) % 4
    mix = step / max(1, steps - 1)
    return (mix * centres[y] + rng.standard_normal((n, d))).astype(np.float32), y


def measure_logging(reps, workdir):
    x, y = rows(1000, 128, 1, 2)
    times = {"Writer.activations (baseline)": [], "Writer.embedding": []}
    with summary.Writer(os.path.join(workdir, "log")) as w:
        for r in range(reps + 2):
            for name in list(times)[r % 2:] + list(times)[:r % 2]:
                start = time.perf_counter()
                if name == "Writer.embedding":
                    w.embedding("emb", x, step=r, labels=y)
                else:
                    w.activations("act", x, step=r)
                if r >= 2:
                    times[name].append(time.perf_counter() - start)
    base = common.median(times["Writer.activations (baseline)"])
    return {name: {"median_s": common.median(t), "ratio": common.median(t) / base} for name, t in times.items()}


def measure_projection(n, steps, workdir, method="pca", repeats=5):
    logdir = os.path.join(workdir, "proj%d_%s" % (n, method))
    with summary.Writer(os.path.join(logdir, "run")) as w:
        for step in range(steps):
            x, y = rows(n, 128, step, steps)
            w.embedding("emb", x, step=step, labels=y)
    with common.running_tensorboard(logdir, "false") as url:
        common.wait_for_steps(url, "run", "emb", steps)
        path = url + "/data/plugin/internals/embedding?" + urlencode(
            {"run": "run", "tag": "emb", "step": steps - 1, "method": method})
        start = time.perf_counter()
        status, _, body = common.http_get(path, timeout=3600)
        first = time.perf_counter() - start
        assert status == 200, body[:200]
        cached = []
        for _ in range(repeats):
            start = time.perf_counter()
            common.http_get(path)
            cached.append(time.perf_counter() - start)
        scores = json.loads(body)
    return {"method": method, "points": n, "steps": steps, "first_s": first, "first_per_step_s": first / steps,
            "cached_s": common.median(cached), "bytes": len(body), "knn_accuracy_last": scores["knn_accuracy"]}


PAINT_STEP = """async (index) => {
  const slider = document.querySelector('.step-slider');
  const canvas = () => document.querySelector('.emb-canvas');
  const t0 = performance.now();
  slider.value = String(index);
  slider.dispatchEvent(new Event('input', { bubbles: true }));
  const step = JSON.parse(document.querySelector('.emb-canvas').dataset.steps)[index];
  while (!(canvas().dataset.step === String(step) && canvas().dataset.settled === 'true')) {
    await new Promise((resolve) => requestAnimationFrame(() => resolve()));
  }
  return performance.now() - t0;
}"""


def measure_paint(workdir, n=10000, steps=4, rounds=3):
    """Frame drawing times of the embedding view on step changes (10,000 points)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
    from playwright.sync_api import sync_playwright
    from test_browser import Browser

    logdir = os.path.join(workdir, "paint")
    with summary.Writer(os.path.join(logdir, "run")) as w:
        for step in range(steps):
            x, y = rows(n, 32, step, steps)
            w.embedding("emb", x, step=step, labels=y)
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with common.running_tensorboard(logdir, "true") as url, sync_playwright() as p:
        common.wait_for_steps(url, "run", "emb", steps)
        browser = Browser(p, chromium, url)
        try:
            browser.page.set_viewport_size({"width": 1280, "height": 900})
            frame = browser.open_tab(url)
            frame.locator(".tag-item[data-tag='emb']").first.click()
            frame.wait_for_function("() => document.querySelector('.emb-canvas')?.dataset.settled === 'true'",
                                    timeout=600000)
            frame.evaluate("s => { document.querySelector('.emb-canvas').dataset.steps = JSON.stringify(s); }",
                           list(range(steps)))
            changes, first = [], []
            for r in range(rounds):
                if r == 1:  # frames of the cached passes only
                    frame.evaluate("() => performance.clearMeasures('embedding-paint')")
                for index in list(range(steps)) + list(range(steps - 2, -1, -1)):
                    ms = frame.evaluate(PAINT_STEP, index)
                    (first if r == 0 else changes).append(ms)
            frames = frame.evaluate("() => performance.getEntriesByName('embedding-paint').map(e => e.duration)")
            browser.check_clean()
        finally:
            browser.close()
    return {"points": n, "frames": len(frames), "paint_p50_ms": common.percentile(frames, 50),
            "paint_p95_ms": common.percentile(frames, 95), "step_change_p50_ms": common.percentile(changes, 50),
            "step_change_p95_ms": common.percentile(changes, 95), "first_visit_p50_ms": common.percentile(first, 50)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--nonlinear-steps", type=int, default=2)
    parser.add_argument("--only", default="logging,pca,tsne,umap,paint")
    args = parser.parse_args()
    only = set(args.only.split(","))
    workdir = tempfile.mkdtemp(prefix="bench_embedding_")
    from tb_plugin.kinds import embedding

    try:
        results = {"machine": common.machine_info(with_tf=False), "source": common.source_state(),
                   "logging": measure_logging(args.reps, workdir) if "logging" in only else {},
                   "projection": []}
        for method in ("pca", "tsne", "umap"):
            if method not in only or method not in embedding.available_methods():
                continue
            for n in (1000, 10000):
                results["projection"].append(measure_projection(
                    n, args.steps if method == "pca" else args.nonlinear_steps, workdir, method))
                print(results["projection"][-1], flush=True)
        results["paint"] = measure_paint(workdir) if "paint" in only else None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    lines = [common.machine_line(results["machine"]), "",
             common.markdown_table(["1,000 x 128 rows", "median ms", "/ baseline"],
                                   [[k, "%.1f" % (v["median_s"] * 1e3), "%.2fx" % v["ratio"]]
                                    for k, v in results["logging"].items()]), "",
             common.markdown_table(["method", "points", "steps", "first request s (whole chain)", "per step s",
                                    "cached ms", "answer bytes"],
                                   [[p["method"], "%d" % p["points"], "%d" % p["steps"], "%.2f" % p["first_s"],
                                     "%.2f" % p["first_per_step_s"], "%.1f" % (p["cached_s"] * 1e3),
                                     "%d" % p["bytes"]] for p in results["projection"]])]
    if results["paint"]:
        q = results["paint"]
        lines += ["", common.markdown_table(
            ["scatter, %d points" % q["points"], "p50 ms", "p95 ms"],
            [["one frame's drawing (%d frames)" % q["frames"], "%.1f" % q["paint_p50_ms"], "%.1f" % q["paint_p95_ms"]],
             ["step change, slider to animation end (cached)", "%.0f" % q["step_change_p50_ms"],
              "%.0f" % q["step_change_p95_ms"]],
             ["step change, first visit (p50)", "%.0f" % q["first_visit_p50_ms"], ""]])]
    print("\n".join(lines))
    print("wrote", common.write_results("embedding", results))


if __name__ == "__main__":
    main()
