"""Attribution benchmark: the cost of the attribution part of a snapshot.

    python bench/bench_attribution.py [--reps 3]

For the demo CNN (`tb_plugin.demo.attribution`, 32x32x1, 3 classes) and
`keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3))`
(1000 classes), with a probe batch of 8 labelled samples (true and predicted
class: 2 targets), in the same process and loop:

* baseline: the callback's probe pass alone (`tb_plugin.keras.capture.capture`,
  every layer output, inference mode);
* attribution: `Attribution.attribute` (`tb_plugin.core.parts.attribution`,
  gradients from `tb_plugin.keras.gradients`) with Grad-CAM, gradients and integrated
  gradients (32 steps), the set the issue names; and with every method
  (SmoothGrad's 16 noisy copies added);
* ratio = median attribution time / median probe-pass time;
* bytes per snapshot the attribution adds: the store bytes one
  `Writer.attribution` call appends (maps q8, side document, Grad-CAM raw
  f32, the probe images with the first step; later steps without them).

Activation maximisation (`tb_plugin.keras.visualize.maximise`): seconds per
channel for all 16 channels of the demo CNN's conv3 (one batch) and for 8
channels of MobileNetV2's `block_6_project`, 64 iterations each.

Results go to `bench/results/attribution-latest.json`.
"""

import argparse
import importlib
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

import numpy as np  # noqa: E402


def timed(fn, reps):
    fn()  # warm-up (tracing, first allocation)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


def store_bytes(path):
    return common.dir_bytes(os.path.join(path, "plugins"))


def bench_model(name, model, x, y, reps):
    from types import SimpleNamespace

    from tb_plugin.core.parts import attribution as attribution_lib
    capture_lib = importlib.import_module("tb_plugin.keras.capture")  # the package exports a function `capture`
    from tb_plugin.keras.adapter import KerasAdapter
    from tb_plugin import summary

    names = capture_lib.stable_names(model)
    probe = timed(lambda: capture_lib.capture(model, x, names=names), reps)
    row = {"model": name, "probe_pass_s": common.median(probe), "probe_pass_all_s": probe}
    adapter = KerasAdapter(model, names)
    for label, methods in (("gradcam+gradients+ig32", ["gradcam", "saliency", "integrated_gradients"]),
                           ("all four", list(attribution_lib.METHODS))):
        attributor = attribution_lib.Attribution(methods=methods, ig_steps=32)
        attributor.begin(SimpleNamespace(adapter=adapter, probe_x=x, probe_y=y, probe_samples=len(x),
                                         probe_tokens=None, log_dir=None, budget=None))
        times = timed(lambda: attributor.attribute(x, y), reps)
        row[label] = {"median_s": common.median(times), "all_s": times,
                      "ratio_to_probe_pass": common.median(times) / row["probe_pass_s"],
                      "gradcam_layer": attributor.layer["name"]}
    result = attributor.attribute(x, y)
    with tempfile.TemporaryDirectory() as d:
        with summary.Writer(d) as w:
            before = store_bytes(d)
            w.attribution("attribution/probe", dict(result["maps"]), 0, images=x,
                          **{k: v for k, v in result.items() if k != "maps"})
            first = store_bytes(d) - before
            w.attribution("attribution/probe", dict(result["maps"]), 1, images=x,
                          **{k: v for k, v in result.items() if k != "maps"})
            later = store_bytes(d) - before - first
    row["bytes_first_step"] = first
    row["bytes_later_steps"] = later
    row["bytes_estimate_uncompressed"] = attribution_lib.estimate_bytes(
        len(x), x.shape[1], x.shape[2], list(result["maps"]), 2)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    import keras

    from tb_plugin.demo import attribution as demo

    rows = []
    px, py, _ = demo.shapes_data(8, 1, empty=False)
    rows.append(bench_model("demo CNN 32x32", demo.build_model(), px, py, args.reps))
    keras.utils.set_random_seed(0)
    mobile = keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3))
    x = np.random.default_rng(0).uniform(-1, 1, (8, 96, 96, 3)).astype("float32")
    y = np.arange(8) * 100
    rows.append(bench_model("MobileNetV2 96x96", mobile, x, y, args.reps))
    from tb_plugin.keras import visualize

    am = []
    for name, model, layer, channels in (("demo CNN conv3", demo.build_model(), "conv3", list(range(16))),
                                         ("MobileNetV2 block_6_project", mobile, "block_6_project", list(range(8)))):
        t = time.perf_counter()
        _, begin, end, done = visualize.maximise(model, layer, channels, iterations=64, seconds=600,
                                                 value_range=(0, 1) if "demo" in name else (-1, 1))
        seconds = time.perf_counter() - t
        am.append({"model": name, "channels": len(channels), "iterations": done, "seconds": seconds,
                   "seconds_per_channel": seconds / len(channels)})
        print("activation maximisation, %s: %d channels x %d iterations in %.1f s = %.2f s per channel"
              % (name, len(channels), done, seconds, seconds / len(channels)))
    data = {"activation_maximisation": am, "machine": common.machine_info(), "reps": args.reps, "probe": 8, "rows": rows}
    common.write_results("attribution", data)
    print(common.markdown_table(
        ["model", "probe pass", "Grad-CAM + gradients + IG 32", "ratio", "all four methods", "ratio",
         "bytes first step", "bytes later steps"],
        [[r["model"], "%.3f s" % r["probe_pass_s"],
          "%.2f s" % r["gradcam+gradients+ig32"]["median_s"], "%.1fx" % r["gradcam+gradients+ig32"]["ratio_to_probe_pass"],
          "%.2f s" % r["all four"]["median_s"], "%.1fx" % r["all four"]["ratio_to_probe_pass"],
          "{:,}".format(r["bytes_first_step"]), "{:,}".format(r["bytes_later_steps"])] for r in rows]))


if __name__ == "__main__":
    main()
