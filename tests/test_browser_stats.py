"""The Internals tab's activation statistics, in a real browser and a real TensorBoard.

Logs a tiny Keras model with the real `InternalsCallback` (two of the conv
layer's four channels made dead on purpose), starts TensorBoard (Rust data
server), and checks the tab against numbers computed here with numpy from
the model's true layer outputs: the trouble badge in the layer list, the
charts of the statistics panel (one point per logged step; a click picks a
step; hover reads a value), the histogram, and the dead channels marked on
the feature maps. Then, against the committed demo logs, the dead-unit run's
badges and the README's screenshot (docs/internals.png).
"""

import json
import os
import time
from urllib.parse import urlencode

import numpy as np
import pytest

from conftest import http_get, running_tensorboard, wait_for_steps
from playwright.sync_api import sync_playwright
from test_browser import Browser, select_tag, wait_step

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_LOGS = os.path.join(REPO, "demo_logs")
DOCS_SCREENSHOT = os.path.join(REPO, "docs", "internals.png")

KERAS_RUN, WRITER_RUN, STATS_ONLY_RUN = "keras", "writer_only", "stats_only"
CONV, FLAT, OUT = "activations/conv", "activations/flat", "activations/out"
DEAD_CHANNELS = (1, 3)
PROBE = 16
EPOCHS = 2


def dead_channels(output):
    """Channels never positive anywhere in the batch (what a dead ReLU unit is)."""
    return sorted(np.flatnonzero(~(np.asarray(output) > 0).reshape(-1, output.shape[-1]).any(axis=0)).tolist())


def percent_badge(fraction):
    return "%d%% dead" % round(100 * fraction)


def wait_for_stats(url, run, tag, count, timeout=60):
    """Waits until TensorBoard serves `count` steps of a statistics tag."""
    deadline = time.time() + timeout
    while True:
        status, _, body = http_get(url + "/data/plugin/internals/stats?" + urlencode({"run": run}))
        if status == 200 and len(json.loads(body).get(tag, {}).get("steps", [])) >= count:
            return
        if time.time() > deadline:
            raise RuntimeError("%s/%s did not reach %d statistics steps in time" % (run, tag, count))
        time.sleep(0.5)


# ---- logs ----


@pytest.fixture(scope="module")
def keras_logs(tmp_path_factory):
    """A Keras run with channels 1 and 3 of the conv layer dead, plus two runs without a callback.

    Returns the logdir and what the conv layer really output (numpy, no plugin code
    involved) before training and after each epoch: {step: array}.
    """
    import keras

    from tb_plugin.keras import InternalsCallback
    from tb_plugin.summary import Writer

    root = tmp_path_factory.mktemp("stats_logs")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
            keras.layers.Flatten(name="flat"),
            keras.layers.Dense(3, name="out"),
        ]
    )
    conv = model.get_layer("conv")
    kernel, bias = conv.get_weights()
    kernel[..., DEAD_CHANNELS] = 0.0  # output relu(-1) = 0 everywhere: dead, and no gradient revives it
    bias[list(DEAD_CHANNELS)] = -1.0
    conv.set_weights([kernel, bias])
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (64, 6, 6, 1)).astype("float32")
    y = rng.normal(size=(64, 3)).astype("float32")
    probe = x[:PROBE]
    conv_model = keras.Model(model.inputs[0], conv.output)
    truth = {-1: np.asarray(conv_model(probe, training=False))}  # step -1: before training

    class Truth(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            truth[epoch] = np.asarray(conv_model(probe, training=False))  # as Keras's TensorBoard

    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    model.fit(
        x, y, epochs=EPOCHS, batch_size=16, verbose=0,
        callbacks=[InternalsCallback(str(root / KERAS_RUN), probe_data=probe), Truth()],
    )
    # Activations only (the Writer, no statistics): no statistics panel, no /stats request.
    with Writer(str(root / WRITER_RUN)) as w:
        for step in (0, 1):
            w.activations("conv", rng.uniform(0, 1, (2, 4, 4, 3)), step=step)
    # Statistics whose activations were not logged (e.g. too large): listed on their own.
    with Writer(str(root / STATS_ONLY_RUN)) as w:
        for step in (0, 5, 10):
            w.activation_stats("activation_stats/big", rng.normal(size=(4, 8, 8, 5)), step=step,
                               activation="relu", source_tag="activations/big")
    return str(root), truth


@pytest.fixture(scope="module")
def keras_tensorboard(keras_logs):
    logdir, _ = keras_logs
    with running_tensorboard(logdir, "true") as url:
        wait_for_steps(url, KERAS_RUN, CONV, EPOCHS + 1)
        wait_for_steps(url, WRITER_RUN, "conv", 2)
        wait_for_stats(url, KERAS_RUN, "activation_stats/conv", EPOCHS + 1)
        wait_for_stats(url, STATS_ONLY_RUN, "activation_stats/big", 3)
        yield url


@pytest.fixture
def chromium(chromium_path):
    with sync_playwright() as p:
        yield p, chromium_path


def open_browser(chromium, url):
    p, path = chromium
    return Browser(p, path, url)


def badges(frame, tag):
    item = frame.locator(".tag-item[data-tag='%s']" % tag).first
    return item.locator(".tag-badge").all_text_contents()


def chart_points(frame, chart):
    """Points drawn on a chart's first line (all its segments)."""
    return frame.evaluate(
        "c => { const g = document.querySelector(`.chart[data-chart='${c}'] .chart-series`);"
        " return Array.from(g.querySelectorAll('polyline')).reduce((n, p) => n + p.points.numberOfItems, 0); }",
        chart,
    )


def point_position(frame, chart, step):
    """Page coordinates of a chart's dot for `step`."""
    box = frame.locator(".chart[data-chart='%s'] .chart-pt[data-step='%d']" % (chart, step)).bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def flagged_tiles(frame):
    return frame.evaluate(
        "() => Array.from(document.querySelectorAll('.hm.hm-flag-dead'))"
        ".map(e => Number(e.dataset.panel.slice(2))).sort((a, b) => a - b)"
    )


# ---- tests ----


def test_stats_panel_and_badges(chromium, keras_tensorboard, keras_logs, artifacts_dir):
    logdir, truth = keras_logs
    url = keras_tensorboard
    steps = sorted(truth)
    assert steps == list(range(-1, EPOCHS))
    # The model really has the dead channels the test is about, at every step.
    for step in steps:
        assert dead_channels(truth[step]) == list(DEAD_CHANNELS), step
    expected_badge = percent_badge(len(dead_channels(truth[steps[-1]])) / truth[steps[-1]].shape[-1])
    assert expected_badge == "50% dead"

    b = open_browser(chromium, url)
    stats_requests = []
    b.page.on("request", lambda r: "/stats?" in r.url and stats_requests.append(r.url))
    try:
        page = b.page
        frame = b.open_tab(url)
        frame.locator(".run-select").select_option(value=KERAS_RUN)
        frame.wait_for_selector(".tag-item[data-tag='%s'] .tag-badge" % CONV)

        # Layer list: statistics tags are not layers of their own; the conv layer has its badge.
        labels = frame.evaluate("() => Array.from(document.querySelectorAll('.tag-item')).map(e => e.dataset.tag)")
        assert CONV in labels and not any(t.startswith("activation_stats/") for t in labels), labels
        assert badges(frame, CONV) == [expected_badge]
        assert "badge-strong" in frame.locator(".tag-item[data-tag='%s'] .tag-badge" % CONV).get_attribute("class")
        assert "2 of 4 channels dead" in frame.locator(".tag-item[data-tag='%s'] .tag-badge" % CONV).get_attribute("title")
        assert badges(frame, FLAT) == [] and badges(frame, OUT) == []  # no activation / linear: nothing to flag

        select_tag(frame, CONV)
        wait_step(frame, steps[-1])
        frame.wait_for_selector(".stats-panel .chart[data-chart=dead] polyline", state="attached")
        # One statistics request for the whole run, shared by the badges and the panel.
        assert len([u for u in stats_requests if "run=" + KERAS_RUN in u]) == 1, stats_requests

        # Charts across steps: one point per logged step.
        for chart in ("mean", "range", "zeros", "dead"):
            assert chart_points(frame, chart) == len(steps), chart
        assert frame.locator(".chart[data-chart=dead] .chart-value").text_content() == "2 of 4 · 50%"

        # Histogram of the current step: 30 bins over all of the layer's values.
        assert frame.locator(".chart[data-chart=histogram] rect.chart-bar").count() == 30
        assert frame.locator(".chart[data-chart=histogram] .chart-title").text_content() == "Histogram at step %d" % steps[-1]
        assert frame.locator(".chart[data-chart=histogram] .chart-value").text_content() == "%s values" % format(
            truth[steps[-1]].size, ","
        )

        # Dead channels are marked on their feature maps, and named in the read-out.
        assert flagged_tiles(frame) == dead_channels(truth[steps[-1]])
        assert frame.locator(".hm[data-panel=ch1] .unit-flag").text_content() == "dead"
        assert frame.locator(".hm[data-panel=ch0] .unit-flag").count() == 0
        box = frame.locator(".hm[data-panel=ch3] canvas").bounding_box()
        page.mouse.move(box["x"] + 5, box["y"] + 5)
        frame.wait_for_function("() => document.querySelector('.readout-where').textContent.includes('dead channel')")
        page.mouse.move(5, 5)

        # Hover on a chart: the step and its value as text (the mean of the true output at step 1).
        x, y = point_position(frame, "mean", 1)
        page.mouse.move(x, y)
        text = frame.locator(".chart[data-chart=mean] .chart-value").text_content()
        assert text.startswith("step 1 · "), text
        mean_text = text.split(" · ")[1].split(" ± ")[0]
        assert float(mean_text) == pytest.approx(float(truth[1].mean()), rel=2e-3, abs=1e-6), text
        # ... every chart follows the hovered step.
        assert frame.locator(".chart[data-chart=zeros] .chart-value").text_content().startswith("step 1 · ")
        page.screenshot(path=os.path.join(artifacts_dir, "internals_stats_hover.png"))

        # A click on a chart point jumps to that step (activations, slider and charts).
        x, y = point_position(frame, "zeros", 0)
        page.mouse.click(x, y)
        wait_step(frame, 0)
        assert frame.locator(".step-value").text_content() == "Step 0"
        assert frame.locator(".chart[data-chart=histogram] .chart-title").text_content() == "Histogram at step 0"
        page.mouse.move(5, 5)
        assert flagged_tiles(frame) == dead_channels(truth[0])
        # The slider is the keyboard way to the same place.
        frame.locator(".step-slider").focus()
        page.keyboard.press("End")
        wait_step(frame, steps[-1])
        page.screenshot(path=os.path.join(artifacts_dir, "internals_stats.png"))

        # A run logged without statistics: no panel, and no statistics request.
        before = len(stats_requests)
        frame.locator(".run-select").select_option(value=WRITER_RUN)
        select_tag(frame, "conv")
        wait_step(frame, 1)
        assert frame.locator(".stats-panel").count() == 0
        assert frame.locator(".tag-badge").count() == 0
        assert len(stats_requests) == before

        # Statistics without their activations: listed on their own, panel only.
        frame.locator(".run-select").select_option(value=STATS_ONLY_RUN)
        frame.wait_for_selector(".stats-panel .chart[data-chart=mean] polyline", state="attached")
        assert frame.locator(".tag-item .tag-shape").all_text_contents() == ["statistics only"]
        assert chart_points(frame, "mean") == 3
        assert frame.locator(".step-value").text_content() == "Step 0"  # nearest to the user's step 2
        page.screenshot(path=os.path.join(artifacts_dir, "internals_stats_only.png"))

        # A reload with a new step of statistics refreshes badges and charts.
        from tb_plugin.summary import Writer

        frame.locator(".run-select").select_option(value=KERAS_RUN)
        select_tag(frame, CONV)
        frame.locator(".step-slider").focus()
        page.keyboard.press("End")
        wait_step(frame, steps[-1])

        revived = truth[steps[-1]].copy()
        revived[..., 0] = 0.0  # now 3 of 4 channels dead
        with Writer(os.path.join(logdir, KERAS_RUN)) as w:
            w.activations(CONV, revived, step=steps[-1] + 1)
            w.activation_stats("activation_stats/conv", revived, step=steps[-1] + 1, activation="relu", source_tag=CONV)
        wait_for_steps(url, KERAS_RUN, CONV, len(steps) + 1)
        wait_for_stats(url, KERAS_RUN, "activation_stats/conv", len(steps) + 1)
        page.click("app-header-reload button")
        frame.wait_for_function(
            "tag => document.querySelector(`.tag-item[data-tag='${tag}'] .tag-badge`)?.textContent === '75% dead'", arg=CONV
        )
        wait_step(frame, steps[-1] + 1)  # the user was at the latest step: the new one shows
        frame.wait_for_function("() => document.querySelectorAll('.chart[data-chart=mean] .chart-pt').length === 4")
        assert flagged_tiles(frame) == dead_channels(revived)

        # Dark theme.
        page.click('button[aria-label="Menu for changing light or dark theme"]')
        page.click('button[mat-menu-item]:has-text("Dark")')
        page.wait_for_function("document.body.classList.contains('dark-mode')")
        page.wait_for_selector("button[mat-menu-item]", state="detached")
        frame.wait_for_function("() => getComputedStyle(document.body).backgroundColor === 'rgb(48, 48, 48)'")
        page.screenshot(path=os.path.join(artifacts_dir, "internals_stats_dark.png"))
        b.check_clean()
    finally:
        b.close()


def test_demo_logs(chromium, artifacts_dir):
    """The committed demo: dead-unit badges, and the README's screenshot."""
    from tb_plugin.reader import Reader

    reader = Reader(DEMO_LOGS)
    from tb_plugin.demo import digits as demo

    dead_run = max(demo.RUNS, key=demo.RUNS.get)  # the highest learning rate
    relu_layers = ["activations/conv1", "activations/conv2", "activations/dense1"]
    expected = {}
    for tag in relu_layers:
        last = reader.steps(dead_run, tag)[-1]
        x = reader.read(dead_run, tag, last)
        expected[tag] = [percent_badge(len(dead_channels(x)) / x.shape[-1])]
    # The high learning rate kills units in every ReLU layer (real, not staged).
    assert all(v and v[0].endswith("% dead") for v in expected.values()), expected

    with running_tensorboard(DEMO_LOGS, "true") as url:
        wait_for_stats(url, "lr_0.01", "activation_stats/conv1", 13)
        wait_for_stats(url, dead_run, "activation_stats/conv1", 13)
        b = open_browser(chromium, url)
        try:
            page = b.page
            frame = b.open_tab(url)
            frame.locator(".run-select").select_option(value=dead_run)
            frame.wait_for_selector(".tag-item .tag-badge")
            for tag, want in expected.items():
                assert badges(frame, tag) == want, tag
            for tag in ("activations/flatten", "activations/pool", "activations/probabilities"):
                assert badges(frame, tag) == [], tag
            select_tag(frame, "activations/conv2")
            frame.wait_for_selector(".stats-panel .chart[data-chart=dead] polyline", state="attached")
            conv2 = reader.read(dead_run, "activations/conv2", reader.steps(dead_run, "activations/conv2")[-1])
            assert flagged_tiles(frame) == dead_channels(conv2)
            page.screenshot(path=os.path.join(artifacts_dir, "internals_demo_dead.png"))

            # The README's screenshot: lr_0.01, conv1, a digit whose feature maps read well.
            frame.locator(".run-select").select_option(value="lr_0.01")
            select_tag(frame, "activations/conv1")
            wait_step(frame, 11)  # the latest step (after the 12th epoch, index 11), as the user never picked one
            frame.wait_for_selector(".stats-panel .chart[data-chart=histogram] rect.chart-bar")
            frame.locator("select").filter(has=frame.locator("option", has_text="Sample 1")).select_option("12")
            frame.locator("select").filter(has=frame.locator("option[value=channel]")).select_option("channel")
            # Everything the screenshot is for is on screen.
            for selector in (".hm[data-panel=ch7]", ".chart[data-chart=histogram]", ".tag-item[data-tag='activations/dense1'] .tag-badge"):
                box = frame.locator(selector).bounding_box()
                assert box and box["y"] + box["height"] <= 900 and box["x"] + box["width"] <= 1440, selector
            # A cell under the pointer, so the read-out shows a value.
            box = frame.locator(".hm[data-panel=ch5] canvas").bounding_box()
            page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.3)
            frame.wait_for_function("() => document.querySelector('.readout-where').textContent.includes('channel 5')")
            page.screenshot(path=os.path.join(artifacts_dir, "internals_readme.png"))
            if os.environ.get("UPDATE_README_SCREENSHOT"):
                # Refreshes the README's picture: UPDATE_README_SCREENSHOT=1 bash tests/run.sh
                page.screenshot(path=DOCS_SCREENSHOT)
            b.check_clean()
        finally:
            b.close()
