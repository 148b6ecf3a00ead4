"""TFRecord framing and CRC-32C, for the TF-free event writer and the payload store.

CRC-32C comes from the `google-crc32c` wheel (C, hardware-accelerated) when
it is installed, as it is with this package's dependencies; otherwise from
the numpy implementation below.

A record is `uint64 length, uint32 masked_crc32c(length), data,
uint32 masked_crc32c(data)` (little-endian), as TensorFlow and TensorBoard
read it. TensorBoard's own TF-free writer computes CRC-32C in pure Python at
~100 ns a byte, which made checksums most of the cost of logging a large
activation; this module computes the same checksum with numpy, many chunks
at a time, about 10x faster at 700 kB and 18x at 8 MB (same-run ratios).

How: CRC without its initial and final inversion is linear over GF(2), so
the data is split into K equal chunks (zero-padded in front, which leaves a
zero-initialised CRC unchanged), all chunks run through the byte table in
lockstep, and the chunk CRCs are combined pairwise with the matrix that
appends L zero bytes. The initial inversion is folded into the first four
data bytes (an identity of reflected CRCs).
"""

import struct

import numpy as np

_POLY = 0x82F63B78  # CRC-32C (Castagnoli), reflected.
_MASK_DELTA = 0xA282EAD8
_SMALL = 1 << 16  # Below this many bytes the plain loop is as fast.
_MIN_CHUNK = 64
_MAX_CHUNKS_LOG2 = 15


def _make_table():
    table = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table[i] = crc
    return table


_TABLE = _make_table()
_TABLE_LIST = [int(v) for v in _TABLE]
_BITS = np.arange(32, dtype=np.uint32)


def _crc_small(data):
    crc = 0xFFFFFFFF
    table = _TABLE_LIST
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _zeros_operator(length):
    """Columns of the GF(2) matrix that runs a CRC register over `length` zero bytes."""
    registers = np.left_shift(np.uint32(1), _BITS)
    for _ in range(length):
        registers = _TABLE[registers & 0xFF] ^ (registers >> 8)
    return registers


def _apply(columns, vectors):
    """Applies the matrix with these 32 columns to each uint32 in `vectors`."""
    result = np.zeros_like(vectors)
    for bit in range(32):
        result ^= np.where((vectors >> np.uint32(bit)) & 1, columns[bit], np.uint32(0))
    return result


def _numpy_crc32c(data):
    """CRC-32C of `data` (bytes) in numpy (the fallback without google-crc32c)."""
    n = len(data)
    if n < _SMALL:
        return _crc_small(data)
    chunks = 1 << max(1, min(_MAX_CHUNKS_LOG2, (n // _MIN_CHUNK).bit_length() - 1))
    length = -(-n // chunks)
    padded = np.zeros(chunks * length, dtype=np.uint8)
    padded[chunks * length - n:] = np.frombuffer(data, dtype=np.uint8)
    # Fold the initial all-ones register into the first four data bytes.
    padded[chunks * length - n:chunks * length - n + 4] ^= 0xFF
    # Row j holds byte j of every chunk, contiguous for the lockstep loop.
    grid = np.ascontiguousarray(padded.reshape(chunks, length).T)
    registers = np.zeros(chunks, dtype=np.uint32)
    for row in grid:
        registers = _TABLE[(registers ^ row) & 0xFF] ^ (registers >> 8)
    # Combine neighbours: CRC(A || B) = Z_|B|(CRC(A)) ^ CRC(B).
    operator = _zeros_operator(length)
    while len(registers) > 1:
        registers = _apply(operator, registers[0::2]) ^ registers[1::2]
        operator = _apply(operator, operator)  # Z_2L = Z_L . Z_L
    return int(registers[0]) ^ 0xFFFFFFFF


try:
    import google_crc32c as _google_crc32c
except ImportError:  # pragma: no cover - a declared dependency
    _google_crc32c = None

if _google_crc32c is not None and _google_crc32c.implementation == "c":

    def crc32c(data):
        """CRC-32C of `data` (bytes), as TensorFlow computes it."""
        return _google_crc32c.value(bytes(data))

else:
    crc32c = _numpy_crc32c


def mask(crc):
    """TFRecord's masked form of a CRC-32C."""
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def masked_crc32c(data):
    return mask(crc32c(data))


def encode_record(data, crc=None):
    """One TFRecord holding `data` (bytes); `crc` is its CRC-32C if known."""
    header = struct.pack("<Q", len(data))
    if crc is None:
        crc = crc32c(data)
    return b"".join((header, struct.pack("<I", masked_crc32c(header)), data, struct.pack("<I", mask(crc))))
