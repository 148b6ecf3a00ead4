"""End-to-end test of the Internals tab in a real browser and a real TensorBoard.

Writes logs with `tb_plugin.summary.Writer`, starts TensorBoard (Rust data
server), opens the tab in Debian's chromium through Playwright and checks
what is drawn against values computed here in Python: pixel colours from the
colour map's control points (defined below, not read from the JS), read-outs
from `tb_plugin.reader.Reader`, and the browser decoder against
`tb_plugin.format.encoding.decode`.
"""

import base64
import json
import os
import struct
import time
import zlib
from urllib.parse import parse_qs, urlparse

import numpy as np

from colormaps import VIRIDIS_RGB, lookup
import pytest

from tb_plugin.format import encoding, metadata
from tb_plugin.reader import Reader
from tb_plugin.summary import Writer
from conftest import running_tensorboard, wait_for_steps
from playwright.sync_api import sync_playwright


RUN = "train"
HOSTILE_RUN = 'run <b>"x"</b> ✓/sub'
# Also hostile to URLs (&, ?, #, %, +), but without the characters (" and \)
# that the Rust data server cannot read blobs for (see hostile_blob_failure).
URL_HOSTILE_RUN = "run <i>&amp;</i> #1 ?x=1&y=%2F+ ✓/sub"
CONV, DENSE = "block1/conv1", "dense_1"
CONV_STEPS, DENSE_STEPS = [0, 1, 2], [0, 3, 6]
MAX_AT, MID_AT, NAN_AT = (1, 2), (3, 1), (4, 4)  # (row, col) in channel 0 of sample 0
FUTURE_TAG = "from_the_future"

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

# The tab's sequential colour map (viridis, from its published table; tests/colormaps.py).
SEQ_LOW = VIRIDIS_RGB[0]
NAN_RGB = (0xFF, 0x00, 0xFF)
COLOUR_TOLERANCE = 3  # the tab paints from a 256-entry table: <= ~1.5 off


def ember(t):
    """The sequential map's colour at t (named for the map it replaced; callers import this name)."""
    return lookup(VIRIDIS_RGB, t)



def expected_colour(array, value):
    """The colour of `value` with the range shared across the whole layer."""
    finite = array[np.isfinite(array)].astype(np.float64)
    lo, hi = finite.min(), finite.max()
    return ember((float(value) - lo) / (hi - lo))


def assert_colour(actual, expected, what):
    diff = max(abs(a - e) for a, e in zip(actual[:3], expected))
    assert diff <= COLOUR_TOLERANCE, "%s: got %s, expected %s" % (what, tuple(actual[:3]), tuple(round(e) for e in expected))


def png_pixels(data):
    """Decodes an 8-bit RGB/RGBA non-interlaced PNG (as Chromium writes) to rows of RGB."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and colour_type in (2, 6) and not interlace, header
    channels = 3 if colour_type == 2 else 4
    raw, stride = zlib.decompress(idat), width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x * channels:x * channels + 3]) for x in range(width)])
        previous = line
    return rows


# ---- logs ----


def conv_batch(step, rng):
    x = rng.uniform(-1.0, 1.0, size=(2, 6, 6, 3)).astype(np.float32)
    if step == 0:
        x[0, MAX_AT[0], MAX_AT[1], 0] = 4.0  # the layer's maximum
        x[0, MID_AT[0], MID_AT[1], 0] = 1.5
        x[0, NAN_AT[0], NAN_AT[1], 0] = np.nan
        x[1, 0, 0, 2] = np.inf
    elif step == 2:
        x[0, MAX_AT[0], MAX_AT[1], 0] = -4.0  # now the layer's minimum
    return x


def write_future_tag(logdir, tag):
    """A summary whose metadata says a newer plugin wrote it."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboard.util import tensor_util

    content = {"version": metadata.SCHEMA_VERSION + 1, "kind": "activations", "shape": [2], "dtype": "float32", "encoding": "q8"}
    value = summary_pb2.Summary.Value(
        tag=tag,
        metadata=summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(
                plugin_name=metadata.PLUGIN_NAME, content=json.dumps(content).encode()
            ),
            data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE,
        ),
        tensor=tensor_util.make_tensor_proto(np.array([encoding.encode(np.zeros(2))], dtype=object)),
    )
    writer = EventFileWriter(logdir, filename_suffix=".future")
    writer.add_event(event_pb2.Event(wall_time=time.time(), step=0, summary=summary_pb2.Summary(value=[value])))
    writer.close()


def write_logs(root):
    """The test's log directory: runs RUN and HOSTILE_RUN under `root` (a pathlib.Path)."""
    rng = np.random.default_rng(7)
    with Writer(str(root / RUN)) as w:
        for step in CONV_STEPS:
            w.activations(CONV, conv_batch(step, rng), step=step, description="First conv block")
        for step in DENSE_STEPS:
            w.activations(DENSE, rng.normal(size=(4, 10)).astype(np.float32), step=step)
        # Other ranks get generic views.
        w.activations("logits", rng.normal(size=(10,)), step=0)
        w.activations("attention/seq", rng.normal(size=(2, 5, 7)), step=0)
        w.activations("conv3d", rng.normal(size=(1, 3, 4, 4, 2)), step=0)
        w.activations("loss_scale", np.float32(3.5), step=0)
    write_future_tag(str(root / RUN), FUTURE_TAG)
    for run in (HOSTILE_RUN, URL_HOSTILE_RUN):
        with Writer(str(root.joinpath(*run.split("/")))) as w:
            for step in CONV_STEPS:
                w.activations(CONV, conv_batch(step, rng), step=step)
    return str(root)


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    return write_logs(tmp_path_factory.mktemp("browser_logs"))


@pytest.fixture(scope="module")
def tensorboard_url(logdir):
    with running_tensorboard(logdir, "true") as url:
        loaded = [(RUN, CONV, 3), (RUN, DENSE, 3), (RUN, "loss_scale", 1), (HOSTILE_RUN, CONV, 3), (URL_HOSTILE_RUN, CONV, 3)]
        for run, tag, count in loaded:
            wait_for_steps(url, run, tag, count)
        yield url


# ---- browser ----


def hostile_blob_failure(url):
    """The one request allowed to fail: HOSTILE_RUN's payloads.

    TensorBoard's Rust data server (2.21, --load_fast=true) cannot read blobs
    of runs whose names hold '"' or '\\' (400 "failed to parse blob key:
    BadJson ... expected a borrowed string"); the Python path reads them.
    The tab then shows that message as text, and Chromium logs the failed
    request as a console error. `/ranges` reads the same blobs (the colour
    range then falls back to the step's own, as the legend says).
    """
    return ("/data?" in url or "/ranges?" in url) and parse_qs(urlparse(url).query).get("run") == [HOSTILE_RUN]


class Browser:
    """One page with TensorBoard, recording console errors, page errors,
    CSP violations (in every frame) and requests leaving the origin."""

    def __init__(self, playwright, chromium_path, origin):
        self.browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        self.context = self.browser.new_context(viewport={"width": 1440, "height": 900}, color_scheme="light")
        # Runs in every frame before its scripts; not subject to the page's CSP.
        self.context.add_init_script(
            "window.__csp = [];"
            "document.addEventListener('securitypolicyviolation', e =>"
            " window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
        )
        self.page = self.context.new_page()
        self.errors, self.foreign = [], []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append("pageerror: %s" % e))
        self.failed = []
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append((r.status, r.url)))
        self.page.on(
            "request", lambda r: r.url.startswith((origin, "data:", "blob:")) or self.foreign.append(r.url)
        )

    def open_tab(self, url):
        self.page.goto(url + "/#internals")
        iframe = self.page.wait_for_selector('iframe[src*="plugin_entry.html?name=internals"]', timeout=30000)
        frame = iframe.content_frame()
        frame.wait_for_selector(".app, .empty, .notice", timeout=30000)
        return frame

    def check_clean(self, allow_failed=lambda url: False):
        """No console errors, page errors, CSP violations or outside requests.

        `allow_failed(url)` names failed requests that are expected: Chromium
        logs each as "Failed to load resource", which is then allowed too.
        """
        violations = [v for f in self.page.frames for v in (f.evaluate("window.__csp || []") or [])]
        assert violations == [], violations
        assert self.foreign == [], self.foreign
        unexpected = [(status, url) for status, url in self.failed if not allow_failed(url)]
        assert unexpected == [], unexpected
        resource = [e for e in self.errors if e.startswith("Failed to load resource")]
        assert len(resource) <= len(self.failed), self.errors
        assert [e for e in self.errors if e not in resource] == [], self.errors

    def close(self):
        self.context.close()
        self.browser.close()




def select_tag(frame, tag):
    frame.locator(".tag-item[data-tag='%s']" % tag).first.click()
    frame.wait_for_function(
        "tag => { const h = document.querySelector('.view .tag-name');"
        " return h && h.textContent === tag && !!document.querySelector('.view canvas.hm-canvas'); }",
        arg=tag,
    )


# The views' picture canvases (not the legend's colour bar, which is painted
# when the view is built) that are on screen (laid out, not in a hidden part,
# non-zero size) and painted: some pixel differs from a blank canvas
# (transparent, or opaque black for the `alpha: false` heatmaps).
PAINTED_CANVASES_JS = (
    "() => Array.from(document.querySelectorAll('.view canvas:not(.legend-bar)')).filter(c => {"
    " if (c.offsetParent === null || !c.width || !c.height) return false;"
    " const ctx = c.getContext('2d'); if (!ctx) return false;"
    " const d = ctx.getImageData(0, 0, c.width, c.height).data;"
    " for (let i = 0; i < d.length; i += 4) if (d[i] || d[i + 1] || d[i + 2] || (d[i + 3] && d[i + 3] !== 255)) return true;"
    " return false; }).length"
)


def painted_canvases(frame):
    return frame.evaluate(PAINTED_CANVASES_JS)


def wait_painted(frame, timeout=20000):
    """Waits until a canvas of the views is visible and painted (not merely in the document)."""
    frame.wait_for_function("() => (%s)() > 0" % PAINTED_CANVASES_JS, timeout=timeout)


def wait_step(frame, step):
    frame.wait_for_function(
        "s => document.querySelector('.step-label')?.textContent === 'step ' + s", arg=step, timeout=15000
    )


def canvas_pixel(frame, panel, row, col):
    return frame.evaluate(
        "([panel, row, col]) => Array.from(document.querySelector(`.hm[data-panel='${panel}'] canvas`)"
        ".getContext('2d').getImageData(col, row, 1, 1).data)",
        [panel, row, col],
    )


def canvas_size(frame, panel):
    return frame.evaluate(
        "panel => { const c = document.querySelector(`.hm[data-panel='${panel}'] canvas`); return [c.width, c.height]; }",
        panel,
    )


def cell_centre(frame, panel, row, col):
    """Page coordinates of the centre of cell (row, col) of a heatmap as displayed."""
    box = frame.locator(".hm[data-panel='%s'] canvas" % panel).bounding_box()
    width, height = canvas_size(frame, panel)
    return box["x"] + (col + 0.5) * box["width"] / width, box["y"] + (row + 0.5) * box["height"] / height


def displayed_pixel(page, frame, panel, row, col):
    """The colour on screen at the centre of cell (row, col) (after CSS upscaling)."""
    x, y = cell_centre(frame, panel, row, col)
    shot = page.screenshot(clip={"x": int(x) - 1, "y": int(y) - 1, "width": 3, "height": 3})
    return png_pixels(shot)[1][1]


def hover(page, frame, panel, row, col):
    page.mouse.move(*cell_centre(frame, panel, row, col))
    frame.wait_for_function(
        "text => document.querySelector('.readout-where').textContent.includes(text)", arg="row %d, col %d" % (row, col)
    )
    return frame.locator(".readout-value").text_content(), frame.locator(".readout-where").text_content()


def test_activations_tab(browser, tensorboard_url, logdir, artifacts_dir):
    page = browser.page
    reader = Reader(logdir)
    frame = browser.open_tab(tensorboard_url)
    frame.wait_for_selector(".tag-item")

    # Picker: runs and tags listed as text; the filter narrows the list.
    assert frame.locator(".run-select option").all_text_contents() == sorted([HOSTILE_RUN, URL_HOSTILE_RUN, RUN])
    frame.locator(".run-select").select_option(value=RUN)
    frame.locator(".tag-filter").fill("conv")
    assert frame.evaluate("() => Array.from(document.querySelectorAll('.tag-item:not([hidden])')).map(e => e.dataset.tag)") == [CONV, "conv3d"]
    select_tag(frame, CONV)
    frame.locator(".tag-filter").fill("")
    # This test reads colours on the per-step range (the fixed default is tested in test_browser_scales.py).
    frame.locator("select").filter(has=frame.locator("option[value=robust]")).select_option("step")
    frame.wait_for_function("() => document.querySelector('.legend-mode')?.textContent.startsWith('Per step')")

    # The latest step shows first; at step 2 the probe cell is the layer's minimum.
    wait_step(frame, 2)
    step2 = reader.read(RUN, CONV, 2)
    probe2 = step2[0, MAX_AT[0], MAX_AT[1], 0]
    assert_colour(canvas_pixel(frame, "ch0", *MAX_AT), expected_colour(step2, probe2), "step 2 probe")
    assert_colour(canvas_pixel(frame, "ch0", *MAX_AT), SEQ_LOW, "step 2 probe is the map's low end")

    # Scrub with the keyboard: Home goes to step 0.
    frame.locator(".step-slider").focus()
    page.keyboard.press("Home")
    wait_step(frame, 0)
    assert frame.locator(".step-value").text_content() == "Step 0"
    step0 = reader.read(RUN, CONV, 0)
    for at, what in [(MAX_AT, "max"), (MID_AT, "mid")]:
        value = step0[0, at[0], at[1], 0]
        want = expected_colour(step0, value)
        assert_colour(canvas_pixel(frame, "ch0", *at), want, "step 0 %s (canvas)" % what)
        assert_colour(displayed_pixel(page, frame, "ch0", *at), want, "step 0 %s (screen)" % what)
    assert_colour(canvas_pixel(frame, "ch0", *NAN_AT), NAN_RGB, "NaN")
    assert_colour(displayed_pixel(page, frame, "ch0", *NAN_AT), NAN_RGB, "NaN on screen")
    counts = {
        kind: frame.locator(".legend-special[data-kind=%s] .legend-count" % kind).text_content()
        for kind in ("nan", "posInf", "negInf")
    }
    assert counts == {"nan": "1", "posInf": "1", "negInf": "0"}

    # Hover read-out: the exact decoded value, with channel and position.
    value_text, where = hover(page, frame, "ch0", *MID_AT)
    assert np.float32(float(value_text)) == step0[0, MID_AT[0], MID_AT[1], 0]
    assert "channel 0" in where and "sample 0" in where and "step 0" in where
    assert "index [0, %d, %d, 0]" % MID_AT in where
    assert hover(page, frame, "ch0", *NAN_AT)[0] == "NaN"
    value_text, _ = hover(page, frame, "ch0", *MAX_AT)
    assert np.float32(float(value_text)) == step0[0, MAX_AT[0], MAX_AT[1], 0]
    page.screenshot(path=os.path.join(artifacts_dir, "internals_conv.png"))
    page.mouse.move(5, 5)

    # Arrow keys on the slider; then play/pause with k while focus is on the page.
    frame.locator(".step-slider").focus()
    page.keyboard.press("ArrowRight")
    wait_step(frame, 1)
    page.keyboard.press("End")
    wait_step(frame, 2)
    assert_colour(canvas_pixel(frame, "ch0", *MAX_AT), SEQ_LOW, "back at step 2")
    frame.locator(".step-slider").evaluate("e => e.blur()")
    page.keyboard.press("k")
    assert frame.locator(".btn-play").get_attribute("aria-pressed") == "true"
    wait_step(frame, 0)  # wraps from the last step to the first
    page.keyboard.press("k")
    assert frame.locator(".btn-play").get_attribute("aria-pressed") == "false"
    frame.locator(".step-slider").focus()
    page.keyboard.press("End")
    wait_step(frame, 2)

    # Per-channel colour scale: the probe is channel 0's minimum either way.
    frame.locator("select").filter(has=frame.locator("option[value=channel]")).select_option("channel")
    assert frame.locator(".legend-lo").text_content() == "own min"
    assert_colour(canvas_pixel(frame, "ch0", *MAX_AT), SEQ_LOW, "per channel")
    frame.locator("select").filter(has=frame.locator("option[value=channel]")).select_option("layer")

    # Dense: the user's step (2) is kept; the nearest logged step (3) is shown and labelled.
    select_tag(frame, DENSE)
    wait_step(frame, 3)
    assert frame.locator(".step-note").text_content() == "nearest to 2"
    assert canvas_size(frame, "strip") == [1, 10]
    assert canvas_size(frame, "matrix") == [4, 10]
    dense = reader.read(RUN, DENSE, 3)
    for sample in (0, 2):
        frame.locator("select").filter(has=frame.locator("option", has_text="Sample 1")).select_option(str(sample))
        for unit in (0, 4, 9):
            strip = canvas_pixel(frame, "strip", unit, 0)
            assert strip == canvas_pixel(frame, "matrix", unit, sample)
            assert_colour(strip, expected_colour(dense, dense[sample, unit]), "dense unit %d" % unit)
    page.mouse.move(*cell_centre(frame, "matrix", 4, 2))
    frame.wait_for_function("() => document.querySelector('.readout-where').textContent.includes('unit 4')")
    assert np.float32(float(frame.locator(".readout-value").text_content())) == dense[2, 4]
    page.screenshot(path=os.path.join(artifacts_dir, "internals_dense.png"))
    page.mouse.move(5, 5)

    # Back to the conv tag with the keyboard (arrow keys in the layer list):
    # the user's step 2 again, not the 3 shown for dense.
    frame.locator(".tag-radio:checked").focus()
    page.keyboard.press("ArrowUp")  # conv3d
    page.keyboard.press("ArrowUp")  # block1/conv1
    frame.wait_for_function("tag => document.querySelector('.view .tag-name')?.textContent === tag", arg=CONV)
    assert frame.evaluate("document.activeElement.value") == CONV
    wait_step(frame, 2)

    # Generic views for other ranks: no errors, one or more canvases.
    for tag, panel, size in [
        ("logits", "strip", [1, 10]),
        ("attention/seq", "sequence", [7, 5]),
        ("conv3d", "ch1", [4, 12]),
        ("loss_scale", "strip", [1, 1]),
    ]:
        select_tag(frame, tag)
        wait_step(frame, 0)
        assert frame.locator(".view-message").is_hidden()
        assert canvas_size(frame, panel) == size, tag

    # A tag written by a newer plugin version: its message, not a crash.
    frame.locator(".tag-item[data-tag='%s']" % FUTURE_TAG).click()
    frame.wait_for_selector(".tag-error")
    assert "newer" in frame.locator(".tag-error").text_content()
    page.screenshot(path=os.path.join(artifacts_dir, "internals_error.png"))

    # Hostile run names are text everywhere; names are URL-encoded, so data loads.
    frame.locator(".run-select").select_option(value=URL_HOSTILE_RUN)
    select_tag(frame, CONV)
    wait_step(frame, 2)
    assert frame.locator(".view .run-chip").text_content() == URL_HOSTILE_RUN
    hostile = reader.read(URL_HOSTILE_RUN, CONV, 2)
    assert_colour(canvas_pixel(frame, "ch0", 0, 0), expected_colour(hostile, hostile[0, 0, 0, 0]), "hostile run")
    frame.locator(".run-select").select_option(value=HOSTILE_RUN)
    frame.wait_for_function("run => document.querySelector('.view .run-chip')?.textContent === run", arg=HOSTILE_RUN)
    assert frame.locator(".run-select option:checked").text_content() == HOSTILE_RUN
    assert frame.locator("b, i").count() == 0
    # See hostile_blob_failure: either the picture, or the server's message as text.
    frame.wait_for_selector(".view canvas.hm-canvas, .view-message:not([hidden])")
    if frame.locator(".view-message").is_visible():
        assert "blob key" in frame.locator(".view-message").text_content()
    page.screenshot(path=os.path.join(artifacts_dir, "internals_hostile.png"))

    # Dark mode from TensorBoard's own theme menu; the tab follows.
    light_bg = frame.evaluate("getComputedStyle(document.body).backgroundColor")
    page.click('button[aria-label="Menu for changing light or dark theme"]')
    page.click('button[mat-menu-item]:has-text("Dark")')
    page.wait_for_function("document.body.classList.contains('dark-mode')")
    page.wait_for_selector("button[mat-menu-item]", state="detached")  # the menu has closed
    frame.wait_for_function("bg => getComputedStyle(document.body).backgroundColor !== bg", arg=light_bg)
    assert frame.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(48, 48, 48)"
    frame.locator(".run-select").select_option(value=RUN)
    select_tag(frame, CONV)
    wait_step(frame, 2)
    page.screenshot(path=os.path.join(artifacts_dir, "internals_dark.png"))

    # TensorBoard's reload reaches the tab (host message experimental.DataReloaded):
    # a new step appears, and as the user was at the latest step it is shown.
    with Writer(os.path.join(logdir, RUN)) as w:
        w.activations(CONV, conv_batch(3, np.random.default_rng(0)), step=3)
    wait_for_steps(tensorboard_url, RUN, CONV, 4)
    page.click("app-header-reload button")
    wait_step(frame, 3)
    assert frame.locator(".step-position").text_content() == "4 of 4"

    browser.check_clean(hostile_blob_failure)


def test_decoder_matches_python(browser, tensorboard_url):
    """frontend/decode.js gives the same float32 bits as encoding.decode, and clear errors."""
    frame = browser.open_tab(tensorboard_url)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 4, 5, 6)).astype(np.float32)
    x[0, 0, 0, 0], x[1, 2, 3, 4], x[2, 3, 4, 5] = np.nan, np.inf, -np.inf
    relu = np.maximum(x, 0)  # compressible: deflate
    relu[0, 1, 1, 1] = np.nan
    cases = {
        "q8": encoding.encode(x),
        "q8-deflate": encoding.encode(relu),
        "f32": encoding.encode(x, "f32"),
        "q8-small": encoding.encode(np.array([[-1.5, 0.0, 2.25]])),  # one channel, no compression
        "scalar": encoding.encode(np.float64(0.1), "f32"),
        "q8-f64": encoding.encode(rng.normal(size=(8, 40)) * 1e3),
    }
    compression = {name: encoding.read_header(p)[0]["compression"] for name, p in cases.items()}
    assert compression["q8"] == "none" and compression["q8-deflate"] == compression["f32"] == "deflate"
    good = cases["q8-deflate"]
    newer = bytearray(good)
    newer[4] = encoding.FORMAT_VERSION + 1
    corrupt = {
        "truncated": good[:-7],
        "trailing": good + b"\x00\x01",
        "newer": bytes(newer),
        "magic": b"NOPE" + good[4:],
        "short": good[:5],
        "uncompressed-truncated": cases["q8"][:-3],
    }
    script = """async ([cases, corrupt]) => {
        const { decodePayload } = await import(new URL("./static/decode.js", document.baseURI).href);
        const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
        const out = { decoded: {}, errors: {} };
        for (const [name, data] of Object.entries(cases)) {
            const t = await decodePayload(b64(data));
            const bytes = new Uint8Array(t.values.buffer);
            out.decoded[name] = { shape: t.shape, bytes: btoa(String.fromCharCode(...bytes)) };
        }
        for (const [name, data] of Object.entries(corrupt)) {
            try { await decodePayload(b64(data)); out.errors[name] = "no error"; }
            catch (e) { out.errors[name] = e.name + ": " + e.message; }
        }
        return out;
    }"""
    enc = lambda d: {k: base64.b64encode(v).decode() for k, v in d.items()}
    result = frame.evaluate(script, [enc(cases), enc(corrupt)])
    for name, payload in cases.items():
        want = encoding.decode(payload)
        got = np.frombuffer(base64.b64decode(result["decoded"][name]["bytes"]), "<f4").reshape(want.shape)
        assert result["decoded"][name]["shape"] == list(want.shape), name
        assert np.array_equal(got, want, equal_nan=True), name
        assert np.array_equal(np.signbit(got), np.signbit(want)), name
    errors = result["errors"]
    assert all(e.startswith("DecodeError: ") for e in errors.values()), errors
    assert "newer" in errors["newer"] and "upgrade" in errors["newer"]
    assert "not an internals payload" in errors["magic"]
    assert "too short" in errors["short"]
    assert "decompress" in errors["truncated"] or "truncated" in errors["truncated"]
    assert "decompress" in errors["trailing"]
    assert "header says" in errors["uncompressed-truncated"]
    browser.check_clean(hostile_blob_failure)


def test_empty_logdir(tmp_path, chromium_path, artifacts_dir):
    """With no internals data (tags == {}), the tab says how to log some."""
    empty = tmp_path / "empty"
    empty.mkdir()
    with running_tensorboard(str(empty), "true") as url, sync_playwright() as p:
        b = Browser(p, chromium_path, url)
        try:
            frame = b.open_tab(url)
            frame.wait_for_selector(".empty")
            text = frame.locator(".empty").text_content()
            assert "summary.Writer(logdir)" in text
            assert 'writer.activations("conv1", array, step=epoch)' in text
            assert "writer.as_default(step=epoch)" in text and "summary.activations(" in text
            b.page.screenshot(path=os.path.join(artifacts_dir, "internals_empty.png"))
            b.check_clean()
        finally:
            b.close()
