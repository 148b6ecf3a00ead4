"""Attention summaries: writer doors, validation, Keras capture, and the
truth test (a transformer that learns to reverse sequences must come to
attend along the anti-diagonal, read back through TensorBoard's routes)."""

import json
from urllib.parse import urlencode

import numpy as np
import pytest

from tb_plugin.kinds import attention
from tb_plugin.format import encoding
from tb_plugin.reader import Reader
from tb_plugin.summary import Writer
from helpers import read_stored
from conftest import http_get, running_tensorboard, wait_for_steps


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def event_values(logdir, tag):
    """[(step, metadata content dict, [blob bytes])] of a tag, straight from the event files
    (a file holds a tag's metadata with its first write only)."""
    from tensorboard.backend.event_processing import event_file_loader
    import glob

    out = []
    for path in sorted(glob.glob(str(logdir) + "/events.out.tfevents.*")):
        content = None
        for event in event_file_loader.EventFileLoader(path).Load():
            for value in event.summary.value:
                if value.tag == tag:
                    if value.HasField("metadata"):
                        content = json.loads(value.metadata.plugin_data.content)
                    blobs = list(value.tensor.string_val)
                    if content.get("storage") == "store":  # references into the run's payload store
                        blobs = [read_stored(logdir, raw) for raw in blobs]
                    out.append((event.step, content, blobs))
    return out



def test_writer_round_trip_tokens_once_and_changed_tokens_per_step(tmp_path):
    rng = np.random.default_rng(0)
    s0, s1, s2 = (softmax(rng.normal(size=(2, 3, 4, 4))) for _ in range(3))
    first = [list("abcd"), list("efgh")]
    with Writer(str(tmp_path)) as w:
        w.attention("attn", s0, 0, tokens=first, encoding="f32")
        w.attention("attn", s1, 1, tokens=first, encoding="f32")
        w.attention("attn", s2, 2, tokens=[list("wxyz"), list("efgh")], encoding="f32")
    values = event_values(tmp_path, "attn")
    assert [v[0] for v in values] == [0, 1, 2]
    for _, content, _ in values:
        assert content["kind"] == "attention" and content["query_tokens"] == first and content["key_tokens"] == first
        assert content["normalized"] is True and content["patch_grid"] is None
    # Unchanged labels are not repeated per step; changed ones are.
    assert len(values[0][2]) == 1 and len(values[1][2]) == 1
    assert json.loads(values[2][2][1]) == {"query_tokens": [list("wxyz"), list("efgh")], "key_tokens": [list("wxyz"), list("efgh")]}
    reader = Reader(str(tmp_path))
    np.testing.assert_array_equal(reader.read(".", "attn", 2), s2)
    assert reader.tags()["."]["attn"]["kind"] == "attention"


def test_vit_patch_grid_and_image_blob(tmp_path):
    scores = softmax(np.random.default_rng(1).normal(size=(3, 5, 5)))  # 1 class token + 2x2 patches
    image = np.random.default_rng(2).uniform(size=(8, 8, 3)).astype(np.float32)
    with Writer(str(tmp_path)) as w:
        w.attention("vit", scores, 0, patch_grid=(2, 2), prefix_tokens=1, image=image)
    [(_, content, blobs)] = event_values(tmp_path, "vit")
    assert content["patch_grid"] == [2, 2] and content["prefix_tokens"] == 1
    assert blobs[1] == b""
    np.testing.assert_array_equal(encoding.decode(blobs[2]), image)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(scores=np.ones((4, 4)) / 4), "shape \\[heads, q, k\\]"),
        (dict(tokens=list("abc")), "tokens has 3 labels, but the scores have 4 queries"),
        (dict(query_tokens=list("abcd"), key_tokens=list("ab")), "key_tokens has 2 labels, but the scores have 4 keys"),
        (dict(tokens=[list("abcd")] * 3), "no batch axis"),
        (dict(scores=np.full((1, 4, 4), 0.3)), "rows must sum to 1.*normalized=False"),
        (dict(patch_grid=(3, 3)), "patch_grid 3x3 plus 0 prefix tokens is 9 keys, but the scores have 4 keys"),
        (dict(tokens="abcd"), "not a single string"),
    ],
)
def test_validation_errors_are_clear(tmp_path, kwargs, message):
    scores = kwargs.pop("scores", np.ones((1, 4, 4)) / 4)
    with Writer(str(tmp_path)) as w, pytest.raises(ValueError, match=message):
        w.attention("bad", scores, 0, **kwargs)


def test_unnormalised_scores_need_normalized_false(tmp_path):
    logits = np.random.default_rng(3).normal(size=(2, 3, 3)).astype(np.float32)
    with Writer(str(tmp_path)) as w:
        with pytest.raises(ValueError, match="sum to 1"):
            w.attention("logits", logits, 0)
        w.attention("logits", logits, 0, normalized=False, encoding="f32")
    np.testing.assert_array_equal(Reader(str(tmp_path)).read(".", "logits", 0), logits)
    assert event_values(tmp_path, "logits")[0][1]["normalized"] is False


def test_tf_door_matches_writer(tmp_path):
    import tensorflow as tf

    from tb_plugin import summary

    scores = softmax(np.random.default_rng(4).normal(size=(2, 2, 3, 3)))
    tokens = [list("abc"), list("def")]
    with Writer(str(tmp_path / "np")) as w:
        w.attention("attn", scores, 3, tokens=tokens)
    writer = tf.summary.create_file_writer(str(tmp_path / "tf"))
    with writer.as_default():
        assert summary.attention("attn", scores, step=3, tokens=tokens)
        with pytest.raises(ValueError, match="tokens has 2 labels"):
            summary.attention("bad", scores, step=3, tokens=list("ab"))
    writer.close()
    [(step_np, content_np, blobs_np)] = event_values(tmp_path / "np", "attn")
    [(step_tf, content_tf, blobs_tf)] = event_values(tmp_path / "tf", "attn")
    assert (content_np.pop("storage"), content_tf.pop("storage")) == ("store", "inline")
    assert step_np == step_tf == 3 and content_np == content_tf
    assert blobs_np[0] == blobs_tf[0]  # the same scores payload
    assert json.loads(blobs_tf[1])["query_tokens"] == tokens  # this door repeats labels per step


def test_entropy_and_anti_diagonal_against_hand_computation():
    uniform = np.full((1, 2, 4, 4), 0.25)
    mirror = np.zeros((1, 2, 4, 4))
    mirror[..., np.arange(4), 3 - np.arange(4)] = 1.0
    np.testing.assert_allclose(attention.head_entropy(uniform), [np.log(4)] * 2)
    np.testing.assert_allclose(attention.head_entropy(mirror), [0.0, 0.0])
    assert attention.anti_diagonal_mass(mirror) == 1.0
    assert attention.anti_diagonal_mass(uniform) == 0.25


def _masked_model():
    import keras

    keras.utils.set_random_seed(0)
    tokens = keras.Input((5,), dtype="int32")
    h = keras.layers.Embedding(6, 8, mask_zero=True, name="emb")(tokens)
    h = keras.layers.MultiHeadAttention(2, 4, name="mha")(h, h)
    return keras.Model(tokens, keras.layers.Dense(3, name="out")(h))


def test_capture_records_mha_scores_with_masks():
    import keras

    from tb_plugin.keras.capture import capture

    model = _masked_model()
    x = np.array([[1, 2, 3, 0, 0], [4, 5, 1, 2, 0]], dtype="int32")
    records = capture(model, x)
    [scores] = [r.value for r in records if r.kind == "attention"]
    assert [r.path for r in records if r.kind == "attention"] == ["mha"]
    # Independently: the layer called directly, with the padding mask spelled out.
    emb = model.get_layer("emb")(x)
    valid = x != 0
    mask = valid[:, :, None] & valid[:, None, :]
    _, expected = model.get_layer("mha")(emb, emb, attention_mask=mask, return_attention_scores=True)
    np.testing.assert_allclose(scores, keras.ops.convert_to_numpy(expected), atol=1e-6)
    assert scores[0, :, :3, 3:].max() < 1e-6  # padded keys get no attention: the mask went through
    # The model's outputs at real (not padded) positions are those of a plain
    # call. (At padded queries, whose rows are all masked, Keras's scores
    # path gives zeros where its fused path gives an average: meaningless
    # either way.)
    out = [r.value for r in records if r.path == "out"][0]
    np.testing.assert_allclose(out[valid], keras.ops.convert_to_numpy(model(x))[valid], atol=1e-6)


def test_attention_fn_captures_custom_layers(tmp_path):
    import keras

    from tb_plugin.keras import InternalsCallback

    class MyAttention(keras.layers.Layer):
        def call(self, x):
            weights = keras.ops.softmax(keras.ops.matmul(x, keras.ops.transpose(x, (0, 2, 1))), axis=-1)
            self.last_scores = weights[:, None]  # [batch, 1 head, q, k]
            return keras.ops.matmul(weights, x)

    keras.utils.set_random_seed(0)
    inputs = keras.Input((4, 3))
    model = keras.Model(inputs, MyAttention(name="mine")(inputs))
    model.compile(loss="mse", optimizer="sgd")
    x = np.random.default_rng(5).normal(size=(8, 4, 3)).astype("float32")
    seen = []

    def attention_fn(layer, outputs):
        seen.append(layer.name)
        return getattr(layer, "last_scores", None) if isinstance(layer, MyAttention) else None

    model.fit(x, x, epochs=1, verbose=0, callbacks=[InternalsCallback(str(tmp_path), x[:2], attention_fn=attention_fn, encoding="f32")])
    logged = Reader(str(tmp_path)).read(".", "attention/mine", 0)  # after epoch 0
    xp = x[:2].astype(np.float64)
    np.testing.assert_allclose(logged[:, 0], softmax(xp @ xp.transpose(0, 2, 1)), atol=1e-5)
    assert "mine" in seen


def test_truth_reversal_attention_forms_on_the_anti_diagonal(tmp_path):
    """Callback -> event files -> TensorBoard routes -> decoded scores."""
    from tb_plugin.demo import transformer as demo

    logdir = tmp_path / "logs"
    demo.train_transformer(str(logdir / "rev"), epochs=4, samples=1000, probe=4, weights_freq=0)
    tag = "attention/self_attention"
    with running_tensorboard(str(logdir), "true") as url:
        wait_for_steps(url, "rev", tag, 5)
        base = url + "/data/plugin/internals/"
        status, _, body = http_get(base + "tags")
        info = json.loads(body)["rev"][tag]
        assert info["kind"] == "attention" and info["shape"] == [4, demo.HEADS, demo.SEQ_LEN, demo.SEQ_LEN]
        probe_x, _ = demo.reverse_data(4, 1)
        assert info["query_tokens"] == demo.token_labels(probe_x)
        mass = {}
        for step in (-1, 3):  # before training, after the last epoch
            status, _, payload = http_get(base + "data?" + urlencode({"run": "rev", "tag": tag, "step": step}))
            assert status == 200
            scores = encoding.decode(payload)
            n = demo.SEQ_LEN
            mass[step] = scores[..., np.arange(n), n - 1 - np.arange(n)].mean()  # computed here, not by the plugin
        assert mass[-1] < 0.3, mass  # before training: near uniform (1/6)
        assert mass[3] > 0.8, mass  # after: the mirror key carries most of each row
        status, _, body = http_get(base + "attention_summary?" + urlencode({"run": "rev", "tag": tag}))
        series = json.loads(body)
        assert series["steps"] == [-1, 0, 1, 2, 3]
        assert series["max_entropy"] == pytest.approx(np.log(demo.SEQ_LEN))
        assert min(series["entropy"][0]) > 0.9 * np.log(demo.SEQ_LEN)  # diffuse before training
        assert max(series["entropy"][-1]) < 0.5 * np.log(demo.SEQ_LEN)  # specialised after
        status, _, body = http_get(base + "attention_blob?" + urlencode({"run": "rev", "tag": tag, "step": -1, "index": 3}))
        assert status == 400
