"""Names and summary metadata for the internals plugin.

Every summary this plugin writes is a blob sequence (a rank-1 string tensor
holding one encoded payload, see ``encoding.py``) whose ``SummaryMetadata``
carries ``plugin_name = "internals"``, ``data_class = BLOB_SEQUENCE`` and a
small JSON document as ``content``::

    {"version": 1, "kind": "activations", "shape": [16, 8, 8, 4],
     "dtype": "float32", "encoding": "q8"}

``version`` is the schema version of that document. Readers accept every
version up to ``SCHEMA_VERSION`` (older logs keep loading) and report newer
ones as unsupported instead of guessing at them.
"""

import json

from tensorboard.compat.proto import summary_pb2

PLUGIN_NAME = "internals"

# Schema version of the metadata content written by this release.
# History:
#   1: kind, shape, dtype, encoding, plus kind-specific fields (first release).
SCHEMA_VERSION = 1

# Summary kinds this release can show.
KIND_ACTIVATIONS = "activations"  # blob sequence: encoded arrays
KIND_ACTIVATION_STATS = "activation_stats"  # tensor: stats vectors (stats.py)
KIND_WEIGHTS = "weights"  # blob sequence: encoded arrays (variables)
KIND_ATTENTION = "attention"  # blob sequence: encoded attention scores
KIND_MODEL_SUMMARY = "model_summary"  # blob sequence: a UTF-8 JSON document
ARRAY_KINDS = (KIND_ACTIVATIONS, KIND_WEIGHTS, KIND_ATTENTION)
KINDS = ARRAY_KINDS + (KIND_ACTIVATION_STATS, KIND_MODEL_SUMMARY)


class UnsupportedMetadataError(ValueError):
    """Metadata content that this release cannot read (newer or corrupt)."""


def create_summary_metadata(
    kind, shape, dtype, encoding, description=None, display_name=None, extra=None
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
    )
    return summary_pb2.SummaryMetadata(
        display_name=display_name or "",
        summary_description=description or "",
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=PLUGIN_NAME,
            content=json.dumps(content, sort_keys=True).encode("utf-8"),
        ),
        data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE,
    )


def create_model_summary_metadata(description=None):
    """Builds the `SummaryMetadata` of a model summary (a JSON document blob)."""
    content = {"version": SCHEMA_VERSION, "kind": KIND_MODEL_SUMMARY, "encoding": "json"}
    return summary_pb2.SummaryMetadata(
        summary_description=description or "",
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=PLUGIN_NAME,
            content=json.dumps(content, sort_keys=True).encode("utf-8"),
        ),
        data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE,
    )


def create_stats_metadata(layout, activation, source_tag, description=None):
    """Builds the `SummaryMetadata` of an activation statistics series.

    The values are float64 vectors laid out as `tb_plugin.stats` says, one
    per step, stored as a plain tensor (`DATA_CLASS_TENSOR`) so a whole
    series reads in one call.

    Args:
      layout: dict with `fields`, `bins` and `units` of the vector layout.
      activation: the layer's activation function name, or None.
      source_tag: the activations tag these statistics describe.
      description: optional Markdown description.
    """
    content = {
        "version": SCHEMA_VERSION,
        "kind": KIND_ACTIVATION_STATS,
        "fields": list(layout["fields"]),
        "bins": int(layout["bins"]),
        "units": int(layout["units"]),
        "activation": activation,
        "source_tag": source_tag,
    }
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
    # Migrations from older schema versions go here, oldest first, each
    # bringing `parsed` up by one version. Version 1 is the first.
    kind = parsed.get("kind")
    if kind not in KINDS:
        raise UnsupportedMetadataError(
            "unknown internals summary kind %r (this release shows %s): upgrade "
            "tensorboard-plugin-internals" % (kind, ", ".join(KINDS))
        )
    return parsed


# ---- exact weight-change series (appended; written by tb_plugin.keras) ----

KIND_WEIGHT_STATS = "weight_stats"  # tensor: per-variable change vectors (weights.weight_stats)
KINDS = KINDS + (KIND_WEIGHT_STATS,)
# Written under their own plugin name for now: the backend's statistics route
# (data_access.read_stats) reads every tensor series of PLUGIN_NAME as
# activation statistics. Once it filters by kind, write them as PLUGIN_NAME.
WEIGHT_STATS_PLUGIN_NAME = PLUGIN_NAME + "_weight_stats"


def create_weight_stats_metadata(layout, source_tag, layer=None, layer_class=None, description=None):
    """Builds the `SummaryMetadata` of a variable's exact change series.

    The values are float64 vectors, one per snapshot, laid out as
    `tb_plugin.weights.weight_stats` says (`fields`, `bins` histogram bins,
    `units` per-output-unit changes), stored as a plain tensor
    (`DATA_CLASS_TENSOR`). `source_tag` is the variable's `weights/` tag
    (its full values, logged on the plan's cadence).
    """
    content = {
        "version": SCHEMA_VERSION,
        "kind": KIND_WEIGHT_STATS,
        "fields": list(layout["fields"]),
        "bins": int(layout["bins"]),
        "units": int(layout["units"]),
        "source_tag": source_tag,
        "layer": layer,
        "layer_class": layer_class,
    }
    return summary_pb2.SummaryMetadata(
        summary_description=description or "",
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=WEIGHT_STATS_PLUGIN_NAME,
            content=json.dumps(content, sort_keys=True).encode("utf-8"),
        ),
        data_class=summary_pb2.DATA_CLASS_TENSOR,
    )


# ---- the callback's logging plan (appended; written by tb_plugin.keras) ----

KIND_LOGGING_PLAN = "logging_plan"  # blob sequence: one UTF-8 JSON document (tb_plugin.plan)
KINDS = KINDS + (KIND_LOGGING_PLAN,)


def create_logging_plan_metadata(description=None):
    """Builds the `SummaryMetadata` of a logging plan: one JSON document blob
    (`tb_plugin.plan.Plan.document`), like a model summary but its own kind."""
    content = {"version": SCHEMA_VERSION, "kind": KIND_LOGGING_PLAN, "encoding": "json"}
    return summary_pb2.SummaryMetadata(
        summary_description=description or "",
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=PLUGIN_NAME,
            content=json.dumps(content, sort_keys=True).encode("utf-8"),
        ),
        data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE,
    )
