"""InternalsCallback within a byte budget, and the exact weight-change series
(issue 14, items 1 and 2). Bytes are measured on the written event files;
change series are checked against weights recorded by an independent callback."""

import collections
import glob
import json
import os

import keras
import numpy as np
import pytest
from tensorboard.backend.event_processing import event_file_loader
from tensorboard.util import tensor_util

from tb_plugin.format import encoding
from tb_plugin.kinds import weights as W
from tb_plugin.keras import InternalsCallback, read_plan
from tb_plugin.reader import Reader


def _conv_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3), name="image")
    h = keras.layers.Conv2D(8, 3, padding="same", name="conv1")(inputs)
    h = keras.layers.BatchNormalization(name="bn1")(h)
    h = keras.layers.ReLU(name="relu1")(h)
    h = keras.layers.Conv2D(8, 3, padding="same", name="conv2")(h)
    h = keras.layers.Add(name="add")([h, keras.layers.Conv2D(8, 1, name="skip")(inputs)])
    h = keras.layers.GlobalAveragePooling2D(name="gap")(h)
    model = keras.Model(inputs, keras.layers.Dense(4, name="out")(h), name="budget_cnn")
    model.compile(keras.optimizers.Adam(0.01), "mse")
    return model


class Truth(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.at, self.before_last = {}, {}

    def on_train_begin(self, logs=None):
        self.at[-1] = {v.path: v.numpy().copy() for v in self.model.trainable_variables}

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if batch == self.params["steps"] - 1:
            self.before_last[self.epoch] = {v.path: v.numpy().copy() for v in self.model.trainable_variables}

    def on_epoch_end(self, epoch, logs=None):
        self.at[epoch] = {v.path: v.numpy().copy() for v in self.model.trainable_variables}


def _fit(tmp_path, epochs=3, **kwargs):
    model = _conv_model()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 16, 16, 3)).astype("float32")
    y = rng.normal(size=(32, 4)).astype("float32")
    truth = Truth()
    run = str(tmp_path / "run")
    cb = InternalsCallback(run, x[:16], **kwargs)
    model.fit(x, y, epochs=epochs, batch_size=8, verbose=0, shuffle=False, callbacks=[truth, cb])
    return model, x, truth, cb, run


def _bytes_per_step(run):
    sizes = collections.Counter()
    for path in glob.glob(os.path.join(run, "events.out.tfevents.*")):
        for event in event_file_loader.EventFileLoader(path).Load():
            if event.HasField("summary") and event.summary.value[0].tag not in ("model_summary", "logging_plan"):
                sizes[event.step] += len(event.SerializeToString()) + 16  # + TFRecord framing
    return sizes


def test_snapshots_stay_within_the_budget_with_every_statistic(tmp_path, capsys):
    budget = 120_000
    model, x, truth, cb, run = _fit(tmp_path, budget=budget)
    printed = capsys.readouterr().out
    assert "logging plan" in printed and "reduced:" in printed
    plan = read_plan(run)
    assert Reader(run).tags()["."]["logging_plan"]["kind"] == "logging_plan"
    assert plan["budget_bytes"] == budget and plan["within_budget"] and plan["reductions"]
    sizes = _bytes_per_step(run)
    assert sorted(sizes) == [-1, 0, 1, 2]
    assert max(sizes.values()) <= budget, sizes
    assert max(sizes.values()) <= plan["bytes_largest_snapshot"]
    reader = Reader(run)
    tags = reader.tags()["."]
    layers = ["conv1", "bn1", "relu1", "conv2", "skip", "add", "gap", "out"]
    for layer in layers:  # statistics of every layer at every snapshot
        assert tags["activation_stats/" + layer]["kind"] == "activation_stats"
    stats_steps = {t: [e.step for e in reader._multiplexer.Tensors(".", t)] for t in tags if t.startswith("activation_stats/")}
    assert set(stats_steps) == {"activation_stats/" + l for l in layers}
    assert all(s == [-1, 0, 1, 2] for s in stats_steps.values())
    # Maps as the plan says: its sample count, or none.
    planned = {m["tag"]: m["samples"] for m in plan["maps"]}
    assert any(0 < k < 16 for k in planned.values()) or any(k == 0 for k in planned.values())
    for tag, k in planned.items():
        if k == 0:
            assert tag not in tags
        else:
            assert reader.read(".", tag, 0).shape[0] == k
    # Every variable written in full on its cadence, with the exact values.
    every = plan["weights_every"]
    assert every >= 1
    for i, step in enumerate([-1, 0, 1, 2]):
        group = set(plan["weights_groups"][i % len(plan["weights_groups"])]) if len(plan["weights_groups"]) > 1 else (
            set(plan["weights_groups"][0]) if i % every == 0 else set())
        for v in model.trainable_variables:
            tag = "weights/" + v.path
            logged = step in (reader.steps(".", tag) if tag in tags else [])
            assert logged == (tag in group), (tag, step)
            if logged:
                assert np.array_equal(reader.read(".", tag, step), truth.at[step][v.path])


def test_the_change_series_are_exact(tmp_path):
    model, x, truth, cb, run = _fit(tmp_path, budget=None)
    reader = Reader(run)
    for v in model.trainable_variables:
        events = reader._multiplexer.Tensors(".", "weight_stats/" + v.path)
        assert [e.step for e in events] == [-1, 0, 1, 2]
        meta = json.loads(reader._multiplexer.SummaryMetadata(".", "weight_stats/" + v.path).plugin_data.content)
        assert meta["kind"] == "weight_stats" and meta["source_tag"] == "weights/" + v.path
        assert meta["fields"] == list(W.WEIGHT_STATS_FIELDS)
        for e in events:
            got = W.unpack_weight_stats(tensor_util.make_ndarray(e.tensor_proto))
            w = truth.at[e.step][v.path].astype(np.float64)
            assert got["norm"] == pytest.approx(np.sqrt((w ** 2).sum()), rel=1e-9)
            assert got["mean"] == pytest.approx(w.mean(), rel=1e-9, abs=1e-12)
            assert got["counts"].sum() == w.size
            if e.step == -1:
                assert np.isnan(got["relative_change"]) and np.isnan(got["unit_change"]).all()
                continue
            p = truth.at[e.step - 1][v.path].astype(np.float64)
            # Differences are taken in float32 (documented: within half a float32 ulp).
            assert got["relative_change"] == pytest.approx(np.linalg.norm(w - p) / np.linalg.norm(p), rel=1e-6)
            assert got["max_abs_change"] == pytest.approx(np.abs(w - p).max(), rel=1e-6)
            m, pm = w.reshape(-1, w.shape[-1]), p.reshape(-1, p.shape[-1])
            per_unit = np.linalg.norm(m - pm, axis=0) / np.linalg.norm(pm, axis=0)
            ok = np.linalg.norm(pm, axis=0) > 0
            np.testing.assert_allclose(got["unit_change"][ok], per_unit[ok], rtol=1e-6)
            b = truth.before_last[e.step][v.path].astype(np.float64)
            assert got["update_ratio"] == pytest.approx(np.linalg.norm(w - b) / np.linalg.norm(w), rel=1e-6)
            assert 0 < got["update_ratio"] < got["relative_change"] * 2


def test_explicit_requests_over_budget_get_exactly_that_with_one_warning(tmp_path):
    with pytest.warns(UserWarning, match=r"over the budget of 0\.0 MiB.*explicitly requested maps") as record:
        model, x, truth, cb, run = _fit(tmp_path, epochs=1, budget=20_000, layers=["conv1", "conv2"], verbose=0)
    assert len([w for w in record if "over the budget" in str(w.message)]) == 1
    reader = Reader(run)
    assert reader.read(".", "activations/conv1", 0).shape == (16, 16, 16, 8)  # every probe sample, as asked
    assert set(reader.steps(".", "activations/conv2")) == {-1, 0}
