"""The pre-optimisation numerics (issue 14 item 3), kept verbatim as the reference.

`stats.compute`, `weights.weight_stats` and `encoding._quantize` were made
faster with the promise that every vector and payload stays bit for bit the
same. These are their previous implementations (straight numpy:
`np.histogram`, `.mean()`/`.std()`, masked min/max, `np.where` temporaries),
copied unchanged, so `tests/test_fast_numerics.py` can compare the two on
any input and `bench/bench_numerics.py` can time them side by side.
"""

import numpy as np

from tb_plugin.kinds.activation_stats import BINS, FIELDS, RELU_FAMILY, SATURATED_SHARE, SIGMOID_FAMILY, TANH_FAMILY
from tb_plugin.kinds.activation_stats import UNIT_DEAD, UNIT_SATURATED
from tb_plugin.kinds.weights import WEIGHT_STATS_BINS, WEIGHT_STATS_FIELDS
from tb_plugin.format.encoding import _FLOAT32_MAX, _NAN, _NEG_INF, _POS_INF, _channel_layout

def stats_compute(data, activation=None):
    """Computes the stats vector of one layer output.

    Args:
      data: the layer output, `[batch, ..., units]` (any real array).
      activation: the name of the layer's activation function (e.g. "relu"),
        or None when it is unknown or linear.

    Returns:
      A float64 vector laid out as the module docstring says.
    """
    values = np.asarray(data, dtype=np.float64)
    units = int(values.shape[-1]) if values.ndim else 1
    per_unit = values.reshape(-1, units) if units else np.zeros((0, 0))
    finite = np.isfinite(values)
    # All finite (the usual case): no masked copy.
    finite_values = values.ravel() if finite.all() else values[finite]
    record = dict.fromkeys(FIELDS, float("nan"))
    record["units"] = units
    record["nonfinite_count"] = values.size - finite_values.size
    record["zero_fraction"] = float(np.mean(values == 0)) if values.size else float("nan")
    if finite_values.size:
        record.update(
            mean=finite_values.mean(),
            std=finite_values.std(),
            min=finite_values.min(),
            max=finite_values.max(),
        )
        edges = np.linspace(record["min"], record["max"], BINS + 1)
        if record["max"] > record["min"]:
            # bins + range: numpy's fast uniform-bin path, the same edges and counts.
            counts, _ = np.histogram(finite_values, bins=BINS, range=(record["min"], record["max"]))
        else:
            counts, _ = np.histogram(finite_values, bins=edges)
    else:
        edges, counts = np.zeros(BINS + 1), np.zeros(BINS)
    flags = np.zeros(units)
    if activation in RELU_FAMILY:
        dead = ~(per_unit > 0).any(axis=0)
        flags[dead] = UNIT_DEAD
        record["dead_units"] = int(dead.sum())
        record["dead_fraction"] = dead.mean() if units else float("nan")
    elif activation in SIGMOID_FAMILY or activation in TANH_FAMILY:
        if activation in TANH_FAMILY:
            saturated_values = np.abs(per_unit) > 0.99
        else:
            saturated_values = (per_unit < 0.01) | (per_unit > 0.99)
        saturated = saturated_values.mean(axis=0) >= SATURATED_SHARE if per_unit.size else np.zeros(units, bool)
        flags[saturated] = UNIT_SATURATED
        record["saturated_units"] = int(saturated.sum())
        record["saturated_fraction"] = saturated.mean() if units else float("nan")
    head = np.array([record[name] for name in FIELDS], dtype=np.float64)
    return np.concatenate([head, edges, counts, flags]).astype(np.float64)


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


def _column_squares(m):
    """Per-column sums of squares of a 2-D float32/float64 array, in float64 (one float64 copy)."""
    m64 = m.astype(np.float64)
    np.square(m64, out=m64)
    return m64.sum(axis=0)


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
    all_finite = bool(np.isfinite(w64).all())
    finite = w64 if all_finite else w64[np.isfinite(w64)]
    record["nonfinite_count"] = w64.size - finite.size
    squares = float(np.dot(w64, w64))
    record["norm"] = float(np.sqrt(squares))
    if finite.size:
        lo, hi = float(finite.min()), float(finite.max())
        mean = float(finite.sum() / finite.size)
        fsq = squares if all_finite else float(np.dot(finite, finite))
        # std from the moments (no second pass): exact to float64 rounding for weights.
        record.update(mean=mean, std=float(np.sqrt(max(fsq / finite.size - mean * mean, 0.0))), min=lo, max=hi)
        edges = np.linspace(lo, hi, WEIGHT_STATS_BINS + 1)
        # bins + range: numpy's fast uniform-bin path, the same edges and counts.
        counts = (np.histogram(finite, bins=WEIGHT_STATS_BINS, range=(lo, hi))[0] if hi > lo
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


def _float32_range(array):
    """`array` as float64, finite values past the float32 range made +/-Inf."""
    values = np.asarray(array, dtype=np.float64)
    with np.errstate(over="ignore"):
        as32 = values.astype(np.float32)
    return np.where(np.isinf(as32), as32, values)


def quantize(array):
    channel_axis, channels = _channel_layout(array.shape, array.size)
    values = _float32_range(array).reshape(-1, channels)
    finite = np.isfinite(values)
    lo, hi = _finite_range(values, finite)
    lo32 = lo.astype(np.float32)
    scale32 = ((hi - lo32.astype(np.float64)) / 255.0).astype(np.float32)
    # Rounding scale to float32 may leave the channel maximum just past the
    # top level; widen the scale by an ulp until it fits, so max decodes
    # within half a level instead of being clipped.
    for _ in range(4):
        short = lo32.astype(np.float64) + 255.0 * scale32.astype(np.float64) < hi
        if not short.any():
            break
        scale32[short] = np.nextafter(scale32[short], np.float32(np.inf))
    # Near the float32 limit that widening can push the top level past it
    # (decoding to Inf); narrow back below it, which costs under an ulp.
    for _ in range(4):
        over = lo32.astype(np.float64) + 255.0 * scale32.astype(np.float64) > _FLOAT32_MAX
        if not over.any():
            break
        scale32[over] = np.nextafter(scale32[over], np.float32(0))
    lo64, scale64 = lo32.astype(np.float64), scale32.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        steps = np.where(scale64 > 0, (values - lo64) / np.where(scale64 > 0, scale64, 1.0), 0.0)
    codes = np.clip(np.rint(np.where(finite, steps, 0.0)), 0, 255).astype(np.uint8)
    flat = values.reshape(-1)
    bad = np.flatnonzero(~np.isfinite(flat))
    kinds = np.where(np.isnan(flat[bad]), _NAN, np.where(flat[bad] > 0, _POS_INF, _NEG_INF))
    body = b"".join(
        (
            lo32.astype("<f4").tobytes(),
            scale32.astype("<f4").tobytes(),
            bad.astype("<u4").tobytes(),
            kinds.astype(np.uint8).tobytes(),
            codes.tobytes(),
        )
    )
    return body, channel_axis, channels, int(bad.size)


def _finite_range(values, finite):
    """Per-column min and max of the finite values of a 2-D array (0, 0 if none)."""
    if not values.size:
        return np.zeros(values.shape[1]), np.zeros(values.shape[1])
    lo = np.where(finite, values, np.inf).min(axis=0)
    hi = np.where(finite, values, -np.inf).max(axis=0)
    empty = ~np.isfinite(lo)  # columns without a single finite value
    lo[empty], hi[empty] = 0.0, 0.0
    return lo, hi
