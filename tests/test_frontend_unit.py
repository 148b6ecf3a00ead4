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
