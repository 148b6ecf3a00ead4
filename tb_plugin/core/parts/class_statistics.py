"""`ClassStatistics`: the confusion matrix tied to per-class activations, over training.

    InternalsCallback(log_dir, probe_data, parts=[
        ClassStatistics(data=(x_val, y_val), class_names=class_names)])

At every `every`-th snapshot the part runs the first `samples` samples of
`data = (x, y)` through the model, in inference mode and in batches,
and logs one `class_stats` summary (tag `class_stats`, see
`tb_plugin.kinds.class_stats` for the document and its formulas): the confusion
matrix of the model's predictions (argmax of its first output) against
`y`, and per selected layer the class means and stds of its outputs (conv
layers: per-channel means over space), their cosine similarity and
clustering order, and the separability scores.

How the pass runs: the adapter's `evaluate` (`tb_plugin.core.adapter`):
inference mode, no optimizer step, variable write or metric update; each
batch's outputs are reduced at once so memory stays `samples x units`.
The statistics are computed and written on the writer thread.

Layers (`layers`): by default every layer with weights whose output
is per sample (Dense, Conv, ...; the model's output layer included), in
network order; or names, paths, glob patterns or layer classes as for
the callback's `layers=`. A document larger than the callback's `budget` (many classes
and wide layers: K x K matrices and K x units means per layer) is refused
at train begin with a message naming `layers` and `budget`.

Thumbnails: for image inputs (one input `[n, h, w, c]`, c = 1 or 3) the
samples' inputs are stored once per run (per event file), block-averaged
to at most `THUMBNAIL_PX` pixels a side and scaled to [0, 1] by the
minimum and maximum over the evaluation samples, so the tab can show the
samples of class A predicted as B.

Why `data` is required: Keras 3 does not hand `fit`'s
`validation_data` to callbacks (`Callback.validation_data` is gone; the
trainer keeps its own evaluation iterator privately, and only after the
first validation), so the part cannot default to it; pass
`data=(x_val, y_val)`.
"""

import math

import numpy as np

from tb_plugin import kinds
from tb_plugin.core import adapter as adapter_lib
from tb_plugin.core import data as data_lib
from tb_plugin.core import nest, selection
from tb_plugin.core.parts import Part, check_int
from tb_plugin.kinds import class_stats

TAG = kinds.CLASS_STATS.tag
THUMBNAIL_PX = 32
BATCH_SIZE = 256


class ClassStatistics(Part):
    """Logs `class_stats` at every `every`-th snapshot (see the module docstring).

    Args:
      data: `(x, y)` labelled evaluation samples (arrays, or a dataset or
        generator of `(x, y)` batches). Required: Keras 3 does not hand
        `fit`'s `validation_data` to callbacks.
      class_names: names of the classes (one per class index), or None.
      layers: which layer outputs the statistics describe (names, paths, glob
        patterns or classes); None: every layer with weights.
      samples: the first this many samples of `data` are used.
      every: class statistics at every this many snapshots (the first
        included); each costs about one forward pass of `samples`.
      batch_size: samples per batch of the evaluation pass.
    """

    name = "class statistics"

    def __init__(self, data, *, class_names=None, layers=None, samples=class_stats.DEFAULT_SAMPLES, every=1,
                 batch_size=BATCH_SIZE):
        if isinstance(data, str):
            raise ValueError(
                "ClassStatistics(data=%r): Keras 3 does not hand fit()'s validation_data to callbacks, so it cannot "
                "be used by default; pass data=(x_val, y_val), e.g. the first 1,000 validation samples"
                % (data[:40],))
        samples = check_int("ClassStatistics(samples=)", samples, 1)
        self.x, y = data_lib.labelled(data, samples, "ClassStatistics(data=)")
        if len(y) == 0:
            raise ValueError("ClassStatistics(data=) is empty; pass at least one labelled sample")
        try:
            self.labels = class_stats.class_indices(y, "ClassStatistics(data=) labels")
        except ValueError as e:
            raise ValueError("ClassStatistics(data=): %s" % e) from None
        self.n = len(self.labels)
        self.class_names = class_stats.check_class_names(class_names)
        if self.class_names is not None and int(self.labels.max()) >= len(self.class_names):
            raise ValueError(
                "ClassStatistics(class_names=) has %d names but the labels of data go up to %d; pass one name per class"
                % (len(self.class_names), int(self.labels.max())))
        self.selectors = selection.parse(layers, "ClassStatistics(layers=)")
        self.batch_size = check_int("ClassStatistics(batch_size=)", batch_size, 1)
        self.every = check_int("ClassStatistics(every=)", every, 1)
        self.classes = None
        self.paths = []
        self.units = []
        self._adapter = None
        self._thumbnails = _thumbnails(self.x)

    # ---- Part ----

    def begin(self, run):
        adapter = run.adapter
        head = nest.take(self.x, 2)
        try:
            records = adapter.probe(head)
        except ValueError as e:
            raise ValueError("ClassStatistics(data=): %s" % e) from None
        candidates = [r for r in records if r.kind == adapter_lib.ACTIVATIONS and r.is_real and r.value.ndim >= 1
                      and r.value.shape[0] == len(self.labels[:2])]
        if self.selectors:
            chosen = selection.select(self.selectors, candidates, selection.record_matches,
                                      "ClassStatistics(layers=)", adapter.name)
        else:
            with_weights = {layer.path for layer in adapter.layers() if layer.params and not layer.container}
            chosen = [r for r in candidates if r.path.split(" [call")[0].split(":")[0] in with_weights]
        if not chosen:
            raise ValueError("ClassStatistics(layers=%r) selects no layer output of model %r; name some layers"
                             % (self.selectors or None, adapter.name))
        self._adapter = adapter
        self.paths = [r.path for r in chosen]
        self.units = [int(r.value.shape[-1]) if r.value.ndim >= 2 else 1 for r in chosen]
        _, out = next(adapter.evaluate(head, self.paths, 2))
        outputs = int(out.shape[-1]) if out.ndim == 2 and out.shape[-1] > 1 else 2
        self.classes = len(self.class_names) if self.class_names is not None else max(outputs, int(self.labels.max()) + 1)
        if self.class_names is not None and outputs > len(self.class_names):
            raise ValueError("ClassStatistics(class_names=) has %d names but model %r outputs %d classes; pass one name "
                             "per class" % (len(self.class_names), adapter.name, outputs))
        if run.budget is not None and self.estimate_bytes() > run.budget:
            raise ValueError(
                "class statistics of %d classes over layers %s need about %.1f MB per snapshot, more than "
                "budget=%d bytes; pass fewer ClassStatistics(layers=) (e.g. the last hidden layers) or a larger "
                "budget" % (self.classes, ", ".join(self.paths), self.estimate_bytes() / 1e6, run.budget))

    def estimate_bytes(self):
        """The document per snapshot (the thumbnails are stored once per run: `note`)."""
        return class_stats.estimate_bytes(self.classes or 2, self.units)

    def note(self):
        thumbnails = "" if self._thumbnails is None else "; input thumbnails once per run (%d kB)" % (
            self._thumbnails.size // 1000)
        return "class statistics of %d samples, %d classes, %d layers (%s)%s" % (
            self.n, self.classes or 0, len(self.paths), ", ".join(self.paths[:4]) + (", ..." if len(self.paths) > 4 else ""),
            thumbnails)

    def due(self, step, index):
        return index % self.every == 0

    def compute(self, run, step):
        labels, predictions, features = self.evaluate()
        names, classes, paths, thumbnails = self.class_names, self.classes, list(self.paths), self._thumbnails

        def job(writer):
            writer.class_stats(
                TAG, step, labels=labels, predictions=predictions, layers=list(zip(paths, features)),
                class_names=names, classes=classes, thumbnails=thumbnails,
                description="Confusion and per-class activations of %d evaluation samples (ClassStatistics data)" % len(labels),
            )

        return job

    # ---- the evaluation pass ----

    def evaluate(self):
        """`(labels [n], predicted classes [n], [class_stats.Reduced per layer])` of the model now."""
        parts, predicted, shapes = [[] for _ in self.paths], [], [None] * len(self.paths)
        reductions = ["none"] * len(self.paths)
        for values, out in self._adapter.evaluate(self.x, self.paths, self.batch_size):
            for i, v in enumerate(values):
                v = np.asarray(v)
                features, reductions[i] = class_stats.reduce_units(v, self.paths[i])
                parts[i].append(features)
                shapes[i] = v.shape[1:]
            predicted.append(class_stats.class_indices(np.asarray(out), "model output"))
        return self.labels, np.concatenate(predicted), [
            class_stats.Reduced(np.concatenate(p), r, s) for p, r, s in zip(parts, reductions, shapes)]


def _thumbnails(x):
    """Small [0, 1] images of image inputs (module docstring), or None."""
    leaves = nest.flatten(x)
    if len(leaves) != 1:
        return None
    a = np.asarray(leaves[0])
    if a.ndim != 4 or a.shape[-1] not in (1, 3) or a.dtype.kind not in "biuf" or min(a.shape[1:3]) < 4:
        return None
    f = int(math.ceil(max(a.shape[1], a.shape[2]) / THUMBNAIL_PX))
    if f > 1:
        h, w = a.shape[1] // f * f, a.shape[2] // f * f
        a = a[:, :h, :w].reshape(len(a), h // f, f, w // f, f, a.shape[-1]).mean(axis=(2, 4))
    a = a.astype(np.float32)
    finite = np.isfinite(a)
    if not finite.any():
        return None
    lo, hi = float(a[finite].min()), float(a[finite].max())
    scaled = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    return np.clip(np.where(finite, scaled, 0), 0, 1).astype(np.float32)
