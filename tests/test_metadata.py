"""Summary metadata: data class, plugin name, versioned content."""

import json

import pytest
from tensorboard.compat.proto import summary_pb2

from tb_plugin.format import metadata


def content_of(**fields):
    return json.dumps(fields).encode("utf-8")


def test_metadata_of_stored_payloads_is_a_tensor_and_of_inline_ones_a_blob_sequence():
    inline = metadata.create_summary_metadata("activations", [2], "float32", "q8", storage="inline")
    assert inline.data_class == summary_pb2.DATA_CLASS_BLOB_SEQUENCE
    assert metadata.parse_plugin_metadata(inline.plugin_data.content)["storage"] == "inline"
    with pytest.raises(ValueError, match="storage"):
        metadata.create_summary_metadata("activations", [2], "float32", "q8", storage="cloud")
    md = metadata.create_summary_metadata("activations", [16, 8, 8, 4], "float32", "q8",
                                          description="conv *1*", display_name="Conv 1")
    assert isinstance(md, summary_pb2.SummaryMetadata)
    assert md.data_class == summary_pb2.DATA_CLASS_TENSOR
    assert metadata.parse_plugin_metadata(md.plugin_data.content)["storage"] == "store"
    assert md.plugin_data.plugin_name == "internals" == metadata.PLUGIN_NAME
    assert md.summary_description == "conv *1*"
    assert md.display_name == "Conv 1"
    # The name must be a valid TensorBoard plugin name.
    assert metadata.PLUGIN_NAME.replace("_", "").replace("-", "").isalnum()


@pytest.mark.parametrize("shape,dtype,name", [([16, 8, 8, 4], "float32", "q8"), ([], "bfloat16", "f32"),
                                              ([0, 3], "int8", "q8"), ((2, 3), "bool", "f32")])
def test_content_round_trips(shape, dtype, name):
    md = metadata.create_summary_metadata(metadata.KIND_ACTIVATIONS, shape, dtype, name)
    parsed = metadata.parse_plugin_metadata(md.plugin_data.content)
    assert parsed["version"] == metadata.SCHEMA_VERSION
    assert parsed["kind"] == "activations"
    assert parsed["shape"] == [int(d) for d in shape]
    assert parsed["dtype"] == dtype
    assert parsed["encoding"] == name
    # What is written is plain JSON carrying exactly those fields.
    assert json.loads(md.plugin_data.content) == parsed
    # A metadata proto survives serialisation (what the event file stores).
    again = summary_pb2.SummaryMetadata.FromString(md.SerializeToString())
    assert metadata.parse_plugin_metadata(again.plugin_data.content) == parsed


def test_content_is_deterministic():
    one = metadata.create_summary_metadata("activations", [3, 4], "float32", "q8")
    two = metadata.create_summary_metadata("activations", (3, 4), "float32", "q8")
    assert one.SerializeToString() == two.SerializeToString()


def test_unknown_kind_is_refused_when_writing():
    with pytest.raises(ValueError, match="kind"):
        metadata.create_summary_metadata("weights-v9", [1], "float32", "q8")


def test_older_versions_keep_loading():
    for version in range(1, metadata.SCHEMA_VERSION + 1):
        fields = dict(version=version, kind="activations", shape=[2], dtype="float32", encoding="q8")
        if version >= 2:
            fields["storage"] = "store"
        parsed = metadata.parse_plugin_metadata(content_of(**fields))
        assert parsed["kind"] == "activations"
        assert parsed["version"] == metadata.SCHEMA_VERSION
    # Schema 1 had no storage field: its payloads are inline.
    old = metadata.parse_plugin_metadata(content_of(version=1, kind="weights", shape=[2], dtype="float32",
                                                    encoding="f32"))
    assert old["storage"] == "inline"
    stats = metadata.parse_plugin_metadata(content_of(version=1, kind="activation_stats", fields=[], bins=0,
                                                      units=0))
    assert "storage" not in stats  # statistics are tensors in the event file in every version


def test_newer_schema_version_asks_for_an_upgrade():
    newer = content_of(version=metadata.SCHEMA_VERSION + 1, kind="activations", shape=[2],
                       dtype="float32", encoding="q8")
    with pytest.raises(metadata.UnsupportedMetadataError) as raised:
        metadata.parse_plugin_metadata(newer)
    message = str(raised.value)
    assert "upgrade" in message
    assert "pip install -U tensorboard-plugin-internals" in message
    assert str(metadata.SCHEMA_VERSION + 1) in message
    # UnsupportedMetadataError is a ValueError: callers catching ValueError see it too.
    assert isinstance(raised.value, ValueError)


def test_newer_version_with_new_fields_and_kind_still_reports_the_version():
    newer = content_of(version=metadata.SCHEMA_VERSION + 5, kind="attention", heads=8)
    with pytest.raises(metadata.UnsupportedMetadataError, match="upgrade"):
        metadata.parse_plugin_metadata(newer)


@pytest.mark.parametrize("content", [
    b"", b"not json", b"\xff\xfe\x00", b"[1, 2]", b"null", b"42", b'"activations"',
    content_of(kind="activations"),  # no version
    content_of(version="1", kind="activations"),
    content_of(version=0, kind="activations"),
    content_of(version=-3, kind="activations"),
    content_of(version=1.5, kind="activations"),
], ids=["empty", "text", "binary", "list", "null", "number", "string", "no-version", "string-version",
        "zero-version", "negative-version", "float-version"])
def test_garbage_content_is_unsupported_with_a_message(content):
    with pytest.raises(metadata.UnsupportedMetadataError) as raised:
        metadata.parse_plugin_metadata(content)
    assert str(raised.value)


@pytest.mark.parametrize("kind", ["saliency_v9", "", None, 7])
def test_unknown_kind_asks_for_an_upgrade(kind):
    with pytest.raises(metadata.UnsupportedMetadataError) as raised:
        metadata.parse_plugin_metadata(content_of(version=1, kind=kind, shape=[1], dtype="float32", encoding="q8"))
    assert "upgrade" in str(raised.value)
    assert repr(kind) in str(raised.value)


def test_content_must_be_bytes():
    with pytest.raises(TypeError):
        metadata.parse_plugin_metadata('{"version": 1, "kind": "activations"}')
