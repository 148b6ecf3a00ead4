"""Under a multi-worker strategy only the chief writes (issue 14, item 10, partly).

A real two-process MultiWorkerMirroredStrategy run on 127.0.0.1 fails inside
Keras 3.15's own `fit` before any callback runs (its first-batch
`strategy.reduce` of an (x, y) tuple, then a rank error in the train step),
so these tests check the chief rule on the cluster descriptions TensorFlow
gives, and that a non-chief callback writes nothing.
"""

import glob

import keras
import numpy as np
import pytest

import keras_models as km
from tb_plugin import keras as tbk


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
                   callbacks=[tbk.InternalsCallback(str(tmp_path / "run"), case.x[:4], verbose=0)])
    assert not glob.glob(str(tmp_path / "run" / "*"))
    with pytest.raises(ValueError, match="rejected the probe data"):
        case.model.fit(case.x, case.y, epochs=1, verbose=0,
                       callbacks=[tbk.InternalsCallback(str(tmp_path / "run"), np.zeros((2, 3, 3, 1)), verbose=0)])
