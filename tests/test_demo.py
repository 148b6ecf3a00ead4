"""The demo: the committed demo_logs/ is what `python -m tb_plugin.demo` writes."""

import os
import subprocess
import sys

import numpy as np
import pytest

from tb_plugin import kinds
from tb_plugin.demo import digits as demo
from tb_plugin.demo.runs import demo_runs
from tb_plugin.kinds import activation_stats as stats
from tb_plugin.reader import Reader

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_LOGS = os.path.join(ROOT, "demo_logs")


def _layout(reader):
    """{run: {tag: (kind, shape)}} of a logdir's internals."""
    return {
        run: {tag: (info["kind"], tuple(info.get("shape", ()))) for tag, info in tags.items()}
        for run, tags in reader.tags().items()
    }


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("demo")
    subprocess.run(
        [sys.executable, "-m", "tb_plugin.demo", str(logdir), "--epochs", "2"],
        check=True,
        cwd=ROOT,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        timeout=600,
    )
    return Reader(str(logdir))


def test_committed_demo_logs_match_the_generator(regenerated):
    committed = Reader(DEMO_LOGS)
    assert sorted(committed.runs()) == sorted(demo_runs())  # every entry of the table
    # Same runs, tags, kinds and shapes: the committed logs are current.
    assert _layout(committed) == _layout(regenerated)
    for run in demo.RUNS:
        steps = committed.steps(run, "activations/conv1")
        assert steps[0] == -1 and len(steps) >= 10, "demo logs every epoch from step -1 (before training)"
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(DEMO_LOGS) for f in fs)
    assert total < 10 * 1024 * 1024


def test_committed_demo_logs_show_every_kind_under_its_tag():
    # The demo shows every kind of the registry, each under the tag (or tag
    # prefix) its line in tb_plugin.kinds.KINDS names.
    seen = set()
    for run, tags in Reader(DEMO_LOGS).tags().items():
        for tag, info in tags.items():
            kind = kinds.get(info["kind"])
            seen.add(kind.name)
            assert tag == kind.tag or (kind.tag.endswith("/") and tag.startswith(kind.tag)), (run, tag, kind.name)
    assert seen == set(kinds.names()), "kinds the demo never shows: %s" % sorted(set(kinds.names()) - seen)


def test_regenerated_probe_activations_are_the_models(regenerated):
    # The conv1 activations of the regenerated demo at step -1 are those of
    # the untrained demo model on the probe batch (same seed).
    import keras

    run = sorted(demo.RUNS)[0]
    _, _, x_test, _ = demo.load_digits()
    model = demo.build_model(seed=0)
    conv1 = keras.Model(model.inputs, model.get_layer("conv1").output)
    expected = np.asarray(conv1(x_test[: demo.PROBE_SAMPLES], training=False))
    logged = regenerated.read(run, "activations/conv1", step=-1)
    from tb_plugin.format import encoding

    assert np.all(np.abs(logged - expected) <= encoding.error_bound(expected) + 1e-7)


def test_high_learning_rate_run_kills_units():
    # The committed demo shows real dead units in the high learning-rate run
    # and fewer in the gentlest one (final step, from the stored statistics).
    from tensorboard import context
    from tb_plugin.backend import data_access

    reader = Reader(DEMO_LOGS)
    provider = reader._provider
    by_run = {}
    for run in demo.RUNS:
        series = data_access.read_stats(provider, context.RequestContext(), "", run, "activation_stats/dense1")
        last = stats.unpack(series["activation_stats/dense1"][-1].numpy)
        by_run[run] = last["dead_fraction"]
    rates = sorted(demo.RUNS, key=demo.RUNS.get)
    assert by_run[rates[-1]] > by_run[rates[0]]
    assert by_run[rates[-1]] >= 0.25
