"""`Embeddings`: chosen layers' outputs for fixed, labelled samples, over training.

    InternalsCallback(log_dir, probe_data, parts=[
        Embeddings(layers=["conv2", "dense1"], data=(x_val, y_val), class_names=names)])

Every `every`-th snapshot the part runs the first `samples` samples of
`data` through the model once (the adapter's `evaluate`: inference mode, in
batches of `batch_size`), and writes, per chosen layer, tag
`embedding/<layer path>`: one row per sample
(`Writer.embedding`). Outputs of rank 3 and more (conv maps `[n, h, w, c]`,
sequences `[n, t, d]`) are averaged over every axis between the sample axis
and the last, i.e. global average pooling over space (or time), so a conv
layer's row has one value per channel (`tb_plugin.kinds.embedding.as_rows`).

With the rows: the labels (`y`: class indices, strings, or one-hot rows,
read as their argmax), `class_names`, the metadata columns
(`columns={name: one value per sample}`) and, for image inputs
(one input of shape `[n, h, w]` or `[n, h, w, 1|3]`), thumbnails of the
inputs (min-max scaled to [0, 1] over all samples; block-averaged down to at
most `THUMBNAIL_PX` px a side), stored with the first step only
(`thumbnails=False` leaves them out, or pass your own images).
At train end the latest step of each tag is handed to TensorBoard's
Projector (`tb_plugin.format.projector`; `projector=False` to skip).
"""

import numpy as np

from tb_plugin import kinds
from tb_plugin.core import nest, selection
from tb_plugin.core.parts import Part, check_int
from tb_plugin.format import encoding as encoding_lib
from tb_plugin.kinds import embedding as embedding_lib

PREFIX = kinds.EMBEDDING.tag
DEFAULT_SAMPLES = 1000
DEFAULT_BATCH_SIZE = 256
# Thumbnails larger than this (a side, px) are block-averaged down.
THUMBNAIL_PX = 32


def _split_data(data):
    """`data` as `(x, y or None)`; ValueError naming the fix."""
    if data is None:
        raise ValueError("Embeddings needs data: the samples to embed, as x or (x, y) (y: one label per sample)")
    if isinstance(data, tuple):
        if len(data) != 2:
            raise ValueError("Embeddings(data=(x, y)) must be a pair, got a tuple of %d; pass several inputs as a "
                             "list inside the pair: ([x1, x2], y)" % len(data))
        x, y = data
    else:
        x, y = data, None
    if hasattr(x, "element_spec") or hasattr(x, "__next__") or type(x).__name__ == "PyDataset":
        raise ValueError("Embeddings(data=) must hold arrays (x or (x, y)), not a dataset or generator: take the "
                         "samples first, e.g. x, y = next(iter(dataset.unbatch().batch(1000)))")
    return x, y


def _labels(y, n):
    if y is None:
        return None
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] > 1:
        labels = labels.argmax(axis=1)  # one-hot (or class scores) rows
    labels = labels.reshape(len(labels), -1) if labels.ndim else labels.reshape(1)
    if labels.ndim == 2 and labels.shape[1] != 1:
        raise ValueError("Embeddings(data=)'s y must hold one label per sample (or one-hot rows), got shape %s"
                         % (np.shape(y),))
    labels = labels.reshape(-1)
    if len(labels) < n:
        raise ValueError("Embeddings(data=) has %d labels for %d samples; pass one label per sample" % (len(labels), n))
    labels = labels[:n]
    if labels.dtype.kind in "iub":
        return [int(v) for v in labels]
    if labels.dtype.kind == "f" and np.all(np.isfinite(labels)) and np.all(labels == np.round(labels)):
        return [int(v) for v in labels]  # integer class indices stored as floats
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in labels.tolist()]


def auto_thumbnails(x):
    """Thumbnails `[n, h, w, c]` in [0, 1] of image inputs, or None for other inputs."""
    if not isinstance(x, np.ndarray) or x.dtype.kind not in "iuf":
        return None
    images = x
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or min(images.shape[1:3]) < 4:
        return None
    images = images.astype(np.float32)
    h, w = images.shape[1:3]
    factor = int(np.ceil(max(h, w) / float(THUMBNAIL_PX)))
    if factor > 1:  # block means over factor x factor pixels (edges cropped)
        hh, ww = h // factor, w // factor
        images = images[:, :hh * factor, :ww * factor].reshape(len(images), hh, factor, ww, factor, -1).mean(axis=(2, 4))
    finite = images[np.isfinite(images)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    scaled = (images - low) / (high - low) if high > low else np.zeros_like(images)
    return np.clip(np.nan_to_num(scaled), 0.0, 1.0)


def pool(outputs):
    """`[n, ..., d]` -> `[n, d]`: the mean over the axes between (as `embedding.as_rows`)."""
    if outputs.ndim > 2:
        with np.errstate(invalid="ignore", over="ignore"):
            return outputs.astype(np.float64).mean(axis=tuple(range(1, outputs.ndim - 1)))
    return outputs


class Embeddings(Part):
    """Logs `embedding/<layer path>` per chosen layer (see the module docstring).

    Args:
      layers: layer names, paths, glob patterns or classes
        (`tb_plugin.core.selection`) whose outputs to embed.
      data: the samples to embed: `x`, or `(x, y)` with one label per sample
        (class index, string or one-hot row); arrays, not a dataset.
      every: embeddings at every this many snapshots (the first, e.g. before
        training, included).
      samples: the most samples to embed (the first N).
      columns: optional `{name: one value per sample}` shown on hover and in
        the Projector's metadata.
      class_names: optional names of the class indices in `y`.
      thumbnails: True: thumbnails of image inputs (`[n, h, w(, 1|3)]`,
        scaled to [0, 1]); False: none; or your own `[n, h, w(, c)]` images.
      encoding: "q8" (compact) or "f32" (lossless).
      projector: at train end, hand the latest step of each embedding to
        TensorBoard's Projector (`tb_plugin.format.projector`).
      batch_size: samples per batch of the embedding pass.
    """

    name = "embeddings"

    def __init__(self, layers, data, *, every=1, samples=DEFAULT_SAMPLES, columns=None, class_names=None,
                 thumbnails=True, encoding="q8", projector=True, batch_size=DEFAULT_BATCH_SIZE):
        if isinstance(layers, (str, type)):
            layers = [layers]
        if not isinstance(layers, (list, tuple)) or not layers or not all(isinstance(s, (str, type)) for s in layers):
            raise ValueError("Embeddings(layers=) must be a non-empty list of layer names, paths, glob patterns or "
                             "classes, got %r" % (layers,))
        self.selectors = selection.parse(layers, "Embeddings(layers=)")
        self.every = check_int("Embeddings(every=)", every, 1)
        self.samples = check_int("Embeddings(samples=)", samples, 2)
        self.batch_size = check_int("Embeddings(batch_size=)", batch_size, 1)
        if encoding not in encoding_lib.ENCODINGS:
            raise ValueError("Embeddings(encoding=%r) is unknown; use 'q8' (compact) or 'f32' (lossless)" % (encoding,))
        self.encoding = encoding
        self.projector = bool(projector)
        x, y = _split_data(data)
        leaves = nest.flatten(x)
        if not leaves:
            raise ValueError("Embeddings(data=) holds no arrays; pass x or (x, y)")
        try:
            counts = {int(np.shape(a)[0]) for a in leaves}
        except (IndexError, TypeError):
            raise ValueError("Embeddings(data=)'s x must be arrays with a sample axis first, got %r"
                             % (type(x),)) from None
        if len(counts) != 1:
            raise ValueError("Embeddings(data=)'s inputs have different sample counts %s" % sorted(counts))
        available = counts.pop()
        self.n = min(self.samples, available)
        if self.n < 2:
            raise ValueError("Embeddings(data=) has %d sample; embeddings need at least 2" % available)
        self.x = nest.map_structure(lambda a: np.asarray(a)[:self.n], x)
        self.labels = _labels(y, self.n)
        try:
            self.doc = embedding_lib.labels_blob(self.labels, class_names, columns, self.n, "Embeddings(columns=)")
        except ValueError as e:
            if columns is not None and isinstance(columns, dict):
                # Columns may be longer than the samples taken: keep their first n values.
                try:
                    trimmed = {k: list(v)[:self.n] for k, v in columns.items()}
                except TypeError:
                    raise e from None
                self.doc = embedding_lib.labels_blob(self.labels, class_names, trimmed, self.n, "Embeddings(columns=)")
            else:
                raise
        if thumbnails is True:
            self.thumbnails = auto_thumbnails(self.x)
        elif thumbnails is False or thumbnails is None:
            self.thumbnails = None
        else:
            self.thumbnails = embedding_lib.check_thumbnails(np.asarray(thumbnails)[:self.n], self.n,
                                                             "Embeddings(thumbnails=)")
        self.note_text = "%d samples (of %d)" % (self.n, available) if available > self.n else "%d samples" % self.n
        self._adapter = None
        self._paths = []
        self._dims = []
        self._ranks = []
        self._latest = {}  # tag -> (step, rows) of the last written step (Projector hand-off)

    # ---- lifecycle ----------------------------------------------------------------

    def begin(self, run):
        adapter = run.adapter
        chosen = selection.select(self.selectors, adapter.layers(), selection.layer_matches,
                                  "Embeddings(layers=)", adapter.name)
        self._adapter = adapter
        self._latest = {}  # a part used again in a later fit hands off that fit's rows only
        self._paths = [layer.path for layer in chosen]
        try:
            head = self._rows(nest.take(self.x, min(self.n, 2)))  # the data fits the model: fail now
        except (NotImplementedError, AttributeError):
            raise  # the adapter's, not the data's
        except Exception as e:
            raise ValueError("Embeddings(data=) does not fit model %r: %s: %s"
                             % (adapter.name, type(e).__name__, e)) from None
        for layer, (rows, rank) in zip(chosen, head):
            if rank < 2:
                raise ValueError("Embeddings(layers=): layer %r outputs one value per batch, not one row per "
                                 "sample" % layer.path)
        self._dims = [int(rows.shape[-1]) for rows, _ in head]
        self._ranks = [rank for _, rank in head]

    def tags(self):
        return [PREFIX + p for p in self._paths]

    def estimate_bytes(self):
        per_value = 1 if self.encoding == "q8" else 4
        rows = sum(self.n * d * per_value + 8 * d for d in (self._dims or [0]))
        labels = len(embedding_lib.encode_labels(self.doc)) * max(1, len(self._dims))
        thumbs = int(self.thumbnails.size) if self.thumbnails is not None else 0
        return int(rows + labels + thumbs * max(1, len(self._dims)))

    def note(self):
        every = "every snapshot" if self.every == 1 else "every %d snapshots" % self.every
        return "embeddings of %s for %s, %s" % (", ".join(self._paths), self.note_text, every)

    def due(self, step, index):
        return index % self.every == 0

    def _rows(self, x):
        """`[(pooled rows, rank of the output)]` per chosen layer for samples `x` (inference mode)."""
        chunks = [outputs for outputs, _ in self._adapter.evaluate(x, self._paths, self.batch_size)]
        out = []
        for k in range(len(self._paths)):
            parts = [np.asarray(c[k]) for c in chunks]
            out.append((np.concatenate([pool(p) for p in parts]).astype(np.float32), parts[0].ndim))
        return out

    def compute(self, run, step):
        per_layer = [rows for rows, _ in self._rows(self.x)]

        def job(writer):
            for path, rank, rows in zip(self._paths, self._ranks, per_layer):
                tag = PREFIX + path
                writer.embedding(
                    tag, rows, step, labels=self.doc["labels"], class_names=self.doc["class_names"],
                    columns=self.doc["columns"] or None, thumbnails=self.thumbnails,
                    description="Output of layer `%s` for %s%s" % (
                        path, self.note_text, " (averaged over %d axes: global average pooling)" % (rank - 2)
                        if rank > 2 else ""),
                    encoding=self.encoding, max_values=None)
                self._latest[tag] = (step, rows)
        return job

    def end(self, run):
        if not self.projector or not self._latest:
            return
        from tb_plugin.format import projector as projector_lib

        for tag, (step, rows) in sorted(self._latest.items()):
            projector_lib.hand_off(run.log_dir, tag, rows, self.doc, self.thumbnails, step=step)
