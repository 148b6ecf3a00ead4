"""The `tf.summary` door: one function per kind, writing to the default `tf.summary` writer.

Each function returns a bool like the `tf.summary` ops and works eagerly and
inside `tf.function`. It checks what is known when it is traced (shapes,
labels), describes the summary from that (`traced`, a `kinds.Step` without
values), and hands the values to the kind's own `step` (`tb_plugin.kinds`)
when the summary runs: one path, `_write`, for every kind. The payloads go
inline in the event file (a `tf.summary` writer does not tell its run
directory, so it cannot know where the run's payload store is), and this
door keeps no state: labels, thumbnails and images go with every step.

TensorFlow is imported when a function is called, never at import.
"""

import numpy as np

from tb_plugin import kinds
from tb_plugin.format import encoding as encoding_lib
from tb_plugin.format import metadata
from tb_plugin.kinds import activations as activations_lib
from tb_plugin.kinds import attention as attention_lib
from tb_plugin.kinds import attribution as attribution_lib
from tb_plugin.kinds import class_stats as class_stats_lib
from tb_plugin.kinds import embedding as embedding_lib
from tb_plugin.kinds import weights as weights_lib
from tb_plugin.summary import core
from tb_plugin.summary.core import DEFAULT_ENCODING, DEFAULT_MAX_VALUES


def _tf():
    import tensorflow as tf  # The TF-free paths never reach this import.

    return tf


def _write(name, step, description, traced, inputs, build, count=None):
    """The one writing path of every door function.

    Args:
      traced: the summary's `kinds.Step` as known when traced (no values):
        its metadata.
      inputs: a nested structure (`tf.nest`) of tensors: the values.
      build: `build(inputs as numpy)` -> the kind's `kinds.Step`, run when
        the summary is written (eagerly: at once, so bad values raise
        ValueError there; in a graph: in a `tf.numpy_function` on the CPU).
      count: the number of blobs when known at trace time.
    """
    tf = _tf()
    flat = tf.nest.flatten(inputs)
    summary_scope = getattr(tf.summary.experimental, "summary_scope", None) or tf.summary.summary_scope
    with summary_scope(name, "internals_" + traced.kind.name, values=flat + [step]) as (tag, _):
        summary_metadata = core.summary_metadata(traced, description, metadata.STORAGE_INLINE)

        def encode(*values):
            return np.array(core.blobs(build(tf.nest.pack_sequence_as(inputs, list(values)))), dtype=object)

        def payload():
            if tf.executing_eagerly():
                return tf.constant(encode(*[t.numpy() for t in flat]))
            with tf.device("cpu:0"):
                blob = tf.numpy_function(encode, flat, tf.string, stateful=False)
            if count is not None:
                blob.set_shape([count])
            return blob

        return tf.summary.write(tag=tag, tensor=payload, step=step, metadata=summary_metadata)


def _static_shape(tensor):
    """The static shape as a list, -1 for an unknown dimension ([] for an unknown rank)."""
    if tensor.shape.rank is None:
        return []
    return [-1 if d is None else int(d) for d in tensor.shape.as_list()]


# ---- plain arrays (activations, weights) ----


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
    return _array(kinds.ACTIVATIONS, name, data, step, description, encoding, max_values, {},
                  lambda values: activations_lib.step(values, encoding, max_values))


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
    return _array(kinds.WEIGHTS, name, data, step, description, encoding, max_values,
                  weights_lib.fields(layer, layer_class),
                  lambda values: weights_lib.step(values, encoding, max_values, layer, layer_class))


def _array(kind, name, data, step, description, encoding, max_values, extra, build):
    """The door of a plain-array kind (see `activations`)."""
    tf = _tf()
    core.check_name(name)
    core.check_encoding(encoding, max_values, description)
    if isinstance(data, np.ma.MaskedArray):
        data = encoding_lib.as_float_array(data)  # masked elements as NaN, as the Writer stores them
    data = tf.convert_to_tensor(data)
    if not (data.dtype.is_floating or data.dtype.is_integer or data.dtype.is_bool):
        raise ValueError("%s: data must be real numbers, got dtype %s" % (name, data.dtype.name))
    shape = _static_shape(data)
    if data.shape.is_fully_defined():
        # Fail at trace time, before any step is spent, when the static
        # shape is already too large.
        encoding_lib.check_size(shape, max_values, name)
    traced = kinds.Step(kind, None, extra, shape, data.dtype.name, encoding)
    return _write(name, step, description, traced, data, build, count=1)


# ---- attention (kind "attention"; layout of blobs and metadata in kinds/attention.py) ----


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
    tf = _tf()
    core.check_name(name)
    core.check_encoding(encoding, max_values, description)
    inputs = {"scores": tf.convert_to_tensor(scores)}
    if image is not None:
        inputs["image"] = tf.convert_to_tensor(image)
    if not inputs["scores"].shape.is_fully_defined():
        raise ValueError("%s: attention scores need a fully known shape, got %s" % (name, inputs["scores"].shape))
    shape = inputs["scores"].shape.as_list()
    # Shape, labels and patch grid now, at trace time; row sums when the values are there.
    dummy = np.full(shape, 1.0 / shape[-1] if shape and shape[-1] else 0.0, np.float32)
    dummy_image = None if image is None else np.zeros(inputs["image"].shape.as_list() or [1], np.float32)
    _, extra, _ = attention_lib.validate(
        name, dummy, tokens, query_tokens, key_tokens, False, patch_grid, prefix_tokens, dummy_image
    )
    extra["normalized"] = bool(normalized)
    encoding_lib.check_size(shape, max_values, name)
    traced = kinds.Step(kinds.ATTENTION, None, extra, shape, inputs["scores"].dtype.name, encoding)

    def build(values):
        return attention_lib.step(
            name, values["scores"], tokens=tokens, query_tokens=query_tokens, key_tokens=key_tokens,
            normalized=normalized, patch_grid=patch_grid, prefix_tokens=prefix_tokens, image=values.get("image"),
            encoding=encoding, max_values=max_values)

    return _write(name, step, description, traced, inputs, build)


# ---- embeddings (kind "embedding"; layout of blobs and metadata in kinds/embedding.py) ----


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
    tf = _tf()
    core.check_name(name)
    core.check_encoding(encoding, max_values, description)
    data = tf.convert_to_tensor(data)
    shape = data.shape.as_list() if data.shape.rank is not None else None
    if shape is None or len(shape) < 2 or shape[0] is None or None in shape[-1:]:
        raise ValueError("%s: embedding outputs need a known [samples, ..., dims] shape, got %s" % (name, data.shape))
    n = shape[0]
    # Rows, labels and thumbnails checked now, on rows of the same count and width.
    dummy = np.zeros([n] + [1] * (len(shape) - 2) + [shape[-1]], np.float32)
    checked = embedding_lib.prepare(name, dummy, labels, class_names, columns, thumbnails)
    rows_shape = [n, shape[-1]]
    encoding_lib.check_size(rows_shape, max_values, name)
    if checked.images is not None:
        encoding_lib.check_size(checked.images.shape, max_values, name + " thumbnails")
    traced = kinds.Step(kinds.EMBEDDING, None, embedding_lib.fields(n, shape, checked.images is not None),
                        rows_shape, data.dtype.name, encoding)

    def build(values):
        prepared = embedding_lib.prepare(name, values, labels, class_names, columns, thumbnails)
        return embedding_lib.step(prepared, encoding=encoding, max_values=max_values)

    return _write(name, step, description, traced, data, build, count=3 if checked.images is not None else 2)


# ---- class statistics (kind "class_stats"; document and blobs in kinds/class_stats.py) ----


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
    tf = _tf()
    core.check_name(name)
    core.check_encoding(DEFAULT_ENCODING, None, description)
    items = list(layers.items()) if isinstance(layers, dict) else list(layers or [])
    given = (class_stats_lib.Moments, class_stats_lib.Reduced)  # numpy already: passed as they are
    inputs = {
        "labels": tf.convert_to_tensor(labels),
        "predictions": tf.convert_to_tensor(predictions),
        "layers": [tf.convert_to_tensor(v) for _, v in items if not isinstance(v, given)],
    }
    images = None if thumbnails is None else np.asarray(thumbnails)
    # Metadata: the names and layers known now (classes from the names, when given).
    names = class_stats_lib.check_class_names(class_names)
    extra = class_stats_lib.fields(classes or (len(names) if names else None), names, [path for path, _ in items],
                                   images is not None)
    traced = kinds.Step(kinds.CLASS_STATS, None, extra)

    def build(values):
        computed = iter(values["layers"])
        arrays = [(path, v if isinstance(v, given) else next(computed)) for path, v in items]
        return class_stats_lib.step(name, values["labels"], values["predictions"], arrays, class_names, classes,
                                    images)

    return _write(name, step, description, traced, inputs, build, count=2 if images is not None else 1)


# ---- attribution maps (kind "attribution"; layout of blobs and metadata in kinds/attribution.py) ----

_PER_SAMPLE = ("predicted_class", "true_class", "predicted_probability", "true_probability")


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
    tf = _tf()
    core.check_name(name)
    core.check_encoding(encoding, max_values, description)
    if not isinstance(maps, dict) or not maps:
        raise ValueError("%s: maps must be a non-empty dict {method: [samples, height, width] array}" % name)
    methods = [str(m) for m in maps]
    per_sample = {"predicted_class": predicted_class, "true_class": true_class,
                  "predicted_probability": predicted_probability, "true_probability": true_probability}
    errors = sorted((completeness_error or {}).items())
    optional = {"gradcam_raw": gradcam_raw, "images": images}
    convert = tf.convert_to_tensor
    inputs = {
        "maps": [convert(v) for v in maps.values()],
        "per_sample": {k: convert(v) for k, v in per_sample.items() if v is not None},
        "errors": [convert(v) for _, v in errors],
        "optional": {k: convert(v) for k, v in optional.items() if v is not None},
    }
    for method, tensor in zip(methods, inputs["maps"]):
        if not tensor.shape.is_fully_defined():
            raise ValueError("%s: map %r needs a fully known shape, got %s" % (name, method, tensor.shape.as_list()))

    def arguments(values):
        """`attribution_lib.validate`'s arguments from (numpy) `values` shaped as `inputs`."""
        return dict(
            maps=dict(zip(methods, values["maps"])),
            **{k: values["per_sample"].get(k) for k in _PER_SAMPLE},
            probabilities=probabilities, class_names=class_names,
            completeness_error={k: v for (k, _), v in zip(errors, values["errors"])} or None,
            gradcam_layer=gradcam_layer, settings=settings, tokens=tokens,
            gradcam_raw=values["optional"].get("gradcam_raw"), images=values["optional"].get("images"),
        )

    # Check everything now, at trace time, on zeros of the same shapes.
    zeros = tf.nest.map_structure(lambda t: np.zeros(t.shape.as_list(), np.float32), inputs)
    zeros["per_sample"] = {k: np.zeros(inputs["per_sample"][k].shape.as_list(),
                                       np.int64 if k.endswith("class") else np.float32) for k in zeros["per_sample"]}
    array, doc, _, _ = attribution_lib.validate(name, **arguments(zeros))
    encoding_lib.check_size(array.shape, max_values, name)
    traced = kinds.Step(kinds.ATTRIBUTION, None, attribution_lib.fields(array, doc), array.shape, "float32", encoding)

    def build(values):
        return attribution_lib.step(name, encoding=encoding, max_values=max_values, **arguments(values))

    return _write(name, step, description, traced, inputs, build)
