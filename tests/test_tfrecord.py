"""Both CRC-32C implementations (google-crc32c's C one, in use when installed,
and the numpy fallback) and the record framing agree with TensorBoard's reference."""

import io

import numpy as np
from hypothesis import given, settings, strategies as st
from tensorboard.compat.tensorflow_stub import pywrap_tensorflow as reference
from tensorboard.summary.writer.record_writer import RecordWriter

from tb_plugin.format import tfrecord


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 300_000), st.integers(0, 2**32 - 1))
def test_crc32c_matches_tensorboard(length, seed):
    data = np.random.default_rng(seed).integers(0, 256, length, dtype=np.uint8).tobytes()
    assert tfrecord.crc32c(data) == tfrecord._numpy_crc32c(data) == reference.crc32c(data)
    assert tfrecord.masked_crc32c(data) == reference.masked_crc32c(data)


def test_crc32c_chunk_boundaries():
    # Lengths around the small/numpy switch and power-of-two chunk counts.
    rng = np.random.default_rng(1)
    for length in (65535, 65536, 65537, 131071, 131072, 131073, 1 << 20 | 3):
        data = rng.integers(0, 256, length, dtype=np.uint8).tobytes()
        assert tfrecord._numpy_crc32c(data) == tfrecord.crc32c(data) == reference.crc32c(data), length


def test_the_c_implementation_is_in_use():
    import google_crc32c  # a declared dependency

    assert google_crc32c.implementation == "c"
    assert tfrecord.crc32c is not tfrecord._numpy_crc32c


def test_record_is_what_tensorboard_writes():
    data = np.random.default_rng(2).integers(0, 256, 200_000, dtype=np.uint8).tobytes()
    buffer = io.BytesIO()
    RecordWriter(buffer).write(data)
    assert tfrecord.encode_record(data) == buffer.getvalue()
    assert tfrecord.encode_record(data, crc=tfrecord.crc32c(data)) == buffer.getvalue()
