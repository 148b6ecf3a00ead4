"""Writer API: two front doors over one encoder.

* `activations(...)` is in the `tf.summary` style: it writes to the default
  `tf.summary` writer, returns a bool like the `tf.summary` ops, and works
  eagerly and inside `tf.function`. It imports TensorFlow when called.
* `Writer(logdir)` is TF-free: numpy arrays in, event files out through
  TensorBoard's event protos in TFRecord files (`tfrecord.py`), for
  PyTorch, JAX or plain numpy code.

Where the payloads go (`metadata.py`, "storage"):

* `Writer` puts every payload in the run's payload store (`store.py`) and
  writes only a small reference per step to the event file, so TensorBoard
  keeps every step at little memory.
* The `tf.summary` door keeps the payloads inline in the event file (blob
  sequences): a `tf.summary` writer does not tell its run directory without
  private TensorFlow API, so it cannot know where the run's store is. Use it
  for occasional summaries; log long runs with `Writer` or the callback.

Both doors encode the same array to byte-identical payloads
(`encoding.encode`) with the same metadata fields (`metadata.py`).

Example (TF-free)::

    from tb_plugin import summary
    with summary.Writer("logs/run1") as writer:
        writer.activations("conv1", conv1_output, step=epoch)

Example (TensorFlow)::

    writer = tf.summary.create_file_writer("logs/run1")
    with writer.as_default(step=epoch):
        summary.activations("conv1", conv1_output)
"""

import json
import numbers
import os
import socket
import threading
import time

import numpy as np
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.plugins.scalar import metadata as scalar_metadata
from tensorboard.util import tensor_util

from tb_plugin.format import encoding as encoding_lib
from tb_plugin.kinds import attention as attention_lib
from tb_plugin.kinds import class_stats as class_stats_lib
from tb_plugin.kinds import embedding as embedding_lib
from tb_plugin.kinds import attribution as attribution_lib
from tb_plugin.kinds import weights as weights_lib
from tb_plugin.format import metadata, store, tfrecord
from tb_plugin.kinds import activation_stats as stats

DEFAULT_ENCODING = encoding_lib.DEFAULT_ENCODING
DEFAULT_MAX_VALUES = encoding_lib.DEFAULT_MAX_VALUES


def _check_name(name):
    if not isinstance(name, str) or not name.strip():
        raise ValueError("summary name must be a non-empty string, got %r" % (name,))


def _check_encoding(encoding, max_values=None, description=None):
    """Checks the arguments every door shares, naming the one that is wrong."""
    encoding_lib.check_max_values(max_values)
    if description is not None and not isinstance(description, str):
        raise ValueError("description must be a string (Markdown) or None, got %s" % type(description).__name__)
    if not isinstance(encoding, str) or encoding not in encoding_lib.ENCODINGS:
        raise ValueError(
            "unknown encoding %r; use one of %s" % (encoding, ", ".join(encoding_lib.ENCODINGS))
        )


def activations(
    name,
    data,
    step=None,
    description=None,
    encoding=DEFAULT_ENCODING,
    max_values=DEFAULT_MAX_VALUES,
):
    """Writes a layer's activations to the default `tf.summary` writer.

    Args:
      name: tag for this summary, e.g. the layer name. Name scopes prefix it.
      data: a Tensor or array of real numbers: conv outputs `[batch, h, w,
        channels]`, dense outputs `[batch, units]`, or any other rank.
      step: int64-castable monotonic step. Defaults to
        `tf.summary.experimental.get_step()`, which must then not be None.
      description: optional Markdown description shown with the tag.
      encoding: "q8" (compact; error at most 1/510 of each channel's range,
        see `tb_plugin.format.encoding`) or "f32" (lossless float32).
      max_values: the most values one summary may hold; larger data raises a
        ValueError saying how to log less. None disables the check.

    Returns:
      True on success, or False if no summary was written because no default
      writer was available (as `tf.summary.write`).

    Raises:
      ValueError: unknown encoding, non-real data, or too many values.
    """
    return write_array_tf(metadata.KIND_ACTIVATIONS, name, data, step, description, encoding, max_values)


def weights(
    name,
    data,
    step=None,
    description=None,
    encoding=DEFAULT_ENCODING,
    max_values=DEFAULT_MAX_VALUES,
    layer=None,
    layer_class=None,
):
    """Writes a variable (conv kernel `[kh, kw, in, out]`, dense kernel
    `[in, out]`, bias, ...) to the default `tf.summary` writer.

    Arguments as `activations`, plus `layer` (the layer path the variable
    belongs to) and `layer_class` (e.g. "Conv2D"), shown by the tab.
    """
    extra = {"layer": layer, "layer_class": layer_class}
    return write_array_tf(metadata.KIND_WEIGHTS, name, data, step, description, encoding, max_values, extra)


def write_array_tf(kind, name, data, step, description, encoding, max_values, extra=None):
    """The tf.summary door for every encoded-array kind (see `activations`)."""
    import tensorflow as tf  # The TF-free paths never reach this import.

    _check_name(name)
    _check_encoding(encoding, max_values, description)
    summary_scope = getattr(tf.summary.experimental, "summary_scope", None) or tf.summary.summary_scope
    if isinstance(data, np.ma.MaskedArray):
        data = encoding_lib.as_float_array(data)  # masked elements as NaN, as the Writer stores them
    with summary_scope(name, "internals_" + kind, values=[data, step]) as (tag, _):
        data = tf.convert_to_tensor(data)
        if not (data.dtype.is_floating or data.dtype.is_integer or data.dtype.is_bool):
            raise ValueError(
                "%s: data must be real numbers, got dtype %s" % (name, data.dtype.name)
            )
        shape = [-1 if d is None else int(d) for d in data.shape.as_list()] if data.shape.rank is not None else []
        if data.shape.is_fully_defined():
            # Fail at trace time, before any step is spent, when the static
            # shape is already too large.
            encoding_lib.check_size(shape, max_values, name)
        summary_metadata = metadata.create_summary_metadata(
            kind, shape, data.dtype.name, encoding, description=description, extra=extra,
            storage=metadata.STORAGE_INLINE,
        )

        def encode_payload(array):
            return np.array([encoding_lib.encode(array, encoding, max_values)], dtype=object)

        def payload():
            with tf.device("cpu:0"):
                blob = tf.numpy_function(encode_payload, [data], tf.string, stateful=False)
            blob.set_shape([1])
            return blob

        return tf.summary.write(tag=tag, tensor=payload, step=step, metadata=summary_metadata)


class Writer:
    """Writes internals summaries to event files without TensorFlow.

    Each `Writer` opens one new event file in `logdir` (created if needed),
    which TensorBoard reads like any other, and one new payload store file
    in `logdir/plugins/internals/` (`store.py`) on its first payload. Each
    payload is flushed to the store before its reference goes to the event
    file, and every write is flushed at once, so a crash loses at most the
    record being written. The writer is thread-safe.

    Args:
      logdir: the run directory, e.g. "logs/run1".
      filename_suffix: appended to the event file name.
    """

    _uid_lock = threading.Lock()
    _uid = 0

    def __init__(self, logdir, filename_suffix=""):
        os.makedirs(logdir, exist_ok=True)
        with Writer._uid_lock:
            uid, Writer._uid = Writer._uid, Writer._uid + 1
        # The zero-padded uid keeps a process's files in creation order when
        # sorted by name (as TensorBoard loads them) within the same second.
        name = "events.out.tfevents.%010d.%s.%d.%08d.internals%s" % (
            time.time(),
            socket.gethostname(),
            os.getpid(),
            uid,
            filename_suffix,
        )
        self.path = os.path.join(logdir, name)
        self._lock = threading.Lock()
        self._attention_labels = {}  # tag -> its first token labels
        self._embedding_extras = {}  # tag -> (labels JSON, thumbnails key, thumbnails in force)
        self._attribution_images = {}  # tag -> the probe images last stored (shape, bytes)
        self._class_thumbnails = {}  # class_stats tag -> the key of its last stored thumbnails
        self._described = set()  # tags whose metadata this file holds
        self._store = store.StoreWriter(logdir)
        self._file = open(self.path, "wb")
        self._write_event(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))

    def activations(
        self,
        name,
        data,
        step,
        description=None,
        encoding=DEFAULT_ENCODING,
        max_values=DEFAULT_MAX_VALUES,
    ):
        """Writes a layer's activations at `step`.

        Arguments as `tb_plugin.summary.activations`, except that `step` is
        required and `data` is array-like (numpy, or anything `np.asarray`
        takes, such as a CPU torch tensor).

        Raises:
          ValueError: bad name, step, encoding or data, or too many values.
        """
        self.write_array(metadata.KIND_ACTIVATIONS, name, data, step, description, encoding, max_values)

    def weights(
        self,
        name,
        data,
        step,
        description=None,
        encoding=DEFAULT_ENCODING,
        max_values=DEFAULT_MAX_VALUES,
        layer=None,
        layer_class=None,
    ):
        """Writes a variable at `step`; arguments as `tb_plugin.summary.weights`."""
        extra = {"layer": layer, "layer_class": layer_class}
        self.write_array(metadata.KIND_WEIGHTS, name, data, step, description, encoding, max_values, extra)

    def attention(
        self,
        name,
        scores,
        step,
        *,
        tokens=None,
        query_tokens=None,
        key_tokens=None,
        normalized=True,
        patch_grid=None,
        prefix_tokens=0,
        image=None,
        description=None,
        encoding=DEFAULT_ENCODING,
        max_values=DEFAULT_MAX_VALUES,
    ):
        """Writes attention scores at `step`; arguments as
        `tb_plugin.summary.attention`. Token labels go in the tag's metadata
        once, and with a step only when they differ from the tag's first."""
        _check_name(name)
        step = _check_step(step)
        _check_encoding(encoding, max_values, description)
        array, extra, image = attention_lib.validate(
            name, scores, tokens, query_tokens, key_tokens, normalized, patch_grid, prefix_tokens, image
        )
        labels = {"query_tokens": extra["query_tokens"], "key_tokens": extra["key_tokens"]}
        with self._lock:
            first = self._attention_labels.setdefault(name, labels)
        # The metadata always carries the tag's first labels (TensorBoard keeps
        # the first event's); a step whose labels differ carries its own.
        extra.update(first)
        blobs = [encoding_lib.encode(array, encoding, max_values), attention_lib.tokens_blob(labels, first)]
        if image is not None:
            blobs.append(encoding_lib.encode(image, "f32", max_values))
        elif not blobs[1]:
            blobs.pop()
        value = summary_pb2.Summary.Value(
            tag=name,
            metadata=metadata.create_summary_metadata(
                metadata.KIND_ATTENTION, array.shape, array.dtype.name, encoding, description=description, extra=extra
            ),
            tensor=self._stored(blobs),
        )
        self._write_value(value, step)

    def embedding(
        self,
        name,
        data,
        step,
        *,
        labels=None,
        class_names=None,
        columns=None,
        thumbnails=None,
        description=None,
        encoding=DEFAULT_ENCODING,
        max_values=DEFAULT_MAX_VALUES,
        projector=False,
    ):
        """Writes one layer's representation of fixed samples at `step`.

        Args:
          name: tag, e.g. "embedding/dense1".
          data: the layer's outputs for the samples, `[n, dims]`; outputs of
            rank 3+ (`[n, ..., dims]`, e.g. conv maps) are averaged over the
            axes between (global average pooling), see `tb_plugin.kinds.embedding`.
            Use the same samples, in the same order, at every step.
          step: the step (int).
          labels: optional class index or string per sample.
          class_names: optional names of the class indices.
          columns: optional `{name: [value per sample]}` shown on hover.
          thumbnails: optional `[n, h, w, c]` images of the samples' inputs
            (c = 1 or 3, values in [0, 1] or [0, 255]).
          description, encoding, max_values: as `activations`.
          projector: also write what TensorBoard's Projector reads for this
            step (`tb_plugin.format.projector`; replaces this tag's earlier hand-off).

        Labels, columns and thumbnails are stored with this writer's first
        step of the tag and again only at steps where they change.

        Raises:
          ValueError: bad rows, label or column counts, or arguments.
        """
        _check_name(name)
        step = _check_step(step)
        _check_encoding(encoding, max_values, description)
        source = np.asarray(data)
        rows = embedding_lib.as_rows(source, name)
        doc = embedding_lib.labels_blob(labels, class_names, columns, len(rows), name)
        doc_bytes = embedding_lib.encode_labels(doc)
        images = embedding_lib.check_thumbnails(thumbnails, len(rows), name)
        with self._lock:
            previous = self._embedding_extras.get(name)
            # Thumbnails stay in force until new ones are given (stored only when they change).
            if images is not None:
                key, in_force = (images.shape, images.tobytes()), images
            else:
                key, in_force = (previous[1], previous[2]) if previous else (None, None)
            digest = (doc_bytes, key)
            self._embedding_extras[name] = (doc_bytes, key, in_force)
        blobs = [
            encoding_lib.encode(rows, encoding, max_values),
            doc_bytes if previous is None or previous[0] != doc_bytes else b"",
        ]
        if images is not None and (previous is None or previous[1] != digest[1]):
            blobs.append(encoding_lib.encode(images, "q8", max_values))
        elif not blobs[1]:
            blobs.pop()
        extra = {"samples": int(len(rows)), "source_shape": [int(d) for d in source.shape],
                 "thumbnails": images is not None}
        value = summary_pb2.Summary.Value(
            tag=name,
            metadata=metadata.create_summary_metadata(
                metadata.KIND_EMBEDDING, rows.shape, source.dtype.name, encoding, description=description, extra=extra
            ),
            tensor=self._stored(blobs),
        )
        self._write_value(value, step)
        if projector:
            from tb_plugin.format import projector as projector_lib

            projector_lib.hand_off(os.path.dirname(self.path), name, rows, doc, in_force, step=step)

    def class_stats(
        self,
        name,
        step,
        *,
        labels,
        predictions,
        layers=None,
        class_names=None,
        classes=None,
        thumbnails=None,
        description=None,
    ):
        """Writes the class statistics of a labelled evaluation set at `step`.

        Args:
          name: tag, e.g. "class_stats".
          step: the step (int).
          labels: the samples' true classes: indices `[n]` or one-hot `[n, K]`.
          predictions: the model's classes `[n]` or its scores `[n, K]`
            (argmax; one sigmoid score per sample: > 0.5 is class 1).
          layers: `{layer path: outputs [n, ...]}` (conv maps are averaged
            over space per channel), or `{path: class_stats.moments(mean,
            std, count)}` for statistics computed elsewhere; network order.
          class_names: optional names, one per class (their count sets K).
          classes: K when neither names nor the data show it.
          thumbnails: optional `[n, h, w(, c)]` images of the samples' inputs
            (values in [0, 1] or [0, 255]); stored with the tag's first step
            and again only when they change.
          description: optional Markdown description.

        The formulas are in `tb_plugin.kinds.class_stats`. Use the same samples, in
        the same order, at every step.

        Returns:
          The document written (a dict, as `class_stats.parse` reads it back).

        Raises:
          ValueError: mismatched sample counts, bad labels or names.
        """
        _check_name(name)
        step = _check_step(step)
        _check_encoding(DEFAULT_ENCODING, None, description)
        doc_bytes, images, extra = class_stats_lib.prepare(
            name, labels, predictions, layers, class_names, classes, thumbnails)
        blobs = [doc_bytes]
        if images is not None:
            key = (images.shape, str(images.dtype), images.tobytes())
            with self._lock:
                changed = self._class_thumbnails.get(name) != key
                self._class_thumbnails[name] = key
            if changed:
                blobs.append(encoding_lib.encode(images, "q8", None))
        value = summary_pb2.Summary.Value(
            tag=name,
            metadata=metadata.create_document_metadata(metadata.KIND_CLASS_STATS, description, extra=extra),
            tensor=self._stored(blobs),
        )
        self._write_value(value, step)
        return class_stats_lib.parse(doc_bytes)

    def attribution(
        self,
        name,
        maps,
        step,
        *,
        predicted_class,
        true_class=None,
        predicted_probability=None,
        true_probability=None,
        probabilities=True,
        class_names=None,
        completeness_error=None,
        gradcam_raw=None,
        gradcam_layer=None,
        images=None,
        settings=None,
        tokens=None,
        description=None,
        encoding=DEFAULT_ENCODING,
        max_values=DEFAULT_MAX_VALUES,
    ):
        """Writes attribution maps of fixed samples at `step` (kind `attribution`).

        Args:
          name: tag, e.g. "attribution/probe".
          maps: `{method: [samples, height, width]}` (one target: the
            predicted class), or `[samples, 2, height, width]` (the true
            class, then the predicted class) when `true_class` is given;
            methods "gradcam", "saliency", "smoothgrad",
            "integrated_gradients" (see `tb_plugin.kinds.attribution`).
          step: the step (int).
          predicted_class, true_class: class index per sample.
          predicted_probability, true_probability: per sample (optional).
          probabilities: False when those are scores, not probabilities.
          class_names: optional names of the class indices.
          completeness_error: optional `{"true": [...], "predicted": [...]}`.
          gradcam_raw: optional Grad-CAM at its layer's resolution.
          gradcam_layer: the layer Grad-CAM used (shown).
          images: the samples' inputs `[samples, height, width(, c)]`
            (c = 1, 3 or 4; values in [0, 1] or [0, 255]); stored with the
            tag's first step and again only when they change.
          settings: optional JSON-ready method settings (IG steps, ...).
          tokens: text and sequence models: the token labels (one list per
            sample, or one shared list); then each map is `[samples,
            tokens]` or `[samples, 2, tokens]` (one score per token) and
            no images (the token layout of `tb_plugin.kinds.attribution`).
          description, encoding, max_values: as `activations` (q8 keeps
            each method's own range).

        Raises:
          ValueError: bad maps, per-sample counts or arguments.
        """
        _check_name(name)
        step = _check_step(step)
        _check_encoding(encoding, max_values, description)
        array, doc, raw, images = attribution_lib.validate(
            name, maps, predicted_class=predicted_class, true_class=true_class,
            predicted_probability=predicted_probability, true_probability=true_probability,
            probabilities=probabilities, class_names=class_names, completeness_error=completeness_error,
            gradcam_raw=gradcam_raw, gradcam_layer=gradcam_layer, images=images, settings=settings, tokens=tokens,
        )
        blobs = [
            encoding_lib.encode(array, encoding, max_values),
            attribution_lib.encode_doc(doc),
            b"" if raw is None else encoding_lib.encode(raw, "f32", max_values),
        ]
        if images is not None:
            key = (images.shape, images.tobytes())
            with self._lock:
                changed = self._attribution_images.get(name) != key
                self._attribution_images[name] = key
            if changed:
                blobs.append(encoding_lib.encode(images, "q8", max_values))
        while blobs and not blobs[-1]:
            blobs.pop()
        extra = {"methods": doc["methods"], "targets": doc["targets"], "samples": int(array.shape[0]),
                 "gradcam_layer": doc["gradcam_layer"],
                 "layout": doc.get("layout", "image")}
        value = summary_pb2.Summary.Value(
            tag=name,
            metadata=metadata.create_summary_metadata(
                metadata.KIND_ATTRIBUTION, array.shape, array.dtype.name, encoding, description=description, extra=extra
            ),
            tensor=self._stored(blobs),
        )
        self._write_value(value, step)

    def write_array(self, kind, name, data, step, description, encoding, max_values, extra=None):
        """The TF-free door for every encoded-array kind (see `activations`)."""
        _check_name(name)
        step = _check_step(step)
        _check_encoding(encoding, max_values, description)
        array = data if isinstance(data, np.ma.MaskedArray) else np.asarray(data)
        payload = encoding_lib.encode(array, encoding, max_values)
        value = summary_pb2.Summary.Value(
            tag=name,
            metadata=metadata.create_summary_metadata(
                kind, array.shape, array.dtype.name, encoding, description=description, extra=extra
            ),
            tensor=self._stored([payload]),
        )
        self._write_value(value, step)

    def model_summary(self, name, document, step=0, description=None):
        """Writes a JSON-serialisable model description (layer list) at `step`."""
        self.document(metadata.KIND_MODEL_SUMMARY, name, document, step, description)

    def document(self, kind, name, document, step=0, description=None):
        """Writes a JSON-serialisable document of one of `metadata.DOCUMENT_KINDS`
        (a model summary, the callback's logging plan) at `step`."""
        _check_name(name)
        step = _check_step(step)
        payload = json.dumps(document, sort_keys=True).encode("utf-8")
        value = summary_pb2.Summary.Value(
            tag=name,
            metadata=metadata.create_document_metadata(kind, description),
            tensor=self._stored([payload]),
        )
        self._write_value(value, step)

    def activation_stats(self, name, data, step, activation=None, source_tag=None, description=None):
        """Writes the statistics of a layer's activations at `step`.

        Args:
          name: tag for the statistics series.
          data: the layer output, `[batch, ..., units]`.
          step: the step (int).
          activation: the layer's activation function name ("relu", "tanh",
            ...); decides whether dead or saturated units are counted.
          source_tag: the activations tag these statistics describe.
          description: optional Markdown description.

        Returns:
          The stats vector written (see `tb_plugin.kinds.activation_stats`).
        """
        _check_name(name)
        step = _check_step(step)
        vector = stats.compute(encoding_lib.as_float_array(data), activation)
        layout = {"fields": stats.FIELDS, "bins": stats.BINS, "units": len(vector) - stats.vector_length(0)}
        value = summary_pb2.Summary.Value(
            tag=name,
            metadata=metadata.create_stats_metadata(layout, activation, source_tag, description),
            tensor=tensor_util.make_tensor_proto(vector),
        )
        self._write_value(value, step)
        return vector

    def weight_stats(self, name, value, step, previous=None, before_last=None, source_tag=None, layer=None,
                     layer_class=None, description=None):
        """Writes a variable's exact change series entry at `step`.

        Args:
          name: tag for the series (the callback uses `weight_stats/<layer path>/<variable>`).
          value: the variable's values now.
          step: the step (int).
          previous: its values at the previous snapshot, or None (no change yet).
          before_last: its values before the last training batch, or None
            (the update-to-weight ratio is then not known).
          source_tag: the `weights/` tag of the variable's full values.
          layer, layer_class: the layer's path and class name.
          description: optional Markdown description.

        Returns:
          The vector written (see `tb_plugin.kinds.weights.weight_stats`).
        """
        _check_name(name)
        step = _check_step(step)
        vector = weights_lib.weight_stats(value, previous, before_last)
        layout = {"fields": weights_lib.WEIGHT_STATS_FIELDS, "bins": weights_lib.WEIGHT_STATS_BINS,
                  "units": len(vector) - weights_lib.weight_stats_length(0)}
        value = summary_pb2.Summary.Value(
            tag=name,
            metadata=metadata.create_weight_stats_metadata(layout, source_tag, layer=layer, layer_class=layer_class,
                                                           description=description),
            tensor=tensor_util.make_tensor_proto(vector),
        )
        self._write_value(value, step)
        return vector

    def scalar(self, name, value, step, description=None):
        """Writes a scalar for TensorBoard's built-in Scalars dashboard."""
        _check_name(name)
        step = _check_step(step)
        scalar_md = scalar_metadata.create_summary_metadata(display_name=name, description=description or "")
        scalar_md.data_class = summary_pb2.DATA_CLASS_SCALAR  # Unset there; required to be seen.
        value = summary_pb2.Summary.Value(
            tag=name, metadata=scalar_md, tensor=tensor_util.make_tensor_proto(np.float32(value))
        )
        self._write_value(value, step)

    def _stored(self, blobs):
        """Appends each non-empty blob to the store; the tensor of their references."""
        references = [store.reference_bytes(self._store.append(b)) if b else b"" for b in blobs]
        return tensor_util.make_tensor_proto(np.array(references, dtype=object))

    def _write_value(self, value, step):
        # Like TensorFlow's summary writers, a tag's metadata goes with its
        # first write in each file only (TensorBoard keeps the first anyway):
        # it would otherwise be most of each event's bytes.
        with self._lock:
            if value.tag in self._described:
                value.ClearField("metadata")
            else:
                self._described.add(value.tag)
        self._write_event(
            event_pb2.Event(wall_time=time.time(), step=step, summary=summary_pb2.Summary(value=[value]))
        )

    def _write_event(self, event):
        data = event.SerializeToString()
        with self._lock:
            if self._file.closed:
                raise ValueError("this Writer is closed; open a new one")
            # One write per record: a crash leaves at most a truncated last
            # record, which TensorBoard's readers skip.
            self._file.write(tfrecord.encode_record(data))
            self._file.flush()

    def flush(self):
        """Flushes written events to disk (writes already flush; kept for symmetry)."""
        with self._lock:
            if not self._file.closed:
                self._file.flush()

    def close(self):
        """Closes the event and store files. Further writes raise ValueError."""
        with self._lock:
            if not self._file.closed:
                self._file.close()
        self._store.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def _check_step(step):
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise ValueError("step must be an integer, got %r" % (step,))
    if not -(1 << 63) <= int(step) < (1 << 63):
        raise ValueError("step must fit in int64 (-2**63 to 2**63 - 1), got %d" % int(step))
    return int(step)


# ---- attention (kind "attention"; layout of blobs and metadata in attention.py) ----


def attention(
    name,
    scores,
    step=None,
    *,
    tokens=None,
    query_tokens=None,
    key_tokens=None,
    normalized=True,
    patch_grid=None,
    prefix_tokens=0,
    image=None,
    description=None,
    encoding=DEFAULT_ENCODING,
    max_values=DEFAULT_MAX_VALUES,
):
    """Writes attention scores to the default `tf.summary` writer.

    Args:
      name: tag, e.g. "attention/encoder/mha". Name scopes prefix it.
      scores: `[heads, q, k]` or `[batch, heads, q, k]` attention weights.
      step: as `activations`.
      tokens: labels of a self-attention's tokens (queries and keys alike):
        a list of strings, or one list per sample for batched scores.
      query_tokens, key_tokens: labels of queries and keys apart (cross
        attention); not together with `tokens`.
      normalized: the rows sum to 1 (softmax weights), checked; pass False
        for raw scores or logits.
      patch_grid: `(rows, cols)` when the keys are the image patches of a
        vision transformer (row-major, after `prefix_tokens` keys such as a
        class token); the tab then maps a query's attention onto `image`.
      prefix_tokens: keys before the patches (e.g. 1 for a class token).
      image: the input image `[h, w]`, `[h, w, c]` or `[batch, h, w, c]`
        (c = 1, 3 or 4, values in [0, 1] or [0, 255]); needs `patch_grid`.
      description, encoding, max_values: as `activations`.

    This door stores the token labels in the metadata and, as TensorBoard
    keeps only a tag's first metadata, also with every step (the `Writer`
    stores them per step only when they change).

    Returns:
      True on success, False if no default writer was available.

    Raises:
      ValueError: bad shape, label counts, patch grid, or (when the values
        are known) rows that do not sum to 1 while `normalized`.
    """
    import tensorflow as tf  # The TF-free paths never reach this import.

    _check_name(name)
    _check_encoding(encoding, max_values, description)
    scores = tf.convert_to_tensor(scores)
    if not scores.shape.is_fully_defined():
        raise ValueError("%s: attention scores need a fully known shape, got %s" % (name, scores.shape))
    shape = scores.shape.as_list()
    # Shape, labels and patch grid now, at trace time; row sums when the values are there.
    dummy = np.full(shape, 1.0 / shape[-1] if shape and shape[-1] else 0.0, np.float32)
    _, extra, image_array = attention_lib.validate(
        name, dummy, tokens, query_tokens, key_tokens, False, patch_grid, prefix_tokens,
        None if image is None else np.zeros(tf.convert_to_tensor(image).shape.as_list() or [1], np.float32),
    )
    extra["normalized"] = bool(normalized)
    encoding_lib.check_size(shape, max_values, name)
    tokens_json = b""
    if extra["query_tokens"] is not None or extra["key_tokens"] is not None:
        tokens_json = json.dumps(
            {"query_tokens": extra["query_tokens"], "key_tokens": extra["key_tokens"]}, sort_keys=True
        ).encode("utf-8")
    summary_scope = getattr(tf.summary.experimental, "summary_scope", None) or tf.summary.summary_scope
    with summary_scope(name, "internals_attention", values=[scores, step]) as (tag, _):
        summary_metadata = metadata.create_summary_metadata(
            metadata.KIND_ATTENTION, shape, scores.dtype.name, encoding, description=description, extra=extra,
            storage=metadata.STORAGE_INLINE,
        )
        inputs = [scores] if image is None else [scores, tf.convert_to_tensor(image)]

        def encode_payload(values, *rest):
            attention_lib.validate(name, values, normalized=normalized)
            blobs = [encoding_lib.encode(values, encoding, max_values), tokens_json]
            if rest:
                blobs.append(encoding_lib.encode(np.asarray(rest[0]), "f32", max_values))
            elif not tokens_json:
                blobs.pop()
            return np.array(blobs, dtype=object)

        def payload():
            with tf.device("cpu:0"):
                return tf.numpy_function(encode_payload, inputs, tf.string, stateful=False)

        return tf.summary.write(tag=tag, tensor=payload, step=step, metadata=summary_metadata)


# ---- embeddings (kind "embedding"; layout of blobs and metadata in embedding.py) ----


def embedding(
    name,
    data,
    step=None,
    *,
    labels=None,
    class_names=None,
    columns=None,
    thumbnails=None,
    description=None,
    encoding=DEFAULT_ENCODING,
    max_values=DEFAULT_MAX_VALUES,
):
    """Writes a layer's representation of fixed samples to the default
    `tf.summary` writer; arguments as `Writer.embedding` (no Projector
    hand-off: this door does not know its run directory).

    This door stores the labels and thumbnails with every step (the
    `Writer` only when they change). The sample count must be known when
    the summary is traced.

    Returns:
      True on success, False if no default writer was available.
    """
    import tensorflow as tf  # The TF-free paths never reach this import.

    _check_name(name)
    _check_encoding(encoding, max_values, description)
    data = tf.convert_to_tensor(data)
    shape = data.shape.as_list()
    if data.shape.rank is None or data.shape.rank < 2 or shape[0] is None or None in shape[-1:]:
        raise ValueError("%s: embedding outputs need a known [samples, ..., dims] shape, got %s" % (name, data.shape))
    n = shape[0]
    embedding_lib.as_rows(np.zeros([n] + [1] * (len(shape) - 2) + [shape[-1]], np.float32), name)
    doc_bytes = embedding_lib.encode_labels(embedding_lib.labels_blob(labels, class_names, columns, n, name))
    images = embedding_lib.check_thumbnails(thumbnails, n, name)
    extra = {"samples": int(n), "source_shape": [-1 if d is None else int(d) for d in shape],
             "thumbnails": images is not None}
    rows_shape = [n, shape[-1]]
    encoding_lib.check_size(rows_shape, max_values, name)
    thumbnails_payload = None if images is None else encoding_lib.encode(images, "q8", max_values)
    summary_scope = getattr(tf.summary.experimental, "summary_scope", None) or tf.summary.summary_scope
    with summary_scope(name, "internals_embedding", values=[data, step]) as (tag, _):
        summary_metadata = metadata.create_summary_metadata(
            metadata.KIND_EMBEDDING, rows_shape, data.dtype.name, encoding, description=description, extra=extra,
            storage=metadata.STORAGE_INLINE,
        )

        def encode_payload(values):
            blobs = [encoding_lib.encode(embedding_lib.as_rows(values, name), encoding, max_values), doc_bytes]
            if thumbnails_payload is not None:
                blobs.append(thumbnails_payload)
            return np.array(blobs, dtype=object)

        def payload():
            with tf.device("cpu:0"):
                blob = tf.numpy_function(encode_payload, [data], tf.string, stateful=False)
            blob.set_shape([3 if thumbnails_payload is not None else 2])
            return blob

        return tf.summary.write(tag=tag, tensor=payload, step=step, metadata=summary_metadata)


# ---- class statistics (kind "class_stats"; document and blobs in class_stats.py) ----


def class_stats(
    name,
    labels,
    predictions,
    layers=None,
    step=None,
    *,
    class_names=None,
    classes=None,
    thumbnails=None,
    description=None,
):
    """Writes class statistics to the default `tf.summary` writer; arguments
    as `Writer.class_stats` (tensors or arrays; eager or inside `tf.function`).

    This door keeps its blobs inline in the event file and stores the
    thumbnails with every step (the `Writer` only when they change). The
    document is computed when the summary runs, so wrong sample counts raise
    then (eagerly: at once).

    Returns:
      True on success, False if no default writer was available.
    """
    import tensorflow as tf  # The TF-free paths never reach this import.

    _check_name(name)
    _check_encoding(DEFAULT_ENCODING, None, description)
    items = list(layers.items()) if isinstance(layers, dict) else list(layers or [])
    given = (class_stats_lib.Moments, class_stats_lib.Reduced)  # numpy already: passed as they are
    tensors = [tf.convert_to_tensor(v) for _, v in items if not isinstance(v, given)]
    images = None if thumbnails is None else np.asarray(thumbnails)
    thumbnails_payload = None if images is None else encoding_lib.encode(images, "q8", None)
    # Metadata: the names and layers known now (classes from the names, when given).
    names = class_stats_lib.check_class_names(class_names)
    extra = {"classes": classes or (len(names) if names else None), "class_names": names,
             "layers": [str(path) for path, _ in items], "thumbnails": images is not None}
    summary_scope = getattr(tf.summary.experimental, "summary_scope", None) or tf.summary.summary_scope
    with summary_scope(name, "internals_class_stats", values=[step]) as (tag, _):
        summary_metadata = metadata.create_document_metadata(
            metadata.KIND_CLASS_STATS, description, storage=metadata.STORAGE_INLINE, extra=extra)

        def encode_payload(y, p, *values):
            it = iter(values)
            arrays = [(path, v if isinstance(v, given) else next(it)) for path, v in items]
            doc_bytes, _, _ = class_stats_lib.prepare(name, y, p, arrays, class_names, classes, images)
            blobs = [doc_bytes] + ([thumbnails_payload] if thumbnails_payload is not None else [])
            return np.array(blobs, dtype=object)

        def payload():
            if tf.executing_eagerly():  # bad inputs raise ValueError here, at once
                return tf.constant(encode_payload(np.asarray(labels), np.asarray(predictions),
                                                  *[t.numpy() for t in tensors]))
            with tf.device("cpu:0"):
                blob = tf.numpy_function(
                    encode_payload, [tf.convert_to_tensor(labels), tf.convert_to_tensor(predictions)] + tensors,
                    tf.string, stateful=False)
            blob.set_shape([2 if thumbnails_payload is not None else 1])
            return blob

        return tf.summary.write(tag=tag, tensor=payload, step=step, metadata=summary_metadata)


# ---- attribution maps (kind "attribution"; layout of blobs and metadata in attribution_data.py) ----


def attribution(
    name,
    maps,
    step=None,
    *,
    predicted_class,
    true_class=None,
    predicted_probability=None,
    true_probability=None,
    probabilities=True,
    class_names=None,
    completeness_error=None,
    gradcam_raw=None,
    gradcam_layer=None,
    images=None,
    settings=None,
    tokens=None,
    description=None,
    encoding=DEFAULT_ENCODING,
    max_values=DEFAULT_MAX_VALUES,
):
    """Writes attribution maps to the default `tf.summary` writer; arguments
    as `Writer.attribution`. Maps, classes and probabilities may be tensors
    (their shapes must be known when traced); the images are stored with
    every step (the `Writer` only when they change).

    Returns:
      True on success, False if no default writer was available.
    """
    import tensorflow as tf  # The TF-free paths never reach this import.

    _check_name(name)
    _check_encoding(encoding, max_values, description)
    if not isinstance(maps, dict) or not maps:
        raise ValueError("%s: maps must be a non-empty dict {method: [samples, height, width] array}" % name)
    methods = [str(m) for m in maps]
    tensors = [tf.convert_to_tensor(v) for v in maps.values()]
    per_sample = {"predicted_class": predicted_class, "true_class": true_class,
                  "predicted_probability": predicted_probability, "true_probability": true_probability}
    given = [k for k, v in per_sample.items() if v is not None]
    extra_tensors = [tf.convert_to_tensor(per_sample[k]) for k in given]
    errors = sorted((completeness_error or {}).items())
    error_tensors = [tf.convert_to_tensor(v) for _, v in errors]
    optional = [("gradcam_raw", gradcam_raw), ("images", images)]
    optional = [(k, tf.convert_to_tensor(v)) for k, v in optional if v is not None]
    shapes = [t.shape.as_list() for t in tensors]
    for method, shape in zip(methods, shapes):
        if None in shape:
            raise ValueError("%s: map %r needs a fully known shape, got %s" % (name, method, shape))
    # Check everything now, at trace time, on zeros of the same shapes.
    zeros = lambda t, integer=False: np.zeros(t.shape.as_list(), np.int64 if integer else np.float32)  # noqa: E731
    array, doc, _, _ = attribution_lib.validate(
        name, {m: zeros(t) for m, t in zip(methods, tensors)},
        **{k: zeros(t, k.endswith("class")) for k, t in zip(given, extra_tensors)},
        probabilities=probabilities, class_names=class_names,
        completeness_error={k: zeros(t) for (k, _), t in zip(errors, error_tensors)} or None,
        gradcam_layer=gradcam_layer, settings=settings, tokens=tokens,
        **{k: zeros(t) for k, t in optional},
    )
    encoding_lib.check_size(array.shape, max_values, name)
    extra = {"methods": doc["methods"], "targets": doc["targets"], "samples": int(array.shape[0]),
             "gradcam_layer": doc["gradcam_layer"],
             "layout": doc.get("layout", "image")}
    counts = (len(tensors), len(extra_tensors), len(error_tensors))
    summary_scope = getattr(tf.summary.experimental, "summary_scope", None) or tf.summary.summary_scope
    with summary_scope(name, "internals_attribution", values=tensors + [step]) as (tag, _):
        summary_metadata = metadata.create_summary_metadata(
            metadata.KIND_ATTRIBUTION, array.shape, "float32", encoding, description=description, extra=extra,
            storage=metadata.STORAGE_INLINE,
        )

        def encode_payload(*values):
            a, b, c = counts
            m_values, e_values = values[:a], values[a:a + b]
            c_values, o_values = values[a + b:a + b + c], values[a + b + c:]
            arr, document, raw, picture = attribution_lib.validate(
                name, dict(zip(methods, m_values)), **dict(zip(given, e_values)),
                probabilities=probabilities, class_names=class_names,
                completeness_error={k: v for (k, _), v in zip(errors, c_values)} or None,
                gradcam_layer=gradcam_layer, settings=settings, tokens=tokens,
                **{k: v for (k, _), v in zip(optional, o_values)},
            )
            blobs = [encoding_lib.encode(arr, encoding, max_values), attribution_lib.encode_doc(document),
                     b"" if raw is None else encoding_lib.encode(raw, "f32", max_values),
                     b"" if picture is None else encoding_lib.encode(picture, "q8", max_values)]
            while not blobs[-1]:
                blobs.pop()
            return np.array(blobs, dtype=object)

        def payload():
            with tf.device("cpu:0"):
                return tf.numpy_function(
                    encode_payload, tensors + extra_tensors + error_tensors + [t for _, t in optional],
                    tf.string, stateful=False)

        return tf.summary.write(tag=tag, tensor=payload, step=step, metadata=summary_metadata)
