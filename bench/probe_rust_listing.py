"""Diagnostic: latency of the Rust data server's listing RPCs by series count.

    python bench/probe_rust_listing.py

`bench_route.py` finds `/data/plugin/internals/tags` about 20-30x slower than
TensorBoard's own `/data/runs` on `--load_fast=true`. This probe isolates
the cause below the HTTP layer: it starts the data server binary directly
(TensorBoard's `SubprocessServerDataIngester`), calls the gRPC data provider
in process, and times `list_blob_sequences` (what `/tags` calls) for logdirs
holding 1, 2 and 4 tiny internals series, with `list_scalars` over 2 scalar
series and `read_blob_sequences` filtered to one run/tag (what `/steps` and
`/data` call) as references. Prints a Markdown table and writes JSON to
bench/results/.
"""

import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

import numpy as np  # noqa: E402
from tensorboard import context  # noqa: E402
from tensorboard.data import provider, server_ingester  # noqa: E402
from tensorboard.util import grpc_util  # noqa: E402

from tb_plugin import summary  # noqa: E402

CALLS = 15
LAYOUTS = ((1, 1), (1, 2), (2, 1), (2, 2))  # (runs, tags per run)


def write_logdir(root, runs, tags):
    array = np.linspace(-1, 1, 64, dtype=np.float32).reshape(4, 16)
    for r in range(runs):
        with summary.Writer(os.path.join(root, "run%d" % r)) as writer:
            for t in range(tags):
                writer.activations("tag%d" % t, array, step=0)
                writer.scalar("loss%d" % t, 1.0, step=0)


def timed(fn, calls=CALLS):
    fn()  # warm-up
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return common.median(times)


def probe(runs, tags):
    root = tempfile.mkdtemp(prefix="probe-rust-")
    ingester = None
    try:
        write_logdir(root, runs, tags)
        ingester = server_ingester.SubprocessServerDataIngester(
            server_ingester.get_server_binary(), root, reload_interval=1,
            channel_creds_type=grpc_util.ChannelCredsType.LOCAL, samples_per_plugin={"internals": 500},
        )
        ingester.start()
        dp, ctx = ingester.data_provider, context.RequestContext()
        deadline = time.time() + 60
        while sum(len(t) for t in dp.list_blob_sequences(ctx, experiment_id="", plugin_name="internals").values()) < runs * tags:
            if time.time() > deadline:
                raise RuntimeError("data server did not load the logdir")
            time.sleep(0.5)
        one = provider.RunTagFilter(runs=["run0"], tags=["tag0"])
        return {
            "series": runs * tags,
            "list_blob_sequences_s": timed(lambda: dp.list_blob_sequences(ctx, experiment_id="", plugin_name="internals")),
            "list_scalars_s": timed(lambda: dp.list_scalars(ctx, experiment_id="", plugin_name="scalars")),
            "read_blob_sequences_one_series_s": timed(lambda: dp.read_blob_sequences(
                ctx, experiment_id="", plugin_name="internals", downsample=1000, run_tag_filter=one)),
            "list_runs_s": timed(lambda: dp.list_runs(ctx, experiment_id="")),
        }
    finally:
        if ingester is not None:
            ingester._stdin_handle.close()  # the server runs with --die-after-stdin
        shutil.rmtree(root, ignore_errors=True)


def main():
    results = {"benchmark": "probe_rust_listing", "machine": common.machine_info(with_tf=False), "layouts": {}}
    rows = []
    for runs, tags in LAYOUTS:
        r = probe(runs, tags)
        results["layouts"]["%d runs x %d tags" % (runs, tags)] = r
        rows.append(["%d x %d" % (runs, tags), r["series"]] + ["%.2f" % (r[k] * 1e3) for k in (
            "list_blob_sequences_s", "list_scalars_s", "read_blob_sequences_one_series_s", "list_runs_s")])
    print("Machine: " + common.machine_line(results["machine"]))
    print("")
    print("Median of %d in-process gRPC calls to the Rust data server, ms:" % CALLS)
    print("")
    print(common.markdown_table(
        ["runs x tags", "series", "list_blob_sequences", "list_scalars", "read_blob_sequences (1 series)", "list_runs"],
        rows,
    ))
    results["loadavg_1min_at_end"] = os.getloadavg()[0]
    path = common.write_results("probe_rust_listing", results)
    print("\nJSON: %s" % os.path.relpath(path))


if __name__ == "__main__":
    main()
