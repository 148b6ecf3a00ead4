"""Class statistics numerics (tb_plugin.kinds.class_stats) against independent computations:
scikit-learn's confusion matrix, cosine similarity and nearest centroid, SciPy's average
linkage, and plain numpy loops over the samples of each class."""

import json

import numpy as np
import pytest
from scipy.cluster import hierarchy
from scipy.spatial.distance import squareform
from sklearn.metrics import confusion_matrix
from sklearn.metrics.pairwise import cosine_similarity
from sklearn.neighbors import NearestCentroid

from tb_plugin.kinds import class_stats


def _data(seed=0, n=300, k=5, u=7):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    centres = rng.normal(size=(k, u)) * 2
    x = centres[y] + rng.normal(size=(n, u))
    p = np.where(rng.random(n) < 0.7, y, rng.integers(0, k, n))
    return x, y, p


def test_confusion_equals_sklearn():
    _, y, p = _data()
    np.testing.assert_array_equal(class_stats.confusion(y, p, 5), confusion_matrix(y, p, labels=range(5)))


def test_class_moments_equal_numpy_per_class_and_conv_maps_are_spatial_means():
    rng = np.random.default_rng(1)
    maps = rng.normal(size=(60, 4, 3, 6)).astype(np.float32)
    y = rng.integers(0, 3, 60)
    features, reduction = class_stats.reduce_units(maps)
    assert reduction == "spatial_mean" and features.shape == (60, 6)
    mean, std, count = class_stats.class_moments(features, y, 4)  # class 3 has no samples
    for c in range(3):
        own = maps[y == c].astype(np.float64).mean(axis=(1, 2))
        np.testing.assert_allclose(mean[c], own.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(std[c], own.std(axis=0), rtol=1e-10)
        assert count[c] == (y == c).sum()
    assert np.all(np.isnan(mean[3])) and count[3] == 0


def test_similarity_equals_sklearn_cosine():
    x, y, _ = _data()
    mean, _, _ = class_stats.class_moments(x, y, 5)
    np.testing.assert_allclose(class_stats.cosine_similarity(mean), cosine_similarity(mean), atol=1e-12)


def test_fisher_ratio_is_between_over_within_variance_from_the_samples():
    x, y, _ = _data()
    mean, std, count = class_stats.class_moments(x, y, 5)
    grand = x.mean(axis=0)
    between = sum(np.sum((x[y == c].mean(axis=0) - grand) ** 2) * np.sum(y == c) for c in range(5))
    within = sum(np.sum((x[y == c] - x[y == c].mean(axis=0)) ** 2) for c in range(5))
    assert class_stats.fisher_ratio(mean, std, count) == pytest.approx(between / within, rel=1e-10)


def test_pair_fisher_equals_the_two_class_fisher_ratio_on_the_pair_samples():
    x, y, _ = _data(2)
    mean, std, count = class_stats.class_moments(x, y, 5)
    f = class_stats.pair_fisher(mean, std, count)
    for a in range(5):
        for b in range(5):
            if a == b:
                assert np.isnan(f[a, b])
                continue
            keep = (y == a) | (y == b)
            xs, ys = x[keep], y[keep]
            grand = xs.mean(axis=0)
            between = sum(np.sum((xs[ys == c].mean(axis=0) - grand) ** 2) * np.sum(ys == c) for c in (a, b))
            within = sum(np.sum((xs[ys == c] - xs[ys == c].mean(axis=0)) ** 2) for c in (a, b))
            assert f[a, b] == pytest.approx(between / within, rel=1e-9)


def test_ncm_accuracies_equal_sklearn_nearest_centroid():
    x, y, _ = _data(3)
    mean, _, _ = class_stats.class_moments(x, y, 5)
    nc = NearestCentroid().fit(x, y)
    assert class_stats.ncm_accuracy(x, y, mean) == pytest.approx(np.mean(nc.predict(x) == y))
    acc = class_stats.pair_ncm_accuracy(x, y, mean)
    for a in range(5):
        for b in range(a + 1, 5):
            keep = (y == a) | (y == b)
            pair = NearestCentroid().fit(x[keep], y[keep])
            expected = np.mean(pair.predict(x[keep]) == y[keep])
            assert acc[a, b] == pytest.approx(expected) and acc[b, a] == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(6))
def test_clustering_order_equals_scipy_average_linkage_leaves(seed):
    rng = np.random.default_rng(seed)
    k = 3 + seed * 2
    means = rng.normal(size=(k, 5)) + rng.normal(size=5) * 0.5
    s = cosine_similarity(means)
    d = np.clip(1 - s, 0, None)
    np.fill_diagonal(d, 0)
    expected = hierarchy.leaves_list(hierarchy.linkage(squareform(d, checks=False), "average")).tolist()
    assert class_stats.average_linkage_order(s) == expected


def test_classes_without_samples_go_last_and_are_null_in_json():
    x, y, p = _data(4, k=4)
    doc = class_stats.document(y, p, {"dense": x}, class_names=list("abcdef"))
    layer = doc["layers"][0]
    assert layer["order"][-2:] == [4, 5] and sorted(layer["order"]) == list(range(6))
    parsed = json.loads(class_stats.to_json(doc))
    assert parsed["layers"][0]["mean"][5] == [None] * 7
    assert parsed["layers"][0]["similarity"][4][0] is None
    # Means are float32's shortest decimals: they read back to the float32 values exactly.
    np.testing.assert_array_equal(np.float32(parsed["layers"][0]["mean"][0]), np.float32(layer["mean"][0]))


def test_document_and_pair_view():
    x, y, p = _data(5)
    doc = class_stats.parse(class_stats.to_json(class_stats.document(y, p, [("h", x)], class_names=list("vwxyz"))))
    assert doc["confusion"] == confusion_matrix(y, p).tolist()
    assert doc["misclassified"]["index"] == np.nonzero(y != p)[0].tolist()
    view = class_stats.pair(doc, 1, 3)
    assert view["samples"] == np.nonzero((y == 1) & (p == 3))[0].tolist()
    assert view["count"] == int(np.sum((y == 1) & (p == 3)))
    layer = view["layers"][0]
    np.testing.assert_allclose(layer["difference"], x[y == 1].mean(0) - x[y == 3].mean(0), rtol=1e-5, atol=1e-6)
    with pytest.raises(IndexError, match="not a class index"):
        class_stats.pair(doc, 0, 5)


def test_precomputed_moments_give_the_same_moment_statistics():
    x, y, p = _data(6)
    mean, std, count = class_stats.class_moments(x, y, 5)
    a = class_stats.document(y, p, {"h": x})["layers"][0]
    b = class_stats.document(y, p, {"h": class_stats.moments(mean, std, count)})["layers"][0]
    assert b["ncm_accuracy"] is None and b["reduction"] == "precomputed"
    for key in ("similarity", "pair_fisher"):
        np.testing.assert_allclose(a[key], b[key], equal_nan=True)
    assert a["fisher"] == pytest.approx(b["fisher"]) and a["order"] == b["order"]


def test_bad_inputs_name_the_problem():
    x, y, p = _data(7)
    with pytest.raises(ValueError, match="class index 4 is out of range for 3 classes .class_names has 3 names"):
        class_stats.document(y, p, {"h": x}, class_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="10 values for 300 samples"):
        class_stats.document(y, p[:10], {"h": x})
    with pytest.raises(ValueError, match="samples of outputs for 300 labels"):
        class_stats.document(y, p, {"h": x[:5]})
    with pytest.raises(ValueError, match="whole numbers"):
        class_stats.document(y + 0.5, p, {"h": x})
    # One-hot labels and score rows are argmaxed.
    onehot = np.eye(5)[y]
    assert class_stats.document(onehot, np.eye(5)[p] * 0.9, {})["confusion"] == confusion_matrix(y, p).tolist()
