"""Cost of the class statistics (`InternalsCallback(parts=[ClassStatistics(...)])`) per snapshot.

On the reference CNN of `bench_callback.py` (28x28x1, conv32-conv64-dense128-
dense10) with N = 1,000 evaluation samples and the default layers (the four
layers with weights), measured in one process, interleaved, against one
training batch (batch 64, `train_on_batch`) of the same model:

* evaluation pass: the part's `compute` on the training thread (the
  multi-output model over 1,000 samples in batches of 256, outputs reduced
  per batch), i.e. what holds `fit` up;
* statistics and writing: the job on the writer thread (class moments,
  similarity, separability, clustering, JSON, one store record);
* the same evaluation through the capture pass (the fallback for models the
  multi-output model cannot reach), for comparison;

and the bytes per snapshot (the JSON document as stored; the thumbnails are
stored once per run).

    python bench/bench_class_stats.py [--repeats 7]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_callback import reference_data, reference_model  # noqa: E402
from common import machine_info, machine_line, markdown_table, write_results  # noqa: E402


def _run(model, through_probe_pass=False):
    """What the logger hands a part at begin: the model's adapter (optionally without its
    multi-output evaluator, so every batch goes through the probe pass) and the budget."""
    from types import SimpleNamespace

    from tb_plugin.keras.adapter import KerasAdapter

    adapter = KerasAdapter(model)
    if through_probe_pass:
        adapter._evaluator = lambda paths: None
    return SimpleNamespace(adapter=adapter, budget=None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args()
    import numpy as np

    from tb_plugin.kinds import class_stats
    from tb_plugin.keras import ClassStatistics
    from tb_plugin.summary import Writer

    info = machine_info()
    x, y = reference_data()
    model = reference_model()
    model.fit(x[:640], y[:640], batch_size=64, epochs=1, verbose=0)  # built, compiled, warm
    xb, yb = x[:64], y[:64]
    part = ClassStatistics((x[-args.samples:], y[-args.samples:]), class_names=[str(i) for i in range(10)])
    part.begin(_run(model))
    fallback = ClassStatistics((x[-args.samples:], y[-args.samples:]))
    fallback.begin(_run(model, through_probe_pass=True))
    times = {"train_batch": [], "evaluate": [], "job": [], "evaluate_capture": []}
    sizes = []
    with tempfile.TemporaryDirectory() as root:
        writer = Writer(root)
        part.compute(None, -1)(writer)  # warm-up (traces the evaluator), not counted
        fallback.evaluate()
        for repeat in range(args.repeats):
            for what in sorted(times, key=lambda k: hash((k, repeat))):
                start = time.perf_counter()
                if what == "train_batch":
                    model.train_on_batch(xb, yb)
                elif what == "evaluate":
                    job = part.compute(None, repeat)
                elif what == "evaluate_capture":
                    fallback.evaluate()
                else:
                    job = part.compute(None, 1000 + repeat)
                    start = time.perf_counter()
                    job(writer)
                times[what].append(time.perf_counter() - start)
            labels, predicted, features = part.evaluate()
            doc = class_stats.document(labels, predicted, list(zip(part.paths, features)), class_names=part.class_names)
            sizes.append(len(class_stats.to_json(doc)))
        writer.close()
    thumbnails = 0 if part._thumbnails is None else len(__import__("tb_plugin.format.encoding", fromlist=["encode"]).encode(part._thumbnails, "q8"))
    base = statistics.median(times["train_batch"])
    rows = []
    for what, label in (("train_batch", "one training batch (64)"), ("evaluate", "evaluation pass, training thread"),
                        ("job", "statistics + JSON + write, writer thread"),
                        ("evaluate_capture", "evaluation through the capture pass (fallback)")):
        median = statistics.median(times[what])
        rows.append([label, "%.1f" % (1000 * median), ", ".join("%.0f" % (1000 * t) for t in times[what]),
                     "%.1f" % (median / base)])
    print(machine_line(info))
    print("N = %d evaluation samples, layers %s" % (args.samples, ", ".join(part.paths)))
    print(markdown_table(["what", "median (ms)", "runs (ms)", "ratio to one training batch"], rows))
    print("document bytes per snapshot: %d (median; min %d, max %d); thumbnails once per run: %d bytes (q8, %s)"
          % (statistics.median(sizes), min(sizes), max(sizes), thumbnails,
             None if part._thumbnails is None else "x".join(map(str, part._thumbnails.shape))))
    write_results("class_stats", {"machine": info, "samples": args.samples, "layers": part.paths,
                                  "seconds": times, "document_bytes": sizes, "thumbnail_bytes": thumbnails})


if __name__ == "__main__":
    main()
