"""The registry of summary kinds (`tb_plugin.kinds.KINDS`) and what reads it."""

import subprocess
import sys
import textwrap

import pytest

from tb_plugin import kinds
from tb_plugin.format import metadata
from tb_plugin.summary import Writer


def test_every_kind_is_one_line_with_a_known_layout():
    assert len({k.name for k in kinds.KINDS}) == len(kinds.KINDS)
    for kind in kinds.KINDS:
        assert kind.layout in kinds.LAYOUTS
        assert kinds.get(kind.name) is kind
        assert set(kind.payloads) <= set(kind.blobs)
        assert bool(kind.blobs) == kind.stored  # payload layouts name their blobs; series have none
        if kind.layout == kinds.ARRAY:
            assert kind.is_payload(0)  # blob 0 of an array kind is the encoded array
        if kind.layout == kinds.DOCUMENT:
            assert not kind.is_payload(0)  # blob 0 of a document kind is JSON
    assert kinds.get("hologram") is None


def test_metadata_lists_its_kinds_from_the_registry():
    assert set(metadata.KINDS) == {k.name for k in kinds.KINDS}
    assert metadata.ARRAY_KINDS == kinds.names(kinds.ARRAY)
    assert metadata.DOCUMENT_KINDS == kinds.names(kinds.DOCUMENT)
    assert metadata.SERIES_KINDS == kinds.names(kinds.SERIES)
    assert set(metadata.PAYLOAD_KINDS) == {k.name for k in kinds.KINDS if k.stored}


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda k: k.name)
def test_every_kind_has_a_module_and_a_public_writer_method(kind):
    module = kind.load()
    assert module is not None, "every kind names the module of its step and numerics"
    method = getattr(Writer, kind.name, None)
    assert callable(method) and not kind.name.startswith("_"), "Writer has no method for kind %r" % kind.name


def test_kind_modules_and_the_registry_never_import_tensorflow():
    names = sorted({k.module for k in kinds.KINDS if k.module and k.module.startswith("tb_plugin.kinds")})
    script = textwrap.dedent("""
        import importlib, sys
        for name in %r:
            importlib.import_module(name)
        import tb_plugin.summary.writer, tb_plugin.summary.core
        assert "tensorflow" not in sys.modules, sorted(m for m in sys.modules if m.startswith("tensorflow"))
        print("ok")
    """ % (names,))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
