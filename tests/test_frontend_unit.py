"""Runs the frontend's pure-module unit tests (tests/frontend/*.test.mjs) under node, no browser."""

import glob
import os
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def test_frontend_unit_tests_pass_under_node():
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.fail("node is not installed (Debian package nodejs): run the README's test command, which installs it")
    files = sorted(glob.glob(os.path.join(HERE, "frontend", "*.test.mjs")))
    assert files
    result = subprocess.run([node, "--test", *files], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_every_frontend_module_parses_as_an_es_module(tmp_path):
    # The browser loads each file as a module; `node --check` on a `.js` file
    # would parse it as a script and miss module-only syntax errors, so each
    # file is checked as a `.mjs` copy (a broken merge once blanked the tab).
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.fail("node is not installed (Debian package nodejs): run the README's test command, which installs it")
    root = os.path.join(os.path.dirname(HERE), "frontend")
    files = sorted(glob.glob(os.path.join(root, "**", "*.js"), recursive=True))
    assert len(files) > 20
    failures = []
    for path in files:
        copy = tmp_path / (os.path.relpath(path, root).replace(os.sep, "__") + ".mjs")
        shutil.copyfile(path, copy)
        result = subprocess.run([node, "--check", str(copy)], capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines()
            failures.append("%s: %s" % (os.path.relpath(path, root), [l for l in lines if "Error" in l or ".mjs:" in l]))
    assert not failures, failures
