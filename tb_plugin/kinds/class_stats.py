"""Class statistics: the confusion matrix tied to per-class activations (numpy only).

A `class_stats` summary (kind `class_stats`, `metadata.py`) describes, at one
step, how a model treats a fixed labelled evaluation set: what it predicts,
and what each selected layer outputs per true class. `document(...)` builds
it from per-sample labels, predictions and layer outputs; everything below
is computed here, in float64, from those arrays.

Definitions (n samples, K classes, for one layer U units):

* **Confusion** `C[a][b]`: the number of samples of true class a predicted
  as class b (rows: true class, columns: predicted class).
* **Reduction** (`reduce_units`): an output `[n, u]` is used as is; an
  output of rank 3 or more `[n, ..., c]` (conv feature maps, sequences) is
  first averaged over every axis between the sample axis and the last, so
  a conv layer has one value per channel: its spatial mean
  ("reduction": "spatial_mean"); `[n]` is one unit.
* **Class mean and std** `mean[c][u]`, `std[c][u]`: mean and population
  standard deviation (ddof 0) over the samples of true class c; null for a
  class without samples.
* **Similarity** `S[a][b]`: cosine similarity of the class-mean vectors,
  `mean[a] . mean[b] / (|mean[a]| |mean[b]|)`; null when a mean is missing
  or all zeros.
* **Separability** of a layer, the Fisher ratio of between-class to
  within-class variance, summed over units:
  `fisher = sum_c n_c |mean_c - mean|^2 / sum_i |x_i - mean_{y_i}|^2`
  (mean: the mean over all samples), and the nearest-class-mean accuracy
  `ncm_accuracy`: the share of samples whose own class mean is the nearest
  (Euclidean) of all class means (resubstitution; a tie counts as a miss).
* **Pairwise separability** of classes a and b, the same two numbers on the
  samples of a and b only: `pair_fisher[a][b] = (n_a n_b / (n_a + n_b))
  |mean_a - mean_b|^2 / (W_a + W_b)` with `W_c = sum_{i in c} |x_i -
  mean_c|^2 = n_c sum_u std[c][u]^2` (the Fisher ratio of the two-class
  set), and `pair_ncm_accuracy[a][b]`: the share of the samples of a and b
  that are nearer their own class mean than the other's (a tie counts as
  half). Both are symmetric; where along the network they grow is where a
  and b part. The diagonal is null, and so is a ratio without within-class
  spread (infinite).
* **Clustering order** (`average_linkage_order`): the leaf order of
  average-linkage (UPGMA) hierarchical clustering of the classes on the
  distance `1 - S[a][b]` (a missing similarity counts as distance 1), with
  SciPy's leaf order (`leaves_list`: each merge's lower cluster id first);
  classes without samples go last. Confused groups sit together.

Document (UTF-8 JSON, `to_json`; computed in float64, every float written
as the shortest decimal that reads back to its float32 rounding, about 7
significant digits; NaN and infinities written null)::

    {"format": 1, "classes": K, "class_names": [...], "samples": n,
     "class_counts": [K], "accuracy": a, "confusion": [[K] x K],
     "misclassified": {"index": [...], "true": [...], "predicted": [...]},
     "thumbnails": bool,
     "layers": [{"path", "units", "source_shape", "reduction",
                 "mean": [[U] x K], "std": [[U] x K],
                 "similarity": [[K] x K], "order": [K],
                 "fisher", "ncm_accuracy",
                 "pair_fisher": [[K] x K], "pair_ncm_accuracy": [[K] x K]}]}

`misclassified.index` are the positions (in the evaluation set) of every
sample whose prediction is not its label. A layer given as precomputed
moments (`moments(mean, std, count)`) has no per-sample values: its
`ncm_accuracy` and `pair_ncm_accuracy` are null.
"""

import json
import math
import numbers

import numpy as np

from tb_plugin import kinds
from tb_plugin.format import encoding as encoding_lib

KIND = kinds.CLASS_STATS

FORMAT = 1
# Default number of evaluation samples (the first N of `ClassStatistics(data=)`).
DEFAULT_SAMPLES = 1000


# ---- inputs -------------------------------------------------------------------------


def class_indices(values, name, n=None):
    """Labels or predictions as int class indices `[n]`.

    Accepts class indices `[n]` (or `[n, 1]`), one-hot or score rows
    `[n, K]` (argmax), or a single sigmoid score per sample `[n, 1]` of
    floats in [0, 1] (> 0.5 is class 1).
    """
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        if array.dtype.kind == "f" and array.size and np.nanmin(array) >= 0 and np.nanmax(array) <= 1 and not np.all(
            array == np.round(array)
        ):
            return (array[:, 0] > 0.5).astype(np.int64)
        array = array[:, 0]
    if array.ndim == 2:
        if array.shape[1] == 0:
            raise ValueError("%s: rows of %d scores; pass class indices [n] or score rows [n, K]" % (name, 0))
        return np.argmax(np.where(np.isnan(array), -np.inf, array), axis=1).astype(np.int64)
    if array.ndim != 1:
        raise ValueError(
            "%s must be class indices [n] or one-hot / score rows [n, K], got shape %s" % (name, array.shape)
        )
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            raise ValueError("%s: class indices must be whole numbers, got non-integer values" % name)
    elif array.dtype.kind not in "iub":
        raise ValueError("%s: class indices must be integers, got dtype %s" % (name, array.dtype))
    array = array.astype(np.int64)
    if array.size and array.min() < 0:
        raise ValueError("%s: class indices must be >= 0, got %d" % (name, int(array.min())))
    if n is not None and len(array) != n:
        raise ValueError("%s: %d values for %d samples; pass one per sample" % (name, len(array), n))
    return array


def reduce_units(output, name="layer"):
    """`(features [n, U] float64, reduction)` of a layer output (module docstring)."""
    array = np.asarray(output)
    if array.ndim == 0:
        raise ValueError("%s: output has no sample axis (a scalar)" % name)
    if array.dtype.kind not in "biuf" and array.dtype.name != "bfloat16":
        raise ValueError("%s: output must be real numbers, got dtype %s" % (name, array.dtype))
    if array.ndim == 1:
        return array.astype(np.float64)[:, None], "none"
    if array.ndim == 2:
        return array.astype(np.float64), "none"
    with np.errstate(invalid="ignore", over="ignore"):
        return array.astype(np.float64).mean(axis=tuple(range(1, array.ndim - 1))), "spatial_mean"


class Moments:
    """Precomputed per-class statistics of one layer: `mean`, `std` `[K, U]`, `count` `[K]`."""

    def __init__(self, mean, std, count):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        self.count = np.asarray(count, dtype=np.float64).reshape(-1)


class Reduced:
    """A layer's outputs already reduced to `[n, U]` (e.g. per batch, to save memory), with the
    reduction applied ("none" or "spatial_mean") and the output's shape without the sample axis."""

    def __init__(self, features, reduction, source_shape):
        self.features = np.asarray(features, dtype=np.float64)
        self.reduction = str(reduction)
        self.source_shape = [int(d) for d in source_shape]


def moments(mean, std, count):
    """Precomputed per-class means and stds (population, ddof 0) of a layer, and
    the class sample counts, for `document(layers={path: moments(...)})`."""
    return Moments(mean, std, count)


# ---- statistics ---------------------------------------------------------------------


def confusion(labels, predictions, classes):
    """`C [K, K]` int64: `C[a, b]` samples of true class a predicted as b."""
    labels = np.asarray(labels, dtype=np.int64)
    predictions = np.asarray(predictions, dtype=np.int64)
    return np.bincount(labels * classes + predictions, minlength=classes * classes).reshape(classes, classes)


def class_moments(features, labels, classes):
    """`(mean [K, U], std [K, U], count [K])`; rows of empty classes are NaN."""
    x = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    count = np.bincount(labels, minlength=classes).astype(np.float64)
    sums = np.zeros((classes, x.shape[1]))
    np.add.at(sums, labels, x)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums / count[:, None]
    centred = x - mean[labels]
    squares = np.zeros((classes, x.shape[1]))
    np.add.at(squares, labels, centred * centred)
    with np.errstate(invalid="ignore", divide="ignore"):
        std = np.sqrt(squares / count[:, None])
    return mean, std, count


def cosine_similarity(mean):
    """`S [K, K]`: cosine similarity of the class means; NaN where undefined."""
    m = np.asarray(mean, dtype=np.float64)
    norms = np.sqrt(np.sum(m * m, axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        s = (m @ m.T) / np.outer(norms, norms)
    bad = ~np.isfinite(norms) | (norms == 0)
    s[bad, :] = np.nan
    s[:, bad] = np.nan
    return np.clip(s, -1.0, 1.0)


def fisher_ratio(mean, std, count):
    """Between-class over within-class variance (module docstring), from moments."""
    mean, std, count = np.asarray(mean), np.asarray(std), np.asarray(count, dtype=np.float64)
    have = count > 0
    if have.sum() < 2:
        return float("nan")
    total = count[have].sum()
    grand = (count[have, None] * mean[have]).sum(axis=0) / total
    between = float(np.sum(count[have] * np.sum((mean[have] - grand) ** 2, axis=1)))
    within = float(np.sum(count[have] * np.sum(std[have] ** 2, axis=1)))
    if within == 0:
        return float("inf") if between > 0 else float("nan")
    return between / within


def pair_fisher(mean, std, count):
    """`F [K, K]`: the Fisher ratio of each two-class set (module docstring); NaN diagonal."""
    mean, std, count = np.asarray(mean), np.asarray(std), np.asarray(count, dtype=np.float64)
    sq = np.sum(mean * mean, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * mean @ mean.T, 0.0)
    within_c = count * np.sum(std * std, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = np.outer(count, count) / (count[:, None] + count[None, :])
        f = weight * d2 / (within_c[:, None] + within_c[None, :])
    f[(d2 > 0) & (within_c[:, None] + within_c[None, :] == 0)] = np.inf
    empty = count == 0
    f[empty, :] = np.nan
    f[:, empty] = np.nan
    np.fill_diagonal(f, np.nan)
    return f


def _mean_distances(features, mean):
    """Squared Euclidean distances `[n, K]` of each sample to each class mean (inf: no mean)."""
    x = np.asarray(features, dtype=np.float64)
    d = np.sum(x * x, axis=1)[:, None] + np.sum(mean * mean, axis=1)[None, :] - 2 * x @ np.nan_to_num(mean).T
    d = np.maximum(d, 0.0)
    d[:, ~np.all(np.isfinite(mean), axis=1)] = np.inf
    return d


def ncm_accuracy(features, labels, mean):
    """Share of samples whose own class mean is strictly the nearest one."""
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return float("nan")
    d = _mean_distances(features, mean)
    own = d[np.arange(len(labels)), labels]
    others = d.copy()
    others[np.arange(len(labels)), labels] = np.inf
    return float(np.mean(own < others.min(axis=1)))


def pair_ncm_accuracy(features, labels, mean):
    """`A [K, K]`: nearest-of-two-class-means accuracy on the samples of a and b (ties: half)."""
    labels = np.asarray(labels, dtype=np.int64)
    classes = len(mean)
    d = _mean_distances(features, mean)
    own = d[np.arange(len(labels)), labels]
    # hits[a, b]: samples of a nearer mean_a than mean_b (ties half).
    score = (own[:, None] < d).astype(np.float64) + 0.5 * (own[:, None] == d)
    hits = np.zeros((classes, classes))
    np.add.at(hits, labels, score)
    count = np.bincount(labels, minlength=classes).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = (hits + hits.T) / (count[:, None] + count[None, :])
    missing = (count == 0) | ~np.all(np.isfinite(mean), axis=1)
    acc[missing, :] = np.nan
    acc[:, missing] = np.nan
    np.fill_diagonal(acc, np.nan)
    return acc


def average_linkage_order(similarity):
    """Leaf order of average-linkage clustering on `1 - similarity` (module docstring).

    Returns a list of K class indices. Classes whose similarity row is all
    NaN (no samples) come last, in index order.
    """
    s = np.asarray(similarity, dtype=np.float64)
    k = len(s)
    present = [i for i in range(k) if np.isfinite(s[i, i])]
    absent = [i for i in range(k) if not np.isfinite(s[i, i])]
    if len(present) <= 2:
        return present + absent
    dist = 1.0 - s[np.ix_(present, present)]
    dist[~np.isfinite(dist)] = 1.0
    dist = (dist + dist.T) / 2
    m = len(present)
    # A matrix over slots; a merge puts the new cluster in the lower slot and retires the other.
    d = dist.copy()
    np.fill_diagonal(d, np.inf)
    slot_id = list(range(m))  # slot -> the cluster id it holds (leaves 0..m-1, merges m, m+1, ...)
    sizes = np.ones(m)
    children = {}
    for next_id in range(m, 2 * m - 1):
        flat = int(np.argmin(d))
        i, j = divmod(flat, m)
        i, j = min(i, j), max(i, j)
        a, b = slot_id[i], slot_id[j]
        children[next_id] = (min(a, b), max(a, b))
        merged = (sizes[i] * d[i] + sizes[j] * d[j]) / (sizes[i] + sizes[j])
        d[i, :] = merged
        d[:, i] = merged
        d[i, i] = np.inf
        d[j, :] = np.inf
        d[:, j] = np.inf
        sizes[i] += sizes[j]
        slot_id[i] = next_id
    ids = [2 * m - 2]
    order, stack = [], [ids[0]]
    while stack:
        node = stack.pop()
        if node < m:
            order.append(present[node])
        else:
            left, right = children[node]
            stack.extend((right, left))
    return order + absent


def layer_stats(path, values, labels, classes):
    """The statistics of one layer (a dict of the document's `layers` entry, numpy values).

    `values`: the layer's outputs for the n samples (reduced by
    `reduce_units`), or a `Moments` of precomputed statistics.
    """
    if isinstance(values, Moments):
        mean, std, count = values.mean, values.std, values.count
        if mean.ndim != 2 or mean.shape[0] != classes or std.shape != mean.shape or count.shape != (classes,):
            raise ValueError(
                "layer %r: precomputed moments need mean and std of shape [K, U] = [%d, U] and count [%d], got "
                "%s, %s, %s" % (path, classes, classes, mean.shape, std.shape, count.shape)
            )
        source_shape, reduction, features = list(mean.shape[1:]), "precomputed", None
    else:
        if isinstance(values, Reduced):
            features, reduction, source_shape = values.features, values.reduction, values.source_shape
        else:
            array = np.asarray(values)
            features, reduction = reduce_units(array, "layer %r" % path)
            source_shape = [int(d) for d in array.shape[1:]]
        if features.ndim != 2:
            raise ValueError("layer %r: reduced outputs must be [n, units], got shape %s" % (path, features.shape))
        if len(features) != len(labels):
            raise ValueError(
                "layer %r: %d samples of outputs for %d labels; pass the outputs of the same samples"
                % (path, len(features), len(labels))
            )
        mean, std, count = class_moments(features, labels, classes)
    similarity = cosine_similarity(mean)
    entry = {
        "path": str(path),
        "units": int(mean.shape[1]),
        "source_shape": source_shape,
        "reduction": reduction,
        "mean": mean,
        "std": std,
        "similarity": similarity,
        "order": average_linkage_order(similarity),
        "fisher": fisher_ratio(mean, std, count),
        "pair_fisher": pair_fisher(mean, std, count),
        "ncm_accuracy": None if features is None else ncm_accuracy(features, labels, mean),
        "pair_ncm_accuracy": None if features is None else pair_ncm_accuracy(features, labels, mean),
    }
    return entry


def check_class_names(class_names, classes=None):
    """`class_names` as a list of strings (None stays None); ValueError naming the fix."""
    if class_names is None:
        return None
    if isinstance(class_names, (str, bytes)):
        raise ValueError("class_names must be a list of strings (one per class), not one string")
    names = [str(c) for c in class_names]
    if not names:
        raise ValueError("class_names is empty; pass one name per class, or None")
    if classes is not None and len(names) < classes:
        raise ValueError(
            "class_names has %d names but the data have %d classes (class indices up to %d); pass one name per class"
            % (len(names), classes, classes - 1)
        )
    return names


def document(labels, predictions, layers, class_names=None, classes=None, thumbnails=False):
    """The class statistics document of one step (module docstring), as a dict.

    Args:
      labels: true classes of the n evaluation samples (indices or one-hot).
      predictions: the model's classes or scores for them (argmax taken).
      layers: `{path: outputs [n, ...]}` or `{path: moments(...)}`, in
        network order (a list of pairs also works).
      class_names: optional names; their count sets K when given.
      classes: K (default: the names, else the largest index + 1).
      thumbnails: whether the summary also carries sample thumbnails.

    Raises:
      ValueError: mismatched sample counts, bad labels, or too few names.
    """
    y = class_indices(labels, "labels")
    p = class_indices(predictions, "predictions", len(y))
    if len(y) == 0:
        raise ValueError("labels: no samples; pass at least one labelled sample")
    names = check_class_names(class_names)
    needed = int(max(y.max(), p.max())) + 1
    if classes is None:
        classes = len(names) if names is not None else needed
    if isinstance(classes, bool) or not isinstance(classes, numbers.Integral) or classes < 1:
        raise ValueError("classes must be a positive int, got %r" % (classes,))
    if needed > classes:
        raise ValueError(
            "a class index %d is out of range for %d classes%s" % (
                needed - 1, classes,
                " (class_names has %d names; pass one name per class)" % len(names) if names is not None
                else "; pass classes=K with K above every label and prediction")
        )
    names = check_class_names(names, classes)
    items = list(layers.items()) if isinstance(layers, dict) else list(layers or [])
    c = confusion(y, p, classes)
    wrong = np.nonzero(y != p)[0]
    doc = {
        "format": FORMAT,
        "classes": int(classes),
        "class_names": names[:classes] if names is not None else [str(i) for i in range(classes)],
        "samples": int(len(y)),
        "class_counts": np.bincount(y, minlength=classes).tolist(),
        "accuracy": float(np.mean(y == p)),
        "confusion": c.tolist(),
        "misclassified": {"index": wrong.tolist(), "true": y[wrong].tolist(), "predicted": p[wrong].tolist()},
        "thumbnails": bool(thumbnails),
        "layers": [layer_stats(path, values, y, classes) for path, values in items],
    }
    return doc


# ---- JSON -----------------------------------------------------------------------------


def _float32_list(array):
    """Nested lists of float32's shortest round-trip decimals (None for NaN/inf)."""
    a = np.asarray(array, dtype=np.float32)
    if a.ndim == 0:
        v = float(a)
        return float(np.format_float_positional(a, unique=True, trim="-")) if math.isfinite(v) else None
    return [_float32_list(row) for row in a]


def _json_value(v):
    if isinstance(v, np.ndarray):
        return [_json_value(x) for x in v.tolist()] if v.ndim else _json_value(v.item())
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    if isinstance(v, dict):
        return {k: _json_value(x) for k, x in v.items()}
    if isinstance(v, (float, np.floating)):
        return _f32(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def to_json(doc):
    """The document as compact UTF-8 JSON bytes (floats as float32 decimals, NaN as null)."""
    out = dict(doc)
    out["layers"] = []
    for layer in doc["layers"]:
        entry = {k: _json_value(v) for k, v in layer.items() if k not in ("mean", "std")}
        entry["mean"] = _float32_list(layer["mean"])
        entry["std"] = _float32_list(layer["std"])
        out["layers"].append(entry)
    out = {k: (v if k == "layers" else _json_value(v)) for k, v in out.items()}
    return json.dumps(out, separators=(",", ":"), allow_nan=False, sort_keys=True).encode("utf-8")


def estimate_bytes(classes, units):
    """Bytes of a document with K classes and layers of `units` (a list), before compression."""
    per_layer = sum(2 * classes * u * 11 + 3 * classes * classes * 11 + 200 for u in units)
    return int(classes * classes * 6 + per_layer + 400)


# ---- reading (backend) ------------------------------------------------------------------


def parse(payload):
    """The document from its JSON bytes; ValueError when it is not one."""
    doc = json.loads(bytes(payload).decode("utf-8"))
    if not isinstance(doc, dict) or not isinstance(doc.get("layers"), list) or not isinstance(doc.get("classes"), int):
        raise ValueError("not a class statistics document")
    k = doc["classes"]
    if not all(isinstance(layer, dict) and isinstance(layer.get("mean"), list) and len(layer["mean"]) == k
               and isinstance(layer.get("std"), list) and len(layer["std"]) == k for layer in doc["layers"]):
        raise ValueError("a layer entry is not [K] class means and stds")
    if not isinstance(doc.get("confusion"), list) or len(doc["confusion"]) != k:
        raise ValueError("no K x K confusion matrix")
    if doc.get("format", 0) > FORMAT:
        raise ValueError(
            "class statistics document format %r is newer than this release reads (%d): upgrade "
            "tensorboard-plugin-internals" % (doc.get("format"), FORMAT)
        )
    return doc


def overview(doc):
    """The document without per-unit means and stds (what the confusion view draws first)."""
    out = {k: v for k, v in doc.items() if k != "layers"}
    out["layers"] = [{k: v for k, v in layer.items() if k not in ("mean", "std")} for layer in doc["layers"]]
    return out


def pair(doc, a, b):
    """Per layer the class-mean profiles of a and b, their difference and separability,
    and the misclassified samples of a predicted as b."""
    k = doc["classes"]
    for name, v in (("a", a), ("b", b)):
        if not 0 <= v < k:
            raise IndexError("%s=%d is not a class index (0 to %d)" % (name, v, k - 1))
    layers = []
    for layer in doc["layers"]:
        ma, mb = layer["mean"][a], layer["mean"][b]
        diff = None
        if ma is not None and mb is not None and len(ma) == len(mb):
            diff = [None if x is None or y is None else _f32(x - y) for x, y in zip(ma, mb)]
        pf = layer.get("pair_fisher")
        pn = layer.get("pair_ncm_accuracy")
        layers.append({
            "path": layer["path"], "units": layer["units"], "reduction": layer["reduction"],
            "source_shape": layer.get("source_shape"),
            "mean_a": ma, "mean_b": mb, "std_a": layer["std"][a], "std_b": layer["std"][b], "difference": diff,
            "similarity": layer["similarity"][a][b],
            "pair_fisher": pf[a][b] if pf else None,
            "pair_ncm_accuracy": pn[a][b] if pn else None,
        })
    mis = doc.get("misclassified") or {}
    samples = [i for i, t, p in zip(mis.get("index", []), mis.get("true", []), mis.get("predicted", []))
               if t == a and p == b]
    if a == b:
        samples = []
    return {"a": a, "b": b, "class_names": doc.get("class_names"), "count": doc["confusion"][a][b],
            "class_counts": [doc["class_counts"][a], doc["class_counts"][b]], "samples": samples,
            "thumbnails": bool(doc.get("thumbnails")), "layers": layers}


def _f32(x):
    with np.errstate(over="ignore"):
        v = np.float32(x)
    return float(np.format_float_positional(v, unique=True, trim="-")) if np.isfinite(v) else None


# ---- one step, for both doors of tb_plugin.summary ---------------------------------------

DOCUMENT_BLOB = KIND.blob("document")
THUMBNAILS_BLOB = KIND.blob("thumbnails")


def fields(classes, class_names, layers, thumbnails, samples=None):
    """The metadata fields of a class_stats tag: K (None if not known yet),
    the class names, the layer paths, whether thumbnails were given, and
    the sample count when known."""
    extra = {"classes": classes, "class_names": class_names, "layers": [str(path) for path in layers],
             "thumbnails": bool(thumbnails)}
    if samples is not None:
        extra["samples"] = int(samples)
    return extra


def prepare(name, labels, predictions, layers=None, class_names=None, classes=None, thumbnails=None):
    """`(document JSON bytes, thumbnails array or None, metadata extra)` of one step.

    Summary blobs: 0 the document (`to_json`); 1 the thumbnails `[n, h, w(,
    c)]` of the evaluation samples' inputs (an encoded payload, values in
    [0, 1] or [0, 255]), stored with a tag's first step and again only when
    they change (else empty).

    Raises:
      ValueError: naming `name`, the argument and the fix.
    """
    from tb_plugin.kinds import embedding as embedding_lib  # numpy only

    try:
        doc = document(labels, predictions, layers or {}, class_names=class_names, classes=classes,
                       thumbnails=thumbnails is not None)
        images = embedding_lib.check_thumbnails(thumbnails, doc["samples"], name)
    except ValueError as e:
        raise ValueError("%s: %s" % (name, e)) from None
    extra = fields(doc["classes"], doc["class_names"], [layer["path"] for layer in doc["layers"]],
                   images is not None, samples=doc["samples"])
    return to_json(doc), images, extra


def step(name, labels, predictions, layers=None, class_names=None, classes=None, thumbnails=None, memory=None):
    """One class_stats step (`kinds.Step`) for either writer door; arguments
    as `tb_plugin.summary.Writer.class_stats`. With a `memory` (the `Writer`)
    the thumbnails are stored only when they change; without one, with
    every step."""
    doc_bytes, images, extra = prepare(name, labels, predictions, layers, class_names, classes, thumbnails)
    blobs = [
        doc_bytes,
        b"" if images is None or (memory is not None and not memory.changed("thumbnails", images))
        else encoding_lib.encode(images, "q8", None),
    ]
    return kinds.Step(KIND, blobs, extra)
