"""Fit-time overhead of InternalsCallback on the reference CNN.

Reference: 28x28x1 input, conv32-conv64-dense128, 6000 samples, batch 64,
3 epochs (synthetic data with a learnable label). Three configurations, each
a fresh model with the same seed, fitted in one process, interleaved so that
machine drift hits them alike:

* baseline: no callback;
* internals: `InternalsCallback` at its defaults (every layer, every epoch,
  16 probe samples, q8, budget 16 MiB; its background encoding and writing
  is counted in the time inside the callback);
* keras_tb: `keras.callbacks.TensorBoard(histogram_freq=1)`.

Reports median fit seconds and the ratio to the baseline median, and,
steadier on a busy machine, the median time spent inside the callback's
hooks as a fraction of the no-callback fit, and the process CPU time of
each fit (all threads: training, the callback, its writer thread) as a
ratio to the no-callback fit's (other processes' load does not count in
it, though it still slows what is counted).

    python bench/bench_callback.py [--repeats 3]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def reference_data(samples=6000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((samples, 28, 28, 1), dtype=np.float32)
    # A learnable label: which quadrant is brightest.
    quadrants = [x[:, :14, :14], x[:, :14, 14:], x[:, 14:, :14], x[:, 14:, 14:]]
    y = np.argmax(np.stack([q.mean(axis=(1, 2, 3)) for q in quadrants], axis=1), axis=1)
    return x, y.astype("int32")


def reference_model(seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


cpu_seconds = []  # process CPU time (every thread) of each timed fit, in order


def timed_fit(config, x, y, logdir):
    import keras

    from tb_plugin.keras import InternalsCallback

    model = reference_model()
    callbacks = {
        "baseline": [],
        "internals": [_timed(InternalsCallback(logdir, x[:16], verbose=0))],
        "keras_tb": [_timed(keras.callbacks.TensorBoard(logdir, histogram_freq=1))],
    }[config]
    start, cpu = time.perf_counter(), time.process_time()
    model.fit(x, y, batch_size=64, epochs=3, verbose=0, callbacks=callbacks)
    seconds = time.perf_counter() - start
    cpu_seconds.append(time.process_time() - cpu)
    # InternalsCallback encodes and writes on a background thread: its time
    # counts too (it competes with training for the same cores).
    background = sum(getattr(getattr(c, "logger", None), "background_seconds", 0.0) for c in callbacks)
    return seconds, sum(getattr(c, "self_seconds", 0.0) for c in callbacks) + background


def _time_background_jobs():
    from tb_plugin.core import logger as logger_lib

    original = logger_lib._Job.__call__

    def timed(job):
        start = time.perf_counter()
        try:
            return original(job)
        finally:
            logger = job.args[0]
            logger.background_seconds = getattr(logger, "background_seconds", 0.0) + time.perf_counter() - start

    logger_lib._Job.__call__ = timed


_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_end")


def _timed(callback):
    """Adds up the time spent inside the callback's hooks (both callbacks
    measured implement every hook wrapped here, so Keras calls them anyway)."""
    callback.self_seconds = 0.0
    for name in _HOOKS:
        original = getattr(callback, name)

        def hook(*args, _original=original, **kwargs):
            start = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                callback.self_seconds += time.perf_counter() - start

        setattr(callback, name, hook)
    return callback


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    x, y = reference_data()
    _time_background_jobs()
    configs = ("baseline", "internals", "keras_tb")
    times = {c: [] for c in configs}
    cpu = {c: [] for c in configs}
    self_times = {c: [] for c in configs}
    with tempfile.TemporaryDirectory() as root:
        timed_fit("baseline", x, y, os.path.join(root, "warmup"))  # warm-up, not counted
        for repeat in range(args.repeats):
            order = configs[repeat % 3:] + configs[:repeat % 3]
            for config in order:
                seconds, inside = timed_fit(config, x, y, os.path.join(root, "%s_%d" % (config, repeat)))
                times[config].append(seconds)
                cpu[config].append(cpu_seconds[-1])
                self_times[config].append(inside)
                print("%-10s run %d: %.2f s (%.2f s inside the callback, %.2f CPU s)" % (
                    config, repeat, seconds, inside, cpu_seconds[-1]), file=sys.stderr)
    base = statistics.median(times["baseline"])
    base_cpu = statistics.median(cpu["baseline"])
    rows = []
    print("| configuration | median fit (s) | runs (s) | fit ratio to no callback | time inside callback (s) "
          "| 1 + inside / no-callback fit | median CPU s (all threads) | CPU ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for config in configs:
        median = statistics.median(times[config])
        inside = statistics.median(self_times[config])
        median_cpu = statistics.median(cpu[config])
        rows.append(
            {"config": config, "median_s": median, "runs_s": times[config], "ratio": median / base,
             "inside_s": self_times[config], "inside_ratio": 1 + inside / base, "cpu_s": cpu[config],
             "cpu_ratio": median_cpu / base_cpu, "loadavg": os.getloadavg()[0]}
        )
        print(
            "| %s | %.2f | %s | %.3f | %.3f | %.3f | %.2f | %.3f |"
            % (config, median, ", ".join("%.2f" % t for t in times[config]), median / base, inside, 1 + inside / base,
               median_cpu, median_cpu / base_cpu)
        )
    # Paired within each round (the three fits of one round run back to back,
    # so they share the machine's load): the median of the per-round ratios.
    print()
    print("| configuration | per-round wall ratios | median | per-round CPU ratios | median |")
    print("|---|---|---|---|---|")
    for row in rows:
        config = row["config"]
        wall = [t / b for t, b in zip(times[config], times["baseline"])]
        cpus = [t / b for t, b in zip(cpu[config], cpu["baseline"])]
        row.update(paired_wall=wall, paired_cpu=cpus)
        print("| %s | %s | %.3f | %s | %.3f |" % (config, ", ".join("%.3f" % r for r in wall), statistics.median(wall),
                                                 ", ".join("%.3f" % r for r in cpus), statistics.median(cpus)))
    os.makedirs(os.path.join(os.path.dirname(__file__), "results"), exist_ok=True)
    with open(os.path.join(os.path.dirname(__file__), "results", "callback.json"), "w") as f:
        json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
