"""tb_plugin.reader.Reader over logs with several runs."""

import time

import numpy as np
import pytest
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from tensorboard.util import tensor_util

from tb_plugin.format import encoding, metadata
from tb_plugin import summary
from tb_plugin.reader import Reader

from helpers import assert_decodes_to

RNG = np.random.RandomState(11)


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    """Three runs (one nested), two tags each with their own steps, plus a scalar-only run."""
    logdir = tmp_path_factory.mktemp("logs")
    logged = {}
    layout = {
        "train": {"conv1": ([0, 1, 2, 5], (4, 4, 4, 2)), "dense": ([0, 2], (3, 10))},
        "eval": {"conv1": ([1, 3], (2, 4, 4, 2))},
        "sweep/lr=0.1": {"block/relu": ([7], (16, 3)), "dense": ([0, 1, 2], (5,))},
    }
    for run, tags in layout.items():
        with summary.Writer(str(logdir / run)) as writer:
            for tag, (steps, shape) in tags.items():
                for step in steps:
                    x = RNG.randn(*shape).astype(np.float32) * (step + 1)
                    writer.activations(tag, x, step=step, description="about %s" % tag)
                    logged[run, tag, step] = x
    # A run with only other plugins' data is not an internals run.
    other = EventFileWriter(str(logdir / "scalars_only"))
    other.add_event(event_pb2.Event(step=0, summary=summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag="loss", simple_value=1.0)])))
    other.close()
    return str(logdir), logged


def test_runs_and_tags(logs):
    logdir, logged = logs
    reader = Reader(logdir)
    assert reader.runs() == sorted({run for run, _, _ in logged})
    tags = reader.tags()
    assert {run: sorted(t) for run, t in tags.items()} == {
        run: sorted({tag for r, tag, _ in logged if r == run}) for run in {r for r, _, _ in logged}}
    for (run, tag, step), x in logged.items():
        info = tags[run][tag]
        assert info["kind"] == "activations" and info["encoding"] == "q8" and info["dtype"] == "float32"
        assert info["version"] == metadata.SCHEMA_VERSION
        assert info["description"] == "about %s" % tag
        assert info["max_step"] == max(s for r, t, s in logged if (r, t) == (run, tag))
        assert "error" not in info
    assert tags["train"]["conv1"]["shape"] == [4, 4, 4, 2]


def test_steps_read_and_read_all(logs):
    logdir, logged = logs
    reader = Reader(logdir)
    for run, tag in {(r, t) for r, t, _ in logged}:
        expected_steps = sorted(s for r, t, s in logged if (r, t) == (run, tag))
        assert reader.steps(run, tag) == expected_steps
        everything = reader.read_all(run, tag)
        assert sorted(everything) == expected_steps
        for step in expected_steps:
            assert_decodes_to(reader.read(run, tag, step), logged[run, tag, step])
            assert np.array_equal(everything[step], reader.read(run, tag, step))
        # No step: the latest one.
        assert np.array_equal(reader.read(run, tag), everything[expected_steps[-1]])


@pytest.mark.parametrize("call,args,names", [
    ("steps", ("nope", "conv1"), ["nope", "conv1"]),
    ("steps", ("train", "nope"), ["train", "nope"]),
    ("steps", ("scalars_only", "loss"), ["scalars_only", "loss"]),
    ("read", ("nope", "conv1", 0), ["nope", "conv1"]),
    ("read", ("train", "nope", 0), ["train", "nope"]),
    ("read", ("train", "conv1", 3), ["train", "conv1", "3"]),
    ("read", ("train", "conv1", -1), ["train", "conv1", "-1"]),
    ("read", ("eval", "dense", None), ["eval", "dense"]),
    ("read_all", ("train", "missing"), ["train", "missing"]),
])
def test_unknown_run_tag_or_step_is_a_key_error_with_a_message(logs, call, args, names):
    reader = Reader(logs[0])
    with pytest.raises(KeyError) as raised:
        getattr(reader, call)(*args)
    message = raised.value.args[0]
    for name in names:
        assert name in message


def test_a_step_written_twice_keeps_the_latest(tmp_path, monkeypatch):
    first, second, third = (np.full((2, 2), v, np.float32) for v in (1.0, 2.0, 3.0))
    with summary.Writer(str(tmp_path / "run")) as writer:
        writer.activations("conv", first, step=4, encoding="f32")
        writer.activations("conv", second, step=4, encoding="f32")
        writer.activations("conv", first, step=5, encoding="f32")
        writer.activations("conv", first, step=6, encoding="f32")
    reader = Reader(str(tmp_path))
    assert reader.steps("run", "conv") == [4, 5, 6]
    assert np.array_equal(reader.read("run", "conv", 4), second)
    assert np.array_equal(reader.read_all("run", "conv")[4], second)

    # A restarted run: a later event file (later timestamp in its name) goes back to
    # step 5; as in TensorBoard's default (Rust) backend, the new write wins and the
    # earlier run's later steps (6) are dropped.
    with summary.Writer(str(tmp_path / "run")) as writer:
        pass
    later = time.time() + 60
    monkeypatch.setattr(time, "time", lambda: later)
    with summary.Writer(str(tmp_path / "run")) as writer:
        writer.activations("conv", third, step=5, encoding="f32")
    reader.reload()
    for fresh in (reader, Reader(str(tmp_path))):
        assert fresh.steps("run", "conv") == [4, 5]
        assert np.array_equal(fresh.read("run", "conv", 5), third)
        assert np.array_equal(fresh.read("run", "conv"), third)
        assert np.array_equal(fresh.read("run", "conv", 4), second)
        assert fresh.tags()["run"]["conv"]["max_step"] == 5
        with pytest.raises(KeyError):
            fresh.read("run", "conv", 6)


def test_reload_picks_up_new_steps_and_runs(tmp_path):
    writer = summary.Writer(str(tmp_path / "a"))
    writer.activations("conv", np.zeros(3), step=0)
    reader = Reader(str(tmp_path))
    assert reader.runs() == ["a"] and reader.steps("a", "conv") == [0]
    writer.activations("conv", np.ones(3), step=1)
    with summary.Writer(str(tmp_path / "b")) as other:
        other.activations("conv", np.ones(3), step=0)
    assert reader.steps("a", "conv") == [0]  # until reload
    reader.reload()
    assert reader.runs() == ["a", "b"] and reader.steps("a", "conv") == [0, 1]
    writer.close()


def test_keeps_every_step(tmp_path):
    # TensorBoard keeps 10 blob samples by default; the reader must keep them all.
    with summary.Writer(str(tmp_path / "run")) as writer:
        for step in range(60):
            writer.activations("conv", np.full(4, step, np.float32), step=step, encoding="f32")
    reader = Reader(str(tmp_path))
    assert reader.steps("run", "conv") == list(range(60))
    assert all(np.array_equal(x, np.full(4, s, np.float32)) for s, x in reader.read_all("run", "conv").items())


def write_raw(run_dir, tag, payload, content, step=0):
    md = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="internals", content=content),
        data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE)
    writer = EventFileWriter(str(run_dir))
    writer.add_event(event_pb2.Event(step=step, summary=summary_pb2.Summary(value=[summary_pb2.Summary.Value(
        tag=tag, metadata=md, tensor=tensor_util.make_tensor_proto(np.array([payload], dtype=object)))])))
    writer.close()


def test_newer_metadata_is_listed_with_an_error_and_corrupt_payloads_raise(tmp_path):
    good = np.arange(6, dtype=np.float32)
    with summary.Writer(str(tmp_path / "run")) as writer:
        writer.activations("ok", good, step=0, encoding="f32")
    inline = dict(storage=metadata.STORAGE_INLINE)
    newer = metadata.create_summary_metadata("activations", [6], "float32", "q8", **inline).plugin_data.content
    newer = newer.replace(b'"version": %d' % metadata.SCHEMA_VERSION, b'"version": %d' % (metadata.SCHEMA_VERSION + 1))
    write_raw(tmp_path / "run", "from_the_future", encoding.encode(good), newer)
    content = metadata.create_summary_metadata("activations", [6], "float32", "q8", **inline).plugin_data.content
    write_raw(tmp_path / "run", "corrupt", b"INTL\x01\0\0\0garbage", content)

    reader = Reader(str(tmp_path))
    tags = reader.tags()["run"]
    assert "upgrade" in tags["from_the_future"]["error"]
    assert "error" not in tags["ok"] and "error" not in tags["corrupt"]
    assert np.array_equal(reader.read("run", "ok", 0), good)
    with pytest.raises(encoding.DecodeError):
        reader.read("run", "corrupt", 0)


def test_statistics_tags_do_not_disturb_activations(tmp_path):
    x = np.maximum(RNG.randn(8, 6), 0).astype(np.float32)
    with summary.Writer(str(tmp_path / "run")) as writer:
        writer.activations("dense", x, step=0, encoding="f32")
        writer.activation_stats("dense/stats", x, step=0, activation="relu", source_tag="dense")
        writer.activations("dense", x * 2, step=1, encoding="f32")
        writer.activation_stats("dense/stats", x * 2, step=1, activation="relu", source_tag="dense")
    reader = Reader(str(tmp_path))
    tags = reader.tags()["run"]
    assert tags["dense"]["kind"] == "activations" and tags["dense"]["max_step"] == 1
    assert tags["dense/stats"]["kind"] == metadata.KIND_ACTIVATION_STATS
    assert reader.steps("run", "dense") == [0, 1]
    assert np.array_equal(reader.read("run", "dense", 1), x * 2)
    with pytest.raises(KeyError, match="dense/stats"):
        reader.read("run", "dense/stats", 0)  # statistics are not arrays to decode


def test_writers_opened_one_after_another_in_the_same_second_keep_every_step(tmp_path, monkeypatch):
    # E.g. a Keras callback reopening its writer for each of many short fit() calls.
    # TensorBoard reads a run's event files in name order, and a step going back
    # counts as a restart, so the files must sort in creation order.
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now)
    monkeypatch.setattr(summary.Writer, "_uid", 8)
    for first in range(0, 12, 3):  # uids 8, 9, 10, 11: one more digit on the way
        with summary.Writer(str(tmp_path / "run")) as writer:
            for step in range(first, first + 3):
                writer.activations("conv", np.full(2, step, np.float32), step=step, encoding="f32")
    reader = Reader(str(tmp_path))
    assert reader.steps("run", "conv") == list(range(12))
    assert all(np.array_equal(x, np.full(2, s, np.float32)) for s, x in reader.read_all("run", "conv").items())


def test_model_summary_reads_back_as_the_logged_document(tmp_path):
    from tb_plugin.reader import Reader
    from tb_plugin.summary import Writer

    document = {"name": "net", "layers": [{"path": "dense", "class": "Dense", "params": 12}]}
    with Writer(str(tmp_path / "run")) as writer:
        writer.model_summary("model_summary", document)
        writer.activations("dense", [[1.0, 2.0]], step=0)
    reader = Reader(str(tmp_path))
    assert reader.read("run", "model_summary") == document
    assert reader.read("run", "dense", 0).tolist() == [[1.0, 2.0]]
