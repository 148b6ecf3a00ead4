"""Token attribution benchmark: integrated gradients per token vs the probe pass.

    python bench/bench_attribution_tokens.py [--reps 5]

A small text classifier (Embedding(2000, 64) -> Conv1D(64, 5, relu) ->
GlobalAveragePooling1D -> Dense(4, softmax)), a probe of 8 labelled
sequences of 128 token ids (true and predicted class: 2 targets), in one
process and loop:

* baseline: the callback's probe pass alone (`tb_plugin.keras.capture.capture`,
  every layer output, inference mode);
* token IG: `Attribution.attribute_tokens` with 32 steps (the embedding pass, 2 x
  32 gradient passes over the model after the embedding, f(E) and f(0));
* ratio = median token-IG time / median probe-pass time;
* bytes one `Writer.attribution` call adds (maps q8, the side document with
  the token labels), and the plan's estimate.

Results go to `bench/results/attribution_tokens-latest.json`.
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
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args(argv)
    import keras

    from types import SimpleNamespace

    from tb_plugin.core.parts.attribution import Attribution
    capture_lib = importlib.import_module("tb_plugin.keras.capture")  # the package exports a function `capture`
    from tb_plugin.keras.adapter import KerasAdapter
    from tb_plugin import summary

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((128,), dtype="int32"), keras.layers.Embedding(2000, 64),
                              keras.layers.Conv1D(64, 5, activation="relu"), keras.layers.GlobalAveragePooling1D(),
                              keras.layers.Dense(4, activation="softmax")])
    ids = np.random.default_rng(0).integers(0, 2000, (8, 128)).astype("int32")
    y = np.arange(8) % 4
    names = capture_lib.stable_names(model)
    probe = timed(lambda: capture_lib.capture(model, ids, names=names), args.reps)
    attributor = Attribution(ig_steps=32)
    attributor.begin(SimpleNamespace(adapter=KerasAdapter(model, names), probe_x=ids, probe_y=y,
                                     probe_samples=len(ids), probe_tokens=None, log_dir=None, budget=None))
    ig = timed(lambda: attributor.attribute_tokens(ids, y), args.reps)
    result = attributor.attribute_tokens(ids, y)
    with tempfile.TemporaryDirectory() as d:
        with summary.Writer(d) as w:
            before = common.dir_bytes(os.path.join(d, "plugins"))
            w.attribution("attribution/probe", result.pop("maps"), 0, **result)
            stored = common.dir_bytes(os.path.join(d, "plugins")) - before
    row = {"model": "Embedding(2000,64)+Conv1D+GAP+Dense, 128 tokens", "probe_pass_s": common.median(probe),
           "probe_pass_all_s": probe, "token_ig32_s": common.median(ig), "token_ig32_all_s": ig,
           "ratio_to_probe_pass": common.median(ig) / common.median(probe), "bytes_per_step": stored,
           "max_completeness_error": float(max(max(v) for v in result["completeness_error"].values()))}
    common.write_results("attribution_tokens", {"machine": common.machine_info(), "reps": args.reps, "probe": 8,
                                                "rows": [row]})
    print(row)


if __name__ == "__main__":
    main()
