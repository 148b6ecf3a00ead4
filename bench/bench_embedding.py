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
  (cached), new connection per request.
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


def measure_projection(n, steps, workdir, repeats=5):
    logdir = os.path.join(workdir, "proj%d" % n)
    with summary.Writer(os.path.join(logdir, "run")) as w:
        for step in range(steps):
            x, y = rows(n, 128, step, steps)
            w.embedding("emb", x, step=step, labels=y)
    with common.running_tensorboard(logdir, "false") as url:
        common.wait_for_steps(url, "run", "emb", steps)
        path = url + "/data/plugin/internals/embedding?" + urlencode({"run": "run", "tag": "emb", "step": steps - 1})
        start = time.perf_counter()
        status, _, body = common.http_get(path, timeout=600)
        first = time.perf_counter() - start
        assert status == 200, body[:200]
        cached = []
        for _ in range(repeats):
            start = time.perf_counter()
            common.http_get(path)
            cached.append(time.perf_counter() - start)
        scores = json.loads(body)
    return {"points": n, "steps": steps, "first_s": first, "first_per_step_s": first / steps,
            "cached_s": common.median(cached), "bytes": len(body), "knn_accuracy_last": scores["knn_accuracy"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="bench_embedding_")
    try:
        results = {"machine": common.machine_info(with_tf=False), "source": common.source_state(),
                   "logging": measure_logging(args.reps, workdir),
                   "projection": [measure_projection(n, args.steps, workdir) for n in (1000, 10000)]}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    lines = [common.machine_line(results["machine"]), "",
             common.markdown_table(["1,000 x 128 rows", "median ms", "/ baseline"],
                                   [[k, "%.1f" % (v["median_s"] * 1e3), "%.2fx" % v["ratio"]]
                                    for k, v in results["logging"].items()]), "",
             common.markdown_table(["points", "steps", "first request s (whole chain)", "per step s", "cached ms",
                                    "answer bytes"],
                                   [["%d" % p["points"], "%d" % p["steps"], "%.2f" % p["first_s"],
                                     "%.2f" % p["first_per_step_s"], "%.1f" % (p["cached_s"] * 1e3),
                                     "%d" % p["bytes"]] for p in results["projection"]])]
    print("\n".join(lines))
    print("wrote", common.write_results("embedding", results))


if __name__ == "__main__":
    main()
