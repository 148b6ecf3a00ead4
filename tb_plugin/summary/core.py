"""The one writing core under both doors (`writer.Writer`, `tf_door`). numpy only.

Each kind's module (`tb_plugin.kinds`) turns a summary's arguments into a
`kinds.Step`; this module checks the arguments every door shares, builds
the step's `SummaryMetadata` (one builder per layout, `format.metadata`),
gives the blobs as they are written, and keeps the `Memory` by which a
`Writer` stores a kind's extras (labels, thumbnails, probe images) only
when they change.
"""

import hashlib
import numbers
import threading

import numpy as np

from tb_plugin import kinds
from tb_plugin.format import encoding as encoding_lib
from tb_plugin.format import metadata

DEFAULT_ENCODING = encoding_lib.DEFAULT_ENCODING
DEFAULT_MAX_VALUES = encoding_lib.DEFAULT_MAX_VALUES
# The fields of a series kind's `Step.extra` that lay out its vector.
SERIES_LAYOUT = ("fields", "bins", "units")


def check_name(name):
    if not isinstance(name, str) or not name.strip():
        raise ValueError("summary name must be a non-empty string, got %r" % (name,))


def check_step(step):
    """`step` as an int; ValueError unless it is an integer in the int64 range."""
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise ValueError("step must be an integer, got %r" % (step,))
    if not -(1 << 63) <= int(step) < (1 << 63):
        raise ValueError("step must fit in int64 (-2**63 to 2**63 - 1), got %d" % int(step))
    return int(step)


def check_encoding(encoding, max_values=None, description=None):
    """Checks the arguments every door shares, naming the one that is wrong."""
    encoding_lib.check_max_values(max_values)
    if description is not None and not isinstance(description, str):
        raise ValueError("description must be a string (Markdown) or None, got %s" % type(description).__name__)
    if not isinstance(encoding, str) or encoding not in encoding_lib.ENCODINGS:
        raise ValueError(
            "unknown encoding %r; use one of %s" % (encoding, ", ".join(encoding_lib.ENCODINGS))
        )


def summary_metadata(step, description=None, storage=metadata.STORAGE_STORE):
    """The `SummaryMetadata` of a `kinds.Step` (its `value` is not read, so a
    door may describe a step before its values are known)."""
    kind = step.kind
    if kind.layout == kinds.ARRAY:
        return metadata.create_summary_metadata(
            kind.name, step.shape, step.dtype, step.encoding, description=description, extra=step.extra,
            storage=storage,
        )
    if kind.layout == kinds.DOCUMENT:
        return metadata.create_document_metadata(kind.name, description, storage=storage, extra=step.extra)
    layout = {key: step.extra[key] for key in SERIES_LAYOUT}
    extra = {key: value for key, value in step.extra.items() if key not in SERIES_LAYOUT}
    return metadata.create_series_metadata(kind.name, layout, extra, description)


def blobs(step):
    """A payload step's blobs as written: trailing empty blobs dropped (blob 0 always stays)."""
    out = list(step.value)
    while len(out) > 1 and not out[-1]:
        out.pop()
    return out


def _digest(value):
    """A short fingerprint of bytes or of an array (its shape, dtype and values)."""
    h = hashlib.blake2b(digest_size=20)
    if isinstance(value, (bytes, bytearray)):
        h.update(b"b")
        h.update(value)
    else:
        array = np.ascontiguousarray(value)
        h.update(repr((array.shape, array.dtype.str)).encode("ascii"))
        h.update(array.tobytes())
    return h.digest()


class Memory:
    """What a writer stored per tag: the one "store only when it changes"
    helper of every kind. Thread-safe. `tag(name)` gives the view a kind's
    `step` takes as its `memory`."""

    def __init__(self):
        self._lock = threading.Lock()
        self._digests = {}  # (tag, slot) -> digest of the value last seen
        self._values = {}  # (how, tag, slot) -> a value kept as it is

    def tag(self, tag):
        return TagMemory(self, tag)

    def changed(self, tag, slot, value):
        """Records `value` (bytes or an array) as the tag's `slot`; whether it
        differs from the one recorded before (True the first time)."""
        digest = _digest(value)
        with self._lock:
            before = self._digests.get((tag, slot))
            self._digests[(tag, slot)] = digest
        return before != digest

    def first(self, tag, slot, value):
        """The tag's first `slot` value (`value` itself, the first time)."""
        with self._lock:
            return self._values.setdefault(("first", tag, slot), value)

    def latest(self, tag, slot, value):
        """`value`, recorded as the tag's `slot`, or when it is None the one
        recorded last (None if none): what is in force."""
        with self._lock:
            if value is None:
                return self._values.get(("latest", tag, slot))
            self._values[("latest", tag, slot)] = value
            return value


class TagMemory:
    """`Memory` of one tag: `changed(slot, value)`, `first(slot, value)`, `latest(slot, value)`."""

    __slots__ = ("_memory", "_tag")

    def __init__(self, memory, tag):
        self._memory, self._tag = memory, tag

    def changed(self, slot, value):
        return self._memory.changed(self._tag, slot, value)

    def first(self, slot, value):
        return self._memory.first(self._tag, slot, value)

    def latest(self, slot, value):
        return self._memory.latest(self._tag, slot, value)
