"""Recurrent layers and stable names (issue 14, items 4 and 7).

Expected values: recurrent layers called by hand, and a numpy LSTM written
here from the Keras equations; expected names: written out by hand.
"""

import keras
import numpy as np
import pytest

from tb_plugin.format import encoding
from tb_plugin.keras.naming import stable_names
from tb_plugin.keras import InternalsCallback
from tb_plugin.reader import Reader

T, F = 5, 3


def _close(read, expected, what=""):
    expected = np.asarray(expected)
    assert read.shape == expected.shape, (what, read.shape, expected.shape)
    assert np.all(np.abs(read - expected) <= encoding.error_bound(expected) + 1e-6), what


def _recurrent_model():
    """Automatic names on purpose: a Bidirectional LSTM, a GRU returning its state."""
    inputs = keras.Input((T, F))
    h = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True))(inputs)
    out, state = keras.layers.GRU(3, return_state=True)(h)
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Concatenate()([out, state])))
    model.compile("adam", "mse")
    return model


def _fit(tmp_path, model, **kwargs):
    x = np.random.default_rng(0).normal(size=(8, T, F)).astype("float32")
    initial = model.get_weights()
    run = str(tmp_path / "run")
    model.fit(x, np.zeros((8, 2)), epochs=1, verbose=0,
              callbacks=[InternalsCallback(run, x, epoch_freq=0, verbose=0, **kwargs)])
    model.set_weights(initial)
    return x, Reader(run)


def _activation_tags(reader):
    return {t[len("activations/"):] for t, i in reader.tags()["."].items() if i["kind"] == "activations"}


def test_recurrent_layers_log_their_outputs_and_states_not_each_cell_call(tmp_path):
    model = _recurrent_model()
    x, reader = _fit(tmp_path, model)
    assert _activation_tags(reader) == {
        "bidirectional", "bidirectional/forward_lstm", "bidirectional/backward_lstm",
        "gru:output", "gru:state", "concatenate", "dense",
    }
    bidir = model.layers[1]
    gru = model.layers[2]
    _close(reader.read(".", "activations/bidirectional", -1), bidir(x))
    _close(reader.read(".", "activations/bidirectional/forward_lstm", -1), bidir.forward_layer(x))
    _close(reader.read(".", "activations/bidirectional/backward_lstm", -1), bidir.backward_layer(x))
    out, state = gru(bidir(x))
    _close(reader.read(".", "activations/gru:output", -1), out)
    _close(reader.read(".", "activations/gru:state", -1), state)
    # No activation is claimed for gated outputs and states: no saturation counted.
    infos = reader.tags()["."]
    for tag in ("gru:output", "gru:state", "bidirectional/forward_lstm"):
        assert infos["activation_stats/" + tag]["activation"] is None, tag


def _numpy_lstm(x, kernel, recurrent, bias):
    n = recurrent.shape[0]
    h = np.zeros((x.shape[0], n))
    c = np.zeros((x.shape[0], n))
    hs, cs = [], []
    sig = lambda z: 1 / (1 + np.exp(-z))
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent + bias
        i, f, g, o = sig(z[:, :n]), sig(z[:, n:2 * n]), np.tanh(z[:, 2 * n:3 * n]), sig(z[:, 3 * n:])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
        cs.append(c)
    return np.stack(hs, axis=1), np.stack(cs, axis=1)


@pytest.mark.parametrize("selector", ["bidirectional/forward_lstm/lstm_cell", "LSTMCell"])
def test_a_selected_cell_logs_its_calls_as_one_tag_with_a_time_axis(tmp_path, selector):
    model = _recurrent_model()
    layers = [keras.layers.LSTMCell] if selector == "LSTMCell" else [selector]
    x, reader = _fit(tmp_path, model, layers=layers)
    forward = model.layers[1].forward_layer
    kernel, recurrent, bias = [w.astype(np.float64) for w in forward.cell.get_weights()]
    h, c = _numpy_lstm(x.astype(np.float64), kernel, recurrent, bias)
    tags = _activation_tags(reader)
    if selector == "LSTMCell":
        assert tags == {"bidirectional/%s_lstm/lstm_cell:%s" % (d, o)
                        for d in ("forward", "backward") for o in ("output", "state_c")}
    else:
        assert tags == {"bidirectional/forward_lstm/lstm_cell:output", "bidirectional/forward_lstm/lstm_cell:state_c"}
    out = reader.read(".", "activations/bidirectional/forward_lstm/lstm_cell:output", -1)
    assert out.shape == (8, T, 4)
    np.testing.assert_allclose(out, h, atol=encoding.error_bound(h).max() + 1e-5)
    np.testing.assert_allclose(reader.read(".", "activations/bidirectional/forward_lstm/lstm_cell:state_c", -1), c,
                               atol=encoding.error_bound(c).max() + 1e-5)
    assert reader.tags()["."]["activation_stats/bidirectional/forward_lstm/lstm_cell:state_c"]["activation"] is None


# ---- stable names -----------------------------------------------------------


class Scale(keras.layers.Layer):
    """Two unnamed variables (automatic names `variable`, `variable_N`)."""

    def build(self, shape):
        self.a = self.add_weight(shape=(shape[-1],), initializer="ones")
        self.b = self.add_weight(shape=(shape[-1],), initializer="zeros")

    def call(self, x):
        return x * self.a + self.b


class TwoOutputs(keras.layers.Layer):
    def call(self, x):
        return {"sequence_output": x, "pooled_output": keras.ops.mean(x, axis=-1, keepdims=True)}


def _auto_named():
    inputs = keras.Input((4,))
    h = keras.layers.Dense(3)(inputs)
    h = Scale()(h)
    h = keras.layers.Dense(3, name="explicit")(h)
    inner = keras.Sequential([keras.layers.Dense(3), keras.layers.Dense(3)])
    h = inner(h)
    outputs = TwoOutputs(name="backbone")(h)
    h = keras.layers.Concatenate()([outputs["sequence_output"], outputs["pooled_output"]])
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile("sgd", "mse")
    return model


def _tags(tmp_path, name):
    model = _auto_named()
    x = np.random.default_rng(0).normal(size=(4, 4)).astype("float32")
    run = str(tmp_path / name)
    model.fit(x, np.zeros((4, 1)), epochs=1, verbose=0,
              callbacks=[InternalsCallback(run, x, epoch_freq=0, verbose=0)])
    return model, set(Reader(run).tags()["."])


def test_the_same_architecture_gives_the_same_tags_in_one_process(tmp_path):
    first_model, first = _tags(tmp_path, "a")
    second_model, second = _tags(tmp_path, "b")
    # Keras numbered the second build differently...
    assert [l.name for l in first_model.layers] != [l.name for l in second_model.layers]
    # ...the tags are the same, renumbered within the model.
    assert first == second
    expected_acts = {"dense", "scale", "explicit", "sequential/dense_1", "sequential/dense_2", "sequential",
                     "backbone:sequence_output", "backbone:pooled_output", "concatenate", "dense_3"}
    assert {t[len("activations/"):] for t in first if t.startswith("activations/")} == expected_acts
    assert {"weights/scale/variable", "weights/scale/variable_1", "weights/dense/kernel",
            "weights/sequential/dense_1/kernel", "weights/dense_3/bias"} <= first


def test_stable_names_keep_explicit_names_and_skip_them_when_numbering():
    inputs = keras.Input((4,))
    a = keras.layers.Dense(2, name="dense_1")(inputs)  # explicit, looks automatic: kept, counted
    b = keras.layers.Dense(2)(a)
    c = keras.layers.Dense(2, name="head")(b)
    model = keras.Model(inputs, c)
    names = stable_names(model)
    got = [names[id(l)] for l in model.layers[1:]]
    # "dense_1" matches the automatic pattern, so it is renumbered too: the
    # first Dense is "dense", the second "dense_1"; "head" stays.
    assert got == ["dense", "dense_1", "head"]


def test_the_adapter_describes_the_layer_graph():
    """KerasAdapter.graph(): the call graph of a branching Functional model, a Sequential chain, and a
    subclassed model's layers without edges (its call is Python)."""
    from tb_plugin.keras.adapter import KerasAdapter

    inputs = keras.Input((4,), name="x")
    a = keras.layers.Dense(3, name="a")(inputs)
    b = keras.layers.Dense(3, name="b")(inputs)
    out = keras.layers.Dense(2, name="out")(keras.layers.Add(name="add")([a, b]))
    graph = KerasAdapter(keras.Model(inputs, out)).graph()
    assert graph["complete"] and [n["path"] for n in graph["nodes"]] == ["x", "a", "b", "add", "out"]
    assert sorted(graph["edges"]) == [["a", "add"], ["add", "out"], ["b", "add"], ["x", "a"], ["x", "b"]]
    chain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="d1"), keras.layers.Dense(2, name="d2")])
    assert ["d1", "d2"] in KerasAdapter(chain).graph()["edges"]

    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = keras.layers.Dense(2, name="d")

        def call(self, x):
            return self.d(x)

    sub = Sub()
    sub(np.zeros((1, 3), "float32"))
    graph = KerasAdapter(sub).graph()
    assert graph == {"nodes": [{"path": "d", "class": "Dense"}], "edges": [], "complete": False}
