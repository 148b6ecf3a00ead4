"""Attribution maps: layout, validation and checks of a logged step (numpy only).

An attribution summary (kind `attribution`) answers "where in this input is
the evidence for class c?" for each probe sample, by one or more methods,
for the sample's true class and for its predicted class. One step holds
these blobs (`DOC_BLOB`, `GRADCAM_RAW_BLOB`, `IMAGES_BLOB`; `step` builds one for
either writer door):

0. the maps `[samples, targets, height, width, methods]` (an encoded
   payload, `tb_plugin.format.encoding`; q8 quantises per method, the last axis,
   so each method keeps its own range), every map at the input's size;
1. the side document, UTF-8 JSON, every step::

       {"methods": ["gradcam", "saliency", ...],   # the last axis, in order
        "targets": ["true", "predicted"],          # the second axis
        "true_class": [..] | null, "predicted_class": [..],
        "true_probability": [..] | null, "predicted_probability": [..],
        "probabilities": true,     # the model outputs probabilities (else scores)
        "class_names": [..] | null,
        "completeness_error": {"true": [..], "predicted": [..]} | null,
        "gradcam_layer": "conv3" | null, "gradcam_shape": [h, w] | null,
        "score": "logit" | "output", ...method settings}

2. the Grad-CAM maps at the layer's own resolution `[samples, targets, h,
   w]` (f32 payload), or empty bytes;
3. the probe inputs `[samples, height, width, channels]` (q8 payload) with
   the tag's first step and again only when they change, else empty.

**Token layout** (text and sequence models, `tokens=` given): the maps are
`[samples, targets, tokens, methods]` (one score per token: integrated
gradients over the embedding output, summed over the embedding dimension),
the side document adds `"layout": "tokens"` and `"tokens": [[label, ...],
...]` (one list per sample, one label per token position), and blobs 2 and
3 are empty. Image steps have no `layout` key (read it as "image").

What each method's map is (`METHOD_MEANING`): Grad-CAM (Selvaraju et al.
2017) `ReLU(sum_k alpha_k A_k)` with `alpha_k` the spatial mean of the
class score's gradient over channel k of the layer output A, bilinearly
upsampled (half-pixel centres) to the input size; saliency: the largest
absolute input gradient over the input's channels; SmoothGrad: the mean of
the saliency maps of noisy copies of the input; integrated gradients:
`(x - baseline) * mean gradient along the straight path`, summed over the
input's channels (signed; completeness: the map sums to `f(x) -
f(baseline)`, the error of that is logged per sample).
"""

import json

import numpy as np

from tb_plugin import kinds
from tb_plugin.format import encoding as encoding_lib

KIND = kinds.ATTRIBUTION
DOC_BLOB = KIND.blob("document")
GRADCAM_RAW_BLOB = KIND.blob("gradcam_raw")
IMAGES_BLOB = KIND.blob("images")

METHODS = ("gradcam", "saliency", "smoothgrad", "integrated_gradients")
TARGETS = ("true", "predicted")
METHOD_MEANING = {
    "gradcam": "Grad-CAM: ReLU of the gradient-weighted channels of the layer output, upsampled to the input",
    "saliency": "gradients: max over input channels of |d score / d input|",
    "smoothgrad": "SmoothGrad: mean saliency over noisy copies of the input",
    "integrated_gradients": "integrated gradients: (x - baseline) x mean path gradient, summed over channels",
}
# Methods whose maps are signed (the others are >= 0).
SIGNED_METHODS = ("integrated_gradients",)


def _per_sample(values, n, what, name, integer=False, allow_none=True):
    if values is None:
        if allow_none:
            return None
        raise ValueError("%s: %s is required (one value per sample)" % (name, what))
    array = np.asarray(values).reshape(-1)
    if len(array) != n:
        raise ValueError("%s: %s has %d values for %d samples; pass one per sample" % (name, what, len(array), n))
    if integer:
        if not np.all(np.isfinite(array.astype(np.float64))) or np.any(array.astype(np.float64) != np.round(array.astype(np.float64))):
            raise ValueError("%s: %s must be class indices (integers), got %r" % (name, what, array[:8].tolist()))
        return [int(v) for v in array]
    return [float(v) for v in array.astype(np.float64)]


def validate(
    name,
    maps,
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
):
    """Checks user attribution maps; returns `(array, doc, gradcam_raw, images)`.

    Args:
      name: the tag (for messages).
      maps: `{method: map}` with each map `[samples, height, width]` (one
        target: the predicted class, or the true class when it is the only
        one) or `[samples, targets, height, width]` (targets: true class,
        then predicted class, when `true_class` is given), methods from
        `METHODS` (other names are allowed: they show as they are named).
      predicted_class: the predicted class index per sample.
      true_class: the true class index per sample, or None.
      predicted_probability, true_probability: per sample, or None.
      probabilities: the values above are probabilities (else scores).
      class_names: optional names of the class indices.
      completeness_error: optional `{"true": [...], "predicted": [...]}`
        (integrated gradients), per sample.
      gradcam_raw: optional Grad-CAM at the layer's resolution `[samples,
        (targets,) h, w]`.
      gradcam_layer: the layer Grad-CAM used.
      images: optional `[samples, height, width(, channels)]` inputs.
      settings: optional dict of JSON-ready method settings.
      tokens: the token layout (see the module docstring): the token labels,
        one list of strings per sample or one list shared by all; then each
        map is `[samples, tokens]` or `[samples, targets, tokens]` and
        `images`, `gradcam_raw` must be None.

    Raises:
      ValueError: naming the problem and the fix.
    """
    if not isinstance(maps, dict) or not maps:
        raise ValueError("%s: maps must be a non-empty dict {method: [samples, height, width] array}" % name)
    methods = [str(m) for m in maps]
    targets = list(TARGETS) if true_class is not None else ["predicted"]
    if tokens is not None:
        return _validate_tokens(name, maps, methods, targets, tokens, images, gradcam_raw, dict(
            predicted_class=predicted_class, true_class=true_class, predicted_probability=predicted_probability,
            true_probability=true_probability, probabilities=probabilities, class_names=class_names,
            completeness_error=completeness_error, gradcam_layer=gradcam_layer, settings=settings))
    arrays = []
    shape = None
    for method, value in maps.items():
        array = np.asarray(value, dtype=np.float32)
        if array.ndim == 3:
            array = array[:, None]
        if array.ndim != 4:
            raise ValueError(
                "%s: map %r must be [samples, height, width] or [samples, targets, height, width], got shape %s"
                % (name, method, array.shape))
        if array.shape[1] != len(targets):
            raise ValueError(
                "%s: map %r has %d targets but %s: pass [samples, %d, height, width] (%s)"
                % (name, method, array.shape[1], "true_class is given" if true_class is not None else "no true_class",
                   len(targets), " then ".join(targets)))
        if shape is not None and array.shape != shape:
            raise ValueError("%s: map %r has shape %s, the others %s; pass every map at the input's size"
                             % (name, method, array.shape, shape))
        shape = array.shape
        arrays.append(array)
    n = shape[0]
    if n < 1 or shape[2] < 1 or shape[3] < 1:
        raise ValueError("%s: maps need at least one sample and one pixel, got shape %s" % (name, shape))
    array = np.stack(arrays, axis=-1)
    doc = {
        "methods": methods,
        "targets": targets,
        "predicted_class": _per_sample(predicted_class, n, "predicted_class", name, integer=True, allow_none=False),
        "true_class": _per_sample(true_class, n, "true_class", name, integer=True),
        "predicted_probability": _per_sample(predicted_probability, n, "predicted_probability", name),
        "true_probability": _per_sample(true_probability, n, "true_probability", name),
        "probabilities": bool(probabilities),
        "class_names": None,
        "completeness_error": None,
        "gradcam_layer": None if gradcam_layer is None else str(gradcam_layer),
        "gradcam_shape": None,
    }
    if doc["true_probability"] is not None and doc["true_class"] is None:
        raise ValueError("%s: true_probability needs true_class" % name)
    if class_names is not None:
        if isinstance(class_names, str):
            raise ValueError("%s: class_names must be a list of strings, not one string" % name)
        doc["class_names"] = [str(c) for c in class_names]
    if completeness_error is not None:
        if not isinstance(completeness_error, dict) or set(completeness_error) - set(targets):
            raise ValueError("%s: completeness_error must be a dict {target: [per sample]} with targets %s"
                             % (name, targets))
        doc["completeness_error"] = {t: _per_sample(v, n, "completeness_error[%r]" % t, name)
                                     for t, v in completeness_error.items()}
    raw = None
    if gradcam_raw is not None:
        raw = np.asarray(gradcam_raw, dtype=np.float32)
        if raw.ndim == 3:
            raw = raw[:, None]
        if raw.ndim != 4 or raw.shape[:2] != (n, len(targets)):
            raise ValueError("%s: gradcam_raw must be [samples, (targets,) h, w] with %d samples and %d targets, "
                             "got shape %s" % (name, n, len(targets), raw.shape))
        doc["gradcam_shape"] = [int(raw.shape[2]), int(raw.shape[3])]
    picture = None
    if images is not None:
        picture = np.asarray(images)
        if picture.ndim == 3:
            picture = picture[..., None]
        if picture.ndim != 4 or picture.shape[0] != n or picture.shape[1:3] != shape[2:4] or picture.shape[3] not in (1, 3, 4):
            raise ValueError("%s: images must be [samples, height, width(, 1|3|4 channels)] matching the maps "
                             "(%d samples of %dx%d), got shape %s" % (name, n, shape[2], shape[3], picture.shape))
        picture = picture.astype(np.float32)
    if settings:
        for key, value in settings.items():
            doc.setdefault(key, value)
    return array, doc, raw, picture


def _token_labels(name, tokens, n, length):
    if isinstance(tokens, (str, bytes)):
        raise ValueError("%s: tokens must be a list of token labels (or one list per sample), not one string" % name)
    tokens = list(tokens)
    if tokens and all(isinstance(t, (list, tuple, np.ndarray)) for t in tokens):
        rows = [[str(v) for v in t] for t in tokens]
        if len(rows) != n:
            raise ValueError("%s: tokens has %d label lists for %d samples; pass one per sample (or one shared list)"
                             % (name, len(rows), n))
    else:
        rows = [[str(v) for v in tokens]] * n
    bad = [i for i, r in enumerate(rows) if len(r) != length]
    if bad:
        raise ValueError("%s: tokens of sample %d has %d labels for %d token positions; pass one label per token"
                         % (name, bad[0], len(rows[bad[0]]), length))
    return rows


def _validate_tokens(name, maps, methods, targets, tokens, images, gradcam_raw, rest):
    """The token layout of `validate`: maps `[samples, (targets,) tokens]`."""
    if images is not None or gradcam_raw is not None:
        raise ValueError("%s: token maps (tokens= given) take no images or gradcam_raw; drop them" % name)
    arrays, shape = [], None
    for method, value in maps.items():
        array = np.asarray(value, dtype=np.float32)
        if array.ndim == 2:
            array = array[:, None]
        if array.ndim != 3 or array.shape[1] != len(targets):
            raise ValueError("%s: token map %r must be [samples, tokens] or [samples, %d, tokens] (%s), got shape %s"
                             % (name, method, len(targets), " then ".join(targets), array.shape))
        if shape is not None and array.shape != shape:
            raise ValueError("%s: token map %r has shape %s, the others %s" % (name, method, array.shape, shape))
        shape = array.shape
        arrays.append(array)
    if shape[0] < 1 or shape[2] < 1:
        raise ValueError("%s: token maps need at least one sample and one token, got shape %s" % (name, shape))
    labels = _token_labels(name, tokens, shape[0], shape[2])
    # Reuse the image checks on a [samples, targets, tokens, 1] view (per-sample fields, classes, settings).
    _, doc, _, _ = validate(name, {m: a[..., None] for m, a in zip(methods, arrays)}, **rest)
    doc["layout"] = "tokens"
    doc["tokens"] = labels
    return np.stack(arrays, axis=-1), doc, None, None


def encode_doc(doc):
    return json.dumps(doc, sort_keys=True).encode("utf-8")


def fields(array, doc):
    """The metadata fields of an attribution tag, from `validate`'s maps and document."""
    return {"methods": doc["methods"], "targets": doc["targets"], "samples": int(array.shape[0]),
            "gradcam_layer": doc["gradcam_layer"], "layout": doc.get("layout", "image")}


def step(name, maps, *, encoding, max_values, memory=None, **arguments):
    """One attribution step (`kinds.Step`) for either writer door; `arguments`
    as `validate`. With a `memory` (the `Writer`) the probe images are stored
    only when they change; without one, with every step.

    Raises:
      ValueError: as `validate`, or too many values.
    """
    array, doc, raw, images = validate(name, maps, **arguments)
    blobs = [
        encoding_lib.encode(array, encoding, max_values),
        encode_doc(doc),
        b"" if raw is None else encoding_lib.encode(raw, "f32", max_values),
        b"" if images is None or (memory is not None and not memory.changed("images", images))
        else encoding_lib.encode(images, "q8", max_values),
    ]
    return kinds.Step(KIND, blobs, fields(array, doc), array.shape, array.dtype.name, encoding)


def positive_mass_in_box(saliency_map, box):
    """The share of a map's positive mass inside `box` = (top, left, bottom, right), exclusive ends.

    A map without positive mass says nothing about where the evidence is: it
    counts as chance (the box's share of the map).
    """
    m = np.maximum(np.asarray(saliency_map, dtype=np.float64), 0)
    top, left, bottom, right = (int(v) for v in box)
    total = m.sum()
    if not np.isfinite(total) or total <= 0:
        return (bottom - top) * (right - left) / float(m.size)
    return float(m[top:bottom, left:right].sum() / total)


def spearman(a, b):
    """Spearman rank correlation of two arrays (average ranks for ties), numpy only."""
    def ranks(v):
        v = np.asarray(v, dtype=np.float64).reshape(-1)
        order = np.argsort(v, kind="mergesort")
        r = np.empty(len(v))
        r[order] = np.arange(len(v))
        # average the ranks of ties
        _, inverse, counts = np.unique(v, return_inverse=True, return_counts=True)
        sums = np.bincount(inverse, weights=r)
        return sums[inverse] / counts[inverse]
    ra, rb = ranks(a), ranks(b)
    ra -= ra.mean()
    rb -= rb.mean()
    denominator = np.sqrt((ra ** 2).sum() * (rb ** 2).sum())
    return float((ra * rb).sum() / denominator) if denominator > 0 else 0.0
