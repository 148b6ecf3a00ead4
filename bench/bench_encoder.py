"""Encoder benchmark: stored bytes per value, write throughput, q8 error, memory.

    python bench/bench_encoder.py [--reps 15] [--warmup 3]

For each test array (see `common.ARRAYS`) it measures:

* storage: payload bytes per value of q8 and f32, and event-file growth per
  value on disk after flushing, against the same-run baseline
  `tf.summary.write(tag, float32 tensor, step)` (raw float32 TensorProto);
* write throughput of `Writer.activations` (q8, f32), the TF door
  `tb_plugin.summary.activations` in eager mode (q8) and the baseline, each
  call followed by a flush; medians over repetitions, methods interleaved
  round-robin (rotated order) so machine drift hits all of them alike, and
  ratios to the baseline taken per round (paired) before the median;
* q8 error: max |decoded - logged| per channel over that channel's range;
* memory: peak Python/numpy allocation during `Writer.activations`
  (tracemalloc) as a multiple of the float32 input's bytes.

Prints Markdown tables and writes JSON to bench/results/.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402  (sets TF_CPP_MIN_LOG_LEVEL before TF loads)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorboard.backend.event_processing import event_file_loader  # noqa: E402
from tensorboard.compat.proto import event_pb2  # noqa: E402

from tb_plugin.format import store, encoding  # noqa: E402
from tb_plugin import summary

BASELINE = "tf.summary.write raw f32"
METHODS = (BASELINE, "Writer q8", "Writer f32", "TF door q8 (eager)")
# Not writes: the encoder alone, timed in the same rounds to attribute the
# writers' time (the rest is protobuf, record framing/CRC and the file write).
ENCODE_ONLY = ("encode() q8 only", "encode() f32 only")
# Also not writes: the record checksum over a payload, which `summary.Writer`
# pays on every write (`tfrecord.masked_crc32c`: google-crc32c, numpy fallback) against TensorBoard's
# own pure-Python `masked_crc32c`; `tf.summary` writers compute it in C++.
CRC_ONLY = ("record CRC32C of q8 payload", "record CRC32C of f32 payload")
TB_CRC_ONLY = ("TensorBoard CRC32C of q8 payload", "TensorBoard CRC32C of f32 payload")
TIMED = METHODS + ENCODE_ONLY + CRC_ONLY + TB_CRC_ONLY
STORAGE_STEPS = 3
MB = 1e6


# --------------------------------------------------------------------------
# The write methods: each makes a writer in `logdir` and returns
# (write(step), flush(), close()).


def make_method(name, logdir, array):
    if name in ENCODE_ONLY:
        enc = name.split()[1]

        def encode_only(step):
            encoding.encode(array, enc)

        return encode_only, lambda: None, lambda: None
    if name in CRC_ONLY or name in TB_CRC_ONLY:
        if name in CRC_ONLY:
            from tb_plugin.format.tfrecord import masked_crc32c
        else:
            from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

        payload = encoding.encode(array, name.split()[3])

        def crc_only(step):
            masked_crc32c(payload)

        return crc_only, lambda: None, lambda: None
    if name.startswith("Writer"):
        enc = name.split()[1]
        writer = summary.Writer(logdir)

        def write(step):
            writer.activations("act", array, step=step, encoding=enc)

        return write, writer.flush, writer.close
    tf_writer = tf.summary.create_file_writer(logdir)
    tensor = tf.constant(array)  # a layer output is an eager tensor in TF code
    if name == BASELINE:

        def write(step):
            with tf_writer.as_default():
                tf.summary.write("act", tensor, step=step)

    else:
        enc = "q8"

        def write(step):
            with tf_writer.as_default():
                summary.activations("act", tensor, step=step, encoding=enc)

    return write, tf_writer.flush, tf_writer.close


def event_payloads(logdir):
    """Payload bytes (the first string value) of each summary in `logdir`'s
    event files; for `summary.Writer`'s references, the payload they name in
    the run's payload store."""
    found = []
    reader = store.StoreReader()
    for name in sorted(os.listdir(logdir)):
        if "tfevents" not in name:
            continue  # the payload store folder
        for event in event_file_loader.RawEventFileLoader(os.path.join(logdir, name)).Load():
            parsed = event_pb2.Event.FromString(event)
            for value in parsed.summary.value:
                t = value.tensor
                raw = t.string_val[0] if t.string_val else t.tensor_content
                if t.string_val and raw.startswith(b'{"crc32c"'):
                    raw = reader.read(logdir, store.parse_reference(raw))
                found.append(raw)
    return found


# --------------------------------------------------------------------------
# Measurements


def measure_storage(array, workdir):
    """Per method: payload and event-file bytes per value (growth over STORAGE_STEPS writes)."""
    n = array.size
    expected = {
        "Writer q8": encoding.encode(array, "q8"),
        "Writer f32": encoding.encode(array, "f32"),
        "TF door q8 (eager)": encoding.encode(array, "q8"),
        BASELINE: np.ascontiguousarray(array, "<f4").tobytes(),
    }
    rows = {}
    for method in METHODS:
        logdir = tempfile.mkdtemp(prefix="storage-", dir=workdir)
        write, flush, close = make_method(method, logdir, array)
        flush()
        before = common.dir_bytes(logdir)
        for step in range(STORAGE_STEPS):
            write(step)
        flush()
        after = common.dir_bytes(logdir)
        close()
        payloads = event_payloads(logdir)
        # Byte accounting check: what is on disk is exactly the payload we expect.
        assert len(payloads) == STORAGE_STEPS, (method, len(payloads))
        assert all(p == expected[method] for p in payloads), method
        per_step = (after - before) / STORAGE_STEPS
        payload = len(expected[method])
        rows[method] = {
            "payload_bytes": payload,
            "payload_bytes_per_value": payload / n,
            "event_bytes_per_step": per_step,
            "event_bytes_per_value": per_step / n,
            "overhead_bytes_per_step": per_step - payload,
            "file_header_bytes": before,
        }
        shutil.rmtree(logdir)
    base = rows[BASELINE]["event_bytes_per_value"]
    for row in rows.values():
        row["event_bytes_ratio_vs_baseline"] = row["event_bytes_per_value"] / base
    return rows


def measure_throughput(array, workdir, reps, warmup):
    n = array.size
    methods = {}
    for method in TIMED:
        logdir = tempfile.mkdtemp(prefix="speed-", dir=workdir)
        methods[method] = (logdir,) + make_method(method, logdir, array)
    times = {m: [] for m in TIMED}
    step = 0
    for round_index in range(warmup + reps):
        shift = round_index % len(TIMED)
        order = TIMED[shift:] + TIMED[:shift]
        for method in order:
            _, write, flush, _ = methods[method]
            step += 1
            t0 = time.perf_counter()
            write(step)
            flush()
            elapsed = time.perf_counter() - t0
            if round_index >= warmup:
                times[method].append(elapsed)
    for logdir, _, _, close in methods.values():
        close()
        shutil.rmtree(logdir)
    base = np.asarray(times[BASELINE])
    rows = {}
    for enc in ("q8", "f32"):
        share = np.asarray(times["record CRC32C of %s payload" % enc]) / np.asarray(times["Writer " + enc])
        rows["crc_share_of_writer_" + enc] = common.median(share)
    for method in TIMED:
        t = np.asarray(times[method])
        paired = t / base
        med = common.median(t)
        rows[method] = {
            "median_s": med,
            "p25_s": common.percentile(t, 25),
            "p75_s": common.percentile(t, 75),
            "values_per_s": n / med,
            "input_MB_per_s": 4 * n / med / MB,
            "time_ratio_vs_baseline_median": common.median(paired),
            "time_ratio_vs_baseline_p25": common.percentile(paired, 25),
            "time_ratio_vs_baseline_p75": common.percentile(paired, 75),
            "times_s": t.tolist(),
        }
    return rows


def measure_q8_error(array):
    decoded = encoding.decode(encoding.encode(array, "q8")).astype(np.float64)
    header, _ = encoding.read_header(encoding.encode(array, "q8"))
    x = array.astype(np.float64)
    channels = header["channels"]
    xv, dv = x.reshape(-1, channels), decoded.reshape(-1, channels)
    err = np.abs(dv - xv).max(axis=0)
    span = xv.max(axis=0) - xv.min(axis=0)
    live = span > 0
    rel = err[live] / span[live]
    zeros = x == 0
    return {
        "channels": int(channels),
        "zero_fraction": float(zeros.mean()),
        "zeros_decode_exactly": bool(np.all(decoded[zeros] == 0)),
        "max_err_over_channel_range": float(rel.max()) if rel.size else 0.0,
        "median_err_over_channel_range": float(np.median(rel)) if rel.size else 0.0,
        "bound": 1 / 510,
        "within_bound": bool(rel.max() <= 1 / 510 * (1 + 1e-6)) if rel.size else True,
        "within_error_bound_fn": bool(np.all(np.abs(decoded - x) <= encoding.error_bound(array))),
        "f32_roundtrip_bit_exact": bool(
            np.array_equal(encoding.decode(encoding.encode(array, "f32")).view(np.uint32), array.view(np.uint32))
        ),
    }


def measure_memory(array, workdir):
    """Peak traced allocation during one Writer.activations call, per encoding."""
    rows = {}
    for enc in ("q8", "f32"):
        logdir = tempfile.mkdtemp(prefix="mem-", dir=workdir)
        writer = summary.Writer(logdir)
        writer.activations("act", array, step=0, encoding=enc)  # warm-up
        tracemalloc.start()
        tracemalloc.reset_peak()
        start, _ = tracemalloc.get_traced_memory()
        writer.activations("act", array, step=1, encoding=enc)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        writer.close()
        shutil.rmtree(logdir)
        rows["Writer " + enc] = {
            "peak_bytes": peak - start,
            "input_bytes": array.nbytes,
            "ratio_vs_input": (peak - start) / array.nbytes,
        }
    return rows


# --------------------------------------------------------------------------
# Report


def report(results):
    out = []
    out.append("Machine: " + common.machine_line(results["machine"]))
    out.append("")
    out.append("### Storage (bytes per logged value; baseline: `tf.summary.write` of the raw float32 tensor)")
    out.append("")
    rows = []
    for array_name, per in results["arrays"].items():
        for method in METHODS:
            s = per["storage"][method]
            rows.append([
                array_name, method, "%.4f" % s["payload_bytes_per_value"], "%.4f" % s["event_bytes_per_value"],
                "%.3f" % s["event_bytes_ratio_vs_baseline"], "%.0f" % s["overhead_bytes_per_step"],
            ])
    out.append(common.markdown_table(
        ["array", "method", "payload B/value", "event-file B/value", "event bytes / baseline", "event overhead B/step"],
        rows,
    ))
    out.append("")
    out.append("### Write throughput (one call + flush; median of %d after %d warm-up; ratio = paired per-round time / baseline time, median [IQR])"
               % (results["reps"], results["warmup"]))
    out.append("")
    rows = []
    for array_name, per in results["arrays"].items():
        for method in METHODS + ENCODE_ONLY:
            t = per["throughput"][method]
            rows.append([
                array_name, method, "%.2f" % (t["median_s"] * 1e3), "%.1f" % (t["values_per_s"] / 1e6),
                "%.1f" % t["input_MB_per_s"],
                "%.2fx [%.2f-%.2f]" % (t["time_ratio_vs_baseline_median"], t["time_ratio_vs_baseline_p25"],
                                       t["time_ratio_vs_baseline_p75"]),
            ])
    out.append(common.markdown_table(
        ["array", "method", "median ms/call", "M values/s", "MB/s of f32 input", "time / baseline"], rows
    ))
    out.append("")
    out.append("Record checksum: `Writer`'s CRC-32C (`tb_plugin/tfrecord.py`: google-crc32c's C one, numpy fallback) against TensorBoard's "
               "pure-Python `masked_crc32c`, and its share of a `Writer` call (median of paired per-round ratios):")
    out.append("")
    rows = []
    for array_name, per in results["arrays"].items():
        for enc in ("q8", "f32"):
            t = per["throughput"]["record CRC32C of %s payload" % enc]
            tb = per["throughput"]["TensorBoard CRC32C of %s payload" % enc]
            payload = per["storage"]["Writer " + enc]["payload_bytes"]
            rows.append([array_name, enc, "%.2f" % (payload / MB), "%.1f" % (t["median_s"] * 1e3),
                         "%.1f" % (tb["median_s"] * 1e3), "%.1fx" % (tb["median_s"] / t["median_s"]),
                         "%.0f%%" % (100 * per["throughput"]["crc_share_of_writer_" + enc])])
    out.append(common.markdown_table(
        ["array", "encoding", "payload MB", "Writer CRC ms", "TensorBoard CRC ms", "speed-up", "share of Writer call"], rows))
    out.append("")
    out.append("### q8 error (max |decoded - logged| over the channel's range; documented bound 1/510 = %.8f)" % (1 / 510))
    out.append("")
    rows = []
    for array_name, per in results["arrays"].items():
        e = per["q8_error"]
        rows.append([
            array_name, e["channels"], "%.3f" % e["zero_fraction"], "%.8f" % e["max_err_over_channel_range"],
            "%.8f" % e["median_err_over_channel_range"], "yes" if e["within_bound"] else "NO",
            "yes" if e["within_error_bound_fn"] else "NO",
            "yes" if e["zeros_decode_exactly"] else "NO", "yes" if e["f32_roundtrip_bit_exact"] else "NO",
        ])
    out.append(common.markdown_table(
        ["array", "channels", "zero fraction", "max err/range", "median err/range", "<= 1/510",
         "<= error_bound() everywhere", "zeros exact",
         "f32 bit-exact"],
        rows,
    ))
    out.append("")
    out.append("### Memory (peak tracemalloc'd bytes during one `Writer.activations` call; baseline: the float32 input's bytes)")
    out.append("")
    rows = []
    for array_name, per in results["arrays"].items():
        for method, m in per["memory"].items():
            rows.append([array_name, method, "%.2f" % (m["peak_bytes"] / 2 ** 20), "%.2f" % (m["input_bytes"] / 2 ** 20),
                         "%.2fx" % m["ratio_vs_input"]])
    out.append(common.markdown_table(["array", "method", "peak MiB", "input MiB", "peak / input"], rows))
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    started = time.time()
    results = {
        "benchmark": "encoder",
        "machine": common.machine_info(),
        "reps": args.reps,
        "warmup": args.warmup,
        "arrays": {},
    }
    workdir = tempfile.mkdtemp(prefix="bench-encoder-")
    try:
        for array_name, make in common.ARRAYS.items():
            array = make()
            print("%s: storage..." % array_name, file=sys.stderr, flush=True)
            per = {"shape": list(array.shape), "values": int(array.size)}
            per["storage"] = measure_storage(array, workdir)
            print("%s: q8 error, memory..." % array_name, file=sys.stderr, flush=True)
            per["q8_error"] = measure_q8_error(array)
            per["memory"] = measure_memory(array, workdir)
            print("%s: throughput..." % array_name, file=sys.stderr, flush=True)
            per["throughput"] = measure_throughput(array, workdir, args.reps, args.warmup)
            results["arrays"][array_name] = per
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["elapsed_s"] = time.time() - started
    results["loadavg_1min_at_end"] = os.getloadavg()[0]
    text = report(results)
    print(text)
    path = common.write_results("encoder", results)
    print("\nJSON: %s (%.0f s; 1-min load average at end %.2f)"
          % (os.path.relpath(path), results["elapsed_s"], results["loadavg_1min_at_end"]))


if __name__ == "__main__":
    main()
