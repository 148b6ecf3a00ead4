"""Text and sequence models: integrated gradients over the embedding output, one score per token.

Truth: the per-token scores equal a numpy reference (the model's forward pass
by hand, central finite differences for the gradients, the same midpoint
rule), completeness within 1%; the callback logs the token layout with the
token labels; both writer doors accept it."""

import json

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
VOCAB, T, D, HID, CLASSES = 12, 5, 4, 6, 3


def token_model(seed=0):
    """Embedding -> GlobalAveragePooling1D -> Dense(tanh) -> Dense(softmax)."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((T,), dtype="int32"),
        keras.layers.Embedding(VOCAB, D, name="emb"),
        keras.layers.GlobalAveragePooling1D(name="gap"),
        keras.layers.Dense(HID, activation="tanh", name="hid"),
        keras.layers.Dense(CLASSES, activation="softmax", name="out"),
    ])
    rng = np.random.default_rng(seed)
    for v in model.weights:
        v.assign(rng.normal(0, 0.8, v.shape).astype("float32"))
    return model


def numpy_logits(model, e):
    """Logits of embedding outputs e [n, T, D], by hand in float64."""
    k1, b1 = [np.asarray(v, np.float64) for v in model.get_layer("hid").weights]
    k2, b2 = [np.asarray(v, np.float64) for v in model.get_layer("out").weights]
    return np.tanh(np.asarray(e, np.float64).mean(axis=1) @ k1 + b1) @ k2 + b2


def numpy_token_ig(model, ids, classes, steps=32, eps=1e-5):
    """Per-token IG with a zero-embedding baseline: midpoint rule, finite-difference gradients."""
    table = np.asarray(model.get_layer("emb").weights[0], np.float64)
    e = table[ids]  # [n, T, D]
    n, rows = len(ids), np.arange(len(ids))
    total = np.zeros_like(e)
    basis = np.eye(T * D).reshape(T * D, T, D) * eps
    for k in range(steps):
        point = (k + 0.5) / steps * e
        up = numpy_logits(model, (point[:, None] + basis[None]).reshape(-1, T, D)).reshape(n, T * D, -1)
        down = numpy_logits(model, (point[:, None] - basis[None]).reshape(-1, T, D)).reshape(n, T * D, -1)
        total += ((up - down)[rows, :, classes] / (2 * eps)).reshape(n, T, D)
    scores = (e * total / steps).sum(axis=-1)
    delta = numpy_logits(model, e)[rows, classes] - numpy_logits(model, np.zeros_like(e))[rows, classes]
    return scores, delta


def test_token_ig_equals_a_numpy_reference_and_is_complete():
    model = token_model()
    ids = np.random.default_rng(1).integers(0, VOCAB, (4, T)).astype("int32")
    classes = np.array([0, 1, 2, 1])
    a = Attribution.from_keyword(True)
    a.begin(SimpleNamespace(adapter=KerasAdapter(model), probe_x=ids, probe_y=classes, probe_samples=len(ids),
                            probe_tokens=None, log_dir=None, budget=None))
    assert a.embedding == "emb" and a.active == ["integrated_gradients"]
    assert a.score == "logit" and "gradcam skipped" in a.note()
    scores, _, f_x, f_b, error = a.token_integrated_gradients(ids, classes)
    reference, delta = numpy_token_ig(model, ids, classes)
    assert scores.shape == (4, T)
    assert np.allclose(scores, reference, atol=2e-4), np.abs(scores - reference).max()
    assert np.allclose(f_x - f_b, delta, atol=1e-4)
    assert (error < 0.01).all()
    assert np.allclose(np.abs(scores.sum(axis=1) - delta) / np.abs(delta), error, atol=1e-4)
    # Different tokens get different scores (the test can fail on a constant map).
    assert np.ptp(scores, axis=1).min() > 1e-3


def test_the_callback_logs_token_scores_with_labels(tmp_path):
    model = token_model()
    model.compile("sgd", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(2)
    ids = rng.integers(0, VOCAB, (16, T)).astype("int32")
    y = rng.integers(0, CLASSES, 16).astype("int32")
    words = ["w%d" % i for i in range(T)]
    cb = InternalsCallback(str(tmp_path), (ids[:3], y[:3]), verbose=0, background=False, attention_tokens=words)
    model.fit(ids, y, epochs=1, batch_size=8, verbose=0, callbacks=[cb])
    part = [p for p in read_plan(tmp_path)["parts"] if p["name"] == "attribution"][0]
    assert "integrated gradients per token" in part["note"] and "token labels: attention_tokens" in part["note"]
    reader = Reader(str(tmp_path))
    last = reader.steps(".", TAG)[-1]
    maps = reader.read(".", TAG, last)
    assert maps.shape == (3, 2, T, 1)
    doc = json.loads(reader._catalog.read_blob(reader._ctx, "", ".", TAG, last, 1).decode())
    assert doc["layout"] == "tokens" and doc["tokens"] == [words] * 3 and doc["targets"] == ["true", "predicted"]
    assert doc["true_class"] == y[:3].tolist()
    reference, _ = numpy_token_ig(model, ids[:3], np.array(doc["predicted_class"]))  # the trained weights
    span = reference.max() - reference.min()
    assert np.abs(maps[:, 1, :, 0] - reference).max() <= span / 200 + 1e-3
    assert max(doc["completeness_error"]["true"] + doc["completeness_error"]["predicted"]) < 0.01


def test_models_without_an_embedding_keep_the_skip_message(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((T,), dtype="int32"), keras.layers.CategoryEncoding(VOCAB, "count"),
                              keras.layers.Dense(CLASSES, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    ids = np.random.default_rng(0).integers(0, VOCAB, (8, T)).astype("int32")
    cb = InternalsCallback(str(tmp_path), (ids[:4], np.arange(4) % 3), verbose=0, background=False)
    model.fit(ids, np.arange(8) % 3, epochs=1, verbose=0, callbacks=[cb])
    part = [p for p in read_plan(tmp_path)["parts"] if p["name"] == "attribution"][0]
    assert part["bytes"] == 0 and "no keras.layers.Embedding layer" in part["note"]


def test_both_writer_doors_accept_the_token_layout(tmp_path):
    import tensorflow as tf

    scores = np.random.default_rng(3).normal(size=(2, 2, 4)).astype("float32")
    tokens = [["the", "cat", "sat", "<b>"], ["a", "dog", "ran", "."]]
    args = dict(predicted_class=[0, 1], true_class=[1, 1], tokens=tokens,
                completeness_error={"true": [0.001, 0.0], "predicted": [0.0, 0.002]})
    with summary.Writer(str(tmp_path / "writer")) as w:
        w.attribution("attribution/text", {"integrated_gradients": scores}, 0, **args)
    tf_writer = tf.summary.create_file_writer(str(tmp_path / "tf"))
    with tf_writer.as_default(step=0):
        assert summary.attribution("attribution/text", {"integrated_gradients": scores}, **args)
    tf_writer.flush()
    reader = Reader(str(tmp_path))
    for run in ("writer", "tf"):
        decoded = reader.read(run, "attribution/text", 0)
        assert decoded.shape == (2, 2, 4, 1)
        assert np.abs(decoded[..., 0] - scores).max() <= np.ptp(scores) / 510 + 1e-6
        doc = json.loads(reader._catalog.read_blob(reader._ctx, "", run, "attribution/text", 0, 1).decode())
        assert doc["layout"] == "tokens" and doc["tokens"] == tokens
    with summary.Writer(str(tmp_path / "bad")) as w:
        with pytest.raises(ValueError, match="tokens of sample 1 has 3 labels for 4 token positions"):
            w.attribution("attribution/text", {"integrated_gradients": scores}, 0,
                          **dict(args, tokens=[tokens[0], tokens[1][:3]]))
        with pytest.raises(ValueError, match="take no images"):
            w.attribution("attribution/text", {"integrated_gradients": scores}, 0,
                          images=np.zeros((2, 4, 4)), **args)
