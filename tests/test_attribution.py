"""Attribution numerics (tb_plugin.core.parts.attribution, gradients from tb_plugin.keras.gradients)
against independent computation:
a numpy forward pass with central finite differences for gradients and
integrated gradients, the closed form of Grad-CAM, and SmoothGrad's limit."""

import keras
import numpy as np
import pytest

from types import SimpleNamespace

from tb_plugin.core.parts import attribution as attribution_lib
from tb_plugin.core.parts.attribution import Attribution
from tb_plugin.keras.adapter import KerasAdapter
from tb_plugin.kinds import attribution as data_lib

H, W, C, K, CLASSES = 6, 6, 2, 3, 3


def small_model(seed=0):
    """conv 3x3 (valid, tanh) -> flatten -> dense softmax: smooth, so finite differences are exact enough."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((H, W, C)),
        keras.layers.Conv2D(K, 3, activation="tanh", name="conv"),
        keras.layers.Flatten(name="flat"),
        keras.layers.Dense(CLASSES, activation="softmax", name="out"),
    ])
    rng = np.random.default_rng(seed)
    for v in model.weights:  # non-zero biases too
        v.assign(rng.normal(0, 0.6, v.shape).astype("float32"))
    return model


def numpy_forward(model, x):
    """(conv output [n, 4, 4, K], logits [n, classes]) in float64, by hand."""
    kernel, bias = [np.asarray(v, np.float64) for v in model.get_layer("conv").weights]
    dense_k, dense_b = [np.asarray(v, np.float64) for v in model.get_layer("out").weights]
    x = np.asarray(x, np.float64)
    n, oh, ow = len(x), H - 2, W - 2
    a = np.zeros((n, oh, ow, K))
    for i in range(oh):
        for j in range(ow):
            a[:, i, j] = np.tensordot(x[:, i:i + 3, j:j + 3, :], kernel, axes=([1, 2, 3], [0, 1, 2])) + bias
    a = np.tanh(a)
    return a, a.reshape(n, -1) @ dense_k + dense_b


def fd_gradient(model, x, classes, eps=1e-4):
    """d logit[class] / d x by central differences of the numpy forward pass (all pixels in one batch)."""
    x = np.asarray(x, np.float64)
    n, d = len(x), int(np.prod(x.shape[1:]))
    steps = (np.eye(d) * eps).reshape((d,) + x.shape[1:])
    up = numpy_forward(model, (x[:, None] + steps[None]).reshape((-1,) + x.shape[1:]))[1].reshape(n, d, -1)
    down = numpy_forward(model, (x[:, None] - steps[None]).reshape((-1,) + x.shape[1:]))[1].reshape(n, d, -1)
    rows = np.arange(n)
    return ((up - down)[rows, :, classes] / (2 * eps)).reshape(x.shape)


@pytest.fixture(scope="module")
def case():
    model = small_model()
    x = np.random.default_rng(1).uniform(-1, 1, (4, H, W, C)).astype("float32")
    classes = np.array([0, 1, 2, 1])
    return model, x, classes


def run(model, x, y=None):
    """What the logger hands a part: the model's adapter and the probe."""
    return SimpleNamespace(adapter=KerasAdapter(model), probe_x=x, probe_y=y, probe_samples=len(x),
                           probe_tokens=None, log_dir=None, budget=None)


def attributor(model, x, **options):
    part = Attribution.from_keyword(options or True)
    part.begin(run(model, x))
    return part


def test_the_score_is_the_logit_and_gradients_equal_finite_differences(case):
    model, x, classes = case
    a = attributor(model, x)
    assert a.score == "logit" and a.layer["name"] == "conv"
    _, logits = a.adapter.class_scores(x)
    assert np.allclose(logits, numpy_forward(model, x)[1], atol=1e-4)
    reference = fd_gradient(model, x, classes)
    assert np.allclose(a.saliency(x, classes), np.abs(reference).max(axis=-1), atol=2e-3)
    gradients, _, _ = a.adapter.class_gradients(x, classes)
    assert np.allclose(gradients, reference, atol=2e-3)


def test_integrated_gradients_equal_a_numpy_path_integral_and_are_complete(case):
    model, x, classes = case
    a = attributor(model, x, methods=["integrated_gradients"], ig_steps=64)
    attr, f_x, f_b, error = a.integrated_gradients(x, classes)
    # Reference: the midpoint integral of finite-difference gradients of the numpy model, zero baseline.
    steps = 64
    avg = sum(fd_gradient(model, (k + 0.5) / steps * x, classes) for k in range(steps)) / steps
    reference = x.astype(np.float64) * avg
    assert np.allclose(attr, reference, atol=2e-3 * np.abs(reference).max())
    rows = np.arange(len(x))
    logits = numpy_forward(model, x)[1][rows, classes]
    zero = numpy_forward(model, np.zeros_like(x))[1][rows, classes]
    assert np.allclose(f_x, logits, atol=1e-4) and np.allclose(f_b, zero, atol=1e-4)
    assert np.allclose(reference.reshape(4, -1).sum(axis=1), logits - zero, rtol=1e-3)
    assert (error < 1e-3).all(), error
    # And the recorded error is what it claims: |sum - delta| / |delta|.
    assert np.allclose(error, np.abs(attr.reshape(4, -1).sum(1) - (f_x - f_b)) / np.abs(f_x - f_b), rtol=1e-6)


def test_gradcam_equals_its_closed_form(case):
    model, x, classes = case
    a = attributor(model, x, methods=["gradcam"])
    raw, up = a.gradcam(x, classes)
    conv, _ = numpy_forward(model, x)
    dense_k = np.asarray(model.get_layer("out").weights[0], np.float64)
    # d logit_c / d A = dense kernel column c reshaped to the conv output.
    grads = dense_k[:, classes].T.reshape(conv.shape)
    alpha = grads.mean(axis=(1, 2), keepdims=True)
    expected = np.maximum((alpha * conv).sum(-1), 0)
    assert np.allclose(raw, expected, atol=1e-5)
    assert up.shape == (4, H, W) and (up >= 0).all()
    # Bilinear with half-pixel centres: a 4x4 map onto 6x6 keeps its corners' values at the corner pixels.
    assert np.allclose(up[:, 0, 0], expected[:, 0, 0], atol=1e-5)
    assert np.allclose(up[:, -1, -1], expected[:, -1, -1], atol=1e-5)


def test_smoothgrad_tends_to_saliency_as_the_noise_vanishes(case):
    model, x, classes = case
    a = attributor(model, x, smoothgrad_noise=1e-6, smoothgrad_samples=4)
    assert np.allclose(a.smoothgrad(x, classes), a.saliency(x, classes), atol=1e-4)
    b = attributor(model, x, smoothgrad_noise=0.5, smoothgrad_samples=4)
    assert not np.allclose(b.smoothgrad(x, classes), a.saliency(x, classes), atol=1e-3)


def test_attribution_never_touches_the_model(case):
    model, x, classes = case
    before = [keras.ops.convert_to_numpy(v) for v in model.weights]
    attributor(model, x).attribute(x, classes)
    assert all(np.array_equal(b, keras.ops.convert_to_numpy(v)) for b, v in zip(before, model.weights))


def test_unsupported_models_are_skipped_with_a_reason():
    vectors = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    a = Attribution()
    a.begin(run(vectors, np.zeros((2, 4), "float32")))
    assert not a.active and "not an image" in a.note()
    # Integer inputs without an embedding layer (with one, integrated gradients run per token).
    tokens = keras.Sequential([keras.Input((5,), dtype="int32"), keras.layers.CategoryEncoding(10, "count"),
                               keras.layers.Dense(2, activation="softmax")])
    a = Attribution()
    a.begin(run(tokens, np.zeros((2, 5), "int32")))
    assert not a.active and "integer inputs" in a.note()
    flat = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
    a = Attribution()
    a.begin(run(flat, np.zeros((2, 4, 4, 1), "float32")))
    assert a.active == ["saliency", "smoothgrad", "integrated_gradients"]
    assert "gradcam skipped: no layer with a spatial output" in a.note()


@pytest.mark.parametrize("bad, match", [
    ({"methods": ["gradcam", "lime"]}, "unknown method 'lime'"),
    ({"ig_steps": 0}, "ig_steps must be an int >= 1"),
    ({"smoothgrad_noise": -1}, "smoothgrad_noise must be a positive number"),
    ({"ig_baseline": "blur"}, "ig_baseline must be 'zeros'"),
    ({"steps": 3}, "unknown option 'steps'"),
    (3, "attribution= must be None"),
])
def test_bad_options_name_the_argument(bad, match):
    with pytest.raises(ValueError, match=match):
        Attribution.from_keyword(bad)


def test_probe_labels():
    x = np.zeros((3, 2))
    assert attribution_lib.probe_labels(x, 3) is None
    assert attribution_lib.probe_labels((x, np.array([2, 0, 1])), 2).tolist() == [2, 0]
    assert attribution_lib.probe_labels((x, np.eye(3)[[1, 2, 0]]), 3).tolist() == [1, 2, 0]
    assert "not class labels" in attribution_lib.probe_labels((x, np.array([0.5, 1.2, 3.0])), 3)


def test_mass_in_box_and_spearman_helpers():
    m = np.zeros((4, 4))
    m[1:3, 1:3] = 1
    m[0, 0] = -5  # negative mass is not counted
    m[3, 3] = 4
    assert data_lib.positive_mass_in_box(m, (1, 1, 3, 3)) == pytest.approx(0.5)
    assert data_lib.positive_mass_in_box(np.zeros((4, 4)), (0, 0, 2, 2)) == pytest.approx(0.25)
    rng = np.random.default_rng(0)
    a = rng.normal(size=200)
    b = a ** 3 + 0.01 * rng.normal(size=200)
    from scipy import stats
    assert data_lib.spearman(a, b) == pytest.approx(stats.spearmanr(a, b).statistic, abs=1e-9)
    ties = np.array([1, 1, 2, 3, 3, 3, 4.0])
    assert data_lib.spearman(ties, ties[::-1]) == pytest.approx(stats.spearmanr(ties, ties[::-1]).statistic)


# -- the framework-neutral part ------------------------------------------------------------


@pytest.mark.parametrize("h, w, out_h, out_w", [(4, 4, 6, 6), (16, 16, 32, 32), (3, 3, 96, 96), (7, 5, 32, 28),
                                                (6, 6, 4, 4), (5, 9, 3, 2), (1, 1, 8, 8), (2, 3, 2, 3)])
def test_resize_bilinear_is_tf_image_resize_bit_for_bit(h, w, out_h, out_w):
    import tensorflow as tf

    images = np.random.default_rng(h * w).normal(size=(3, h, w)).astype("float32")
    expected = tf.image.resize(images[..., None], (out_h, out_w), method="bilinear").numpy()[..., 0]
    assert np.array_equal(attribution_lib.resize_bilinear(images, (out_h, out_w)), expected)


def test_the_part_never_imports_a_framework():
    import subprocess
    import sys

    code = ("import sys; sys.modules['tensorflow'] = None; sys.modules['keras'] = None; sys.modules['torch'] = None; "
            "import tb_plugin.core.parts.attribution")
    subprocess.run([sys.executable, "-c", code], check=True)


class LinearAdapter:
    """A GradientSource in numpy: scores = flatten(x) @ weights (no softmax: the scores are the outputs)."""

    name = "linear"

    def __init__(self, weights):
        self.weights = weights  # [H * W * C, classes]

    def score_kind(self):
        return "output"

    def class_scores(self, x, start=None, batch_size=128):
        scores = np.asarray(x, np.float64).reshape(len(x), -1) @ self.weights
        return scores, scores

    def class_gradients(self, x, classes, wrt=None, start=None, batch_size=128):
        return self.weights[:, classes].T.reshape(np.shape(x)).astype(np.float32), None, None

    def gradient_layers(self):
        return [], "no layers"

    def embedding_layer(self):
        return None, None

    def layer_output(self, x, path, batch_size=128):
        raise NotImplementedError


def test_any_adapter_that_gives_gradients_gets_every_method_but_gradcam():
    weights = np.random.default_rng(0).normal(size=(H * W * C, CLASSES))
    x = np.random.default_rng(1).uniform(0, 1, (3, H, W, C)).astype("float32")
    y = np.array([0, 2, 1])
    part = Attribution(ig_steps=4)
    part.begin(SimpleNamespace(adapter=LinearAdapter(weights), probe_x=x, probe_y=y, probe_samples=3,
                               probe_tokens=None, log_dir=None, budget=None))
    assert part.active == ["saliency", "smoothgrad", "integrated_gradients"] and "gradcam skipped: no layers" in part.note()
    assert part.estimate_bytes() > 0 and part.due(0, 0)
    result = part.attribute(x, y)
    w_true = weights[:, y].T.reshape(x.shape)
    # A linear score: integrated gradients are exactly (x - 0) * w, complete; saliency and SmoothGrad max |w|.
    assert np.allclose(result["maps"]["integrated_gradients"][:, 0], (x * w_true).sum(-1), atol=1e-5)
    assert np.allclose(result["maps"]["saliency"][:, 0], np.abs(w_true).max(-1), atol=1e-6)
    assert np.allclose(result["maps"]["smoothgrad"][:, 0], np.abs(w_true).max(-1), atol=1e-6)
    assert max(result["completeness_error"]["true"]) < 1e-6
    assert result["true_class"].tolist() == [0, 2, 1] and not result["probabilities"]
    # The job writes through the public Writer method.
    calls = []
    job = part.compute(SimpleNamespace(adapter=part.adapter, probe_x=x), 5)
    job(SimpleNamespace(attribution=lambda tag, maps, step, **kw: calls.append((tag, sorted(maps), step, kw))))
    assert calls[0][:3] == ("attribution/probe", ["integrated_gradients", "saliency", "smoothgrad"], 5)
    assert calls[0][3]["images"] is x or np.array_equal(calls[0][3]["images"], x)


def test_gradcam_and_saliency_share_one_pass_with_the_same_numbers(case):
    model, x, classes = case
    a = attributor(model, x, methods=["gradcam", "saliency"])
    maps = a.attribute(x, classes)["maps"]
    assert np.array_equal(maps["saliency"][:, 0], a.saliency(x, classes))
    assert np.array_equal(maps["gradcam"][:, 0], a.gradcam(x, classes)[1])


def test_on_off_and_automatic():
    x = np.zeros((2, H, W, C), "float32")
    model = small_model()

    def begun(part, y):
        part.begin(SimpleNamespace(adapter=KerasAdapter(model), probe_x=x, probe_y=y, probe_samples=2,
                                   probe_tokens=None, log_dir=None, budget=None))
        return part

    assert Attribution.from_keyword(False) is None
    auto = Attribution.from_keyword(None)
    assert auto.auto and auto.methods == data_lib.METHODS
    assert not begun(auto, None).active and "no class labels" in auto.note() and auto.estimate_bytes() == 0
    assert not begun(auto, np.array([0.5, 2.5])).active and "not class labels" in auto.note()
    assert begun(auto, np.array([0, 2])).active == list(data_lib.METHODS)
    assert begun(Attribution(), None).active == list(data_lib.METHODS)  # asked for: the predicted class only
    with pytest.raises(ValueError, match="Attribution: probe_data=\\(x, y\\) has y not class labels"):
        begun(Attribution(), np.array([0.5, 2.5]))
    off = begun(Attribution(methods=()), np.array([0, 2]))
    assert not off.active and not off.due(0, 0) and off.note() == "off (methods=())"
    assert Attribution.from_keyword("saliency").methods == ("saliency",)
    assert Attribution.from_keyword({"methods": ["saliency", "gradcam"], "every": 3}).methods == ("gradcam", "saliency")


@pytest.mark.parametrize("kwargs, match", [
    (dict(methods=["lime"]), "Attribution: unknown method 'lime'"),
    (dict(ig_steps=0), "Attribution: ig_steps must be an int >= 1"),
    (dict(every=True), "Attribution: every must be an int >= 1"),
    (dict(smoothgrad_noise=0), "Attribution: smoothgrad_noise must be a positive number"),
    (dict(ig_baseline="blur"), "Attribution: ig_baseline must be 'zeros'"),
    (dict(gradcam_layer=3), "Attribution: gradcam_layer must be a layer name"),
    (dict(class_names="abc"), "Attribution: class_names must be a list of strings"),
])
def test_constructor_checks_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Attribution(**kwargs)
