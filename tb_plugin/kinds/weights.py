"""Weights: what each layer learned, and how it changed.

Numpy analysis shared by the logging core, the backend and the tests (no
framework import; the model summary document is built by
`tb_plugin.core.logger.model_summary` from the framework's adapter):

* `as_matrix(w)`: a variable as a 2-D `[inputs, outputs]` matrix (conv
  kernels `[kh, kw, in, out]` as `[kh*kw*in, out]`).
* `relative_change(previous, current)`: `||W_t - W_(t-1)|| / ||W_(t-1)||`.
* `pca(w)`: explained-variance ratios and principal axes of the rows of
  `as_matrix(w).T` (one row per output unit / filter).
* `prune(w, fraction)`: magnitude pruning, with the fractions of weights and
  of the Frobenius norm kept.

The browser computes the same figures (frontend/views/weights_math.js); the
tests check both against independent numpy computations.
"""

import numpy as np

from tb_plugin import kinds
from tb_plugin.kinds import activation_stats as stats
from tb_plugin.kinds import activations as activations_lib

KIND = kinds.WEIGHTS
WEIGHTS_PREFIX = KIND.tag
MODEL_SUMMARY_TAG = kinds.MODEL_SUMMARY.tag


def as_matrix(w):
    """A variable as `[inputs, outputs]`: the last axis is the output units.

    Rank 0 and 1 give one row; rank >= 2 folds every leading axis into the
    inputs (a conv kernel `[kh, kw, in, out]` gives `[kh*kw*in, out]`).
    """
    w = np.asarray(w, dtype=np.float64)
    if w.ndim == 0:
        return w.reshape(1, 1)
    if w.ndim == 1:
        return w.reshape(1, -1)
    return w.reshape(-1, w.shape[-1])


def relative_change(previous, current):
    """`||current - previous|| / ||previous||` (Frobenius); inf when ||previous|| is 0 and they differ."""
    previous = np.asarray(previous, dtype=np.float64)
    current = np.asarray(current, dtype=np.float64)
    delta = np.linalg.norm((current - previous).ravel())
    base = np.linalg.norm(previous.ravel())
    if base == 0:
        return 0.0 if delta == 0 else float("inf")
    return float(delta / base)


def pca(w, components=None):
    """PCA of the output units of `w` (each filter / column a sample).

    Samples are the columns of `as_matrix(w)` (one per output unit), centred
    by their mean; features are the inputs.

    Returns:
      `(ratios, axes)`: explained-variance ratios, descending, summing to 1
      (all zeros when the units do not vary), and the principal axes as rows
      `[k, inputs]`, each with its largest-magnitude entry positive.
    """
    m = as_matrix(w).T  # [outputs, inputs]
    m = m - m.mean(axis=0, keepdims=True)
    _, s, vt = np.linalg.svd(m, full_matrices=False)
    variance = s**2
    total = variance.sum()
    ratios = variance / total if total > 0 else np.zeros_like(variance)
    for k in range(vt.shape[0]):
        j = np.argmax(np.abs(vt[k]))
        if vt[k, j] < 0:
            vt[k] = -vt[k]
    if components is not None:
        ratios, vt = ratios[:components], vt[:components]
    return ratios, vt


def prune(w, fraction):
    """Magnitude pruning: zero the `fraction` of weights with the smallest |w|.

    Exactly `floor(fraction * n)` weights are removed (ties broken by
    position, first ones first); NaN counts as the largest magnitude.

    Returns:
      `(kept, weights_kept, norm_kept)`: the pruned array, the fraction of
      weights kept and the fraction of the Frobenius norm kept
      (`||kept|| / ||w||`, 1 for an all-zero `w`).
    """
    w = np.asarray(w, dtype=np.float64)
    flat = w.ravel()
    n = flat.size
    removed = int(np.floor(float(fraction) * n + 1e-9))
    removed = min(max(removed, 0), n)
    magnitude = np.where(np.isnan(flat), np.inf, np.abs(flat))
    order = np.argsort(magnitude, kind="stable")
    mask = np.ones(n, dtype=bool)
    mask[order[:removed]] = False
    kept = np.where(mask, flat, 0.0).reshape(w.shape)
    norm = np.linalg.norm(flat)
    norm_kept = float(np.linalg.norm(kept.ravel()) / norm) if norm > 0 else 1.0
    return kept, (n - removed) / n if n else 1.0, norm_kept


def sparsity(w, threshold):
    """Fraction of weights with |w| < threshold (NaN never counts)."""
    w = np.asarray(w, dtype=np.float64)
    return float(np.count_nonzero(np.abs(w) < threshold) / w.size) if w.size else 0.0


# ---- exact weight-change series (kind "weight_stats") ----

WEIGHT_STATS_PREFIX = kinds.WEIGHT_STATS.tag
WEIGHT_STATS_FIELDS = (
    "relative_change",  # ||W_t - W_prev|| / ||W_prev|| (previous snapshot; NaN at the first)
    "update_ratio",  # ||W_t - W_before_last_batch|| / ||W_t|| (the last batch's update; NaN if unknown)
    "norm",  # ||W_t||
    "mean",
    "std",
    "min",
    "max",
    "max_abs_change",  # max |W_t - W_prev|
    "nonfinite_count",
    "units",
)
WEIGHT_STATS_BINS = 30


def weight_stats_length(units):
    return len(WEIGHT_STATS_FIELDS) + 2 * WEIGHT_STATS_BINS + 1 + int(units)


def _matrix32(w):
    """`as_matrix` without a float64 copy (a view when `w` is float32 already)."""
    w = np.asarray(w)
    if w.dtype != np.float32 and w.dtype != np.float64:
        w = w.astype(np.float64)
    if w.ndim == 0:
        return w.reshape(1, 1)
    if w.ndim == 1:
        return w.reshape(1, -1)
    return w.reshape(-1, w.shape[-1])


def _sum_squares(a):
    """Sum of squares accumulated in float64 (pairwise), from float32 or float64 values."""
    return float(np.add.reduce(np.square(a, dtype=np.float64).ravel()))


def _column_squares(m):
    """Per-column sums of squares of a 2-D float32/float64 array, in float64 (one float64 temporary)."""
    return np.square(m, dtype=np.float64).sum(axis=0)  # cast and square in one pass


def weight_stats(current, previous=None, before_last_batch=None):
    """The exact change series record of one variable at one snapshot.

    From the values in memory, accumulated in float64: differences of
    float32 values are taken in float32 (exact for nearby values, else
    within half a float32 ulp), squares and sums in float64. Layout: FIELDS,
    histogram edges (BINS + 1, min to max of W_t), counts (BINS), then the
    per-output-unit relative change `||dW[:, j]|| / ||W_prev[:, j]||` over
    the columns of `as_matrix` (one per output unit; NaN at the first
    snapshot, inf for a unit that moved from all zeros). `update_ratio` is
    NaN when the variables before the last batch are unknown (an epoch of
    unknown length).
    """
    w = _matrix32(current)
    units = w.shape[1]
    record = dict.fromkeys(WEIGHT_STATS_FIELDS, float("nan"))
    record["units"] = units
    # One float64 copy of W_t serves every sum and the histogram (numpy bins
    # float32 values with a range of Python floats in float32, which would put
    # values near an edge in the neighbouring bin of the float64 edges logged).
    w64 = w.astype(np.float64).ravel()
    # NaN propagates through min and max: both finite means every value is (no mask pass).
    extremes = (float(w64.min()), float(w64.max())) if w64.size else (0.0, 0.0)
    all_finite = bool(np.isfinite(extremes[0]) and np.isfinite(extremes[1]))
    finite = w64 if all_finite else w64[np.isfinite(w64)]
    record["nonfinite_count"] = w64.size - finite.size
    squares = float(np.dot(w64, w64))
    record["norm"] = float(np.sqrt(squares))
    if finite.size:
        lo, hi = extremes if all_finite else (float(finite.min()), float(finite.max()))
        mean = float(finite.sum() / finite.size)
        fsq = squares if all_finite else float(np.dot(finite, finite))
        # std from the moments (no second pass): exact to float64 rounding for weights.
        record.update(mean=mean, std=float(np.sqrt(max(fsq / finite.size - mean * mean, 0.0))), min=lo, max=hi)
        edges = np.linspace(lo, hi, WEIGHT_STATS_BINS + 1)
        # numpy's uniform-bin counts (stats.uniform_counts: the same counts, faster).
        counts = (stats.uniform_counts(finite, lo, hi, edges) if hi > lo
                  else np.histogram(finite, bins=edges)[0])
    else:
        edges, counts = np.zeros(WEIGHT_STATS_BINS + 1), np.zeros(WEIGHT_STATS_BINS)
    del w64, finite
    per_unit = np.full(units, np.nan)
    if previous is not None:
        p = _matrix32(previous)
        d = w - p
        record["max_abs_change"] = float(max(d.max(), -d.min())) if d.size else 0.0
        num = _column_squares(d)
        den = _column_squares(p)
        del d
        delta, base = np.sqrt(num.sum()), np.sqrt(den.sum())
        record["relative_change"] = (0.0 if delta == 0 else float("inf")) if base == 0 else float(delta / base)
        num, den = np.sqrt(num), np.sqrt(den)
        with np.errstate(divide="ignore", invalid="ignore"):
            per_unit = np.where(den > 0, num / np.where(den > 0, den, 1), np.where(num > 0, np.inf, 0.0))
    if before_last_batch is not None:
        b = (w - _matrix32(before_last_batch)).astype(np.float64).ravel()
        delta = float(np.sqrt(np.dot(b, b)))
        del b
        norm = record["norm"]
        record["update_ratio"] = delta / norm if norm > 0 else (0.0 if delta == 0 else float("inf"))
    head = np.array([record[f] for f in WEIGHT_STATS_FIELDS], np.float64)
    return np.concatenate([head, np.asarray(edges, np.float64), counts, per_unit]).astype(np.float64)


def unpack_weight_stats(vector):
    vector = np.asarray(vector, np.float64)
    n, b = len(WEIGHT_STATS_FIELDS), WEIGHT_STATS_BINS
    out = {f: float(vector[i]) for i, f in enumerate(WEIGHT_STATS_FIELDS)}
    out["edges"] = vector[n:n + b + 1]
    out["counts"] = vector[n + b + 1:n + 2 * b + 1]
    out["unit_change"] = vector[n + 2 * b + 1:]
    return out


def weight_stats_json(datums):
    """JSON-ready dict of a variable's exact change series (`TensorDatum`s by step).

    `{"steps", "wall_times", <each WEIGHT_STATS_FIELDS>: [per step],
    "unreadable_steps": [steps whose vector is malformed]}`; NaN (e.g. the
    change at the first snapshot, an unknown update ratio) and infinities
    become null. The histograms and per-unit changes stay in the event file
    (`reader`): a chart needs the scalars only.
    """
    out = {"steps": [], "wall_times": [], "unreadable_steps": []}
    for f in WEIGHT_STATS_FIELDS:
        out[f] = []
    for d in sorted(datums, key=lambda d: d.step):
        vector = d.numpy
        if vector is None or vector.ndim != 1 or vector.dtype.kind != "f" or len(vector) < weight_stats_length(0):
            out["unreadable_steps"].append(int(d.step))  # not written by this plugin's callback
            continue
        out["steps"].append(int(d.step))
        out["wall_times"].append(float(d.wall_time))
        for i, f in enumerate(WEIGHT_STATS_FIELDS):
            v = float(vector[i])
            out[f].append(v if np.isfinite(v) else None)
    return out


# ---- one step of each kind, for the writer doors (tb_plugin.summary) ----


def fields(layer=None, layer_class=None):
    """The metadata fields of a `weights` tag: the layer path and class the variable belongs to."""
    return {"layer": layer, "layer_class": layer_class}


def step(data, encoding, max_values, layer=None, layer_class=None):
    """One `weights` step: the variable's values as one encoded array (`kinds.activations.array_step`)."""
    return activations_lib.array_step(KIND, data, encoding, max_values, fields(layer, layer_class))


def stats_step(value, previous=None, before_last=None, source_tag=None, layer=None, layer_class=None):
    """One `weight_stats` step: the `weight_stats` vector and its layout and fields."""
    vector = weight_stats(value, previous, before_last)
    return kinds.Step(kinds.WEIGHT_STATS, vector, {
        "fields": WEIGHT_STATS_FIELDS, "bins": WEIGHT_STATS_BINS, "units": len(vector) - weight_stats_length(0),
        "source_tag": source_tag, "layer": layer, "layer_class": layer_class})


def model_summary_step(document):
    """One `model_summary` step: the layer list (`model_summary`) as a JSON document."""
    return kinds.document_step(kinds.MODEL_SUMMARY, document)
