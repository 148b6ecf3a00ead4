"""A corrupt step in a real browser: the tab says so and paints nothing for it,
while the steps around it keep showing (real TensorBoard, Rust data server)."""

import json
import os

import numpy as np
import pytest

from tb_plugin.summary import Writer
from conftest import running_tensorboard, wait_for_steps
from helpers import summary_values
from test_browser import Browser, painted_canvases, wait_painted, wait_step
from test_browser_navigation import open_at, shown_tag

RUN, TAG = "damaged", "activations/dense"


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    root = tmp_path_factory.mktemp("integrity")
    rng = np.random.default_rng(0)
    with Writer(str(root / RUN)) as w:
        for step in range(4):
            w.activations(TAG, rng.normal(size=(4, 24)).astype(np.float32), step=step, encoding="f32")
        store_path = w._store.path
    refs = [json.loads(v.tensor.string_val[0]) for _, v in summary_values(str(root / RUN))]
    data = bytearray(open(store_path, "rb").read())
    data[refs[2]["offset"] + 12 + 200] ^= 0x01  # step 2's payload
    open(store_path, "wb").write(bytes(data))
    with running_tensorboard(str(root), "true") as base:
        wait_for_steps(base, RUN, TAG, 4)
        yield base


@pytest.fixture
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def visible_canvases(frame):
    return frame.evaluate(
        "() => Array.from(document.querySelectorAll('.view canvas'))"
        ".filter(c => c.offsetParent !== null && c.width > 0 && c.height > 0).length")


def test_a_corrupt_step_is_named_and_never_painted(playwright, chromium_path, url, artifacts_dir):
    b = Browser(playwright, chromium_path, url)
    try:
        frame = open_at(b, url, {"runs": json.dumps([RUN]), "tag": TAG, "step": "1"})
        shown_tag(frame, TAG)
        # The state asserted, not just a canvas in the document (the legend's is there,
        # hidden, before the step is painted).
        wait_step(frame, 1)
        wait_painted(frame)
        assert visible_canvases(frame) > 0 and painted_canvases(frame) > 0
        # Step forward onto the corrupt step: a message, and the picture of step 1 is gone.
        frame.locator(".step-slider").focus()
        b.page.keyboard.press("ArrowRight")
        frame.wait_for_selector(".view-message:not([hidden])", timeout=20000)
        message = frame.locator(".view-message:not([hidden])").text_content()
        assert "corrupt" in message and "step 2" in message, message
        assert visible_canvases(frame) == 0
        b.page.screenshot(path=os.path.join(artifacts_dir, "integrity_corrupt_step.png"))
        # And on to step 3, which shows again.
        b.page.keyboard.press("ArrowRight")
        wait_step(frame, 3)
        frame.wait_for_function("() => document.querySelector('.view-message')?.hidden")
        wait_painted(frame)
        assert visible_canvases(frame) > 0
    finally:
        b.close()
