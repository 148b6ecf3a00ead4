"""The attribution view in a real TensorBoard and Chromium: the overlay paints
the logged map at the right place over the logged input (every pixel against
numpy), a step change repaints, the method and class switches repaint, and
nothing logs a console error."""

import os

import numpy as np
import pytest

from colormaps import COOLWARM_RGB, VIRIDIS_RGB, lookup
from conftest import running_tensorboard, wait_for_steps
from tb_plugin.summary import Writer

RUN, TAG = "run", "attribution/probe"
N, H, W = 3, 8, 10  # not square: a transposed map would show
OPACITY = 0.6


def maps_at(step):
    rng = np.random.default_rng(step)
    sal = rng.uniform(0, 0.2, (N, 2, H, W)).astype("float32")
    sal[0, 0, 2, 7] = 1.0 + step  # a hot spot at a known place
    ig = rng.normal(0, 1, (N, 2, H, W)).astype("float32")
    return {"saliency": sal, "integrated_gradients": ig}


def images():
    rng = np.random.default_rng(9)
    return rng.uniform(0, 1, (N, H, W, 1)).astype("float32")


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("attr_browser")
    with Writer(str(root / RUN)) as w:
        for step in (0, 1):
            w.attribution(TAG, maps_at(step), step, predicted_class=[1, 0, 1], true_class=[1, 1, 1],
                          predicted_probability=[0.8, 0.6, 0.9], true_probability=[0.8, 0.4, 0.9],
                          class_names=["x", "plus"], images=images(), encoding="f32",
                          completeness_error={"true": [0.001, 0.002, 0.003], "predicted": [0.0, 0.0, 0.0]})
    return str(root)


@pytest.fixture(scope="module")
def tensorboard_url(logdir):
    with running_tensorboard(logdir, "true") as url:
        wait_for_steps(url, RUN, TAG, 2)
        yield url


def expected_pixels(step, method, target, sample):
    maps = maps_at(step)[method]
    value = maps[sample, target]
    grey = np.round(images()[sample, ..., 0].astype(np.float64) * 255)
    if method == "integrated_gradients":
        a = np.abs(maps).max()
        lo, hi, table = -a, a, COOLWARM_RGB
    else:
        lo, hi, table = 0.0, maps.max(), VIRIDIS_RGB
    out = np.zeros((H, W, 3))
    for r in range(H):
        for c in range(W):
            colour = lookup(table, (value[r, c] - lo) / (hi - lo))
            out[r, c] = [(1 - OPACITY) * grey[r, c] + OPACITY * colour[j] for j in range(3)]
    return out


def main_pixels(frame):
    data = frame.evaluate(
        "() => { const c = document.querySelector('.attr-main');"
        " return [c.width, c.height, Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)]; }")
    w, h, px = data
    assert (w, h) == (W, H)
    return np.array(px, dtype=np.float64).reshape(H, W, 4)[..., :3]


def wait_main(frame, step, method, target, sample=0):
    frame.wait_for_function(
        "([s, m, t, n]) => { const c = document.querySelector('.attr-main');"
        " return c && c.dataset.step === String(s) && c.dataset.method === m && c.dataset.target === t"
        " && c.dataset.sample === String(n); }",
        arg=[step, method, target, sample], timeout=20000)


def test_overlay_paints_the_logged_map_over_the_input(browser, tensorboard_url, artifacts_dir):
    frame = browser.open_tab(tensorboard_url)
    frame.wait_for_selector(".tag-item")
    frame.locator(".tag-item[data-tag='%s']" % TAG).first.click()
    wait_main(frame, 1, "saliency", "true")
    got = main_pixels(frame)
    assert np.abs(got - expected_pixels(1, "saliency", 0, 0)).max() <= 2
    # The hot spot is the brightest painted pixel, where it was logged.
    brightness = got.sum(axis=-1) - np.round(images()[0, ..., 0] * 255) * 3 * (1 - OPACITY)
    assert np.unravel_index(np.argmax(brightness), (H, W)) == (2, 7)
    legend = frame.locator(".attr-legend .legend")
    assert legend.get_attribute("data-colormap") == "viridis"
    assert float(legend.get_attribute("data-hi")) == pytest.approx(float(maps_at(1)["saliency"].max()))
    assert "Gradients (viridis)" in frame.locator(".attr-legend .legend-mode").text_content()
    caption = frame.locator(".attr-caption").text_content()
    assert "true plus (1) p = 0.800" in caption and "predicted plus (1) p = 0.800" in caption
    assert frame.locator(".attr-thumb").count() == N
    browser.page.screenshot(path=os.path.join(artifacts_dir, "attribution_1440.png"))

    # A step change repaints with that step's map.
    frame.locator(".step-slider").focus()
    browser.page.keyboard.press("Home")
    wait_main(frame, 0, "saliency", "true")
    assert np.abs(main_pixels(frame) - expected_pixels(0, "saliency", 0, 0)).max() <= 2

    # Method and class switches; another sample from the grid.
    frame.locator(".attr-method[data-method='integrated_gradients']").click()
    frame.locator(".attr-target[data-target='predicted']").click()
    frame.locator(".attr-thumb[data-sample='2']").click()
    wait_main(frame, 0, "integrated_gradients", "predicted", 2)
    assert np.abs(main_pixels(frame) - expected_pixels(0, "integrated_gradients", 1, 2)).max() <= 2
    assert frame.locator(".attr-legend .legend").get_attribute("data-colormap") == "cool-warm"
    assert "Completeness error 0.00%" in frame.locator(".attr-caption").text_content()

    # Hover reads the logged value.
    box = frame.locator(".attr-main").bounding_box()
    browser.page.mouse.move(box["x"] + (7.5 / W) * box["width"], box["y"] + (2.5 / H) * box["height"])
    frame.wait_for_function("() => document.querySelector('.readout-where').textContent.includes('row 2, col 7')")
    value = float(frame.locator(".readout-value").text_content())
    assert value == pytest.approx(float(maps_at(0)["integrated_gradients"][2, 1, 2, 7]), rel=1e-3, abs=1e-3)

    browser.page.set_viewport_size({"width": 1280, "height": 900})
    browser.page.mouse.move(0, 0)
    browser.page.screenshot(path=os.path.join(artifacts_dir, "attribution_1280.png"))
    browser.check_clean()
