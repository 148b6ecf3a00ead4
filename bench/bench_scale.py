"""Scale benchmark: a long run on real TensorBoard processes, both backends.

    python bench/bench_scale.py [--tags 20] [--steps 2000] [--requests 200]
                                [--before-tags 10] [--before-steps 1000]

Writes `--tags` activation tags x `--steps` steps of a [16, 8, 8, 64] ReLU
conv array (`common.relu_conv`, q8) with this release's `Writer` (payloads in
the run's payload store, references in the event file), plus, as the
"before" layout, `--before-tags` x `--before-steps` written as the previous
release did (schema 1: payloads inline in blob sequences) served with that
release's sample default (`--samples_per_plugin=internals=500`). A run
"images" holds one PNG of about the same byte size as one payload, logged
with `tf.summary.image`, for TensorBoard's own images plugin as the
same-backend reference. For each backend (`--load_fast=true`, `false`) and
layout it measures:

* steps kept of one tag (target: all);
* server RSS (TensorBoard and its data server) once everything is listed,
  minus the RSS of the same server on an empty logdir (target: <= 100 MB);
* time from start to a complete listing, against the empty logdir's time to
  its first listing (target: <= 2x);
* `/data` p50/p95 at step 10 and at the last step (target: within 1.2x of
  each other), and against the images plugin's `/individualImage` of the
  same byte size (target: <= 1.5x), requests interleaved round by round.

Payloads are encoded once per distinct array and written through the
writer's store path, so writing the 40,000-step log takes seconds, not the
minutes that encoding each step would.
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
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import common  # noqa: E402

import numpy as np  # noqa: E402
from tensorboard.compat.proto import summary_pb2  # noqa: E402

from tb_plugin.format import encoding, metadata  # noqa: E402
from tb_plugin import summary

SHAPE = (16, 8, 8, 64)
PREFIX = "/data/plugin/internals"
DISTINCT = 16  # distinct payloads cycled through the steps


def payloads():
    return [encoding.encode(common.relu_conv(seed=i, shape=SHAPE)) for i in range(DISTINCT)]


def write_store_layout(run_dir, tags, steps, blobs):
    md = None
    with summary.Writer(run_dir) as writer:
        for t in range(tags):
            md = metadata.create_summary_metadata("activations", SHAPE, "float32", "q8")
            for step in range(steps):
                value = summary_pb2.Summary.Value(tag="layer%02d" % t, metadata=md,
                                                  tensor=writer._stored([blobs[(step + t) % DISTINCT]]))
                writer._write_value(value, step)


def write_inline_layout(run_dir, tags, steps, blobs):
    from helpers import write_schema1

    for t in range(tags):
        write_schema1(run_dir, "layer%02d" % t, [(s, blobs[(s + t) % DISTINCT]) for s in range(steps)],
                      shape=SHAPE)


def write_image(run_dir, target_bytes):
    import tensorflow as tf

    side = int(np.sqrt(target_bytes / 3)) + 1  # noise PNGs hardly compress
    image = np.random.default_rng(0).integers(0, 256, (1, side, side, 3), dtype=np.uint8)
    writer = tf.summary.create_file_writer(run_dir)
    with writer.as_default():
        tf.summary.image("noise", image, step=0)
    writer.close()


def get(url, path):
    status, headers, body = common.http_get(url + path)
    if status != 200:
        raise RuntimeError("%s answered %s: %s" % (path, status, body[:200]))
    return body


def wait_listed(url, expect, started, timeout=1800):
    """Seconds from `started` until /tags lists every tag at its last step."""
    while True:
        status, _, body = common.http_get(url + PREFIX + "/tags", timeout=120)
        if status == 200:
            tags = json.loads(body)
            if all(tags.get(run, {}).get(tag, {}).get("max_step") == last for (run, tag), last in expect.items()):
                return time.time() - started
        if time.time() - started > timeout:
            raise RuntimeError("not listed in %d s" % timeout)
        time.sleep(0.2)


def timed(url, path):
    start = time.perf_counter()
    get(url, path)
    return time.perf_counter() - start


def serve(logdir, backend, expect, data_paths, image_path, n_requests, extra_args=()):
    started = time.time()
    with common.tensorboard_process(logdir, backend, extra_args=list(extra_args), timeout=1800) as (url, process):
        first = time.time() - started
        listed = wait_listed(url, expect, started) if expect else first
        rss = common.process_tree_rss(process.pid)
        result = {"first_answer_s": first, "listed_s": listed, "rss_bytes": rss}
        if not data_paths:
            return result
        run, tag = next(iter(expect))
        steps = json.loads(get(url, PREFIX + "/steps?" + urlencode({"run": run, "tag": tag})))["steps"]
        result["steps_kept"] = len(steps)
        paths = dict(data_paths)
        if image_path:
            paths["images plugin"] = image_path(url)
        for path in paths.values():
            for _ in range(5):
                get(url, path)  # warm-up (first reads open files, fill caches)
        times = {name: [] for name in paths}
        names = list(paths)
        for i in range(n_requests):
            for name in names[i % len(names):] + names[:i % len(names)]:
                times[name].append(timed(url, paths[name]))
        result["routes"] = {name: {"p50_s": common.percentile(t, 50), "p95_s": common.percentile(t, 95),
                                   "bytes": len(get(url, paths[name]))} for name, t in times.items()}
        result["rss_after_bytes"] = common.process_tree_rss(process.pid)
        return result


def image_path(url):
    """The images plugin's URL of the logged PNG (its blob key comes from the listing)."""
    listing = json.loads(get(url, "/data/plugin/images/images?" + urlencode({"run": "images", "tag": "noise"})))
    return "/data/plugin/images/individualImage?" + listing[0]["query"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tags", type=int, default=20)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--before-tags", type=int, default=10)
    parser.add_argument("--before-steps", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="bench_scale_")
    blobs = payloads()
    payload_bytes = int(np.median([len(b) for b in blobs]))
    results = {"args": vars(args), "payload_bytes": payload_bytes, "machine": common.machine_info(with_tf=False),
               "source": common.source_state(), "backends": {}}
    try:
        empty = os.path.join(root, "empty")
        os.makedirs(empty)
        after, before = os.path.join(root, "after"), os.path.join(root, "before")
        t0 = time.time()
        write_store_layout(os.path.join(after, "long"), args.tags, args.steps, blobs)
        results["write_s_after"] = time.time() - t0
        write_inline_layout(os.path.join(before, "long"), args.before_tags, args.before_steps, blobs)
        for logdir in (after, before):
            write_image(os.path.join(logdir, "images"), payload_bytes)
        results["disk_bytes"] = {"after": common.dir_bytes(after), "before": common.dir_bytes(before)}
        for backend in ("true", "false"):
            entry = results["backends"][backend] = {}
            # Start-up on an empty logdir, three times (the median is the baseline: starts are noisy).
            empties = [serve(empty, backend, {}, {}, None, 0) for _ in range(3)]
            entry["empty"] = {key: float(np.median([e[key] for e in empties])) for key in empties[0]}
            for name, logdir, tags, steps, extra in (
                ("after", after, args.tags, args.steps, ()),
                ("before", before, args.before_tags, args.before_steps, ("--samples_per_plugin=internals=500",)),
            ):
                expect = {("long", "layer%02d" % t): steps - 1 for t in range(tags)}
                data = {"/data step 10": PREFIX + "/data?run=long&tag=layer00&step=10",
                        "/data last step": PREFIX + "/data?run=long&tag=layer00&step=%d" % (steps - 1)}
                if name == "before":  # the sampled reservoir may not hold step 10
                    data = {"/data last step": data["/data last step"]}
                entry[name] = serve(logdir, backend, expect, data, image_path, args.requests, extra)
            print(json.dumps(entry, indent=1), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    path = common.write_results("bench_scale", results)
    print(report(results))
    print("wrote", path)


def report(results):
    mb = 2 ** 20
    lines = ["Payload: [16, 8, 8, 64] q8, %d bytes; after: %d tags x %d steps (%.0f MB on disk); "
             "before: %d x %d inline (%.0f MB)." % (
                 results["payload_bytes"], results["args"]["tags"], results["args"]["steps"],
                 results["disk_bytes"]["after"] / 1e6, results["args"]["before_tags"],
                 results["args"]["before_steps"], results["disk_bytes"]["before"] / 1e6), ""]
    rows = []
    for backend, entry in results["backends"].items():
        empty = entry["empty"]
        for name in ("before", "after"):
            r = entry[name]
            routes = r["routes"]
            image = routes["images plugin"]["p50_s"]
            last = routes["/data last step"]
            step10 = routes.get("/data step 10")
            rows.append([
                "--load_fast=%s" % backend, name, "%d" % r["steps_kept"],
                "%.0f" % ((r["rss_bytes"] - empty["rss_bytes"]) / mb),
                "%.1f / %.1f (%.1fx)" % (r["listed_s"], empty["first_answer_s"], r["listed_s"] / empty["first_answer_s"]),
                "-" if step10 is None else "%.1f / %.1f" % (step10["p50_s"] * 1e3, step10["p95_s"] * 1e3),
                "%.1f / %.1f" % (last["p50_s"] * 1e3, last["p95_s"] * 1e3),
                "-" if step10 is None else "%.2fx" % (last["p50_s"] / step10["p50_s"]),
                "%.1f (%d B)" % (image * 1e3, routes["images plugin"]["bytes"]),
                "%.2fx" % (last["p50_s"] / image),
            ])
    lines.append(common.markdown_table(
        ["backend", "layout", "steps kept", "RSS growth MiB", "listed s / empty s", "/data step 10 p50/p95 ms",
         "/data last p50/p95 ms", "last/10", "images p50 ms", "/data ÷ images"], rows))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
