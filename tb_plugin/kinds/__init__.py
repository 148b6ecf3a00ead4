"""One module per summary kind, and the registry of kinds (`KINDS`).

A kind's module holds its fields, its numpy statistics, and how one step of
it is laid out, encoded and decoded; the module is shared by both writer
doors (`tb_plugin.summary`), the logging core, the backend and the `Reader`,
so a kind's numbers are computed by one piece of code wherever they are
written or read. numpy only.

`KINDS` is the one list of kinds: the metadata schema (`format.metadata`:
which kinds exist, which hold payloads), the backend's data access (which
blobs are encoded payloads) and the `Reader` read it instead of keeping
their own lists. Adding a kind is one module here and one line in `KINDS`
(docs/adding-a-kind.md).

The writers' contract: a kind module turns one summary's arguments into a
`Step` (`step(...)` in each module), which either door writes: the TF-free
`Writer` into the run's payload store, the `tf.summary` door inline. A
kind whose extras are stored only when they change takes a `memory` (what
the writer last stored for the tag: `changed(slot, value)`, `first(slot,
value)`, `latest(slot, value)`); without one (the `tf.summary` door, which
keeps no state) every step stores everything.

This module imports nothing of the package, so any layer can read it.
"""

import collections
import importlib
import json

# Layouts: what one step of a kind is, and which metadata builder describes it.
ARRAY = "array"  # blob 0 an encoded array (`format.encoding`), then kind-specific blobs
DOCUMENT = "document"  # blob 0 a UTF-8 JSON document, then kind-specific blobs
SERIES = "series"  # a small float64 vector per step in the event file itself (no payloads)
LAYOUTS = (ARRAY, DOCUMENT, SERIES)


class Kind(collections.namedtuple("Kind", "name layout module tag blobs payloads")):
    """One summary kind: one line of `KINDS`.

    Fields:
      name: the metadata `kind`.
      layout: `ARRAY`, `DOCUMENT` or `SERIES`.
      module: the dotted name of its module (numerics, fields, step layout),
        or None when the encoded array is all there is to it.
      tag: the tag the Keras callback writes it under, or the tag prefix
        when it ends in "/" (e.g. "attention/" + the layer path).
      blobs: the names of a step's blobs, in order (payload layouts).
      payloads: the names of the blobs that are encoded arrays
        (`format.encoding`, checked before they are served); every other
        blob is UTF-8 JSON.
    """

    __slots__ = ()

    def blob(self, name):
        """The index of blob `name` in a step of this kind."""
        return self.blobs.index(name)

    def is_payload(self, index):
        """Whether blob `index` is an encoded array (else JSON, or absent)."""
        return 0 <= index < len(self.blobs) and self.blobs[index] in self.payloads

    @property
    def stored(self):
        """Whether steps hold blobs (in the payload store or inline), not a vector."""
        return self.layout != SERIES

    def load(self):
        """The kind's module, imported on first use."""
        return importlib.import_module(self.module) if self.module else None


ACTIVATIONS = Kind("activations", ARRAY, "tb_plugin.kinds.activations", "activations/", ("array",), ("array",))
ACTIVATION_STATS = Kind("activation_stats", SERIES, "tb_plugin.kinds.activation_stats", "activation_stats/", (), ())
WEIGHTS = Kind("weights", ARRAY, "tb_plugin.kinds.weights", "weights/", ("array",), ("array",))
WEIGHT_STATS = Kind("weight_stats", SERIES, "tb_plugin.kinds.weights", "weight_stats/", (), ())
ATTENTION = Kind("attention", ARRAY, "tb_plugin.kinds.attention", "attention/",
                 ("scores", "tokens", "image"), ("scores", "image"))
EMBEDDING = Kind("embedding", ARRAY, "tb_plugin.kinds.embedding", "embedding/",
                 ("rows", "labels", "thumbnails"), ("rows", "thumbnails"))
ATTRIBUTION = Kind("attribution", ARRAY, "tb_plugin.kinds.attribution", "attribution/",
                   ("maps", "document", "gradcam_raw", "images"), ("maps", "gradcam_raw", "images"))
MODEL_SUMMARY = Kind("model_summary", DOCUMENT, "tb_plugin.kinds.weights", "model_summary", ("document",), ())
LOGGING_PLAN = Kind("logging_plan", DOCUMENT, "tb_plugin.core.plan", "logging_plan", ("document",), ())
CLASS_STATS = Kind("class_stats", DOCUMENT, "tb_plugin.kinds.class_stats", "class_stats",
                   ("document", "thumbnails"), ("thumbnails",))

# Every kind this release writes and shows. The order is the order kinds are
# named in messages; a new kind is one more line here.
KINDS = (
    ACTIVATIONS,
    ACTIVATION_STATS,
    WEIGHTS,
    WEIGHT_STATS,
    ATTENTION,
    EMBEDDING,
    ATTRIBUTION,
    MODEL_SUMMARY,
    LOGGING_PLAN,
    CLASS_STATS,
)
BY_NAME = {kind.name: kind for kind in KINDS}
assert len(BY_NAME) == len(KINDS), "two kinds of one name"


def get(name):
    """The `Kind` named `name`, or None for a kind this release does not know."""
    return BY_NAME.get(name)


def names(*layouts):
    """The names of the kinds of `layouts` (every kind when none is given), in `KINDS` order."""
    return tuple(kind.name for kind in KINDS if not layouts or kind.layout in layouts)


class Step(collections.namedtuple("Step", "kind value extra shape dtype encoding")):
    """One summary step of a kind, ready for either writer door.

    Fields:
      kind: the `Kind`.
      value: the blobs (a list of bytes, b"" for an absent blob; trailing
        empty blobs are dropped when written), or for `SERIES` kinds the
        float64 vector.
      extra: the kind-specific metadata fields (a JSON-ready dict); for
        `SERIES` kinds including the vector layout `fields`, `bins`, `units`.
      shape, dtype, encoding: of the encoded array (`ARRAY` kinds), else None.
    """

    __slots__ = ()

    def __new__(cls, kind, value, extra=None, shape=None, dtype=None, encoding=None):
        return super().__new__(cls, kind, value, dict(extra or {}), shape, dtype, encoding)


def document_step(kind, document, extra=None):
    """The `Step` of a kind whose step is one JSON document (`model_summary`, `logging_plan`)."""
    if kind.layout != DOCUMENT:
        raise ValueError("kind %r is not a document kind (one of %s)" % (kind.name, ", ".join(names(DOCUMENT))))
    return Step(kind, [json.dumps(document, sort_keys=True).encode("utf-8")], extra)
