"""Capturing attention never changes what the model computes (issue 14, item 5).

Expected values are the model's own outputs: sub-models built on
`layer.output`, called without the callback, and `MultiHeadAttention`
called directly for its scores.
"""

import keras
import numpy as np
import pytest

from tb_plugin.format import encoding
from tb_plugin.keras import InternalsCallback
from tb_plugin.keras.capture import capture
from tb_plugin.kinds.attention import normalize_rows
from tb_plugin.reader import Reader

L, VOCAB = 64, 20


def _transformer(mha_class=keras.layers.MultiHeadAttention):
    keras.utils.set_random_seed(0)
    tokens = keras.Input((L,), dtype="int32", name="tokens")
    h = keras.layers.Embedding(VOCAB, 16, name="emb")(tokens)
    a = mha_class(num_heads=2, key_dim=8, name="mha")(h, h)
    h = keras.layers.LayerNormalization(name="ln")(keras.layers.Add(name="res")([h, a]))
    h = keras.layers.Dense(16, activation="relu", name="ffn")(h)
    model = keras.Model(tokens, keras.layers.Dense(VOCAB, activation="softmax", name="probs")(h), name="tiny_lm")
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def _tokens(n, seed=0):
    return np.random.default_rng(seed).integers(0, VOCAB, (n, L)).astype("int32")


def _within_bound(read, expected, what):
    expected = np.asarray(expected).astype(np.float32)
    assert read.shape == expected.shape, what
    error = np.abs(read.astype(np.float64) - expected.astype(np.float64))
    bound = encoding.error_bound(expected) + 1e-6 * np.abs(expected) + 1e-9
    assert np.all(error <= bound), "%s: error %g over the q8 bound" % (what, (error - bound).max())


@pytest.fixture
def policy(request):
    keras.mixed_precision.set_global_policy(request.param)
    try:
        yield request.param
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("policy", ["float32", "mixed_float16"], indirect=True)
def test_every_logged_activation_equals_the_models_own_outputs(tmp_path, policy):
    model = _transformer()
    x = _tokens(4)
    initial = model.get_weights()
    run = str(tmp_path / "run")
    model.fit(_tokens(8, 1), _tokens(8, 2), epochs=1, verbose=0,
              callbacks=[InternalsCallback(run, x, epoch_freq=0, verbose=0)])  # step -1 only
    model.set_weights(initial)
    reader = Reader(run)
    tags = reader.tags()["."]
    acts = sorted(t for t, i in tags.items() if i["kind"] == "activations")
    inner = ["mha/query", "mha/key", "mha/value", "mha/attention_output"]
    assert [t.split("/", 1)[1] for t in acts] == sorted(["emb", "mha", "res", "ln", "ffn", "probs"] + inner)
    mha = model.get_layer("mha")
    emb = keras.Model(model.inputs, model.get_layer("emb").output)(x, training=False)
    own_inner = {
        "mha/query": mha._query_dense(emb), "mha/key": mha._key_dense(emb), "mha/value": mha._value_dense(emb),
        # The output projection's output is the layer's output.
        "mha/attention_output": keras.Model(model.inputs, mha.output)(x, training=False),
    }
    for tag in acts:
        path = tag.split("/", 1)[1]
        layer = mha._output_dense if path == "mha/attention_output" else (
            mha if path.startswith("mha/") else model.get_layer(path))
        if path in own_inner:
            own = np.asarray(own_inner[path])
        else:
            own = np.asarray(keras.Model(model.inputs, layer.output)(x, training=False))
        if policy == "mixed_float16" and path != "probs":
            assert own.dtype == np.float16 and tags[tag]["dtype"] == "float16", tag
        _within_bound(reader.read(".", tag, -1), own, tag)
    # The scores: the layer called directly for them, on its own input.
    _, scores = model.get_layer("mha")(emb, emb, return_attention_scores=True)
    scores = np.asarray(scores).astype(np.float64)
    info = tags["attention/mha"]
    assert info["normalized"] is True
    logged = reader.read(".", "attention/mha", -1)
    deviation = np.abs(scores.sum(-1) - 1).max()
    # q8 bound of the scores, plus the float16 renormalisation (at most the rows' deviation).
    bound = encoding.error_bound(scores.astype(np.float32)) + deviation * np.abs(scores) + 1e-6
    assert np.all(np.abs(logged - scores) <= bound)
    np.testing.assert_allclose(logged.astype(np.float64).sum(-1), 1, atol=1e-3)


class ScoresPathDiffers(keras.layers.MultiHeadAttention):
    """A MultiHeadAttention whose scores path computes a different output
    (as a fused and an unfused kernel can, under mixed precision)."""

    def call(self, query, value, key=None, return_attention_scores=False, **kwargs):
        out = super().call(query, value, key=key, return_attention_scores=return_attention_scores, **kwargs)
        if return_attention_scores:
            return out[0] + 1.0, out[1]
        return out


def test_the_scores_call_never_reaches_the_models_outputs():
    model = _transformer(ScoresPathDiffers)
    x = _tokens(2)
    records = capture(model, x)
    by_path = {r.path: r for r in records}
    assert "mha" in by_path and by_path["mha"].kind == "activations"
    np.testing.assert_array_equal(by_path["mha"].value, np.asarray(
        keras.Model(model.inputs, model.get_layer("mha").output)(x, training=False)))
    np.testing.assert_array_equal(by_path["probs"].value, np.asarray(model(x, training=False)))
    # The second call's inner layers are not recorded: each inner path once.
    inner = [r.path for r in records if r.path.startswith("mha/")]
    assert inner and len(inner) == len(set(inner)) and not any("[call" in p for p in inner), inner
    assert [r.path for r in records if r.kind == "attention"] == ["mha"]


def _softmax(z):
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def test_float16_rows_are_renormalised_and_said_so():
    rng = np.random.default_rng(0)
    rows = _softmax(rng.normal(size=(2, 4, 1024)) * 3)
    half = rows.astype(np.float16)
    deviation = np.abs(half.astype(np.float64).sum(-1) - 1).max()
    assert deviation > 1e-5  # float16 rounding: the rows do not sum to 1 exactly
    fixed, normalized, note = normalize_rows(half)
    assert normalized is True and "renormalised" in note and "float16" in note
    np.testing.assert_allclose(fixed.astype(np.float64).sum(-1), 1, atol=1e-6)
    assert np.all(np.abs(fixed - half.astype(np.float64)) <= deviation * half.astype(np.float64) * 1.01 + 1e-9)


def test_rows_that_are_not_softmax_are_marked_not_normalized():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2, 3, 16))
    for array in (logits.astype(np.float16), logits.astype(np.float32)):
        out, normalized, _ = normalize_rows(array)
        assert normalized is False and out is array
    off = _softmax(rng.normal(size=(2, 3, 16))).astype(np.float32) * 1.01  # 1% off: not float32 rounding
    assert normalize_rows(off)[1] is False
    exact = _softmax(rng.normal(size=(2, 3, 16))).astype(np.float32)
    out, normalized, note = normalize_rows(exact)
    assert normalized is True and out is exact and note is None
