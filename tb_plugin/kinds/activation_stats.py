"""Statistics of a layer's activations: the numbers behind the stats charts.

One statistics record is a float64 vector with a fixed layout, so that a
whole series of them is one TensorBoard tensor time series:

    FIELDS (len(FIELDS) values), histogram edges (BINS + 1),
    histogram counts (BINS), unit flags (one per unit)

Units are the entries of the last axis (channels of a conv output, units of
a dense output). A unit flag is 0 (healthy), 1 (dead) or 2 (saturated).

* dead unit: for ReLU-family activations (relu, relu6, leaky_relu), a unit
  whose output is never positive anywhere in the probe batch.
* saturated unit: for sigmoid-family (sigmoid, hard_sigmoid: below 0.01 or
  above 0.99) and tanh (|y| above 0.99) activations, a unit whose outputs are
  saturated for at least `SATURATED_SHARE` of its probe values.

The dead and saturated fields are NaN where they do not apply.
"""

import numpy as np

from tb_plugin import kinds
from tb_plugin.format import encoding as encoding_lib

KIND = kinds.ACTIVATION_STATS

FIELDS = (
    "mean",
    "std",
    "min",
    "max",
    "zero_fraction",
    "nonfinite_count",
    "units",
    "dead_units",
    "dead_fraction",
    "saturated_units",
    "saturated_fraction",
)
BINS = 30
SATURATED_SHARE = 0.99
UNIT_OK, UNIT_DEAD, UNIT_SATURATED = 0, 1, 2

RELU_FAMILY = ("relu", "relu6", "leaky_relu")
SIGMOID_FAMILY = ("sigmoid", "hard_sigmoid")
TANH_FAMILY = ("tanh",)


def vector_length(units):
    """Length of a stats vector for a layer with `units` units."""
    return len(FIELDS) + (BINS + 1) + BINS + int(units)


def compute(data, activation=None):
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
    flat = values.reshape(-1)
    record = dict.fromkeys(FIELDS, float("nan"))
    record["units"] = units
    lo = hi = float("nan")
    if flat.size:
        lo, hi = flat.min(), flat.max()  # NaN propagates: both finite means every value is
    if np.isfinite(lo) and np.isfinite(hi):
        finite_values = flat  # the usual case: no mask, no masked copy
    else:
        finite_values = flat[np.isfinite(flat)]
        if finite_values.size:
            lo, hi = finite_values.min(), finite_values.max()
    record["nonfinite_count"] = values.size - finite_values.size
    # The count is exact in float64, so this is np.mean(values == 0) bit for bit.
    record["zero_fraction"] = np.count_nonzero(flat == 0) / flat.size if flat.size else float("nan")
    if finite_values.size:
        mean, std = mean_std(finite_values)
        record.update(mean=mean, std=std, min=lo, max=hi)
        edges = np.linspace(lo, hi, BINS + 1)
        if hi > lo:
            counts = uniform_counts(finite_values, lo, hi, edges)
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


def mean_std(values):
    """`(values.mean(), values.std())` of a 1-D float64 array, bit for bit, in two passes instead of three.

    numpy's `std` sums the values again for the mean, then the squared
    deviations; this reuses the mean and squares the deviations in place.
    """
    n = values.size
    mean = values.sum() / n
    deviations = values - mean
    np.multiply(deviations, deviations, out=deviations)
    return mean, np.sqrt(deviations.sum() / n)


_BLOCK = 1 << 15  # values per block: the temporaries stay in cache


def uniform_counts(values, lo, hi, edges):
    """`np.histogram(values, bins=len(edges) - 1, range=(lo, hi))[0]`, the same counts, faster.

    Every value must lie in `[lo, hi]` with `lo < hi` (e.g. the min and max of
    finite values) and `edges` must be `np.linspace(lo, hi, bins + 1)`. The
    same arithmetic as numpy's uniform-bin path (bin index from
    `(x - lo) / (hi - lo) * bins`, then moved by one where the float64 edges
    say otherwise: a value equal to an edge goes to the bin it opens, the last
    bin is closed), without its range mask, with fewer temporaries, in place.
    """
    bins = len(edges) - 1
    last = bins - 1
    denom = hi - lo
    lower = np.ascontiguousarray(edges[:-1], np.float64)
    # The upper edge of each bin, +inf for the last one: it is closed (numpy
    # never moves a value up out of it), and no finite value reaches +inf.
    upper = np.append(np.asarray(edges[1:-1], np.float64), np.inf)
    counts = np.zeros(bins, np.intp)
    for start in range(0, values.size, _BLOCK):
        block = values[start:start + _BLOCK]
        f = np.subtract(block, lo)
        f /= denom
        f *= bins
        index = f.astype(np.intp)
        np.minimum(index, last, out=index)  # values equal to hi
        index -= block < lower.take(index)
        index += block >= upper.take(index)
        counts += np.bincount(index, minlength=bins)
    return counts


def unpack(vector):
    """Splits a stats vector into a dict: FIELDS, `edges`, `counts`, `flags`."""
    vector = np.asarray(vector, dtype=np.float64)
    n = len(FIELDS)
    result = {name: float(vector[i]) for i, name in enumerate(FIELDS)}
    result["edges"] = vector[n:n + BINS + 1]
    result["counts"] = vector[n + BINS + 1:n + 2 * BINS + 1]
    result["flags"] = vector[n + 2 * BINS + 1:]
    return result


def _finite_or_none(x):
    return float(x) if np.isfinite(x) else None


def series_json(datums):
    """JSON-ready dict of a statistics series (TensorDatum list by step).

    `{"steps", "wall_times", <each FIELD>: [per step], "histograms":
    [{"edges", "counts"}], "dead_unit_indices": [[unit...]], "saturated_unit_indices":
    [[unit...]], "unreadable_steps": [steps whose vector is malformed]}`; NaN
    (not applicable) becomes null.
    """
    readable, unreadable = [], []
    for d in datums:
        vector = d.numpy
        if (vector is None or vector.ndim != 1 or vector.dtype.kind != "f"
                or len(vector) < vector_length(0) or not np.all(np.isfinite(vector[len(FIELDS):]))):
            unreadable.append(d.step)  # not written by this plugin's writer: reported, not guessed at
        else:
            readable.append(d)
    datums = readable
    result = {"steps": [d.step for d in datums], "wall_times": [d.wall_time for d in datums],
              "unreadable_steps": unreadable}
    unpacked = [unpack(d.numpy) for d in datums]
    for name in FIELDS:
        result[name] = [_finite_or_none(u[name]) for u in unpacked]
    result["histograms"] = [
        {"edges": [float(e) for e in u["edges"]], "counts": [int(c) for c in u["counts"]]} for u in unpacked
    ]
    result["dead_unit_indices"] = [np.flatnonzero(u["flags"] == UNIT_DEAD).tolist() for u in unpacked]
    result["saturated_unit_indices"] = [np.flatnonzero(u["flags"] == UNIT_SATURATED).tolist() for u in unpacked]
    return result


def step(data, activation=None, source_tag=None):
    """One `activation_stats` step for the writer: the `compute` vector of a
    layer output, with its layout and fields (`activation`, the
    `source_tag` of the activations it describes)."""
    vector = compute(encoding_lib.as_float_array(data), activation)
    return kinds.Step(KIND, vector, {"fields": FIELDS, "bins": BINS, "units": len(vector) - vector_length(0),
                                     "activation": activation, "source_tag": source_tag})
