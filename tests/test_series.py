"""The /ranges, /weight_change (tb_plugin/series.py) and /weight_stats routes through TensorBoard's WSGI app."""

import json
from urllib.parse import urlencode

import numpy as np
import pytest
import werkzeug.test
import werkzeug.wrappers
from tensorboard.backend import application
from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
from tensorboard.plugins import base_plugin

from tensorboard.compat.proto import summary_pb2
from tensorboard.util import tensor_util

from tb_plugin.backend import data_access, plugin, series
from tb_plugin.format import encoding, metadata
from tb_plugin import summary
from tb_plugin.kinds import weights

PREFIX = "/data/plugin/internals"
RNG = np.random.RandomState(11)


def make_app(logdir):
    mux = plugin_event_multiplexer.EventMultiplexer(tensor_size_guidance={metadata.PLUGIN_NAME: 0})
    mux.AddRunsFromDirectory(str(logdir))
    mux.Reload()
    provider = data_provider.MultiplexerDataProvider(mux, str(logdir))
    instance = plugin.InternalsLoader().load(base_plugin.TBContext(logdir=str(logdir), data_provider=provider))
    client = werkzeug.test.Client(application.TensorBoardWSGI([instance], data_provider=provider), werkzeug.wrappers.Response)
    return client, instance


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("series")
    logged = {}
    with summary.Writer(str(logdir / "run")) as w:
        for step in range(4):
            kernel = RNG.randn(6, 5).astype(np.float32) * (1 + step)
            if step == 2:
                kernel[0, 0] = np.nan  # a non-finite weight: ranges skip it
            w.weights("dense/kernel", kernel, step=step, encoding="f32", layer="dense", layer_class="Dense")
            logged["dense/kernel", step] = kernel
            act = RNG.randn(3, 4, 4, 2).astype(np.float32) + step
            w.activations("conv", act, step=step)
            logged["conv", step] = act
        w.weights("zero/bias", np.zeros(3, np.float32), step=0, encoding="f32")
        w.weights("zero/bias", np.ones(3, np.float32), step=1, encoding="f32")
        # The exact change series of dense/kernel, as the callback writes it (tb_plugin/core/logger.py write_weights).
        previous = None
        for step in range(4):
            vector = weights.weight_stats(logged["dense/kernel", step], previous)
            previous = logged["dense/kernel", step]
            layout = {"fields": weights.WEIGHT_STATS_FIELDS, "bins": weights.WEIGHT_STATS_BINS, "units": 5}
            w._write_value(summary_pb2.Summary.Value(
                tag="weight_stats/dense/kernel",
                metadata=metadata.create_weight_stats_metadata(layout, "weights/dense/kernel", layer="dense"),
                tensor=tensor_util.make_tensor_proto(vector)), step)
        w._write_value(summary_pb2.Summary.Value(  # a malformed vector: reported, not guessed at
            tag="weight_stats/dense/kernel",
            metadata=metadata.create_weight_stats_metadata(layout, "weights/dense/kernel"),
            tensor=tensor_util.make_tensor_proto(np.zeros(3))), 4)
    return logdir, logged


@pytest.fixture(scope="module")
def app(logs):
    return make_app(logs[0])


def get(client, route, status, **params):
    response = client.get("%s/%s?%s" % (PREFIX, route, urlencode(params)))
    assert response.status_code == status, response.get_data()[:300]
    assert response.mimetype == "application/json"
    return json.loads(response.get_data())


def decoded(logged, tag, step):
    return encoding.decode(encoding.encode(logged[tag, step], "f32" if tag.startswith("dense") else "q8"))


def test_ranges_match_numpy_on_the_decoded_values(app, logs):
    client, _ = app
    _, logged = logs
    for tag in ("dense/kernel", "conv"):
        assert "channel_min" not in get(client, "ranges", 200, run="run", tag=tag)  # per channel only when asked
        answer = get(client, "ranges", 200, run="run", tag=tag, channels=1)
        assert answer["steps"] == [0, 1, 2, 3]
        for i, step in enumerate(answer["steps"]):
            values = decoded(logged, tag, step).astype(np.float64).ravel()
            values = values[np.isfinite(values)]
            assert answer["min"][i] == pytest.approx(values.min(), abs=1e-6)
            assert answer["max"][i] == pytest.approx(values.max(), abs=1e-6)
            assert answer["p01"][i] == pytest.approx(np.percentile(values, 1), abs=1e-6)
            assert answer["p99"][i] == pytest.approx(np.percentile(values, 99), abs=1e-6)
            # Per channel (the last axis), finite values only.
            columns = decoded(logged, tag, step).astype(np.float64).reshape(-1, logged[tag, step].shape[-1])
            for c in range(columns.shape[1]):
                col = columns[:, c][np.isfinite(columns[:, c])]
                assert answer["channel_min"][i][c] == pytest.approx(col.min(), abs=1e-6)
                assert answer["channel_max"][i][c] == pytest.approx(col.max(), abs=1e-6)
                assert answer["channel_p01"][i][c] == pytest.approx(np.percentile(col, 1), abs=1e-6)
                assert answer["channel_p99"][i][c] == pytest.approx(np.percentile(col, 99), abs=1e-6)


def test_weight_change_matches_numpy(app, logs):
    client, _ = app
    _, logged = logs
    answer = get(client, "weight_change", 200, run="run", tag="dense/kernel")
    assert answer["steps"] == [0, 1, 2, 3]
    w = [logged["dense/kernel", s].astype(np.float64) for s in range(4)]
    assert answer["relative_change"][0] is None and answer["relative_to_first"][0] is None
    # Step 2 holds a NaN: its changes are not finite, so null.
    assert answer["relative_change"][1] == pytest.approx(np.linalg.norm(w[1] - w[0]) / np.linalg.norm(w[0]))
    assert answer["relative_change"][2] is None and answer["relative_change"][3] is None
    assert answer["relative_to_first"][1] == pytest.approx(np.linalg.norm(w[1] - w[0]) / np.linalg.norm(w[0]))
    assert answer["norm"][0] == pytest.approx(np.linalg.norm(w[0]))
    assert answer["norm"][2] is None
    # From zero to non-zero: an infinite change is null, not a JSON Infinity.
    zero = get(client, "weight_change", 200, run="run", tag="zero/bias")
    assert zero["relative_change"] == [None, None] and zero["norm"] == [0.0, pytest.approx(np.sqrt(3))]


def test_weight_stats_serves_the_exact_series(app, logs):
    client, _ = app
    _, logged = logs
    answer = get(client, "weight_stats", 200, run="run", tag="weight_stats/dense/kernel")
    assert answer["steps"] == [0, 1, 2, 3] and answer["unreadable_steps"] == [4]
    w = [logged["dense/kernel", s].astype(np.float64) for s in range(4)]
    assert answer["relative_change"][0] is None  # no previous snapshot: NaN, served as null
    # Differences are taken in float32 (weights.weight_stats): within float32 rounding of the float64 ones.
    assert answer["relative_change"][1] == pytest.approx(np.linalg.norm(w[1] - w[0]) / np.linalg.norm(w[0]), rel=1e-6)
    assert answer["relative_change"][2] is None  # a NaN weight
    assert answer["norm"][1] == pytest.approx(np.linalg.norm(w[1]), rel=1e-12)
    assert answer["update_ratio"] == [None] * 4  # not known outside the callback
    assert answer["units"] == [5] * 4
    assert "weight_stats" in get(client, "weight_stats", 400, run="run", tag="dense/kernel")["error"]
    assert get(client, "weight_stats", 404, run="run", tag="weight_stats/nope")["error"]


def test_wrong_kind_is_400_unknown_is_404_missing_is_400(app):
    client, _ = app
    assert "weights" in get(client, "weight_change", 400, run="run", tag="conv")["error"]
    assert get(client, "ranges", 404, run="run", tag="nope")["error"]
    assert get(client, "ranges", 404, run="nope", tag="conv")["error"]
    assert get(client, "weight_change", 404, run="nope", tag="dense/kernel")["error"]
    assert get(client, "ranges", 400, run="run")["error"]
    assert "channels" in get(client, "ranges", 400, run="run", tag="conv", channels="yes")["error"]


def test_second_request_reads_no_payloads(app, monkeypatch):
    client, _ = app
    get(client, "ranges", 200, run="run", tag="conv")
    calls = []
    real = data_access.Catalog.read_payload
    monkeypatch.setattr(data_access.Catalog, "read_payload", lambda self, *a, **k: calls.append(a) or real(self, *a, **k))
    get(client, "ranges", 200, run="run", tag="conv")
    assert calls == []  # cached: no payload read
    get(client, "weight_change", 200, run="run", tag="dense/kernel")
    first = len(calls)  # weight_change may be computed here for the first time (one read per step)
    get(client, "weight_change", 200, run="run", tag="dense/kernel")
    get(client, "ranges", 200, run="run", tag="conv")
    assert len(calls) == first


def test_series_functions_on_empty_and_nonfinite():
    assert series.step_range(np.array([np.nan, np.inf])) == (None, None, None, None)
    r = series.value_ranges([(-1, np.arange(101.0)), (0, np.array([]))])
    assert r["steps"] == [-1, 0] and r["min"] == [0.0, None] and r["p99"][0] == pytest.approx(99.0)
    c = series.change_series([(0, np.ones(3)), (1, np.ones(4))])
    assert c["relative_change"] == [None, None]


def test_step_range_percentiles_equal_numpy():
    rng = np.random.RandomState(2)
    for n in (1, 2, 3, 7, 100, 1001):
        x = rng.randn(n).astype(np.float32)
        lo, hi, p01, p99 = series.step_range(x)
        want = np.percentile(x.astype(np.float64), [1, 99])
        assert (lo, hi) == (float(x.min()), float(x.max()))
        assert p01 == pytest.approx(want[0], rel=1e-12, abs=1e-12) and p99 == pytest.approx(want[1], rel=1e-12, abs=1e-12)
