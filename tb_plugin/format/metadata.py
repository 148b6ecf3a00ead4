"""Names and summary metadata for the internals plugin.

Every summary's ``SummaryMetadata`` carries ``plugin_name = "internals"``,
``data_class`` set, and a small JSON document as ``content``::

    {"version": 2, "kind": "activations", "shape": [16, 8, 8, 4],
     "dtype": "float32", "encoding": "q8", "storage": "store"}

``storage`` says where the payloads of an array or model-summary tag are:

* ``"store"``: in the run's payload store (`store.py`); each step is a
  ``DATA_CLASS_TENSOR`` summary whose rank-1 string tensor holds one payload
  reference per blob (empty bytes for an absent blob). No blob keys, so any
  run or tag name works on both backends.
* ``"inline"``: each step is a ``DATA_CLASS_BLOB_SEQUENCE`` summary holding
  the payloads themselves (schema 1, and the `tf.summary`-style door).

Statistics are ``DATA_CLASS_TENSOR`` float64 vectors in the event file.

``version`` is the schema version of that document. Readers accept every
version up to ``SCHEMA_VERSION`` (older logs keep loading) and report newer
ones as unsupported instead of guessing at them.
"""

import json

from tensorboard.compat.proto import summary_pb2

from tb_plugin import kinds as _kinds

PLUGIN_NAME = "internals"

# Schema version of the metadata content written by this release.
# History:
#   1: kind, shape, dtype, encoding, plus kind-specific fields (first release);
#      payloads inline in blob sequences.
#   2: `storage` ("store" or "inline"); missing in 1, which means "inline".
SCHEMA_VERSION = 2

STORAGE_STORE = "store"
STORAGE_INLINE = "inline"
STORAGES = (STORAGE_STORE, STORAGE_INLINE)

# Summary kinds this release can show: the registry `tb_plugin.kinds.KINDS`
# (one line per kind) names them, and says which layout each has.
KIND_ACTIVATIONS = _kinds.ACTIVATIONS.name  # encoded arrays
KIND_ACTIVATION_STATS = _kinds.ACTIVATION_STATS.name  # tensor: stats vectors (kinds.activation_stats)
KIND_WEIGHTS = _kinds.WEIGHTS.name  # encoded arrays (variables)
KIND_WEIGHT_STATS = _kinds.WEIGHT_STATS.name  # tensor: per-variable change vectors (kinds.weights)
KIND_ATTENTION = _kinds.ATTENTION.name  # encoded attention scores, per-step labels and images
KIND_EMBEDDING = _kinds.EMBEDDING.name  # encoded [samples, dims] rows, labels, thumbnails (kinds.embedding)
KIND_ATTRIBUTION = _kinds.ATTRIBUTION.name  # encoded maps, a side document, Grad-CAM raw, probe images
KIND_MODEL_SUMMARY = _kinds.MODEL_SUMMARY.name  # a UTF-8 JSON document (the layer list)
KIND_LOGGING_PLAN = _kinds.LOGGING_PLAN.name  # a UTF-8 JSON document (tb_plugin.core.plan)
KIND_CLASS_STATS = _kinds.CLASS_STATS.name  # a UTF-8 JSON document, then thumbnails (kinds.class_stats)
ARRAY_KINDS = _kinds.names(_kinds.ARRAY)
DOCUMENT_KINDS = _kinds.names(_kinds.DOCUMENT)
# Kinds whose steps hold payloads (`/data` serves them), with a `storage`.
PAYLOAD_KINDS = ARRAY_KINDS + DOCUMENT_KINDS
# Kinds whose steps are small float64 vectors in the event file itself.
SERIES_KINDS = _kinds.names(_kinds.SERIES)
KINDS = PAYLOAD_KINDS + SERIES_KINDS
# Kinds whose steps `/steps` lists.
STEPPED_KINDS = KINDS


class UnsupportedMetadataError(ValueError):
    """Metadata content that this release cannot read (newer or corrupt)."""


def _data_class(storage):
    if storage not in STORAGES:
        raise ValueError("unknown storage %r; expected one of %s" % (storage, STORAGES))
    if storage == STORAGE_STORE:
        return summary_pb2.DATA_CLASS_TENSOR
    return summary_pb2.DATA_CLASS_BLOB_SEQUENCE


def create_summary_metadata(
    kind, shape, dtype, encoding, description=None, display_name=None, extra=None, storage=STORAGE_STORE
):
    """Builds the `SummaryMetadata` proto for one encoded-array summary.

    Args:
      kind: one of `ARRAY_KINDS`.
      shape: the logged array's shape (list of ints).
      dtype: the logged array's dtype name before encoding (e.g. "float32").
      encoding: the payload encoding name (see `encoding.ENCODINGS`).
      description: optional Markdown description shown with the tag.
      display_name: optional display name.
      extra: optional dict of JSON-serialisable, kind-specific fields (e.g.
        the layer a weight belongs to, or attention token labels).
      storage: where the payloads go, `STORAGE_STORE` or `STORAGE_INLINE`.

    Returns:
      A `summary_pb2.SummaryMetadata` with `data_class` set.
    """
    if kind not in ARRAY_KINDS:
        raise ValueError("unknown array summary kind %r; expected one of %s" % (kind, ARRAY_KINDS))
    content = dict(extra or {})
    content.update(
        version=SCHEMA_VERSION,
        kind=kind,
        shape=[int(d) for d in shape],
        dtype=str(dtype),
        encoding=str(encoding),
        storage=storage,
    )
    data_class = _data_class(storage)
    return summary_pb2.SummaryMetadata(
        display_name=display_name or "",
        summary_description=description or "",
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=PLUGIN_NAME,
            content=json.dumps(content, sort_keys=True).encode("utf-8"),
        ),
        data_class=data_class,
    )


def create_document_metadata(kind, description=None, storage=STORAGE_STORE, extra=None):
    """Builds the `SummaryMetadata` of a JSON document summary (`DOCUMENT_KINDS`);
    `extra`: optional JSON-serialisable, kind-specific fields (e.g. class names)."""
    if kind not in DOCUMENT_KINDS:
        raise ValueError("unknown document kind %r; expected one of %s" % (kind, DOCUMENT_KINDS))
    content = dict(extra or {})
    content.update(version=SCHEMA_VERSION, kind=kind, encoding="json", storage=storage)
    data_class = _data_class(storage)
    return summary_pb2.SummaryMetadata(
        summary_description=description or "",
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=PLUGIN_NAME,
            content=json.dumps(content, sort_keys=True).encode("utf-8"),
        ),
        data_class=data_class,
    )


def create_model_summary_metadata(description=None, storage=STORAGE_STORE):
    """Builds the `SummaryMetadata` of a model summary (a JSON document)."""
    return create_document_metadata(KIND_MODEL_SUMMARY, description, storage)


def create_stats_metadata(layout, activation, source_tag, description=None):
    """Builds the `SummaryMetadata` of an activation statistics series.

    The values are float64 vectors laid out as `tb_plugin.kinds.activation_stats` says, one
    per step, stored as a plain tensor (`DATA_CLASS_TENSOR`) so a whole
    series reads in one call.

    Args:
      layout: dict with `fields`, `bins` and `units` of the vector layout.
      activation: the layer's activation function name, or None.
      source_tag: the activations tag these statistics describe.
      description: optional Markdown description.
    """
    return create_series_metadata(
        KIND_ACTIVATION_STATS, layout, {"activation": activation, "source_tag": source_tag}, description
    )


def create_series_metadata(kind, layout, extra=None, description=None):
    """Builds the `SummaryMetadata` of a series of float64 vectors (`SERIES_KINDS`).

    Args:
      kind: one of `SERIES_KINDS`.
      layout: dict with `fields`, `bins` and `units` of the vector layout.
      extra: optional JSON-serialisable, kind-specific fields.
      description: optional Markdown description.
    """
    if kind not in SERIES_KINDS:
        raise ValueError("unknown series kind %r; expected one of %s" % (kind, SERIES_KINDS))
    content = dict(extra or {})
    content.update(
        version=SCHEMA_VERSION,
        kind=kind,
        fields=list(layout["fields"]),
        bins=int(layout["bins"]),
        units=int(layout["units"]),
    )
    return summary_pb2.SummaryMetadata(
        summary_description=description or "",
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=PLUGIN_NAME,
            content=json.dumps(content, sort_keys=True).encode("utf-8"),
        ),
        data_class=summary_pb2.DATA_CLASS_TENSOR,
    )


def parse_plugin_metadata(content):
    """Parses the `content` bytes of an internals `SummaryMetadata`.

    Returns:
      A dict with at least `version`, `kind`, `shape`, `dtype`, `encoding`,
      migrated to the current schema.

    Raises:
      UnsupportedMetadataError: the content is not valid JSON, or was written
        by a newer release (its message says to upgrade the plugin).
    """
    if not isinstance(content, (bytes, bytearray)):
        raise TypeError("metadata content must be bytes, got %s" % type(content).__name__)
    try:
        parsed = json.loads(bytes(content).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise UnsupportedMetadataError(
            "unreadable internals metadata (%s); the event file may be corrupt" % e
        )
    if not isinstance(parsed, dict):
        raise UnsupportedMetadataError("internals metadata is not a JSON object")
    version = parsed.get("version")
    if not isinstance(version, int) or version < 1:
        raise UnsupportedMetadataError(
            "internals metadata has no valid schema version (%r)" % (version,)
        )
    if version > SCHEMA_VERSION:
        raise UnsupportedMetadataError(
            "written by a newer tensorboard-plugin-internals (metadata schema "
            "version %d, this release reads up to %d): upgrade with "
            "`pip install -U tensorboard-plugin-internals`"
            % (version, SCHEMA_VERSION)
        )
    # Migrations from older schema versions, oldest first, each bringing
    # `parsed` up by one version.
    if version == 1:
        if parsed.get("kind") in PAYLOAD_KINDS:
            parsed["storage"] = STORAGE_INLINE
        version = parsed["version"] = 2
    kind = parsed.get("kind")
    if kind not in KINDS:
        raise UnsupportedMetadataError(
            "unknown internals summary kind %r (this release shows %s): upgrade "
            "tensorboard-plugin-internals" % (kind, ", ".join(KINDS))
        )
    if kind in PAYLOAD_KINDS and parsed.get("storage") not in STORAGES:
        raise UnsupportedMetadataError(
            "internals tag of kind %r has unknown storage %r: upgrade "
            "tensorboard-plugin-internals" % (kind, parsed.get("storage"))
        )
    return parsed


# ---- exact weight-change series (written by tb_plugin.keras) ----



def create_weight_stats_metadata(layout, source_tag, layer=None, layer_class=None, description=None):
    """Builds the `SummaryMetadata` of a variable's exact change series.

    The values are float64 vectors, one per snapshot, laid out as
    `tb_plugin.kinds.weights.weight_stats` says (`fields`, `bins` histogram bins,
    `units` per-output-unit changes), stored as a plain tensor
    (`DATA_CLASS_TENSOR`). `source_tag` is the variable's `weights/` tag
    (its full values, logged on the plan's cadence).
    """
    return create_series_metadata(
        KIND_WEIGHT_STATS, layout, {"source_tag": source_tag, "layer": layer, "layer_class": layer_class}, description
    )


# ---- the callback's logging plan ----


def create_logging_plan_metadata(description=None, storage=STORAGE_STORE):
    """Builds the `SummaryMetadata` of a logging plan: one JSON document
    (`tb_plugin.core.plan.Plan.document`), like a model summary but its own kind."""
    return create_document_metadata(KIND_LOGGING_PLAN, description, storage)
