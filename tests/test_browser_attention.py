"""The attention view in a real browser and a real TensorBoard (Rust data server).

Logs attention scores with `tb_plugin.summary.Writer` (f32, so read-outs are
exact), opens the tab in Debian's chromium and checks what is drawn against
the arrays logged here: hover read-outs (query token, key token, weight),
heatmap pixels against the colour map's control points (from test_browser,
independent of the JS), the line view's lines and highlighting, a 512 x 512
head rendered and zoomed, a vision transformer's patch attention over its
image, per-step token labels, and the entropy chart against numpy.
"""

import os
import time

import numpy as np
import pytest

from conftest import running_tensorboard, wait_for_steps
from tb_plugin.summary import Writer
from test_browser import assert_colour, ember

RUN = "attn"
SHORT, LONG, VIT = "attention/short", "attention/long", "attention/vit"
HEADS, SEQ = 3, 6
TOKENS = [["The", "cat", "sat", "on", "<mat>", "."], ["A", "dog", "ran", "to", "the", "&park"]]
STEP2_TOKENS = [["Le", "chat", "est", "sur", "le", "tapis"], TOKENS[1]]
GRID, PREFIX = (4, 4), 1


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def short_scores(step):
    """Attention that sharpens onto the anti-diagonal as the step grows (head 0 fastest)."""
    rng = np.random.default_rng(step)
    logits = rng.normal(size=(2, HEADS, SEQ, SEQ))
    mirror = np.zeros((SEQ, SEQ))
    mirror[np.arange(SEQ), SEQ - 1 - np.arange(SEQ)] = 1
    for h in range(HEADS):
        logits[:, h] += mirror * step * (3 - h) * 1.5
    return softmax(logits)


def long_scores():
    rng = np.random.default_rng(9)
    return softmax(rng.normal(scale=3, size=(1, 512, 512)))


def vit_scores():
    return softmax(np.random.default_rng(11).normal(scale=2, size=(2, PREFIX + 16, PREFIX + 16)))


def vit_image():
    y, x = np.mgrid[0:32, 0:32] / 31.0
    return np.stack([x, y, 1 - x], axis=-1).astype(np.float32)


def head_entropy(scores):
    p = scores.astype(np.float64)
    return -(np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0)).sum(-1).mean(axis=(0, 2))


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("attn_logs")
    with Writer(str(root / RUN)) as w:
        for step in (0, 1, 2):
            w.attention(SHORT, short_scores(step), step, tokens=STEP2_TOKENS if step == 2 else TOKENS, encoding="f32")
        w.attention(LONG, long_scores(), 0, encoding="f32")
        w.attention(VIT, vit_scores(), 0, patch_grid=GRID, prefix_tokens=PREFIX, image=vit_image(), encoding="f32",
                    tokens=["[CLS]"] + ["p%d" % i for i in range(16)])
    return str(root)


@pytest.fixture(scope="module")
def tensorboard_url(logdir):
    with running_tensorboard(logdir, "true") as url:
        wait_for_steps(url, RUN, SHORT, 3)
        wait_for_steps(url, RUN, LONG, 1)
        wait_for_steps(url, RUN, VIT, 1)
        yield url




def open_attention(browser, url, tag, step):
    frame = browser.open_tab(url)
    frame.wait_for_selector(".tag-item")
    frame.locator(".tag-item[data-tag='%s']" % tag).first.click()
    frame.wait_for_function(
        "([tag, step]) => { const h = document.querySelector('.attn-view .tag-name');"
        " return h && h.textContent === tag && document.querySelector('.step-label')?.textContent === 'step ' + step"
        " && !!document.querySelector('.attn-focus canvas, .attn-lines'); }",
        arg=[tag, step],
        timeout=20000,
    )
    return frame


def centre(frame, selector, row, col, rows, cols):
    # The focus map grows to the available width: bring the cell on screen first.
    frame.locator(selector).evaluate(
        "(e, [r, c, rows, cols]) => { const b = e.getBoundingClientRect();"
        " let p = e.parentElement; while (p && !(p.scrollHeight > p.clientHeight && getComputedStyle(p).overflowY !== 'visible')) p = p.parentElement;"
        " (p || document.scrollingElement).scrollBy(0, b.top + (r + 0.5) * b.height / rows - innerHeight / 2); }",
        [row, col, rows, cols],
    )
    box = frame.locator(selector).bounding_box()
    return box["x"] + (col + 0.5) * box["width"] / cols, box["y"] + (row + 0.5) * box["height"] / rows


def readout(frame, contains):
    frame.wait_for_function("t => document.querySelector('.readout-where').textContent.includes(t)", arg=contains)
    return float(frame.locator(".readout-value").text_content()), frame.locator(".readout-where").text_content()


def pixel(frame, selector, row, col):
    return frame.evaluate(
        "([s, r, c]) => Array.from(document.querySelector(s).getContext('2d').getImageData(c, r, 1, 1).data)",
        [selector, row, col],
    )


def test_heads_heatmap_lines_and_entropy(browser, tensorboard_url, artifacts_dir):
    page = browser.page
    frame = open_attention(browser, tensorboard_url, SHORT, 2)
    scores = short_scores(2)
    # Small multiples: every head plus the mean.
    assert frame.locator(".attn-thumb").count() == HEADS + 1
    assert frame.locator(".attn-thumb-caption").all_text_contents() == ["head 0", "head 1", "head 2", "mean"]
    # Step 2 logged its own labels (they changed): both axes show them, as text.
    assert frame.locator(".attn-labels-left .attn-label").all_text_contents() == STEP2_TOKENS[0]
    assert frame.locator(".attn-labels-top .attn-label").all_text_contents() == STEP2_TOKENS[0]
    # Hover read-out: query token, key token and the exact weight.
    for head, (r, c) in ((0, (1, 4)), (2, (3, 0))):
        frame.locator(".attn-thumb[data-head='%d']" % head).click()
        page.mouse.move(*centre(frame, ".attn-focus-canvas", r, c, SEQ, SEQ))
        value, where = readout(frame, "(%d) → key" % r)
        assert np.float32(value) == scores[0, head, r, c]
        assert "query “%s” (%d) → key “%s” (%d) · head %d" % (STEP2_TOKENS[0][r], r, STEP2_TOKENS[0][c], c, head) in where
        # Its colour: the ember map over [0, max of the sample's heads and their mean].
        hi = max(scores[0].max(), scores[0].mean(axis=0).max())
        assert_colour(pixel(frame, ".attn-focus-canvas", r, c), ember(scores[0, head, r, c] / hi), "head %d cell" % head)
    page.screenshot(path=os.path.join(artifacts_dir, "attention_heatmap.png"))
    # The mean over heads.
    frame.locator(".attn-thumb[data-head='mean']").click()
    page.mouse.move(*centre(frame, ".attn-focus-canvas", 2, 3, SEQ, SEQ))
    value, where = readout(frame, "mean over heads")
    assert value == pytest.approx(scores[0, :, 2, 3].mean(), abs=1e-6)

    # Sample 1 has its own tokens (unchanged, so from the tag's metadata).
    frame.evaluate("() => { const s = [...document.querySelectorAll('select')].find(s => [...s.options].some(o => o.text === 'Sample 1')); s.value = '1'; s.dispatchEvent(new Event('change')); }")
    frame.wait_for_function("() => document.querySelector('.attn-labels-left .attn-label').textContent === 'A'")
    assert frame.locator(".attn-labels-top .attn-label").all_text_contents() == TOKENS[1]

    # The line view: one line per visible weight, hovering a query highlights its lines.
    frame.locator(".attn-thumb[data-head='0']").click()
    frame.locator(".attn-mode[data-mode='lines']").click()
    frame.wait_for_selector(".attn-lines")
    s1 = scores[1, 0]
    hi = max(scores[1].max(), scores[1].mean(axis=0).max())
    assert frame.locator(".attn-line").count() == int((s1 > hi * 0.02).sum())
    assert frame.locator(".attn-token-q").all_text_contents() == TOKENS[1]
    frame.locator(".attn-token-q[data-q='2']").hover()
    value, where = readout(frame, "attends most to")
    best = int(s1[2].argmax())
    assert np.float32(value) == s1[2, best] and "key “%s” (%d)" % (TOKENS[1][best], best) in where
    highlighted = frame.evaluate("() => [...document.querySelectorAll('.attn-line-on')].map(l => l.dataset.q)")
    assert highlighted and set(highlighted) == {"2"}
    page.screenshot(path=os.path.join(artifacts_dir, "attention_lines.png"))

    # Over training: the entropy chart has one line per head and reads numpy's entropy at each step.
    chart = frame.locator("[data-chart='attention-entropy']")
    assert chart.locator(".chart-series").count() == HEADS
    page.keyboard.press("j")
    page.keyboard.press("j")
    frame.wait_for_function("() => document.querySelector('.step-label').textContent === 'step 0'")
    text = chart.locator(".chart-value").text_content()
    expected = head_entropy(short_scores(0))
    assert text == " · ".join("h%d %.2f" % (h, v) for h, v in enumerate(expected))
    # Head 0 specialises first: at step 2 its entropy is the lowest.
    e2 = head_entropy(short_scores(2))
    assert e2[0] < e2[1] < e2[2]
    browser.check_clean()


def test_keyboard_cell_cursor_on_the_focus_map(browser, tensorboard_url):
    """The focus map is focusable; arrow keys move a cell cursor with the hover's read-out."""
    page = browser.page
    frame = open_attention(browser, tensorboard_url, SHORT, 2)
    scores = short_scores(2)
    canvas = frame.locator(".attn-focus-canvas")
    assert canvas.get_attribute("tabindex") == "0"
    assert "arrow keys move a cell cursor" in canvas.get_attribute("aria-label")
    canvas.focus()
    for key in ("ArrowDown", "ArrowDown", "ArrowRight", "ArrowRight", "ArrowRight"):
        page.keyboard.press(key)
    value, where = readout(frame, "(2) → key")
    assert np.float32(value) == scores[0, 0, 2, 3]
    assert "query “%s” (2) → key “%s” (3) · head 0" % (STEP2_TOKENS[0][2], STEP2_TOKENS[0][3]) in where
    assert frame.locator(".attn-cursor").is_visible()
    # Shift moves 8 cells, clamped at the edge; End goes to the row's last key.
    page.keyboard.press("Shift+ArrowDown")
    page.keyboard.press("Home")
    value, where = readout(frame, "(%d) → key" % (SEQ - 1))
    assert "(%d) → key “%s” (0)" % (SEQ - 1, STEP2_TOKENS[0][0]) in where and np.float32(value) == scores[0, 0, SEQ - 1, 0]
    # The arrows moved the cursor, not the step.
    assert frame.locator(".step-label").text_content() == "step 2"
    page.keyboard.press("Escape")
    frame.wait_for_function("() => document.querySelector('.readout-value').textContent === '–'")
    assert not frame.locator(".attn-cursor").is_visible()
    browser.check_clean()


def test_long_sequence_renders_and_zooms(browser, tensorboard_url, artifacts_dir):
    page = browser.page
    started = time.time()
    frame = open_attention(browser, tensorboard_url, LONG, 0)
    assert time.time() - started < 20
    size = frame.evaluate("() => { const c = document.querySelector('.attn-focus-canvas'); return [c.width, c.height, c.clientWidth]; }")
    assert size[:2] == [512, 512] and size[2] == 512  # one pixel per score at the fitted zoom
    assert frame.locator(".attn-labels-left .attn-label").count() == 0  # too small for labels
    scores = long_scores()[0]
    t0 = time.time()
    for _ in range(4):
        frame.locator(".attn-zoom-in").click()
    frame.wait_for_function("() => document.querySelector('.attn-focus-canvas').clientWidth === 512 * 6")
    assert time.time() - t0 < 5
    # Labels appear when cells are large enough (>= 10 px).
    frame.locator(".attn-zoom-in").click()
    frame.locator(".attn-zoom-in").click()
    frame.wait_for_function("() => document.querySelectorAll('.attn-labels-left .attn-label').length === 512")
    assert frame.locator(".attn-labels-top .attn-label").count() == 512
    # Zooming keeps the centre in place; the scroll box stays within the page.
    scroll = frame.evaluate("() => { const s = document.querySelector('.attn-scroll'); return [s.scrollLeft, s.scrollTop, s.clientWidth, innerWidth]; }")
    assert scroll[0] > 0 and scroll[1] > 0 and scroll[2] < scroll[3]
    frame.evaluate("() => { const s = document.querySelector('.attn-scroll'); s.scrollTo(0, 0); s.scrollIntoView(); }")
    r, c = 20, 33
    box = frame.locator(".attn-focus-canvas").bounding_box()
    page.mouse.move(box["x"] + (c + 0.5) * 12, box["y"] + (r + 0.5) * 12)
    value, where = readout(frame, "(%d) → key" % r)
    assert "key “%d” (%d)" % (c, c) in where  # no labels logged: positions
    assert np.float32(value) == scores[r, c]
    page.screenshot(path=os.path.join(artifacts_dir, "attention_long_zoomed.png"))
    browser.check_clean()


def test_vit_patch_attention_over_image(browser, tensorboard_url, artifacts_dir):
    page = browser.page
    frame = open_attention(browser, tensorboard_url, VIT, 0)
    frame.wait_for_selector(".attn-overlay")
    scores = vit_scores()
    # Pick patch (1, 2) as the query by clicking it.
    frame.locator(".attn-overlay").click(position={"x": 2.5 * 96, "y": 1.5 * 96})
    query = PREFIX + 1 * 4 + 2
    frame.wait_for_function("q => document.querySelector('.attn-query-select').value === String(q)", arg=query)
    # Hover patch (3, 0): its weight for that query.
    frame.locator(".attn-overlay").hover(position={"x": 0.5 * 96, "y": 3.5 * 96})
    value, where = readout(frame, "key “p12” (13)")
    assert np.float32(value) == scores[0, query, PREFIX + 12]
    assert "query “p6” (%d)" % query in where
    # The strongest patch is the brightest overlay cell (most opaque).
    alphas = [pixel(frame, ".attn-overlay", p // 4, p % 4)[3] for p in range(16)]
    assert int(np.argmax(alphas)) == int(np.argmax(scores[0, query, PREFIX:]))
    # The image underneath is the logged one (corner colours of the gradient).
    top_left = pixel(frame, ".attn-image", 2, 2)
    assert top_left[0] < 20 and top_left[2] > 235
    page.screenshot(path=os.path.join(artifacts_dir, "attention_vit.png"))
    browser.check_clean()
