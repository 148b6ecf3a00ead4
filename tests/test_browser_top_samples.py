"""Top probe samples in the activations view, in a real TensorBoard and
Chromium: the samples shown per channel equal a numpy argsort of the logged
activations (max over positions), with the patch under the strongest
position; a step change refreshes them; no console errors. A token
attribution tag in the same run is no input tag (400, and the view skips it)."""

import os

import numpy as np
import pytest

from urllib.parse import urlencode

from conftest import http_get, running_tensorboard, wait_for_steps
from tb_plugin.summary import Writer

RUN, ACT, ATTR = "run", "activations/conv", "attribution/probe"
N, H, W, C, h, w = 8, 8, 8, 3, 4, 4


def activations_at(step):
    return np.random.default_rng(20 + step).normal(0, 1, (N, h, w, C)).astype("float32")


def expected(step, channel, k=5):
    a = activations_at(step)[..., channel].reshape(N, -1)
    score = a.max(axis=1)
    order = np.argsort(-score, kind="stable")[:k]
    where = a.argmax(axis=1)[order]
    patches = [[(p // w) * H // h, (p % w) * W // w, (p // w + 1) * H // h, (p % w + 1) * W // w] for p in where]
    return order.tolist(), patches


@pytest.fixture(scope="module")
def tensorboard_url(tmp_path_factory):
    root = tmp_path_factory.mktemp("top_samples_browser")
    images = np.random.default_rng(9).uniform(0, 1, (N, H, W, 1)).astype("float32")
    with Writer(str(root / RUN)) as wr:
        for step in (0, 1):
            wr.activations(ACT, activations_at(step), step, encoding="f32")
            wr.attribution("attribution/a_text", {"integrated_gradients": np.ones((N, 5), "float32")}, step,
                           predicted_class=[0] * N, tokens=["a", "b", "c", "d", "e"])
            wr.attribution(ATTR, {"saliency": np.ones((N, H, W), "float32")}, step, predicted_class=[0] * N,
                           images=images)
    with running_tensorboard(str(root), "true") as url:
        wait_for_steps(url, RUN, ACT, 2)
        yield url


def test_top_samples_equal_a_numpy_argsort(browser, tensorboard_url, artifacts_dir):
    url = tensorboard_url
    q = {"run": RUN, "tag": ACT, "step": 1, "k": 5}
    prefix = url + "/data/plugin/internals/top_samples?"
    status, _, body = http_get(prefix + urlencode(dict(q, input_tag="attribution/a_text")))
    assert status == 400 and b"token attributions" in body
    assert http_get(prefix + urlencode(dict(q, input_tag=ATTR)))[0] == 200
    frame = browser.open_tab(url)
    frame.wait_for_selector(".tag-item")
    frame.locator(".tag-item[data-tag='%s']" % ACT).first.click()
    frame.wait_for_selector(".top-samples:not([hidden])", timeout=20000)
    frame.locator(".top-samples > summary").click()

    def shown(step, channel):
        frame.wait_for_function(
            "([s, c]) => { const b = document.querySelector('.top-body');"
            " return b && b.dataset.step === String(s) && b.dataset.channel === String(c); }",
            arg=[step, channel], timeout=20000)
        samples = [int(v) for v in frame.locator(".top-body").get_attribute("data-samples").split(",")]
        patches = [[int(v) for v in p.split(",")] for p in
                   frame.evaluate("() => Array.from(document.querySelectorAll('.top-thumb')).map(c => c.dataset.patch)")]
        return samples, patches

    assert shown(1, 0) == expected(1, 0)
    frame.locator(".top-channel").fill("2")
    frame.locator(".top-channel").dispatch_event("change")
    assert shown(1, 2) == expected(1, 2)
    captions = frame.locator(".top-item figcaption").all_text_contents()
    assert captions[0].startswith("sample %d · " % expected(1, 2)[0][0])
    browser.page.screenshot(path=os.path.join(artifacts_dir, "top_samples_1440.png"))
    frame.locator(".step-slider").focus()
    browser.page.keyboard.press("Home")
    assert shown(0, 2) == expected(0, 2)
    browser.check_clean()
