"""The one encoder and decoder of logged arrays (numpy only, no TensorFlow).

A payload is self-describing bytes, all integers little-endian::

    magic      4 bytes  b"INTL"
    version    uint8    FORMAT_VERSION
    reserved   3 bytes  zero
    header_len uint32
    header     header_len bytes of UTF-8 JSON:
               {"shape": [...], "encoding": "q8" | "f32",
                "channel_axis": int | null, "channels": C,
                "nonfinite": K, "compression": "deflate" | "none",
                "body_length": bytes of the uncompressed body,
                "crc32c": CRC-32C of the stored body bytes}
    body       the body, zlib-compressed when compression == "deflate"
               (the format the browser's DecompressionStream("deflate") reads)

``crc32c`` (added in this release; readers ignore unknown header fields, so
the format version stays 1) lets a payload be checked wherever it lives:
`decode` and `verify` refuse a body that does not match it; payloads written
before it carry none and are checked only by their framing.

The uncompressed body, for N = prod(shape) values in C order:

* ``f32`` (lossless for float32): N float32 values. NaN and +/-Inf as is.
* ``q8`` (compact, the default): ``lo`` C float32, ``scale`` C float32,
  the flat indices of the K non-finite values as K uint32, their kinds as K
  uint8 (0 NaN, 1 +Inf, 2 -Inf), then N uint8 codes. Element i of channel c
  decodes to ``float32(lo[c] + code[i] * scale[c])`` (computed in float64),
  then non-finite elements are put back exactly.

Worst-case error of ``q8``: each channel's finite values are mapped onto 256
evenly spaced levels between that channel's min and max, so a decoded value
is within ``(max_c - min_c) / 510`` of the logged one, plus float32 rounding
of the result (half an ulp). Channel minima, constant channels, and zeros
when a channel's minimum is zero (ReLU outputs) decode exactly; a channel's
maximum decodes to the top level ``lo + 255 * scale``, off by at most 255
float32 ulps of ``scale`` (about ``(max_c - min_c) * 2**-23``) plus float32
rounding, as ``scale`` is stored in float32 (exact maxima would need the
format to store them).
Finite float64 values past the float32 range are stored as +/-Inf, as a
float32 cast (and the ``f32`` encoding) gives. Integers that float32 cannot
hold exactly (beyond 2**24 in magnitude) are refused by ``f32``, which
promises lossless values, with a message naming the fix. Masked elements of a
`numpy.ma.MaskedArray` are stored as NaN.
Channels run along the last axis when each channel holds at least
`MIN_VALUES_PER_CHANNEL` values; otherwise the whole array is one channel
(per-channel scales would cost more than they save).
"""

import json
import math
import struct
import zlib

import numpy as np

from tb_plugin.format import tfrecord

MAGIC = b"INTL"
FORMAT_VERSION = 1
ENCODINGS = ("q8", "f32")
DEFAULT_ENCODING = "q8"
# Per summary: 8 Mi values is 8 MiB of q8 codes before compression.
DEFAULT_MAX_VALUES = 1 << 23
MIN_VALUES_PER_CHANNEL = 16

_PREFIX = struct.Struct("<4sB3xI")
_NAN, _POS_INF, _NEG_INF = 0, 1, 2
# Level 1: ~5x faster than 6 on activations for ~3% more bytes (bench/README.md).
_ZLIB_LEVEL = 1
_FLOAT32_MAX = float(np.finfo(np.float32).max)


class DecodeError(ValueError):
    """A payload that is not a valid internals payload (corrupt or truncated)."""


def as_float_array(data, name="data"):
    """Converts `data` (array-like of real numbers) to a float ndarray.

    Float arrays keep float64 precision for quantisation; every other real
    dtype (ints, bools, float16, bfloat16) goes through float32.

    Raises:
      ValueError: for complex, string or object data.
    """
    if isinstance(data, np.ma.MaskedArray):
        # Masked elements become NaN (painted as "NaN" in the tab), never their fill values.
        floats = data.astype(np.float64 if data.dtype == np.float64 else np.float32)
        return np.ma.filled(floats, np.nan)
    array = np.asarray(data)
    if array.dtype.kind == "f" and array.dtype.itemsize >= 4:
        return array
    if array.dtype.kind in "biuf" or array.dtype.name == "bfloat16":
        return array.astype(np.float32)
    raise ValueError(
        "%s must be real numbers, got dtype %s; convert it with "
        "np.asarray(x, dtype=np.float32)" % (name, array.dtype)
    )


def check_max_values(max_values):
    """Raises a ValueError unless `max_values` is a positive int or None."""
    if max_values is not None and (isinstance(max_values, bool) or not isinstance(max_values, (int, np.integer))
                                   or max_values < 1):
        raise ValueError(
            "max_values must be a positive integer (the most values one summary may hold) or None "
            "for no limit, got %r" % (max_values,)
        )


def check_size(shape, max_values, name="data"):
    """Raises a ValueError naming the fix when `shape` holds too many values."""
    check_max_values(max_values)
    size = int(np.prod(shape, dtype=np.int64))
    if max_values is not None and size > max_values:
        raise ValueError(
            "%s has %d values (shape %s), over the limit of %d per summary. "
            "Log less: fewer probe samples (e.g. x[:8]), a smaller or "
            "downsampled layer output, or fewer layers; or raise the limit "
            "explicitly with max_values=%d (each step costs about one byte "
            "per value in memory while TensorBoard serves it)."
            % (name, size, tuple(shape), max_values, size)
        )


def encode(data, encoding=DEFAULT_ENCODING, max_values=DEFAULT_MAX_VALUES):
    """Encodes an array of real numbers as payload bytes.

    Args:
      data: array-like of any real dtype and any rank (0 included).
      encoding: "q8" (compact, bounded error, see module docstring) or
        "f32" (lossless float32).
      max_values: refuse arrays with more values than this (None: no limit).

    Returns:
      The payload as `bytes`. Encoding is deterministic.

    Raises:
      ValueError: unknown encoding, non-real data, or too many values.
    """
    if encoding not in ENCODINGS:
        raise ValueError(
            "unknown encoding %r; use one of %s" % (encoding, ", ".join(ENCODINGS))
        )
    array = as_float_array(data)
    check_size(array.shape, max_values)
    header = {"shape": [int(d) for d in array.shape], "encoding": encoding}
    if encoding == "f32":
        _check_exact_in_float32(data, array)
        with np.errstate(over="ignore"):  # past float32's range: +/-Inf, as documented
            flat = np.ascontiguousarray(array, dtype="<f4").reshape(-1)
        nonfinite = int(flat.size - np.count_nonzero(np.isfinite(flat)))
        header.update(channel_axis=None, channels=1)
        body = flat.tobytes()
    else:
        body, channel_axis, channels, nonfinite = _quantize(array)
        header.update(channel_axis=channel_axis, channels=channels)
    header["nonfinite"] = nonfinite
    header["body_length"] = len(body)
    compressed = zlib.compress(body, _ZLIB_LEVEL)
    if len(compressed) < len(body):
        header["compression"], body = "deflate", compressed
    else:
        header["compression"] = "none"
    header["crc32c"] = tfrecord.crc32c(body)
    header_bytes = json.dumps(header, sort_keys=True).encode("utf-8")
    return _PREFIX.pack(MAGIC, FORMAT_VERSION, len(header_bytes)) + header_bytes + body


def _check_exact_in_float32(data, array):
    """`f32` promises lossless values: refuse integers float32 would round."""
    original = np.asarray(data)
    if original.dtype.kind not in "iu" or not original.size:
        return
    limit = 1 << 24  # every integer up to 2**24 is exact in float32
    big = np.abs(original.astype(np.int64) if original.dtype != np.uint64 else original) > limit
    if big.any():
        rounded = original[big].astype(np.float32).astype(original.dtype) != original[big]
        if rounded.any():
            example = original[big][rounded][0]
            raise ValueError(
                "data holds integers that float32 cannot store exactly (e.g. %d, beyond 2**24), and the "
                "f32 encoding promises lossless values; log them as float64 differences or offsets from "
                "a base value, or cast with np.asarray(x, np.float32) yourself to accept the rounding"
                % example
            )


def _channel_layout(shape, size):
    """(channel_axis or None, number of channels) for a q8 encoding."""
    if len(shape) >= 2 and shape[-1] > 0 and size // shape[-1] >= MIN_VALUES_PER_CHANNEL:
        return len(shape) - 1, int(shape[-1])
    return None, 1


def _float32_range(array):
    """`array` as float64, finite values past the float32 range made +/-Inf."""
    if isinstance(array, np.ndarray) and array.dtype == np.float32:
        return array.astype(np.float64)  # float32 values are in range: one copy, no mask
    values = np.asarray(array, dtype=np.float64)
    with np.errstate(over="ignore"):
        as32 = values.astype(np.float32)
    return np.where(np.isinf(as32), as32, values)


def _quantize(array):
    channel_axis, channels = _channel_layout(array.shape, array.size)
    values = _float32_range(array).reshape(-1, channels)
    lo, hi, finite = _finite_range_fast(values)
    lo32 = lo.astype(np.float32)
    scale32 = ((hi - lo32.astype(np.float64)) / 255.0).astype(np.float32)
    # Rounding scale to float32 may leave the channel maximum just past the
    # top level; widen the scale by an ulp until it fits, so max decodes
    # within half a level instead of being clipped.
    for _ in range(4):
        short = lo32.astype(np.float64) + 255.0 * scale32.astype(np.float64) < hi
        if not short.any():
            break
        scale32[short] = np.nextafter(scale32[short], np.float32(np.inf))
    # Near the float32 limit that widening can push the top level past it
    # (decoding to Inf); narrow back below it, which costs under an ulp.
    for _ in range(4):
        over = lo32.astype(np.float64) + 255.0 * scale32.astype(np.float64) > _FLOAT32_MAX
        if not over.any():
            break
        scale32[over] = np.nextafter(scale32[over], np.float32(0))
    lo64, scale64 = lo32.astype(np.float64), scale32.astype(np.float64)
    # In place, one float64 temporary: (values - lo) / scale, 0 where scale is 0
    # or the value is not finite, rounded and clipped to 0..255.
    steps = np.subtract(values, lo64)
    flat_scale = ~(scale64 > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        steps /= np.where(flat_scale, 1.0, scale64)
    if flat_scale.any():
        steps[:, flat_scale] = 0.0
    if finite is not None:
        steps[~finite] = 0.0
    np.rint(steps, out=steps)
    np.clip(steps, 0, 255, out=steps)
    codes = steps.astype(np.uint8)
    del steps
    flat = values.reshape(-1)
    bad = np.flatnonzero(~np.isfinite(flat)) if finite is not None else np.zeros(0, np.int64)
    kinds = np.where(np.isnan(flat[bad]), _NAN, np.where(flat[bad] > 0, _POS_INF, _NEG_INF))
    body = b"".join(
        (
            lo32.astype("<f4").tobytes(),
            scale32.astype("<f4").tobytes(),
            bad.astype("<u4").tobytes(),
            kinds.astype(np.uint8).tobytes(),
            codes.tobytes(),
        )
    )
    return body, channel_axis, channels, int(bad.size)


def _finite_range_fast(values):
    """`_finite_range` plus the finiteness mask, or None for it when every value is finite.

    NaN propagates through min and max, so finite per-column extremes mean
    finite values throughout, and the mask and its masked copies are skipped.
    """
    if values.size:
        lo, hi = values.min(axis=0), values.max(axis=0)
        if np.isfinite(lo).all() and np.isfinite(hi).all():
            return lo, hi, None
    finite = np.isfinite(values)
    lo, hi = _finite_range(values, finite)
    return lo, hi, finite


def _finite_range(values, finite):
    """Per-column min and max of the finite values of a 2-D array (0, 0 if none)."""
    if not values.size:
        return np.zeros(values.shape[1]), np.zeros(values.shape[1])
    lo = np.where(finite, values, np.inf).min(axis=0)
    hi = np.where(finite, values, -np.inf).max(axis=0)
    empty = ~np.isfinite(lo)  # columns without a single finite value
    lo[empty], hi[empty] = 0.0, 0.0
    return lo, hi


def read_header(payload):
    """Returns (header dict, body offset) of a payload, validating the prefix."""
    payload = bytes(payload)
    if len(payload) < _PREFIX.size:
        raise DecodeError("payload of %d bytes is too short (truncated write?)" % len(payload))
    magic, version, header_len = _PREFIX.unpack_from(payload)
    if magic != MAGIC:
        raise DecodeError("not an internals payload (bad magic %r)" % magic)
    if version > FORMAT_VERSION:
        raise DecodeError(
            "payload format version %d is newer than this release reads (%d): "
            "upgrade tensorboard-plugin-internals" % (version, FORMAT_VERSION)
        )
    end = _PREFIX.size + header_len
    if end > len(payload):
        raise DecodeError("payload header is truncated")
    try:
        header = json.loads(payload[_PREFIX.size:end].decode("utf-8"))
        shape = [int(d) for d in header["shape"]]
        if any(d < 0 for d in shape) or header["encoding"] not in ENCODINGS:
            raise ValueError("bad shape or encoding")
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as e:
        raise DecodeError("payload header is corrupt (%s)" % e)
    header["shape"] = shape
    return header, end


def verify(payload):
    """Checks a payload's header and, when it carries one, its body checksum.

    Cheap next to decoding: the backend checks inline payloads with it before
    serving them, so a corrupt one is never painted.

    Returns:
      (header dict, body bytes as stored).

    Raises:
      DecodeError: the payload is corrupt, truncated or from a newer format.
    """
    header, offset = read_header(payload)
    body = bytes(payload)[offset:]
    expected = header.get("crc32c")
    if expected is not None and tfrecord.crc32c(body) != expected:
        raise DecodeError("payload body does not match its checksum (corrupt or truncated)")
    return header, body


def decode(payload):
    """Decodes payload bytes back to a float32 ndarray of the logged shape.

    Raises:
      DecodeError: the payload is corrupt, truncated or from a newer format.
    """
    header, body = verify(payload)
    if header.get("compression") == "deflate":
        inflater = zlib.decompressobj()
        try:
            body = inflater.decompress(body)
        except zlib.error as e:
            raise DecodeError("payload body does not decompress (%s)" % e)
        if not inflater.eof or inflater.unused_data:
            raise DecodeError("payload body is truncated or has trailing bytes")
    if len(body) != header.get("body_length"):
        raise DecodeError(
            "payload body has %d bytes, header says %s (truncated write?)"
            % (len(body), header.get("body_length"))
        )
    shape = tuple(header["shape"])
    size = math.prod(shape)  # exact: a corrupt header's dims may overflow int64
    try:
        if header["encoding"] == "f32":
            if len(body) != 4 * size:
                raise ValueError("expected %d body bytes, found %d" % (4 * size, len(body)))
            return np.frombuffer(body, dtype="<f4", count=size).astype(np.float32).reshape(shape)
        return _dequantize(body, shape, size, int(header["channels"]), int(header["nonfinite"]))
    except (ValueError, KeyError, IndexError, TypeError, OverflowError) as e:
        raise DecodeError("payload body does not match its header (%s)" % e)


def _dequantize(body, shape, size, channels, nonfinite):
    expected = 8 * channels + 5 * nonfinite + size
    if len(body) != expected or channels < 1 or size % channels:
        raise ValueError("expected %d body bytes, found %d" % (expected, len(body)))
    lo = np.frombuffer(body, "<f4", channels, 0).astype(np.float64)
    scale = np.frombuffer(body, "<f4", channels, 4 * channels).astype(np.float64)
    offset = 8 * channels
    bad = np.frombuffer(body, "<u4", nonfinite, offset).astype(np.int64)
    kinds = np.frombuffer(body, np.uint8, nonfinite, offset + 4 * nonfinite)
    codes = np.frombuffer(body, np.uint8, size, offset + 5 * nonfinite)
    values = (lo + codes.reshape(-1, channels).astype(np.float64) * scale).astype(np.float32)
    flat = values.reshape(-1)
    flat[bad] = np.choose(kinds, [np.nan, np.inf, -np.inf]).astype(np.float32)
    return flat.reshape(shape)


def error_bound(data):
    """The documented worst-case absolute q8 error for each element of `data`.

    Useful for checking decoded values: `|decode(encode(x)) - x| <= bound`.
    """
    array = _float32_range(as_float_array(data))
    channel_axis, channels = _channel_layout(array.shape, array.size)
    values = array.reshape(-1, channels)
    lo, hi = _finite_range(values, np.isfinite(values))
    level = np.broadcast_to((hi - lo) / 510.0, values.shape)
    rounding = np.spacing(np.abs(values).astype(np.float32)).astype(np.float64)
    return (level * (1 + 1e-6) + rounding).reshape(array.shape)
