"""Weights summaries, the callback's variables and model summary, and the numpy analysis.

Truth comes from Keras (`get_weights()`, `count_params()`) and from numpy
computations written here independently of `tb_plugin.kinds.weights`.
"""

import json

import numpy as np
import pytest

from helpers import stored_payloads, summary_values
from tb_plugin.kinds import weights as W
from tb_plugin.reader import Reader


# ---- the two writer doors ----


def test_both_weights_doors_store_identical_summaries(tmp_path):
    import tensorflow as tf

    from tb_plugin import summary

    kernel = np.random.default_rng(0).normal(size=(3, 3, 2, 4)).astype("float32")
    with summary.Writer(str(tmp_path / "plain")) as w:
        w.weights("weights/conv/kernel", kernel, step=3, encoding="f32", layer="conv", layer_class="Conv2D")
    writer = tf.summary.create_file_writer(str(tmp_path / "tf"))
    with writer.as_default(step=3):
        assert summary.weights("weights/conv/kernel", kernel, encoding="f32", layer="conv", layer_class="Conv2D")
    writer.close()
    (step_a, a), = summary_values(str(tmp_path / "plain"))
    (step_b, b), = summary_values(str(tmp_path / "tf"))
    assert step_a == step_b == 3
    content, content_b = json.loads(a.metadata.plugin_data.content), json.loads(b.metadata.plugin_data.content)
    assert (content.pop("storage"), content_b.pop("storage")) == ("store", "inline")
    assert content == content_b
    assert [blobs for _, blobs in stored_payloads(str(tmp_path / "plain"))] == [list(b.tensor.string_val)]
    assert content["kind"] == "weights" and content["layer"] == "conv" and content["layer_class"] == "Conv2D"
    assert np.array_equal(Reader(str(tmp_path)).read("plain", "weights/conv/kernel", 3), kernel)


def test_nonfinite_weights_are_logged_not_hidden(tmp_path):
    from tb_plugin import summary

    w = np.arange(12, dtype="float32").reshape(3, 4)
    w[0, 1], w[2, 3], w[1, 0] = np.nan, np.inf, -np.inf
    with summary.Writer(str(tmp_path / "run")) as writer:
        writer.weights("bad", w, step=0)  # default q8 keeps the non-finite values exactly
    got = Reader(str(tmp_path)).read("run", "bad", 0)
    assert np.isnan(got[0, 1]) and got[2, 3] == np.inf and got[1, 0] == -np.inf
    assert np.count_nonzero(~np.isfinite(got)) == 3


# ---- the callback ----


def _model():
    import keras

    keras.utils.set_random_seed(1)
    block = keras.Sequential([keras.layers.Dense(5, activation="relu", name="h1")], name="block")
    return keras.Sequential(
        [
            keras.Input((5, 5, 3)),
            keras.layers.Conv2D(2, 3, name="conv1"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.Flatten(name="flat"),
            block,
            keras.layers.Dense(3, name="out"),
        ]
    )


def _fit(tmp_path, epochs=2, **kwargs):
    import keras

    from tb_plugin.keras import InternalsCallback

    model = _model()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 5, 5, 3)).astype("float32")
    y = rng.normal(size=(16, 3)).astype("float32")
    truth = {}

    class Truth(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            truth[-1] = {v.path: v.numpy().copy() for v in self.model.trainable_variables}

        def on_epoch_end(self, epoch, logs=None):
            truth[epoch] = {v.path: v.numpy().copy() for v in self.model.trainable_variables}

    model.fit(x, y, epochs=epochs, batch_size=8, verbose=0,
              callbacks=[InternalsCallback(str(tmp_path / "run"), probe_data=x[:4], **kwargs), Truth()])
    return model, truth


def test_callback_logs_every_trainable_variable_exactly(tmp_path):
    model, truth = _fit(tmp_path)
    reader = Reader(str(tmp_path))
    tags = {t: i for t, i in reader.tags()["run"].items() if i["kind"] == "weights"}
    expected = {
        "weights/conv1/kernel": "conv1/kernel", "weights/conv1/bias": "conv1/bias",
        "weights/bn/gamma": "bn/gamma", "weights/bn/beta": "bn/beta",
        "weights/block/h1/kernel": "block/h1/kernel", "weights/block/h1/bias": "block/h1/bias",
        "weights/out/kernel": "out/kernel", "weights/out/bias": "out/bias",
    }
    assert set(tags) == set(expected)  # trainable only: no BN moving statistics
    assert tags["weights/block/h1/kernel"]["layer"] == "block/h1"
    assert tags["weights/block/h1/kernel"]["layer_class"] == "Dense"
    assert tags["weights/conv1/kernel"]["layer_class"] == "Conv2D"
    for tag, suffix in expected.items():
        assert reader.steps("run", tag) == [-1, 0, 1]  # before training, after epochs 0 and 1
        for step in (-1, 0, 1):
            (path,) = [p for p in truth[step] if p.endswith(suffix)]
            assert np.array_equal(reader.read("run", tag, step), truth[step][path]), (tag, step)
    # The values really changed: the steps are not copies of one another.
    assert not np.array_equal(reader.read("run", "weights/out/kernel", -1), reader.read("run", "weights/out/kernel", 1))


def test_weights_freq_and_switches(tmp_path):
    # Every 2nd snapshot, the first included: snapshots at -1, 0, 1, 2.
    _fit(tmp_path / "a", epochs=3, weights_freq=2)
    assert Reader(str(tmp_path / "a")).steps("run", "weights/out/kernel") == [-1, 1]
    _fit(tmp_path / "b", epochs=1, weights_freq=0, log_model_summary=False)
    tags = Reader(str(tmp_path / "b")).tags()["run"]
    kinds = {i["kind"] for t, i in tags.items() if t != "logging_plan"}
    assert kinds == {"activations", "activation_stats", "weight_stats"}  # no full weights, no model summary
    # The exact change series are still logged.
    series = {t for t, i in tags.items() if i["kind"] == "weight_stats"}
    assert series == {"weight_stats/" + t[len("weights/"):] for t in (
        "weights/conv1/kernel", "weights/conv1/bias", "weights/bn/gamma", "weights/bn/beta",
        "weights/block/h1/kernel", "weights/block/h1/bias", "weights/out/kernel", "weights/out/bias")}
    from tb_plugin.keras import InternalsCallback

    with pytest.raises(ValueError, match="weights_freq"):
        InternalsCallback(str(tmp_path / "c"), probe_data=np.zeros((1, 5, 5, 3)), weights_freq=-1)


def test_model_summary_is_logged_once_with_true_counts(tmp_path):
    model, _ = _fit(tmp_path)
    found = stored_payloads(str(tmp_path / "run"), "model_summary")
    assert [step for step, _ in found] == [0]
    doc = json.loads(found[0][1][0].decode("utf-8"))
    assert doc["total_params"] == model.count_params()
    assert doc["trainable_params"] == int(sum(np.prod(v.shape) for v in model.trainable_variables))
    by_path = {layer["path"]: layer for layer in doc["layers"]}
    assert list(by_path) == ["conv1", "bn", "flat", "block", "block/h1", "out"]
    for path in ("conv1", "bn", "flat", "block", "out"):
        layer = model.get_layer(path)
        assert by_path[path]["params"] == layer.count_params()
        assert by_path[path]["class"] == type(layer).__name__
        assert by_path[path]["depth"] == 0
    assert by_path["block/h1"]["depth"] == 1 and by_path["block/h1"]["parent"] == "block"
    assert by_path["block/h1"]["params"] == model.get_layer("block").get_layer("h1").count_params() == 18 * 5 + 5
    assert by_path["conv1"]["output_shape"] == [None, 3, 3, 2]
    assert by_path["block"]["output_shape"] == [None, 5]
    assert by_path["bn"]["trainable_params"] == 4 and by_path["bn"]["params"] == 8


# ---- the analysis against independent numpy ----


def test_pca_matches_covariance_eigendecomposition():
    rng = np.random.default_rng(3)
    w = rng.normal(size=(3, 3, 2, 10))
    ratios, axes = W.pca(w)
    samples = w.reshape(-1, 10).T  # one row per filter
    cov = np.cov(samples, rowvar=False)
    eig, vec = np.linalg.eigh(cov)
    order = np.argsort(eig)[::-1]
    expected = np.clip(eig[order], 0, None) / np.clip(eig, 0, None).sum()
    assert np.allclose(ratios, expected[: len(ratios)], atol=1e-10)
    assert ratios.sum() == pytest.approx(1.0)
    for k in range(3):
        assert abs(np.dot(axes[k], vec[:, order[k]])) == pytest.approx(1.0, abs=1e-8)


def test_prune_keeps_the_largest_magnitudes():
    rng = np.random.default_rng(4)
    w = rng.normal(size=(20, 7))
    for fraction in (0.0, 0.3, 0.5, 0.99):
        kept, weights_kept, norm_kept = W.prune(w, fraction)
        removed = int(np.floor(fraction * w.size))
        threshold = np.sort(np.abs(w).ravel())[removed - 1] if removed else -1
        assert np.count_nonzero(kept) == w.size - removed
        assert np.all(np.abs(w[kept != 0]) > threshold)
        assert np.array_equal(kept[kept != 0], w[kept != 0])
        assert weights_kept == pytest.approx((w.size - removed) / w.size)
        survivors = np.sort(np.abs(w).ravel())[removed:]
        assert norm_kept == pytest.approx(np.sqrt((survivors**2).sum() / (w**2).sum()))


def test_relative_change_and_sparsity():
    a = np.array([[3.0, 0.0], [0.0, 4.0]])
    b = np.array([[3.0, 1.0], [0.0, 4.0]])
    assert W.relative_change(a, b) == pytest.approx(1 / 5)
    assert W.relative_change(np.zeros(2), np.zeros(2)) == 0
    assert W.relative_change(np.zeros(2), np.ones(2)) == np.inf
    assert W.sparsity(np.array([0.001, -0.5, 0.0, np.nan]), 0.01) == pytest.approx(0.5)
    assert W.as_matrix(np.zeros((3, 3, 2, 4))).shape == (18, 4)
    assert W.as_matrix(np.zeros(5)).shape == (1, 5)
    assert W.as_matrix(np.zeros((2, 3, 4, 5, 6))).shape == (120, 6)


def test_weight_histogram_counts_are_those_of_the_logged_edges_for_float32_weights():
    # Narrow-range float32 weights: many values lie within float32 rounding of an edge.
    rng = np.random.default_rng(0)
    for _ in range(5):
        w = rng.normal(5, 1e-3, (300, 50)).astype(np.float32)
        out = W.unpack_weight_stats(W.weight_stats(w))
        np.testing.assert_array_equal(out["counts"], np.histogram(w.astype(np.float64).ravel(), bins=out["edges"])[0])
        assert out["edges"][0] == w.min() and out["edges"][-1] == w.max()
