"""Under a multi-worker strategy only the chief writes (issue 14, item 10).

A real two-process MultiWorkerMirroredStrategy run on 127.0.0.1 (two
subprocesses, `TF_CONFIG`, free ports), both workers logging to the same run
directory: only the chief writes, and what it writes has the same tags and
values as a single worker trained on the same global batches. Keras 3.15's
`fit` needs two workarounds in the model under this strategy
(`tests/multiworker_worker.py` says which and why). The chief rule is also
checked on the cluster descriptions TensorFlow gives, and a non-chief
callback in-process.
"""

import glob
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_models as km
from conftest import free_port
from tb_plugin.reader import Reader
from tb_plugin.keras import adapter as tbk
from tb_plugin.keras import InternalsCallback


class Resolver:
    def __init__(self, task_type, task_id, cluster):
        self.task_type, self.task_id, self._cluster = task_type, task_id, cluster

    def cluster_spec(self):
        import tensorflow as tf

        return tf.train.ClusterSpec(self._cluster)


class Model:
    def __init__(self, resolver):
        self.distribute_strategy = type("Strategy", (), {"cluster_resolver": resolver})()


WORKERS = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
WITH_CHIEF = {"chief": ["127.0.0.1:0"], "worker": ["127.0.0.1:1"]}


@pytest.mark.parametrize(
    "resolver,chief",
    [
        (None, True),  # no strategy, or a single-process one
        (Resolver(None, None, {}), True),
        (Resolver("worker", 0, WORKERS), True),  # worker 0 leads when there is no chief task
        (Resolver("worker", 1, WORKERS), False),
        (Resolver("chief", 0, WITH_CHIEF), True),
        (Resolver("worker", 0, WITH_CHIEF), False),
        (Resolver("ps", 0, {"ps": ["127.0.0.1:3"], "worker": ["127.0.0.1:1"]}), False),
    ],
)
def test_the_chief_is_the_one_tensorflow_names(resolver, chief):
    assert tbk.is_chief(Model(resolver)) is chief


def test_single_process_strategies_are_the_chief():
    case = km.functional()
    assert tbk.is_chief(case.model) is True


def test_a_non_chief_worker_writes_nothing_but_checks_its_arguments(tmp_path, monkeypatch):
    monkeypatch.setattr(tbk, "is_chief", lambda model: False)
    case = km.functional()
    case.model.compile("sgd", "mse")
    case.model.fit(case.x, case.y, epochs=2, verbose=0,
                   callbacks=[InternalsCallback(str(tmp_path / "run"), case.x[:4], verbose=0)])
    assert not glob.glob(str(tmp_path / "run" / "*"))
    with pytest.raises(ValueError, match="rejected the probe data"):
        case.model.fit(case.x, case.y, epochs=1, verbose=0,
                       callbacks=[InternalsCallback(str(tmp_path / "run"), np.zeros((2, 3, 3, 1)), verbose=0)])


WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "multiworker_worker.py")


def _worker(log_dir, tf_config):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return subprocess.Popen([sys.executable, WORKER, str(log_dir)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _result(process):
    try:
        out, err = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    lines = [l for l in out.splitlines() if l.startswith("RESULT ")]
    assert process.returncode == 0 and lines, "worker failed (%s):\n%s" % (process.returncode, err[-4000:])
    return json.loads(lines[-1][len("RESULT "):])


def test_two_worker_processes_only_the_chief_writes_what_one_worker_would(tmp_path):
    cluster = {"worker": ["127.0.0.1:%d" % free_port(), "127.0.0.1:%d" % free_port()]}
    shared, single = tmp_path / "shared", tmp_path / "single"
    workers = [_worker(shared, {"cluster": cluster, "task": {"type": "worker", "index": i}}) for i in (0, 1)]
    alone = _worker(single, None)
    results = [_result(p) for p in workers]
    reference = _result(alone)
    assert [r["workers"] for r in results] == [2, 2] and reference["workers"] == 1
    assert [r["chief"] for r in results] == [True, False] and reference["chief"] is True
    # The workers trained one model together: the same weights on both, and
    # those of one worker on the same global batches (float rounding apart).
    assert results[0]["weights"] == results[1]["weights"]
    np.testing.assert_allclose(results[0]["weights"], reference["weights"], rtol=1e-4, atol=1e-5)
    # One event file and one payload store, the chief's.
    events = glob.glob(str(shared / "events.out.tfevents.*"))
    assert len(events) == 1, events
    got, want = _logged(shared), _logged(single)
    assert sorted(got) == sorted(want)
    tags = {tag for tag, _ in want}
    assert any(t.startswith("activations/hidden") for t in tags) and any(t.startswith("weight_stats/out/") for t in tags)
    assert any(t.startswith("weights/out/") for t in tags) and any(t.startswith("activation_stats/") for t in tags)
    for key, b in want.items():
        a = got[key]
        if isinstance(b, dict):
            assert a == b, key
        else:
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg="%s at step %d" % key)


def _logged(run_dir):
    """`{(tag, step): value}` of everything in a run directory: arrays decoded from the payload
    store, documents as dicts, statistics vectors as they are."""
    from tensorboard.util import tensor_util

    import helpers

    reader, out = Reader(str(run_dir)), {}
    for step, value in helpers.summary_values(str(run_dir)):
        array = tensor_util.make_ndarray(value.tensor)
        if array.dtype == object:  # references into the payload store
            logged = reader.read(".", value.tag, step)
            out[(value.tag, step)] = logged if isinstance(logged, dict) else np.asarray(logged, np.float64)
        else:
            out[(value.tag, step)] = array.astype(np.float64)
    return out
