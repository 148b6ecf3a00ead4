"""InternalsCallback(parts=[Attribution(...)]), the automatic attribution of labelled probe data, the
deprecated `attribution=` keyword, and the two writer doors of kind `attribution`."""

import json
import warnings

import keras
import numpy as np
import pytest

from types import SimpleNamespace

from tb_plugin.core.parts import attribution as attribution_lib
from tb_plugin.core.parts.attribution import Attribution
from tb_plugin.keras.adapter import KerasAdapter
from tb_plugin import summary
from tb_plugin.keras import InternalsCallback, read_plan
from tb_plugin.reader import Reader

TAG = attribution_lib.ATTRIBUTION_TAG


def tiny_cnn(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((6, 6, 1)),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
        keras.layers.Dropout(0.5, name="drop"),
        keras.layers.BatchNormalization(name="bn"),
        keras.layers.GlobalAveragePooling2D(name="gap"),
        keras.layers.Dense(3, activation="softmax", name="out"),
    ])


def data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (n, 6, 6, 1)).astype("float32"), rng.integers(0, 3, n).astype("int32")


def fit(logdir, **kwargs):
    x, y = data()
    model = tiny_cnn()
    model.compile("adam", "sparse_categorical_crossentropy")
    cb = InternalsCallback(str(logdir), (x[:4], y[:4]), verbose=0, background=False, **kwargs)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False, callbacks=[cb])
    return model, cb


def test_labels_turn_attribution_on_and_training_is_unchanged(tmp_path):
    with_attr, _ = fit(tmp_path / "on")
    without, _ = fit(tmp_path / "off", parts=[Attribution(methods=())])
    for a, b in zip(with_attr.weights, without.weights):  # incl. BatchNorm statistics
        assert np.array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b)), a.path
    reader = Reader(str(tmp_path))
    assert reader.steps("on", TAG) == [-1, 0, 1]
    assert TAG not in reader.tags()["off"]
    part = [p for p in read_plan(tmp_path / "on")["parts"] if p["name"] == "attribution"][0]
    assert part["bytes"] > 0 and "gradcam" in part["note"] and "Grad-CAM layer bn" in part["note"]  # the last spatial output
    maps = reader.read("on", TAG, 1)
    assert maps.shape == (4, 2, 6, 6, 4)


def test_unsupported_model_is_one_message_in_the_plan(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(8, 5)).astype("float32")
    y = np.arange(8) % 3
    cb = InternalsCallback(str(tmp_path), (x[:4], y[:4]), verbose=0)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[cb])
    part = [p for p in read_plan(tmp_path)["parts"] if p["name"] == "attribution"][0]
    assert part["bytes"] == 0 and "attribution skipped: the input is [4, 5], not an image" in part["note"]
    assert TAG not in Reader(str(tmp_path)).tags().get(".", {})


def test_bad_arguments_raise_at_construction():
    x, y = data(4)
    with pytest.raises(ValueError, match="Attribution: unknown method 'occlusion'"):
        Attribution(methods=["occlusion"])
    with pytest.warns(DeprecationWarning, match=r"parts=\[Attribution"), \
            pytest.raises(ValueError, match="attribution=: unknown method 'occlusion'"):
        InternalsCallback("unused", (x, y), attribution=["occlusion"])
    with pytest.raises(ValueError, match="not class labels"):
        InternalsCallback("unused", (x, y.astype("float32") + 0.5), attribution=True)
        run(tiny_cnn(), x, y.astype("float32") + 0.5, Attribution.from_keyword(True))


def test_gradcam_layer_option_and_unknown_layer(tmp_path):
    x, y = data(4)
    with pytest.raises(ValueError, match="gradcam_layer='nope' is not a layer"):
        run(tiny_cnn(), x, y, Attribution.from_keyword({"gradcam_layer": "nope"}))
    _, cb = fit(tmp_path, parts=[Attribution(methods=["gradcam"], gradcam_layer="conv")])
    doc = json.loads(Reader(str(tmp_path))._catalog.read_blob(
        Reader(str(tmp_path))._ctx, "", ".", TAG, 1, 1).decode())
    assert doc["gradcam_layer"] == "conv" and doc["methods"] == ["gradcam"]


def run(model, x, y, part):
    """`part.begin` on what the logger hands a part."""
    part.begin(SimpleNamespace(adapter=KerasAdapter(model), probe_x=x, probe_y=y, probe_samples=len(x),
                               probe_tokens=None, log_dir=None, budget=None))
    return part


def user_maps(n=3, h=4, w=5, seed=0):
    rng = np.random.default_rng(seed)
    return {"saliency": rng.uniform(0, 1, (n, 2, h, w)).astype("float32"),
            "integrated_gradients": rng.normal(size=(n, 2, h, w)).astype("float32")}


def test_both_writer_doors_store_the_same_maps_and_document(tmp_path):
    import tensorflow as tf

    maps = user_maps()
    images = np.random.default_rng(1).uniform(0, 1, (3, 4, 5, 3)).astype("float32")
    args = dict(predicted_class=[0, 1, 1], true_class=[0, 2, 1], predicted_probability=[0.9, 0.5, 0.7],
                true_probability=[0.9, 0.1, 0.7], class_names=["a", "b", "c"], images=images,
                completeness_error={"true": [0.001, 0.002, 0.0], "predicted": [0.0, 0.01, 0.0]})
    with summary.Writer(str(tmp_path / "writer")) as w:
        w.attribution("attribution/mine", maps, 0, **args)
        w.attribution("attribution/mine", maps, 1, **args)
    tf_writer = tf.summary.create_file_writer(str(tmp_path / "tf"))
    with tf_writer.as_default(step=0):
        assert summary.attribution("attribution/mine", maps, **args)
    tf_writer.flush()
    reader = Reader(str(tmp_path))
    ctx = reader._ctx
    for run in ("writer", "tf"):
        decoded = reader.read(run, "attribution/mine", 0)
        expected = np.stack([maps["saliency"], maps["integrated_gradients"]], axis=-1)
        for m in range(2):
            span = expected[..., m].max() - expected[..., m].min()
            assert np.abs(decoded[..., m] - expected[..., m]).max() <= span / 510 + 1e-6
        doc = json.loads(reader._catalog.read_blob(ctx, "", run, "attribution/mine", 0, 1).decode())
        assert doc["methods"] == ["saliency", "integrated_gradients"] and doc["true_class"] == [0, 2, 1]
        assert doc["predicted_probability"] == pytest.approx([0.9, 0.5, 0.7])
        assert doc["completeness_error"]["predicted"] == pytest.approx([0.0, 0.01, 0.0])
    # The Writer stores the images with the first step only (unchanged at step 1).
    catalog = reader._catalog
    from tb_plugin.backend import data_access
    with pytest.raises(data_access.NoSuchBlob):
        catalog.read_blob(ctx, "", "writer", "attribution/mine", 1, 3)
    step, _ = catalog.read_latest_blob(ctx, "", "writer", "attribution/mine", 1, 3)
    assert step == 0


@pytest.mark.parametrize("bad, match", [
    (dict(maps={"saliency": np.zeros((3, 4))}), "must be \\[samples, height, width\\]"),
    (dict(maps={"saliency": np.zeros((3, 1, 4, 5))}, true_class=[0, 1, 2]), "has 1 targets but true_class is given"),
    (dict(predicted_class=[0, 1]), "predicted_class has 2 values for 3 samples"),
    (dict(predicted_class=[0.5, 1, 2]), "must be class indices"),
    (dict(images=np.zeros((3, 8, 8))), "images must be \\[samples, height, width"),
])
def test_writer_rejects_bad_input_naming_the_fix(tmp_path, bad, match):
    args = dict(maps={"saliency": np.zeros((3, 4, 5))}, predicted_class=[0, 1, 2])
    args.update(bad)
    with summary.Writer(str(tmp_path)) as w:
        with pytest.raises(ValueError, match=match):
            w.attribution("attribution/x", args.pop("maps"), 0, **args)


def test_the_deprecated_keyword_logs_what_the_part_logs(tmp_path):
    with pytest.warns(DeprecationWarning, match=r"InternalsCallback\(attribution=...\) is deprecated.*parts=\[Attribution"):
        fit(tmp_path / "old", attribution={"methods": ["gradcam", "saliency"], "every": 2})
    fit(tmp_path / "new", parts=[Attribution(methods=["gradcam", "saliency"], every=2)])
    reader = Reader(str(tmp_path))
    assert reader.steps("old", TAG) == reader.steps("new", TAG) == [-1, 1]
    for step in (-1, 1):
        np.testing.assert_array_equal(reader.read("old", TAG, step), reader.read("new", TAG, step))
