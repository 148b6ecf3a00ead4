"""InternalsCallback on real architectures: snapshot cost, bytes, whole-fit overhead.

For each model (keras.applications MobileNetV2, ResNet50 and EfficientNetB0
with weights=None at 96x96x3; a keras_hub BERT backbone from a small config;
a bidirectional LSTM + GRU classifier), batch 32, probe 8, in one process:

* the median seconds of one training batch (synthetic data);
* one snapshot at the callback's defaults (budget 16 MiB): seconds on the
  training thread (probe pass + reading the variables; what `fit` waits for)
  and seconds of the background job (statistics, change series, encoding,
  writing), by phase, each divided by the median batch;
* bytes written per snapshot against the budget and the plan's estimate;
* optionally (`--fit-batches N`) the whole-fit ratio of one N-batch epoch
  with InternalsCallback and with keras.callbacks.TensorBoard(histogram_freq=1)
  against the same fit without a callback (fresh models, same seed; one
  warm-up fit first), in wall time and in process CPU time (all threads).

    python bench/bench_models.py [--models resnet50,bilstm] [--fit-batches 200]

Needs keras-hub for the BERT model (`pip install keras-hub`); it is skipped
when missing. Results go to bench/results/models.json.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

BATCH, PROBE, SIZE = 32, 8, 96


def _vision(name):
    import keras

    def build():
        keras.utils.set_random_seed(0)
        model = getattr(keras.applications, name)(weights=None, input_shape=(SIZE, SIZE, 3), classes=10)
        model.compile("sgd", "sparse_categorical_crossentropy")
        return model

    def data(n):
        rng = np.random.default_rng(0)
        return rng.random((n, SIZE, SIZE, 3), dtype=np.float32), rng.integers(0, 10, n).astype("int32")

    return build, data


def _bert():
    import keras
    import keras_hub

    seq = 128

    def build():
        keras.utils.set_random_seed(0)
        backbone = keras_hub.models.BertBackbone(
            vocabulary_size=1000, num_layers=2, num_heads=2, hidden_dim=64, intermediate_dim=128,
            max_sequence_length=seq,
        )
        inputs = {k: keras.Input((seq,), dtype="int32", name=k) for k in ("token_ids", "segment_ids", "padding_mask")}
        out = keras.layers.Dense(2, name="classifier")(backbone(inputs)["pooled_output"])
        model = keras.Model(inputs, out, name="bert_classifier")
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model

    def data(n):
        rng = np.random.default_rng(0)
        x = {"token_ids": rng.integers(1, 1000, (n, seq)).astype("int32"),
             "segment_ids": np.zeros((n, seq), "int32"), "padding_mask": np.ones((n, seq), "int32")}
        return x, rng.integers(0, 2, n).astype("int32")

    return build, data


def _bilstm():
    import keras

    seq = 64

    def build():
        keras.utils.set_random_seed(0)
        tokens = keras.Input((seq,), dtype="int32", name="tokens")
        h = keras.layers.Embedding(1000, 64, name="embedding")(tokens)
        h = keras.layers.Bidirectional(keras.layers.LSTM(64, return_sequences=True), name="bilstm")(h)
        h = keras.layers.Bidirectional(keras.layers.GRU(32), name="bigru")(h)
        model = keras.Model(tokens, keras.layers.Dense(5, name="classifier")(h), name="bilstm_classifier")
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model

    def data(n):
        rng = np.random.default_rng(0)
        return rng.integers(0, 1000, (n, seq)).astype("int32"), rng.integers(0, 5, n).astype("int32")

    return build, data


MODELS = {
    "mobilenetv2": lambda: _vision("MobileNetV2"),
    "resnet50": lambda: _vision("ResNet50"),
    "efficientnetb0": lambda: _vision("EfficientNetB0"),
    "bert": _bert,
    "bilstm": _bilstm,
}


def _take(x, n):
    import keras

    return keras.tree.map_structure(lambda a: a[:n], x)


def median_batch_seconds(build, data, batches=12):
    import keras

    model = build()
    x, y = data(BATCH * batches)
    times = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.t = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            times.append(time.perf_counter() - self.t)

    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, callbacks=[Clock()])
    return statistics.median(times[2:]), model


def _dir_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def snapshot_cost(model, data, root):
    """Seconds and bytes of snapshots at the defaults, by phase (two snapshots after the initial one)."""
    from tb_plugin.keras import InternalsCallback
    from tb_plugin.keras.adapter import KerasAdapter

    x, _ = data(PROBE)
    run = os.path.join(root, "snap")
    cb = InternalsCallback(run, x, probe_samples=PROBE, verbose=0)
    phases = {"probe_pass": 0.0, "read_variables": 0.0, "layers_job": 0.0, "weights_job": 0.0}

    def timed(obj, name, phase):
        original = getattr(obj, name)

        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return original(*a, **k)
            finally:
                phases[phase] += time.perf_counter() - t

        setattr(obj, name, wrapper)

    probe, read = KerasAdapter.probe, KerasAdapter.read_variables
    timed(KerasAdapter, "probe", "probe_pass")
    timed(KerasAdapter, "read_variables", "read_variables")
    timed(cb.logger, "write_records", "layers_job")
    timed(cb.logger, "write_weights", "weights_job")
    cb.set_model(model)
    cb.set_params({"epochs": 3, "steps": 1, "verbose": 0})
    t = time.perf_counter()
    cb.on_train_begin()
    begin_seconds = time.perf_counter() - t
    cb.on_epoch_begin(0)  # the initial snapshot (step -1)
    cb.logger.drain()
    for k in phases:
        phases[k] = 0.0
    sizes, hook = [], []
    for epoch in (0, 1):
        before = _dir_bytes(run)
        t = time.perf_counter()
        cb.on_epoch_end(epoch)
        hook.append(time.perf_counter() - t)
        cb.logger.drain()  # wait for the background job, to measure it and its bytes
        sizes.append(_dir_bytes(run) - before)
    cb.on_train_end()
    KerasAdapter.probe, KerasAdapter.read_variables = probe, read
    adapter = cb.logger.adapter
    # The same probe pass eagerly (the interception alone, recurrent layers
    # compiled: the pass before the compiled one), for a same-run comparison:
    # the median of 3 after one warm-up.
    from tb_plugin.keras import capture as capture_lib

    eager, rnn_cache = [], {}
    for _ in range(4):
        t = time.perf_counter()
        capture_lib._recording_pass(model, cb.probe_x, None, (), adapter.names, rnn_cache, graph=False)
        eager.append(time.perf_counter() - t)
    n = len(hook)
    return {
        "train_begin_seconds": begin_seconds,
        "hook_seconds": statistics.mean(hook),
        "eager_probe_seconds": statistics.median(eager[1:]),
        "compiled_probe": adapter._compile_cache.get("probe", (None, None))[1] is not None,
        "phases_seconds": {k: v / n for k, v in phases.items()},
        "bytes_per_snapshot": sizes,
        "plan_bytes_largest": cb.plan.bytes_largest_snapshot,
        "budget": cb.plan.budget,
        "maps_logged": sum(1 for v in cb.plan.samples.values() if v > 0),
        "maps": len(cb.plan.samples),
        "weights_every": cb.plan.weights_every,
        "tags_stats": sum(1 for m in cb.plan.document()["maps"] if m["kind"] == "activations"),
    }


def fit_ratios(build, data, batches, root):
    import keras

    from tb_plugin.keras import InternalsCallback

    x, y = data(BATCH * batches)
    probe = _take(x, PROBE)

    def fit(config, tag):
        model = build()
        callbacks = {
            "none": [],
            "internals": [InternalsCallback(os.path.join(root, tag), probe, probe_samples=PROBE, verbose=0)],
            "keras_tb": [keras.callbacks.TensorBoard(os.path.join(root, tag), histogram_freq=1)],
        }[config]
        t, cpu = time.perf_counter(), time.process_time()
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, callbacks=callbacks)
        return time.perf_counter() - t, time.process_time() - cpu

    fit("none", "warmup")
    times, cpu = {}, {}
    for config in ("none", "internals", "keras_tb"):
        times[config], cpu[config] = fit(config, config)
        print("    fit %-9s %.1f s (%.1f CPU s)" % (config, times[config], cpu[config]), file=sys.stderr)
    return ({c: times[c] / times["none"] for c in times}, times,
            {c: cpu[c] / cpu["none"] for c in cpu}, cpu)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--fit-batches", type=int, default=0, help="whole-fit ratio over one epoch of N batches (0: skip)")
    args = parser.parse_args()
    results = {"_conditions": {"loadavg_1min_at_start": os.getloadavg()[0], "nproc": os.cpu_count()}}
    with tempfile.TemporaryDirectory() as root:
        for name in args.models.split(","):
            try:
                build, data = MODELS[name]()
            except ImportError as e:
                print("%s: skipped (%s)" % (name, e), file=sys.stderr)
                continue
            print(name, file=sys.stderr)
            batch, model = median_batch_seconds(build, data)
            cost = snapshot_cost(model, data, os.path.join(root, name))
            row = {"median_batch_seconds": batch, **cost}
            job = cost["phases_seconds"]["layers_job"] + cost["phases_seconds"]["weights_job"]
            row["hook_over_batch"] = cost["hook_seconds"] / batch
            row["job_over_batch"] = job / batch
            if args.fit_batches:
                ratios, times, cpu_ratios, cpu = fit_ratios(build, data, args.fit_batches,
                                                            os.path.join(root, name + "_fit"))
                row["fit_batches"] = args.fit_batches
                row["fit_ratio"] = ratios
                row["fit_seconds"] = times
                row["fit_cpu_ratio"] = cpu_ratios
                row["fit_cpu_seconds"] = cpu
            results[name] = row
            print(json.dumps(row, indent=1), file=sys.stderr)
    print("| model | batch (s) | snapshot on the training thread (s) | / batch | probe pass (s) | eager probe pass (s) "
          "| read variables (s) "
          "| background: layers (s) | background: weights (s) | background / batch | MB per snapshot (budget 16 MiB) "
          "| maps logged | fit ratio internals | fit ratio keras TB | CPU ratio internals | CPU ratio keras TB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    results["_conditions"]["loadavg_1min_at_end"] = os.getloadavg()[0]
    print("1-min load average at start %.1f, at end %.1f (2 cores shared with other engineers' jobs)" % (
        results["_conditions"]["loadavg_1min_at_start"], results["_conditions"]["loadavg_1min_at_end"]))
    for name, r in results.items():
        if name.startswith("_"):
            continue
        p = r["phases_seconds"]
        fr = r.get("fit_ratio", {})
        cr = r.get("fit_cpu_ratio", {})
        print("| %s | %.3f | %.2f | %.2f | %.2f%s | %.2f | %.2f | %.2f | %.2f | %.1f | %s | %d of %d | %s | %s | %s | %s |" % (
            name, r["median_batch_seconds"], r["hook_seconds"], r["hook_over_batch"], p["probe_pass"],
            "" if r["compiled_probe"] else " (eager)", r["eager_probe_seconds"],
            p["read_variables"], p["layers_job"], p["weights_job"], r["job_over_batch"],
            " / ".join("%.1f" % (b / 1e6) for b in r["bytes_per_snapshot"]), r["maps_logged"], r["maps"],
            "%.3f" % fr["internals"] if fr else "-", "%.3f" % fr["keras_tb"] if fr else "-",
            "%.3f" % cr["internals"] if cr else "-", "%.3f" % cr["keras_tb"] if cr else "-"))
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "models.json"), "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
