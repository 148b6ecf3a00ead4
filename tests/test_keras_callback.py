"""InternalsCallback (tb_plugin.keras) end to end: fit -> event files -> decoder.

Every expected value here is computed independently of the callback: layer
outputs from sub-models built on `layer.output` or from sublayers called by
hand (see keras_models.py), statistics with numpy from those outputs, and
the q8 tolerance from `encoding.error_bound` of the true values.
"""

import collections
import glob
import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
from tensorboard import context as tb_context
from tensorboard.backend.event_processing import data_provider as mux_data_provider
from tensorboard.backend.event_processing import event_file_loader, plugin_event_multiplexer
from tensorboard.compat.proto import summary_pb2
from tensorboard.util import tensor_util

import keras_models as km
from tb_plugin.backend import data_access
from tb_plugin.format import encoding
from tb_plugin import summary
from tb_plugin.keras import InternalsCallback
from tb_plugin.reader import Reader

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
PROBE = 8  # probe samples
EPOCHS = 2
STEPS = list(range(-1, EPOCHS))  # -1: before training; e: after epoch e (0-based, as Keras's TensorBoard)
ACT, STATS = "activations/", "activation_stats/"


# ---------------------------------------------------------------------------
# Helpers (independent of tb_plugin's own code paths where it matters)


class History(keras.callbacks.Callback):
    """Records the model weights at every point the callback may log, and
    counts epochs and batches that ran."""

    def __init__(self, per_batch=False):
        super().__init__()
        self.per_batch = per_batch
        self.initial = None
        self.after_epoch = {}
        self.after_batch = {}
        self.epochs_begun = 0
        self.batches_run = 0

    # Not at on_train_begin: without a distribution strategy Keras builds an
    # unbuilt model (Sequential without Input, subclassed) only when the
    # train function is traced, so there may be no weights yet. Nothing
    # changes them between on_train_begin and the first batch.
    def _snapshot_initial(self):
        if self.initial is None:
            self.initial = self.model.get_weights()

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs_begun += 1
        self._snapshot_initial()

    def on_train_batch_begin(self, batch, logs=None):
        self._snapshot_initial()

    def on_epoch_end(self, epoch, logs=None):
        self.after_epoch[epoch] = self.model.get_weights()  # logged at step `epoch`, as Keras's TensorBoard

    def on_train_batch_end(self, batch, logs=None):
        self.batches_run += 1
        if self.per_batch:
            self.after_batch[self.batches_run] = self.model.get_weights()


class EpochCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = self.batches = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs += 1

    def on_train_batch_begin(self, batch, logs=None):
        self.batches += 1


def probe_of(x, n=PROBE):
    return keras.tree.map_structure(lambda a: np.asarray(a)[:n], x)


def expected_at(case, model, weights, x):
    """Layer outputs of `model` with `weights` loaded, computed independently."""
    saved = model.get_weights()
    model.set_weights(weights)
    try:
        return case.expected(model, x)
    finally:
        model.set_weights(saved)


def tags_by_kind(reader, run):
    """(activation paths, stats paths) of a run, from the tag listing."""
    tags = reader.tags().get(run, {})
    acts = {t[len(ACT):] for t, info in tags.items() if info.get("kind") == "activations"}
    stats_ = {t[len(STATS):] for t, info in tags.items() if info.get("kind") == "activation_stats"}
    assert all(t.startswith(ACT) for t, i in tags.items() if i.get("kind") == "activations")
    assert all(t.startswith(STATS) for t, i in tags.items() if i.get("kind") == "activation_stats")
    return acts, stats_


def read_stats(logdir, run):
    """{tag: [TensorDatum]} through data_access.read_stats on a fresh provider."""
    mux = plugin_event_multiplexer.EventMultiplexer(tensor_size_guidance={"internals": 0})
    mux.AddRunsFromDirectory(str(logdir))
    mux.Reload()
    provider = mux_data_provider.MultiplexerDataProvider(mux, str(logdir))
    found = data_access.read_stats(provider, tb_context.RequestContext(), "", run)
    return {tag: datums for tag, datums in found.items() if tag.startswith(STATS)}


def unpack(vector, info):
    """Splits a stats vector by the layout its metadata states."""
    fields, bins = info["fields"], info["bins"]
    n = len(fields)
    vector = np.asarray(vector, np.float64)
    out = {f: vector[i] for i, f in enumerate(fields)}
    out["edges"] = vector[n:n + bins + 1]
    out["counts"] = vector[n + bins + 1:n + 2 * bins + 1]
    out["flags"] = vector[n + 2 * bins + 1:]
    assert out["flags"].size == info["units"]
    return out


def numpy_stats(a):
    a = np.asarray(a, np.float64)
    finite = a[np.isfinite(a)]
    return {
        "mean": finite.mean(),
        "std": finite.std(),
        "min": finite.min(),
        "max": finite.max(),
        "zero_fraction": np.mean(a == 0),
        "nonfinite_count": a.size - finite.size,
        "units": a.shape[-1],
    }


def dead_units(a):
    """The docstring rule: a unit never positive anywhere in the probe batch."""
    per_unit = np.asarray(a).reshape(-1, np.shape(a)[-1])
    return np.flatnonzero(~(per_unit > 0).any(axis=0))


def saturated_units(a, family):
    """The docstring rule: saturated for at least 99% of the unit's values."""
    per_unit = np.asarray(a, np.float64).reshape(-1, np.shape(a)[-1])
    if family == "tanh":
        sat = np.abs(per_unit) > 0.99
    else:
        sat = (per_unit < 0.01) | (per_unit > 0.99)
    return np.flatnonzero(sat.mean(axis=0) >= 0.99)


def assert_q8_close(read, expected, what=""):
    expected = np.asarray(expected)
    assert read.shape == expected.shape, what
    assert np.array_equal(np.isnan(read), np.isnan(expected)), what
    finite = np.isfinite(expected)
    assert np.array_equal(read[~finite & ~np.isnan(expected)], expected[~finite & ~np.isnan(expected)]), what
    e64 = expected.astype(np.float64)[finite]
    bound = encoding.error_bound(expected)[finite] + 1e-6 * np.abs(e64) + 1e-9  # tiny slack
    error = np.abs(read.astype(np.float64)[finite] - e64)
    assert np.all(error <= bound), "%s: error %g over bound" % (what, (error - bound).max())


def assert_f32_equal(read, expected, what=""):
    expected = np.asarray(expected)
    assert read.shape == expected.shape, what
    assert read.dtype == np.float32
    np.testing.assert_allclose(read, expected.astype(np.float32), rtol=1e-6, atol=1e-9, err_msg=what)


def event_values(run_dir):
    """[(tag, step)] of every summary value in the event files of a run dir."""
    found = []
    for path in sorted(glob.glob(os.path.join(str(run_dir), "events.out.tfevents.*"))):
        for event in event_file_loader.EventFileLoader(path).Load():
            if event.HasField("summary"):
                found.extend((v.tag, event.step) for v in event.summary.value)
    return found


def own_calls(model):
    """{layer: the `call` in its instance __dict__ (None if none)} for every layer."""
    return {id(layer): (layer, layer.__dict__.get("call")) for layer in km.all_layers(model)}


def assert_calls_restored(model, before=None):
    layers = km.all_layers(model)
    assert layers
    for layer in layers:
        assert "call" not in layer.__dict__, "layer %r still has an instance `call`" % layer.name
        assert layer.call.__func__ is type(layer).call
    if before is not None:
        assert {k: v[1] for k, v in own_calls(model).items()} == {k: v[1] for k, v in before.items()}


def callback_warnings(record):
    return [str(w.message) for w in record if "InternalsCallback" in str(w.message)]


def base_name(path):
    """Layer name of a path: last segment without ` [call N]` or `:i`."""
    last = path.split("/")[-1]
    return re.sub(r"( \[call \d+\])?(:\d+)?$", "", last)


# The activation functions of the builders' layers (by layer name).
FAMILY = {"conv": "relu", "hidden": "tanh", "shared": "tanh", "dense_b": "sigmoid"}


# ---------------------------------------------------------------------------
# 1-3: every model kind, truth of activations and statistics


_RUNS = {}


@pytest.fixture
def trained(tmp_path_factory):
    """Fits a model kind once per (kind, encoding) with the callback and a
    weight recorder; returns what the tests need."""

    def run(kind, enc):
        key = (kind, enc)
        if key not in _RUNS:
            case = km.KINDS[kind]()
            model = case.model
            calls_before = own_calls(model)
            logdir = tmp_path_factory.mktemp("%s_%s" % (kind, enc))
            history = History()
            if enc == "q8":  # the (x, y) form, trimmed to probe_samples
                cb = InternalsCallback(str(logdir / "run"), probe_data=(case.x, case.y), probe_samples=PROBE)
            else:  # a plain batch of inputs
                cb = InternalsCallback(str(logdir / "run"), probe_data=probe_of(case.x), encoding="f32")
            model.compile(keras.optimizers.Adam(0.05), "mse")
            model.fit(case.x, case.y, batch_size=8, epochs=EPOCHS, shuffle=False, verbose=0, callbacks=[history, cb])
            probe = probe_of(case.x)
            weights = {-1: history.initial, **history.after_epoch}
            expected = {step: expected_at(case, model, w, probe) for step, w in weights.items()}
            _RUNS[key] = dict(
                case=case, logdir=logdir, expected=expected, calls_before=calls_before, reader=Reader(str(logdir))
            )
        return _RUNS[key]

    return run


@pytest.mark.parametrize("kind", sorted(km.KINDS))
def test_every_layer_output_is_logged_under_its_path_at_every_step(trained, kind):
    r = trained(kind, "q8")
    acts, stats_ = tags_by_kind(r["reader"], "run")
    assert acts == set(r["case"].paths)
    assert stats_ == set(r["case"].paths)
    for path in r["case"].paths:
        assert r["reader"].steps("run", ACT + path) == STEPS
    for tag, datums in read_stats(r["logdir"], "run").items():
        assert [d.step for d in datums] == STEPS, tag


@pytest.mark.parametrize("kind", sorted(km.KINDS))
def test_call_methods_are_restored_after_fit(trained, kind):
    r = trained(kind, "q8")
    assert_calls_restored(r["case"].model, r["calls_before"])


@pytest.mark.parametrize("enc", ["q8", "f32"])
@pytest.mark.parametrize("kind", sorted(km.KINDS))
def test_logged_activations_equal_true_layer_outputs(trained, kind, enc):
    r = trained(kind, enc)
    reader = r["reader"]
    assert set(r["expected"]) == set(STEPS)
    for step, outputs in r["expected"].items():
        assert set(outputs) == set(r["case"].paths)
        for path, value in outputs.items():
            read = reader.read("run", ACT + path, step)
            what = "%s %s step %d" % (kind, path, step)
            if enc == "f32":
                assert_f32_equal(read, value, what)
            else:
                assert_q8_close(read, value, what)
    # The test can tell steps apart: training moved some layer's output
    # further than the q8 bound between step -1 and the last step.
    first, last = r["expected"][-1], r["expected"][EPOCHS - 1]
    assert any(
        np.any(np.abs(first[p] - last[p]) > encoding.error_bound(last[p]) * 2) for p in r["case"].paths
    )


@pytest.mark.parametrize("kind", sorted(km.KINDS))
def test_logged_statistics_equal_numpy_statistics(trained, kind):
    r = trained(kind, "q8")
    infos = r["reader"].tags()["run"]
    series = read_stats(r["logdir"], "run")
    assert set(series) == {STATS + p for p in r["case"].paths}
    for tag, datums in series.items():
        path = tag[len(STATS):]
        info = infos[tag]
        assert info["source_tag"] == ACT + path
        family = FAMILY.get(base_name(path))
        for datum in datums:
            true = r["expected"][datum.step][path]
            got = unpack(datum.numpy, info)
            what = "%s step %d" % (tag, datum.step)
            for field, value in numpy_stats(true).items():
                np.testing.assert_allclose(got[field], value, rtol=1e-6, atol=1e-7, err_msg=what + " " + field)
            finite = np.asarray(true, np.float64)[np.isfinite(true)]
            assert got["counts"].sum() == finite.size, what
            np.testing.assert_allclose(got["edges"][[0, -1]], [finite.min(), finite.max()], rtol=1e-6, atol=1e-7)
            np.testing.assert_array_equal(got["counts"], np.histogram(finite, bins=got["edges"])[0], err_msg=what)
            units = np.shape(true)[-1]
            if family == "relu":
                dead = dead_units(true)
                assert np.array_equal(np.flatnonzero(got["flags"] == 1), dead), what
                assert got["dead_units"] == dead.size
                assert got["dead_fraction"] == pytest.approx(dead.size / units)
                assert np.isnan(got["saturated_fraction"])
            elif family in ("tanh", "sigmoid"):
                sat = saturated_units(true, family)
                assert np.array_equal(np.flatnonzero(got["flags"] == 2), sat), what
                assert got["saturated_fraction"] == pytest.approx(sat.size / units)
                assert np.isnan(got["dead_fraction"])
            else:
                assert np.isnan(got["dead_fraction"]) and np.isnan(got["saturated_fraction"]), what
                assert not got["flags"].any(), what


# ---------------------------------------------------------------------------
# 3: dead and saturated units, non-finite values


class Holes(keras.layers.Layer):
    """Identity while training; in inference puts NaN/+Inf/-Inf at fixed places."""

    SPOTS = {(0, 0): np.nan, (1, 2): np.inf, (2, 3): -np.inf, (5, 1): np.nan}

    def call(self, x, training=False):
        if training:
            return x
        shape = (PROBE * 2, 4)
        values = np.zeros(shape, "float32")
        mask = np.zeros(shape, bool)
        for spot, v in self.SPOTS.items():
            values[spot], mask[spot] = v, True
        n = x.shape[0]
        return keras.ops.where(mask[:n], values[:n], x)

    def compute_output_shape(self, input_shape):
        return input_shape


def _units_model():
    rng = np.random.default_rng(7)
    vec = keras.Input((4,), name="vec")
    img = keras.Input(km.IMAGE, name="img")
    relu_dense = keras.layers.Dense(5, activation="relu", name="relu_dense")
    pre = keras.layers.Dense(3, name="pre")
    leaky = keras.layers.LeakyReLU(negative_slope=0.1, name="leaky")
    tanh_dense = keras.layers.Dense(4, activation="tanh", name="tanh_dense")
    sig_dense = keras.layers.Dense(3, activation="sigmoid", name="sigmoid_dense")
    conv = keras.layers.Conv2D(4, 3, activation="relu", name="conv")
    parts = [
        relu_dense(vec),
        leaky(pre(vec)),
        Holes(name="holes")(tanh_dense(vec)),
        sig_dense(vec),
        keras.layers.Flatten(name="flat")(conv(img)),
    ]
    out = keras.layers.Dense(1, name="out")(keras.layers.Concatenate(name="cat")(parts))
    model = keras.Model([vec, img], out, name="units")

    # relu_dense: unit 0 positive for one sample only (healthy); units 1, 3
    # have bias -100 (dead); unit 2 always positive; unit 4 has negative
    # weights on non-negative inputs (never positive: dead).
    k = rng.normal(0, 0.5, (4, 5)).astype("float32")
    b = np.array([-2, -100, 0.1, -100, 0], "float32")
    k[:, 0] = [1, 0, 0, 0]
    k[:, 1] = 0
    k[:, 2] = np.abs(k[:, 2]) + 0.1
    k[:, 4] = -np.abs(k[:, 4]) - 0.1
    relu_dense.set_weights([k, b])
    # pre -> leaky: unit 1 always negative (dead), units 0, 2 positive.
    k = np.abs(rng.normal(0, 0.5, (4, 3))).astype("float32") + 0.1
    k[:, 1] = 0
    pre.set_weights([k, np.array([0, -100, 0], "float32")])
    # tanh: units 0 (+1) and 2 (-1) saturated; unit 3 saturated on 15 of 16
    # samples (under 99%: healthy); unit 1 small (healthy).
    k = rng.normal(0, 0.1, (4, 4)).astype("float32")
    k[:, 0] = k[:, 2] = 0
    k[:, 3] = [-20, 0, 0, 0]
    tanh_dense.set_weights([k, np.array([100, 0, -100, 100], "float32")])
    # sigmoid: unit 0 near 0, unit 1 near 1 (saturated), unit 2 healthy.
    k = rng.normal(0, 0.1, (4, 3)).astype("float32")
    k[:, 0] = k[:, 1] = 0
    sig_dense.set_weights([k, np.array([-100, 100, 0], "float32")])
    # conv: channels 0 and 2 have bias -100 (dead); 1 and 3 positive kernels.
    k = rng.normal(0, 0.3, (3, 3, 1, 4)).astype("float32")
    k[..., 1] = np.abs(k[..., 1])
    k[..., 3] = np.abs(k[..., 3])
    conv.set_weights([k, np.array([-100, 0.5, -100, 0.5], "float32")])

    x_vec = np.random.default_rng(8).uniform(0, 1, (PROBE * 2, 4)).astype("float32")
    x_vec[0, 0] = 5.0  # the one sample that wakes relu_dense unit 0 and calms tanh unit 3
    x_img = np.random.default_rng(9).uniform(0, 1, (PROBE * 2,) + km.IMAGE).astype("float32")
    return model, [x_vec, x_img]


UNIT_EXPECTATIONS = {  # layer: (family, flagged units known by construction)
    "relu_dense": ("relu", [1, 3, 4]),
    "leaky": ("relu", [1]),
    "conv": ("relu", [0, 2]),
    "tanh_dense": ("tanh", [0, 2]),
    "sigmoid_dense": ("sigmoid", [0, 1]),
    "pre": (None, []),
    "holes": (None, []),
    "out": (None, []),
}


@pytest.fixture(scope="module")
def units_run(tmp_path_factory):
    model, x = _units_model()
    y = np.zeros((PROBE * 2, 1), "float32")
    true = {name: np.asarray(keras.Model(model.inputs, model.get_layer(name).output)([x[0], x[1]])) for name in UNIT_EXPECTATIONS}
    logdir = tmp_path_factory.mktemp("units")
    model.compile("sgd", "mse")
    # epoch_freq=0: only the model as built (step -1) is logged.
    cb = InternalsCallback(str(logdir / "run"), probe_data=x, probe_samples=PROBE * 2, epoch_freq=0)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[cb])
    return logdir, true, Reader(str(logdir))


@pytest.mark.parametrize("layer", sorted(UNIT_EXPECTATIONS))
def test_dead_and_saturated_units_are_exactly_the_known_ones(units_run, layer):
    logdir, true, reader = units_run
    family, known = UNIT_EXPECTATIONS[layer]
    value = true[layer]
    units = value.shape[-1]
    # The construction does what it says (checked with the documented rules).
    if family == "relu":
        assert dead_units(value).tolist() == known
    elif family:
        assert saturated_units(value, family).tolist() == known
    series = read_stats(logdir, "run")[STATS + layer]
    assert [d.step for d in series] == [-1]
    info = reader.tags()["run"][STATS + layer]
    got = unpack(series[0].numpy, info)
    assert got["units"] == units
    if family == "relu":
        assert np.flatnonzero(got["flags"] == 1).tolist() == known
        assert not np.any(got["flags"] == 2)
        assert got["dead_units"] == len(known)
        assert got["dead_fraction"] == pytest.approx(len(known) / units)
        assert np.isnan(got["saturated_units"]) and np.isnan(got["saturated_fraction"])
    elif family:
        assert np.flatnonzero(got["flags"] == 2).tolist() == known
        assert not np.any(got["flags"] == 1)
        assert got["saturated_units"] == len(known)
        assert got["saturated_fraction"] == pytest.approx(len(known) / units)
        assert np.isnan(got["dead_units"]) and np.isnan(got["dead_fraction"])
    else:
        assert not got["flags"].any()
        assert np.isnan(got["dead_fraction"]) and np.isnan(got["saturated_fraction"])


def test_statistics_and_activations_with_nonfinite_values(units_run):
    logdir, true, reader = units_run
    value = true["holes"]
    assert np.count_nonzero(~np.isfinite(value)) == len(Holes.SPOTS)
    info = reader.tags()["run"][STATS + "holes"]
    got = unpack(read_stats(logdir, "run")[STATS + "holes"][0].numpy, info)
    for field, expected in numpy_stats(value).items():
        assert got[field] == pytest.approx(expected, rel=1e-6, abs=1e-7), field
    assert got["nonfinite_count"] == len(Holes.SPOTS)
    assert got["counts"].sum() == np.count_nonzero(np.isfinite(value))
    # NaN/Inf come back where they were; finite values within the q8 bound.
    assert_q8_close(reader.read("run", ACT + "holes", -1), value, "holes")


# ---------------------------------------------------------------------------
# 4: training is not disturbed (own process: op determinism is global)

DETERMINISM_SCRIPT = r"""
import os, re, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
out_path, logdir, tests_dir = sys.argv[1:4]
import tensorflow as tf
tf.config.experimental.enable_op_determinism()
import keras
import numpy as np
sys.path.insert(0, tests_dir)
import keras_models as km
from tb_plugin.keras import InternalsCallback

x, y = km.images(32, seed=5), km.targets(32, 2, seed=6)

class Disturb(keras.callbacks.Callback):
    # Control: a careless probe, a training-mode forward pass after each batch
    # (advances Dropout's seed, updates BatchNormalization's moving stats).
    def on_train_batch_end(self, batch, logs=None):
        self.model(x[:8], training=True)

def train(callbacks):
    keras.utils.set_random_seed(0)
    model = km.SubclassedNet(name="sub")  # BatchNormalization + Dropout, built by fit
    model.compile(keras.optimizers.Adam(0.01), "mse")
    model.fit(x, y, batch_size=8, epochs=2, shuffle=True, verbose=0, callbacks=callbacks)
    variables = list(model.variables) + list(model.optimizer.variables)
    # Keyed by position and path without Keras' uniquifying suffixes
    # ("adam_3/iteration" in the fourth run is "adam/iteration").
    return {"%03d %s" % (i, re.sub(r"_\d+(?=/)", "", v.path)): np.array(v.numpy()) for i, v in enumerate(variables)}

runs = {
    "plain": train([]),
    "epoch": train([InternalsCallback(os.path.join(logdir, "epoch"), probe_data=x, scalars=True)]),
    "batch": train([InternalsCallback(os.path.join(logdir, "batch"), probe_data=x, batch_freq=1)]),
    "plain_again": train([]),
    "control": train([Disturb()]),
}
np.savez(out_path, **{run + "|" + k: v for run, vs in runs.items() for k, v in vs.items()})
"""


def _run_script(script, *args, timeout=300):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def test_training_is_bitwise_identical_with_and_without_the_callback(tmp_path):
    out = tmp_path / "weights.npz"
    _run_script(DETERMINISM_SCRIPT, out, tmp_path / "logs", TESTS_DIR)
    saved = np.load(out)
    runs = collections.defaultdict(dict)
    for key in saved.files:
        run, name = key.split("|", 1)
        runs[run][name] = saved[key]
    plain = runs["plain"]
    assert len(plain) > 10  # weights, BN moving stats, seed state, optimizer slots

    def identical(other):
        return set(other) == set(plain) and all(np.array_equal(other[k], plain[k]) for k in plain)

    assert identical(runs["plain_again"]), "the environment itself is not deterministic"
    assert identical(runs["epoch"])
    assert identical(runs["batch"])
    # The comparison would notice a probe pass that touched training state.
    assert not identical(runs["control"])
    # ...and the callbacks did log.
    reader = Reader(str(tmp_path / "logs"))
    assert reader.steps("epoch", ACT + "conv") == [-1, 0, 1]
    assert reader.steps("batch", ACT + "conv") == list(range(9))  # 4 batches x 2 epochs


# ---------------------------------------------------------------------------
# 5: a logging failure never stops training


def _wide_model():
    inputs = keras.Input((4,), name="vec")
    wide = keras.layers.Dense(8, name="wide")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, name="out")(wide), name="wide_model")
    model.compile(keras.optimizers.SGD(0.1), "mse")
    return model, km.vectors(16), km.targets(16, 2)


def test_layer_over_max_values_warns_and_training_goes_on(tmp_path):
    model, x, y = _wide_model()
    before = model.get_weights()
    # `wide` has PROBE * 8 = 64 values, `out` 16: only `wide` is over 40.
    # Without a budget, everything is attempted as asked.
    cb = InternalsCallback(str(tmp_path / "run"), probe_data=x, probe_samples=PROBE, max_values=40, budget=None)
    with pytest.warns(UserWarning) as record:
        history = model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[cb])
    messages = callback_warnings(record)
    assert messages and all("'wide'" in m for m in messages)
    assert all("64 values" in m and "limit of 40" in m for m in messages)
    assert len(history.history["loss"]) == 2
    assert not all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    reader = Reader(str(tmp_path))
    acts, _ = tags_by_kind(reader, "run")
    assert acts == {"out"}
    assert reader.steps("run", ACT + "out") == STEPS


def test_strict_raises_on_a_layer_over_max_values(tmp_path):
    model, x, y = _wide_model()
    cb = InternalsCallback(str(tmp_path / "run"), probe_data=x, probe_samples=PROBE, max_values=40, strict=True,
                           budget=None)
    counter = EpochCounter()
    with pytest.raises(RuntimeError, match=r"'wide'.*limit of 40"):
        model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[counter, cb])
    assert counter.batches == 0  # raised when logging step -1, before training


def test_writer_failure_warns_and_training_goes_on(tmp_path, monkeypatch):
    model, x, y = _wide_model()
    before = model.get_weights()

    def broken(self, name, *args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(summary.Writer, "activations", broken)
    cb = InternalsCallback(str(tmp_path / "run"), probe_data=x)
    with pytest.warns(UserWarning) as record:
        history = model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[cb])
    messages = callback_warnings(record)
    for layer in ("wide", "out"):
        assert any("'%s'" % layer in m and "OSError" in m and "No space left" in m for m in messages), messages
    assert len(history.history["loss"]) == 2
    assert not all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


class FailsWhenAsked(keras.layers.Layer):
    """Fails at run time on an inference (probe) call once `fail` is set.

    The failure is a TensorFlow assertion on a variable, so the probe pass
    fails in its compiled form as in the eager one; training calls
    (`training=True`) never fail."""

    def build(self, input_shape):
        self._flag = self.add_weight(shape=(), initializer="zeros", trainable=False, name="flag")

    @property
    def fail(self):
        return bool(self._flag.numpy() > 0.5)

    @fail.setter
    def fail(self, value):
        self._flag.assign(1.0 if value else 0.0)

    def call(self, x, training=None):
        import tensorflow as tf

        if training:
            return x
        check = tf.debugging.Assert(self._flag < 0.5, ["boom in the probe pass"])
        with tf.control_dependencies([check]):
            return tf.identity(x)


class SetFail(keras.callbacks.Callback):
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def on_epoch_end(self, epoch, logs=None):
        self.layer.fail = True


def _failing_model():
    inputs = keras.Input((4,), name="vec")
    flaky = FailsWhenAsked(name="flaky")
    h = flaky(keras.layers.Dense(3, name="d")(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2, name="out")(h), name="flaky_model")
    model.compile(keras.optimizers.SGD(0.1), "mse")
    return model, flaky


def test_probe_pass_failing_during_training_warns_and_restores_calls(tmp_path):
    model, flaky = _failing_model()
    x, y = km.vectors(16), km.targets(16, 2)
    before = own_calls(model)
    cb = InternalsCallback(str(tmp_path / "run"), probe_data=x)
    with pytest.warns(UserWarning) as record:
        history = model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[SetFail(flaky), cb])
    messages = callback_warnings(record)
    assert messages and all("probe pass" in m and "boom" in m for m in messages)
    assert len(history.history["loss"]) == 2
    assert_calls_restored(model, before)
    assert Reader(str(tmp_path)).steps("run", ACT + "d") == [-1]  # epochs 0 and 1 failed

    flaky.fail = False
    strict = InternalsCallback(str(tmp_path / "strict"), probe_data=x, strict=True)
    with pytest.raises(RuntimeError, match="boom"):
        model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[SetFail(flaky), strict])
    assert_calls_restored(model, before)


# ---------------------------------------------------------------------------
# 6: clear errors at on_train_begin, before an epoch is spent


def _assert_no_epoch(counter, model, before):
    assert counter.epochs == 0 and counter.batches == 0
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


@pytest.mark.parametrize(
    "kind,bad_shape",
    [
        ("functional", (4, 5, 5, 1)),  # 5x5 images: Flatten gives a size Dense rejects
        ("sequential_with_input", (4, 6, 6, 3)),  # 3 channels where the conv takes 1
        # A model fit has not built yet takes its input shape from the probe,
        # so only a probe no model could take is caught: here one sample
        # without its batch axis.
        ("subclassed", (6, 6, 1)),
    ],
)
def test_probe_data_the_model_rejects_fails_before_training(tmp_path, kind, bad_shape):
    case = km.KINDS[kind]()
    model = case.model
    model.compile("sgd", "mse")
    before_calls = own_calls(model)
    bad = np.zeros(bad_shape, "float32")
    cb = InternalsCallback(str(tmp_path / "run"), probe_data=bad)
    counter = EpochCounter()
    weights = []

    class Snapshot(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            weights.extend(self.model.get_weights())

    with pytest.raises(ValueError) as info:
        model.fit(case.x, case.y, epochs=2, batch_size=8, verbose=0, callbacks=[Snapshot(), cb, counter])
    assert str(bad_shape) in str(info.value)
    assert "probe" in str(info.value)
    _assert_no_epoch(counter, model, weights)
    assert_calls_restored(model, before_calls)


def test_unknown_layer_name_fails_before_training_listing_the_names(tmp_path):
    case = km.nested()
    model = case.model
    model.compile("sgd", "mse")
    before = model.get_weights()
    counter = EpochCounter()
    cb = InternalsCallback(str(tmp_path / "run"), probe_data=case.x, layers=["head", "backbone/nope"])
    with pytest.raises(ValueError) as info:
        model.fit(case.x, case.y, epochs=1, verbose=0, callbacks=[cb, counter])
    message = str(info.value)
    assert "'backbone/nope'" in message
    for path in case.paths:  # every available path is listed
        assert path in message
    _assert_no_epoch(counter, model, before)
    assert not glob.glob(str(tmp_path / "run" / "events*"))


def test_selection_matching_nothing_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="selects nothing"):
        InternalsCallback(str(tmp_path / "run"), probe_data=km.images(4), layers=[])

    model, x, y = _wide_model()  # no Conv2D anywhere
    before = model.get_weights()
    counter = EpochCounter()
    cb = InternalsCallback(str(tmp_path / "run"), probe_data=x, layers=[keras.layers.Conv2D])
    with pytest.raises(ValueError, match="selects no layer") as info:
        model.fit(x, y, epochs=1, verbose=0, callbacks=[cb, counter])
    assert "wide" in str(info.value) and "out" in str(info.value)
    _assert_no_epoch(counter, model, before)


# ---------------------------------------------------------------------------
# 7: layer selection

_NESTED_BACKBONE = {p for p in km.NESTED_PATHS if p.startswith("backbone/")}
SELECTIONS = [
    ("nested", ["head"], {"head"}),
    ("nested", "head", {"head"}),
    ("nested", ["backbone/conv"], {"backbone/conv"}),
    ("nested", ["conv"], {"backbone/conv"}),  # a nested layer by name
    ("nested", ["backbone"], {"backbone"}),  # the sub-model's own output only
    ("nested", ["backbone/*"], _NESTED_BACKBONE),
    ("nested", ["backbone/block/*", "head"], {"backbone/block/hidden", "head"}),
    ("nested", ["*pool*"], {"backbone/pool"}),
    ("nested", [keras.layers.Dense], {"backbone/block/hidden", "head"}),
    ("nested", [keras.layers.Conv2D, "head"], {"backbone/conv", "head"}),
    ("nested", [keras.Sequential], {"backbone", "backbone/block"}),
    ("shared", ["shared"], {"shared", "shared [call 2]"}),  # a name: every call
    ("shared", ["shared [call 2]"], {"shared [call 2]"}),  # a path: that call
    ("shared", ["enc"], {"enc", "enc [call 2]"}),
    ("shared", ["proj"], {"enc/proj", "enc/proj [call 2]"}),
    ("multi_io", ["split"], {"split:0", "split:1"}),
    ("multi_io", ["split:1"], {"split:1"}),
    ("multi_io", [keras.layers.Concatenate, keras.layers.Add], {"add", "concat", "merge"}),
]
_SELECTION_MODELS = {}


@pytest.mark.parametrize(
    "kind,layers,expected", SELECTIONS, ids=["%s-%s" % (k, getattr(s, "__name__", s)) for k, s, _ in SELECTIONS]
)
def test_layer_selection_logs_exactly_the_selected_outputs(tmp_path, kind, layers, expected):
    if kind not in _SELECTION_MODELS:
        case = km.KINDS[kind]()
        case.model.compile("sgd", "mse")
        _SELECTION_MODELS[kind] = case
    case = _SELECTION_MODELS[kind]
    cb = InternalsCallback(str(tmp_path / "run"), probe_data=probe_of(case.x), layers=layers, epoch_freq=0)
    case.model.fit(case.x, case.y, epochs=1, batch_size=16, verbose=0, callbacks=[cb])
    acts, stats_ = tags_by_kind(Reader(str(tmp_path)), "run")
    assert acts == expected
    assert stats_ == expected


# ---------------------------------------------------------------------------
# 8: cadence and scalars


def _cadence_model():
    inputs = keras.Input((4,), name="vec")
    h = keras.layers.Dense(3, activation="relu", name="hidden")(inputs)
    h = keras.layers.Dense(2, activation="tanh", name="squash")(h)
    model = keras.Model(inputs, keras.layers.Dense(1, name="out")(h), name="cadence")
    model.compile(keras.optimizers.Adam(0.05), "mse")
    case = km.Case(model, km.vectors(16), km.targets(16, 1), ["hidden", "squash", "out"],
                   lambda m, x: km.from_layer_outputs(m, x, ["hidden", "squash", "out"]))
    return case


def _fit_cadence(tmp_path, fit_kwargs, per_batch=False, **cb_kwargs):
    case = _cadence_model()
    history = History(per_batch=per_batch)
    cb = InternalsCallback(str(tmp_path / "run"), probe_data=case.x, probe_samples=PROBE, **cb_kwargs)
    case.model.fit(case.x, case.y, batch_size=4, verbose=0, shuffle=False, callbacks=[history, cb], **fit_kwargs)
    return case, history, Reader(str(tmp_path))


def _assert_steps(reader, case, steps, run="run"):
    for path in case.paths:
        assert reader.steps(run, ACT + path) == steps, path
    for tag, datums in read_stats(reader.logdir, run).items():
        assert [d.step for d in datums] == steps, tag


@pytest.mark.parametrize(
    "cb_kwargs,fit_kwargs,steps",
    [
        # Epochs e with e % epoch_freq == 0, as Keras's histogram_freq.
        ({"epoch_freq": 2}, {"epochs": 5}, [-1, 0, 2, 4]),
        ({"epoch_freq": 2}, {"epochs": 4}, [-1, 0, 2]),
        ({"log_initial": False}, {"epochs": 2}, [0, 1]),
        ({"epoch_freq": 0}, {"epochs": 2}, [-1]),
        # A fit resumed in a fresh run directory: the model it starts from
        # is the one after epoch 1, at step 1.
        ({}, {"epochs": 4, "initial_epoch": 2}, [1, 2, 3]),
    ],
)
def test_epoch_cadence(tmp_path, cb_kwargs, fit_kwargs, steps):
    case, history, reader = _fit_cadence(tmp_path, fit_kwargs, **cb_kwargs)
    _assert_steps(reader, case, steps)
    # Each step holds the model after that epoch (the first: before training).
    first = fit_kwargs.get("initial_epoch", 0)
    weights = {first - 1: history.initial, **history.after_epoch}
    probe = probe_of(case.x)
    for step in steps:
        for path, value in expected_at(case, case.model, weights[step], probe).items():
            assert_q8_close(reader.read("run", ACT + path, step), value, "%s step %d" % (path, step))


@pytest.mark.parametrize("log_initial,steps", [(True, [0, 3, 6]), (False, [3, 6])])
def test_batch_cadence_steps_count_batches_seen(tmp_path, log_initial, steps):
    # 16 samples in batches of 4: 4 batches per epoch, 8 in 2 epochs.
    case, history, reader = _fit_cadence(
        tmp_path, {"epochs": 2}, per_batch=True, batch_freq=3, log_initial=log_initial
    )
    assert history.batches_run == 8
    _assert_steps(reader, case, steps)
    weights = {0: history.initial, **history.after_batch}
    probe = probe_of(case.x)
    for step in steps:
        for path, value in expected_at(case, case.model, weights[step], probe).items():
            assert_q8_close(reader.read("run", ACT + path, step), value, "%s step %d" % (path, step))


def test_scalars_mirror_the_statistics(tmp_path):
    case, history, _ = _fit_cadence(tmp_path, {"epochs": 2}, scalars=True)
    mux = plugin_event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(str(tmp_path))
    mux.Reload()
    tags = {t for t in mux.Runs()["run"]["tensors"] if t.startswith("internals/")}
    common = ("mean", "std", "zero_fraction")
    expected_tags = {"internals/%s/%s" % (p, f) for p in case.paths for f in common}
    expected_tags |= {"internals/hidden/dead_fraction", "internals/squash/saturated_fraction"}
    assert tags == expected_tags
    weights = {-1: history.initial, **history.after_epoch}
    probe = probe_of(case.x)
    true = {step: expected_at(case, case.model, w, probe) for step, w in weights.items()}
    for tag in tags:
        _, path, field = tag.split("/")
        assert mux.SummaryMetadata("run", tag).data_class == summary_pb2.DATA_CLASS_SCALAR
        events = mux.Tensors("run", tag)
        assert [e.step for e in events] == [-1, 0, 1], tag
        for e in events:
            value = true[e.step][path]
            if field == "dead_fraction":
                want = dead_units(value).size / value.shape[-1]
            elif field == "saturated_fraction":
                want = saturated_units(value, "tanh").size / value.shape[-1]
            else:
                want = numpy_stats(value)[field]
            got = float(tensor_util.make_ndarray(e.tensor_proto))
            assert got == pytest.approx(float(np.float32(want)), rel=1e-6, abs=1e-7), (tag, e.step)


def test_no_scalars_by_default(tmp_path):
    case, _, _ = _fit_cadence(tmp_path, {"epochs": 1})
    # Weights and the model summary (logged by default, tests/test_weights.py) aside.
    tags = {tag for tag, _ in event_values(tmp_path / "run") if tag.startswith((ACT, STATS, "internals/"))}
    assert tags == {p + path for path in case.paths for p in (ACT, STATS)}


# ---------------------------------------------------------------------------
# 9: MirroredStrategy on two logical CPUs (own process: devices are global)

DISTRIBUTED_SCRIPT = r"""
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
logdir, out_path, tests_dir = sys.argv[1:4]
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
import keras
import numpy as np
sys.path.insert(0, tests_dir)
import keras_models as km
from tb_plugin.keras import InternalsCallback

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
results = {}
for run, kwargs in [("epoch", {}), ("batch", {"batch_freq": 2})]:
    with strategy.scope():
        case = km.functional()
        case.model.compile(keras.optimizers.Adam(0.05), "mse")
    weights = {}

    class Recorder(keras.callbacks.Callback):
        seen = 0
        def on_train_begin(self, logs=None):
            weights[-1 if run == "epoch" else 0] = self.model.get_weights()
        def on_epoch_end(self, epoch, logs=None):
            if run == "epoch":
                weights[epoch] = self.model.get_weights()
        def on_train_batch_end(self, batch, logs=None):
            Recorder.seen += 1
            if run == "batch":
                weights[Recorder.seen] = self.model.get_weights()

    probe = case.x[:8]
    cb = InternalsCallback(os.path.join(logdir, run), probe_data=probe, **kwargs)
    case.model.fit(case.x, case.y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[Recorder(), cb])
    for step, w in weights.items():
        case.model.set_weights(w)
        for path, value in case.expected(case.model, probe).items():
            results["%s|%d|%s" % (run, step, path)] = value
np.savez(out_path, **results)
"""


def test_mirrored_strategy_logs_once_per_step_with_true_values(tmp_path):
    logdir = tmp_path / "logs"
    out = tmp_path / "expected.npz"
    _run_script(DISTRIBUTED_SCRIPT, logdir, out, TESTS_DIR)
    expected = np.load(out)
    all_event_files = [os.path.join(d, f) for d, _, fs in os.walk(logdir) for f in fs if "tfevents" in f]
    assert len(all_event_files) == 2  # one per run directory
    reader = Reader(str(logdir))
    # 16 samples, global batches of 8: 2 batches per epoch, 4 in all.
    for run, steps in [("epoch", [-1, 0, 1]), ("batch", [0, 2, 4])]:
        assert len(glob.glob(str(logdir / run / "events.out.tfevents.*"))) == 1
        counts = collections.Counter(event_values(logdir / run))
        assert counts and set(counts.values()) == {1}, [k for k, c in counts.items() if c > 1]
        # Weights and the model summary (logged by default) also once per step; compared in test_weights.py.
        layer_tags = {tag for tag, _ in counts if tag.startswith((ACT, STATS))}
        assert layer_tags == {p + path for path in km.CHAIN for p in (ACT, STATS)}
        for path in km.CHAIN:
            assert sorted(step for tag, step in counts if tag == ACT + path) == steps
            for step in steps:
                value = expected["%s|%d|%s" % (run, step, path)]
                assert_q8_close(reader.read(run, ACT + path, step), value, "%s %s %d" % (run, path, step))


@pytest.mark.parametrize("kind", ["sequential_without_input", "subclassed"])
def test_a_model_left_for_fit_to_build_is_built_as_without_the_callback(tmp_path, kind):
    # The probe pass at on_train_begin meets an unbuilt model; it must not
    # bake the probe's batch size (8) into the model's input shapes. (Batches
    # of 12 from 16 samples: fit's own build sees an unknown batch size.)
    configs = []
    for use_callback in (False, True):
        case = km.KINDS[kind]()
        model = case.model
        model.compile("sgd", "mse")
        cbs = [InternalsCallback(str(tmp_path / "run"), probe_data=case.x, probe_samples=PROBE)] if use_callback else []
        model.fit(case.x, case.y, batch_size=12, epochs=1, verbose=0, callbacks=cbs)
        configs.append([model.get_build_config()] + [layer.get_build_config() for layer in km.all_layers(model)])
    assert configs[1] == configs[0]
