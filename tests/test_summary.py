"""The two writer doors: `summary.activations` (tf.summary style) and `summary.Writer` (TF-free)."""

import os
import struct
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.compat.proto import summary_pb2

from tb_plugin.format import encoding, metadata
from tb_plugin import summary
from tb_plugin.reader import Reader

from helpers import REAL_DTYPES, as_dtype, assert_decodes_to, stored_payloads, summary_values

RNG = np.random.RandomState(7)
CONV = RNG.randn(4, 6, 6, 3).astype(np.float32)


def tf_writer(path):
    return tf.summary.create_file_writer(str(path))


# --- the tf.summary door ---------------------------------------------------------


def test_eager_write_returns_true_and_is_read_back(tmp_path):
    writer = tf_writer(tmp_path / "run")
    with writer.as_default(step=3):
        written = summary.activations("conv1", CONV, description="first conv")
    writer.close()
    assert isinstance(written, tf.Tensor) and written.dtype == tf.bool and bool(written)
    reader = Reader(str(tmp_path))
    assert reader.steps("run", "conv1") == [3]
    assert_decodes_to(reader.read("run", "conv1", 3), CONV)
    info = reader.tags()["run"]["conv1"]
    assert info["description"] == "first conv"
    assert info["shape"] == list(CONV.shape) and info["dtype"] == "float32" and info["encoding"] == "q8"


def test_without_a_default_writer_returns_false(tmp_path):
    written = summary.activations("conv1", CONV, step=1)
    assert written.dtype == tf.bool and not bool(written)
    # Same contract as tf.summary itself.
    assert not bool(tf.summary.write("x", tf.constant(1.0), step=1))


def test_record_if_false_writes_nothing(tmp_path):
    writer = tf_writer(tmp_path / "run")
    with writer.as_default(step=0), tf.summary.record_if(False):
        assert not bool(summary.activations("conv1", CONV))
    writer.close()
    assert summary_values(str(tmp_path / "run")) == []


def test_missing_step_raises_like_tf_summary(tmp_path):
    writer = tf_writer(tmp_path / "run")
    previous = tf.summary.experimental.get_step()
    tf.summary.experimental.set_step(None)  # whatever other tests left behind
    try:
        with writer.as_default():
            with pytest.raises(ValueError) as ours:
                summary.activations("conv1", CONV)
            with pytest.raises(ValueError) as theirs:
                tf.summary.scalar("loss", 1.0)
    finally:
        tf.summary.experimental.set_step(previous)
    assert type(ours.value) is type(theirs.value)
    assert "step" in str(ours.value)


def test_inside_tf_function_over_several_steps(tmp_path):
    writer = tf_writer(tmp_path / "run")
    step = tf.Variable(0, dtype=tf.int64)

    @tf.function
    def train_step(x):
        with tf.name_scope("block1"):
            ok = summary.activations("conv", x, step=step)
        step.assign_add(1)
        return ok

    batches = [RNG.randn(2, 5, 5, 4).astype(np.float32) * (i + 1) for i in range(4)]
    with writer.as_default():
        results = [bool(train_step(tf.constant(b))) for b in batches]
    writer.close()
    assert results == [True] * 4
    reader = Reader(str(tmp_path))
    assert reader.steps("run", "block1/conv") == [0, 1, 2, 3]  # name scopes prefix the tag
    for i, batch in enumerate(batches):
        assert_decodes_to(reader.read("run", "block1/conv", i), batch)


def test_inside_tf_function_with_a_dynamic_batch(tmp_path):
    writer = tf_writer(tmp_path / "run")

    @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.float32), tf.TensorSpec([], tf.int64)])
    def log(x, step):
        return summary.activations("dense", x, step=step, encoding="f32")

    arrays = {0: RNG.randn(3, 8).astype(np.float32), 1: RNG.randn(17, 8).astype(np.float32)}
    with writer.as_default():
        for step, x in arrays.items():
            assert bool(log(tf.constant(x), tf.constant(step, tf.int64)))
    writer.close()
    reader = Reader(str(tmp_path))
    for step, x in arrays.items():
        assert np.array_equal(reader.read("run", "dense", step), x)


def test_size_limit_raises_value_error_at_trace_time(tmp_path):
    writer = tf_writer(tmp_path / "run")
    big = tf.zeros([4, 8, 8, 3])  # 768 values

    @tf.function
    def log(x):
        return summary.activations("conv", x, step=0, max_values=767)

    with writer.as_default():
        with pytest.raises(ValueError) as raised:
            log.get_concrete_function(tf.TensorSpec(big.shape, tf.float32))  # tracing only
        assert "(4, 8, 8, 3)" in str(raised.value) and "max_values=768" in str(raised.value)
        with pytest.raises(ValueError, match="max_values="):
            summary.activations("conv", big, step=0, max_values=767)  # eagerly too
        assert bool(summary.activations("conv", big, step=0, max_values=768))
    writer.close()
    assert [step for step, _ in summary_values(str(tmp_path / "run"), "conv")] == [0]


@pytest.mark.parametrize("bad", [{"encoding": "q4"}, {"data": tf.constant(["a", "b"])},
                                 {"data": tf.constant([1 + 2j])}, {"name": ""}])
def test_tf_door_refuses_bad_arguments(tmp_path, bad):
    arguments = dict(name="conv", data=CONV, step=0)
    arguments.update(bad)
    with tf_writer(tmp_path / "run").as_default():
        with pytest.raises(ValueError):
            summary.activations(**arguments)


# --- both doors store the same summary ----------------------------------------------


DOOR_CASES = [
    ("float32", "q8", (4, 6, 6, 3)), ("float32", "f32", (5, 7)), ("float64", "q8", (40, 2)),
    ("float16", "q8", (3, 3)), ("int32", "q8", (20,)), ("uint8", "f32", (2, 2, 2)),
    ("bool", "q8", (4, 4)), ("int8", "q8", ()), ("float32", "q8", (0, 5)),
]
if "bfloat16" in REAL_DTYPES:
    DOOR_CASES.append(("bfloat16", "q8", (6, 16)))


@pytest.mark.parametrize("dtype,name,shape", DOOR_CASES)
def test_both_doors_store_identical_summaries(tmp_path, dtype, name, shape):
    x = RNG.uniform(-50, 50, size=shape)
    if dtype in ("uint8", "bool"):
        x = np.abs(x) * (RNG.uniform(size=shape) > 0.3)
    if x.size and dtype.startswith(("float", "bfloat")):
        x.reshape(-1)[0] = np.nan
    x = x.astype(as_dtype(dtype))
    writer = tf_writer(tmp_path / "tf")
    with writer.as_default(step=5):
        assert bool(summary.activations("layer", x, description="desc", encoding=name))
    writer.close()
    with summary.Writer(str(tmp_path / "numpy")) as writer:
        writer.activations("layer", x, step=5, description="desc", encoding=name)

    (tf_step, tf_value), = summary_values(str(tmp_path / "tf"))
    (np_step, np_value), = summary_values(str(tmp_path / "numpy"))
    (_, np_payloads), = stored_payloads(str(tmp_path / "numpy"))
    assert tf_step == np_step == 5
    assert tf_value.tag == np_value.tag == "layer"
    # The payload: byte-identical, and equal to encoding the array directly;
    # inline in the tf.summary door's event file, in the Writer's payload store.
    assert list(tf_value.tensor.string_val) == np_payloads == [encoding.encode(x, name)]
    assert tf_value.metadata.data_class == summary_pb2.DATA_CLASS_BLOB_SEQUENCE
    assert np_value.metadata.data_class == summary_pb2.DATA_CLASS_TENSOR
    assert tf_value.metadata.summary_description == np_value.metadata.summary_description == "desc"
    fields = {"version": metadata.SCHEMA_VERSION, "kind": "activations", "shape": list(shape),
              "dtype": dtype, "encoding": name}
    assert metadata.parse_plugin_metadata(np_value.metadata.plugin_data.content) == dict(fields, storage="store")
    assert metadata.parse_plugin_metadata(tf_value.metadata.plugin_data.content) == dict(fields, storage="inline")


# --- the TF-free Writer ---------------------------------------------------------------


def test_writer_does_not_import_tensorflow(tmp_path):
    script = textwrap.dedent("""
        import sys
        import numpy as np
        import tb_plugin, tb_plugin.summary, tb_plugin.backend.plugin, tb_plugin.format.metadata, tb_plugin.format.encoding
        from tb_plugin.summary import Writer
        with Writer(sys.argv[1]) as writer:
            for step in range(3):
                writer.activations("conv", np.full((2, 3), step, np.float32), step=step)
        assert "tensorflow" not in sys.modules, sorted(m for m in sys.modules if m.startswith("tensorflow"))
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "run")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    reader = Reader(str(tmp_path))
    assert reader.steps("run", "conv") == [0, 1, 2]
    assert np.array_equal(reader.read("run", "conv", 2), np.full((2, 3), 2, np.float32))


@pytest.mark.parametrize("name", ["", "   ", None, 3, b"conv"])
def test_writer_refuses_bad_names(tmp_path, name):
    with summary.Writer(str(tmp_path)) as writer:
        with pytest.raises(ValueError, match="name"):
            writer.activations(name, CONV, step=0)


@pytest.mark.parametrize("step", [1.5, 2.0, "3", None, True, np.float32(2), 2**63, [1]])
def test_writer_refuses_bad_steps(tmp_path, step):
    with summary.Writer(str(tmp_path)) as writer:
        with pytest.raises(ValueError):
            writer.activations("conv", CONV, step=step)


def test_writer_accepts_numpy_integer_steps(tmp_path):
    with summary.Writer(str(tmp_path / "run")) as writer:
        writer.activations("conv", CONV, step=np.int64(4))
        writer.activations("conv", CONV, step=np.uint8(9))
    assert Reader(str(tmp_path)).steps("run", "conv") == [4, 9]


def test_writer_refuses_bad_data_and_oversized_data(tmp_path):
    with summary.Writer(str(tmp_path)) as writer:
        with pytest.raises(ValueError, match="real numbers"):
            writer.activations("conv", np.array(["a"]), step=0)
        with pytest.raises(ValueError, match="encoding"):
            writer.activations("conv", CONV, step=0, encoding="png")
        with pytest.raises(ValueError, match="max_values="):
            writer.activations("conv", CONV, step=0, max_values=CONV.size - 1)
    assert summary_values(str(tmp_path)) == []


def test_closed_writer_raises(tmp_path):
    writer = summary.Writer(str(tmp_path / "run"))
    writer.activations("conv", CONV, step=0)
    writer.close()
    writer.close()  # closing twice is harmless
    writer.flush()
    with pytest.raises(ValueError, match="closed"):
        writer.activations("conv", CONV, step=1)
    with summary.Writer(str(tmp_path / "run2")) as other:
        pass
    with pytest.raises(ValueError, match="closed"):
        other.activations("conv", CONV, step=0)
    assert Reader(str(tmp_path)).steps("run", "conv") == [0]


@pytest.mark.parametrize("name", encoding.ENCODINGS)
def test_writer_round_trips_nan_and_inf(tmp_path, name):
    x = RNG.randn(20, 4).astype(np.float32)
    x[0, 0], x[3, 1], x[7, 2], x[19, 3] = np.nan, np.inf, -np.inf, np.nan
    with summary.Writer(str(tmp_path / "run")) as writer:
        writer.activations("conv", x, step=0, encoding=name)
    assert_decodes_to(Reader(str(tmp_path)).read("run", "conv", 0), x, name)


def test_writes_are_on_disk_before_close(tmp_path):
    writer = summary.Writer(str(tmp_path / "run"))
    writer.activations("conv", CONV, step=0)
    writer.activations("conv", CONV * 2, step=1)
    try:
        reader = Reader(str(tmp_path))  # another process could read them now
        assert reader.steps("run", "conv") == [0, 1]
        assert_decodes_to(reader.read("run", "conv", 1), CONV * 2)
    finally:
        writer.close()


def test_two_writers_in_one_run_and_threads(tmp_path):
    run = str(tmp_path / "run")
    first, second = summary.Writer(run), summary.Writer(run)
    assert first.path != second.path
    tags = ["layer%d" % i for i in range(4)]
    arrays = {(tag, step): np.full((3, 3), 100 * i + step, np.float32)
              for i, tag in enumerate(tags) for step in range(30)}

    def work(writer, tag):
        for step in range(30):
            writer.activations(tag, arrays[tag, step], step=step, encoding="f32")

    threads = [threading.Thread(target=work, args=(w, tag)) for w, tag in zip([first, first, second, second], tags)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first.close()
    second.close()
    reader = Reader(str(tmp_path))
    assert sorted(reader.tags()["run"]) == tags
    for tag in tags:
        read = reader.read_all("run", tag)
        assert sorted(read) == list(range(30))
        for step, x in read.items():
            assert np.array_equal(x, arrays[tag, step])


def record_offsets(path):
    """Start offsets of the TFRecords in an event file (length, crc, data, crc)."""
    offsets, data = [], open(path, "rb").read()
    position = 0
    while position < len(data):
        offsets.append(position)
        (length,) = struct.unpack_from("<Q", data, position)
        position += 8 + 4 + length + 4
    assert position == len(data)
    return offsets


def test_half_written_event_file_still_loads_complete_steps(tmp_path):
    arrays = [RNG.randn(6, 5).astype(np.float32) for _ in range(5)]
    with summary.Writer(str(tmp_path / "run")) as writer:
        for step, x in enumerate(arrays):
            writer.activations("conv", x, step=step)
        path = writer.path
    offsets = record_offsets(path)
    assert len(offsets) == 1 + len(arrays)  # file_version event, then one per step
    size = os.path.getsize(path)
    last = offsets[-1]
    for cut in (size - 1, (last + size) // 2, last + 5):  # inside the final crc, the data, the length
        with open(path, "r+b") as f:
            f.truncate(cut)
        reader = Reader(str(tmp_path))
        assert reader.steps("run", "conv") == [0, 1, 2, 3]
        for step in range(4):
            assert_decodes_to(reader.read("run", "conv", step), arrays[step])


# --- bad writer input: a message that names the argument ---------------------------


@pytest.mark.parametrize("kwargs,match", [
    (dict(step=2 ** 63), "step must fit in int64"),
    (dict(step=-(2 ** 63) - 1), "step must fit in int64"),
    (dict(step=1.5), "step must be an integer"),
    (dict(step=True), "step must be an integer"),
    (dict(max_values="10"), "max_values must be a positive integer"),
    (dict(max_values=0), "max_values must be a positive integer"),
    (dict(description=5), "description must be a string"),
    (dict(encoding=None), "unknown encoding"),
    (dict(encoding="q4"), "unknown encoding"),
])
def test_writer_arguments_are_checked_by_name(tmp_path, kwargs, match):
    args = dict(step=0)
    args.update(kwargs)
    with summary.Writer(str(tmp_path)) as writer:
        with pytest.raises(ValueError, match=match):
            writer.activations("layer", np.zeros((2, 3)), **args)
        with pytest.raises(ValueError, match=match):
            writer.weights("layer/kernel", np.zeros((2, 3)), **args)
    assert summary_values(str(tmp_path)) == []  # nothing half-written


def test_masked_arrays_keep_their_mask_as_nan_through_both_doors(tmp_path):
    x = np.ma.masked_array(RNG.randn(4, 5).astype(np.float32), mask=RNG.uniform(size=(4, 5)) > 0.6)
    with summary.Writer(str(tmp_path / "numpy")) as writer:
        writer.activations("layer", x, step=1, encoding="f32")
    writer = tf_writer(tmp_path / "tf")
    with writer.as_default(step=1):
        assert bool(summary.activations("layer", x, encoding="f32"))
    writer.close()
    reader = Reader(str(tmp_path))
    for run in ("numpy", "tf"):
        decoded = reader.read(run, "layer", 1)
        assert np.array_equal(np.isnan(decoded), x.mask)
        assert np.array_equal(decoded[~x.mask], x.compressed())


# --- every kind with a tf.summary door: the same step through both doors ---------------

SCORES = np.exp(RNG.randn(2, 3, 3)) / np.exp(RNG.randn(2, 3, 3)).sum(-1, keepdims=True)
SCORES = SCORES / SCORES.sum(-1, keepdims=True)
LABELS = np.arange(12) % 3
DOOR_KINDS = {
    # kind: (arguments of the tf.summary door, of the Writer; both without the step)
    "weights": ((CONV[0],), dict(layer="conv", layer_class="Conv2D")),
    "attention": ((SCORES,), dict(tokens=list("abc"), patch_grid=(1, 3), image=RNG.uniform(size=(2, 6, 3)))),
    "embedding": ((CONV,), dict(labels=[0, 1, 0, 1], class_names=["a", "b"], thumbnails=RNG.uniform(size=(4, 3, 3)))),
    "class_stats": ((), dict(labels=LABELS, predictions=np.eye(3)[(LABELS + (np.arange(12) > 9)) % 3],
                             layers={"h": RNG.randn(12, 5)}, class_names=list("xyz"), thumbnails=RNG.uniform(size=(12, 2, 2)))),
    "attribution": (({"saliency": RNG.uniform(size=(3, 4, 4))},), dict(
        predicted_class=[0, 1, 1], predicted_probability=np.array([0.5, 0.6, 0.7]), images=RNG.uniform(size=(3, 4, 4)),
        gradcam_raw=RNG.uniform(size=(3, 2, 2)), gradcam_layer="conv", settings={"steps": 3})),
}


@pytest.mark.parametrize("function", [lambda f: f, tf.function], ids=["eager", "tf.function"])
@pytest.mark.parametrize("kind", sorted(DOOR_KINDS))
def test_every_kind_stores_the_same_step_through_both_doors(tmp_path, kind, function):
    args, kwargs = DOOR_KINDS[kind]
    writer = tf_writer(tmp_path / "tf")
    with writer.as_default(step=3):
        if kind == "class_stats":
            door = function(lambda: getattr(summary, kind)(kind, kwargs["labels"], kwargs["predictions"],
                                                           **{k: v for k, v in kwargs.items() if k not in ("labels", "predictions")}))
        else:
            door = function(lambda: getattr(summary, kind)(kind, *args, **kwargs))
        assert bool(door())
    writer.close()
    with summary.Writer(str(tmp_path / "numpy")) as numpy_writer:
        getattr(numpy_writer, kind)(kind, *args, step=3, **kwargs)
    (tf_step, tf_value), = summary_values(str(tmp_path / "tf"))
    (np_step, np_value), = summary_values(str(tmp_path / "numpy"))
    (_, np_blobs), = stored_payloads(str(tmp_path / "numpy"))
    tf_blobs = list(tf_value.tensor.string_val)
    assert tf_step == np_step == 3 and tf_value.tag == np_value.tag == kind
    tf_fields = metadata.parse_plugin_metadata(tf_value.metadata.plugin_data.content)
    np_fields = metadata.parse_plugin_metadata(np_value.metadata.plugin_data.content)
    assert (tf_fields.pop("storage"), np_fields.pop("storage")) == ("inline", "store")
    if kind == "attention":
        # Documented: the tf.summary door keeps no state, so it stores the labels with every step.
        assert tf_blobs[1] and not np_blobs[1]
        tf_blobs[1] = np_blobs[1]
    if kind == "class_stats":
        # Documented: traced before the document is computed, its metadata has what is known then.
        assert np_fields.pop("samples") == 12
    assert tf_blobs == np_blobs
    assert tf_fields == np_fields
