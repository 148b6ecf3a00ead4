"""The TF-free door: `Writer`, numpy arrays in, event files and a payload store out.

Every method is one call into the kind's module (`tb_plugin.kinds`), which
builds the step, and one into `_write_step`, which writes it the same way
for every kind: payloads to the run's payload store (`format.store`), a
small reference per step to the event file, the metadata with the tag's
first write (`summary.core`). Never imports TensorFlow.
"""

import os
import socket
import threading
import time

import numpy as np
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.plugins.scalar import metadata as scalar_metadata
from tensorboard.util import tensor_util

from tb_plugin import kinds
from tb_plugin.format import store, tfrecord
from tb_plugin.kinds import activation_stats as activation_stats_lib
from tb_plugin.kinds import activations as activations_lib
from tb_plugin.kinds import attention as attention_lib
from tb_plugin.kinds import attribution as attribution_lib
from tb_plugin.kinds import class_stats as class_stats_lib
from tb_plugin.kinds import embedding as embedding_lib
from tb_plugin.kinds import weights as weights_lib
from tb_plugin.summary import core
from tb_plugin.summary.core import DEFAULT_ENCODING, DEFAULT_MAX_VALUES


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
        self._memory = core.Memory()  # per tag: the extras last stored (labels, thumbnails, images)
        self._described = set()  # tags whose metadata this file holds
        self._store = store.StoreWriter(logdir)
        self._file = open(self.path, "wb")
        self._write_event(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))

    # ---- one method per kind ----

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
        self._write(name, step, description, encoding, max_values,
                    lambda memory: activations_lib.step(data, encoding, max_values))

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
        self._write(name, step, description, encoding, max_values,
                    lambda memory: weights_lib.step(data, encoding, max_values, layer, layer_class))

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
        self._write(name, step, description, encoding, max_values, lambda memory: attention_lib.step(
            name, scores, tokens=tokens, query_tokens=query_tokens, key_tokens=key_tokens, normalized=normalized,
            patch_grid=patch_grid, prefix_tokens=prefix_tokens, image=image, encoding=encoding,
            max_values=max_values, memory=memory))

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
        prepared = None

        def build(memory):
            nonlocal prepared
            prepared = embedding_lib.prepare(name, data, labels, class_names, columns, thumbnails)
            return embedding_lib.step(prepared, encoding=encoding, max_values=max_values, memory=memory)

        self._write(name, step, description, encoding, max_values, build)
        # Thumbnails stay in force until new ones are given (for the Projector).
        in_force = self._memory.latest(name, "thumbnails", prepared.images)
        if projector:
            from tb_plugin.format import projector as projector_lib

            projector_lib.hand_off(os.path.dirname(self.path), name, prepared.rows, prepared.doc, in_force, step=step)

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
        written = self._write(name, step, description, DEFAULT_ENCODING, None, lambda memory: class_stats_lib.step(
            name, labels, predictions, layers, class_names, classes, thumbnails, memory=memory))
        return class_stats_lib.parse(written.value[class_stats_lib.DOCUMENT_BLOB])

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
        self._write(name, step, description, encoding, max_values, lambda memory: attribution_lib.step(
            name, maps, encoding=encoding, max_values=max_values, memory=memory,
            predicted_class=predicted_class, true_class=true_class, predicted_probability=predicted_probability,
            true_probability=true_probability, probabilities=probabilities, class_names=class_names,
            completeness_error=completeness_error, gradcam_raw=gradcam_raw, gradcam_layer=gradcam_layer,
            images=images, settings=settings, tokens=tokens))

    def model_summary(self, name, document, step=0, description=None):
        """Writes a JSON-serialisable model description (layer list) at `step`."""
        self._write(name, step, description, DEFAULT_ENCODING, None,
                    lambda memory: weights_lib.model_summary_step(document))

    def logging_plan(self, name, document, step=0, description=None):
        """Writes a logging plan (`tb_plugin.core.plan.Plan.document`) at `step`."""
        self.document(kinds.LOGGING_PLAN.name, name, document, step, description)

    def document(self, kind, name, document, step=0, description=None):
        """Writes a JSON-serialisable document of one of `metadata.DOCUMENT_KINDS`
        (a model summary, the callback's logging plan) at `step`."""
        def build(memory):
            found = kinds.get(kind)
            if found is None or found.layout != kinds.DOCUMENT:
                raise ValueError("unknown document kind %r; expected one of %s" % (kind, kinds.names(kinds.DOCUMENT)))
            return kinds.document_step(found, document)

        self._write(name, step, description, DEFAULT_ENCODING, None, build)

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
        return self._write(name, step, description, DEFAULT_ENCODING, None,
                           lambda memory: activation_stats_lib.step(data, activation, source_tag)).value

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
        return self._write(name, step, description, DEFAULT_ENCODING, None, lambda memory: weights_lib.stats_step(
            value, previous, before_last, source_tag, layer, layer_class)).value

    def scalar(self, name, value, step, description=None):
        """Writes a scalar for TensorBoard's built-in Scalars dashboard."""
        core.check_name(name)
        step = core.check_step(step)
        scalar_md = scalar_metadata.create_summary_metadata(display_name=name, description=description or "")
        scalar_md.data_class = summary_pb2.DATA_CLASS_SCALAR  # Unset there; required to be seen.
        value = summary_pb2.Summary.Value(
            tag=name, metadata=scalar_md, tensor=tensor_util.make_tensor_proto(np.float32(value))
        )
        self._write_value(value, step)

    # ---- the one writing path ----

    def _write(self, name, step, description, encoding, max_values, build):
        """Checks the shared arguments, builds the step (`build(memory)` ->
        `kinds.Step`, with this tag's `core.TagMemory`) and writes it; returns it."""
        core.check_name(name)
        step = core.check_step(step)
        core.check_encoding(encoding, max_values, description)
        built = build(self._memory.tag(name))
        if built.kind.stored:
            tensor = self._stored(core.blobs(built))
        else:
            tensor = tensor_util.make_tensor_proto(built.value)
        value = summary_pb2.Summary.Value(tag=name, metadata=core.summary_metadata(built, description), tensor=tensor)
        self._write_value(value, step)
        return built

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
