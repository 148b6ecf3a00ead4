"""Overlaid weight change and attention entropy, in a real browser and a real TensorBoard.

Two runs written here with the TF-free Writer (known values, lossless f32):
a weights tag and an attention tag each. Comparing them, the overlaid
"weight change" chart plots ||W_t - W_(t-1)|| / ||W_(t-1)|| per step per run
and the "attention entropy" chart the mean over heads of the mean row
entropy, both equal to numpy computations on the logged arrays; clicking a
point jumps to its step. In a single run's views, clicking the weights
relative-change chart and the attention entropy chart jumps too.
"""

import os
import time

import numpy as np
import pytest

from tb_plugin.summary import Writer
from conftest import running_tensorboard, wait_for_steps
from test_browser_compare import hash_of

RUNS = {"r1": [0, 1, 2, 3, 4], "r2": [0, 2, 3, 5]}  # r2 logged at other steps
WEIGHTS, ATTENTION = "weights/dense/kernel", "attention/mha"
HEADS, Q, K = 3, 4, 5


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare_series")
    rng = np.random.default_rng(5)
    values = {}
    for k, (run, steps) in enumerate(RUNS.items()):
        w = rng.normal(size=(5, 4)).astype(np.float32)
        with Writer(str(root / run)) as writer:
            for step in steps:
                w = (w + rng.normal(scale=0.2 * (k + 1), size=w.shape)).astype(np.float32)
                # Sharper attention as training goes on: the entropy falls.
                a = softmax(rng.normal(size=(2, HEADS, Q, K)) * (1 + step)).astype(np.float32)
                writer.weights(WEIGHTS, w, step=step, encoding="f32", layer="dense", layer_class="Dense")
                writer.attention(ATTENTION, a, step=step, encoding="f32")
                values[(run, step)] = (w.copy(), a.copy())
    return str(root), values


@pytest.fixture(scope="module")
def url(logs):
    with running_tensorboard(logs[0], "true") as base:
        for run, steps in RUNS.items():
            wait_for_steps(base, run, WEIGHTS, len(steps))
            wait_for_steps(base, run, ATTENTION, len(steps))
        yield base


@pytest.fixture
def tensorboard_url(url):
    return url


def open_at(b, url, state):
    b.page.goto(url + "/#internals&" + hash_of(state))
    frame = b.page.wait_for_selector('iframe[src*="plugin_entry.html?name=internals"]', timeout=30000).content_frame()
    frame.wait_for_selector(".app", timeout=30000)
    return frame


def relative_change(values, run):
    steps = RUNS[run]
    out = {}
    for a, b in zip(steps, steps[1:]):
        prev, cur = values[(run, a)][0].astype(np.float64), values[(run, b)][0].astype(np.float64)
        out[b] = np.linalg.norm(cur - prev) / np.linalg.norm(prev)
    return out


def mean_entropy(values, run):
    out = {}
    for step in RUNS[run]:
        p = values[(run, step)][1].astype(np.float64)
        p = p / p.sum(axis=-1, keepdims=True)
        h = -(p * np.log(np.where(p > 0, p, 1))).sum(axis=-1)  # [batch, heads, q]
        out[step] = h.mean(axis=(0, 2)).mean()  # per head over samples and queries, then over heads
    return out


def plotted(frame, chart):
    """{run: {step: value}} of the dots of an overlaid chart."""
    return frame.evaluate(
        "chart => Object.fromEntries(Array.from(document.querySelectorAll(`.compare-charts .chart[data-chart='${chart}'] .chart-series`))"
        ".map(g => [g.dataset.series, Object.fromEntries(Array.from(g.querySelectorAll('.chart-pt')).map(c => [c.dataset.step, +c.dataset.value]))]))",
        chart,
    )


def click_point(page, frame, selector):
    # The panels above the charts may still grow while their steps load: click once the point stays put.
    box = None
    for _ in range(25):
        frame.locator(selector).scroll_into_view_if_needed()
        before = frame.locator(selector).bounding_box()
        time.sleep(0.2)
        box = frame.locator(selector).bounding_box()
        if box == before:
            break
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def wait_shown(frame, step, labels):
    """The step control at `step` and each column's view at its own step (`labels`)."""
    frame.wait_for_function(
        "([s, want]) => document.querySelector('.step-value')?.textContent === 'Step ' + s"
        " && JSON.stringify(Array.from(document.querySelectorAll('.run-column .step-label')).map(e => e.textContent)) === JSON.stringify(want)",
        arg=[step, labels],
        timeout=15000,
    )


def test_overlaid_weight_change_and_entropy(browser, url, logs, artifacts_dir):
    _, values = logs
    page = browser.page
    frame = open_at(browser, url, {"runs": '["r1","r2"]', "tag": WEIGHTS, "step": "4"})
    frame.wait_for_selector(".compare-charts .chart[data-chart=weight-change] .chart-series[data-series=r2] .chart-pt", state="attached", timeout=20000)
    # Only the series that apply to a weights tag.
    charts = frame.evaluate("() => Array.from(document.querySelectorAll('.compare-charts .chart')).map(c => c.dataset.chart)")
    assert charts == ["weight-change"]
    got = plotted(frame, "weight-change")
    for run in RUNS:
        want = relative_change(values, run)
        assert sorted(int(s) for s in got[run]) == sorted(want), run  # the first step has no change
        for step, v in want.items():
            assert got[run][str(step)] == pytest.approx(v, rel=1e-9), (run, step)
    # Each run in its own colour; the current step marked; a click jumps.
    classes = frame.evaluate("() => Array.from(document.querySelectorAll('.compare-charts .chart-series')).map(g => g.getAttribute('class'))")
    assert len(set(classes)) == 2
    assert frame.locator(".compare-charts .chart[data-chart=weight-change] .chart-current").count() == 1
    click_point(page, frame, ".compare-charts .chart[data-chart=weight-change] .chart-series[data-series=r1] .chart-pt[data-step='2']")
    wait_shown(frame, 2, ["step 2", "step 2"])
    page.mouse.move(5, 5)
    page.screenshot(path=os.path.join(artifacts_dir, "compare_weight_change.png"))

    # The attention tag of the same runs: mean entropy over heads.
    frame.locator(".tag-item[data-tag='%s']" % ATTENTION).first.click()
    frame.wait_for_selector(".compare-charts .chart[data-chart=attention-entropy] .chart-series[data-series=r2] .chart-pt", state="attached", timeout=20000)
    charts = frame.evaluate("() => Array.from(document.querySelectorAll('.compare-charts .chart')).map(c => c.dataset.chart)")
    assert charts == ["attention-entropy"]
    got = plotted(frame, "attention-entropy")
    for run in RUNS:
        want = mean_entropy(values, run)
        assert sorted(int(s) for s in got[run]) == RUNS[run]
        for step, v in want.items():
            assert got[run][str(step)] == pytest.approx(v, rel=1e-9), (run, step)
    # Hover text reads both runs' values at a step logged by both.
    text = frame.locator(".compare-charts .chart[data-chart=attention-entropy] .chart-value").text_content()
    assert "·" in text
    click_point(page, frame, ".compare-charts .chart[data-chart=attention-entropy] .chart-series[data-series=r2] .chart-pt[data-step='5']")
    wait_shown(frame, 5, ["step 4", "step 5"])
    # r1 has no step 5: its nearest, 4.
    assert frame.locator(".run-column .column-note").all_text_contents() == ["step 4 (nearest to step 5)", "step 5"]
    page.mouse.move(5, 5)
    page.screenshot(path=os.path.join(artifacts_dir, "compare_attention_entropy.png"))
    browser.check_clean()


def test_single_run_charts_jump(browser, url):
    page = browser.page
    frame = open_at(browser, url, {"runs": '["r1"]', "tag": WEIGHTS, "step": "4"})
    frame.wait_for_selector("[data-chart=weights-change] .chart-pt[data-step='1']", state="attached", timeout=20000)
    frame.wait_for_function("() => document.querySelector('.step-value')?.textContent === 'Step 4'")
    click_point(page, frame, "[data-chart=weights-change] .chart-pt[data-step='1']")
    frame.wait_for_function("() => document.querySelector('.weights-view .step-label')?.textContent === 'step 1'", timeout=15000)
    assert frame.locator(".step-value").text_content() == "Step 1"

    frame.locator(".tag-item[data-tag='%s']" % ATTENTION).first.click()
    frame.wait_for_selector(".attn-view [data-chart=attention-entropy] .chart-pt[data-step='3']", state="attached", timeout=20000)
    click_point(page, frame, ".attn-view [data-chart=attention-entropy] .chart-pt[data-step='3']")
    frame.wait_for_function("() => document.querySelector('.attn-view .step-label')?.textContent === 'step 3'", timeout=15000)
    assert frame.locator(".step-value").text_content() == "Step 3"
    browser.check_clean()
