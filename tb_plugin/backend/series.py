"""Per-tag numerics over steps, computed from decoded payloads (numpy only).

* `value_ranges`: per step, the finite minimum, maximum and 1st / 99th
  percentiles of an array tag (activations, weights, attention), for the
  whole tensor and per channel (last axis). The frontend's colour scales
  fixed over all steps and robust scales (layer-wide or per channel) read
  these instead of downloading every step.
* `weight_change`: per step, the relative change of a weights tag
  `||W_t - W_prev|| / ||W_prev||` (null at the first step), the change
  relative to the first step, and the Frobenius norm.

Both are computed once per (experiment, run, tag) and cached, keyed by the
tag's step list: a request after the first costs one (cached) step listing,
and new steps (a reload) recompute the answer. Payloads are read through the
backend's `data_access.Catalog` and decoded with `encoding.decode`; a step
whose payload is corrupt is left out and listed in `unreadable_steps`.
"""

import math
import threading

import numpy as np

from tb_plugin.backend import data_access
from tb_plugin.format import encoding, metadata
from tb_plugin.kinds import weights

# Kinds each series applies to.
RANGE_KINDS = metadata.ARRAY_KINDS
CHANGE_KINDS = (metadata.KIND_WEIGHTS,)

# Cached answers kept at most (oldest dropped first).
_MAX_CACHED = 512


def _finite_or_none(x):
    x = float(x)
    return x if math.isfinite(x) else None


def step_range(array):
    """`(min, max, p01, p99)` of the finite values of `array`, or Nones when it has none.

    The percentiles interpolate linearly between order statistics, as
    `np.percentile` does, found with one `np.partition` on the values as
    decoded (float32; about twice as fast as `np.percentile` on float64).
    """
    values = np.asarray(array).ravel()
    if values.dtype not in (np.float32, np.float64):
        values = values.astype(np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        values = values[finite]
    n = values.size
    if n == 0:
        return None, None, None, None
    positions = [(n - 1) * q / 100.0 for q in (1.0, 99.0)]
    kth = sorted({k for pos in positions for k in (int(math.floor(pos)), min(n - 1, int(math.floor(pos)) + 1))})
    part = np.partition(values, kth)
    pct = []
    for pos in positions:
        lo = int(math.floor(pos))
        hi = min(n - 1, lo + 1)
        a, b = float(part[lo]), float(part[hi])
        pct.append(a + (b - a) * (pos - lo))
    return float(values.min()), float(values.max()), pct[0], pct[1]


def channel_ranges(array):
    """Per channel (the last axis for rank >= 2, else one channel, as the
    frontend's per-channel colour scale counts them): lists of the finite
    min, max, 1st and 99th percentile (linear interpolation, as
    `np.percentile`), None for a channel without finite values."""
    a = np.asarray(array)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    columns = a.reshape(-1, a.shape[-1]) if a.ndim >= 2 else a.reshape(-1, 1)
    if columns.shape[0] == 0 or columns.shape[1] == 0:
        return [[None] * columns.shape[1] for _ in range(4)]
    if bool(np.isfinite(columns).all()):
        n = columns.shape[0]
        positions = [(n - 1) * q / 100.0 for q in (1.0, 99.0)]
        kth = sorted({k for pos in positions for k in (int(math.floor(pos)), min(n - 1, int(math.floor(pos)) + 1))})
        part = np.partition(columns, kth, axis=0).astype(np.float64)
        pct = []
        for pos in positions:
            lo = int(math.floor(pos))
            hi = min(n - 1, lo + 1)
            pct.append(part[lo] + (part[hi] - part[lo]) * (pos - lo))
        rows = (columns.min(axis=0), columns.max(axis=0), pct[0], pct[1])
        return [[float(v) for v in row] for row in rows]
    out = [[], [], [], []]
    for c in range(columns.shape[1]):  # non-finite values: channel by channel, finite ones only
        for row, v in zip(out, step_range(columns[:, c])):
            row.append(v)
    return out


def value_ranges(steps_and_arrays):
    """`{"steps", "min", "max", "p01", "p99", "channel_min", "channel_max",
    "channel_p01", "channel_p99"}` from `[(step, ndarray)]` (ascending); the
    channel entries hold one list per step (`channel_ranges`)."""
    keys = ("min", "max", "p01", "p99")
    out = {"steps": [], **{k: [] for k in keys}, **{"channel_" + k: [] for k in keys}}
    for step, array in steps_and_arrays:
        out["steps"].append(int(step))
        for k, v in zip(keys, step_range(array)):
            out[k].append(v)
        for k, v in zip(keys, channel_ranges(array)):
            out["channel_" + k].append(v)
    return out


def change_series(steps_and_arrays):
    """`{"steps", "relative_change", "relative_to_first", "norm"}` from `[(step, ndarray)]`.

    A step whose shape differs from the one before (or the first) has null
    there; non-finite results (e.g. a zero previous norm) are null too.
    """
    out = {"steps": [], "relative_change": [], "relative_to_first": [], "norm": []}
    previous = first = None
    for step, array in steps_and_arrays:
        array = np.asarray(array, dtype=np.float64)
        out["steps"].append(int(step))
        out["norm"].append(_finite_or_none(np.linalg.norm(array.ravel())))
        for key, base in (("relative_change", previous), ("relative_to_first", first)):
            if base is None or base.shape != array.shape:
                out[key].append(None)
            else:
                out[key].append(_finite_or_none(weights.relative_change(base, array)))
        previous = array
        if first is None:
            first = array
    return out


class SeriesCache:
    """Computes and caches the series of (experiment, run, tag), keyed by its steps."""

    def __init__(self, catalog):
        self._catalog = catalog
        self._lock = threading.Lock()
        self._cache = {}  # (name, experiment, run, tag) -> (steps tuple, answer)

    def _get(self, name, kinds, compute, ctx, experiment_id, run, tag):
        # Raises data_access.NotFound / WrongKind (answered 404 / 400).
        steps, _ = self._catalog.steps(ctx, experiment_id, run, tag, kinds)
        key = (name, experiment_id, run, tag)
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0] == tuple(steps):
            return hit[1]
        arrays, unreadable = [], []
        for step in steps:
            try:
                arrays.append((step, encoding.decode(self._catalog.read_payload(ctx, experiment_id, run, tag, step, kinds))))
            except (data_access.UnreadablePayload, encoding.DecodeError):
                unreadable.append(step)  # reported; the other steps still count
            except data_access.NotFound:
                continue  # a step without a payload
        answer = compute(arrays)
        answer["unreadable_steps"] = unreadable
        with self._lock:
            if len(self._cache) >= _MAX_CACHED:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = (tuple(steps), answer)
        return answer

    def ranges(self, ctx, experiment_id, run, tag):
        """`value_ranges` of an array tag. Raises NotFound, WrongKind."""
        return self._get("ranges", RANGE_KINDS, value_ranges, ctx, experiment_id, run, tag)

    def weight_change(self, ctx, experiment_id, run, tag):
        """`change_series` of a weights tag. Raises NotFound, WrongKind."""
        return self._get("weight_change", CHANGE_KINDS, change_series, ctx, experiment_id, run, tag)
