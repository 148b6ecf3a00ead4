"""The logging core runs any model through an adapter, with no framework at all.

A numpy perceptron (tests/numpy_adapter.py) goes through `Logger` as a
framework's front door would drive it; what is read back is its own forward
pass, its own variables and numpy's statistics of them. Once more in a fresh
interpreter where TensorFlow, Keras and PyTorch cannot be imported.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

from tb_plugin.core.logger import Logger
from tb_plugin.core.parts.embeddings import Embeddings
from tb_plugin.kinds import activation_stats
from tb_plugin.kinds import weights as weights_lib
from tb_plugin.reader import Reader, read_plan

from numpy_adapter import NumpyMLP

HERE = os.path.dirname(os.path.abspath(__file__))
X = np.random.default_rng(1).normal(size=(6, 4)).astype(np.float32)
Y = np.arange(6) % 3


def _run(log_dir, steps=(-1, 0, 1)):
    """Snapshots of the numpy model at `steps`, a 'training step' between each; the truth per step."""
    model = NumpyMLP()
    logger = Logger(log_dir, encoding="f32", background=False, verbose=0, budget=None,
                    parts=[Embeddings(["hidden"], (X, Y), encoding="f32", projector=False)], who="test")
    logger.begin(model, X, mode="epoch", every=1, initial_step={"step": -1, "meaning": "before training"})
    truth = {}
    for step in steps:
        truth[step] = (model.forward(X), {v.path + "/" + v.name: a for v, a in
                                          zip(model.variables(), model.read_variables())})
        logger.snapshot(step)
        model.train_step()
    logger.end()
    return truth


def test_the_core_logs_the_models_own_numbers(tmp_path):
    truth = _run(str(tmp_path))
    reader = Reader(str(tmp_path))
    assert reader.steps(".", "activations/hidden") == [-1, 0, 1]
    for step, (outputs, variables) in truth.items():
        for path in ("hidden", "out"):
            np.testing.assert_array_equal(reader.read(".", "activations/" + path, step), outputs[path])
        np.testing.assert_array_equal(reader.read(".", "embedding/hidden", step), outputs["hidden"])
    # Full weights on the plan's cadence equal the variables at that step.
    for step in reader.steps(".", "weights/hidden/kernel"):
        np.testing.assert_array_equal(reader.read(".", "weights/hidden/kernel", step), truth[step][1]["hidden/kernel"])
    plan = read_plan(str(tmp_path))
    assert [p["name"] for p in plan["parts"]] == ["embeddings"]
    assert plan["initial_step"] == {"step": -1, "meaning": "before training"}
    summary = reader.read(".", "model_summary")
    assert [layer["path"] for layer in summary["layers"]] == ["hidden", "out"]
    assert summary["total_params"] == 4 * 5 + 5 + 5 * 3 + 3


def test_statistics_and_change_series_equal_numpy(tmp_path):
    """The statistics series, read through TensorBoard's own data provider, equal numpy's."""
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer

    from tb_plugin.format import metadata

    truth = _run(str(tmp_path))
    catalog_dir = str(tmp_path)
    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(catalog_dir)
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, catalog_dir)
    ctx = context.RequestContext()
    stats = provider.read_tensors(ctx, experiment_id="", plugin_name=metadata.PLUGIN_NAME,
                                  run_tag_filter=None, downsample=100)
    series = {tag: {d.step: d.numpy for d in data} for tag, data in stats["."].items()}
    for step, (outputs, variables) in truth.items():
        expected = activation_stats.compute(outputs["hidden"].astype(np.float64), "relu")
        np.testing.assert_allclose(series["activation_stats/hidden"][step], expected, rtol=1e-12)
    steps = sorted(truth)
    for previous, step in zip(steps, steps[1:]):
        expected = weights_lib.weight_stats(truth[step][1]["out/kernel"], truth[previous][1]["out/kernel"])
        np.testing.assert_allclose(series["weight_stats/out/kernel"][step], expected, rtol=1e-12)


def test_the_core_needs_no_framework(tmp_path):
    code = ("import sys\n"
            "for name in ('tensorflow', 'keras', 'torch', 'jax'): sys.modules[name] = None\n"
            "sys.path.insert(0, %r)\n"
            "from test_core_logger import _run\n"
            "_run(%r)\n"
            "print('ok')\n") % (HERE, str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().endswith("ok"), out.stderr[-3000:]
    assert sorted(os.listdir(str(tmp_path)))[0].startswith("events.out.tfevents.")


def test_a_selector_that_matches_nothing_names_the_layers(tmp_path):
    logger = Logger(str(tmp_path), selectors=["hiddden"], background=False, verbose=0)
    with pytest.raises(ValueError, match="'hiddden' matches no layer of model 'numpy_mlp'.*hidden, out"):
        logger.begin(NumpyMLP(), X)
