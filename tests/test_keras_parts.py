"""The snapshot-part hook (tb_plugin.core.parts): a part is begun once, asked at
every snapshot with the callback's steps, its job writes with the snapshot,
its bytes are in the plan, and its failure never stops training."""

import keras
import numpy as np
import pytest

from tb_plugin.core import parts
from tb_plugin.keras import InternalsCallback, read_plan
from tb_plugin.reader import Reader


class Recorder(parts.SnapshotPart):
    name = "recorder"

    def __init__(self, fail_at=None):
        self.begun, self.computed, self.written, self.ended = 0, [], [], 0
        self.fail_at = fail_at

    def begin(self, callback):
        self.begun += 1
        self.model = callback.model

    def estimate_bytes(self):
        return 12345

    def note(self):
        return "the probe's mean output"

    def due(self, step, index):
        return index % 2 == 0  # every other snapshot

    def compute(self, callback, step):
        if step == self.fail_at:
            raise RuntimeError("boom")
        out = np.asarray(self.model(callback.probe_x, training=False))
        self.computed.append(step)

        def job(writer):
            writer.scalar("recorder/mean", float(out.mean()), step)
            self.written.append(step)
        return job

    def end(self, callback):
        self.ended += 1


def _fit(tmp_path, part, **kwargs):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="d")])
    model.compile("sgd", "mse")
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    cb = InternalsCallback(str(tmp_path), x[:4], verbose=0, **kwargs)
    cb._parts.append(part)
    model.fit(x, x[:, :3], epochs=4, batch_size=8, verbose=0, callbacks=[cb])
    return cb


def test_part_runs_on_its_cadence_and_is_in_the_plan(tmp_path):
    part = Recorder()
    _fit(tmp_path, part)
    # Snapshots: -1 (index 0), 0, 1, 2, 3 -> every other one: -1, 1, 3.
    assert part.begun == 1 and part.ended == 1
    assert part.computed == [-1, 1, 3]
    assert part.written == [-1, 1, 3]
    plan = read_plan(str(tmp_path))
    assert plan["parts"] == [{"name": "recorder", "bytes": 12345, "note": "the probe's mean output"}]
    assert plan["bytes_fixed"] >= 12345


def test_a_failing_part_warns_and_training_goes_on(tmp_path):
    part = Recorder(fail_at=1)
    with pytest.warns(UserWarning, match="could not log recorder: RuntimeError: boom"):
        _fit(tmp_path, part)
    assert part.computed == [-1, 3]
    reader = Reader(str(tmp_path))
    run = reader.runs()[0]
    assert list(reader.steps(run, "activations/d")) == [-1, 0, 1, 2, 3]  # the snapshot itself is whole


def test_strict_raises_on_a_failing_part(tmp_path):
    with pytest.raises(RuntimeError, match="recorder"):
        _fit(tmp_path, Recorder(fail_at=1), strict=True)
