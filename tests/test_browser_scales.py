"""Differences and colour scales in a real browser against a real TensorBoard (Rust data server).

A label is a promise: every difference mode of every kind (activations,
weights, attention) is checked against numpy on the values this test logged
(f32, so exact): the header's label, the legend's range and the colour of a
few cells (looked up in the legend's own colour bar, so the check holds for
any colour map). The fixed-over-steps scale paints the same value in the
same colour at two steps whose own ranges differ; robust and 0-1 scales say
what they clip. Four runs at 1280 x 800 fit their columns.
"""

import json
import os

import numpy as np
import pytest

from tb_plugin.summary import Writer
from conftest import running_tensorboard, wait_for_steps

RUNS = {"a": [-1, 0, 2, 4], "b": [-1, 0, 1, 2, 3, 4], "c": [0, 1, 2, 3, 4], "d": [0, 1, 2, 3, 4]}
CONV, KERNEL, MHA, FIXED = "conv", "dense/kernel", "mha", "fixed"
FIXED_AT, FIXED_VALUE = (1, 2), 0.5


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def write_logs(root):
    rng = np.random.default_rng(9)
    values = {}
    for run, steps in RUNS.items():
        with Writer(str(root / run)) as w:
            for step in steps:
                x = rng.normal(size=(2, 5, 6, 4)).astype(np.float32) * (1 + 0.3 * step)
                k = rng.normal(size=(6, 5)).astype(np.float32) * (1 + 0.2 * step)
                p = softmax(rng.normal(scale=1 + step, size=(2, 4, 4)))
                w.activations(CONV, x, step=step, encoding="f32")
                w.weights(KERNEL, k, step=step, encoding="f32", layer="dense", layer_class="Dense")
                w.attention(MHA, p, step=step, tokens=["w", "x", "y", "z"], encoding="f32")
                values[run, CONV, step], values[run, KERNEL, step], values[run, MHA, step] = x, k, p
            if run == "a":
                # Same value at the same cell at two steps whose own ranges differ (0..1, then 0..4).
                for step, top in ((0, 1.0), (2, 4.0)):
                    f = np.linspace(0, top, 2 * 5 * 6 * 1, dtype=np.float32).reshape(2, 5, 6, 1)
                    f[0, FIXED_AT[0], FIXED_AT[1], 0] = FIXED_VALUE
                    w.activations(FIXED, f, step=step, encoding="f32")
                    values[run, FIXED, step] = f
    return str(root), values


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return write_logs(tmp_path_factory.mktemp("scales_logs"))


@pytest.fixture(scope="module")
def url(logs):
    with running_tensorboard(logs[0], "true") as base:
        for run, steps in RUNS.items():
            for tag in (CONV, KERNEL, MHA):
                wait_for_steps(base, run, tag, len(steps))
        wait_for_steps(base, "a", FIXED, 2)
        yield base


@pytest.fixture
def tensorboard_url(url):
    return url  # conftest's `browser` fixture opens this server


def open_at(b, url, state, size=None):
    from test_browser_compare import hash_of

    if size:
        b.page.set_viewport_size({"width": size[0], "height": size[1]})
    b.page.goto("about:blank")  # a new document each time (a hash change alone keeps the old tab)
    b.page.goto(url + "/#internals&" + hash_of(state))
    frame = b.page.wait_for_selector('iframe[src*="plugin_entry.html?name=internals"]', timeout=30000).content_frame()
    frame.wait_for_selector(".app", timeout=30000)
    return frame


def wait_label(frame, label, column=0):
    frame.wait_for_function(
        "([k, want]) => { const c = document.querySelectorAll('.run-column')[k];"
        " return c && c.querySelector('.column-note')?.textContent === want"
        " && c.querySelector('.legend')?.dataset.lo !== undefined"
        " && c.querySelector('.view-sticky:not([hidden]), .weights-sticky') !== null"
        " && c.querySelector('.view-message:not([hidden])') === null; }",
        arg=[column, label],
        timeout=20000,
    )


# Where each kind paints cell (r, c) of the checked slice, and which value that is.
PIXELS = {
    CONV: ("activations", ".hm[data-panel=ch1] canvas", lambda d, r, c: d[0, r, c, 1], [(0, 0), (2, 3), (4, 5)]),
    KERNEL: ("weights", ".hm[data-panel=matrix] canvas", lambda d, r, c: d[r, c], [(0, 0), (3, 2), (5, 4)]),
    MHA: ("attention", "canvas.attn-focus-canvas", lambda d, r, c: d[0, r, c], [(0, 0), (1, 3), (3, 2)]),
}


def painted(frame, column, selector, r, c):
    return frame.evaluate(
        "([k, sel, r, c]) => Array.from(document.querySelectorAll('.run-column')[k].querySelector(sel)"
        ".getContext('2d').getImageData(c, r, 1, 1).data)",
        [column, selector, r, c],
    )


def lut_colours(frame, column, t):
    """The legend bar's colours around position t in [0, 1] (the map's own table; +/-1 entry for rounding)."""
    return frame.evaluate(
        "([k, t]) => { const bar = document.querySelectorAll('.run-column')[k].querySelector('.legend-bar');"
        " const ctx = bar.getContext('2d'); const n = bar.width - 1; const i = Math.round(t * n);"
        " return [i - 1, i, i + 1].filter(j => j >= 0 && j <= n).map(j => Array.from(ctx.getImageData(j, 0, 1, 1).data)); }",
        [column, t],
    )


def assert_painted(frame, column, selector, r, c, value, lo, hi, what):
    t = (float(value) - lo) / (hi - lo)
    got = painted(frame, column, selector, r, c)[:3]
    options = [tuple(x[:3]) for x in lut_colours(frame, column, min(1.0, max(0.0, t)))]
    assert any(max(abs(a - b) for a, b in zip(got, o)) <= 1 for o in options), "%s: got %s, want one of %s" % (what, got, options)


def legend_range(frame, column=0):
    return frame.evaluate(
        "k => { const l = document.querySelectorAll('.run-column')[k].querySelector('.legend');"
        " return [Number(l.dataset.lo), Number(l.dataset.hi), l.querySelector('.legend-mode').textContent]; }",
        column,
    )


@pytest.mark.parametrize("tag", [CONV, KERNEL, MHA])
def test_every_difference_mode_paints_what_its_label_says(browser, url, logs, artifacts_dir, tag):
    _, values = logs
    kind, selector, cell, cells = PIXELS[tag]
    # Run A − run B at slider step 3: a has no step 3, so its nearest (2, ties to the earlier).
    frame = open_at(browser, url, {"runs": json.dumps(["a", "b"]), "tag": tag, "step": "3", "mode": "diff-runs"})
    wait_label(frame, "a step 2 (nearest to step 3) − b step 3")
    d = values["a", tag, 2] - values["b", tag, 3]  # float32, as the browser subtracts
    m = float(np.abs(d).max())
    lo, hi, name = legend_range(frame)
    assert (lo, hi) == (pytest.approx(-m, rel=1e-6), pytest.approx(m, rel=1e-6)), name
    assert "centred on zero" in name and "difference" in name
    assert frame.locator(".run-column .run-chip").text_content() == "a − b"
    for r, c in cells:
        assert_painted(frame, 0, selector, r, c, cell(d, r, c), lo, hi, "%s a−b (%d, %d)" % (tag, r, c))
    # Zero is the middle of the diverging map.
    mid = lut_colours(frame, 0, 0.5)[1][:3]
    assert min(mid) > 200, mid  # near white
    browser.page.screenshot(path=os.path.join(artifacts_dir, "diff_runs_%s.png" % kind))

    # Step − reference within run a: step 4 minus the snapshot before training (step -1).
    frame = open_at(browser, url, {"runs": json.dumps(["a"]), "tag": tag, "step": "4", "mode": "diff-step", "ref": "-1"})
    wait_label(frame, "step 4 − reference before training")
    d = values["a", tag, 4] - values["a", tag, -1]
    m = float(np.abs(d).max())
    lo, hi, name = legend_range(frame)
    assert (lo, hi) == (pytest.approx(-m, rel=1e-6), pytest.approx(m, rel=1e-6)), name
    for r, c in cells:
        assert_painted(frame, 0, selector, r, c, cell(d, r, c), lo, hi, "%s step−ref (%d, %d)" % (tag, r, c))
    # The reference select names step -1 as before training.
    assert "Before training" in frame.locator("select option[value='-1']").all_text_contents()
    browser.check_clean()


def test_difference_that_cannot_be_computed_paints_nothing(browser, url):
    # A run without the tag: no difference, said in words, nothing painted.
    frame = open_at(browser, url, {"runs": json.dumps(["a", "b"]), "tag": FIXED, "step": "2", "mode": "diff-runs"})
    frame.wait_for_selector(".column-placeholder")
    assert frame.locator(".column-placeholder").text_content() == "No difference: fixed is not logged in run b."
    assert frame.locator(".run-column canvas").count() == 0
    # Side by side, the run without the layer is a quiet placeholder, not an error.
    frame = open_at(browser, url, {"runs": json.dumps(["a", "b"]), "tag": FIXED, "step": "2", "mode": "side"})
    frame.wait_for_selector(".run-column[data-run=b] .column-placeholder")
    assert frame.locator(".run-column[data-run=b] .column-placeholder").text_content() == "fixed is not logged in this run"
    assert frame.locator(".view-message:not([hidden])").count() == 0
    browser.check_clean()


def test_fixed_scale_paints_the_same_value_in_the_same_colour_at_two_steps(browser, url, logs):
    _, values = logs
    frame = open_at(browser, url, {"runs": json.dumps(["a"]), "tag": FIXED, "step": "0"})
    colours = {}
    for step in (0, 2):
        if step == 2:
            frame.locator(".step-slider").focus()
            browser.page.keyboard.press("End")
        frame.wait_for_function("s => document.querySelector('.step-label')?.textContent === 'step ' + s", arg=step)
        frame.wait_for_function("() => document.querySelector('.legend')?.dataset.hi === '4'")
        lo, hi, name = legend_range_single(frame)
        assert (lo, hi) == (0.0, 4.0)  # over both steps, from /ranges
        assert name == "Fixed over all 2 steps"
        colours[step] = painted_single(frame, FIXED_AT)
        assert values["a", FIXED, step][0, FIXED_AT[0], FIXED_AT[1], 0] == FIXED_VALUE
    assert colours[0] == colours[2]
    # Per step, the same value paints differently (0..1 at step 0, 0..4 at step 2).
    frame.locator("select").filter(has=frame.locator("option[value=robust]")).select_option("step")
    frame.wait_for_function("() => document.querySelector('.legend-mode').textContent.startsWith('Per step')")
    assert painted_single(frame, FIXED_AT) == colours[2]  # at step 2 its own range is the whole tag's, 0..4
    frame.locator(".step-slider").focus()
    browser.page.keyboard.press("Home")
    frame.wait_for_function("() => document.querySelector('.step-label')?.textContent === 'step 0' && document.querySelector('.legend').dataset.hi === '1'")
    assert painted_single(frame, FIXED_AT) != colours[0]
    browser.check_clean()


def legend_range_single(frame):
    return frame.evaluate(
        "() => { const l = document.querySelector('.legend');"
        " return [Number(l.dataset.lo), Number(l.dataset.hi), l.querySelector('.legend-mode').textContent]; }"
    )


def painted_single(frame, at):
    return frame.evaluate(
        "([r, c]) => Array.from(document.querySelector('.hm[data-panel=ch0] canvas').getContext('2d').getImageData(c, r, 1, 1).data)",
        list(at),
    )


def test_robust_and_unit_scales_name_what_they_clip(browser, url, logs):
    _, values = logs
    frame = open_at(browser, url, {"runs": json.dumps(["b"]), "tag": KERNEL, "step": "4", "range": "robust"})
    frame.wait_for_function("() => document.querySelector('.legend-mode')?.textContent.startsWith('Robust')")
    everything = np.concatenate([values["b", KERNEL, s].ravel() for s in RUNS["b"]]).astype(np.float64)
    p01 = min(np.percentile(values["b", KERNEL, s].astype(np.float64), 1) for s in RUNS["b"])
    p99 = max(np.percentile(values["b", KERNEL, s].astype(np.float64), 99) for s in RUNS["b"])
    m = max(abs(p01), abs(p99))
    lo, hi, name = legend_range_single(frame)
    assert (lo, hi) == (pytest.approx(-m, rel=1e-6), pytest.approx(m, rel=1e-6))
    shown = values["b", KERNEL, 4]
    clipped = int(((shown < -m) | (shown > m)).sum())
    assert int(frame.locator(".legend").get_attribute("data-clipped")) == clipped
    if clipped:
        assert "clipped" in name
    assert everything.size

    # Attention on the fixed 0..1 scale.
    frame = open_at(browser, url, {"runs": json.dumps(["b"]), "tag": MHA, "step": "0", "range": "unit"})
    frame.wait_for_function("() => document.querySelector('.legend-mode')?.textContent.startsWith('Fixed 0–1')")
    lo, hi, _ = legend_range_single(frame)
    assert (lo, hi) == (0.0, 1.0)
    browser.check_clean()


def test_per_channel_ranges_follow_the_fixed_and_robust_modes(browser, url, logs):
    """Per channel, fixed and robust span each channel's range over all steps (from /ranges), as the legend says."""
    _, values = logs
    frame = open_at(browser, url, {"runs": json.dumps(["c"]), "tag": CONV, "step": "4", "scale": "channel"})
    frame.wait_for_function("() => /over all 5 steps/.test(document.querySelector('.legend-mode')?.textContent || '')")
    name = frame.locator(".legend-mode").text_content()
    assert name.startswith("Each of 4 channels scaled to its own range over all 5 steps"), name
    steps = [values["c", CONV, st].astype(np.float64) for st in RUNS["c"]]
    ch = 1
    lo = min(x[..., ch].min() for x in steps)
    hi = max(x[..., ch].max() for x in steps)
    x4 = values["c", CONV, 4]
    for r, c in ((0, 0), (2, 3), (4, 5)):
        assert_painted(frame, 0, ".hm[data-panel=ch1] canvas", r, c, x4[0, r, c, ch], lo, hi, "channel 1 (%d, %d)" % (r, c))

    # Robust per output unit of a kernel: each unit's 1st-99th percentile over all steps, centred on zero.
    frame = open_at(browser, url, {"runs": json.dumps(["b"]), "tag": KERNEL, "step": "4", "scale": "channel", "range": "robust"})
    frame.wait_for_function("() => /1st to 99th percentile over all 6 steps/.test(document.querySelector('.legend-mode')?.textContent || '')")
    kernels = [values["b", KERNEL, st].astype(np.float64) for st in RUNS["b"]]
    p01 = np.min([np.percentile(k, 1, axis=0) for k in kernels], axis=0)
    p99 = np.max([np.percentile(k, 99, axis=0) for k in kernels], axis=0)
    m = np.maximum(np.abs(p01), np.abs(p99))
    shown = values["b", KERNEL, 4].astype(np.float64)
    clipped = int(((shown < -m) | (shown > m)).sum())
    assert int(frame.locator(".legend").get_attribute("data-clipped")) == clipped
    for r, c in ((0, 0), (3, 2), (5, 4)):
        v = float(np.clip(shown[r, c], -m[c], m[c]))
        assert_painted(frame, 0, ".hm[data-panel=matrix] canvas", r, c, v, -m[c], m[c], "unit %d (%d, %d)" % (c, r, c))
    browser.check_clean()


def boxes(frame, selector):
    return frame.evaluate(
        "sel => Array.from(document.querySelectorAll(sel)).map(e => { const r = e.getBoundingClientRect();"
        " return [r.left, r.top, r.right, r.bottom]; })",
        selector,
    )


@pytest.mark.parametrize("tag", [CONV, KERNEL, MHA])
def test_four_runs_fit_at_1280(browser, url, artifacts_dir, tag):
    frame = open_at(browser, url, {"runs": json.dumps(list(RUNS)), "tag": tag, "step": "2"}, size=(1280, 800))
    frame.wait_for_function(
        "() => { const c = document.querySelectorAll('.run-column'); return c.length === 4 &&"
        " Array.from(c).every(col => col.querySelector('.legend')?.dataset.lo !== undefined && col.querySelector('canvas')); }",
        timeout=20000,
    )
    columns = boxes(frame, ".run-column")
    for i, a in enumerate(columns):
        for b in columns[i + 1:]:
            assert a[2] <= b[0] + 0.5 or b[2] <= a[0] + 0.5, (a, b)  # side by side, no overlap
    # Everything a column draws stays inside it.
    for k, col in enumerate(columns):
        inner = frame.evaluate(
            "k => Array.from(document.querySelectorAll('.run-column')[k].querySelectorAll('canvas, svg, .view, .legend, figure'))"
            ".filter(e => e.getClientRects().length).map(e => e.getBoundingClientRect().right)",
            k,
        )
        assert max(inner) <= col[2] + 1, (k, max(inner), col)
    # No sideways scroll of the page, and the column headers line up.
    assert frame.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    heads = [round(b[1]) for b in boxes(frame, ".run-column .view-head")]
    assert len(set(heads)) == 1, heads
    bodies = [round(b[1]) for b in boxes(frame, ".run-column .view-body")]
    assert len(set(bodies)) == 1, bodies
    browser.page.screenshot(path=os.path.join(artifacts_dir, "four_runs_%s_1280.png" % tag.replace("/", "_")))
    browser.check_clean()


def test_tooltip_at_the_cursor_and_keyboard_cell_cursor(browser, url, logs):
    _, values = logs
    frame = open_at(browser, url, {"runs": json.dumps(["a"]), "tag": CONV, "step": "0"})
    frame.wait_for_function("() => document.querySelector('.step-label')?.textContent === 'step 0'")
    x = values["a", CONV, 0]
    # The step toolbar comes first in tab order (the first focusable control in document order).
    first = frame.evaluate(
        "() => { const all = Array.from(document.querySelectorAll('button, input, select, [tabindex]'))"
        ".filter(e => !e.disabled && e.tabIndex >= 0 && e.getClientRects().length);"
        " return all.length ? [all[0].className, !!all[0].closest('.toolbar .stepbar')] : null; }"
    )
    assert first and first[1], first
    # Hover: the read-out follows the pointer, in a tooltip next to it.
    canvas = frame.locator(".hm[data-panel=ch1] canvas")
    box = canvas.bounding_box()
    px, py = box["x"] + 3.5 * box["width"] / 6, box["y"] + 2.5 * box["height"] / 5
    browser.page.mouse.move(px, py)
    frame.wait_for_function("() => document.querySelector('.readout-where').textContent.includes('row 2, col 3')")
    tip = frame.locator(".cursor-tip")
    assert tip.is_visible()
    assert np.float32(float(tip.locator(".cursor-tip-value").text_content())) == x[0, 2, 3, 1]
    tb = tip.bounding_box()
    frame_box = browser.page.locator("iframe").bounding_box()
    assert abs(tb["x"] - px) < 40 and abs(tb["y"] - py) < 40, (tb, px, py, frame_box)
    browser.page.mouse.move(2, 2)
    frame.wait_for_function("() => document.querySelector('.cursor-tip').hidden")
    # Keyboard: focus a heatmap, arrow keys move a cell cursor with the same read-out.
    canvas.focus()
    for key in ("ArrowRight", "ArrowRight", "ArrowDown"):
        browser.page.keyboard.press(key)
    frame.wait_for_function("() => document.querySelector('.readout-where').textContent.includes('row 1, col 2')")
    assert np.float32(float(frame.locator(".readout-value").text_content())) == x[0, 1, 2, 1]
    assert frame.locator(".cursor-tip").is_visible()
    # The app's step keys do not fire while the cursor moves (ArrowRight stayed on the map).
    assert frame.locator(".step-value").text_content() == "Step 0"
    browser.check_clean()


def test_step_minus_one_reads_before_training(browser, url):
    frame = open_at(browser, url, {"runs": json.dumps(["a"]), "tag": CONV, "step": "-1"})
    frame.wait_for_function("() => document.querySelector('.step-label')?.textContent === 'before training'")
    assert frame.locator(".step-value").text_content() == "Before training"
    assert frame.locator(".step-slider").get_attribute("aria-valuetext") == "before training"
    # Other steps read as steps; negative ones other than -1 would too (plan.test.mjs).
    frame.locator(".step-slider").focus()
    browser.page.keyboard.press("ArrowRight")
    frame.wait_for_function("() => document.querySelector('.step-label')?.textContent === 'step 0'")
    browser.check_clean()
