"""The class_stats kind: both writer doors, the reader, and the /class_stats, /class_pair and
/class_samples routes through TensorBoard's WSGI app (answers checked against numpy)."""

import json

import numpy as np
import pytest

from tensorboard.compat.proto import summary_pb2

from tb_plugin.kinds import class_stats
from tb_plugin.format import encoding, metadata
from tb_plugin import summary
from tb_plugin.reader import Reader

from test_routes import PREFIX, make_app

K, N = 4, 80


def _data(seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(N) % K
    hidden = rng.normal(size=(N, 6)) + y[:, None]
    conv = rng.normal(size=(N, 3, 3, 2)).astype(np.float32)
    p = np.where(rng.random(N) < 0.6, y, (y + 1) % K)
    return y, p, hidden, conv


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("class_stats_logs")
    y, p, hidden, conv = _data()
    images = np.random.default_rng(1).random((N, 5, 5, 1)).astype(np.float32)
    with summary.Writer(str(root / "writer")) as w:
        for step in (0, 1):
            w.class_stats("class_stats", step, labels=y, predictions=p if step else y, layers={"conv": conv, "hidden": hidden},
                          class_names=["w", "x", "y", "z"], thumbnails=images)
        w.activations("acts", hidden, step=0)
        # A class_stats step whose document is not one (written by hand): 422, never 500.
        for payload, tag in ((b"not json", "garbled"), (b'{"classes": 2, "layers": [1, 2]}', "malformed")):
            w._write_value(summary_pb2.Summary.Value(
                tag=tag, metadata=metadata.create_document_metadata(metadata.KIND_CLASS_STATS),
                tensor=w._stored([payload])), 0)
    return root, y, p, hidden, conv, images


def test_writer_stores_the_document_once_with_thumbnails_once(logdir):
    root, y, p, hidden, conv, images = logdir
    reader = Reader(str(root))
    doc = reader.read("writer", "class_stats", step=1)
    assert doc["confusion"] == np.bincount(y * K + p, minlength=K * K).reshape(K, K).tolist()
    np.testing.assert_allclose(doc["layers"][0]["mean"][2], conv[y == 2].astype(np.float64).mean(axis=(0, 1, 2)), rtol=1e-6)
    assert reader.tags()["writer"]["class_stats"]["class_names"] == ["w", "x", "y", "z"]
    assert reader.read("writer", "class_stats", step=0)["accuracy"] == 1.0


def test_tf_summary_door_writes_the_same_document(tmp_path):
    import tensorflow as tf

    y, p, hidden, conv = _data()
    writer = tf.summary.create_file_writer(str(tmp_path / "tf"))
    with writer.as_default(step=3):
        assert summary.class_stats("class_stats", y, p, {"conv": conv, "hidden": hidden}, class_names=list("wxyz"))

        @tf.function
        def graph(h):
            return summary.class_stats("in_graph", y, p, {"hidden": h}, step=4)

        assert graph(tf.constant(hidden))
    writer.close()
    with summary.Writer(str(tmp_path / "np")) as w:
        expected = w.class_stats("class_stats", 3, labels=y, predictions=p, layers={"conv": conv, "hidden": hidden},
                                 class_names=list("wxyz"))
    reader = Reader(str(tmp_path))
    assert reader.read("tf", "class_stats", step=3) == expected
    assert reader.read("tf", "in_graph", step=4)["layers"][0]["fisher"] == pytest.approx(expected["layers"][1]["fisher"])
    with tf.summary.create_file_writer(str(tmp_path / "bad")).as_default(step=1):
        with pytest.raises(ValueError, match="bad: .*5 values for 80 samples"):
            summary.class_stats("bad", y, p[:5], {})


def test_routes_serve_overview_pair_and_samples(logdir):
    root, y, p, hidden, conv, images = logdir
    client = make_app(root)
    r = client.get(PREFIX + "/class_stats", query_string={"run": "writer", "tag": "class_stats", "step": 1})
    assert r.status_code == 200
    overview = json.loads(r.data)
    assert "mean" not in overview["layers"][1] and overview["layers"][1]["path"] == "hidden"
    mean = np.stack([hidden[y == c].mean(0) for c in range(K)])
    cos = mean @ mean.T / np.outer(np.linalg.norm(mean, axis=1), np.linalg.norm(mean, axis=1))
    np.testing.assert_allclose(overview["layers"][1]["similarity"], cos, rtol=1e-6)
    r = client.get(PREFIX + "/class_pair", query_string={"run": "writer", "tag": "class_stats", "step": 1, "a": 1, "b": 2})
    pair = json.loads(r.data)
    assert r.status_code == 200 and pair["samples"] == np.nonzero((y == 1) & (p == 2))[0].tolist()
    np.testing.assert_allclose(pair["layers"][1]["difference"], mean[1] - mean[2], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pair["layers"][1]["mean_a"], mean[1], rtol=1e-6)
    r = client.get(PREFIX + "/class_samples", query_string={"run": "writer", "tag": "class_stats", "step": 1})
    assert r.status_code == 200
    decoded = encoding.decode(r.data)  # stored at step 0 only; in force at step 1
    assert decoded.shape == images.shape and np.max(np.abs(decoded - images)) <= 1 / 255


@pytest.mark.parametrize("route,params,status", [
    ("class_stats", {"run": "writer", "tag": "acts", "step": 0}, 400),  # wrong kind
    ("class_pair", {"run": "writer", "tag": "class_stats", "step": 1, "a": 0, "b": 4}, 400),
    ("class_pair", {"run": "writer", "tag": "class_stats", "step": 1, "a": "x", "b": 1}, 400),
    ("class_pair", {"run": "writer", "tag": "class_stats", "step": 1, "a": 0}, 400),
    ("class_stats", {"run": "writer", "tag": "class_stats", "step": 7}, 404),
    ("class_samples", {"run": "writer", "tag": "nope", "step": 0}, 404),
    ("class_samples", {"run": "writer", "tag": "acts", "step": 0}, 400),
    ("class_stats", {"run": "writer", "tag": "garbled", "step": 0}, 422),
    ("class_pair", {"run": "writer", "tag": "malformed", "step": 0, "a": 0, "b": 1}, 422),
])
def test_routes_refuse_bad_queries(logdir, route, params, status):
    client = make_app(logdir[0])
    r = client.get(PREFIX + "/" + route, query_string=params)
    assert r.status_code == status and json.loads(r.data)["error"]
