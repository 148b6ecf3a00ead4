"""The payload store: records, references, integrity, containment, and a killed writer."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from tb_plugin.format import store, tfrecord
from tb_plugin.reader import Reader
from tb_plugin.summary import Writer

from helpers import summary_values

RNG = np.random.RandomState(5)


def payloads(n, size=5000):
    return [RNG.bytes(size + i) for i in range(n)]


def test_records_round_trip_and_scan_matches_the_references(tmp_path):
    writer = store.StoreWriter(str(tmp_path))
    blobs = payloads(5) + [b"x", b""]
    refs = [writer.append(b) for b in blobs]
    writer.close()
    assert len({r.file for r in refs}) == 1 and refs[0].offset == 0
    assert [r.length for r in refs] == [len(b) for b in blobs]
    assert [r.crc32c for r in refs] == [tfrecord._numpy_crc32c(b) for b in blobs]  # independent CRC
    reader = store.StoreReader()
    for ref, blob in zip(refs, blobs):
        assert reader.read(str(tmp_path), store.parse_reference(store.reference_bytes(ref))) == blob
    path = os.path.join(str(tmp_path), store.STORE_DIR, refs[0].file)
    assert [(r, p) for r, p in store.scan(path)] == list(zip(refs, blobs))
    # The store file is TFRecord-framed: TensorBoard's own record reader reads it back.
    from tensorboard.compat.tensorflow_stub import pywrap_tensorflow

    records = pywrap_tensorflow.PyRecordReader_New(path.encode())
    read_back = []
    while True:
        try:
            records.GetNext()
        except Exception:
            break
        read_back.append(records.record())
    assert read_back == blobs
    assert "tfevents" not in refs[0].file  # TensorBoard would take the store folder for a run


@pytest.mark.parametrize("where", ["length", "length_crc", "payload", "footer_is_ignored"])
def test_a_flipped_byte_is_refused_never_served(tmp_path, where):
    writer = store.StoreWriter(str(tmp_path))
    first, second = writer.append(b"a" * 1000), writer.append(b"b" * 1000)
    writer.close()
    path = os.path.join(str(tmp_path), store.STORE_DIR, first.file)
    offset = {"length": 2, "length_crc": 9, "payload": 12 + 500, "footer_is_ignored": 12 + 1000 + 1}[where]
    with open(path, "r+b") as f:
        f.seek(second.offset + offset)
        byte = f.read(1)
        f.seek(second.offset + offset)
        f.write(bytes([byte[0] ^ 0x40]))
    reader = store.StoreReader()
    assert reader.read(str(tmp_path), first) == b"a" * 1000  # the other records still serve
    if where == "footer_is_ignored":
        # The reference's own checksum covers the payload; the record footer is redundant.
        assert reader.read(str(tmp_path), second) == b"b" * 1000
    else:
        with pytest.raises(store.CorruptPayload, match="does not match"):
            reader.read(str(tmp_path), second)


def test_a_reference_whose_checksum_differs_is_refused(tmp_path):
    writer = store.StoreWriter(str(tmp_path))
    ref = writer.append(b"payload")
    with pytest.raises(store.CorruptPayload, match="checksum"):
        store.StoreReader().read(str(tmp_path), ref._replace(crc32c=ref.crc32c ^ 1))
    with pytest.raises(store.CorruptPayload):
        store.StoreReader().read(str(tmp_path), ref._replace(length=ref.length - 1))


def test_truncated_and_missing_stores(tmp_path):
    writer = store.StoreWriter(str(tmp_path))
    refs = [writer.append(b) for b in payloads(3)]
    writer.close()
    path = os.path.join(str(tmp_path), store.STORE_DIR, refs[0].file)
    with open(path, "r+b") as f:
        f.truncate(refs[2].offset + 100)  # the last record cut short
    reader = store.StoreReader()
    assert len(reader.read(str(tmp_path), refs[1])) == refs[1].length
    with pytest.raises(store.CorruptPayload, match="truncated"):
        reader.read(str(tmp_path), refs[2])
    assert [r for r, _ in store.scan(path)] == refs[:2]  # scanning stops at the cut
    with pytest.raises(store.MissingPayload):
        reader.read(str(tmp_path), refs[0]._replace(offset=10 ** 9))
    with pytest.raises(store.MissingPayload, match="missing"):
        reader.read(str(tmp_path), refs[0]._replace(file="payloads.other.rec"))


@pytest.mark.parametrize("name", ["../events.out.tfevents.x", "/etc/passwd", "a/b.rec", "..", ".hidden",
                                  "x\\y.rec", "", "payloads.%s.rec" % ("x" * 300), 7, None])
def test_references_outside_the_store_folder_are_refused(name):
    raw = json.dumps({"file": name, "offset": 0, "length": 1, "crc32c": 0}).encode()
    with pytest.raises(store.BadReference):
        store.parse_reference(raw)


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b'{"file": "a.rec"}', b"\xff\xfe",
                                 b'{"file": "a.rec", "offset": -1, "length": 1, "crc32c": 0}',
                                 b'{"file": "a.rec", "offset": 0, "length": true, "crc32c": 0}',
                                 b'{"file": "a.rec", "offset": 0, "length": 1, "crc32c": 4294967296}'])
def test_malformed_references_are_refused(raw):
    with pytest.raises(store.BadReference):
        store.parse_reference(raw)


def test_a_link_out_of_the_store_folder_is_refused(tmp_path):
    outside = tmp_path / "secret.rec"
    writer = store.StoreWriter(str(tmp_path / "elsewhere"))
    ref = writer.append(b"secret")
    writer.close()
    shutil.copy(os.path.join(str(tmp_path / "elsewhere"), store.STORE_DIR, ref.file), outside)
    folder = tmp_path / "run" / "plugins" / "internals"
    folder.mkdir(parents=True)
    os.symlink(str(outside), str(folder / "payloads.link.rec"))
    with pytest.raises(store.BadReference, match="outside"):
        store.StoreReader().read(str(tmp_path / "run"), ref._replace(file="payloads.link.rec"))


def test_reads_through_tensorboards_file_layer(tmp_path):
    """A URL run directory reads through `tensorboard.compat.tf.io.gfile`
    (TensorFlow's gfile here), and through TensorBoard's TF-free stub with an
    fsspec file system."""
    writer = store.StoreWriter(str(tmp_path))
    refs = [writer.append(b) for b in payloads(3)]
    writer.close()
    reader = store.StoreReader()
    blobs = [reader.read(str(tmp_path), r) for r in refs]
    assert [reader.read("file://" + str(tmp_path), r) for r in refs] == blobs
    fsspec = pytest.importorskip("fsspec")
    from tensorboard.compat.tensorflow_stub.io import gfile as stub_gfile

    memory = fsspec.filesystem("memory")
    with open(os.path.join(str(tmp_path), store.STORE_DIR, refs[0].file), "rb") as f:
        memory.pipe("/run/plugins/internals/" + refs[0].file, f.read())
    for ref, blob in zip(refs, blobs):
        record = store._read_remote("memory://run/plugins/internals/" + ref.file, ref.offset,
                                    ref.length + store.FRAMING_BYTES, gfile=stub_gfile)
        assert store._check_record(record, ref) == blob


def test_a_copied_run_directory_keeps_loading(tmp_path):
    x = RNG.randn(4, 8).astype(np.float32)
    with Writer(str(tmp_path / "logs" / "run")) as w:
        w.activations("dense", x, step=1, encoding="f32")
        w.model_summary("model_summary", {"name": "m"})
    shutil.copytree(str(tmp_path / "logs"), str(tmp_path / "moved"))
    shutil.rmtree(str(tmp_path / "logs"))
    reader = Reader(str(tmp_path / "moved"))
    assert np.array_equal(reader.read("run", "dense", 1), x)
    assert reader.read("run", "model_summary") == {"name": "m"}
    # References are bare names; the event files hold no payload.
    for _, value in summary_values(str(tmp_path / "moved" / "run")):
        for raw in value.tensor.string_val:
            assert json.loads(raw)["file"] == os.path.basename(json.loads(raw)["file"])
            assert len(raw) < 200


def test_event_files_stay_small_and_the_store_holds_the_bytes(tmp_path):
    x = RNG.randn(16, 8, 8, 64).astype(np.float32)
    with Writer(str(tmp_path)) as w:
        for step in range(5):
            w.activations("conv", x + step, step=step)
    events = sum(os.path.getsize(os.path.join(str(tmp_path), f)) for f in os.listdir(str(tmp_path))
                 if "tfevents" in f)
    folder = os.path.join(str(tmp_path), store.STORE_DIR)
    stored = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
    assert stored > 5 * 16 * 8 * 8 * 64 * 0.3  # the q8 payloads
    assert events < 5 * 600  # a reference and the metadata per step


KILLED_WRITER = textwrap.dedent("""
    import sys, numpy as np
    from tb_plugin.summary import Writer
    w = Writer(sys.argv[1])
    step = 0
    while True:
        w.activations("conv", np.full((64, 32, 32), step, np.float32) + np.arange(32, dtype=np.float32), step=step)
        step += 1
        print(step, flush=True)
""")


def test_a_killed_writer_loses_at_most_the_record_it_was_writing(tmp_path):
    """SIGKILL at random moments: every step the reader lists reads back whole."""
    rng = np.random.RandomState(0)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd()] + sys.path))
    for attempt in range(3):
        run = str(tmp_path / ("run%d" % attempt))
        proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, run], stdout=subprocess.PIPE, env=env)
        proc.stdout.readline()  # at least one step written
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        reader = Reader(str(tmp_path))
        steps = reader.steps("run%d" % attempt, "conv")
        assert steps == list(range(len(steps))) and steps
        for step in steps:
            x = reader.read("run%d" % attempt, "conv", step)
            assert np.array_equal(x, np.full((64, 32, 32), step, np.float32) + np.arange(32, dtype=np.float32))
