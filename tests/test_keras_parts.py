"""Parts (tb_plugin.core.parts): a part is begun once, asked at every snapshot
with the callback's steps, its job writes with the snapshot, its bytes are in
the plan, and its failure never stops training; the deprecated feature
keywords give a DeprecationWarning and the same logs as the parts."""

import keras
import numpy as np
import pytest

from tb_plugin.core import parts
from tb_plugin.format import metadata
from tb_plugin.keras import InternalsCallback, read_plan
from tb_plugin.reader import Reader


class Recorder(parts.Part):
    name = "recorder"

    def __init__(self, fail_at=None):
        self.begun, self.computed, self.written, self.ended = 0, [], [], 0
        self.fail_at = fail_at

    def begin(self, run):
        self.begun += 1
        self.adapter = run.adapter

    def estimate_bytes(self):
        return 12345

    def note(self):
        return "the probe's mean output"

    def due(self, step, index):
        return index % 2 == 0  # every other snapshot

    def compute(self, run, step):
        if step == self.fail_at:
            raise RuntimeError("boom")
        (_,), out = next(self.adapter.evaluate(run.probe_x, ["d"], 64))
        self.computed.append(step)

        def job(writer):
            writer.scalar("recorder/mean", float(out.mean()), step)
            self.written.append(step)
        return job

    def end(self, run):
        self.ended += 1


def _fit(tmp_path, part, **kwargs):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="d")])
    model.compile("sgd", "mse")
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    cb = InternalsCallback(str(tmp_path), x[:4], verbose=0, parts=[part], **kwargs)
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


def test_parts_must_be_part_objects(tmp_path):
    with pytest.raises(ValueError, match=r"parts= takes part objects such as Embeddings"):
        InternalsCallback(str(tmp_path), np.zeros((2, 4)), parts=[{"embedding_layers": ["d"]}])
    with pytest.raises(TypeError, match="unexpected keyword argument 'embeding_layers'"):
        InternalsCallback(str(tmp_path), np.zeros((2, 4)), embeding_layers=["d"])


def _logged(run_dir):
    """`{(tag, step): values}` of every payload tag logged in a run directory (the plan aside)."""
    reader = Reader(str(run_dir))
    out = {}
    for run, tags in reader.tags().items():
        for tag, info in tags.items():
            if tag == "logging_plan" or info.get("kind") not in metadata.PAYLOAD_KINDS:
                continue
            for step in reader.steps(run, tag):
                value = reader.read(run, tag, step)
                out[(tag, step)] = value
    return out


def test_deprecated_keywords_warn_and_log_what_the_parts_log(tmp_path):
    """The old feature keywords give one DeprecationWarning each naming the new form, and the same tags and
    values as `parts=[Embeddings(...), ClassStatistics(...)]`."""
    from tb_plugin.keras import ClassStatistics, Embeddings

    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")

    def fit(run_dir, **kwargs):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="relu", name="h"),
                                  keras.layers.Dense(2, activation="softmax", name="out")], name="m")
        model.compile("sgd", "sparse_categorical_crossentropy")
        cb = InternalsCallback(str(run_dir), x[:4], verbose=0, background=False, **kwargs)
        model.fit(x, y, epochs=2, batch_size=20, verbose=0, shuffle=False, callbacks=[cb])

    with pytest.warns(DeprecationWarning) as caught:
        fit(tmp_path / "old", embedding_layers=["h"], embedding_data=(x, y), embedding_freq=2,
            embedding_encoding="f32", class_data=(x, y), class_names=["a", "b"], class_samples=30)
    messages = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)
                and "InternalsCallback(" in str(w.message)]
    assert any("parts=[Embeddings(" in m and "embedding_freq" in m for m in messages), messages
    assert any("parts=[ClassStatistics(" in m and "class_samples" in m for m in messages), messages
    fit(tmp_path / "new", parts=[Embeddings(["h"], (x, y), every=2, encoding="f32"),
                                 ClassStatistics((x, y), class_names=["a", "b"], samples=30)])
    old, new = _logged(tmp_path / "old"), _logged(tmp_path / "new")
    assert sorted(old) == sorted(new)
    assert {t for t, _ in old} >= {"embedding/h", "class_stats", "activations/h", "weights/h/kernel"}
    for key in old:
        a, b = old[key], new[key]
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b, err_msg=str(key))
        else:
            assert a == b, key
    assert read_plan(str(tmp_path / "old"))["parts"] == read_plan(str(tmp_path / "new"))["parts"]


def test_a_feature_given_twice_or_wrong_by_its_old_keyword_names_what_the_user_wrote(tmp_path):
    from tb_plugin.keras import ClassStatistics

    x = np.zeros((6, 4), "float32")
    y = np.arange(6) % 2
    with pytest.raises(ValueError, match=r"both parts=\[ClassStatistics\(...\)\] and the deprecated class_data="):
        InternalsCallback(str(tmp_path), x, parts=[ClassStatistics((x, y))], class_data=(x, y))
    with pytest.warns(DeprecationWarning), pytest.raises(
            ValueError, match=r"class_freq= \(ClassStatistics\(every=\)\) must be an int >= 1"):
        InternalsCallback(str(tmp_path), x, class_data=(x, y), class_freq=0)
    with pytest.warns(DeprecationWarning), pytest.raises(
            ValueError, match=r"embedding_samples= \(Embeddings\(samples=\)\) must be an int >= 2"):
        InternalsCallback(str(tmp_path), x, embedding_layers=["d"], embedding_data=x, embedding_samples=1)


def test_a_second_fit_reuses_the_adapter_and_its_compiled_passes(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="d")])
    model.compile("sgd", "mse")
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    cb = InternalsCallback(str(tmp_path), x[:4], verbose=0)
    model.fit(x, x[:, :3], epochs=1, verbose=0, callbacks=[cb])
    adapter = cb._adapter
    model.fit(x, x[:, :3], epochs=2, initial_epoch=1, verbose=0, callbacks=[cb])
    assert cb._adapter is adapter
    assert Reader(str(tmp_path)).steps(".", "activations/d") == [-1, 0, 1]
