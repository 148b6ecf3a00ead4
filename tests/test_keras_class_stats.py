"""InternalsCallback(parts=[ClassStatistics(...)]): what it logs equals numpy over the model's own
predictions (`model.predict`) and over independently captured activations
(`keras.Model(inputs, layer.output)`), and training is unchanged by it."""

import json
import os

import keras
import numpy as np
import pytest

from tb_plugin.kinds import class_stats
from tb_plugin.keras import ClassStatistics, InternalsCallback
from tb_plugin.reader import Reader

K = 4


def _task(seed=0, n=400):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, K, n)
    x = rng.normal(size=(n, 8, 8, 1)).astype(np.float32) * 0.5
    for c in range(K):  # each class lights one quadrant; 2 and 3 share half of theirs
        r, q = divmod(c, 2)
        x[y == c, r * 4:(r + 1) * 4, q * 4:(q + 1) * 4, 0] += 1.0
    return x, y.astype(np.int32)


def _cnn(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv"),
        keras.layers.Flatten(name="flat"),
        keras.layers.Dense(8, activation="relu", name="hidden"),
        keras.layers.Dropout(0.3, name="drop"),
        keras.layers.Dense(K, activation="softmax", name="out"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def _fit(model, x, y, callbacks):
    model.fit(x, y, epochs=2, batch_size=32, verbose=0, shuffle=False, callbacks=callbacks)


def test_logged_class_statistics_equal_numpy_on_independent_activations(tmp_path):
    x, y = _task()
    xv, yv = _task(1, 300)
    model = _cnn()
    cb = InternalsCallback(str(tmp_path / "run"), xv[:4], verbose=0,
                           parts=[ClassStatistics((xv, yv), class_names=list("abcd"), samples=250)])
    _fit(model, x, y, [cb])
    reader = Reader(str(tmp_path))
    assert reader.steps("run", "class_stats") == [-1, 0, 1]
    doc = reader.read("run", "class_stats", step=1)  # the model as it is now
    xe, ye = xv[:250], yv[:250]
    predicted = np.argmax(model.predict(xe, verbose=0), axis=1)
    assert doc["confusion"] == np.bincount(ye * K + predicted, minlength=K * K).reshape(K, K).tolist()
    assert doc["misclassified"]["index"] == np.nonzero(ye != predicted)[0].tolist()
    assert [layer["path"] for layer in doc["layers"]] == ["conv", "hidden", "out"]
    assert [(l["reduction"], l["source_shape"]) for l in doc["layers"]] == [
        ("spatial_mean", [8, 8, 4]), ("none", [8]), ("none", [K])]
    for layer in doc["layers"]:
        acts = keras.Model(model.inputs, model.get_layer(layer["path"]).output).predict(xe, verbose=0).astype(np.float64)
        if acts.ndim == 4:
            acts = acts.mean(axis=(1, 2))  # per-channel spatial means
        mean = np.stack([acts[ye == c].mean(axis=0) for c in range(K)])
        std = np.stack([acts[ye == c].std(axis=0) for c in range(K)])
        np.testing.assert_allclose(layer["mean"], mean, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(layer["std"], std, rtol=1e-4, atol=1e-5)
        norms = np.linalg.norm(mean, axis=1)
        np.testing.assert_allclose(layer["similarity"], mean @ mean.T / np.outer(norms, norms), rtol=1e-4, atol=1e-6)
        grand = acts.mean(axis=0)
        between = sum((ye == c).sum() * np.sum((mean[c] - grand) ** 2) for c in range(K))
        within = sum(np.sum((acts[ye == c] - mean[c]) ** 2) for c in range(K))
        assert layer["fisher"] == pytest.approx(between / within, rel=1e-4)
        d = ((acts[:, None, :] - mean[None]) ** 2).sum(-1)
        a, b = 2, 3
        keep = (ye == a) | (ye == b)
        own = np.where(ye[keep] == a, d[keep, a], d[keep, b])
        other = np.where(ye[keep] == a, d[keep, b], d[keep, a])
        assert layer["pair_ncm_accuracy"][a][b] == pytest.approx(np.mean(own < other) + 0.5 * np.mean(own == other), abs=1e-6)
    # Thumbnails of the image inputs, stored once: the evaluation inputs scaled to [0, 1].
    tags = reader.tags()["run"]["class_stats"]
    assert tags["thumbnails"] and tags["class_names"] == list("abcd") and tags["samples"] == 250
    # The plan counts the document's bytes (estimated within a factor of 2 of what is stored).
    (part,) = [p for p in reader.read("run", "logging_plan")["parts"] if p["name"] == "class statistics"]
    stored = len(json.dumps(doc, separators=(",", ":")))
    assert stored / 2 < part["bytes"] < stored * 2 and "250 samples, 4 classes, 3 layers" in part["note"]


def test_training_is_unchanged_by_the_class_statistics(tmp_path):
    x, y = _task()
    xv, yv = _task(1, 100)
    plain, logged = _cnn(3), _cnn(3)
    _fit(plain, x, y, [])
    _fit(logged, x, y, [InternalsCallback(str(tmp_path / "r"), xv[:2], verbose=0,
                                                    parts=[ClassStatistics((xv, yv), every=2)])])
    for a, b in zip(plain.weights, logged.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert Reader(str(tmp_path)).steps("r", "class_stats") == [-1, 1]  # snapshots -1, 0, 1: every second one


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = keras.layers.Dense(6, activation="tanh", name="hidden")
        self.out = keras.layers.Dense(3, name="logits")

    def call(self, x, training=False):
        return self.out(self.hidden(x))


def test_subclassed_models_use_the_capture_pass(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 5)).astype(np.float32)
    y = (np.arange(120) % 3).astype(np.int32)
    model = Subclassed()
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=1, verbose=0, callbacks=[
        InternalsCallback(str(tmp_path / "s"), x[:2], verbose=0, parts=[ClassStatistics((x, y), layers=["hidden"])])])
    doc = Reader(str(tmp_path)).read("s", "class_stats", step=0)
    predicted = np.argmax(model.predict(x, verbose=0), axis=1)
    assert doc["confusion"] == class_stats.confusion(y, predicted, 3).tolist()
    hidden = np.tanh(x @ model.hidden.kernel.numpy() + model.hidden.bias.numpy()).astype(np.float64)
    np.testing.assert_allclose(doc["layers"][0]["mean"], [hidden[y == c].mean(0) for c in range(3)], rtol=1e-4, atol=1e-5)
    assert doc["thumbnails"] is False  # not images


def test_bad_class_arguments_name_the_fix(tmp_path):
    x, y = _task(n=20)
    with pytest.raises(ValueError, match=r"validation_data to callbacks.*data=\(x_val, y_val\)"):
        ClassStatistics("validation")
    with pytest.raises(ValueError, match=r"ClassStatistics\(class_names=\) has 2 names but the labels of data go up to 3"):
        ClassStatistics((x, y), class_names=["a", "b"])
    with pytest.raises(ValueError, match="different sample counts"):
        ClassStatistics((x, y[:5]))
    with pytest.raises(ValueError, match=r"ClassStatistics\(every=\) must be an int >= 1"):
        ClassStatistics((x, y), every=0)
    with pytest.warns(DeprecationWarning, match=r"parts=\[ClassStatistics\(class_names=...\)\]"), \
            pytest.raises(ValueError, match="pass parts=\\[ClassStatistics"):
        InternalsCallback(str(tmp_path), x[:2], class_names=["a"])
    cb = InternalsCallback(str(tmp_path / "r"), x[:2], verbose=0, parts=[ClassStatistics((x, y), layers=["nope"])])
    with pytest.raises(ValueError, match=r"ClassStatistics\(layers=\)=.*'nope' matches no layer.*hidden"):
        _fit(_cnn(), x, y, [cb])
    cb = InternalsCallback(str(tmp_path / "b"), x[:2], verbose=0, parts=[ClassStatistics((x, y))], budget=1000)
    with pytest.raises(ValueError, match=r"class statistics of 4 classes over layers conv, hidden, out need about .* "
                                         r"more than budget=1000 bytes; pass fewer ClassStatistics\(layers=\)"):
        _fit(_cnn(), x, y, [cb])
    assert not os.path.exists(tmp_path / "r") or not Reader(str(tmp_path / "r")).tags()
