"""Navigation in a real browser against a real TensorBoard (Rust data server).

- A logged model with 200 layers in nested blocks: the picker is a tree by
  path, its count says layers, the filter finds a layer by path, Enter opens
  it, the arrow keys move through the tree.
- Every button of the architecture page opens a view of the tag it names
  (statistics buttons: the activations they are shown with; attention too).
- A URL naming a run or layer that does not exist gives a visible notice.
- Hostile and right-to-left names render as isolated text, shortened, whole on hover.
"""

import json
import os
import shutil

import numpy as np
import pytest

from tb_plugin.summary import Writer
from conftest import running_tensorboard, wait_for_steps
from test_browser import PAINTED_CANVASES_JS, Browser

DEMO = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "demo_logs")
BIG = "big_model"
BLOCKS, UNITS = 20, 10  # 200 layers
RTL_RUN = "\u202eevil run \u05e9\u05dc\u05d5\u05dd"
LONG_TAG = "x" * 5000
HOSTILE_TAG = "<img src=x onerror=alert(1)> \u202e\u0645\u0631\u062d\u0628\u0627"
SHARED_TAG, PLAIN_RUN = "activations/shared", "plain"


def layer_path(b, u):
    return "backbone/block%d/unit%d/conv" % (b, u)


def write_logs(root):
    rng = np.random.default_rng(3)
    layers = []
    with Writer(str(root / BIG)) as w:
        for b in range(1, BLOCKS + 1):
            layers.append({"path": "backbone/block%d" % b, "name": "block%d" % b, "class": "Block", "depth": 1, "output_shape": [None, 2, 2, 2], "params": 16})
            for u in range(1, UNITS + 1):
                path = layer_path(b, u)
                w.activations("activations/" + path, rng.normal(size=(1, 2, 2, 2)).astype(np.float32), step=0)
                if u == 1:
                    w.weights("weights/%s/kernel" % path, rng.normal(size=(1, 1, 2, 2)), step=0, layer=path, layer_class="Conv2D")
                layers.append({"path": path, "name": "conv", "class": "Conv2D", "depth": 3, "output_shape": [None, 2, 2, 2], "params": 4})
        w.model_summary("model_summary", {"name": "big", "class": "Functional", "total_params": 1, "trainable_params": 1, "layers": layers})
    with Writer(str(root / RTL_RUN)) as w:
        w.activations(LONG_TAG, rng.normal(size=(2, 3)), step=0)
        w.activations(HOSTILE_TAG, rng.normal(size=(2, 3)), step=0)
        w.activations(SHARED_TAG, rng.normal(size=(2, 3)), step=0)
    with Writer(str(root / PLAIN_RUN)) as w:  # compared with the right-to-left run: mixed column labels
        w.activations(SHARED_TAG, rng.normal(size=(2, 3)), step=0)
    return str(root)


@pytest.fixture(scope="module")
def urls(tmp_path_factory):
    own = write_logs(tmp_path_factory.mktemp("nav_logs"))
    demo = tmp_path_factory.mktemp("nav_demo") / "logs"
    shutil.copytree(DEMO, demo)
    with running_tensorboard(own, "true") as own_url, running_tensorboard(str(demo), "true") as demo_url:
        wait_for_steps(own_url, BIG, "activations/" + layer_path(BLOCKS, UNITS), 1)
        wait_for_steps(own_url, RTL_RUN, HOSTILE_TAG, 1)
        wait_for_steps(demo_url, "transformer_reverse", "attention/self_attention", 13)
        wait_for_steps(demo_url, "lr_0.01", "activations/conv1", 13)
        yield {"own": own_url, "demo": demo_url}


@pytest.fixture
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def open_at(b, url, state=None):
    from test_browser_compare import hash_of

    b.page.goto("about:blank")
    b.page.goto(url + "/#internals" + ("&" + hash_of(state) if state else ""))
    frame = b.page.wait_for_selector('iframe[src*="plugin_entry.html?name=internals"]', timeout=30000).content_frame()
    frame.wait_for_selector(".app", timeout=30000)
    return frame


def shown_tag(frame, tag):
    frame.wait_for_function("t => document.querySelector('.view .tag-name')?.textContent === t", arg=tag, timeout=20000)


def test_two_hundred_layers_by_path_and_keyboard(playwright, chromium_path, urls, artifacts_dir):
    b = Browser(playwright, chromium_path, urls["own"])
    try:
        b.page.set_viewport_size({"width": 1280, "height": 800})
        frame = open_at(b, urls["own"], {"runs": json.dumps([BIG])})
        frame.wait_for_selector(".layer-row")
        assert frame.locator(".tag-count").text_content() == "200 layers"
        # A tree: block groups, then the layers inside, indented; names are the last path segment.
        groups = frame.evaluate("() => Array.from(document.querySelectorAll('.layer-group')).map(g => g.dataset.path)")
        assert groups[:3] == ["backbone", "backbone/block1", "backbone/block1/unit1"]
        assert "backbone/block10" in groups and groups.index("backbone/block2") < groups.index("backbone/block10")  # natural order
        first = frame.locator(".layer-row[data-path='%s']" % layer_path(1, 1))
        assert first.locator(".layer-name").text_content() == "conv"
        assert first.locator(".tag-item .tag-label").all_text_contents() == ["activations", "kernel"]
        # The list takes the sidebar's height: more than the old ~8 rows.
        rows_visible = frame.evaluate(
            "() => { const list = document.querySelector('.layer-tree').getBoundingClientRect();"
            " return Array.from(document.querySelectorAll('.layer-row, .layer-group')).filter(r => { const b = r.getBoundingClientRect();"
            " return b.top >= list.top && b.bottom <= list.bottom; }).length; }"
        )
        assert rows_visible >= 10, rows_visible

        # Find by path, Enter opens the match.
        target = layer_path(13, 7)
        frame.locator(".tag-filter").fill("block13/unit7")
        assert frame.locator(".tag-count").text_content() == "1 of 200 layers"
        visible = frame.evaluate("() => Array.from(document.querySelectorAll('.layer-row:not([hidden])')).map(r => r.dataset.path)")
        assert visible == [target]
        frame.locator(".tag-filter").press("Enter")
        shown_tag(frame, "activations/" + target)
        assert "p.internals.tag=" in b.page.evaluate("location.hash")
        b.page.screenshot(path=os.path.join(artifacts_dir, "picker_200_layers.png"))

        # Keyboard: clear the filter, ArrowDown goes into the tree at the open layer; arrows move through it.
        frame.locator(".tag-filter").fill("")
        frame.locator(".tag-filter").press("ArrowDown")
        assert frame.evaluate("document.activeElement.value") == "activations/" + target
        b.page.keyboard.press("ArrowDown")
        shown_tag(frame, "activations/" + layer_path(13, 8))
        b.page.keyboard.press("ArrowUp")
        b.page.keyboard.press("ArrowUp")
        shown_tag(frame, "activations/" + layer_path(13, 6))
        # The slash key jumps to the filter.
        frame.locator(".step-slider").focus()
        b.page.keyboard.press("/")
        assert frame.evaluate("document.activeElement.classList.contains('tag-filter')")
        b.check_clean()
    finally:
        b.close()


def test_every_architecture_button_opens_its_tag(playwright, chromium_path, urls, artifacts_dir):
    b = Browser(playwright, chromium_path, urls["demo"])
    try:
        for run in ("transformer_reverse", "lr_0.01"):
            frame = open_at(b, urls["demo"], {"runs": json.dumps([run]), "tag": "model_summary"})
            frame.wait_for_selector(".arch-link[title]")
            buttons = frame.evaluate(
                "() => Array.from(document.querySelectorAll('button.arch-link')).map(e => [e.closest('tr').dataset.path, e.textContent, e.title])"
            )
            kinds = {label for _, label, _ in buttons}
            assert "activations" in kinds and "kernel" in kinds
            if run == "transformer_reverse":
                assert "attention" in kinds  # attention is reachable from the landing page
            if run == "lr_0.01":
                assert "statistics" in kinds
            for i, (path, label, target) in enumerate(buttons):
                if i:
                    frame = open_at(b, urls["demo"], {"runs": json.dumps([run]), "tag": "model_summary"})
                    frame.wait_for_selector(".arch-link[title]")
                frame.locator("tr[data-path='%s'] button.arch-link" % path).filter(has_text=label).first.click()
                shown_tag(frame, target)
                # The statistics button opens the layer's activations, with the statistics beside them.
                if label == "statistics":
                    assert target.startswith("activations/")
                    frame.wait_for_selector(".stats-panel")
                    # The panel is there before the activations load: wait until the view has
                    # settled (painted, or a message), then check that it is not a message.
                    frame.wait_for_function(
                        "() => (%s)() > 0 || !!document.querySelector('.view-message:not([hidden])')" % PAINTED_CANVASES_JS,
                        timeout=20000)
                    assert frame.locator(".view-message:not([hidden])").count() == 0
                frame.wait_for_function("t => decodeURIComponent(parent.location.hash).includes('p.internals.tag=' + t)", arg=target)
        b.check_clean()
    finally:
        b.close()


def test_stale_url_shows_a_notice(playwright, chromium_path, urls):
    b = Browser(playwright, chromium_path, urls["demo"])
    try:
        frame = open_at(b, urls["demo"], {"runs": json.dumps(["lr_9_gone"]), "tag": "activations/conv99", "step": "3"})
        frame.wait_for_selector(".stale-notice")
        text = frame.locator(".stale-notice").text_content()
        assert "lr_9_gone" in text and "activations/conv99" in text and "does not have" in text
        # A known run with an unknown layer names the layer only.
        frame = open_at(b, urls["demo"], {"runs": json.dumps(["lr_0.01"]), "tag": "activations/conv99"})
        frame.wait_for_selector(".stale-notice")
        text = frame.locator(".stale-notice").text_content()
        assert "activations/conv99" in text and "lr_0.01" in text and "run “lr_0.01”" in text
        # A good link: no notice.
        frame = open_at(b, urls["demo"], {"runs": json.dumps(["lr_0.01"]), "tag": "activations/conv1"})
        shown_tag(frame, "activations/conv1")
        assert frame.locator(".stale-notice").count() == 0
        b.check_clean()
    finally:
        b.close()


def test_hostile_and_rtl_names_are_isolated_text(playwright, chromium_path, urls, artifacts_dir):
    b = Browser(playwright, chromium_path, urls["own"])
    try:
        b.page.set_viewport_size({"width": 1280, "height": 800})
        for tag in (HOSTILE_TAG, LONG_TAG):
            frame = open_at(b, urls["own"], {"runs": json.dumps([RTL_RUN]), "tag": tag})
            shown_tag(frame, tag)
            assert frame.locator("img").count() == 0  # text, never markup
            info = frame.evaluate(
                "() => { const h = document.querySelector('.view .tag-name'); const chip = document.querySelector('.view .run-chip');"
                " const bdi = h.querySelector('bdi'); const view = document.querySelector('.view').getBoundingClientRect();"
                " return {tagIso: getComputedStyle(bdi).unicodeBidi, chipTag: chip.tagName, chipIso: getComputedStyle(chip).unicodeBidi,"
                " chipTitle: chip.title, title: h.title, height: h.getBoundingClientRect().height, right: h.getBoundingClientRect().right,"
                " viewRight: view.right, chipText: chip.textContent}; }"
            )
            assert info["tagIso"] == "isolate" and info["chipTag"] == "BDI" and info["chipIso"] == "isolate", info
            assert info["title"] == tag and info["chipText"] == RTL_RUN and RTL_RUN in info["chipTitle"]
            assert info["height"] < 40 and info["right"] <= info["viewRight"] + 1, info  # one line, shortened
            # The picker lists them isolated too, and the page does not scroll sideways.
            assert frame.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
            assert frame.evaluate("() => getComputedStyle(document.querySelector('.layer-name bdi')).unicodeBidi") == "isolate"
            assert frame.evaluate("() => Array.from(document.querySelectorAll('.compare-run-name')).every(e => getComputedStyle(e).unicodeBidi === 'isolate')")
            assert frame.evaluate("r => document.querySelector(`.run-select option[value='${r}']`).label", RTL_RUN) == "\u2068%s\u2069" % RTL_RUN
        b.page.screenshot(path=os.path.join(artifacts_dir, "hostile_names.png"))
        # A difference of the right-to-left run and a plain one: each run name in the column's header
        # and step note is isolated on its own, so the sentence around them keeps its order.
        wait_for_steps(urls["own"], PLAIN_RUN, SHARED_TAG, 1)
        frame = open_at(b, urls["own"], {"runs": json.dumps([RTL_RUN, PLAIN_RUN]), "tag": SHARED_TAG, "mode": "diff-runs"})
        frame.wait_for_function("() => document.querySelectorAll('.column-note bdi').length === 2")
        for sel in (".column-title", ".column-note"):
            parts = frame.evaluate(
                "s => Array.from(document.querySelectorAll(s + ' bdi')).map(e => [e.textContent, getComputedStyle(e).unicodeBidi])", sel)
            assert parts == [[RTL_RUN, "isolate"], [PLAIN_RUN, "isolate"]], (sel, parts)
        assert frame.locator(".column-title").text_content() == "%s − %s" % (RTL_RUN, PLAIN_RUN)
        assert frame.locator(".column-note").text_content() == "%s step 0 − %s step 0" % (RTL_RUN, PLAIN_RUN)
        b.check_clean()
    finally:
        b.close()
