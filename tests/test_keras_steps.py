"""InternalsCallback steps against Keras's own TensorBoard callback, resumed fits,
probe input forms, argument errors and warnings (issue 14, items 6, 8, 9).

Expected steps come from Keras's own event files (read with TensorBoard's
multiplexer), expected values from the model itself on the probe samples.
"""

import collections
import glob
import os
import warnings

import keras
import numpy as np
import pytest
from tensorboard.backend.event_processing import event_file_loader, plugin_event_multiplexer
from tensorboard.util import tensor_util

import keras_models as km
from tb_plugin.format import encoding
from tb_plugin.keras import InternalsCallback
from tb_plugin.reader import Reader

ACT = "activations/"


def _model():
    inputs = keras.Input((4,), name="vec")
    h = keras.layers.Dense(3, activation="relu", name="hidden")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, name="out")(h), name="steps_model")
    model.compile(keras.optimizers.Adam(0.05), "mse")
    return model


def _data(n=16):
    return km.vectors(n), km.targets(n, 2)


def keras_scalar_steps(run_dir, tag):
    mux = plugin_event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(str(run_dir))
    mux.Reload()
    runs = mux.Runs()
    assert "train" in runs, runs
    return [e.step for e in mux.Tensors("train", tag)]


def tag_steps(run_dir):
    """Counter of (tag, step) over every event file of a run directory."""
    found = collections.Counter()
    for path in sorted(glob.glob(os.path.join(str(run_dir), "events.out.tfevents.*"))):
        for event in event_file_loader.EventFileLoader(path).Load():
            if event.HasField("summary"):
                for v in event.summary.value:
                    found[(v.tag, event.step)] += 1
    return found


class Weights(keras.callbacks.Callback):
    """Weights before training and after each epoch (0-based), recorded independently."""

    def __init__(self):
        super().__init__()
        self.at = {}

    def on_train_begin(self, logs=None):
        self.at.setdefault("begin", []).append(self.model.get_weights())

    def on_epoch_end(self, epoch, logs=None):
        self.at[epoch] = self.model.get_weights()


def _outputs(model, weights, x, layer):
    saved = model.get_weights()
    model.set_weights(weights)
    try:
        return np.asarray(keras.Model(model.inputs, model.get_layer(layer).output)(x))
    finally:
        model.set_weights(saved)


def _close(read, expected):
    assert read.shape == expected.shape
    assert np.all(np.abs(read - expected) <= encoding.error_bound(expected) + 1e-6)


# ---- item 6: steps --------------------------------------------------------


def test_epoch_steps_agree_with_keras_tensorboard(tmp_path):
    model = _model()
    x, y = _data()
    run = tmp_path / "run"
    truth = Weights()
    model.fit(x, y, epochs=3, batch_size=4, verbose=0, callbacks=[
        keras.callbacks.TensorBoard(str(run), histogram_freq=1),
        InternalsCallback(str(run), x[:8], verbose=0),
        truth,
    ])
    keras_steps = keras_scalar_steps(run, "epoch_loss")
    assert keras_steps == [0, 1, 2]
    reader = Reader(str(run))
    ours = reader.steps(".", ACT + "hidden")
    assert ours == [-1] + keras_steps  # -1: before training
    # Keras's weight histograms are at the same steps as our weights.
    mux = plugin_event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(str(run))
    mux.Reload()
    hist_tags = [t for t in mux.Runs()["train"]["tensors"] if t.startswith("hidden") and "kernel" in t]
    assert hist_tags, mux.Runs()["train"]["tensors"]
    assert [e.step for e in mux.Tensors("train", hist_tags[0])] == keras_steps
    # And step e holds the model after epoch e (the same moment Keras's scalars describe).
    for step in keras_steps:
        _close(reader.read(".", ACT + "hidden", step), _outputs(model, truth.at[step], x[:8], "hidden"))
        assert np.array_equal(reader.read(".", "weights/hidden/kernel", step), truth.at[step][0])
    _close(reader.read(".", ACT + "hidden", -1), _outputs(model, truth.at["begin"][0], x[:8], "hidden"))


def test_batch_steps_agree_with_keras_tensorboard_update_freq(tmp_path):
    model = _model()
    x, y = _data()
    run = tmp_path / "run"
    model.fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=[  # 4 batches per epoch
        keras.callbacks.TensorBoard(str(run), update_freq=3),
        InternalsCallback(str(run), x[:8], batch_freq=3, verbose=0),
    ])
    keras_steps = keras_scalar_steps(run, "batch_loss")
    assert keras_steps == [3, 6]
    assert Reader(str(run)).steps(".", ACT + "hidden") == [0] + keras_steps  # 0: before training


def test_resumed_fit_never_logs_a_step_twice_and_the_summary_once(tmp_path):
    model = _model()
    x, y = _data()
    run = str(tmp_path / "run")
    truth = Weights()
    model.fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=[InternalsCallback(run, x[:8], verbose=0), truth])
    # A new callback (as after a restart) resuming in the same run directory.
    model.fit(x, y, epochs=4, initial_epoch=2, batch_size=4, verbose=0,
              callbacks=[InternalsCallback(run, x[:8], verbose=0), truth])
    counts = tag_steps(run)
    assert counts and set(counts.values()) == {1}, [k for k, c in counts.items() if c > 1]
    assert sorted(s for t, s in counts if t == ACT + "hidden") == [-1, 0, 1, 2, 3]
    assert [s for t, s in counts if t == "model_summary"] == [0]
    assert [s for t, s in counts if t == "logging_plan"] == [0]
    reader = Reader(run)
    for step in (0, 1, 2, 3):
        _close(reader.read(".", ACT + "hidden", step), _outputs(model, truth.at[step], x[:8], "hidden"))
    # The second fit started from the model after epoch 1: its first change
    # series entry (step 2) has no previous snapshot in memory.
    from tb_plugin.kinds import weights as W

    vector = reader._multiplexer.Tensors(".", "weight_stats/hidden/kernel")
    by_step = {e.step: W.unpack_weight_stats(tensor_util.make_ndarray(e.tensor_proto)) for e in vector}
    assert sorted(by_step) == [-1, 0, 1, 2, 3]
    assert np.isnan(by_step[-1]["relative_change"]) and np.isnan(by_step[2]["relative_change"])
    expected = np.linalg.norm(truth.at[1][0] - truth.at[0][0]) / np.linalg.norm(truth.at[0][0])
    assert by_step[1]["relative_change"] == pytest.approx(expected, rel=1e-6)


def test_repeating_a_fit_without_initial_epoch_warns_instead_of_logging_again(tmp_path):
    model = _model()
    x, y = _data()
    run = str(tmp_path / "run")
    cb = InternalsCallback(run, x[:8], verbose=0)
    model.fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=[cb])
    with pytest.warns(UserWarning, match=r"did not log steps 0, 1 again.*initial_epoch"):
        model.fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=[cb])
    counts = tag_steps(run)
    assert set(counts.values()) == {1}
    assert sorted(s for t, s in counts if t == ACT + "hidden") == [-1, 0, 1]


# ---- item 8: probe input forms ---------------------------------------------


@pytest.mark.parametrize("form", ["dataset", "dataset_xy", "generator", "pydataset", "nested_list"])
def test_probe_data_forms_give_the_first_samples(tmp_path, capsys, form):
    import tensorflow as tf

    keras.utils.set_random_seed(3)
    model = _model()
    initial = model.get_weights()
    x, y = _data()
    if form == "dataset":
        probe = tf.data.Dataset.from_tensor_slices(x).batch(3)
    elif form == "dataset_xy":
        probe = tf.data.Dataset.from_tensor_slices((x, y)).batch(3)
    elif form == "generator":
        probe = ((x[i:i + 3], y[i:i + 3]) for i in range(0, 16, 3))
    elif form == "pydataset":
        class Batches(keras.utils.PyDataset):
            def __len__(self):
                return 6

            def __getitem__(self, i):
                return x[3 * i:3 * i + 3], y[3 * i:3 * i + 3]

        probe = Batches()
    else:
        probe = x.tolist()
    run = str(tmp_path / "run")
    model.fit(x, y, epochs=1, batch_size=4, verbose=0,
              callbacks=[InternalsCallback(run, probe, probe_samples=7, epoch_freq=0)])
    out = capsys.readouterr().out
    if form != "nested_list":
        assert "took the first 7 samples from 3 batches" in out, out
    read = Reader(run).read(".", ACT + "hidden", -1)
    _close(read, _outputs(model, initial, x[:7], "hidden"))


def test_dict_inputs(tmp_path):
    a = keras.Input((4,), name="a")
    b = keras.Input((2,), name="b")
    h = keras.layers.Concatenate(name="cat")([keras.layers.Dense(3, name="da")(a), b])
    model = keras.Model({"a": a, "b": b}, keras.layers.Dense(1, name="out")(h))
    model.compile("sgd", "mse")
    x = {"a": km.vectors(8), "b": km.vectors(8)[:, :2]}
    initial = model.get_weights()
    run = str(tmp_path / "run")
    probe = {"a": x["a"].tolist(), "b": x["b"]}  # one input as nested lists
    model.fit(x, np.zeros((8, 1)), epochs=1, verbose=0, callbacks=[InternalsCallback(run, probe, epoch_freq=0, verbose=0)])
    model.set_weights(initial)
    expected = np.asarray(keras.Model(model.inputs, model.get_layer("cat").output)(x))
    _close(Reader(run).read(".", ACT + "cat", -1), expected)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"probe_data": np.zeros((0, 4))}, r"probe_data is empty \(0 samples"),
        ({"probe_data": [np.zeros((0, 4))]}, r"probe_data is empty"),
        ({"probe_data": 3.0}, r"probe_data holds a scalar.*batch axis"),
        ({"probe_data": [np.zeros((3, 4)), np.zeros((2, 4))]}, r"different sample counts"),
        ({"probe_data": (x for x in [])}, r"yields no batch"),
        ({"attention_tokens": "abc"}, r"attention_tokens='abc' is a single string; pass a list"),
        ({"attention_tokens": []}, r"attention_tokens is empty"),
        ({"attention_tokens": [["a"], "b"]}, r"not a mix"),
        ({"probe_samples": True}, r"probe_samples must be an int >= 1, got True \(bool\)"),
        ({"probe_samples": 2.0}, r"probe_samples must be an int >= 1, got 2.0 \(float\)"),
        ({"probe_samples": 0}, r"probe_samples must be an int >= 1"),
        ({"epoch_freq": False}, r"epoch_freq must be an int >= 0"),
        ({"batch_freq": 1.5}, r"batch_freq must be an int >= 1 or None"),
        ({"weights_freq": True}, r"weights_freq must be an int >= 0 or None"),
        ({"map_samples": "4"}, r"map_samples must be an int >= 0 or None"),
        ({"budget": 0}, r"budget must be a positive number of bytes"),
        ({"budget": True}, r"budget must be a positive number of bytes"),
        ({"encoding": "q4"}, r"encoding='q4' is unknown"),
    ],
)
def test_bad_arguments_name_the_argument_and_the_fix(kwargs, message):
    args = dict(log_dir="unused", probe_data=np.zeros((4, 4)))
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        InternalsCallback(**args)


def test_numpy_integer_counts_are_accepted():
    cb = InternalsCallback("unused", np.zeros((4, 4)), probe_samples=np.int64(2), batch_freq=np.int32(3))
    assert cb.probe_samples == 2 and cb.batch_freq == 3
    assert np.shape(cb.probe_x) == (2, 4)


# ---- item 9: no warnings ----------------------------------------------------


def test_no_warnings_under_simplefilter_error(tmp_path):
    model = _model()
    x, y = _data()
    run = str(tmp_path / "run")
    truth = Weights()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(x, y, epochs=2, batch_size=4, verbose=0,
                  callbacks=[InternalsCallback(run, x[:8], verbose=0, scalars=True), truth])
    reader = Reader(run)
    for step in (0, 1):
        for i, name in enumerate(("kernel", "bias")):
            assert np.array_equal(reader.read(".", "weights/hidden/" + name, step), truth.at[step][i])
