"""The payload store behind real TensorBoard processes: corrupt steps are refused
per step, crafted references cannot read outside the run, --logdir_spec works."""

import json
import os
from urllib.parse import urlencode

import numpy as np
import pytest
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from tensorboard.util import tensor_util

from tb_plugin.format import encoding, metadata, store
from tb_plugin.summary import Writer

from conftest import http_get, running_tensorboard, wait_for_steps

PREFIX = "/data/plugin/internals"
BACKENDS = ("true", "false")
RNG = np.random.RandomState(9)


def data(url, run, tag, step):
    return http_get(url + PREFIX + "/data?" + urlencode({"run": run, "tag": tag, "step": step}))


def write_reference(run_dir, tag, reference, step=0):
    """An event whose reference was crafted by hand (not by tb_plugin's writer)."""
    md = metadata.create_summary_metadata("activations", [4], "float32", "f32")
    writer = EventFileWriter(str(run_dir))
    writer.add_event(event_pb2.Event(step=step, wall_time=1.0, summary=summary_pb2.Summary(value=[
        summary_pb2.Summary.Value(tag=tag, metadata=md, tensor=tensor_util.make_tensor_proto(
            np.array([json.dumps(reference).encode()], dtype=object)))])))
    writer.close()


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("store_serving")
    logged = {}
    with Writer(str(logdir / "run")) as w:
        for step in range(4):
            x = RNG.randn(8, 32).astype(np.float32)
            w.activations("dense", x, step=step, encoding="f32")
            logged[step] = x
        path = w._store.path
    # Flip one payload byte of step 2's record.
    refs = [json.loads(v.tensor.string_val[0]) for e in _events(logdir / "run") for v in e.summary.value]
    with open(path, "r+b") as f:
        f.seek(refs[2]["offset"] + 12 + 100)
        byte = f.read(1)
        f.seek(refs[2]["offset"] + 12 + 100)
        f.write(bytes([byte[0] ^ 1]))
    # A secret next to the logdir, and references crafted to reach it.
    secret = tmp_path_factory.mktemp("outside") / "private.txt"
    secret.write_bytes(b"top secret" * 10)
    for i, name in enumerate(["../../../" + secret.name, str(secret), "..", "payloads.absent.rec"]):
        write_reference(logdir / "crafted", "tag%d" % i, {"file": name, "offset": 0, "length": 10, "crc32c": 0})
    return logdir, logged


def _events(run_dir):
    from tensorboard.backend.event_processing import event_file_loader

    found = []
    for name in sorted(os.listdir(str(run_dir))):
        if "tfevents" in name:
            found.extend(e for e in event_file_loader.EventFileLoader(str(run_dir / name)).Load()
                         if e.HasField("summary"))
    return found


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_corrupt_step_is_refused_and_the_others_serve(logs, backend):
    logdir, logged = logs
    with running_tensorboard(logdir, backend) as url:
        wait_for_steps(url, "run", "dense", 4)
        for step, x in logged.items():
            status, headers, body = data(url, "run", "dense", step)
            if step == 2:
                assert status == 422 and headers["Content-Type"].startswith("application/json")
                message = json.loads(body)["error"]
                assert "corrupt" in message and "step 2" in message and "checksum" in message
            else:
                assert status == 200
                assert np.array_equal(encoding.decode(body), x)
        for i in range(4):
            status, headers, body = data(url, "crafted", "tag%d" % i, 0)
            assert status == 422, (i, status, body[:200])
            assert b"top secret" not in body
            assert json.loads(body)["error"]


def test_logdir_spec_resolves_run_directories(tmp_path):
    x = RNG.randn(3, 5).astype(np.float32)
    with Writer(str(tmp_path / "a" / "deep")) as w:
        w.activations("dense", x, step=7, encoding="f32")
    with Writer(str(tmp_path / "b")) as w:
        w.activations("dense", x * 2, step=3, encoding="f32")
    spec = "first:%s,second:%s" % (tmp_path / "a", tmp_path / "b")
    # --logdir_spec runs on the Python multiplexer (TensorBoard's Rust data server does not take it).
    with running_tensorboard(spec, "false", logdir_flag="--logdir_spec") as url:
        wait_for_steps(url, "first/deep", "dense", 1)
        wait_for_steps(url, "second/.", "dense", 1)  # TensorBoard names a spec's own directory "name/."
        status, _, body = data(url, "first/deep", "dense", 7)
        assert status == 200 and np.array_equal(encoding.decode(body), x)
        status, _, body = data(url, "second/.", "dense", 3)
        assert status == 200 and np.array_equal(encoding.decode(body), x * 2)


def test_store_folder_is_not_taken_for_a_run(logs):
    logdir, _ = logs
    assert os.listdir(str(logdir / "run" / store.STORE_DIR))
    with running_tensorboard(logdir, "true") as url:
        status, _, body = http_get(url + "/data/runs")
        assert status == 200 and not any("plugins" in run for run in json.loads(body))
