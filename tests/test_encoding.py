"""Properties of the payload encoder/decoder (tb_plugin.format.encoding).

The expected values are computed here from the module docstring's rules
(layout, channel rule, q8 error bound), not by calling the encoder's helpers.
"""

import json
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from tb_plugin.format import encoding

from helpers import REAL_DTYPES, as_dtype, channel_ranges, logged_values, q8_allowed_error, q8_level, ulp32

FLOAT_WIDTHS = {"float16": 16, "bfloat16": 32, "float32": 32, "float64": 64}
NONFINITE = [np.nan, np.inf, -np.inf]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

shapes = hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=5)


@st.composite
def logged_arrays(draw, dtypes=tuple(REAL_DTYPES), allow_nonfinite=True):
    """Arrays of every real dtype and rank 0..5 (zero-size dims included),
    floats with NaN/+Inf/-Inf at random positions."""
    name = draw(st.sampled_from(dtypes))
    shape = draw(shapes)
    if name not in FLOAT_WIDTHS:
        # Integers float32 holds exactly (f32 refuses others: tested on its own).
        info = np.iinfo(as_dtype(name)) if name != "bool" else None
        if info is None:
            return draw(hnp.arrays(as_dtype(name), shape))
        elements = st.integers(max(info.min, -2 ** 24), min(info.max, 2 ** 24))
        return draw(hnp.arrays(as_dtype(name), shape, elements=elements))
    width = FLOAT_WIDTHS[name]
    magnitude = draw(st.sampled_from([None, 2.0**-20, 1.0, 2.0**14]))
    if magnitude is None:  # anything finite the width holds, subnormals and extremes included
        elements = st.floats(width=width, allow_nan=False, allow_infinity=False)
    else:
        elements = st.floats(-magnitude, magnitude, width=width)
    generated = np.float32 if name == "bfloat16" else as_dtype(name)
    x = draw(hnp.arrays(generated, shape, elements=elements)).copy()
    if allow_nonfinite and x.size:
        count = draw(st.integers(0, min(4, x.size)))
        positions = draw(st.lists(st.integers(0, x.size - 1), min_size=count, max_size=count))
        kinds = draw(st.lists(st.sampled_from(NONFINITE), min_size=count, max_size=count))
        flat = x.reshape(-1)
        flat[positions] = kinds
    return x.astype(as_dtype(name))


def bits32(a):
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def assert_same_nonfinite(decoded, expected):
    assert np.array_equal(np.isnan(decoded), np.isnan(expected))
    assert np.array_equal(decoded == np.inf, expected == np.inf)
    assert np.array_equal(decoded == -np.inf, expected == -np.inf)


# --- lossless f32 ------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint32", "uint64"])
def test_f32_refuses_integers_float32_would_round_and_keeps_the_ones_it_holds(dtype):
    exact = np.array([0, 1, 2 ** 24, 2 ** 25, 2 ** 40 if dtype.endswith("64") else 2 ** 31 - 2 ** 7], dtype=dtype)
    assert np.array_equal(encoding.decode(encoding.encode(exact, "f32")).astype(np.float64), exact.astype(np.float64))
    rounded = np.array([3, 2 ** 24 + 1], dtype=dtype)
    with pytest.raises(ValueError, match="16777217"):
        encoding.encode(rounded, "f32")
    # q8 never promised exact values: it stores them within its documented bound.
    encoding.decode(encoding.encode(rounded, "q8"))


def test_masked_elements_are_stored_as_nan():
    x = np.ma.masked_array(np.arange(6, dtype=np.int64).reshape(2, 3), mask=[[0, 1, 0], [0, 0, 1]])
    for name in ("f32", "q8"):
        decoded = encoding.decode(encoding.encode(x, name))
        assert np.array_equal(np.isnan(decoded), x.mask)
        kept = x.compressed().astype(np.float64)
        bound = 0 if name == "f32" else (kept.max() - kept.min()) / 510 + 1e-6
        assert np.all(np.abs(decoded[~x.mask] - kept) <= bound)


def test_float64_past_float32s_range_leaks_no_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in ("f32", "q8"):
            decoded = encoding.decode(encoding.encode(np.array([1e300, -1e300, 1.0]), name))
            assert decoded[0] == np.inf and decoded[1] == -np.inf


@pytest.mark.parametrize("bad", ["10", 0, -5, 2.5, True])
def test_max_values_must_be_a_positive_int(bad):
    with pytest.raises(ValueError, match="max_values"):
        encoding.encode(np.zeros(3), "q8", max_values=bad)


def test_a_flipped_body_byte_fails_the_payload_checksum():
    payload = bytearray(encoding.encode(np.random.RandomState(0).randn(64, 16), "q8"))
    header, offset = encoding.read_header(bytes(payload))
    assert isinstance(header["crc32c"], int)
    payload[offset + 10] ^= 0x01
    with pytest.raises(encoding.DecodeError, match="checksum"):
        encoding.verify(bytes(payload))
    with pytest.raises(encoding.DecodeError, match="checksum"):
        encoding.decode(bytes(payload))


@SETTINGS
@given(logged_arrays())
def test_f32_round_trip_is_a_float32_cast_bit_for_bit(x):
    decoded = encoding.decode(encoding.encode(x, "f32"))
    assert decoded.dtype == np.float32
    assert decoded.shape == x.shape
    with np.errstate(over="ignore"):
        expected = x.astype(np.float32)
    assert np.array_equal(bits32(decoded), bits32(expected))


@SETTINGS
@given(hnp.arrays(np.float32, shapes, elements=st.floats(width=32)))
def test_f32_is_exact_for_float32_input_including_nan_payloads_and_signed_zero(x):
    decoded = encoding.decode(encoding.encode(x, "f32"))
    assert np.array_equal(bits32(decoded), bits32(x))


def test_f32_keeps_unusual_nan_bit_patterns():
    x = np.array([0x7FC00001, 0xFFC12345, 0x7F800001, 0x80000000, 0x00000001], np.uint32).view(np.float32)
    assert np.array_equal(bits32(encoding.decode(encoding.encode(x, "f32"))), bits32(x))


# --- q8 error bound ----------------------------------------------------------


@SETTINGS
@given(logged_arrays())
def test_q8_round_trip_is_within_the_documented_bound(x):
    decoded = encoding.decode(encoding.encode(x, "q8"))
    assert decoded.dtype == np.float32
    assert decoded.shape == x.shape
    values, allowed = q8_allowed_error(x)
    # Non-finite values (and float64 values past the float32 range) come back exactly.
    assert_same_nonfinite(decoded, values)
    finite = np.isfinite(values)
    error = np.abs(decoded.astype(np.float64)[finite] - values[finite])
    assert np.all(error <= allowed[finite]), (error - allowed[finite]).max()


@SETTINGS
@given(logged_arrays())
def test_error_bound_helper_agrees_with_the_docstring(x):
    values, allowed = q8_allowed_error(x)
    reported = encoding.error_bound(x)
    assert reported.shape == x.shape
    finite = np.isfinite(values)
    level = q8_level(values)
    # At least the documented level, and not wildly more than level + rounding.
    assert np.all(reported[finite] >= level[finite] / (1 + 1e-6))
    with np.errstate(over="ignore"):  # error_bound says inf at the largest float32: true but loose
        below_max = np.isfinite(np.spacing(np.abs(values).astype(np.float32)))
    sane = finite & below_max
    assert np.all(reported[sane] <= level[sane] * (1 + 1e-5) + 2 * ulp32(values)[sane])
    decoded = encoding.decode(encoding.encode(x, "q8")).astype(np.float64)
    assert np.all(np.abs(decoded[finite] - values[finite]) <= reported[finite])


@pytest.mark.parametrize("scales", [(1e-3, 1.0, 1e3, 1e6), (1.0, 1.0, 1.0, 1e-9)])
def test_q8_scales_each_channel_of_a_conv_output_separately(scales):
    rng = np.random.RandomState(0)
    x = (rng.uniform(-1, 1, size=(8, 4, 4, len(scales))) * np.array(scales)).astype(np.float32)
    decoded = encoding.decode(encoding.encode(x))
    for c, scale in enumerate(scales):
        channel = x[..., c].astype(np.float64)
        level = (channel.max() - channel.min()) / 510
        error = np.abs(decoded[..., c] - channel)
        assert error.max() <= level * (1 + 1e-6) + ulp32(channel).max()
        # A single scale for the whole array would lose the small channels.
        assert error.max() <= 2.0 * scale / 510 + ulp32(channel).max()


def test_q8_few_values_per_channel_share_one_scale():
    # 15 values per channel (< 16): one channel; the error bound is global.
    x = np.zeros((15, 2), np.float32)
    x[:, 0] = np.linspace(0, 1e-3, 15)
    x[:, 1] = np.linspace(0, 1e3, 15)
    decoded = encoding.decode(encoding.encode(x))
    assert np.all(np.abs(decoded - x) <= (1e3 - 0) / 510 * (1 + 1e-6) + ulp32(x))
    assert not np.allclose(decoded[:, 0], x[:, 0], rtol=0, atol=1e-4)  # tiny channel lost, as documented


@SETTINGS
@given(logged_arrays())
def test_q8_channel_minima_constants_and_zeros_decode_exactly(x):
    decoded = encoding.decode(encoding.encode(x, "q8")).astype(np.float64)
    values = logged_values(x)
    columns, ranges = channel_ranges(values)
    decoded_columns = decoded.reshape(columns.shape)
    for c, found in enumerate(ranges):
        if found is None:
            continue
        lo, hi = found
        column, out = columns[:, c], decoded_columns[:, c]
        if x.dtype == np.float64:  # the minimum is stored as float32: exact up to that rounding
            assert np.all(np.abs(out[column == lo] - lo) <= ulp32(lo))
        else:
            assert np.all(out[column == lo] == lo)
            if lo == hi:  # a constant channel
                assert np.all(out[np.isfinite(column)] == lo)
        if lo == 0:  # ReLU outputs: every zero stays zero
            assert np.all(out[column == 0] == 0)
        # The maximum is the top level: within 255 float32 ulps of the scale plus rounding
        # (twice that here: the scale may have been widened by an ulp).
        top = out[column == hi]
        assert np.all(np.abs(top - hi) <= 2 * 255 * ulp32((hi - lo) / 255) + ulp32(hi))


def test_q8_relu_like_output_keeps_zeros_and_extremes():
    rng = np.random.RandomState(1)
    x = np.maximum(rng.randn(16, 6, 6, 8), 0).astype(np.float32)
    decoded = encoding.decode(encoding.encode(x))
    assert np.all(decoded[x == 0] == 0)
    assert np.array_equal(decoded.min(axis=(0, 1, 2)), x.min(axis=(0, 1, 2)))


def test_float64_values_past_float32_range_do_not_spoil_their_channel():
    x = np.array([1e39, -1e300, 1.0, 2.0, 3.0, np.nan])
    decoded = encoding.decode(encoding.encode(x))
    assert decoded[0] == np.inf and decoded[1] == -np.inf and np.isnan(decoded[5])
    assert np.all(np.abs(decoded[2:5] - x[2:5]) <= 2.0 / 510 * (1 + 1e-6) + ulp32(x[2:5]))


@SETTINGS
@given(logged_arrays(), st.sampled_from(encoding.ENCODINGS))
def test_encoding_is_deterministic(x, name):
    assert encoding.encode(x, name) == encoding.encode(x.copy(), name)


def test_default_encoding_is_q8():
    x = np.linspace(-1, 1, 64, dtype=np.float32)
    assert encoding.encode(x) == encoding.encode(x, "q8")
    header, _ = encoding.read_header(encoding.encode(x))
    assert header["encoding"] == "q8"
    assert header["shape"] == [64]


@pytest.mark.parametrize("name", encoding.ENCODINGS)
def test_nonfinite_only_and_empty_arrays_round_trip(name):
    for x in (np.array([np.nan, np.inf, -np.inf], np.float32), np.zeros((0, 3), np.float32),
              np.zeros((2, 0, 4)), np.float64(np.inf), np.array(7.5)):
        decoded = encoding.decode(encoding.encode(x, name))
        assert decoded.shape == np.shape(x)
        assert np.array_equal(decoded, np.asarray(x, np.float32), equal_nan=True)


# --- limits and rejected input ----------------------------------------------


def test_size_limit_names_the_shape_and_the_fix():
    x = np.zeros((4, 8, 8, 3), np.float32)  # 768 values
    with pytest.raises(ValueError) as raised:
        encoding.encode(x, max_values=767)
    message = str(raised.value)
    assert "(4, 8, 8, 3)" in message
    assert "max_values=768" in message  # the explicit way out
    assert "fewer" in message and "sample" in message  # the usual fix: log less
    # At the limit, and with no limit, it encodes.
    assert encoding.decode(encoding.encode(x, max_values=768)).shape == x.shape
    assert encoding.decode(encoding.encode(x, max_values=None)).shape == x.shape


def test_default_limit_applies():
    # A zero-stride view: 2**23 + 1 values without the memory.
    x = np.broadcast_to(np.float32(1), (encoding.DEFAULT_MAX_VALUES + 1,))
    with pytest.raises(ValueError, match="max_values="):
        encoding.encode(x)


@pytest.mark.parametrize("name", ["q4", "F32", "", None, "deflate"])
def test_unknown_encoding_is_refused(name):
    with pytest.raises(ValueError, match="encoding"):
        encoding.encode(np.ones(3), name)


@pytest.mark.parametrize(
    "data",
    [np.ones(3, np.complex64), np.array(["a", "b"]), np.array([b"x"]), np.array([{}, 1], dtype=object),
     np.ones(2, "datetime64[s]")],
    ids=["complex", "str", "bytes", "object", "datetime"],
)
def test_non_real_data_is_refused(data):
    for name in encoding.ENCODINGS:
        with pytest.raises(ValueError, match="real numbers"):
            encoding.encode(data, name)


# --- corrupt payloads ---------------------------------------------------------

PREFIX = struct.Struct("<4sB3xI")


def split(payload):
    magic, version, header_len = PREFIX.unpack_from(payload)
    header = payload[PREFIX.size:PREFIX.size + header_len]
    return magic, version, json.loads(header), payload[PREFIX.size + header_len:]


def assemble(header, body, magic=b"INTL", version=1):
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return PREFIX.pack(magic, version, len(raw)) + raw + body


def decode_or_decode_error(payload):
    """Decoding corrupt bytes either raises DecodeError or gives an array of the header shape."""
    try:
        result = encoding.decode(payload)
    except encoding.DecodeError:
        return None
    assert isinstance(result, np.ndarray) and result.dtype == np.float32
    return result


SAMPLES = {
    "q8-deflate": encoding.encode(np.sin(np.linspace(0, 9, 600)).reshape(20, 30), "q8"),
    "q8-nonfinite": encoding.encode(np.array([1.0, np.nan, -np.inf, 2.0, np.inf] * 5), "q8"),
    "f32-deflate": encoding.encode(np.linspace(0, 1, 300), "f32"),
    "f32-plain": encoding.encode(np.array([0.1, -7.0, 3.5], np.float32), "f32"),
    "q8-plain": encoding.encode(np.array([0.1, -7.0]), "q8"),
}


def test_layout_matches_the_docstring():
    for key, payload in SAMPLES.items():
        magic, version, header, body = split(payload)
        assert magic == b"INTL" and version == encoding.FORMAT_VERSION
        assert payload[5:8] == b"\0\0\0"
        if header["compression"] == "deflate":
            body = zlib.decompress(body)
        else:
            assert header["compression"] == "none"
        assert len(body) == header["body_length"]
        size = int(np.prod(header["shape"]))
        if header["encoding"] == "f32":
            assert len(body) == 4 * size
        else:
            assert len(body) == 8 * header["channels"] + 5 * header["nonfinite"] + size
    assert split(SAMPLES["q8-plain"])[2]["compression"] == "none"
    assert split(SAMPLES["f32-plain"])[2]["compression"] == "none"


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_truncated_payloads_raise_decode_error(key):
    payload = SAMPLES[key]
    assert encoding.decode(payload) is not None
    for cut in list(range(0, 40)) + list(range(40, len(payload), 3)) + [len(payload) - 1]:
        with pytest.raises(encoding.DecodeError):
            encoding.decode(payload[:cut])


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_extra_trailing_bytes_raise_decode_error(key):
    with pytest.raises(encoding.DecodeError):
        encoding.decode(SAMPLES[key] + b"\0")


def test_bad_magic_and_newer_format_raise_decode_error():
    payload = SAMPLES["q8-deflate"]
    for magic in (b"INTM", b"intl", b"\0\0\0\0", b"LTNI"):
        with pytest.raises(encoding.DecodeError, match="magic"):
            encoding.decode(magic + payload[4:])
    newer = payload[:4] + bytes([encoding.FORMAT_VERSION + 1]) + payload[5:]
    with pytest.raises(encoding.DecodeError, match="upgrade"):
        encoding.decode(newer)
    with pytest.raises(encoding.DecodeError):
        encoding.decode(payload[:4] + b"\xff" + payload[5:])


def test_header_length_past_the_end_raises_decode_error():
    payload = bytearray(SAMPLES["f32-plain"])
    struct.pack_into("<I", payload, 8, len(payload))
    with pytest.raises(encoding.DecodeError):
        encoding.decode(bytes(payload))


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_body_length_mismatch_raises_decode_error(key):
    _, _, header, body = split(SAMPLES[key])
    for delta in (-1, 1, 1000):
        with pytest.raises(encoding.DecodeError):
            encoding.decode(assemble(dict(header, body_length=header["body_length"] + delta), body))
    # A header that agrees with a body of the wrong size for its shape.
    raw = zlib.decompress(body) if header["compression"] == "deflate" else body
    for wrong in (raw[:-1], raw + b"\0"):
        with pytest.raises(encoding.DecodeError):
            encoding.decode(assemble(dict(header, body_length=len(wrong), compression="none"), wrong))


@pytest.mark.parametrize("shape", [[2**64], [1.8446744073709552e19], [2**40, 2**40], [2**62, 4], [10**30, 0, 5]])
def test_absurd_shapes_raise_decode_error(shape):
    for key in ("f32-plain", "q8-plain"):
        _, _, header, body = split(SAMPLES[key])
        result = decode_or_decode_error(assemble(dict(header, shape=shape), body))
        assert result is None or result.size == 0


def test_deeply_nested_header_raises_decode_error():
    with pytest.raises(encoding.DecodeError):
        encoding.decode(assemble(b"[" * 100000, b""))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64), st.binary(max_size=64))
def test_garbage_header_bytes_raise_decode_error(header, body):
    # Valid JSON is rare here; whatever the bytes, only DecodeError may come out.
    decode_or_decode_error(assemble(header, body))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
header_keys = ["shape", "encoding", "channel_axis", "channels", "nonfinite", "compression", "body_length"]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(SAMPLES)),
    st.dictionaries(st.sampled_from(header_keys), json_values | st.sampled_from(["q8", "f32", "deflate", "none"])
                    | st.lists(st.integers(-3, 2**40), max_size=3), max_size=4),
)
def test_corrupt_header_fields_raise_decode_error(key, changes):
    _, _, header, body = split(SAMPLES[key])
    header.update(changes)
    result = decode_or_decode_error(assemble(header, body))
    if result is not None:
        assert list(result.shape) == [int(d) for d in header["shape"]]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(SAMPLES)), st.data())
def test_flipped_bytes_raise_decode_error_or_decode(key, data):
    payload = bytearray(SAMPLES[key])
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(payload) - 1))
        payload[index] ^= data.draw(st.integers(1, 255))
    decode_or_decode_error(bytes(payload))


# --- compression ----------------------------------------------------------------


def test_smooth_arrays_compress_well():
    ramp = np.linspace(-3, 3, 128 * 128, dtype=np.float32).reshape(128, 128)
    q8 = encoding.encode(ramp, "q8")
    f32 = encoding.encode(ramp, "f32")
    # Uncompressed q8 is 1 byte per value (a quarter of float32); deflate must do much better.
    assert len(q8) < 0.1 * ramp.nbytes
    assert len(f32) < 0.7 * ramp.nbytes
    assert split(q8)[2]["compression"] == "deflate"
    assert np.array_equal(encoding.decode(f32), ramp)


def test_incompressible_data_is_stored_plain_without_growing():
    noise = np.random.RandomState(3).bytes(4096)
    x = np.frombuffer(noise, np.uint8).astype(np.float32)  # uniform codes: deflate cannot shrink them
    payload = encoding.encode(x, "q8")
    magic, version, header, body = split(payload)
    assert len(body) <= 8 + x.size
    assert np.array_equal(encoding.decode(payload), x)
