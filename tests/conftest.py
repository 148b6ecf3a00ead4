"""Shared fixtures; the TensorBoard process helpers live in tensorboard_process.py."""

import os
import shutil

import pytest

# Re-exported: tests import these from conftest.
from tensorboard_process import (  # noqa: F401
    free_port,
    http_get,
    running_tensorboard,
    tensorboard_command,
    tensorboard_process,
    wait_for_steps,
)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ARTIFACTS = os.path.join(os.path.dirname(__file__), "artifacts")


@pytest.fixture(scope="session")
def artifacts_dir():
    os.makedirs(ARTIFACTS, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def chromium_path():
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        pytest.fail("Debian's chromium is not installed: run the README's test command, which installs it")
    return path


@pytest.fixture
def browser(chromium_path, tensorboard_url):
    """A fresh headless Chromium on the test module's `tensorboard_url`."""
    from playwright.sync_api import sync_playwright
    from test_browser import Browser

    with sync_playwright() as p:
        b = Browser(p, chromium_path, tensorboard_url)
        try:
            yield b
        finally:
            b.close()
