"""Comparing runs in a real browser against a real TensorBoard (Rust data server).

- The committed demo runs side by side at one step, each panel painted from
  its run's data with one shared colour range (checked against
  tb_plugin.reader.Reader), overlaid statistics, a linked step change.
- Differences on logs written here: a run-A-minus-run-B read-out equals
  Reader(A) - Reader(B) at that position (float32), a shape mismatch gives
  its message, step minus reference step.
- The state in the URL: the parent's hash gets p.internals.* entries, and a
  fresh page opened on that URL shows the same comparison.
"""

import json
import os
import shutil
from urllib.parse import quote

import numpy as np

from colormaps import COOLWARM_RGB, lookup
import pytest

from tb_plugin.demo import digits as demo
from tb_plugin.demo.runs import demo_runs
from tb_plugin.reader import Reader
from tb_plugin.summary import Writer
from conftest import running_tensorboard, wait_for_steps
from playwright.sync_api import sync_playwright
from test_browser import Browser, assert_colour, canvas_size, ember

DEMO = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "demo_logs")
# The demo logs 12 epochs: step -1 before training, step e after epoch e.
LAST = 11
DEMO_RUNS = sorted(demo.RUNS)  # the digits CNN runs
TAG = "activations/conv1"
RUN_A, RUN_B, RUN_ODD = "a", "b", "odd"
LAYER = "conv"
A_STEPS, B_STEPS = [0, 2, 4], [0, 1, 2, 3, 4]

def diverging(t):
    """The diverging map's colour at t (cool-warm, from its published table; tests/colormaps.py)."""
    return lookup(COOLWARM_RGB, t)


def write_logs(root):
    rng = np.random.default_rng(11)
    for run, steps in ((RUN_A, A_STEPS), (RUN_B, B_STEPS)):
        with Writer(str(root / run)) as w:
            for step in steps:
                w.activations(LAYER, rng.normal(size=(2, 5, 6, 4)).astype(np.float32), step=step)
    with Writer(str(root / RUN_ODD)) as w:
        for step in (0, 4):
            w.activations(LAYER, rng.normal(size=(2, 5, 6, 3)).astype(np.float32), step=step)
    return str(root)


@pytest.fixture(scope="module")
def urls(tmp_path_factory):
    """(demo url, own-logs url): two TensorBoards."""
    own = write_logs(tmp_path_factory.mktemp("compare_logs"))
    demo = tmp_path_factory.mktemp("demo") / "logs"
    shutil.copytree(DEMO, demo)
    with running_tensorboard(str(demo), "true") as demo_url, running_tensorboard(own, "true") as own_url:
        for run in DEMO_RUNS:
            wait_for_steps(demo_url, run, TAG, 13)
        wait_for_steps(own_url, RUN_A, LAYER, len(A_STEPS))
        wait_for_steps(own_url, RUN_B, LAYER, len(B_STEPS))
        wait_for_steps(own_url, RUN_ODD, LAYER, 2)
        yield {"demo": (demo_url, str(demo)), "own": (own_url, own)}


@pytest.fixture
def playwright():
    with sync_playwright() as p:
        yield p


def hash_of(state):
    return "&".join("%s=%s" % (quote("p.internals." + k, safe=""), quote(v, safe="")) for k, v in state.items())


def open_at(b, url, state):
    b.page.goto(url + "/#internals&" + hash_of(state))
    frame = b.page.wait_for_selector('iframe[src*="plugin_entry.html?name=internals"]', timeout=30000).content_frame()
    frame.wait_for_selector(".app", timeout=30000)
    return frame


def wait_panels(frame, count, step=None):
    frame.wait_for_function(
        "([n, s]) => { const c = document.querySelectorAll('.run-column'); if (c.length !== n) return false;"
        " return Array.from(c).every(col => col.querySelector('.view canvas.hm-canvas, .view-message:not([hidden]), .column-placeholder')"
        " && (s === null || (col.querySelector('.step-label')?.textContent || '').startsWith('step ' + s))); }",
        arg=[count, step],
        timeout=20000,
    )


def column_pixel(frame, column, panel, row, col):
    return frame.evaluate(
        "([k, panel, row, col]) => Array.from(document.querySelectorAll('.run-column')[k]"
        ".querySelector(`.hm[data-panel='${panel}'] canvas`).getContext('2d').getImageData(col, row, 1, 1).data)",
        [column, panel, row, col],
    )


def test_demo_runs_side_by_side(playwright, chromium_path, urls, artifacts_dir):
    url, logdir = urls["demo"]
    reader = Reader(logdir)
    b = Browser(playwright, chromium_path, url)
    try:
        b.page.goto(url + "/#internals")
        frame = b.page.wait_for_selector('iframe[src*="plugin_entry.html?name=internals"]').content_frame()
        frame.wait_for_selector(".compare-run")
        # The checklist follows TensorBoard's runs; its own filter narrows it.
        runs = frame.locator(".run-select option").all_text_contents()  # the picker's (natural) order
        assert sorted(runs) == sorted(demo_runs())
        assert frame.locator(".compare-run").all_text_contents() == runs
        frame.locator(".compare-filter").fill("0.0")
        assert frame.locator(".compare-run:not([hidden])").all_text_contents() == [r for r in runs if "0.0" in r]
        frame.locator(".compare-filter").fill("dead")
        assert frame.locator(".compare-run:not([hidden])").all_text_contents() == ["lr_0.03_dead_units"]
        frame.locator(".compare-filter").fill("")

        runs = [r for r in runs if r in DEMO_RUNS]  # the learning-rate runs, compared from the first
        frame.locator(".run-select").select_option(runs[0])
        frame.locator(".tag-item[data-tag='activations/conv1']").first.click()
        frame.wait_for_function("() => document.querySelector('.view .tag-name')?.textContent === 'activations/conv1'")
        for run in runs[1:]:
            frame.locator(".compare-run[data-run='%s'] input" % run).check()
        wait_panels(frame, 3, LAST)
        assert frame.locator(".run-column .run-chip").all_text_contents() == runs

        # Linked step change: the one slider moves all panels.
        frame.locator(".step-slider").focus()
        b.page.keyboard.press("Home")  # step -1, before training
        for _ in range(6):
            b.page.keyboard.press("ArrowRight")
        wait_panels(frame, 3, 5)

        # One colour range across the panels, fixed over all steps (the default, named in the
        # legend): each pixel from its run's data on the range of every run's every step.
        arrays = {run: reader.read(run, TAG, 5) for run in runs}
        every = [x for run in runs for x in reader.read_all(run, TAG).values()]
        lo = min(float(np.nanmin(a)) for a in every)
        hi = max(float(np.nanmax(a)) for a in every)
        for k, run in enumerate(runs):
            for (r, c) in [(0, 0), (3, 4), (7, 7)]:
                v = float(arrays[run][0, r, c, 2])
                assert_colour(column_pixel(frame, k, "ch2", r, c), ember((v - lo) / (hi - lo)), "%s (%d,%d) shared" % (run, r, c))
        assert "shared across 3 panels" in frame.locator(".legend-mode").first.text_content()

        # Per-panel scales.
        frame.locator(".shared-scale").uncheck()
        frame.wait_for_function("() => !document.querySelector('.legend-mode').textContent.includes('shared across')")
        # Per panel, the default scale is fixed over all of the run's steps.
        own = arrays[runs[1]]
        everything = np.stack([reader.read(runs[1], TAG, s) for s in reader.steps(runs[1], TAG)])
        v = float(own[0, 3, 4, 2])
        assert_colour(
            column_pixel(frame, 1, "ch2", 3, 4),
            ember((v - float(everything.min())) / (float(everything.max()) - float(everything.min()))),
            "per-panel",
        )
        frame.locator(".shared-scale").check()

        # Overlaid statistics: a line per run, the current step marked; a click jumps.
        frame.wait_for_selector(".compare-charts .chart[data-chart=dead] polyline", state="attached")
        series = frame.locator(".compare-charts .chart[data-chart=mean] .chart-series")
        assert [series.nth(i).get_attribute("data-series") for i in range(series.count())] == runs
        classes = {series.nth(i).get_attribute("class") for i in range(3)}
        assert len(classes) == 3  # a colour each
        assert frame.locator(".compare-charts .chart[data-chart=mean] .chart-current").count() == 1
        box = frame.locator(".compare-charts .chart[data-chart=mean] .chart-series[data-series='lr_0.01'] .chart-pt[data-step='9']").bounding_box()
        b.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        wait_panels(frame, 3, 9)
        assert frame.locator(".step-value").text_content() == "Step 9"
        b.page.mouse.move(5, 5)
        b.page.screenshot(path=os.path.join(artifacts_dir, "compare_side_by_side.png"))

        # The state went into TensorBoard's URL.
        parent_hash = b.page.evaluate("location.hash")
        assert "p.internals.runs=" in parent_hash and "p.internals.step=9" in parent_hash

        # Play/pause animates all panels together.
        frame.locator(".btn-play").click()
        frame.wait_for_function("() => document.querySelector('.step-value').textContent !== 'Step 9'", timeout=5000)
        frame.locator(".btn-play").click()
        b.check_clean()
    finally:
        b.close()


def test_differences_and_url(playwright, chromium_path, urls, artifacts_dir):
    url, logdir = urls["own"]
    reader = Reader(logdir)
    b = Browser(playwright, chromium_path, url)
    try:
        # Reload from a URL: runs a and b, step 3, as run A minus run B.
        frame = open_at(b, url, {"runs": json.dumps([RUN_A, RUN_B]), "tag": LAYER, "step": "3", "mode": "diff-runs"})
        wait_panels(frame, 1)
        frame.wait_for_function("() => document.querySelector('.step-value')?.textContent === 'Step 3'")
        assert frame.locator(".run-chip").text_content() == "a − b"
        assert frame.locator("select").filter(has=frame.locator("option[value='diff-runs']")).input_value() == "diff-runs"
        # a has no step 3: its nearest (2, ties to the earlier) minus b's step 3, labelled.
        assert frame.locator(".column-note").text_content() == "a step 2 (nearest to step 3) − b step 3"
        diff = reader.read(RUN_A, LAYER, 2) - reader.read(RUN_B, LAYER, 3)
        assert canvas_size(frame, "ch1") == [6, 5]
        for (r, c) in [(0, 0), (2, 3), (4, 5)]:
            box = frame.locator(".hm[data-panel=ch1] canvas").bounding_box()
            b.page.mouse.move(box["x"] + (c + 0.5) * box["width"] / 6, box["y"] + (r + 0.5) * box["height"] / 5)
            frame.wait_for_function("t => document.querySelector('.readout-where').textContent.includes(t)", arg="row %d, col %d" % (r, c))
            got = np.float32(float(frame.locator(".readout-value").text_content()))
            assert got == diff[0, r, c, 1], (r, c)
            m = float(np.abs(diff).max())
            assert_colour(
                frame.evaluate(
                    "([r, c]) => Array.from(document.querySelector(`.hm[data-panel='ch1'] canvas`).getContext('2d').getImageData(c, r, 1, 1).data)",
                    [r, c],
                ),
                diverging((float(diff[0, r, c, 1]) + m) / (2 * m)),
                "diff colour",
            )
        assert "centred on zero" in frame.locator(".legend-mode").text_content()
        b.page.mouse.move(5, 5)
        b.page.screenshot(path=os.path.join(artifacts_dir, "compare_diff.png"))

        # Shapes differ: a clear message, not a picture.
        frame.locator(".compare-run[data-run='b'] input").uncheck()
        frame.locator(".compare-run[data-run='odd'] input").check()
        frame.wait_for_selector(".column-placeholder")
        text = frame.locator(".column-placeholder").text_content()
        assert "shapes differ" in text and "[2, 5, 6, 4]" in text and "[2, 5, 6, 3]" in text
        assert frame.locator(".run-column canvas").count() == 0

        # Step minus reference step within one run.
        frame.locator(".compare-run[data-run='odd'] input").uncheck()
        frame.locator("select").filter(has=frame.locator("option[value='diff-runs']")).select_option("diff-step")
        frame.locator("select").filter(has=frame.locator("option", has_text="Step 0")).first.select_option("0")
        frame.locator(".step-slider").focus()
        b.page.keyboard.press("End")
        wait_panels(frame, 1, 4)
        want = reader.read(RUN_A, LAYER, 4) - reader.read(RUN_A, LAYER, 0)
        box = frame.locator(".hm[data-panel=ch0] canvas").bounding_box()
        b.page.mouse.move(box["x"] + 2.5 * box["width"] / 6, box["y"] + 1.5 * box["height"] / 5)
        frame.wait_for_function("() => document.querySelector('.readout-where').textContent.includes('row 1, col 2')")
        assert np.float32(float(frame.locator(".readout-value").text_content())) == want[0, 1, 2, 0]

        # Back goes to the previous state (run A minus run ODD's message).
        b.page.go_back()
        frame.wait_for_function(
            "() => document.querySelector('select option[value=diff-runs]')?.parentElement.value === 'diff-runs'", timeout=10000
        )
        b.check_clean()
    finally:
        b.close()


def dead_channels(x):
    """Channels never positive anywhere in the batch (a dead ReLU unit)."""
    return sorted(np.flatnonzero(~(np.asarray(x) > 0).reshape(-1, x.shape[-1]).any(axis=0)).tolist())


def flagged_by_column(frame):
    return frame.evaluate(
        "() => Array.from(document.querySelectorAll('.run-column')).map(c => Array.from(c.querySelectorAll('.hm.hm-flag-dead'))"
        ".map(e => Number(e.dataset.panel.slice(2))).sort((a, b) => a - b))"
    )


def test_dead_units_marked_in_every_column(playwright, chromium_path, urls, artifacts_dir):
    """Compared side by side, each column outlines its own run's dead channels (from /stats)."""
    url, logdir = urls["demo"]
    reader = Reader(logdir)
    tag = "activations/conv2"
    runs = ["lr_0.03_dead_units", "lr_0.01", "lr_0.001"]
    b = Browser(playwright, chromium_path, url)
    try:
        frame = open_at(b, url, {"runs": json.dumps(runs), "tag": tag, "step": str(LAST)})
        for step in (LAST, 1):
            want = [dead_channels(reader.read(run, tag, step)) for run in runs]
            assert want[0] and not want[2]  # the dead-unit run has some; the low learning rate none
            if step != LAST:  # scrub: the marks follow the step
                frame.locator(".step-slider").focus()
                b.page.keyboard.press("Home")  # step -1: step s is s + 1 to the right
                for _ in range(step + 1):
                    b.page.keyboard.press("ArrowRight")
            wait_panels(frame, 3, step)
            frame.wait_for_function(
                "want => JSON.stringify(Array.from(document.querySelectorAll('.run-column')).map(c =>"
                " Array.from(c.querySelectorAll('.hm.hm-flag-dead')).map(e => Number(e.dataset.panel.slice(2))).sort((a, b) => a - b)))"
                " === JSON.stringify(want)",
                arg=want,
                timeout=15000,
            )
            assert flagged_by_column(frame) == want
            dead_col = frame.locator(".run-column").nth(0)
            assert dead_col.locator(".hm[data-panel=ch%d] .unit-flag" % want[0][0]).text_content() == "dead"
            if step == LAST:
                b.page.mouse.move(5, 5)
                b.page.screenshot(path=os.path.join(artifacts_dir, "compare_dead_marks.png"))
        b.check_clean()
    finally:
        b.close()
