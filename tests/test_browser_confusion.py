"""The class statistics on the committed known-answer demo (demo_logs/confused_1_7), read
through a real TensorBoard (Rust data server) and in a real browser.

Known answer: every 7 of the digits is blended into a 1, so 1 and 7 are the most confused
pair, and it is among the three most similar pairs of the last hidden layer (dense1).
The browser clicks the cell (true 7, predicted 1) and sees both classes' profiles, the
separability chart and the misclassified samples, checked against numpy on the document.
"""

import json
import os
import shutil
from urllib.parse import urlencode

import numpy as np
import pytest

from conftest import http_get, running_tensorboard, wait_for_steps
from test_browser import wait_step

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = "confused_1_7"
TAG = "class_stats"
LAST_HIDDEN = "dense1"
OTHER = "other_writer"


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("confusion_logs")
    shutil.copytree(os.path.join(REPO, "demo_logs", RUN), str(root / RUN))
    # A second run for the comparison: written by the TF-free door, 7 never confused with 1.
    from tb_plugin.summary import Writer

    rng = np.random.default_rng(0)
    y = np.arange(200) % 10
    with Writer(str(root / OTHER)) as w:
        for step in range(0, 12, 2):
            p = np.where(rng.random(200) < 0.8, y, (y + 3) % 10)
            w.class_stats(TAG, step, labels=y, predictions=p, layers={"h": rng.normal(size=(200, 5)) + y[:, None]})
    return str(root)


@pytest.fixture(scope="module")
def tensorboard_url(logdir):
    with running_tensorboard(logdir, "true") as url:
        wait_for_steps(url, RUN, TAG, 13)
        wait_for_steps(url, OTHER, TAG, 6)
        yield url


def get_json(url, route, **params):
    status, _, body = http_get(url + "/data/plugin/internals/" + route + "?" + urlencode(params))
    assert status == 200, (route, params, body[:300])
    return json.loads(body)


def test_demo_most_confused_pair_is_among_the_most_similar_of_the_last_hidden_layer(tensorboard_url):
    steps = get_json(tensorboard_url, "steps", run=RUN, tag=TAG)["steps"]
    assert steps == list(range(-1, 12))
    for step in steps[1:]:  # every trained step
        doc = get_json(tensorboard_url, "class_stats", run=RUN, tag=TAG, step=step)
        c = np.array(doc["confusion"])
        pair_counts = c + c.T
        np.fill_diagonal(pair_counts, -1)
        confused = set(np.unravel_index(np.argmax(pair_counts), c.shape))
        assert confused == {1, 7}, (step, c)
        layer = next(l for l in doc["layers"] if l["path"] == LAST_HIDDEN)
        s = np.array(layer["similarity"], dtype=float)
        iu = np.triu_indices(len(s), 1)
        top3 = [{int(iu[0][i]), int(iu[1][i])} for i in np.argsort(-s[iu])[:3]]
        assert confused in top3, (step, top3)
        # The clustering puts 1 and 7 next to each other.
        order = layer["order"]
        assert abs(order.index(1) - order.index(7)) == 1, order


def test_clicking_a_confusion_cell_shows_both_profiles_and_the_samples(browser, tensorboard_url, artifacts_dir):
    url = tensorboard_url
    step = 11
    doc = get_json(url, "class_stats", run=RUN, tag=TAG, step=step)
    pair = get_json(url, "class_pair", run=RUN, tag=TAG, step=step, a=7, b=1)
    frame = browser.open_tab(url)
    frame.locator(".run-select").select_option(value=RUN)
    frame.locator(".tag-item[data-tag='%s']" % TAG).first.click()
    frame.wait_for_selector(".confusion-view .cm-cell")
    wait_step(frame, step)
    # The matrix: one cell per (true, predicted), coloured by the row rate, counts as logged.
    cells = frame.eval_on_selector_all(
        ".cm-matrix .cm-cell", "els => els.map(e => [+e.dataset.a, +e.dataset.b, +e.dataset.count, e.dataset.rate])")
    c = np.array(doc["confusion"])
    assert len(cells) == 100
    for a, b, count, rate in cells:
        assert count == c[a, b]
        assert float(rate) == pytest.approx(c[a, b] / c[a].sum())
    # Hover reads count and rate.
    frame.locator(".cm-matrix .cm-cell[data-a='7'][data-b='1']").hover()
    readout = frame.locator(".confusion-view .readout").inner_text()
    assert "%d of %d" % (c[7, 1], c[7].sum()) in readout and "true seven → predicted one" in readout
    frame.locator(".cm-matrix .cm-cell[data-a='7'][data-b='1']").click()
    frame.wait_for_selector(".cm-pair .cm-profile")
    title = frame.locator(".cm-pair-title").inner_text()
    assert "True seven predicted as one: %d of %d" % (c[7, 1], c[7].sum()) in title
    # Profiles of both classes, every layer; conv layers as channel bars with the logged spatial means.
    layers = frame.eval_on_selector_all(".cm-profile", "els => els.map(e => e.dataset.layer)")
    assert layers == [l["path"] for l in doc["layers"]]
    bars = frame.eval_on_selector_all(
        ".cm-profile[data-layer='conv2'] .cm-bar-a", "els => els.map(e => +e.dataset.value)")
    conv2 = next(l for l in pair["layers"] if l["path"] == "conv2")
    np.testing.assert_allclose(bars, conv2["mean_a"], rtol=1e-6)
    # Dense strips: one pixel per unit; the largest mean of both classes paints the map's top colour.
    dense = next(l for l in pair["layers"] if l["path"] == LAST_HIDDEN)
    both = np.array(dense["mean_a"] + dense["mean_b"], dtype=float)
    top = int(np.argmax(both))
    key, unit = ("mean_a", top) if top < len(dense["mean_a"]) else ("mean_b", top - len(dense["mean_a"]))
    pixels = frame.evaluate(
        "([layer, key]) => { const c = document.querySelector(`.cm-profile[data-layer='${layer}'] .cm-strip-${key}`);"
        " return [c.width, Array.from(c.getContext('2d').getImageData(0, 0, c.width, 1).data)]; }",
        [LAST_HIDDEN, key])
    assert pixels[0] == dense["units"] == 32
    top_rgb = pixels[1][unit * 4: unit * 4 + 3]
    lowest = int(np.argmin(both))
    low_key, low_unit = ("mean_a", lowest) if lowest < 32 else ("mean_b", lowest - 32)
    low_pixels = frame.evaluate(
        "([layer, key]) => { const c = document.querySelector(`.cm-profile[data-layer='${layer}'] .cm-strip-${key}`);"
        " return Array.from(c.getContext('2d').getImageData(0, 0, c.width, 1).data); }", [LAST_HIDDEN, low_key])
    assert top_rgb == [253, 231, 37] and low_pixels[low_unit * 4: low_unit * 4 + 3] == [68, 1, 84]  # viridis ends
    # Separability of 7 vs 1 per layer, as logged.
    dots = frame.eval_on_selector_all(".cm-sep-fisher .cm-dot", "els => els.map(e => [e.dataset.layer, +e.dataset.value])")
    assert [d[0] for d in dots] == [l["path"] for l in pair["layers"]]
    np.testing.assert_allclose([d[1] for d in dots], [l["pair_fisher"] for l in pair["layers"]], rtol=1e-9)
    # The samples of 7 predicted as 1, with their thumbnails.
    mis = doc["misclassified"]
    expected = [i for i, t, p in zip(mis["index"], mis["true"], mis["predicted"]) if t == 7 and p == 1]
    shown = frame.eval_on_selector_all(".cm-sample", "els => els.map(e => +e.dataset.index)")
    assert shown == expected and len(shown) == c[7, 1] > 0
    assert frame.locator(".cm-sample canvas.cm-thumb").count() == len(expected)
    # The similarity heatmap of the last hidden layer, in the clustering order (named).
    assert frame.locator(".cm-layer-select").input_value() == str([l["path"] for l in doc["layers"]].index(LAST_HIDDEN))
    order = next(l for l in doc["layers"] if l["path"] == LAST_HIDDEN)["order"]
    first_row = frame.eval_on_selector_all(".cm-sim-cell", "els => els.slice(0, 10).map(e => +e.dataset.b)")
    assert first_row == order
    browser.page.screenshot(path=os.path.join(artifacts_dir, "confusion.png"))
    frame.locator(".cm-pair").screenshot(path=os.path.join(artifacts_dir, "confusion_pair.png"))
    # Another step: the matrix and the open pair follow the slider.
    frame.locator("[aria-label='Previous step']").click()
    wait_step(frame, 10)
    before = np.array(get_json(url, "class_stats", run=RUN, tag=TAG, step=10)["confusion"])
    frame.wait_for_function(
        "n => document.querySelector(\".cm-cell[data-a='7'][data-b='1']\").dataset.count === String(n)", arg=int(before[7, 1]))
    frame.wait_for_function(
        "n => document.querySelectorAll('.cm-sample').length === n", arg=int(before[7, 1]))
    # Runs side by side (the comparison planner): one confusion view per run, each its own numbers.
    frame.locator(".compare-run[data-run='%s'] input" % OTHER).check()
    frame.wait_for_function("() => document.querySelectorAll('.confusion-view').length === 2")
    other = np.array(get_json(url, "class_stats", run=OTHER, tag=TAG, step=10)["confusion"])
    frame.wait_for_function(
        "n => { const v = document.querySelectorAll('.confusion-view')[1];"
        " const c = v && v.querySelector(\".cm-cell[data-a='7'][data-b='0']\"); return c && c.dataset.count === String(n); }",
        arg=int(other[7, 0]))
    browser.page.screenshot(path=os.path.join(artifacts_dir, "confusion_compare.png"))
    browser.page.set_viewport_size({"width": 1280, "height": 900})
    browser.page.screenshot(path=os.path.join(artifacts_dir, "confusion_1280.png"))
    frame.locator(".cm-sep").first.scroll_into_view_if_needed()
    browser.page.screenshot(path=os.path.join(artifacts_dir, "confusion_1280_pair.png"))
    browser.check_clean()
