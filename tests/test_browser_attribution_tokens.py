"""The attribution view's token layout in a real TensorBoard and Chromium:
each token's background is the diverging colour of its logged score (against
numpy), labels are text (markup shows as written), the class switch and a
step change repaint, and nothing logs a console error."""

import os
import re

import numpy as np
import pytest

from colormaps import COOLWARM_RGB, lookup
from conftest import running_tensorboard, wait_for_steps
from tb_plugin.summary import Writer

RUN, TAG = "text", "attribution/probe"
N, K = 3, 6
TOKENS = [["the", "cat", "<b>sat</b>", "on", "a", "mat"], ["no", "way", "this", "is", "ok", "!"],
          ["t0", "t1", "t2", "t3", "t4", "t5"]]


def scores_at(step):
    rng = np.random.default_rng(10 + step)
    s = rng.normal(0, 1, (N, 2, K)).astype("float32")
    s[0, 0, 1] = 3.0 + step  # the strongest, positive
    return s


@pytest.fixture(scope="module")
def tensorboard_url(tmp_path_factory):
    root = tmp_path_factory.mktemp("attr_tokens_browser")
    with Writer(str(root / RUN)) as w:
        for step in (0, 1):
            w.attribution(TAG, {"integrated_gradients": scores_at(step)}, step, predicted_class=[1, 0, 1],
                          true_class=[1, 1, 1], predicted_probability=[0.8, 0.6, 0.9], true_probability=[0.8, 0.4, 0.9],
                          tokens=TOKENS, encoding="f32",
                          completeness_error={"true": [0.001, 0.002, 0.003], "predicted": [0.0, 0.0, 0.0]})
    with running_tensorboard(str(root), "true") as url:
        wait_for_steps(url, RUN, TAG, 2)
        yield url


def expected_colours(step, target, sample):
    scores = scores_at(step)
    a = np.abs(scores).max()
    return np.array([lookup(COOLWARM_RGB, (v + a) / (2 * a)) for v in scores[sample, target]], dtype=np.float64)


def shown(frame):
    rows = frame.evaluate(
        "() => Array.from(document.querySelectorAll('.attr-tokens-main .attr-token')).map("
        "s => [s.textContent, getComputedStyle(s).backgroundColor])")
    labels = [r[0] for r in rows]
    colours = np.array([[float(v) for v in re.findall(r"[\d.]+", r[1])[:3]] for r in rows])
    return labels, colours


def wait_main(frame, step, target, sample=0):
    frame.wait_for_function(
        "([s, t, n]) => { const c = document.querySelector('.attr-tokens-main');"
        " return c && c.dataset.step === String(s) && c.dataset.target === t && c.dataset.sample === String(n); }",
        arg=[step, target, sample], timeout=20000)


def test_tokens_are_painted_with_their_logged_scores(browser, tensorboard_url, artifacts_dir):
    frame = browser.open_tab(tensorboard_url)
    frame.wait_for_selector(".tag-item")
    frame.locator(".tag-item[data-tag='%s']" % TAG).first.click()
    wait_main(frame, 1, "true")
    labels, colours = shown(frame)
    assert labels == TOKENS[0]  # "<b>sat</b>" as text, not markup
    assert frame.locator(".attr-tokens-main b").count() == 0
    assert np.abs(colours - expected_colours(1, 0, 0)).max() <= 1
    legend = frame.locator(".attr-legend .legend")
    assert legend.get_attribute("data-colormap") == "cool-warm"
    a = float(np.abs(scores_at(1)).max())
    assert float(legend.get_attribute("data-hi")) == pytest.approx(a) and float(legend.get_attribute("data-lo")) == pytest.approx(-a)
    assert frame.locator(".attr-token-row").count() == N
    assert frame.locator(".attr-bar-row").count() == K
    assert "Completeness error 0.10%" in frame.locator(".attr-caption").text_content()
    browser.page.screenshot(path=os.path.join(artifacts_dir, "attribution_tokens_1440.png"))

    # The class switch, another sample, then a step change.
    frame.locator(".attr-target[data-target='predicted']").click()
    frame.locator(".attr-token-row[data-sample='2']").click()
    wait_main(frame, 1, "predicted", 2)
    labels, colours = shown(frame)
    assert labels == TOKENS[2]
    assert np.abs(colours - expected_colours(1, 1, 2)).max() <= 1
    frame.locator(".step-slider").focus()
    browser.page.keyboard.press("Home")
    wait_main(frame, 0, "predicted", 2)
    assert np.abs(shown(frame)[1] - expected_colours(0, 1, 2)).max() <= 1

    browser.page.set_viewport_size({"width": 1280, "height": 900})
    browser.page.screenshot(path=os.path.join(artifacts_dir, "attribution_tokens_1280.png"))
    browser.check_clean()
