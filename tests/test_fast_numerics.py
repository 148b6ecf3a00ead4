"""The faster statistics, change series and q8 quantisation give the same bits as before.

Each fast path is compared byte for byte against the previous straight-numpy
implementation (`tests/reference_numerics.py`, kept verbatim) and, for the
histogram counts, against `np.histogram` itself, on random, constant,
NaN/Inf-containing, tiny, large and edge-hitting arrays.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reference_numerics as reference  # noqa: E402

from tb_plugin.format import encoding  # noqa: E402
from tb_plugin.kinds import activation_stats as stats, weights


def _same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes(), "differs at %s" % np.flatnonzero(a.view(np.uint8) != b.view(np.uint8))[:10]


def _arrays():
    rng = np.random.default_rng(14)
    normal = rng.standard_normal((4, 9, 9, 16)).astype(np.float32)
    with_bad = normal.copy()
    with_bad[0, 0, 0, :3] = [np.nan, np.inf, -np.inf]
    with_bad[1, 2, 3, 5] = np.nan
    relu = np.maximum(rng.standard_normal((8, 6, 6, 32)), 0).astype(np.float32)
    # Integers 0..30 with 30 bins over [0, 30]: every value sits exactly on an edge.
    on_edges = rng.integers(0, 31, size=(500, 20)).astype(np.float32)
    # Values one float64 ulp either side of every edge of [-1, 1].
    edges = np.linspace(-1.0, 1.0, stats.BINS + 1)
    near = np.concatenate([edges, np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf)])
    near = np.clip(near, -1.0, 1.0).reshape(-1, 1)
    big64 = rng.standard_normal((3, 40)) * 1e39  # float64 past float32's range
    big64[0, 0] = 3.0e38
    return {
        "normal": normal,
        "normal64": rng.standard_normal((64, 33)),
        "with_nan_inf": with_bad,
        "all_nan": np.full((4, 20), np.nan, np.float32),
        "only_inf": np.array([[np.inf, -np.inf]] * 20, np.float32),
        "relu": relu,
        "on_edges": on_edges,
        "near_edges": near,
        "constant": np.full((16, 8), 2.5, np.float32),
        "constant_channel": np.concatenate([np.zeros((40, 1)), rng.random((40, 3))], axis=1).astype(np.float32),
        "empty": np.zeros((0, 5), np.float32),
        "scalar": np.float32(3.0),
        "one": np.array([-7.25], np.float32),
        "tiny_2x2": np.array([[1.0, 2.0], [3.0, 4.0]], np.float32),
        "denormal": (rng.random((32, 4)) * 1e-42).astype(np.float32),
        "huge_float32": np.array([[np.finfo(np.float32).max, -np.finfo(np.float32).max, 0.0]] * 20, np.float32),
        "big_float64": big64,
        "ints": rng.integers(-5, 5, size=(30, 17)),
        # Several histogram blocks (1 << 15 values each) and a ragged last one.
        "large": (rng.standard_normal(3 * (1 << 15) + 123) * 3).astype(np.float32).reshape(-1, 1),
    }


ARRAYS = _arrays()


def test_the_data_exercises_the_edge_rules():
    """Guards the test data itself: values exactly on interior and last edges, and past the blocks."""
    x = ARRAYS["on_edges"].astype(np.float64).ravel()
    edges = np.linspace(x.min(), x.max(), stats.BINS + 1)
    assert np.isin(edges[1:-1], x).all() and (x == edges[-1]).any()
    assert ARRAYS["large"].size > 3 * stats._BLOCK


@pytest.mark.parametrize("name", sorted(ARRAYS))
def test_uniform_counts_match_numpy_histogram(name):
    x = np.asarray(ARRAYS[name], np.float64).ravel()
    x = x[np.isfinite(x)]
    if not x.size or x.max() == x.min():
        pytest.skip("no uniform range")
    lo, hi = x.min(), x.max()
    edges = np.linspace(lo, hi, stats.BINS + 1)
    expected = np.histogram(x, bins=stats.BINS, range=(lo, hi))[0]
    got = stats.uniform_counts(x, lo, hi, edges)
    _same_bits(got, expected)
    # And the definition: edges[i] <= x < edges[i + 1], the last bin closed.
    by_definition = [
        np.count_nonzero((x >= edges[i]) & ((x < edges[i + 1]) if i < stats.BINS - 1 else (x <= edges[i + 1])))
        for i in range(stats.BINS)
    ]
    assert got.tolist() == by_definition


def test_uniform_counts_on_values_a_ulp_from_every_edge_of_a_wide_range():
    rng = np.random.default_rng(3)
    for lo, hi in [(-1e300, 1e300), (1e-300, 2e-300), (-3.0, 1e-12), (0.1, 0.7)]:
        edges = np.linspace(lo, hi, stats.BINS + 1)
        x = np.concatenate([edges, np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf), rng.uniform(lo, hi, 500)])
        x = np.clip(x, lo, hi)
        _same_bits(stats.uniform_counts(x, lo, hi, edges), np.histogram(x, bins=stats.BINS, range=(lo, hi))[0])


@pytest.mark.parametrize("activation", [None, "relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("name", sorted(ARRAYS))
def test_stats_compute_is_bit_identical(name, activation):
    data = ARRAYS[name]
    with np.errstate(all="ignore"):
        expected = reference.stats_compute(data, activation)
    _same_bits(stats.compute(data, activation), expected)


def test_mean_std_match_numpy_bit_for_bit():
    rng = np.random.default_rng(5)
    for x in [rng.standard_normal(100_003) * 1e3 + 7, np.array([1.0]), np.full(77, 0.1), rng.random(65_537)]:
        mean, std = stats.mean_std(x)
        _same_bits(mean, x.mean())
        _same_bits(std, x.std())


@pytest.mark.parametrize("name", sorted(n for n in ARRAYS if np.ndim(ARRAYS[n]) >= 1))
def test_weight_stats_is_bit_identical(name):
    current = np.asarray(ARRAYS[name])
    if current.dtype.kind != "f":
        current = current.astype(np.float32)
    rng = np.random.default_rng(len(name))
    previous = current + rng.standard_normal(current.shape).astype(current.dtype) * 0.01
    before = current - rng.standard_normal(current.shape).astype(current.dtype) * 0.001
    with np.errstate(all="ignore"):
        for args in [(current,), (current, previous), (current, previous, before)]:
            _same_bits(weights.weight_stats(*args), reference.weight_stats(*args))


@pytest.mark.parametrize("name", sorted(ARRAYS))
def test_q8_payload_is_bit_identical(name, monkeypatch):
    array = encoding.as_float_array(ARRAYS[name])
    with np.errstate(all="ignore"):
        fast = encoding._quantize(array)
        slow = reference.quantize(array)
    assert fast == slow
    payload = encoding.encode(ARRAYS[name])
    monkeypatch.setattr(encoding, "_quantize", reference.quantize)
    with np.errstate(all="ignore"):
        assert payload == encoding.encode(ARRAYS[name])


def test_q8_random_float64_channels_bit_identical():
    rng = np.random.default_rng(9)
    for shape in [(17, 3), (64, 1), (5, 16, 4), (100,)]:
        x = rng.standard_normal(shape) * rng.choice([1e-30, 1.0, 1e30])
        assert encoding._quantize(x) == reference.quantize(x)
