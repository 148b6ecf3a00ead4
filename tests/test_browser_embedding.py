"""The embedding view in a real browser and a real TensorBoard (Rust data server).

Logs two runs of labelled embeddings with `tb_plugin.summary.Writer` (f32),
opens them side by side and checks what is drawn: points' canvas positions
(through the canvas's own px transform) against the `/embedding` numbers and
against an independent numpy PCA of the logged matrix (equal up to an
orthogonal map: a sign or a rotation), each such point painted in its
class's colour (Tableau 10, the published palette), step scrubbing, the hover
tooltip (label, metadata, thumbnail), a click highlighting the same sample
in the compared run, the scores chart, the Projector notice; no console errors.
"""

import json
from urllib.parse import quote, urlencode

import numpy as np
import pytest

from conftest import http_get, running_tensorboard, wait_for_steps
from tb_plugin.reader import Reader
from tb_plugin.summary import Writer

TAG = "embedding/dense"
RUNS = ("a", "b")
STEPS = (0, 1, 2)
N, D, CLASSES = 240, 12, 4
NAMES = ["zero", "one", "two", "three"]
# Tableau 10's first colours (the published palette, in its order).
TABLEAU = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2"]


def rows(run, step):
    """Classes that separate as the step grows (run b faster)."""
    rng = np.random.default_rng(7 if run == "a" else 8)
    centres = rng.normal(size=(CLASSES, D)) * 3
    y = np.arange(N) % CLASSES
    noise = rng.normal(size=(N, D))
    mix = (step / 2.0) * (1.0 if run == "a" else 1.5)
    return (mix * centres[y] + noise).astype(np.float32), y


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("emb_logs")
    thumbs = np.random.default_rng(0).uniform(size=(N, 8, 8, 1)).astype(np.float32)
    for run in RUNS:
        with Writer(str(root / run)) as w:
            for step in STEPS:
                x, y = rows(run, step)
                w.embedding(TAG, x, step, labels=y, class_names=NAMES, columns={"id": ["s%d" % i for i in range(N)]},
                            thumbnails=thumbs, encoding="f32", projector=(run == "a" and step == STEPS[-1]))
    return str(root)


@pytest.fixture(scope="module")
def tensorboard_url(logdir):
    with running_tensorboard(logdir, "true") as url:
        for run in RUNS:
            wait_for_steps(url, run, TAG, len(STEPS))
        yield url


def served(url, run, step):
    status, _, body = http_get(url + "/data/plugin/internals/embedding?" + urlencode({"run": run, "tag": TAG, "step": step}))
    assert status == 200, body[:300]
    return json.loads(body)


def numpy_pca(x):
    centred = x.astype(np.float64) - x.astype(np.float64).mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    return u[:, :2] * s[:2]


def open_compare(browser, url, step):
    state = {"runs": json.dumps(list(RUNS)), "tag": TAG, "step": str(step)}
    hash_ = "&".join("%s=%s" % (quote("p.internals." + k, safe=""), quote(v, safe="")) for k, v in state.items())
    browser.page.goto(url + "/#internals&" + hash_)
    frame = browser.page.wait_for_selector('iframe[src*="plugin_entry.html?name=internals"]', timeout=30000).content_frame()
    wait_settled(frame, step)
    return frame


def wait_settled(frame, step):
    frame.wait_for_function(
        "s => { const c = document.querySelectorAll('.run-column .emb-canvas');"
        " return c.length === 2 && Array.from(c).every(e => e.dataset.settled === 'true' && e.dataset.step === String(s)); }",
        arg=step, timeout=30000)


def canvas_state(frame, k):
    return frame.evaluate(
        "k => { const c = document.querySelectorAll('.run-column .emb-canvas')[k]; const r = c.getBoundingClientRect();"
        " return {tf: JSON.parse(c.dataset.transform), left: r.left, top: r.top, dpr: window.devicePixelRatio,"
        " highlight: Number(c.dataset.highlight)}; }", k)


def page_xy(frame, k, px, py):
    """Page coordinates of canvas px (the iframe's offset included), the canvas scrolled into view."""
    canvas = frame.locator(".run-column .emb-canvas").nth(k)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    return box["x"] + px, box["y"] + py


def pixel(frame, k, px, py, dpr):
    return frame.evaluate(
        "([k, x, y]) => Array.from(document.querySelectorAll('.run-column .emb-canvas')[k].getContext('2d')"
        ".getImageData(x, y, 1, 1).data)", [k, int(round(px * dpr)), int(round(py * dpr))])


def isolated(screen, radius=9.0, count=4):
    """Samples with no other point within `radius` px (their pixel is theirs alone)."""
    d = np.sqrt(((screen[:, None, :] - screen[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    alone = np.flatnonzero(d.min(axis=1) > radius)
    assert len(alone) >= count, "too few isolated points to check"
    return alone[:count]


def hex_rgb(h):
    return [int(h[i:i + 2], 16) for i in (1, 3, 5)]


def test_scatter_positions_colours_scrub_hover_and_highlight_across_runs(browser, tensorboard_url, logdir):
    page = browser.page
    frame = open_compare(browser, tensorboard_url, 2)
    reader = Reader(logdir)
    doc = served(tensorboard_url, "a", 2)
    points = np.array(doc["points"], dtype=np.float64)
    logged = reader.read("a", TAG, 2)
    # The served points are an orthogonal map (sign / rotation, the alignment) of numpy's PCA of the logged rows.
    reference = numpy_pca(logged)
    u, _, vt = np.linalg.svd(reference.T @ points)
    rotation = u @ vt
    assert np.allclose(rotation @ rotation.T, np.eye(2))
    assert np.abs(reference @ rotation - points).max() < 1e-6 * np.abs(points).max()
    # On the canvas: px = x * sx + ox; isolated points are painted in their class's colour there.
    state = canvas_state(frame, 0)
    tf = state["tf"]
    screen = np.stack([points[:, 0] * tf["sx"] + tf["ox"], points[:, 1] * tf["sy"] + tf["oy"]], axis=1)
    assert abs(tf["sx"] + tf["sy"]) < 1e-9  # one scale across and up (y up)
    for i in isolated(screen):
        rgba = pixel(frame, 0, screen[i, 0], screen[i, 1], state["dpr"])
        expected = hex_rgb(TABLEAU[doc["labels"][i]])
        assert max(abs(a - b) for a, b in zip(rgba[:3], expected)) <= 30, (i, rgba, expected)  # 0.9 alpha on white
    # The legend names the colouring, with the class names and counts.
    legend = frame.locator(".run-column").first.locator(".emb-legend")
    assert legend.locator(".emb-legend-title").text_content() == "Colour: label"
    assert [t.strip() for t in legend.locator(".emb-key bdi").all_text_contents()] == NAMES

    # Hover: the label, metadata and thumbnail in the tooltip.
    i = int(isolated(screen)[0])
    page.mouse.move(*page_xy(frame, 0, screen[i, 0], screen[i, 1]))
    frame.wait_for_function("() => document.querySelector('.cursor-tip') && !document.querySelector('.cursor-tip').hidden")
    tip = frame.locator(".cursor-tip")
    assert tip.locator(".cursor-tip-value").text_content() == NAMES[doc["labels"][i]]
    assert "sample #%d" % i in tip.locator(".cursor-tip-where").text_content()
    assert "id: s%d" % i in tip.locator(".cursor-tip-where").text_content()
    assert tip.locator(".cursor-tip-image canvas").count() == 1

    # Click: highlighted here and in the compared run (same sample index), at its place there.
    page.mouse.click(*page_xy(frame, 0, screen[i, 0], screen[i, 1]))
    frame.wait_for_function(
        "i => Array.from(document.querySelectorAll('.run-column .emb-canvas')).every(c => c.dataset.highlight === String(i))",
        arg=i)
    other = canvas_state(frame, 1)
    b_points = np.array(served(tensorboard_url, "b", 2)["points"])
    tb = other["tf"]
    bx, by = b_points[i, 0] * tb["sx"] + tb["ox"], b_points[i, 1] * tb["sy"] + tb["oy"]
    # The ring (radius 9, the text colour) around the sample in run b.
    ring = [pixel(frame, 1, bx + dx, by + dy, other["dpr"]) for dx, dy in ((9, 0), (-9, 0), (0, 9), (0, -9))]
    assert sum(max(p[:3]) < 100 for p in ring) >= 2, ring
    assert "sample #%d" % i in frame.locator(".run-column").nth(1).locator(".emb-highlight-note").text_content()

    # Scrub: the slider moves both panels; the highlight is kept across steps; positions follow the new step.
    frame.locator(".step-slider").focus()
    page.keyboard.press("Home")
    wait_settled(frame, 0)
    state0 = canvas_state(frame, 0)
    assert state0["highlight"] == i
    p0 = np.array(served(tensorboard_url, "a", 0)["points"])
    t0 = state0["tf"]
    screen0 = np.stack([p0[:, 0] * t0["sx"] + t0["ox"], p0[:, 1] * t0["sy"] + t0["oy"]], axis=1)
    for j in isolated(screen0, count=2):
        rgba = pixel(frame, 0, screen0[j, 0], screen0[j, 1], state0["dpr"])
        assert max(abs(a - b) for a, b in zip(rgba[:3], hex_rgb(TABLEAU[doc["labels"][j]]))) <= 30
    page.keyboard.press("ArrowRight")
    wait_settled(frame, 1)

    # Scores beside it: the current step marked on the SVG chart; the numbers of this step.
    column = frame.locator(".run-column").first
    column.locator(".chart[data-chart=knn] .chart-current").wait_for(state="attached")
    assert column.locator(".emb-numbers-title").text_content() == "Step 1"
    scores = served(tensorboard_url, "a", 1)
    assert "%.1f%%" % (100 * scores["knn_accuracy"]) in column.locator(".emb-dl").text_content()
    # Class filter: hiding a class hides it in both runs.
    column.locator(".emb-key").first.click()
    frame.wait_for_function("() => document.querySelectorAll('.emb-key-off').length === 2")
    # The Projector hand-off is named in run a, offered as a command in run b.
    assert "Handed off to TensorBoard's Projector" in column.locator(".emb-projector").text_content()
    assert "projector_config.pbtxt" in column.locator(".emb-projector").text_content()
    assert "python -m tb_plugin.projector" in frame.locator(".run-column").nth(1).locator(".emb-projector").text_content()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=_artifact("embedding_compare.png"), full_page=True)
    browser.check_clean()


def _artifact(name):
    import os

    from conftest import ARTIFACTS

    os.makedirs(ARTIFACTS, exist_ok=True)
    return os.path.join(ARTIFACTS, name)
