"""Route benchmark: latency of the plugin's HTTP routes on a real TensorBoard.

    python bench/bench_route.py [--requests 200] [--warmup 20]

Writes one tag ("conv") of 16x32x32x64 ReLU-conv activations (see
`common.relu_conv`), `STEPS` steps, in two runs: "q8" (the default encoding)
and "f32". Starts `tensorboard --load_fast=true` (Rust data server) and then
`--load_fast=false` (Python multiplexer) on 127.0.0.1, waits until every step
is loaded, checks that `/data` serves exactly the logged payload bytes, then
times sequential GETs, each on a new connection (urllib sends
`Connection: close`), from sending the request to having read the whole body:

* `/data?run=q8&tag=conv&step=S` and `/data?run=f32&...` (one step's payload),
* `/steps?run=q8&tag=conv`,
* `/tags`: a tiny JSON route on the same server, the same-run baseline;
* TensorBoard's own `/data/runs` (tiny JSON, no plugin code, no data
  provider call for blobs), a second same-server reference.

Every round requests each route once, in a rotated order, so drift hits all
routes alike; ratios to `/tags` are given both as p50/p50 and as the median of
the per-round (paired) ratios. Prints Markdown tables and writes JSON to
bench/results/.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
import urllib.request
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

import numpy as np  # noqa: E402

from tb_plugin.format import encoding  # noqa: E402
from tb_plugin import summary

TAG = "conv"
STEPS = 5
TIMED_STEP = 2
RUNS = ("q8", "f32")
BACKENDS = (("true", "Rust data server (--load_fast=true)"), ("false", "Python multiplexer (--load_fast=false)"))
PREFIX = "/data/plugin/internals"
MB = 1e6


def write_logs(logdir):
    """Writes the runs; returns {run: {step: payload bytes}} as logged."""
    logged = {}
    arrays = [common.relu_conv(seed=step) for step in range(STEPS)]
    for run in RUNS:
        logged[run] = {}
        with summary.Writer(os.path.join(logdir, run)) as writer:
            for step, array in enumerate(arrays):
                writer.activations(TAG, array, step=step, encoding=run)
                logged[run][step] = encoding.encode(array, run)
    return logged, arrays[0].size


def routes():
    """(name, path) of the timed routes; the first is the baseline."""
    return [
        ("/tags (baseline)", PREFIX + "/tags"),
        ("core /data/runs", "/data/runs"),
        ("/steps q8", PREFIX + "/steps?" + urlencode({"run": "q8", "tag": TAG})),
        ("/data q8", PREFIX + "/data?" + urlencode({"run": "q8", "tag": TAG, "step": TIMED_STEP})),
        ("/data f32", PREFIX + "/data?" + urlencode({"run": "f32", "tag": TAG, "step": TIMED_STEP})),
    ]


def content_encoding_with_gzip(url):
    """The Content-Encoding answered when the client accepts gzip, as a browser does."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        return response.headers.get("Content-Encoding")


def bench_backend(logdir, load_fast, logged, n_requests, warmup):
    started = time.perf_counter()
    with common.tensorboard_process(logdir, load_fast) as (url, process):
        answered = time.perf_counter() - started
        for run in RUNS:
            common.wait_for_steps(url, run, TAG, STEPS)
        loaded = time.perf_counter() - started
        # Byte accounting: the route serves exactly the logged payload.
        for run in RUNS:
            status, headers, body = common.http_get(
                url + PREFIX + "/data?" + urlencode({"run": run, "tag": TAG, "step": TIMED_STEP})
            )
            assert status == 200, (run, status, body[:200])
            assert body == logged[run][TIMED_STEP], "served %s payload differs from the logged one" % run
            assert int(headers["Content-Length"]) == len(body)
        rss_loaded = common.process_tree_rss(process.pid)

        table = routes()
        sizes, gzip_encodings = {}, {}
        for name, path in table:
            status, _, body = common.http_get(url + path)
            assert status == 200, (name, status, body[:200])
            sizes[name] = len(body)
            gzip_encodings[name] = content_encoding_with_gzip(url + path)
        times = {name: [] for name, _ in table}
        for round_index in range(warmup + n_requests):
            shift = round_index % len(table)
            for name, path in table[shift:] + table[:shift]:
                t0 = time.perf_counter()
                status, _, body = common.http_get(url + path)
                elapsed = time.perf_counter() - t0
                if status != 200 or len(body) != sizes[name]:
                    raise RuntimeError("%s answered %s with %d bytes" % (name, status, len(body)))
                if round_index >= warmup:
                    times[name].append(elapsed)
        rss_after = common.process_tree_rss(process.pid)

    base_name = table[0][0]
    base = np.asarray(times[base_name])
    base_p50 = common.percentile(base, 50)
    runs_p50 = common.percentile(times["core /data/runs"], 50)
    result = {
        "startup_s": answered,
        "all_steps_loaded_s": loaded,
        "server_rss_bytes_loaded": rss_loaded,
        "server_rss_bytes_after": rss_after,
        "routes": {},
    }
    for name, _ in table:
        t = np.asarray(times[name])
        p50 = common.percentile(t, 50)
        result["routes"][name] = {
            "bytes": sizes[name],
            "content_encoding_if_gzip_accepted": gzip_encodings[name],
            "p50_s": p50,
            "p95_s": common.percentile(t, 95),
            "p99_s": common.percentile(t, 99),
            "mean_s": float(t.mean()),
            "p50_ratio_vs_tags": p50 / base_p50,
            "p50_ratio_vs_core_runs": p50 / runs_p50,
            "paired_ratio_vs_tags_median": common.median(t / base),
            "body_MB_per_s_at_p50": sizes[name] / p50 / MB,
            "times_s": t.tolist(),
        }
    return result


def report(results):
    out = ["Machine: " + common.machine_line(results["machine"]), ""]
    out.append(
        "Payload: one %s step of %d values (%.2f MB as raw float32); %d requests per route after %d warm-up, "
        "new connection per request." % (
            "x".join(str(d) for d in common.CONV_SHAPE), results["values"], 4 * results["values"] / MB,
            results["requests"], results["warmup"],
        )
    )
    out.append("")
    rows = []
    for flag, label in BACKENDS:
        b = results["backends"][flag]
        for name, r in b["routes"].items():
            rows.append([
                label, name, "{:,}".format(r["bytes"]), "%.2f" % (r["p50_s"] * 1e3), "%.2f" % (r["p95_s"] * 1e3),
                "%.2f" % (r["p99_s"] * 1e3), "%.2fx" % r["p50_ratio_vs_tags"],
                "%.2fx" % r["paired_ratio_vs_tags_median"], "%.2fx" % r["p50_ratio_vs_core_runs"],
                "%.0f" % r["body_MB_per_s_at_p50"] if r["bytes"] >= 100000 else "-",
            ])
    out.append(common.markdown_table(
        ["backend", "route", "body bytes", "p50 ms", "p95 ms", "p99 ms", "p50 / tags p50", "paired / tags (median)",
         "p50 / core runs p50", "body MB/s at p50"],
        rows,
    ))
    out.append("")
    rust, py = results["backends"]["true"], results["backends"]["false"]
    rows = []
    for name in rust["routes"]:
        rows.append([name, "%.2fx" % (rust["routes"][name]["p50_s"] / py["routes"][name]["p50_s"])])
    out.append("Rust p50 / Python p50 (separate servers run one after the other, so less robust than the in-server ratios):")
    out.append("")
    out.append(common.markdown_table(["route", "Rust / Python p50"], rows))
    out.append("")
    rows = []
    for flag, label in BACKENDS:
        b = results["backends"][flag]
        rows.append([label, "%.1f" % b["startup_s"], "%.1f" % b["all_steps_loaded_s"],
                     "%.0f" % (b["server_rss_bytes_loaded"] / 2 ** 20), "%.0f" % (b["server_rss_bytes_after"] / 2 ** 20)])
    out.append("Server process tree (tensorboard + data server child), for context; the logdir holds %.1f MB of event files:"
               % (results["logdir_bytes"] / MB))
    out.append("")
    out.append(common.markdown_table(
        ["backend", "first answer s", "all steps loaded s", "RSS MiB loaded", "RSS MiB after timing"], rows
    ))
    gz = {name: r["content_encoding_if_gzip_accepted"]
          for b in results["backends"].values() for name, r in b["routes"].items()}
    out.append("")
    out.append("Content-Encoding when the client accepts gzip: "
               + ", ".join("%s: %s" % (name, value or "none") for name, value in sorted(gz.items())))
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()

    started = time.time()
    results = {
        "benchmark": "route",
        "machine": common.machine_info(with_tf=False),
        "requests": args.requests,
        "warmup": args.warmup,
        "tag": TAG,
        "steps": STEPS,
        "timed_step": TIMED_STEP,
        "backends": {},
    }
    logdir = tempfile.mkdtemp(prefix="bench-route-")
    try:
        logged, values = write_logs(logdir)
        results["values"] = values
        results["payload_bytes"] = {run: len(logged[run][TIMED_STEP]) for run in RUNS}
        results["logdir_bytes"] = common.dir_bytes(logdir)
        for flag, label in BACKENDS:
            print("%s..." % label, file=sys.stderr, flush=True)
            results["backends"][flag] = bench_backend(logdir, flag, logged, args.requests, args.warmup)
    finally:
        shutil.rmtree(logdir, ignore_errors=True)
    results["elapsed_s"] = time.time() - started
    results["loadavg_1min_at_end"] = os.getloadavg()[0]
    print(report(results))
    path = common.write_results("route", results)
    print("\nJSON: %s (%.0f s; 1-min load average at end %.2f)"
          % (os.path.relpath(path), results["elapsed_s"], results["loadavg_1min_at_end"]))


if __name__ == "__main__":
    main()
