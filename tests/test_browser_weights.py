"""The weights and architecture views, in a real browser and a real TensorBoard.

A tiny Keras model (conv on 3-channel input, two dense layers) is logged
with the real `InternalsCallback`; a second run, written with the TF-free
Writer, holds non-finite weights, a conv kernel with 2 input channels and a
rank-5 variable. The tab is checked against Keras' own values
(`get_weights()`, `count_params()`) and numpy: the landing page's layer
table, filter and matrix pixels, hover read-outs, sparsity, pruning kept
fractions, PCA explained variance, relative change (the callback's exact
series; the full-weights fallback for a Writer run without it), the
logging plan on the architecture page, the circuit's edges, the RGB
composite's keyboard cursor, the non-finite flag and the generic view.
Screenshots go to tests/artifacts.
"""

import os

import numpy as np

from colormaps import COOLWARM_RGB, lookup
import pytest

from conftest import running_tensorboard, wait_for_steps
from test_browser import canvas_pixel, cell_centre, select_tag, wait_step

RUN, ODD, STACK = "keras", "odd", "stack"
STACK_LAYERS = ["d1", "d2", "d3"]
EPOCHS = 2
BATCHES = 2  # 32 samples in batches of 16
# The callback logs step -1 (before training) and e after epoch e, as Keras's TensorBoard.
FIRST, LAST = -1, EPOCHS - 1

def diverging(v, m):
    """The colour of v on [-m, m]: the nearest of the cool-warm table's 256 entries (tests/colormaps.py)."""
    return list(lookup(COOLWARM_RGB, (v + m) / (2 * m)))


def close(a, b, tol=2):
    return all(abs(int(x) - int(y)) <= tol for x, y in zip(a, b))


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    import keras

    from tb_plugin.keras import InternalsCallback
    from tb_plugin.summary import Writer

    root = tmp_path_factory.mktemp("weights_logs")
    keras.utils.set_random_seed(2)
    model = keras.Sequential(
        [
            keras.Input((6, 6, 3)),
            keras.layers.Conv2D(4, 3, activation="relu", name="conv1"),
            keras.layers.Flatten(name="flat"),
            keras.layers.Dense(6, activation="relu", name="hidden"),
            keras.layers.Dense(3, name="out"),
        ]
    )
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (32, 6, 6, 3)).astype("float32")
    y = rng.normal(size=(32, 3)).astype("float32")
    truth = {}
    epoch_now = [0]

    class Truth(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            truth[FIRST] = {l.name: [w.copy() for w in l.get_weights()] for l in self.model.layers}

        def on_epoch_begin(self, epoch, logs=None):
            epoch_now[0] = epoch

        def on_train_batch_begin(self, batch, logs=None):
            if batch == BATCHES - 1:  # before the epoch's last batch: its update-to-weight ratio
                truth["before_last", epoch_now[0]] = {l.name: [w.copy() for w in l.get_weights()] for l in self.model.layers}

        def on_epoch_end(self, epoch, logs=None):
            truth[epoch] = {l.name: [w.copy() for w in l.get_weights()] for l in self.model.layers}

    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.fit(x, y, epochs=EPOCHS, batch_size=16, verbose=0,
              callbacks=[InternalsCallback(str(root / RUN), probe_data=x[:4]), Truth()])
    odd = {}
    bad = rng.normal(size=(5, 4)).astype("float32")
    bad[1, 2], bad[3, 0], bad[4, 3] = np.nan, np.inf, -np.inf
    odd["weights/bad/kernel"] = bad
    odd["weights/c2/kernel"] = rng.normal(size=(3, 3, 2, 5)).astype("float32")
    odd["weights/odd/w5"] = rng.normal(size=(2, 2, 2, 2, 3)).astype("float32")
    # Three stored steps of a variable and no exact change series: the change chart falls back to them.
    odd["weights/plain/kernel", "steps"] = [rng.normal(size=(4, 3)).astype("float32") * (1 + 0.3 * k) for k in range(3)]
    with Writer(str(root / ODD)) as w:
        for tag, value in odd.items():
            if isinstance(tag, tuple):
                for step, v in enumerate(value):
                    w.weights(tag[0], v, step=step, encoding="f32", layer="plain", layer_class="Custom")
                continue
            w.weights(tag, value, step=0, encoding="f32", layer=tag.split("/")[1], layer_class="Custom")
    counts = {l.name: l.count_params() for l in model.layers}

    # A small dense stack (5 -> 12 -> 40 -> 3): the circuit draws all three layers.
    keras.utils.set_random_seed(3)
    stack = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(12, activation="relu", name="d1"),
            keras.layers.Dense(40, activation="tanh", name="d2"),
            keras.layers.Dense(3, name="d3"),
        ]
    )
    xs = rng.normal(size=(32, 5)).astype("float32")
    stack.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    stack.fit(xs, rng.normal(size=(32, 3)).astype("float32"), epochs=EPOCHS, batch_size=16, verbose=0,
              callbacks=[InternalsCallback(str(root / STACK), probe_data=xs[:4])])
    return str(root), truth, odd, counts


@pytest.fixture(scope="module")
def url(logs):
    with running_tensorboard(logs[0], "true") as base:
        wait_for_steps(base, RUN, "weights/out/kernel", EPOCHS + 1)
        wait_for_steps(base, ODD, "weights/odd/w5", 1)
        wait_for_steps(base, STACK, "weights/d3/kernel", EPOCHS + 1)
        yield base


@pytest.fixture
def tensorboard_url(url):
    return url


def wait_weights(frame, tag, step):
    frame.wait_for_function(
        "tag => document.querySelector('.weights-view .tag-name')?.textContent === tag", arg=tag, timeout=15000
    )
    wait_step(frame, step)


def test_architecture_landing_and_weights_views(browser, url, logs, artifacts_dir):
    _, truth, _, counts = logs
    page = browser.page
    frame = browser.open_tab(url)

    # Landing page: the architecture overview of the first run.
    frame.wait_for_selector(".arch-view .arch-row", timeout=15000)
    rows = frame.evaluate(
        "() => Array.from(document.querySelectorAll('.arch-row')).map(r => [r.dataset.path,"
        " r.querySelector('.arch-class').textContent, r.querySelector('.arch-params').textContent,"
        " r.querySelector('.arch-shape').textContent])"
    )
    assert [r[0] for r in rows] == ["conv1", "flat", "hidden", "out"]
    for path, cls, params, _ in rows:
        assert int(params.replace(",", "")) == counts[path]
    assert rows[0][1] == "Conv2D" and rows[0][3] == "(None, 4, 4, 4)"
    total = frame.locator(".arch-view .view-summary").text_content()
    assert "%s parameters" % format(sum(counts.values()), ",") in total
    # The logging plan under the layer table, as the run logged it (the document read here).
    plan = fetch_json(url, "data", run=RUN, tag="logging_plan", step=0)  # logged once, at step 0
    frame.wait_for_selector(".logging-plan", timeout=15000)
    summary = frame.locator(".plan-summary").text_content()
    assert "At most %s per snapshot, %s on average; budget %s per snapshot, within it." % (
        mib(plan["bytes_largest_snapshot"]), mib(plan["bytes_per_snapshot"]), mib(plan["budget_bytes"])) == summary
    assert frame.locator(".plan-block[data-block=reductions] h4").text_content() == "Nothing reduced"
    # Every layer output's map keeps all 4 probe samples (nothing over this small model's budget).
    maps = frame.evaluate("() => Array.from(document.querySelectorAll('.plan-maps tbody tr')).map(r => [r.dataset.tag, r.cells[1].textContent])")
    assert maps == [[m["tag"], "4 of 4"] for m in plan["maps"]] and len(maps) == 4
    cadence = frame.evaluate("() => Array.from(document.querySelectorAll('.plan-vars tbody tr')).map(r => [r.dataset.tag, r.cells[1].textContent, r.cells[3].textContent])")
    kernels = {"weights/%s/%s" % (l, v): a.size for l in ("conv1", "hidden", "out") for v, a in zip(("kernel", "bias"), truth[LAST][l])}
    assert sorted(cadence) == sorted([t, format(n, ","), "every snapshot"] for t, n in kernels.items())
    page.screenshot(path=os.path.join(artifacts_dir, "weights_architecture.png"))

    # Row links: conv1's kernel.
    frame.locator(".arch-row[data-path='conv1'] .arch-link-weights", has_text="kernel").click()
    wait_weights(frame, "weights/conv1/kernel", LAST)
    kernel = truth[LAST]["conv1"][0]  # [3, 3, 3, 4]
    m = np.abs(kernel).max()
    assert frame.locator(".weights-channel").input_value() == "rgb"
    for o, r, c in ((0, 0, 0), (3, 1, 2), (2, 2, 1)):
        got = frame.evaluate(
            "([o, r, c]) => Array.from(document.querySelector(`.weights-filter[data-panel='filter-${o}'] canvas`)"
            ".getContext('2d').getImageData(c, r, 1, 1).data).slice(0, 3)",
            [o, r, c],
        )
        expected = [int(np.clip(np.round(127.5 + 127.5 * kernel[r, c, ch, o] / m), 0, 255)) for ch in range(3)]
        assert close(got, expected, 1), (o, r, c, got, expected)
    # One input channel at a time: pixel = the diverging colour of that weight.
    frame.locator(".weights-channel").select_option("1")
    for o, r, c in ((1, 0, 2), (3, 2, 2)):
        assert close(canvas_pixel(frame, "filter-%d" % o, r, c), diverging(kernel[r, c, 1, o], m)), (o, r, c)
    page.mouse.move(*cell_centre(frame, "filter-3", 2, 2))
    frame.wait_for_function("() => document.querySelector('.readout-where').textContent.includes('filter 3')")
    assert np.float32(float(frame.locator(".readout-value").text_content())) == kernel[2, 2, 1, 3]
    frame.locator(".weights-channel").select_option("rgb")
    page.mouse.move(5, 5)
    # The RGB composite's keyboard cursor: focusable, arrow keys move it, the read-out is the hover's.
    rgb = frame.locator(".weights-filter[data-panel='filter-2'] canvas")
    assert rgb.get_attribute("tabindex") == "0"
    rgb.focus()
    for key in ("ArrowRight", "ArrowRight", "ArrowDown", "ArrowRight"):  # clamps at the last column
        page.keyboard.press(key)
    frame.wait_for_function("() => document.querySelector('.readout-where').textContent === 'filter 2, row 1, col 2'")
    shown = frame.locator(".readout-value").text_content()
    parts = shown.split(", ")
    assert [p.split(" ")[0] for p in parts] == ["R", "G", "B"], shown
    assert [np.float32(float(p.split(" ")[1])) for p in parts] == [kernel[1, 2, ch, 2] for ch in range(3)], shown
    assert frame.locator(".weights-filter[data-panel='filter-2'] .hm-cursor").is_visible()
    page.keyboard.press("Escape")
    frame.wait_for_function("() => document.querySelector('.readout-value').textContent === '–'")
    shoot(frame, artifacts_dir, "weights_conv.png")

    # PCA of the conv filters: explained variance as numpy's SVD says.
    ratios = np.array(frame.evaluate("() => JSON.parse(document.querySelector('.weights-pca-ratios').dataset.ratios)"))
    samples = kernel.reshape(-1, 4).T.astype(np.float64)
    s = np.linalg.svd(samples - samples.mean(axis=0), compute_uv=False)
    assert np.allclose(ratios, (s**2 / (s**2).sum())[: len(ratios)], atol=1e-6)

    # The dense layer: heatmap, hover, sparsity, pruning, change, circuit.
    select_tag(frame, "weights/hidden/kernel")
    wait_weights(frame, "weights/hidden/kernel", LAST)
    w = truth[LAST]["hidden"][0]  # [64, 6]
    m = np.abs(w).max()
    for i, j in ((0, 0), (10, 3), (63, 5)):
        assert close(canvas_pixel(frame, "matrix", i, j), diverging(w[i, j], m)), (i, j)
    page.mouse.move(*cell_centre(frame, "matrix", 10, 3))
    frame.wait_for_function("() => document.querySelector('.readout-where').textContent === 'input 10, output 3'")
    assert np.float32(float(frame.locator(".readout-value").text_content())) == w[10, 3]
    frame.locator(".weights-threshold").fill("0.05")
    frame.locator(".weights-threshold").dispatch_event("change")
    frame.wait_for_function("() => document.querySelector('.weights-sparsity').dataset.fraction !== undefined")
    sparsity = float(frame.locator(".weights-sparsity").get_attribute("data-fraction"))
    assert sparsity == pytest.approx(np.mean(np.abs(w) < 0.05))
    # Relative change vs the previous snapshot and the last batch's update-to-weight ratio, at the last
    # step: the callback's exact series (weight_stats), against numpy on Keras' values.
    frame.wait_for_function("() => /vs previous snapshot/.test(document.querySelector('[data-chart=weights-change] .chart-value').textContent)")
    text = frame.locator("[data-chart=weights-change] .chart-value").text_content()
    prev, before_last = truth[LAST - 1]["hidden"][0], truth["before_last", LAST]["hidden"][0]
    rel_prev = np.linalg.norm((w - prev).astype(np.float64)) / np.linalg.norm(prev.astype(np.float64))
    update = np.linalg.norm((w - before_last).astype(np.float64)) / np.linalg.norm(w.astype(np.float64))
    assert "vs previous snapshot %s · update / weight %s" % (fmt4(rel_prev), fmt4(update)) in text, text
    source = frame.locator(".weights-change-source")
    assert source.get_attribute("data-source") == "weight_stats"
    assert "Exact, at every snapshot" in source.text_content() and "weight_stats/hidden/kernel" in source.text_content()
    assert frame.locator("[data-chart=weights-change] circle, [data-chart=weights-change] path").count() > 0
    # Pruning half the weights: kept fractions as numpy computes them, and the picture shows zeros.
    frame.locator(".weights-prune").fill("0.5")
    frame.wait_for_function("() => document.querySelector('.weights-prune-text').textContent.startsWith('50.0%')")
    order = np.sort(np.abs(w).ravel())
    removed = int(np.floor(0.5 * w.size))
    norm_kept = np.sqrt((order[removed:] ** 2).sum() / (order**2).sum())
    ds = frame.locator(".weights-prune-text")
    assert float(ds.get_attribute("data-weights-kept")) == pytest.approx((w.size - removed) / w.size)
    assert float(ds.get_attribute("data-norm-kept")) == pytest.approx(norm_kept, rel=1e-6)
    small = tuple(int(i) for i in np.unravel_index(np.argmin(np.abs(w)), w.shape))
    big = tuple(int(i) for i in np.unravel_index(np.argmax(np.abs(w)), w.shape))
    # Pruned weights get a neutral dark grey of their own (not the map's zero), named in the legend.
    assert close(canvas_pixel(frame, "matrix", *small), (64, 64, 64))
    assert "pruned weights painted dark grey" in frame.locator(".weights-view .legend-mode").text_content()
    assert close(canvas_pixel(frame, "matrix", *big), diverging(w[big], m))
    # The circuit: 64 x 6 is drawn with the top 3 edges per output, then out's 6 x 3 (pruned too: the 9 largest).
    frame.wait_for_selector(".weights-circuit[data-prune='0.5'][data-layers='2']", state="attached")
    assert int(frame.locator(".weights-circuit").get_attribute("data-edges")) == 6 * 3
    assert int(frame.locator(".circuit-layer[data-tag='weights/out/kernel']").get_attribute("data-edges")) == 6 * 3 // 2
    shoot(frame, artifacts_dir, "weights_dense.png")

    # The small output layer: every edge drawn, thickness by |w|, colour by sign.
    select_tag(frame, "weights/out/kernel")
    wait_weights(frame, "weights/out/kernel", LAST)
    wo = truth[LAST]["out"][0]
    # The stack hidden -> out (conv1 before it has other weights): out's own edges.
    frame.wait_for_selector(".weights-circuit[data-layers='2'] .circuit-layer-shown[data-tag='weights/out/kernel']", state="attached")
    edges = frame.evaluate(
        "() => Array.from(document.querySelectorAll('.circuit-layer-shown line')).map(l =>"
        " [+l.dataset.input, +l.dataset.output, l.getAttribute('class'), +l.getAttribute('stroke-width')])"
    )
    assert len(edges) == wo.size
    for i, o, cls, width in edges:
        assert ("edge-pos" in cls) == (wo[i, o] >= 0)
        assert width == pytest.approx(0.3 + 3.7 * abs(wo[i, o]) / np.abs(wo).max(), abs=0.01)
    # Change since the first step, as its own heatmap.
    frame.locator(".weights-mode").select_option("first")
    frame.wait_for_function("() => document.querySelector('.weights-note').textContent.startsWith('Change from before training')")
    # The delta says which two stored full snapshots it subtracts.
    assert "the stored full weights of step %d minus those of before training" % LAST in frame.locator(".weights-note").first.text_content()
    d = wo - truth[FIRST]["out"][0]
    dm = np.abs(d).max()
    for i, j in ((0, 0), (4, 2)):
        assert close(canvas_pixel(frame, "matrix", i, j), diverging(d[i, j], dm)), (i, j)
    shoot(frame, artifacts_dir, "weights_change.png")
    browser.check_clean()


def shoot(frame, artifacts_dir, name):
    """The whole weights view (it is taller than the viewport and scrolls inside the tab)."""
    page = frame.page
    page.set_viewport_size({"width": 1440, "height": 2000})
    try:
        frame.locator(".weights-view").screenshot(path=os.path.join(artifacts_dir, name))
    finally:
        page.set_viewport_size({"width": 1440, "height": 900})


def fmt4(v):
    """formatTick: 4 significant digits, trailing zeros dropped."""
    text = "%.4g" % v if 1e-3 <= abs(v) < 1e5 else "%.3e" % v
    if "e" in text:
        mant, exp = text.split("e")
        mant = mant.rstrip("0").rstrip(".") if "." in mant else mant
        return "%se%s" % (mant, "%+d" % int(exp))
    return text.rstrip("0").rstrip(".") if "." in text else text


def fetch_json(url, route, **params):
    import json
    from urllib.parse import urlencode

    from conftest import http_get

    status, _, body = http_get("%s/data/plugin/internals/%s?%s" % (url, route, urlencode(params)))
    assert status == 200, body[:300]
    return json.loads(body)


def mib(b):
    """Bytes as the plan section prints them (views/model_summary/logging_plan.js formatBytes)."""
    if b >= 2**20:
        return "%.1f MiB" % (b / 2**20)
    if b >= 1024:
        return "%.1f KiB" % (b / 1024)
    return "%s bytes" % format(b, ",")


def test_change_chart_falls_back_to_the_stored_full_weights(browser, url, logs):
    _, _, odd, _ = logs
    frame = browser.open_tab(url)
    frame.wait_for_selector(".arch-view", timeout=15000)
    frame.locator(".run-select").select_option(ODD)
    select_tag(frame, "weights/plain/kernel")
    wait_weights(frame, "weights/plain/kernel", 2)
    w0, w1, w2 = (v.astype(np.float64) for v in odd["weights/plain/kernel", "steps"])
    frame.wait_for_function("() => /vs previous/.test(document.querySelector('[data-chart=weights-change] .chart-value').textContent)")
    text = frame.locator("[data-chart=weights-change] .chart-value").text_content()
    rel_prev = np.linalg.norm(w2 - w1) / np.linalg.norm(w1)
    rel_first = np.linalg.norm(w2 - w0) / np.linalg.norm(w0)
    assert "vs previous %s · vs first %s" % (fmt4(rel_prev), fmt4(rel_first)) in text, text
    source = frame.locator(".weights-change-source")
    assert source.get_attribute("data-source") == "full_weights"
    assert source.text_content().startswith("From the stored full weights")
    browser.check_clean()


def test_nonfinite_and_unusual_variables(browser, url, logs, artifacts_dir):
    _, _, odd, _ = logs
    page = browser.page
    frame = browser.open_tab(url)
    frame.wait_for_selector(".arch-view", timeout=15000)
    frame.locator(".run-select").select_option(ODD)
    select_tag(frame, "weights/bad/kernel")
    wait_weights(frame, "weights/bad/kernel", 0)
    flag = frame.locator(".weights-flag")
    assert flag.is_visible()
    assert "3 non-finite weights at step 0: 1 NaN, 1 +Inf, 1 −Inf" in flag.text_content()
    assert canvas_pixel(frame, "matrix", 1, 2)[:3] == [0x1F, 0xD1, 0x7A]  # NaN's own colour
    assert canvas_pixel(frame, "matrix", 3, 0)[:3] == [0xFA, 0xCC, 0x15]  # +Inf
    assert canvas_pixel(frame, "matrix", 4, 3)[:3] == [0x93, 0x33, 0xEA]  # -Inf
    shoot(frame, artifacts_dir, "weights_nonfinite.png")

    # Conv kernel with 2 input channels: no RGB; by default a grid of input channel x filter tiles,
    # each weight at least 12 px.
    select_tag(frame, "weights/c2/kernel")
    wait_weights(frame, "weights/c2/kernel", 0)
    assert frame.locator(".weights-channel option[value=rgb]").count() == 0
    assert frame.locator(".weights-channel").input_value() == "grid"
    k = odd["weights/c2/kernel"]
    kh, kw, inc, out = k.shape
    assert frame.locator(".weights-tile").count() == inc * out
    tile = frame.locator(".weights-tile[data-panel='tile-1-3'] canvas")
    box = tile.bounding_box()
    assert box["width"] / kw >= 12 and box["height"] / kh >= 12
    page.mouse.move(box["x"] + 2.5 * box["width"] / kw, box["y"] + 1.5 * box["height"] / kh)
    frame.wait_for_function("() => document.querySelector('.readout-where').textContent.includes('filter 3, input channel 1')")
    assert np.float32(float(frame.locator(".readout-value").text_content())) == np.float32(k[1, 2, 1, 3])
    # The mean over input channels, on request.
    frame.locator(".weights-channel").select_option("mean")
    assert frame.locator(".weights-filter").count() == 5
    mean = k.mean(axis=2)
    page.mouse.move(*cell_centre(frame, "filter-4", 1, 2))
    frame.wait_for_function("() => document.querySelector('.readout-where').textContent.includes('filter 4')")
    assert float(frame.locator(".readout-value").text_content()) == pytest.approx(mean[1, 2, 4], rel=1e-6)

    # Rank 5: the generic view, as a [prod(leading), last] matrix.
    select_tag(frame, "weights/odd/w5")
    wait_weights(frame, "weights/odd/w5", 0)
    assert "Rank-5 variable shown as a 16 × 3 matrix" in frame.locator(".weights-note").first.text_content()
    v = odd["weights/odd/w5"].reshape(16, 3)
    m = np.abs(v).max()
    assert close(canvas_pixel(frame, "matrix", 9, 1), diverging(v[9, 1], m))
    page.mouse.move(5, 5)
    shoot(frame, artifacts_dir, "weights_generic.png")
    browser.check_clean()


def pruned(w, fraction):
    """Magnitude pruning as the tab does it: the floor(fraction * n) smallest |w| zeroed (ties: first index first)."""
    flat = w.ravel()
    order = np.lexsort((np.arange(flat.size), np.abs(flat)))
    out = flat.copy()
    out[order[: int(np.floor(fraction * flat.size + 1e-9))]] = 0
    return out.reshape(w.shape)


def expected_edges(w, topk_at=300, k=3):
    """{(input, output): weight} the circuit draws: every non-zero edge, or the top k by |w| per output when large."""
    n_in, n_out = w.shape
    edges = {}
    for o in range(n_out):
        ins = [i for i in range(n_in) if w[i, o] != 0]
        if n_in * n_out > topk_at:
            ins = sorted(ins, key=lambda i: (-abs(w[i, o]), i))[:k]
        for i in ins:
            edges[(i, o)] = w[i, o]
    return edges


def test_circuit_of_a_dense_stack(browser, url, logs, artifacts_dir):
    from tb_plugin.reader import Reader

    reader = Reader(logs[0])
    frame = browser.open_tab(url)
    frame.wait_for_selector(".arch-view", timeout=15000)
    frame.locator(".run-select").select_option(STACK)
    select_tag(frame, "weights/d2/kernel")
    wait_weights(frame, "weights/d2/kernel", LAST)
    kernels = {name: reader.read(STACK, "weights/%s/kernel" % name, LAST) for name in STACK_LAYERS}
    assert [kernels[n].shape for n in STACK_LAYERS] == [(5, 12), (12, 40), (40, 3)]

    def drawn():
        return frame.evaluate(
            "() => Array.from(document.querySelectorAll('.weights-circuit .circuit-layer')).map(g => [g.dataset.tag, +g.dataset.edges,"
            " Array.from(g.querySelectorAll('line')).map(l => [+l.dataset.input, +l.dataset.output, l.getAttribute('class'), +l.getAttribute('stroke-width')])])"
        )

    for fraction in (0, 0.5):
        if fraction:
            frame.locator(".weights-prune").fill(str(fraction))
        frame.wait_for_selector(".weights-circuit[data-prune='%s'][data-layers='3']" % fraction, state="attached")
        layers = drawn()
        assert [tag for tag, _, _ in layers] == ["weights/%s/kernel" % n for n in STACK_LAYERS]
        for (tag, count, lines), name in zip(layers, STACK_LAYERS):
            w = pruned(kernels[name], fraction)
            want = expected_edges(w)
            assert count == len(lines) == len(want), (name, fraction, count, len(want))
            assert {(i, o) for i, o, _, _ in lines} == set(want), (name, fraction)
            m = np.abs(w).max()
            for i, o, cls, width in lines:
                assert ("edge-pos" if want[(i, o)] >= 0 else "edge-neg") in cls, (name, i, o)
                assert width == pytest.approx(0.3 + 3.7 * abs(want[(i, o)]) / m, abs=0.01)
        # d2 (12 x 40 = 480 weights) is drawn top-3 per output, d1 and d3 whole.
        assert [c for _, c, _ in layers][1] <= 3 * 40
    # Columns of neurons: d1's 5 inputs, then 12, 40 and 3 outputs.
    columns = frame.evaluate(
        "() => [0, 1, 2, 3].map(c => document.querySelectorAll(`.weights-circuit circle[data-column='${c}']`).length)"
    )
    assert columns == [5, 12, 40, 3]
    assert frame.locator(".circuit-layer-name-shown").text_content() == "d2"
    shoot(frame, artifacts_dir, "weights_circuit_stack.png")
    browser.check_clean()
