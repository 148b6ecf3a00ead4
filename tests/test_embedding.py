"""Embedding numerics against independent computations (numpy's SVD, scikit-learn),
the writer's embedding summaries, and the Projector hand-off."""

import numpy as np
import pytest

from tb_plugin.kinds import embedding

RNG = np.random.RandomState(3)


def clusters(n_per=40, classes=3, d=16, spread=0.3, seed=0):
    rng = np.random.RandomState(seed)
    centres = rng.randn(classes, d) * 3
    x = np.concatenate([centres[c] + spread * rng.randn(n_per, d) for c in range(classes)])
    y = np.repeat(np.arange(classes), n_per)
    return x, y


def test_pca_equals_the_svd_of_the_centred_matrix():
    x = RNG.randn(60, 10) @ np.diag(np.linspace(3, 0.1, 10))
    points, ratio = embedding.pca(x, 2)
    centred = x - x.mean(axis=0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    expected = u[:, :2] * s[:2]
    # Same up to each component's sign.
    for k in range(2):
        assert np.allclose(np.abs(points[:, k]), np.abs(expected[:, k]))
        assert np.allclose(points[:, k] * np.sign(points[0, k]), expected[:, k] * np.sign(expected[0, k]))
    assert np.allclose(ratio, s[:2] ** 2 / (s ** 2).sum())
    # Deterministic signs: flipping the data's sign does not flip the picture's orientation rule.
    again, _ = embedding.pca(x.copy(), 2)
    assert np.array_equal(points, again)


def test_alignment_keeps_a_rotated_copy_still():
    x, y = clusters()
    angle = 1.1
    rotation = np.eye(16)
    rotation[:2, :2] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    flipped = np.diag([-1.0] + [1.0] * 15)
    series = embedding.projection_series([(0, x), (1, x @ rotation), (2, x @ flipped)], labels=y)
    p0, p1, p2 = (np.array(series[s]["points"]) for s in (0, 1, 2))
    assert np.abs(p1 - p0).max() < 1e-8  # the same cloud, rotated in the full space: points stay put
    assert np.abs(p2 - p0).max() < 1e-8  # a reflection too
    assert series[0]["finite_rows"] == len(x)


def test_knn_accuracy_equals_scikit_learns_leave_one_out():
    from sklearn.model_selection import LeaveOneOut, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    for seed, spread in ((0, 1.5), (1, 3.0), (2, 6.0)):
        x, y = clusters(n_per=25, classes=4, d=8, spread=spread, seed=seed)
        ours = embedding.knn_accuracy(x, y, k=5)
        theirs = cross_val_score(KNeighborsClassifier(n_neighbors=5), x, y, cv=LeaveOneOut()).mean()
        assert ours == pytest.approx(theirs, abs=1e-12), (seed, ours, theirs)
    assert embedding.knn_accuracy(x, np.zeros(len(x))) is None  # one class: nothing to tell apart


def test_silhouette_equals_scikit_learns():
    from sklearn.metrics import silhouette_score

    for seed, spread in ((0, 0.5), (1, 2.0), (2, 8.0)):
        x, y = clusters(n_per=30, classes=3, d=6, spread=spread, seed=seed)
        y = y.copy()
        y[0] = 7  # a class of one sample scores 0
        assert embedding.silhouette(x, y) == pytest.approx(silhouette_score(x, y), abs=1e-10)
    big_x, big_y = clusters(n_per=400, classes=3, d=5, spread=2.0)  # several distance blocks
    assert embedding.silhouette(big_x, big_y) == pytest.approx(silhouette_score(big_x, big_y), abs=1e-10)


def test_rows_pool_conv_maps_over_space_and_refuse_what_is_not_a_batch():
    maps = RNG.randn(5, 4, 3, 8)
    assert np.allclose(embedding.as_rows(maps), maps.mean(axis=(1, 2)))
    assert embedding.as_rows(RNG.randn(5, 7)).shape == (5, 7)
    for bad in (np.zeros(5), np.zeros((1, 4)), np.zeros((3, 0))):
        with pytest.raises(ValueError, match="samples"):
            embedding.as_rows(bad)


def test_projection_leaves_out_rows_with_non_finite_values():
    x, y = clusters(n_per=10)
    x[3, 2] = np.nan
    step = embedding.projection_series([(4, x)], labels=y)[4]
    assert step["scored_samples"] == len(x) - 1
    assert step["points"][3] is None and step["finite_rows"] == len(x) - 1
    assert step["knn_accuracy"] == 1.0 and step["silhouette"] > 0.5


# --- the writer, the reader and the backend -------------------------------------------


def log_embedding(run_dir, steps=3, projector=False):
    """A labelled cloud whose classes separate over the steps; returns the logged rows."""
    from tb_plugin.summary import Writer

    base, y = clusters(n_per=20, classes=3, d=12, spread=1.0, seed=4)
    noise = np.random.RandomState(9).randn(*base.shape) * 4
    logged = {}
    with Writer(str(run_dir)) as w:
        for step in range(steps):
            mix = step / max(1, steps - 1)
            rows = (mix * base + (1 - mix) * noise).astype(np.float32)
            maps = np.repeat(np.repeat(rows[:, None, None, :], 2, axis=1), 3, axis=2)  # conv maps that pool to rows
            w.embedding("embedding/conv", maps, step=step, labels=y, class_names=["a", "b", "c"],
                        columns={"id": ["s%d" % i for i in range(len(y))]},
                        thumbnails=np.random.RandomState(step).uniform(size=(len(y), 4, 4, 1)) if step == 0 else None,
                        encoding="f32", projector=projector)
            logged[step] = rows
    return logged, y


def test_writer_stores_pooled_rows_and_labels_once(tmp_path):
    from tb_plugin.reader import Reader

    logged, y = log_embedding(tmp_path / "run")
    reader = Reader(str(tmp_path))
    info = reader.tags()["run"]["embedding/conv"]
    assert info["kind"] == "embedding" and info["shape"] == [60, 12] and info["source_shape"] == [60, 2, 3, 12]
    for step, rows in logged.items():
        assert np.allclose(reader.read("run", "embedding/conv", step), rows, atol=1e-6)
        doc, thumbs = reader.embedding_extras("run", "embedding/conv", step)
        assert doc["labels"] == y.tolist() and doc["class_names"] == ["a", "b", "c"]
        assert thumbs.shape == (60, 4, 4, 1)  # logged at step 0, still in force
    from helpers import summary_values
    blobs = [list(v.tensor.string_val) for _, v in summary_values(str(tmp_path / "run"), "embedding/conv")]
    assert [len(b) for b in blobs] == [3, 1, 1]  # labels and thumbnails with the first step only


@pytest.mark.parametrize("bad,match", [
    (dict(labels=[0, 1]), "2 labels for 60 samples"),
    (dict(columns={"id": ["x"]}), "column 'id' has 1 values"),
    (dict(class_names="abc"), "class_names must be a list"),
    (dict(thumbnails=np.zeros((3, 4, 4, 1))), "thumbnails must be"),
])
def test_bad_embedding_input_names_the_argument(tmp_path, bad, match):
    from tb_plugin.summary import Writer

    with Writer(str(tmp_path)) as w:
        with pytest.raises(ValueError, match=match):
            w.embedding("e", np.zeros((60, 4)), step=0, **bad)
        with pytest.raises(ValueError, match="at least 2 samples"):
            w.embedding("e", np.zeros((1, 4)), step=0)


def test_embedding_route_projects_aligns_and_scores_on_both_backends(tmp_path):
    import json
    from urllib.parse import urlencode

    from conftest import http_get, running_tensorboard, wait_for_steps

    logged, y = log_embedding(tmp_path / "run", steps=4)
    expected = embedding.projection_series(sorted(logged.items()), labels=y)
    for backend in ("true", "false"):
        with running_tensorboard(tmp_path, backend) as url:
            wait_for_steps(url, "run", "embedding/conv", 4)
            prefix = url + "/data/plugin/internals/"
            for step in (3, 0, 2):  # out of order: the chain is computed in step order anyway
                status, _, body = http_get(prefix + "embedding?" + urlencode(
                    {"run": "run", "tag": "embedding/conv", "step": step}))
                assert status == 200, body[:300]
                doc = json.loads(body)
                assert doc["step"] == step and doc["labels"] == y.tolist()
                assert np.allclose(np.array(doc["points"]), np.array(expected[step]["points"]), atol=1e-4)
                assert doc["knn_accuracy"] == pytest.approx(expected[step]["knn_accuracy"])
            status, _, body = http_get(prefix + "embedding_scores?" + urlencode({"run": "run", "tag": "embedding/conv"}))
            scores = json.loads(body)
            assert scores["steps"] == [0, 1, 2, 3]
            assert scores["knn_accuracy"][-1] == 1.0 and scores["silhouette"][-1] > scores["silhouette"][0]
            if backend == "true":
                # t-SNE, from the previous step's layout; its k-NN accuracy is scikit-learn's on the served points.
                from sklearn.model_selection import LeaveOneOut, cross_val_score
                from sklearn.neighbors import KNeighborsClassifier

                status, _, body = http_get(prefix + "embedding?" + urlencode(
                    {"run": "run", "tag": "embedding/conv", "step": 3, "method": "tsne"}), timeout=300)
                assert status == 200, body[:300]
                doc = json.loads(body)
                assert doc["method"] == "tsne" and "tsne" in doc["methods"] and "pca" in doc["methods"]
                sklearn_knn = cross_val_score(KNeighborsClassifier(n_neighbors=5), np.array(doc["points"]), y,
                                              cv=LeaveOneOut()).mean()
                assert doc["knn_accuracy_projected"] == pytest.approx(sklearn_knn, abs=1e-12)
            for params, status_expected in (({"run": "run", "tag": "embedding/conv", "step": 0, "method": "mds"}, 400),
                                            ({"run": "run", "tag": "nope", "step": 0}, 404)):
                assert http_get(prefix + "embedding?" + urlencode(params))[0] == status_expected


def test_projector_hand_off_is_served_by_tensorboards_projector(tmp_path):
    import json
    from urllib.parse import urlencode

    from conftest import http_get, running_tensorboard, wait_for_steps

    logged, y = log_embedding(tmp_path / "run", steps=2, projector=True)
    config = (tmp_path / "run" / "projector_config.pbtxt").read_text()
    assert "embedding/conv @ step 1" in config and "step 0" not in config  # the latest hand-off replaces
    for backend in ("true", "false"):
        with running_tensorboard(tmp_path, backend) as url:
            wait_for_steps(url, "run", "embedding/conv", 2)
            prefix = url + "/data/plugin/projector/"
            status, _, body = http_get(prefix + "runs")
            assert status == 200 and "run" in json.loads(body)
            info = json.loads(http_get(prefix + "info?" + urlencode({"run": "run"}))[2])
            (entry,) = info["embeddings"]
            assert entry["tensorName"] == "embedding/conv @ step 1" and entry["tensorShape"] == [60, 12]
            status, _, tensor = http_get(prefix + "tensor?" + urlencode({"run": "run", "name": entry["tensorName"]}))
            assert status == 200
            assert np.allclose(np.frombuffer(tensor, dtype="<f4").reshape(60, 12), logged[1], atol=1e-6)
            status, _, meta = http_get(prefix + "metadata?" + urlencode({"run": "run", "name": entry["tensorName"]}))
            lines = meta.decode().strip().split("\n")
            assert lines[0] == "label\tid" and lines[1] == "a\ts0" and len(lines) == 61
            status, _, sprite = http_get(prefix + "sprite_image?" + urlencode({"run": "run", "name": entry["tensorName"]}))
            assert status == 200 and sprite[:8] == b"\x89PNG\r\n\x1a\n"


def test_both_doors_store_the_same_embedding(tmp_path):
    import tensorflow as tf

    from tb_plugin.format import encoding
    from tb_plugin import summary
    from tb_plugin.reader import Reader

    x, y = clusters(n_per=10, classes=2, d=6)
    maps = np.repeat(x[:, None, :], 3, axis=1).astype(np.float32)  # a sequence of 3 identical steps
    with summary.Writer(str(tmp_path / "np")) as w:
        w.embedding("emb", maps, step=2, labels=y)
    writer = tf.summary.create_file_writer(str(tmp_path / "tf"))
    with writer.as_default(step=2):
        assert bool(summary.embedding("emb", maps, labels=y))
    writer.close()
    reader = Reader(str(tmp_path))
    assert np.array_equal(reader.read("np", "emb", 2), reader.read("tf", "emb", 2))
    assert np.array_equal(reader.read("tf", "emb", 2), encoding.decode(encoding.encode(x.astype(np.float32))))
    assert reader.embedding_extras("tf", "emb", 2)[0]["labels"] == y.tolist()
    np_info, tf_info = reader.tags()["np"]["emb"], reader.tags()["tf"]["emb"]
    assert (np_info.pop("storage"), tf_info.pop("storage")) == ("store", "inline")
    for info in (np_info, tf_info):
        info.pop("max_wall_time")
    assert np_info == tf_info


def test_scores_of_many_samples_use_a_fixed_subset():
    from sklearn.metrics import silhouette_score

    x, y = clusters(n_per=800, classes=3, d=4, spread=2.5, seed=6)
    a, b = (embedding.project_step(x, y)[0] for _ in range(2))
    assert a["scored_samples"] == embedding.SCORE_SAMPLES and a["silhouette"] == b["silhouette"]
    assert a["silhouette"] == pytest.approx(silhouette_score(x, y), abs=0.02)  # a fair estimate of the whole


# --- t-SNE and UMAP -----------------------------------------------------------------


def drifting(steps=3, n_per=40, seed=5):
    """Classes that drift a little between steps (the same samples, in order)."""
    x, y = clusters(n_per=n_per, classes=3, d=10, spread=1.0, seed=seed)
    rng = np.random.RandomState(seed + 1)
    return [(s, x + 0.15 * s * rng.randn(*x.shape)) for s in range(steps)], y


def disparity(a, b):
    """Mean squared distance between two layouts of the same points, each centred and
    scaled to unit size (no rotation: what the eye sees between two frames)."""
    a = (a - a.mean(axis=0)) / np.linalg.norm(a - a.mean(axis=0))
    b = (b - b.mean(axis=0)) / np.linalg.norm(b - b.mean(axis=0))
    return float(((a - b) ** 2).sum())


def nonlinear_layouts_check(method):
    """Aligned layouts of consecutive steps move less than unaligned ones; the projection's
    k-NN accuracy is scikit-learn's on the served coordinates."""
    from sklearn.model_selection import LeaveOneOut, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    steps, y = drifting()
    aligned = embedding.projection_series(steps, labels=y, method=method)
    # Unaligned: each step on its own (no initialisation from the step before, no rotation).
    alone = {s: embedding.project_step(rows, y, None, method)[0] for s, rows in steps}
    for s in (1, 2):
        ours = disparity(np.array(aligned[s]["points"]), np.array(aligned[s - 1]["points"]))
        theirs = disparity(np.array(alone[s]["points"]), np.array(alone[s - 1]["points"]))
        assert ours < theirs, (method, s, ours, theirs)
    for s in (0, 2):
        points = np.array(aligned[s]["points"])
        expected = cross_val_score(KNeighborsClassifier(n_neighbors=5), points, y, cv=LeaveOneOut()).mean()
        assert aligned[s]["knn_accuracy_projected"] == pytest.approx(expected, abs=1e-12)
        assert aligned[s]["explained_variance"] == [None, None]  # PCA's alone
    assert aligned[2]["knn_accuracy_projected"] > 0.9  # the classes are apart in the layout too


def test_tsne_layouts_move_less_when_aligned_and_their_knn_is_scikit_learns():
    nonlinear_layouts_check("tsne")


def test_a_missing_library_is_named_with_its_extra(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("umap", "sklearn") else real(name, *a))
    assert embedding.available_methods() == ("pca",)
    assert "tensorboard-plugin-internals[umap]" in embedding.missing_method_message("umap")
    assert "tensorboard-plugin-internals[tsne]" in embedding.missing_method_message("tsne")
    with pytest.raises(ValueError, match=r"\[tsne\]"):
        embedding.project_step(np.zeros((5, 3)), None, None, "tsne")
    assert "unknown projection method 'mds'" in embedding.missing_method_message("mds")
