"""Embeddings: per-sample layer representations, their projections and scores (numpy only).

An embedding summary (kind `embedding`) stores one `[n, d]` matrix per step:
the chosen layer's outputs for n fixed, labelled samples, one row each.
Outputs of rank 3 and more (`[n, ..., d]`: conv maps, sequences) are
averaged over every axis between the sample axis and the last (for conv
layers, global average pooling over space), so a row has one value per
channel or unit (`as_rows`).

Blobs of one step (`LABELS_BLOB`, `THUMBNAILS_BLOB`), as for attention:

1. the matrix payload (`tb_plugin.format.encoding`; q8 quantises per dimension);
2. the samples' labels and metadata columns as UTF-8 JSON
   `{"labels": [...], "class_names": [...] | null, "columns": {name: [...]}}`
   with the tag's first write and again only when they change (else empty);
3. the samples' thumbnails `[n, h, w, c]` (an encoded payload), with the
   tag's first write that has them and again only when they change.

Its metadata adds `samples` (n), `source_shape` (the outputs' shape before
`as_rows`) and `thumbnails` (whether this write gave them): `fields`. `step`
builds one step for either writer door.

The backend projects each step on request (`projection_series`): PCA
(exact, from the SVD of the centred matrix), or t-SNE (scikit-learn) and
UMAP (umap-learn) where installed, initialised from the step before's
layout; each step rotated onto the
previous one (orthogonal Procrustes, no scaling) so that points move
smoothly instead of flipping, plus the numbers that tell when classes
separate: leave-one-out k-NN label accuracy in the full space and in the
projection, and the silhouette score in the full space (on a fixed subset
of `SCORE_SAMPLES` samples when there are more).
"""

import collections
import json
import os

import numpy as np

from tb_plugin import kinds
from tb_plugin.format import encoding as encoding_lib

KIND = kinds.EMBEDDING
LABELS_BLOB = KIND.blob("labels")
THUMBNAILS_BLOB = KIND.blob("thumbnails")
KNN_NEIGHBOURS = 5
# Scores (k-NN accuracy, silhouette) are O(n^2): above this many samples they
# are computed on a fixed, seeded subset of this size (the same at every step).
SCORE_SAMPLES = 2000
# Pairwise distances are computed in blocks of this many rows (memory: block x n floats).
_BLOCK = 512


def as_rows(data, name="embedding"):
    """`[n, ...]` layer outputs as an `[n, d]` float matrix (see module docstring).

    Raises:
      ValueError: fewer than 2 samples, a rank below 2, or no dimensions.
    """
    array = np.asarray(data)
    if array.ndim < 2:
        raise ValueError(
            "%s: outputs must be [samples, ...dims] with at least 2 axes, got shape %s; "
            "pass one row per sample" % (name, array.shape)
        )
    if array.shape[0] < 2 or array.shape[-1] < 1:
        raise ValueError(
            "%s: needs at least 2 samples and 1 dimension, got shape %s" % (name, array.shape)
        )
    if array.ndim > 2:
        with np.errstate(invalid="ignore", over="ignore"):
            array = array.astype(np.float64).mean(axis=tuple(range(1, array.ndim - 1)))
    return array


def labels_blob(labels, class_names, columns, n, name="embedding"):
    """Validates per-sample labels and metadata; returns the JSON-ready dict.

    Args:
      labels: None, or n class indices (ints) or n strings.
      class_names: None, or names of the class indices (a list of strings).
      columns: None, or `{column name: n values}` shown on hover.
      n: the number of samples.
    """
    doc = {"labels": None, "class_names": None, "columns": {}}
    if labels is not None:
        values = np.asarray(labels).reshape(-1).tolist()
        if len(values) != n:
            raise ValueError("%s: %d labels for %d samples; pass one label per sample" % (name, len(values), n))
        doc["labels"] = [v if isinstance(v, (int, str)) else str(v) for v in values]
    if class_names is not None:
        if isinstance(class_names, str):
            raise ValueError("%s: class_names must be a list of strings, not one string" % name)
        doc["class_names"] = [str(c) for c in class_names]
    if columns:
        if not isinstance(columns, dict):
            raise ValueError("%s: metadata columns must be a dict {name: [one value per sample]}" % name)
        for column, values in columns.items():
            values = list(values)
            if len(values) != n:
                raise ValueError(
                    "%s: metadata column %r has %d values for %d samples" % (name, column, len(values), n)
                )
            doc["columns"][str(column)] = [str(v) for v in values]
    return doc


def check_thumbnails(thumbnails, n, name="embedding"):
    """`thumbnails` as an `[n, h, w(, c)]` array, or None; ValueError naming the fix."""
    if thumbnails is None:
        return None
    images = np.asarray(thumbnails)
    if images.ndim not in (3, 4) or len(images) != n:
        raise ValueError(
            "%s: thumbnails must be [n, h, w] or [n, h, w, c] with n = %d samples, got shape %s"
            % (name, n, images.shape)
        )
    return images


def encode_labels(doc):
    return json.dumps(doc, sort_keys=True).encode("utf-8")


def fields(samples, source_shape, thumbnails):
    """The metadata fields of an embedding tag (unknown dimensions as -1)."""
    return {"samples": int(samples), "source_shape": [-1 if d is None else int(d) for d in source_shape],
            "thumbnails": bool(thumbnails)}


#: One embedding write, checked: the source outputs, their `[n, d]` rows, the
#: labels document (`labels_blob`) and the thumbnails array or None.
Prepared = collections.namedtuple("Prepared", "source rows doc images")


def prepare(name, data, labels=None, class_names=None, columns=None, thumbnails=None):
    """Checks one embedding write's arguments (see `tb_plugin.summary.Writer.embedding`).

    Raises:
      ValueError: bad rows, label or column counts, or thumbnails.
    """
    source = np.asarray(data)
    rows = as_rows(source, name)
    doc = labels_blob(labels, class_names, columns, len(rows), name)
    images = check_thumbnails(thumbnails, len(rows), name)
    return Prepared(source, rows, doc, images)


def step(prepared, *, encoding, max_values, memory=None):
    """One embedding step (`kinds.Step`) of a `prepare`d write, for either
    writer door. With a `memory` (the `Writer`) the labels and thumbnails
    are stored only when they change; without one, with every step."""
    doc_bytes = encode_labels(prepared.doc)
    images = prepared.images
    blobs = [
        encoding_lib.encode(prepared.rows, encoding, max_values),
        doc_bytes if memory is None or memory.changed("labels", doc_bytes) else b"",
        b"" if images is None or (memory is not None and not memory.changed("thumbnails", images))
        else encoding_lib.encode(images, "q8", max_values),
    ]
    extra = fields(len(prepared.rows), prepared.source.shape, images is not None)
    return kinds.Step(KIND, blobs, extra, prepared.rows.shape, prepared.source.dtype.name, encoding)


#: Projection methods, with the package each needs and the extra that installs it.
METHODS = {
    "pca": (None, None),
    "tsne": ("sklearn", "tsne"),
    "umap": ("umap", "umap"),
}
METHOD_NAMES = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}


def available_methods():
    """Methods `project_step` can compute here: "pca" always, "tsne" with
    scikit-learn, "umap" with umap-learn installed."""
    import importlib.util

    return tuple(m for m, (module, _) in METHODS.items() if module is None or importlib.util.find_spec(module) is not None)


def missing_method_message(method):
    """Why `method` cannot be computed here, naming the extra to install (or None)."""
    if method not in METHODS:
        return "unknown projection method %r; use one of %s" % (method, ", ".join(METHODS))
    if method in available_methods():
        return None
    module, extra = METHODS[method]
    return ("%s needs the %s package where TensorBoard runs: pip install 'tensorboard-plugin-internals[%s]'"
            % (METHOD_NAMES[method], "scikit-learn" if module == "sklearn" else "umap-learn", extra))


def _nonlinear(x, method, init):
    """t-SNE or UMAP of the rows of `x` (`[n, d]`, finite), from `init` (`[n, 2]`) when given.

    Deterministic (seed 0). A step initialised from the step before starts
    where that layout ended (t-SNE without early exaggeration and with fewer
    iterations: the layout is refined, not rebuilt), so points move only as
    far as the representation changed.
    """
    try:
        from threadpoolctl import threadpool_limits  # scikit-learn's own dependency
    except ImportError:  # pragma: no cover
        return _nonlinear_fit(x, method, init)
    # TensorBoard serves other requests meanwhile; OpenMP threads past half the
    # cores oversubscribe them (t-SNE of 120 points: 0.8 s on one thread, 8 s on
    # all of a loaded 2-core machine).
    with threadpool_limits(limits=max(1, min(4, (os.cpu_count() or 2) // 2))):
        return _nonlinear_fit(x, method, init)


def _nonlinear_fit(x, method, init):
    n = len(x)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(1.0, (n - 1) / 3.0)))
        if init is not None:
            # sklearn's own PCA initialisation: scaled to a std of 1e-4 along x.
            start = (init - init.mean(axis=0)) / max(float(np.std(init[:, 0])), 1e-12) * 1e-4
            model = TSNE(2, perplexity=perplexity, init=start, early_exaggeration=1.0, max_iter=400,
                         random_state=0)
        else:
            model = TSNE(2, perplexity=perplexity, init="pca", random_state=0)
        return model.fit_transform(x)
    import umap

    neighbours = int(min(15, n - 1))
    model = umap.UMAP(n_components=2, n_neighbors=max(2, neighbours), random_state=0,
                      init=init if init is not None and n > neighbours + 1 else "spectral" if n > neighbours + 1 else "random")
    return np.asarray(model.fit_transform(x), dtype=np.float64)


# ---- projections --------------------------------------------------------------------


def pca(x, k=2):
    """Projects the rows of `x` onto its top `k` principal components.

    Returns `(points [n, k], explained variance ratio [k])`. Component signs are
    fixed (each component's largest-magnitude loading positive) so that the
    same data always projects the same way.
    """
    x = np.asarray(x, dtype=np.float64)
    centred = x - x.mean(axis=0)
    if centred.shape[1] <= centred.shape[0]:
        # The eigenvectors of the d x d scatter matrix are the right singular
        # vectors (far cheaper than an SVD of the n x d matrix when n >> d).
        eigenvalues, vectors = np.linalg.eigh(centred.T @ centred)
        order = np.argsort(eigenvalues)[::-1]
        s = np.sqrt(np.maximum(eigenvalues[order], 0.0))
        vt = vectors[:, order].T
    else:
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
    k = min(k, vt.shape[0])
    components = vt[:k]
    signs = np.sign(components[np.arange(k), np.argmax(np.abs(components), axis=1)])
    signs[signs == 0] = 1.0
    components = components * signs[:, None]
    total = float((s ** 2).sum())
    ratio = (s[:k] ** 2) / total if total > 0 else np.zeros(k)
    points = centred @ components.T
    if points.shape[1] < 2:  # a 1-dimensional embedding still plots on a line
        points = np.hstack([points, np.zeros((points.shape[0], 2 - points.shape[1]))])
        ratio = np.concatenate([ratio, np.zeros(2 - len(ratio))])
    return points, ratio


def procrustes_rotation(reference, points):
    """The orthogonal matrix R minimising ||points @ R - reference|| (no scaling).

    Both are centred `[n, k]` point sets of the same samples in the same order.
    """
    u, _, vt = np.linalg.svd(np.asarray(points).T @ np.asarray(reference))
    return u @ vt


def knn_accuracy(x, labels, k=KNN_NEIGHBOURS):
    """Leave-one-out k-nearest-neighbour label accuracy (Euclidean).

    Each sample's label is predicted by the majority of its k nearest other
    samples (ties: the smallest label, as scikit-learn's classifier picks);
    returns the fraction predicted right, or None with fewer than 2 labels.
    """
    x = np.asarray(x, dtype=np.float64)
    labels = np.asarray(labels)
    n = len(x)
    if n < 2 or len(np.unique(labels)) < 2:
        return None
    classes, y = np.unique(labels, return_inverse=True)
    k = min(k, n - 1)
    squared = (x ** 2).sum(axis=1)
    correct = 0
    for start in range(0, n, _BLOCK):
        block = slice(start, min(n, start + _BLOCK))
        d = squared[block, None] + squared[None, :] - 2.0 * x[block] @ x.T
        d[np.arange(d.shape[0]), np.arange(block.start, block.stop)] = np.inf  # leave one out
        # The k nearest, in order of distance (argpartition, then sort only those).
        candidates = np.argpartition(d, k - 1, axis=1)[:, :k]
        nearest = np.take_along_axis(
            candidates, np.argsort(np.take_along_axis(d, candidates, axis=1), axis=1, kind="stable"), axis=1)
        votes = np.zeros((d.shape[0], len(classes)), dtype=np.int64)
        np.add.at(votes, (np.repeat(np.arange(d.shape[0]), k), y[nearest].reshape(-1)), 1)
        correct += int((votes.argmax(axis=1) == y[block]).sum())
    return correct / n


def silhouette(x, labels):
    """Mean silhouette coefficient over samples (Euclidean), as scikit-learn
    defines it: (b - a) / max(a, b) with a the mean distance to the sample's
    own class and b the smallest mean distance to another class; 0 for a
    sample alone in its class. None with fewer than 2 classes or n - 1 classes.
    """
    x = np.asarray(x, dtype=np.float64)
    classes, y = np.unique(np.asarray(labels), return_inverse=True)
    n = len(x)
    if len(classes) < 2 or len(classes) > n - 1:
        return None
    counts = np.bincount(y, minlength=len(classes)).astype(np.float64)
    squared = (x ** 2).sum(axis=1)
    scores = np.zeros(n)
    onehot = np.zeros((n, len(classes)))
    onehot[np.arange(n), y] = 1.0
    for start in range(0, n, _BLOCK):
        block = slice(start, min(n, start + _BLOCK))
        d = np.sqrt(np.maximum(squared[block, None] + squared[None, :] - 2.0 * x[block] @ x.T, 0.0))
        d[np.arange(d.shape[0]), np.arange(block.start, block.stop)] = 0.0
        sums = d @ onehot  # [block, classes]: summed distance to each class
        own = y[block]
        own_count = counts[own]
        a = np.where(own_count > 1, sums[np.arange(len(own)), own] / np.maximum(own_count - 1, 1), 0.0)
        means = sums / counts[None, :]
        means[np.arange(len(own)), own] = np.inf
        b = means.min(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = np.where(own_count > 1, (b - a) / np.maximum(a, b), 0.0)
        scores[block] = np.nan_to_num(s)
    return float(scores.mean())


def project_step(rows, labels=None, previous=None, method="pca"):
    """Projects one step's rows, rotated onto `previous` (the step before's
    aligned points, `[n, 2]`, NaN rows allowed) when given.

    Returns:
      `{"points": [n] of [x, y] or None, "explained_variance": [2],
      "finite_rows": int, "knn_accuracy": float|None,
      "knn_accuracy_projected": float|None, "silhouette": float|None}` and
      the aligned points as an `[n, 2]` array (NaN for rows left out). Rows
      with non-finite values are left out of the projection and counted.
    """
    message = missing_method_message(method)
    if message:
        raise ValueError(message)
    rows = np.asarray(rows, dtype=np.float64)
    finite = np.all(np.isfinite(rows), axis=1)
    points = np.full((len(rows), 2), np.nan)
    entry = {"finite_rows": int(finite.sum()), "explained_variance": [0.0, 0.0],
             "knn_accuracy": None, "knn_accuracy_projected": None, "silhouette": None}
    if finite.sum() >= 2:
        projected, ratio = pca(rows[finite], 2)
        if method != "pca":
            init = None
            if previous is not None and len(previous) == len(rows) and np.all(np.isfinite(previous[finite])):
                init = previous[finite]
            projected = _nonlinear(rows[finite], method, init) if finite.sum() >= 4 else projected
            projected = projected - projected.mean(axis=0)
            ratio = np.full(2, np.nan)
        if previous is not None and len(previous) == len(rows):
            both = finite & np.all(np.isfinite(previous), axis=1)
            if both.sum() >= 2:
                keep = both[finite]
                reference = previous[both] - previous[both].mean(axis=0)
                projected = projected @ procrustes_rotation(reference, projected[keep] - projected[keep].mean(axis=0))
        points[finite] = projected
        entry["explained_variance"] = [float(r) if np.isfinite(r) else None for r in ratio[:2]]
        if labels is not None and len(labels) == len(rows):
            scored = np.flatnonzero(finite)
            if len(scored) > SCORE_SAMPLES:
                scored = np.sort(np.random.default_rng(0).choice(scored, SCORE_SAMPLES, replace=False))
            kept = np.asarray(labels)[scored]
            entry["knn_accuracy"] = knn_accuracy(rows[scored], kept)
            entry["knn_accuracy_projected"] = knn_accuracy(points[scored], kept)
            entry["silhouette"] = silhouette(rows[scored], kept)
            entry["scored_samples"] = int(len(scored))
    entry["points"] = [None if not np.all(np.isfinite(p)) else [float(p[0]), float(p[1])] for p in points]
    return entry, points


def projection_series(steps_and_rows, labels=None, method="pca"):
    """`{step: project_step entry}`, each step aligned onto the one before.

    Args:
      steps_and_rows: iterable of `(step, [n, d] matrix)`, ascending by step,
        the same samples in the same order at every step.
      labels: the samples' labels (for the scores), or None.
      method: "pca", "tsne" or "umap" (`available_methods()`); t-SNE and
        UMAP start each step from the aligned layout of the step before.
    """
    result, previous = {}, None
    for step, rows in steps_and_rows:
        result[int(step)], previous = project_step(rows, labels, previous, method)
    return result
