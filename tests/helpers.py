"""Helpers shared by the tb_plugin test files (independent of tb_plugin's own code)."""

import glob
import os

import numpy as np

try:
    import ml_dtypes
except ImportError:  # pragma: no cover - ml_dtypes ships with TensorFlow
    ml_dtypes = None

# Every real dtype the writers accept (bfloat16 when ml_dtypes is importable).
REAL_DTYPES = ["float16", "float32", "float64", "int8", "int32", "int64", "uint8", "bool"]
if ml_dtypes is not None:
    REAL_DTYPES.append("bfloat16")

MIN_VALUES_PER_CHANNEL = 16  # the channel rule stated in encoding.py's docstring


def as_dtype(name):
    if name == "bfloat16":
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def logged_values(x):
    """The values a payload stands for, as float64, following the documented rules.

    float32 and float64 keep their precision; every other real dtype goes
    through float32; finite values beyond the float32 range are stored as
    +/-Inf (what a float32 cast gives).
    """
    x = np.asarray(x)
    if x.dtype in (np.float32, np.float64):
        values = x.astype(np.float64)
    else:
        values = x.astype(np.float32).astype(np.float64)
    with np.errstate(over="ignore"):
        as32 = values.astype(np.float32)
    return np.where(np.isinf(as32), as32.astype(np.float64), values)


def channel_columns(values):
    """`values` as a 2-D array whose columns are the q8 channels of the docstring.

    Channels run along the last axis when each holds at least 16 values;
    otherwise the whole array is one channel.
    """
    values = np.asarray(values)
    if values.ndim >= 1 and values.shape[-1] > 0 and values.size // values.shape[-1] >= MIN_VALUES_PER_CHANNEL:
        return values.reshape(-1, values.shape[-1])
    return values.reshape(-1, 1)


def channel_ranges(values):
    """(lo, hi) per channel column over its finite values; None where a channel has none."""
    columns = channel_columns(values)
    ranges = []
    for c in range(columns.shape[1]):
        finite = columns[:, c][np.isfinite(columns[:, c])]
        ranges.append((finite.min(), finite.max()) if finite.size else None)
    return columns, ranges


def ulp32(values):
    """One float32 ulp at each value's magnitude, as float64 (finite at the float32 maximum)."""
    with np.errstate(over="ignore"):
        magnitude = np.abs(np.asarray(values, dtype=np.float64)).astype(np.float32)
    below = np.nextafter(magnitude, np.float32(0))  # the ulp of the largest float32 is not inf
    return np.where(np.isfinite(magnitude), np.spacing(np.where(np.isfinite(magnitude), below, 0)),
                    np.inf).astype(np.float64)


def q8_level(values):
    """Per element, half a quantisation level: (max_c - min_c) / 510 over the channel's finite values."""
    columns, ranges = channel_ranges(values)
    level = np.zeros(columns.shape)
    for c, found in enumerate(ranges):
        if found is not None:
            lo, hi = found
            level[:, c] = (hi - lo) / 510.0
    return level.reshape(np.shape(values))


def q8_allowed_error(x):
    """Per-element bound from the docstring: (max_c - min_c) / 510 plus float32 rounding of the result."""
    values = logged_values(x)
    # 1e-6 relative slack: lo and scale are stored as float32.
    return values, q8_level(values) * (1 + 1e-6) + ulp32(values)


def assert_decodes_to(decoded, x, name="q8"):
    """`decoded` is what the docstring promises for array `x` logged with encoding `name`."""
    decoded = np.asarray(decoded)
    assert decoded.dtype == np.float32
    assert decoded.shape == np.shape(x)
    values, allowed = q8_allowed_error(x)
    assert np.array_equal(np.isnan(decoded), np.isnan(values))
    assert np.array_equal(np.isinf(decoded) & (decoded > 0), np.isinf(values) & (values > 0))
    assert np.array_equal(np.isinf(decoded) & (decoded < 0), np.isinf(values) & (values < 0))
    finite = np.isfinite(values)
    if name == "f32":
        assert np.array_equal(decoded[finite], values[finite].astype(np.float32))
    else:
        error = np.abs(decoded.astype(np.float64)[finite] - values[finite])
        assert np.all(error <= allowed[finite]), error.max()


def events_of(logdir_or_file):
    """Every `Event` in the event files under a run directory (or one file), in file order."""
    from tensorboard.backend.event_processing import event_file_loader

    if os.path.isdir(logdir_or_file):
        files = sorted(glob.glob(os.path.join(logdir_or_file, "events.out.tfevents.*")))
    else:
        files = [logdir_or_file]
    events = []
    for path in files:
        events.extend(event_file_loader.EventFileLoader(path).Load())
    return events


def summary_values(logdir, tag=None):
    """`(step, Summary.Value)` of every summary value under a run directory."""
    found = []
    for event in events_of(logdir):
        if event.HasField("summary"):
            for value in event.summary.value:
                if tag is None or value.tag == tag:
                    found.append((event.step, value))
    return found


def write_schema1(run_dir, tag, steps_and_payloads, content=None, kind="activations", shape=(), dtype="float32",
                  encoding="q8"):
    """Writes what the release before the payload store wrote: schema-1 metadata
    and each step's payloads inline in a blob sequence (built here by hand, not
    with tb_plugin's writer, so it stays what old logs hold)."""
    import json

    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboard.util import tensor_util

    if content is None:
        content = json.dumps({"version": 1, "kind": kind, "shape": list(shape), "dtype": dtype,
                              "encoding": encoding}, sort_keys=True).encode("utf-8")
    md = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="internals", content=content),
        data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE)
    writer = EventFileWriter(str(run_dir))
    for step, payloads in steps_and_payloads:
        payloads = payloads if isinstance(payloads, (list, tuple)) else [payloads]
        writer.add_event(event_pb2.Event(step=step, wall_time=1000.0 + step, summary=summary_pb2.Summary(value=[
            summary_pb2.Summary.Value(tag=tag, metadata=md,
                                      tensor=tensor_util.make_tensor_proto(np.array(payloads, dtype=object)))])))
    writer.close()


def stored_payloads(logdir, tag=None):
    """`(step, [payload bytes or b""])` of every summary under a run directory,
    following its references into the run's payload store (read here by hand:
    the store is TFRecord-framed records at the referenced offsets)."""
    return [(step, [read_stored(logdir, raw) for raw in value.tensor.string_val])
            for step, value in summary_values(logdir, tag)]


def read_stored(run_dir, raw_reference):
    """The payload one reference (JSON bytes; b"" for none) names in a run's store."""
    import json

    if not raw_reference:
        return b""
    ref = json.loads(raw_reference)
    with open(os.path.join(str(run_dir), "plugins", "internals", ref["file"]), "rb") as f:
        f.seek(ref["offset"] + 12)  # past the record's length and its checksum
        return f.read(ref["length"])
