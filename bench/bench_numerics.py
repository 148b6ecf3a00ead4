"""The background numerics of a snapshot, previous against current code, in one run.

Times the previous implementations (`tests/reference_numerics.py`, kept
verbatim) and the current ones side by side on the same arrays:

* `stats.compute` (the statistics vector of a layer output) on a ReLU conv
  activation (`common.relu_conv`, 1 M values) and a tanh dense output;
* `weights.weight_stats` (the change series record, with the previous
  snapshot and the values before the last batch) on the reference CNN's
  4.7 M-value dense kernel and a 1x1 conv kernel;
* `encoding._quantize` (q8 without zlib) and the whole `encoding.encode`
  (q8, zlib level 1 included, which this change leaves alone) on the same
  arrays.

Each round calls every (case, old/new) pair once, the order alternating;
reported: median seconds and the median of the per-round new/old ratio.
Every output is also checked to be bit for bit the same.

    python bench/bench_numerics.py [--reps 9] [--warmup 2]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import common  # noqa: E402
import reference_numerics as reference  # noqa: E402

from tb_plugin.format import encoding  # noqa: E402
from tb_plugin.kinds import activation_stats as stats, weights


def _encode_with(quantize):
    def run(x):
        saved = encoding._quantize
        encoding._quantize = quantize
        try:
            return encoding.encode(x)
        finally:
            encoding._quantize = saved
    return run


def cases():
    rng = np.random.default_rng(0)
    conv = common.relu_conv()
    dense = common.tanh_dense()
    kernel = (rng.standard_normal((36864, 128)) * 0.01).astype(np.float32)  # reference CNN's Dense(128)
    kernel_prev = kernel + (rng.standard_normal(kernel.shape) * 1e-4).astype(np.float32)
    kernel_before = kernel - (rng.standard_normal(kernel.shape) * 1e-5).astype(np.float32)
    pointwise = (rng.standard_normal((1, 1, 320, 1280)) * 0.05).astype(np.float32)
    pointwise_prev = pointwise + (rng.standard_normal(pointwise.shape) * 1e-4).astype(np.float32)
    conv_f = encoding.as_float_array(conv)
    kernel_f = encoding.as_float_array(kernel)
    return [
        ("stats.compute relu_conv 1.0 M", lambda: reference.stats_compute(conv, "relu"),
         lambda: stats.compute(conv, "relu"), conv.size),
        ("stats.compute tanh_dense 33 k", lambda: reference.stats_compute(dense, "tanh"),
         lambda: stats.compute(dense, "tanh"), dense.size),
        ("weight_stats dense kernel 4.7 M", lambda: reference.weight_stats(kernel, kernel_prev, kernel_before),
         lambda: weights.weight_stats(kernel, kernel_prev, kernel_before), kernel.size),
        ("weight_stats 1x1 conv 410 k", lambda: reference.weight_stats(pointwise, pointwise_prev),
         lambda: weights.weight_stats(pointwise, pointwise_prev), pointwise.size),
        ("q8 quantise relu_conv 1.0 M", lambda: reference.quantize(conv_f), lambda: encoding._quantize(conv_f),
         conv.size),
        ("q8 quantise dense kernel 4.7 M", lambda: reference.quantize(kernel_f), lambda: encoding._quantize(kernel_f),
         kernel.size),
        ("encode q8 (+zlib 1) relu_conv", lambda: _encode_with(reference.quantize)(conv),
         lambda: encoding.encode(conv), conv.size),
        ("encode q8 (+zlib 1) dense kernel", lambda: _encode_with(reference.quantize)(kernel),
         lambda: encoding.encode(kernel), kernel.size),
    ]


def _same(a, b):
    if isinstance(a, tuple):
        return a == b
    if isinstance(a, bytes):
        return a == b
    return np.asarray(a).tobytes() == np.asarray(b).tobytes()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    info = common.machine_info(with_tf=False)
    print(common.machine_line(info))
    table = cases()
    identical = {name: _same(old(), new()) for name, old, new, _ in table}
    times = {name: {"old": [], "new": []} for name, *_ in table}
    for r in range(args.warmup + args.reps):
        for name, old, new, _ in table:
            order = (("old", old), ("new", new)) if r % 2 == 0 else (("new", new), ("old", old))
            for which, fn in order:
                t = time.perf_counter()
                fn()
                if r >= args.warmup:
                    times[name][which].append(time.perf_counter() - t)
    rows, results = [], {}
    for name, _, _, size in table:
        old, new = times[name]["old"], times[name]["new"]
        ratios = [n / o for n, o in zip(new, old)]
        lo, hi = common.quartiles(ratios)
        mid = statistics.median(ratios)
        results[name] = {"values": size, "old_s": old, "new_s": new, "ratios": ratios, "identical": identical[name]}
        rows.append([name, "%.1f" % (1e3 * statistics.median(old)), "%.1f" % (1e3 * statistics.median(new)),
                     "%.2f (%.2f-%.2f)" % (mid, lo, hi), "yes" if identical[name] else "**NO**"])
    print(common.markdown_table(["case", "previous (ms)", "current (ms)", "new/old ratio, median (IQR)",
                                 "output bit-identical"], rows))
    common.write_results("bench_numerics", {"machine": info, "reps": args.reps, "warmup": args.warmup,
                                            "results": results})


if __name__ == "__main__":
    main()
