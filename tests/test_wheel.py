"""The built wheel, installed into a fresh venv without TensorFlow, serves the tab."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tb_plugin.format import encoding
from tb_plugin import summary

from conftest import http_get, running_tensorboard

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREFIX = "/data/plugin/internals"
IGNORED = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".hypothesis",
                                 ".pytest_cache", "artifacts", "node_modules", "demo_logs", "bench")


def run(command, cwd, timeout=600):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, "%s failed:\n%s\n%s" % (command, result.stdout[-3000:], result.stderr[-3000:])
    return result.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """(venv python, venv dir, wheel path, a neutral working directory)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    # Build from a copy, so the checkout gets no build/ folder and concurrent builds cannot collide.
    shutil.copytree(CHECKOUT, source, ignore=IGNORED)
    dist = root / "dist"
    run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(source)], cwd=root)
    wheels = list(dist.glob("*.whl"))
    assert len(wheels) == 1, wheels
    venv_dir = root / "venv"
    run([sys.executable, "-m", "venv", str(venv_dir)], cwd=root)  # no system site packages
    python = str(venv_dir / "bin" / "python")
    run([python, "-m", "pip", "install", "--quiet", str(wheels[0])], cwd=root)
    neutral = root / "elsewhere"
    neutral.mkdir()
    return python, str(venv_dir), wheels[0], neutral


def venv_python(venv, script):
    python, _, _, neutral = venv
    return run([python, "-c", textwrap.dedent(script)], cwd=neutral)


def test_wheel_holds_the_package_and_the_frontend(venv):
    import zipfile

    names = zipfile.ZipFile(venv[2]).namelist()
    for module in ("__init__", "format/encoding", "format/metadata", "kinds/__init__", "summary/__init__",
                   "summary/writer", "summary/tf_door", "summary/core", "backend/data_access", "reader",
                   "backend/plugin"):
        assert "tb_plugin/%s.py" % module in names
    assert "tb_plugin/frontend/index.js" in names
    assert not any(name.startswith(("tests/", "frontend/")) for name in names)
    entry_points = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(venv[2]).read(entry_points[0]).decode()
    assert "[tensorboard_plugins]" in text and "internals = tb_plugin.backend.plugin:InternalsLoader" in text


def test_installed_package_lives_in_the_venv_with_its_frontend(venv):
    _, venv_dir, _, _ = venv
    found = json.loads(venv_python(venv, """
        import json, os, sys, importlib.util
        import tb_plugin, tb_plugin.backend.plugin
        print(json.dumps({"package": os.path.dirname(tb_plugin.__file__),
                          "frontend": tb_plugin.backend.plugin.frontend_dir(),
                          "prefix": sys.prefix, "base_prefix": sys.base_prefix,
                          "tensorflow": importlib.util.find_spec("tensorflow") is not None}))
    """))
    real_venv = os.path.realpath(venv_dir)
    assert os.path.realpath(found["package"]).startswith(real_venv + os.sep)
    assert not os.path.realpath(found["package"]).startswith(os.path.realpath(CHECKOUT) + os.sep)
    assert os.path.realpath(found["frontend"]) == os.path.join(os.path.realpath(found["package"]), "frontend")
    with open(os.path.join(found["frontend"], "index.js"), "rb") as installed, \
            open(os.path.join(CHECKOUT, "frontend", "index.js"), "rb") as checkout:
        assert installed.read() == checkout.read()
    assert found["prefix"] != found["base_prefix"]  # really a venv
    assert found["tensorflow"] is False  # not even installed


def test_entry_point_module_does_not_import_tensorflow(venv):
    out = venv_python(venv, """
        import sys
        from importlib.metadata import entry_points
        (ep,) = [ep for ep in entry_points(group="tensorboard_plugins") if ep.name == "internals"]
        loader = ep.load()
        assert loader.__module__ == "tb_plugin.backend.plugin", loader.__module__
        import tb_plugin.summary, tb_plugin.reader
        print(sorted(m for m in sys.modules if m == "tensorflow" or m.startswith("tensorflow.")))
    """)
    assert out.strip() == "[]"


def test_venv_tensorboard_serves_the_tab(venv, tmp_path, monkeypatch):
    python, _, _, neutral = venv
    x = np.random.RandomState(0).randn(4, 6, 6, 3).astype(np.float32)
    with summary.Writer(str(tmp_path / "logs" / "run")) as writer:
        for step in range(3):
            writer.activations("conv1", x * (step + 1), step=step)
    # Start from a folder that is not the checkout: `python -m` puts the working directory on sys.path.
    monkeypatch.chdir(neutral)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    with running_tensorboard(tmp_path / "logs", "auto", python=python) as url:
        status, _, body = http_get(url + "/data/plugins_listing")
        assert status == 200
        listing = json.loads(body)["internals"]
        assert listing["tab_name"] == "Internals" and listing["enabled"] is True
        module_path = listing["loading_mechanism"]["module_path"]
        assert module_path == PREFIX + "/static/index.js"
        status, headers, served = http_get(url + module_path)
        assert status == 200 and headers["Content-Type"].startswith("text/javascript")
        with open(os.path.join(CHECKOUT, "frontend", "index.js"), "rb") as f:
            assert served == f.read()
        status, _, payload = http_get(url + PREFIX + "/data?run=run&tag=conv1&step=2")
        assert status == 200 and payload == encoding.encode(x * 3)
