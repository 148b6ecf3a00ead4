"""Class statistics as a snapshot part of `InternalsCallback` (`class_data=`).

At every snapshot the part runs the first `class_samples` samples of
`class_data = (x, y)` through the model, in inference mode and in batches,
and logs one `class_stats` summary (tag `class_stats`, see
`tb_plugin.kinds.class_stats` for the document and its formulas): the confusion
matrix of the model's predictions (argmax of its first output) against
`y`, and per selected layer the class means and stds of its outputs (conv
layers: per-channel means over space), their cosine similarity and
clustering order, and the separability scores.

How the pass runs: one multi-output `keras.Model` from the model's inputs
to the selected layers' outputs and the model's first output, called with
`predict_on_batch` (inference mode; no optimizer step, variable write or
metric update), each batch's outputs reduced at once so memory stays
`class_samples x units`. Models whose layers cannot be reached that way
(subclassed models, layers inside nested models, layers called twice) use
the callback's own probe pass (`tb_plugin.keras.capture`) per batch instead.
The statistics are computed and written on the callback's writer thread.

Layers (`class_layers`): by default every layer with weights whose output
is per sample (Dense, Conv, ...; the model's output layer included), in
network order; or names, paths, glob patterns or layer classes as for
`layers=`. A document larger than the callback's `budget` (many classes
and wide layers: K x K matrices and K x units means per layer) is refused
at train begin with a message naming `class_layers` and `budget`.

Thumbnails: for image inputs (one input `[n, h, w, c]`, c = 1 or 3) the
samples' inputs are stored once per run (per event file), block-averaged
to at most `THUMBNAIL_PX` pixels a side and scaled to [0, 1] by the
minimum and maximum over the evaluation samples, so the tab can show the
samples of class A predicted as B.

Why `class_data` is required: Keras 3 does not hand `fit`'s
`validation_data` to callbacks (`Callback.validation_data` is gone; the
trainer keeps its own evaluation iterator privately, and only after the
first validation), so the part cannot default to it; pass
`class_data=(x_val, y_val)`.
"""

import math

import keras
import numpy as np

from tb_plugin.keras import capture as capture_lib
from tb_plugin.kinds import class_stats
from tb_plugin.core.parts import SnapshotPart

TAG = "class_stats"
THUMBNAIL_PX = 32
BATCH_SIZE = 256


class ClassStatsPart(SnapshotPart):
    """The `class_data=` feature of `InternalsCallback` (module docstring)."""

    name = "class statistics"

    def __init__(self, class_data, class_names=None, class_layers=None, class_samples=class_stats.DEFAULT_SAMPLES,
                 batch_size=BATCH_SIZE, every=1):
        if isinstance(class_data, str):
            raise ValueError(
                "class_data=%r: Keras 3 does not hand fit()'s validation_data to callbacks, so it cannot be "
                "used by default; pass class_data=(x_val, y_val), e.g. the first 1,000 validation samples"
                % (class_data[:40],))
        if isinstance(class_samples, bool) or not isinstance(class_samples, int) or class_samples < 1:
            raise ValueError("class_samples must be an int >= 1 (evaluation samples per snapshot), got %r"
                             % (class_samples,))
        self.x, self.labels = _labelled(class_data, class_samples)
        self.n = len(self.labels)
        self.class_names = class_stats.check_class_names(class_names)
        if self.class_names is not None and int(self.labels.max()) >= len(self.class_names):
            raise ValueError(
                "class_names has %d names but class_data's labels go up to %d; pass one name per class"
                % (len(self.class_names), int(self.labels.max())))
        from tb_plugin import keras as callback_lib  # the callback's own selector rules

        self.selectors = callback_lib._selectors(class_layers)
        self.batch_size = int(batch_size)
        self.every = int(every)
        self.classes = None
        self.paths = []
        self.units = []
        self._evaluator = None
        self._thumbnails = _thumbnails(self.x)

    # ---- SnapshotPart ----

    def begin(self, callback):
        from tb_plugin import keras as callback_lib

        model = callback.model
        head = keras.tree.map_structure(lambda a: a[:2], self.x)
        try:
            records = capture_lib.capture(model, head, names=callback._names)
        except ValueError as e:
            raise ValueError("class_data: %s" % e) from None
        candidates = [r for r in records if r.kind == capture_lib.ACTIVATIONS and r.is_real and r.value.ndim >= 1
                      and r.value.shape[0] == len(self.labels[:2])]
        if self.selectors:
            available = sorted({r.path for r in candidates})
            for s in self.selectors:
                if not isinstance(s, type) and not any(callback_lib._matches(s, r) for r in candidates):
                    raise ValueError("class_layers=%r: %r matches no layer output of model %r. Available: %s"
                                     % (self.selectors, s, model.name, ", ".join(available)))
            chosen = [r for r in candidates if any(callback_lib._matches(s, r) for s in self.selectors)]
        else:
            chosen = [r for r in candidates if r.layer.weights and not isinstance(r.layer, keras.Model)]
        if not chosen:
            raise ValueError("class_layers=%r selects no layer output of model %r; name some layers"
                             % (self.selectors or None, model.name))
        self.paths = [r.path for r in chosen]
        self.units = [int(r.value.shape[-1]) if r.value.ndim >= 2 else 1 for r in chosen]
        out = _first_output(model(head, training=False))
        outputs = int(out.shape[-1]) if out.ndim == 2 and out.shape[-1] > 1 else 2
        self.classes = len(self.class_names) if self.class_names is not None else max(outputs, int(self.labels.max()) + 1)
        if self.class_names is not None and outputs > len(self.class_names):
            raise ValueError("class_names has %d names but model %r outputs %d classes; pass one name per class"
                             % (len(self.class_names), model.name, outputs))
        budget = getattr(callback, "budget", None)
        if budget is not None and self.estimate_bytes() > budget:
            raise ValueError(
                "class statistics of %d classes over layers %s need about %.1f MB per snapshot, more than "
                "budget=%d bytes; pass fewer class_layers (e.g. the last hidden layers) or a larger budget"
                % (self.classes, ", ".join(self.paths), self.estimate_bytes() / 1e6, budget))
        self._evaluator = _multi_output_model(model, chosen)
        self._model = model
        self._names = callback._names

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

    def compute(self, callback, step):
        labels, predictions, features = self.evaluate()
        names, classes, paths, thumbnails = self.class_names, self.classes, list(self.paths), self._thumbnails

        def job(writer):
            writer.class_stats(
                TAG, step, labels=labels, predictions=predictions, layers=list(zip(paths, features)),
                class_names=names, classes=classes, thumbnails=thumbnails,
                description="Confusion and per-class activations of %d evaluation samples (class_data)" % len(labels),
            )

        return job

    # ---- the evaluation pass ----

    def evaluate(self):
        """`(labels [n], predicted classes [n], [class_stats.Reduced per layer])` of the model now."""
        parts, predicted, shapes = [[] for _ in self.paths], [], [None] * len(self.paths)
        reductions = ["none"] * len(self.paths)
        for start in range(0, self.n, self.batch_size):
            xb = keras.tree.map_structure(lambda a: a[start:start + self.batch_size], self.x)
            if self._evaluator is not None:
                outs = self._evaluator.predict_on_batch(xb)
                values, out = list(outs[:-1]), outs[-1]
            else:
                records = {r.path: r.value for r in capture_lib.capture(self._model, xb, names=self._names)}
                values = [records[p] for p in self.paths]
                out = _first_output(self._model(xb, training=False))
            for i, v in enumerate(values):
                v = np.asarray(v)
                features, reductions[i] = class_stats.reduce_units(v, self.paths[i])
                parts[i].append(features)
                shapes[i] = v.shape[1:]
            predicted.append(class_stats.class_indices(np.asarray(out), "model output"))
        return self.labels, np.concatenate(predicted), [
            class_stats.Reduced(np.concatenate(p), r, s) for p, r, s in zip(parts, reductions, shapes)]


def _first_output(out):
    return capture_lib.to_numpy(keras.tree.flatten(out)[0])


def _multi_output_model(model, records):
    """One model from the inputs to the records' layer outputs and the first output, or None."""
    try:
        if any(r.output_key is not None or " [call" in r.path for r in records):
            return None
        inputs, outputs = model.inputs, model.outputs
        if not inputs or not outputs:
            return None
        return keras.Model(inputs, [r.layer.output for r in records] + [outputs[0]])
    except Exception:  # not reachable from the model's inputs: the capture pass instead
        return None


def _labelled(class_data, samples):
    """`(x, labels)`: the first `samples` of `(x, y)` (arrays, or a dataset/generator of `(x, y)` batches)."""
    source = capture_lib._batches(class_data)
    if source is not None:
        what, batches = source
        xs, ys, count = [], [], 0
        for batch in batches:
            if not isinstance(batch, tuple) or len(batch) < 2:
                raise ValueError("class_data: the %s must yield (x, y) batches with labels" % what)
            xs.append(capture_lib._to_arrays(batch[0]))
            ys.append(np.asarray(batch[1]))
            count += len(ys[-1])
            if count >= samples:
                break
        if not xs:
            raise ValueError("class_data: the %s yields no batch" % what)
        x = keras.tree.map_structure(lambda *p: np.concatenate(p), *xs) if len(xs) > 1 else xs[0]
        y = np.concatenate(ys)
    elif isinstance(class_data, (tuple, list)) and len(class_data) == 2:
        x, y = capture_lib._to_arrays(class_data[0]), np.asarray(class_data[1])
    else:
        raise ValueError("class_data must be (x, y): inputs and their labels (class indices or one-hot), "
                         "e.g. class_data=(x_val, y_val); got %s" % type(class_data).__name__)
    leaves = keras.tree.flatten(x)
    if not leaves or any(np.ndim(a) == 0 for a in leaves):
        raise ValueError("class_data: x must hold arrays with a sample axis")
    n = min(samples, len(y), *[len(a) for a in leaves])
    if len({len(a) for a in leaves} | {len(y)}) > 1:
        raise ValueError("class_data: x and y have different sample counts (%s and %d); pass the same samples"
                         % ([len(a) for a in leaves], len(y)))
    if n == 0:
        raise ValueError("class_data is empty; pass at least one labelled sample")
    try:
        labels = class_stats.class_indices(y[:n], "class_data labels")
    except ValueError as e:
        raise ValueError("class_data: %s" % e) from None
    return keras.tree.map_structure(lambda a: a[:n], x), labels


def _thumbnails(x):
    """Small [0, 1] images of image inputs (module docstring), or None."""
    leaves = keras.tree.flatten(x)
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
