"""The payload store: append-only files of checksummed records in each run.

Large payloads (encoded arrays, attention token labels and images, model
summaries) do not go into the event files, whose every byte TensorBoard's
data layer reads at start-up and keeps in memory. They go into the run's own
store folder, and the event file carries a small *reference* to each one::

    <run dir>/events.out.tfevents...            references (TENSOR summaries)
    <run dir>/plugins/internals/payloads.*.rec  the payloads

This module is the only code that knows that layout.

Store file: a sequence of records in TFRecord framing (`tfrecord.py`):
``uint64 length, uint32 masked_crc32c(length), data, uint32
masked_crc32c(data)``, so a truncated tail (a writer killed mid-record) is
recognisable and any record can be checked on its own. One `StoreWriter`
appends to one file of its own; nothing is ever rewritten.

Reference (UTF-8 JSON, one per payload, in the summary's string tensor)::

    {"file": "payloads.1795218037.host.18060.00000001.rec",
     "offset": 4096, "length": 722114, "crc32c": 2841029385}

`offset` is where the record starts, `length` the payload's byte count and
`crc32c` the payload's CRC-32C (unmasked). `file` is a bare file name inside
the run's store folder: references are relative, so a run directory that is
copied or moved keeps working, and a name with a separator, `..`, or a link
leading out of the folder is refused (a crafted event file cannot make the
backend read elsewhere).

Reads go through TensorBoard's file layer (`tensorboard.compat.tf.io.gfile`)
for paths with a scheme (``gs://``, ``s3://``, fsspec URLs); local paths are
read with plain file objects, kept open in a small LRU, which is faster and
lets the reader resolve links. Every read checks the length and the checksum
before returning bytes: a corrupt payload raises `CorruptPayload`, never
returns wrong bytes.
"""

import collections
import json
import os
import re
import socket
import struct
import threading
import time

from tb_plugin.format import tfrecord

STORE_DIR = os.path.join("plugins", "internals")
# Store files never contain "tfevents": TensorBoard would take the store
# folder for a run of its own.
FILE_PREFIX = "payloads."
FILE_SUFFIX = ".rec"
_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,254}\Z")
_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")
FRAMING_BYTES = _HEADER.size + _FOOTER.size
# No payload this plugin writes comes near this; a reference claiming more is corrupt.
MAX_PAYLOAD_BYTES = 1 << 32


class StoreError(LookupError):
    """A reference that cannot be served (the message says why)."""


class BadReference(StoreError):
    """A reference that is malformed or points outside the run's store."""


class MissingPayload(StoreError):
    """The store file or the record a reference names is not there."""


class CorruptPayload(StoreError):
    """A record whose length or checksum does not match its reference."""


Reference = collections.namedtuple("Reference", "file offset length crc32c")


def store_dir(run_dir):
    """The store folder of a run directory (local path or URL)."""
    if "://" in run_dir:
        return run_dir.rstrip("/") + "/" + STORE_DIR.replace(os.sep, "/")
    return os.path.join(run_dir, STORE_DIR)


def reference_bytes(reference):
    """The JSON bytes of a `Reference`, as stored in an event file."""
    return json.dumps(reference._asdict(), sort_keys=True).encode("utf-8")


def parse_reference(raw):
    """Parses and validates the JSON bytes of one reference.

    Raises:
      BadReference: not a reference, or one naming a file outside the store.
    """
    try:
        parsed = json.loads(bytes(raw).decode("utf-8"))
        reference = Reference(
            parsed["file"], parsed["offset"], parsed["length"], parsed["crc32c"]
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError) as e:
        raise BadReference("unreadable payload reference (%s); the event file may be corrupt" % e)
    if not isinstance(reference.file, str) or not _NAME.match(reference.file) or ".." in reference.file:
        raise BadReference(
            "payload reference names %r, which is not a file of the run's store "
            "folder (%s); refused" % (str(reference.file)[:100], STORE_DIR)
        )
    for field in ("offset", "length", "crc32c"):
        value = getattr(reference, field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise BadReference("payload reference has an invalid %s (%r)" % (field, value))
    if reference.length > MAX_PAYLOAD_BYTES or reference.crc32c > 0xFFFFFFFF:
        raise BadReference("payload reference is out of range (length %d)" % reference.length)
    return reference


def _unique_name():
    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:64] or "host"
    with _uid_lock:
        global _uid
        uid, _uid = _uid, _uid + 1
    return "%s%010d.%s.%d.%08d%s" % (FILE_PREFIX, time.time(), host, os.getpid(), uid, FILE_SUFFIX)


_uid_lock = threading.Lock()
_uid = 0


class StoreWriter:
    """Appends payload records to a new store file of a run directory.

    The file is created on the first `append`. Every record is flushed before
    `append` returns its reference, so a reference written to the event file
    afterwards always points to a complete record; a writer killed at any
    moment leaves at most one truncated record at the end, which no
    reference names. Thread-safe.

    Args:
      run_dir: the run directory (local).
    """

    def __init__(self, run_dir):
        self._dir = store_dir(run_dir)
        self.name = _unique_name()
        self.path = os.path.join(self._dir, self.name)
        self._file = None
        self._offset = 0
        self._closed = False
        self._lock = threading.Lock()

    def append(self, payload):
        """Writes one record holding `payload` (bytes); returns its `Reference`."""
        payload = bytes(payload)
        crc = tfrecord.crc32c(payload)
        record = tfrecord.encode_record(payload, crc)
        with self._lock:
            if self._closed:
                raise ValueError("this Writer is closed; open a new one")
            if self._file is None:
                os.makedirs(self._dir, exist_ok=True)
                self._file = open(self.path, "ab")
                self._offset = self._file.tell()
            offset = self._offset
            self._file.write(record)
            self._file.flush()
            self._offset += len(record)
        return Reference(self.name, offset, len(payload), crc)

    def close(self):
        with self._lock:
            self._closed = True
            if self._file is not None:
                self._file.close()


def scan(path):
    """Yields `(Reference, payload)` for each complete record of a local
    store file, in order, stopping at a truncated or corrupt tail."""
    name = os.path.basename(path)
    with open(path, "rb") as f:
        data = f.read()
    offset = 0
    while offset + FRAMING_BYTES <= len(data):
        length, length_crc = _HEADER.unpack_from(data, offset)
        end = offset + _HEADER.size + length + _FOOTER.size
        if tfrecord.masked_crc32c(data[offset:offset + 8]) != length_crc or end > len(data):
            return
        payload = data[offset + _HEADER.size:end - _FOOTER.size]
        if tfrecord.masked_crc32c(payload) != _FOOTER.unpack_from(data, end - _FOOTER.size)[0]:
            return
        yield Reference(name, offset, length, tfrecord.crc32c(payload)), payload
        offset = end


class _LocalFiles:
    """A small LRU of open local store files (opening costs more than reading)."""

    def __init__(self, capacity=32):
        self._capacity = capacity
        self._files = collections.OrderedDict()
        self._lock = threading.Lock()

    def read(self, path, offset, size):
        with self._lock:
            f = self._files.pop(path, None)
            if f is None:
                f = open(path, "rb")
                while len(self._files) >= self._capacity:
                    self._files.popitem(last=False)[1].close()
            self._files[path] = f
            f.seek(offset)
            return f.read(size)

    def forget(self, path):
        with self._lock:
            f = self._files.pop(path, None)
        if f is not None:
            f.close()


def _read_remote(path, offset, size, gfile=None):
    """Reads `size` bytes at `offset` through TensorBoard's file layer
    (`gfile`: that layer's module, TensorFlow's gfile when installed, else
    TensorBoard's stub)."""
    if gfile is None:
        from tensorboard.compat import tf

        gfile = tf.io.gfile
    with gfile.GFile(path, "rb") as f:
        if hasattr(f, "seek"):
            f.seek(offset)
            return f.read(size)
        # TensorBoard's stub GFile cannot seek; its file systems take the
        # offset as a continuation token (local and fsspec: opaque_offset, S3: byte_offset).
        data, _ = f.fs.read(path, True, size, {"opaque_offset": offset, "byte_offset": offset})
        return data


class StoreReader:
    """Reads payloads by reference, checked, with a bounded cache.

    Args:
      cache_bytes: the most payload bytes kept in memory for repeated reads
        (a comparison asks for the same step of the same tag several times).
    """

    def __init__(self, cache_bytes=32 << 20):
        self._files = _LocalFiles()
        self._cache = collections.OrderedDict()
        self._cache_bytes = 0
        self._cache_limit = cache_bytes
        self._lock = threading.Lock()

    def read(self, run_dir, reference):
        """The payload bytes `reference` names in `run_dir`'s store.

        Raises:
          BadReference: the reference names a file outside the store.
          MissingPayload: the file or the record is not there (yet).
          CorruptPayload: the record's length or checksum does not match.
        """
        folder = store_dir(run_dir)
        path = (folder.rstrip("/") + "/" + reference.file) if "://" in folder else os.path.join(folder, reference.file)
        key = (path, reference)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        size = reference.length + FRAMING_BYTES
        if "://" in path:
            try:
                record = _read_remote(path, reference.offset, size)
            except Exception as e:  # The file layer's own error types (NotFoundError, ...).
                raise MissingPayload("the payload store file %s cannot be read (%s)" % (reference.file, e))
        else:
            _check_inside(folder, path)
            try:
                record = self._files.read(path, reference.offset, size)
            except FileNotFoundError:
                raise MissingPayload("the payload store file %s is missing" % reference.file)
            except (OSError, ValueError) as e:
                self._files.forget(path)
                raise MissingPayload("the payload store file %s cannot be read (%s)" % (reference.file, e))
        payload = _check_record(record, reference)
        with self._lock:
            if len(payload) <= self._cache_limit // 4:
                self._cache[key] = payload
                self._cache_bytes += len(payload)
                while self._cache_bytes > self._cache_limit:
                    _, old = self._cache.popitem(last=False)
                    self._cache_bytes -= len(old)
        return payload


def _check_inside(folder, path):
    """Refuses a local store file that is a link leading out of the store folder."""
    real_folder = os.path.realpath(folder)
    real_path = os.path.realpath(path)
    if os.path.dirname(real_path) != real_folder:
        raise BadReference(
            "the payload store file %s resolves outside the run's store folder; refused"
            % os.path.basename(path)
        )


def _check_record(record, reference):
    where = "%s, offset %d" % (reference.file, reference.offset)
    if len(record) < FRAMING_BYTES + reference.length:
        if len(record) == 0:
            raise MissingPayload("its payload is not in the store (%s: the file is shorter)" % where)
        raise CorruptPayload("its payload is truncated (%d of %d bytes; %s)" % (
            len(record), reference.length + FRAMING_BYTES, where))
    length, length_crc = _HEADER.unpack_from(record)
    if length != reference.length or tfrecord.masked_crc32c(record[:8]) != length_crc:
        raise CorruptPayload("its record header does not match the reference (%s)" % where)
    payload = record[_HEADER.size:_HEADER.size + length]
    if tfrecord.crc32c(payload) != reference.crc32c:
        raise CorruptPayload("its checksum does not match (%s)" % where)
    return payload
