"""The callback's embeddings (tb_plugin.core.parts.embeddings): logged rows equal an
independent pass through `keras.Model(inputs, layer.output)`, labels and
thumbnails round-trip, the cadence, the Projector hand-off, bad arguments."""

import os

import keras
import numpy as np
import pytest

from tb_plugin.keras import Embeddings, InternalsCallback, read_plan
from tb_plugin.reader import Reader


def images(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.normal(size=(n, 8, 8, 1)).astype("float32") * 0.3
    for c in range(3):  # a bright row per class
        x[y == c, 2 * c + 1, :, 0] += 2.0
    return x, y


def model_of():
    keras.utils.set_random_seed(1)
    inputs = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(6, activation="tanh", name="hidden")(h)
    outputs = keras.layers.Dense(3, activation="softmax", name="out")(h)
    model = keras.Model(inputs, outputs)
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def reference(model, x, layer):
    """An independent pass: the layer's output, conv maps averaged over space (float64)."""
    out = np.asarray(keras.Model(model.inputs[0], model.get_layer(layer).output)(x, training=False), dtype=np.float64)
    return out.mean(axis=(1, 2)) if out.ndim == 4 else out


def fit(tmp_path, model, x, y, epochs=2, **kwargs):
    cb = InternalsCallback(str(tmp_path), x[:4], layers=["out"], verbose=0, **kwargs)
    model.fit(x, y, epochs=epochs, batch_size=20, verbose=0, callbacks=[cb])
    return cb


def test_logged_rows_equal_an_independent_pass_with_labels_and_thumbnails(tmp_path):
    x, y = images()
    model = model_of()
    before = {layer: reference(model, x[:50], layer) for layer in ("conv", "hidden")}
    names = ["zero", "one", "two"]
    fit(tmp_path, model, x, y, parts=[Embeddings(["conv", "hidden"], (x, y), samples=50, batch_size=16, encoding="f32",
                                                 class_names=names,
                                                 columns={"index": ["#%d" % i for i in range(len(x))]})])
    after = {layer: reference(model, x[:50], layer) for layer in ("conv", "hidden")}
    reader = Reader(str(tmp_path))
    for layer in ("conv", "hidden"):
        tag = "embedding/" + layer
        assert list(reader.steps(".", tag)) == [-1, 0, 1]
        # f32: exact up to float32 rounding of the pooled rows (batches of 16 vs one pass).
        np.testing.assert_allclose(reader.read(".", tag, -1), before[layer], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(reader.read(".", tag, 1), after[layer], rtol=1e-5, atol=1e-6)
        assert not np.allclose(reader.read(".", tag, 1), before[layer], atol=1e-3)  # training moved them
        doc, thumbs = reader.embedding_extras(".", tag, 1)
        assert doc["labels"] == y[:50].tolist() and doc["class_names"] == names
        assert doc["columns"]["index"][:2] == ["#0", "#1"] and len(doc["columns"]["index"]) == 50
        # Thumbnails of the 8x8 inputs, min-max scaled over the samples (q8: within 1/510 of the range).
        expected = (x[:50] - x[:50].min()) / (x[:50].max() - x[:50].min())
        assert thumbs.shape == (50, 8, 8, 1) and np.abs(thumbs - expected).max() <= 1 / 510 + 1e-6
    info = reader.tags()["."]["embedding/conv"]
    assert info["kind"] == "embedding" and info["shape"] == [50, 4] and info["source_shape"] == [50, 4]
    assert "global average pooling" in info["description"]
    plan = read_plan(str(tmp_path))
    (part,) = plan["parts"]
    assert part["name"] == "embeddings" and part["bytes"] >= 50 * (4 + 6) * 4 and "conv, hidden" in part["note"]
    # The Projector hand-off of the latest step, at train end.
    config = (tmp_path / "projector_config.pbtxt").read_text()
    assert "embedding/hidden @ step 1" in config and "embedding/conv @ step 1" in config


def test_q8_rows_within_the_bound_and_the_cadence(tmp_path):
    x, y = images(40)
    model = model_of()
    fit(tmp_path, model, x, y, epochs=4, parts=[Embeddings("hidden", x, every=2, projector=False)])
    reader = Reader(str(tmp_path))
    # Snapshots -1, 0, 1, 2, 3: every 2nd, the first included.
    assert list(reader.steps(".", "embedding/hidden")) == [-1, 1, 3]
    expected = reference(model, x, "hidden")
    logged = reader.read(".", "embedding/hidden", 3)
    bound = (expected.max(axis=0) - expected.min(axis=0)) / 510 + 1e-6  # q8: half a level of each dimension
    assert np.all(np.abs(logged - expected) <= bound[None, :])
    doc, thumbs = reader.embedding_extras(".", "embedding/hidden", 3)
    assert doc["labels"] is None and thumbs.shape == (40, 8, 8, 1)
    assert not os.path.exists(tmp_path / "projector_config.pbtxt")


def test_one_hot_labels_and_a_sequential_model(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(30, 5)).astype("float32")
    y = keras.utils.to_categorical(np.arange(30) % 2, 2)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, name="d"), keras.layers.Dense(2, name="o")])
    model.compile("sgd", "mse")
    cb = InternalsCallback(str(tmp_path), x[:4], verbose=0,
                           parts=[Embeddings(["d"], (x, y), thumbnails=False, encoding="f32")])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[cb])
    reader = Reader(str(tmp_path))
    doc, thumbs = reader.embedding_extras(".", "embedding/d", 0)
    assert doc["labels"] == (np.arange(30) % 2).tolist() and thumbs is None
    np.testing.assert_allclose(reader.read(".", "embedding/d", 0), reference(model, x, "d"), rtol=1e-5, atol=1e-6)


IMAGES = np.zeros((4, 8, 8, 1))


@pytest.mark.parametrize("kwargs,match", [
    (dict(layers=[3], data=IMAGES), r"Embeddings\(layers=\) must be"),
    (dict(layers=["hidden"], data=None), "Embeddings needs data"),
    (dict(layers=["hidden"], data=IMAGES, every=0), r"Embeddings\(every=\)"),
    (dict(layers=["hidden"], data=IMAGES, samples=1), r"Embeddings\(samples=\)"),
    (dict(layers=["hidden"], data=(IMAGES, [0, 1])), "2 labels for 4 samples"),
    (dict(layers=["hidden"], data=IMAGES, encoding="png"), r"Embeddings\(encoding='png'\)"),
    (dict(layers=["hidden"], data=IMAGES, columns={"c": [1]}), "column 'c' has 1 values"),
])
def test_bad_arguments_fail_at_construction_naming_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Embeddings(**kwargs)


@pytest.mark.parametrize("kwargs,match", [
    (dict(embedding_layers=["hidden"]), "embedding_layers needs embedding_data"),
    (dict(embedding_data=IMAGES), "embedding_data is given but embedding_layers is not"),
])
def test_deprecated_keywords_still_name_their_pairing(tmp_path, kwargs, match):
    with pytest.warns(DeprecationWarning, match=r"parts=\[Embeddings"), pytest.raises(ValueError, match=match):
        InternalsCallback(str(tmp_path), IMAGES, verbose=0, **kwargs)


@pytest.mark.parametrize("layers,data,match", [
    (["nope"], IMAGES, "'nope' matches no layer"),
    (["hidden"], np.zeros((4, 5)), r"Embeddings\(data=\) does not fit"),
])
def test_bad_arguments_fail_at_train_begin_naming_the_argument(tmp_path, layers, data, match):
    x, y = images(20)
    with pytest.raises(ValueError, match=match):
        fit(tmp_path, model_of(), x, y, parts=[Embeddings(layers, data)])
