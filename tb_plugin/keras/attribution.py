"""Attribution maps of a Keras model on the probe batch (TensorFlow gradients).

Imported by the callback side only (`tb_plugin.keras`); the backend never
imports this module (the logged layout is in `tb_plugin.kinds.attribution`).

For each probe sample and for its true class (when labels are given) and
its predicted class, `Attributor.compute` returns maps over the input by:

* **Grad-CAM** on a layer (default: the last top-level layer whose output
  is `[batch, h, w, channels]` with more than one position): `ReLU(sum_k
  alpha_k A_k)`, `alpha_k` the spatial mean of d score / d A_k; the raw map
  at the layer's resolution and the map resized bilinearly (half-pixel
  centres, `tf.image.resize`) to the input size.
* **gradients** (saliency): `max_c |d score / d x|` over the input's channels.
* **SmoothGrad**: the mean saliency map over `smoothgrad_samples` (default
  16) copies of the input with Gaussian noise of standard deviation
  `smoothgrad_noise` (default 0.15) times each sample's value range
  (max - min), seeded (the same noise at every snapshot).
* **integrated gradients**: `(x - b) * mean_k grad(b + a_k (x - b))` with
  `a_k = (k + 0.5) / ig_steps`, `k = 0..ig_steps-1` (default 32; the
  midpoint rule), summed over the input's channels; baseline `b`: `ig_baseline`
  ("zeros", the default; a number; or an array of one input's shape).
  Completeness error per sample: `|sum(attr) - (f(x) - f(b))| / max(|f(x) -
  f(b)|, 1e-6)`.

The score f is the class's **logit** when the model ends in a softmax we
can undo (a `Dense` with softmax activation, a `Softmax` layer or an
`Activation("softmax")`): the last layer's input times its kernel plus its
bias, or its input; else the model's output for the class. Every pass is in
inference mode (`training=False`) through the model's own layers, with
gradients taken with respect to the input (or the Grad-CAM layer's output)
only: no variable is written, no optimizer or metric is touched.

**Text and sequence models** (one integer input of token ids and a
top-level `keras.layers.Embedding` layer, `TokenAttributor`): integrated
gradients over the embedding output E (token ids cannot be differentiated):
`(E - 0) * mean_k grad(a_k E)` with the zero-embedding baseline and the same
midpoint rule, summed over the embedding dimension: one signed score per
token, for the true and the predicted class, with the completeness error
per sample (the scores sum to `f(E) - f(0)`, f the model after its
embedding layer). The token labels are the callback's `attention_tokens`
when they fit (one label per position), else the token ids. Only
integrated gradients run for such models (the other methods are skipped
with a message).

Supported: models with one float image input `[batch, height, width,
channels]` and a `[batch, classes]` output. Grad-CAM also needs a
Functional or Sequential model (reached as `keras.Model(model.inputs,
[layer.output, ...])`) with a spatial layer. Unsupported methods are
skipped with one message in the logging plan (`Attributor.skipped`).
"""

import numbers

import keras
import numpy as np

from tb_plugin.kinds import attribution as data_lib
from tb_plugin.format import encoding as encoding_lib
from tb_plugin.core import parts

ATTRIBUTION_TAG = "attribution/probe"
DEFAULT_IG_STEPS = 32
DEFAULT_SMOOTHGRAD_SAMPLES = 16
DEFAULT_SMOOTHGRAD_NOISE = 0.15
# Most images per gradient pass (SmoothGrad and IG run several passes).
DEFAULT_CHUNK = 128
NO_EMBEDDING = ("integer inputs (token ids) and no keras.layers.Embedding layer: integrated gradients need an "
                "embedding output to differentiate")
_OPTION_KEYS = ("methods", "gradcam_layer", "ig_steps", "ig_baseline", "smoothgrad_samples", "smoothgrad_noise",
                "chunk", "class_names", "every")


class Options:
    """What `attribution=` asks for (see `parse_options`)."""

    def __init__(self, methods=data_lib.METHODS, gradcam_layer=None, ig_steps=DEFAULT_IG_STEPS, ig_baseline="zeros",
                 smoothgrad_samples=DEFAULT_SMOOTHGRAD_SAMPLES, smoothgrad_noise=DEFAULT_SMOOTHGRAD_NOISE,
                 chunk=DEFAULT_CHUNK, class_names=None, every=1, explicit=True):
        self.methods = tuple(methods)
        self.gradcam_layer = gradcam_layer
        self.ig_steps = ig_steps
        self.ig_baseline = ig_baseline
        self.smoothgrad_samples = smoothgrad_samples
        self.smoothgrad_noise = smoothgrad_noise
        self.chunk = chunk
        self.class_names = class_names
        self.every = every
        self.explicit = explicit  # asked for (else: on because the probe data has labels)


def _int_option(key, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError("attribution=: %s must be an int >= %d, got %r" % (key, minimum, value))
    return int(value)


def parse_options(attribution, has_labels):
    """`attribution=` of the callback as `Options`, or None (off).

    None (default): on when the probe data carries labels, with every
    method; False: off; True: every method; a list of method names; or a
    dict with `methods`, `gradcam_layer` (a layer name), `ig_steps`,
    `ig_baseline` ("zeros", a number or an array of one input's shape),
    `smoothgrad_samples`, `smoothgrad_noise` (times each sample's range),
    `chunk` (most images per gradient pass), `class_names`, `every` (every
    N-th snapshot).

    Raises:
      ValueError: naming `attribution=` and the fix.
    """
    if attribution is None:
        return Options(explicit=False) if has_labels else None
    if attribution is False:
        return None
    if attribution is True:
        return Options()
    if isinstance(attribution, str):
        attribution = [attribution]
    if isinstance(attribution, (list, tuple)):
        attribution = {"methods": list(attribution)}
    if not isinstance(attribution, dict):
        raise ValueError("attribution= must be None, True/False, a list of methods (%s) or a dict of options, got %r"
                         % (", ".join(data_lib.METHODS), attribution))
    unknown = sorted(set(attribution) - set(_OPTION_KEYS))
    if unknown:
        raise ValueError("attribution=: unknown option %s; the options are %s" % (", ".join(map(repr, unknown)),
                                                                                  ", ".join(_OPTION_KEYS)))
    methods = attribution.get("methods", data_lib.METHODS)
    if isinstance(methods, str):
        methods = [methods]
    methods = list(methods)
    bad = [m for m in methods if m not in data_lib.METHODS]
    if bad or not methods:
        raise ValueError("attribution=: unknown method%s %s; choose from %s" % (
            "" if len(bad) == 1 else "s", ", ".join(map(repr, bad)) or "(none given)", ", ".join(data_lib.METHODS)))
    layer = attribution.get("gradcam_layer")
    if layer is not None and not isinstance(layer, str):
        raise ValueError("attribution=: gradcam_layer must be a layer name (str), got %r" % (layer,))
    noise = attribution.get("smoothgrad_noise", DEFAULT_SMOOTHGRAD_NOISE)
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not noise > 0:
        raise ValueError("attribution=: smoothgrad_noise must be a positive number (a share of each sample's "
                         "value range, e.g. 0.15), got %r" % (noise,))
    baseline = attribution.get("ig_baseline", "zeros")
    if isinstance(baseline, str) and baseline != "zeros":
        raise ValueError("attribution=: ig_baseline must be 'zeros', a number or an array of one input's shape, "
                         "got %r" % baseline)
    return Options(
        methods=[m for m in data_lib.METHODS if m in methods],
        gradcam_layer=layer,
        ig_steps=_int_option("ig_steps", attribution.get("ig_steps", DEFAULT_IG_STEPS), 1),
        ig_baseline=baseline,
        smoothgrad_samples=_int_option("smoothgrad_samples",
                                       attribution.get("smoothgrad_samples", DEFAULT_SMOOTHGRAD_SAMPLES), 1),
        smoothgrad_noise=float(noise),
        chunk=_int_option("chunk", attribution.get("chunk", DEFAULT_CHUNK), 1),
        class_names=attribution.get("class_names"),
        every=_int_option("every", attribution.get("every", 1), 1),
    )


def probe_labels(probe_data, samples):
    """The class index of each of the first `samples` probe samples, or None.

    Labels come from `probe_data=(x, y)` with numpy-convertible y: class
    indices `[n]` (or `[n, 1]`) or one-hot / probability rows `[n, classes]`
    (their argmax). Datasets and generators: None (pass `(x, y)` arrays).

    Raises:
      ValueError: y is not class labels (the message says what to pass).
    """
    if not (isinstance(probe_data, tuple) and len(probe_data) in (2, 3)):
        return None
    y = probe_data[1]
    if y is None:
        return None
    try:
        y = np.asarray(keras.ops.convert_to_numpy(y) if not isinstance(y, np.ndarray) else y)
    except Exception:
        return None
    y = y[:samples]
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2 and y.shape[1] > 1 and np.issubdtype(y.dtype, np.number) and (y >= 0).all() \
            and np.allclose(y.sum(axis=1), 1, atol=1e-3):
        return y.argmax(axis=1).astype(np.int64)
    if y.ndim == 1 and np.issubdtype(y.dtype, np.number) and np.all(np.isfinite(y)) and np.all(y == np.round(y)) \
            and (y >= 0).all():
        return y.astype(np.int64)
    return "not class labels: y of shape %s and dtype %s (pass class indices [n] or one-hot rows [n, classes])" % (
        y.shape, y.dtype)


def _is_softmax(activation):
    return getattr(activation, "__name__", None) == "softmax" or activation == "softmax"


class Attributor:
    """Computes attribution maps of `model` (see the module docstring).

    Args:
      model: a built Keras model.
      options: `Options`.
      input_shape: the probe input's shape (batch axis included).

    Attributes:
      methods: the methods in effect, in `METHODS` order.
      skipped: `[(method or "attribution", reason)]` of what cannot run.
      layer_name: the Grad-CAM layer, or None.
    """

    def _init_common(self, model, options):
        """What both attributors start from (TokenAttributor calls it too)."""
        import tensorflow as tf

        self._tf = tf
        self.model = model
        self.options = options
        self.skipped = []
        self.layer_name = None
        self.score = "output"
        self.methods = []

    def __init__(self, model, options, input_shape, input_dtype="float32"):
        self._init_common(model, options)
        self._graph = None
        self._head = None
        shape = tuple(input_shape)
        if len(getattr(model, "inputs", None) or [None]) > 1:
            self.skipped.append(("attribution", "the model has several inputs; attribution needs one image input"))
            return
        if not np.issubdtype(np.dtype(input_dtype), np.floating):
            self.skipped.append(("attribution", NO_EMBEDDING))
            return
        if len(shape) != 4:
            self.skipped.append(("attribution", "the input is %s, not an image [batch, height, width, channels]"
                                 % (list(shape),)))
            return
        self.input_shape = shape
        self.methods = list(options.methods)
        functional = bool(getattr(model, "inputs", None)) and bool(getattr(model, "outputs", None))
        last = model.layers[-1] if getattr(model, "layers", None) else None
        head_input = None
        if functional and last is not None:
            try:
                if isinstance(last, keras.layers.Dense) and _is_softmax(last.activation):
                    head_input, self._head = last.input, ("dense", last)
                elif isinstance(last, keras.layers.Softmax) or (
                        isinstance(last, keras.layers.Activation) and _is_softmax(last.activation)):
                    head_input, self._head = last.input, ("input", last)
            except Exception:
                head_input, self._head = None, None
        if self._head is not None:
            self.score = "logit"
        layer = None
        if "gradcam" in self.methods:
            if not functional:
                self.skipped.append(("gradcam", "a subclassed model: Grad-CAM needs a Functional or Sequential model "
                                     "to reach a layer's output"))
            else:
                layer, reason = self._gradcam_layer(model, options.gradcam_layer)
                if layer is None:
                    self.skipped.append(("gradcam", reason))
            if layer is None:
                self.methods.remove("gradcam")
        outputs = []
        if layer is not None:
            outputs.append(layer.output)
            self.layer_name = layer.name
        if head_input is not None:
            outputs.append(head_input)
        if functional and outputs:
            try:
                inputs = model.inputs[0]
                self._graph = keras.Model(inputs, outputs + [model.outputs[0]])
            except Exception as e:
                if layer is not None:
                    self.skipped.append(("gradcam", "its layer output cannot be reached (%s)" % e))
                    self.methods.remove("gradcam")
                    self.layer_name = layer = None
                self._head, self.score = None, "output"
                self._graph = None
        self._has_layer = layer is not None
        if not self.methods:
            self.skipped.append(("attribution", "no method left to compute"))

    @staticmethod
    def _gradcam_layer(model, name):
        def spatial(l):
            try:
                shape = tuple(l.output.shape)
            except Exception:
                return False
            return len(shape) == 4 and (shape[1] or 0) * (shape[2] or 0) > 1
        if name is not None:
            try:
                layer = model.get_layer(name)
            except ValueError:
                names = [l.name for l in model.layers if spatial(l)]
                raise ValueError("attribution=: gradcam_layer=%r is not a layer of model %r; layers with a spatial "
                                 "output: %s" % (name, model.name, ", ".join(names) or "none"))
            if not spatial(layer):
                raise ValueError("attribution=: gradcam_layer=%r has no spatial output [batch, h, w, channels]; "
                                 "pick a conv layer" % name)
            return layer, None
        candidates = [l for l in model.layers if not isinstance(l, keras.layers.InputLayer) and spatial(l)]
        if not candidates:
            return None, "no layer with a spatial output [batch, h, w, channels] for Grad-CAM"
        return candidates[-1], None

    @property
    def active(self):
        return bool(self.methods)

    def note(self):
        parts_ = []
        if self.methods:
            parts_.append("%s on the %s%s" % (", ".join(self.methods), "logit" if self.score == "logit" else "output",
                                              " (Grad-CAM layer %s)" % self.layer_name if self.layer_name else ""))
        for method, reason in self.skipped:
            parts_.append("%s skipped: %s" % (method, reason))
        return "; ".join(parts_)

    # -- passes --------------------------------------------------------------------------

    def _forward(self, x):
        """(layer output or None, score [n, classes], model output [n, classes]) in inference mode."""
        tf = self._tf
        if self._graph is None:
            out = self.model(x, training=False)
            return None, out, out
        outs = self._graph(x, training=False)
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        feats = outs.pop(0) if self._has_layer else None
        out = outs[-1]
        score = out
        if self._head is not None:
            how, last = self._head
            h = outs[0]
            if how == "dense":
                score = tf.matmul(h, tf.convert_to_tensor(last.kernel))
                if last.use_bias:
                    score = score + tf.convert_to_tensor(last.bias)
            else:
                score = h
        return feats, score, out

    def _grads(self, x, classes, layer=False):
        """Per-image gradients of score[class] w.r.t. x (and the layer output), chunked.

        Returns (input gradients, layer output, layer gradients, scores of the class)."""
        tf = self._tf
        gx, fs, gf, ss = [], [], [], []
        for start in range(0, len(x), self.options.chunk):
            xc = tf.convert_to_tensor(x[start:start + self.options.chunk])
            cc = tf.convert_to_tensor(classes[start:start + self.options.chunk], dtype=tf.int32)
            with tf.GradientTape() as tape:
                tape.watch(xc)
                feats, score, _ = self._forward(xc)
                s = tf.gather(tf.cast(score, tf.float32), cc, batch_dims=1)
                total = tf.reduce_sum(s)
            if layer:
                g_x, g_f = tape.gradient(total, [xc, feats])
                fs.append(feats.numpy())
                gf.append(g_f.numpy())
            else:
                g_x = tape.gradient(total, xc)
            gx.append(g_x.numpy())
            ss.append(s.numpy())
        cat = lambda a: np.concatenate(a, axis=0) if a else None  # noqa: E731
        return cat(gx), cat(fs), cat(gf), cat(ss)

    def predict(self, x):
        """(model output [n, classes], score [n, classes]) as numpy, inference mode."""
        _, score, out = self._forward(self._tf.convert_to_tensor(x))
        return np.asarray(out, dtype=np.float64), np.asarray(score, dtype=np.float64)

    def gradcam(self, x, classes):
        """(raw maps [n, h, w], upsampled maps [n, H, W]) for `classes`."""
        tf = self._tf
        _, feats, g_feats, _ = self._grads(x, classes, layer=True)
        alpha = g_feats.mean(axis=(1, 2), keepdims=True)
        raw = np.maximum((alpha * feats).sum(axis=-1), 0).astype(np.float32)
        up = tf.image.resize(raw[..., None], self.input_shape[1:3], method="bilinear").numpy()[..., 0]
        return raw, np.maximum(up, 0).astype(np.float32)

    def saliency(self, x, classes):
        g, _, _, _ = self._grads(x, classes)
        return np.abs(g).max(axis=-1).astype(np.float32)

    def smoothgrad(self, x, classes):
        k = self.options.smoothgrad_samples
        rng = np.random.default_rng(0)
        span = (x.reshape(len(x), -1).max(axis=1) - x.reshape(len(x), -1).min(axis=1)).reshape(-1, 1, 1, 1)
        sigma = self.options.smoothgrad_noise * np.where(span > 0, span, 1.0)
        noisy = (x[None] + rng.standard_normal((k,) + x.shape).astype(np.float32) * sigma[None]).astype(np.float32)
        g, _, _, _ = self._grads(noisy.reshape((-1,) + x.shape[1:]), np.tile(classes, k))
        return np.abs(g).max(axis=-1).reshape((k,) + x.shape[:3]).mean(axis=0).astype(np.float32)

    def baseline(self, x):
        b = self.options.ig_baseline
        if isinstance(b, str):
            return np.zeros_like(x)
        b = np.asarray(b, dtype=np.float32)
        try:
            return np.broadcast_to(b, x.shape).astype(np.float32)
        except ValueError:
            raise ValueError("attribution=: ig_baseline of shape %s does not fit the input %s" % (b.shape, x.shape))

    def integrated_gradients(self, x, classes):
        """(attributions [n, H, W, C], f(x), f(baseline), relative completeness error [n]).

        The path integral by the midpoint rule: gradients at `a_k = (k + 0.5)
        / ig_steps`, each weighted `1 / ig_steps` (never at the baseline
        itself, where a ReLU network's gradient is often degenerate)."""
        m = self.options.ig_steps
        b = self.baseline(x)
        alphas = ((np.arange(m) + 0.5) / m).astype(np.float32)
        points = (b[None] + alphas.reshape(-1, 1, 1, 1, 1) * (x - b)[None]).astype(np.float32)
        g, _, _, _ = self._grads(points.reshape((-1,) + x.shape[1:]), np.tile(classes, m))
        g = g.reshape((m,) + x.shape).astype(np.float64)
        avg = g.mean(axis=0)
        attr = (x - b).astype(np.float64) * avg
        rows = np.arange(len(x))
        f_x = self.predict(x)[1][rows, classes]
        f_b = self.predict(b)[1][rows, classes]
        delta = f_x - f_b
        error = np.abs(attr.reshape(len(x), -1).sum(axis=1) - delta) / np.maximum(np.abs(delta), 1e-6)
        return attr, f_x, f_b, error

    def compute(self, x, true_class=None):
        """Every method in effect, for the true (if given) and predicted class.

        Returns the `attribution_data.validate` arguments: a dict with
        `maps` ({method: [n, targets, H, W]}), classes, probabilities,
        `completeness_error`, `gradcam_raw`, `gradcam_layer`, `settings`."""
        x = np.asarray(x, dtype=np.float32)
        out, _ = self.predict(x)
        probabilities = bool(out.ndim == 2 and (out >= -1e-6).all() and (out <= 1 + 1e-6).all()
                             and np.allclose(out.sum(axis=1), 1, atol=1e-3))
        if out.ndim != 2:
            raise ValueError("attribution needs a [batch, classes] model output, got shape %s" % (out.shape,))
        predicted = out.argmax(axis=1)
        targets = [("predicted", predicted)]
        if true_class is not None:
            true_class = np.asarray(true_class)[:len(x)]
            if (true_class >= out.shape[1]).any():
                raise ValueError("probe labels go up to %d but the model has %d classes" % (true_class.max(), out.shape[1]))
            targets.insert(0, ("true", true_class))
        maps = {m: [] for m in self.methods}
        raws, errors = [], {}
        for name, classes in targets:
            if "gradcam" in maps:
                raw, up = self.gradcam(x, classes)
                raws.append(raw)
                maps["gradcam"].append(up)
            if "saliency" in maps:
                maps["saliency"].append(self.saliency(x, classes))
            if "smoothgrad" in maps:
                maps["smoothgrad"].append(self.smoothgrad(x, classes))
            if "integrated_gradients" in maps:
                attr, _, _, error = self.integrated_gradients(x, classes)
                maps["integrated_gradients"].append(attr.sum(axis=-1).astype(np.float32))
                errors[name] = error
        stacked = {m: np.stack(v, axis=1) for m, v in maps.items()}
        rows = np.arange(len(x))
        settings = {"score": self.score}
        if "smoothgrad" in maps:
            settings["smoothgrad"] = {"samples": self.options.smoothgrad_samples, "noise": self.options.smoothgrad_noise,
                                      "noise_meaning": "standard deviation as a share of each sample's max - min"}
        if "integrated_gradients" in maps:
            settings["integrated_gradients"] = {
                "steps": self.options.ig_steps, "rule": "midpoint",
                "baseline": self.options.ig_baseline if isinstance(self.options.ig_baseline, str) else "given",
                "completeness_error": "|sum(attr) - (f(x) - f(baseline))| / max(|f(x) - f(baseline)|, 1e-6)"}
        return dict(
            maps=stacked,
            predicted_class=predicted,
            true_class=true_class,
            predicted_probability=out[rows, predicted],
            true_probability=None if true_class is None else out[rows, true_class],
            probabilities=probabilities,
            class_names=self.options.class_names,
            completeness_error=errors or None,
            gradcam_raw=np.stack(raws, axis=1) if raws else None,
            gradcam_layer=self.layer_name,
            settings=settings,
        )


def embedding_layer(model):
    """The first top-level `keras.layers.Embedding` layer of `model`, or None."""
    for layer in getattr(model, "layers", None) or []:
        if isinstance(layer, keras.layers.Embedding):
            return layer
    return None


def make_attributor(model, options, input_shape, input_dtype="float32"):
    """`TokenAttributor` for integer inputs with an embedding layer, else `Attributor`."""
    if not np.issubdtype(np.dtype(input_dtype), np.floating) and embedding_layer(model) is not None:
        return TokenAttributor(model, options, input_shape)
    return Attributor(model, options, input_shape, input_dtype)


class TokenAttributor:
    """Integrated gradients over the embedding output, one score per token (module docstring).

    Same interface as `Attributor` (`methods`, `skipped`, `active`, `note`,
    `predict`, `compute`); `compute` returns the token layout (maps
    `{"integrated_gradients": [n, targets, tokens]}`, `tokens`)."""

    def __init__(self, model, options, input_shape):
        Attributor._init_common(self, model, options)
        self.input_shape = tuple(input_shape)
        for m in options.methods:
            if m != "integrated_gradients":
                self.skipped.append((m, "a token model: only integrated gradients over the embedding output"))
        if "integrated_gradients" not in options.methods:
            self.skipped.append(("attribution", "no method left to compute"))
            return
        if len(self.input_shape) != 2:
            self.skipped.append(("attribution", "the token input is %s, not [batch, tokens]" % (list(self.input_shape),)))
            return
        layer = embedding_layer(model)
        self.embedding_name = layer.name
        last = model.layers[-1]
        try:
            head = None
            if isinstance(last, keras.layers.Dense) and _is_softmax(last.activation):
                head = ("dense", last)
            elif isinstance(last, keras.layers.Softmax) or (
                    isinstance(last, keras.layers.Activation) and _is_softmax(last.activation)):
                head = ("input", last)
            self._embed = keras.Model(model.inputs[0], layer.output)
            outputs = ([last.input] if head else []) + [model.outputs[0]]
            self._tail = keras.Model(layer.output, outputs)
            self._head = head
        except Exception as e:
            self.skipped.append(("attribution", "the model after embedding layer %s cannot be reached from its "
                                 "output (%s)" % (layer.name, e)))
            return
        if getattr(layer, "mask_zero", False):
            self.skipped.append(("attribution", "embedding layer %s has mask_zero=True: the model after it cannot be "
                                 "run from the embedding output with the same mask" % layer.name))
            return
        if self._head is not None:
            self.score = "logit"
        self.methods = ["integrated_gradients"]

    @property
    def active(self):
        return bool(self.methods)

    def note(self):
        parts_ = []
        if self.methods:
            parts_.append("integrated gradients per token over the output of embedding layer %s, on the %s"
                          % (self.embedding_name, self.score))
        for method, reason in self.skipped:
            parts_.append("%s skipped: %s" % (method, reason))
        return "; ".join(parts_)

    def embed(self, ids):
        """The embedding output [n, tokens, dim] of token ids (numpy float32)."""
        return np.asarray(self._embed(self._tf.convert_to_tensor(ids), training=False), dtype=np.float32)

    def _scores(self, e):
        tf = self._tf
        outs = self._tail(e, training=False)
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        out = outs[-1]
        if self._head is None:
            return out, out
        how, last = self._head
        if how == "input":
            return outs[0], out
        score = tf.matmul(outs[0], tf.convert_to_tensor(last.kernel))
        if last.use_bias:
            score = score + tf.convert_to_tensor(last.bias)
        return score, out

    def predict_embedded(self, e):
        """(model output, score) of embedding outputs e, numpy float64."""
        score, out = self._scores(self._tf.convert_to_tensor(e, dtype="float32"))
        return np.asarray(out, dtype=np.float64), np.asarray(score, dtype=np.float64)

    def predict(self, ids):
        """(model output [n, classes], score [n, classes]) of token ids, through the model itself."""
        out = np.asarray(self.model(self._tf.convert_to_tensor(ids), training=False), dtype=np.float64)
        return out, self.predict_embedded(self.embed(ids))[1]

    def _grads(self, e, classes):
        tf = self._tf
        gs = []
        for start in range(0, len(e), self.options.chunk):
            ec = tf.convert_to_tensor(e[start:start + self.options.chunk])
            cc = tf.convert_to_tensor(classes[start:start + self.options.chunk], dtype=tf.int32)
            with tf.GradientTape() as tape:
                tape.watch(ec)
                score, _ = self._scores(ec)
                total = tf.reduce_sum(tf.gather(tf.cast(score, tf.float32), cc, batch_dims=1))
            gs.append(tape.gradient(total, ec).numpy())
        return np.concatenate(gs, axis=0)

    def integrated_gradients(self, ids, classes):
        """(per-token scores [n, tokens], per-dimension attributions [n, tokens, dim], f(E), f(0), error [n])."""
        e = self.embed(ids)
        m = self.options.ig_steps
        alphas = ((np.arange(m) + 0.5) / m).astype(np.float32)
        points = (alphas.reshape(-1, 1, 1, 1) * e[None]).astype(np.float32)
        g = self._grads(points.reshape((-1,) + e.shape[1:]), np.tile(classes, m)).reshape((m,) + e.shape)
        attr = e.astype(np.float64) * g.astype(np.float64).mean(axis=0)
        rows = np.arange(len(e))
        f_x = self.predict_embedded(e)[1][rows, classes]
        f_b = self.predict_embedded(np.zeros_like(e))[1][rows, classes]
        delta = f_x - f_b
        scores = attr.sum(axis=-1)
        error = np.abs(scores.sum(axis=1) - delta) / np.maximum(np.abs(delta), 1e-6)
        return scores, attr, f_x, f_b, error

    def compute(self, ids, true_class=None, tokens=None):
        """Integrated gradients per token for the true (if given) and predicted class.

        `tokens`: labels (one shared list or one per sample) or None (the
        token ids). Returns the `attribution_data.validate` arguments."""
        ids = np.asarray(ids)
        out, _ = self.predict(ids)
        if out.ndim != 2:
            raise ValueError("attribution needs a [batch, classes] model output, got shape %s" % (out.shape,))
        probabilities = bool((out >= -1e-6).all() and (out <= 1 + 1e-6).all() and np.allclose(out.sum(axis=1), 1, atol=1e-3))
        predicted = out.argmax(axis=1)
        targets = [("predicted", predicted)]
        if true_class is not None:
            true_class = np.asarray(true_class)[:len(ids)]
            if (true_class >= out.shape[1]).any():
                raise ValueError("probe labels go up to %d but the model has %d classes" % (true_class.max(), out.shape[1]))
            targets.insert(0, ("true", true_class))
        maps, errors = [], {}
        for name, classes in targets:
            scores, _, _, _, error = self.integrated_gradients(ids, classes)
            maps.append(scores.astype(np.float32))
            errors[name] = error
        rows = np.arange(len(ids))
        return dict(
            maps={"integrated_gradients": np.stack(maps, axis=1)},
            tokens=tokens if tokens is not None else [[str(int(v)) for v in row] for row in ids.reshape(len(ids), -1)],
            predicted_class=predicted,
            true_class=true_class,
            predicted_probability=out[rows, predicted],
            true_probability=None if true_class is None else out[rows, true_class],
            probabilities=probabilities,
            class_names=self.options.class_names,
            completeness_error=errors,
            gradcam_layer=None,
            settings={"score": self.score, "embedding_layer": self.embedding_name, "integrated_gradients": {
                "steps": self.options.ig_steps, "rule": "midpoint", "baseline": "zero embedding",
                "over": "the embedding output, summed over the embedding dimension",
                "completeness_error": "|sum(token scores) - (f(E) - f(0))| / max(|f(E) - f(0)|, 1e-6)"}},
        )


def token_labels(tokens, ids):
    """The callback's `attention_tokens` as one label list per sample if they fit `ids` [n, T], else None."""
    if tokens is None:
        return None
    n, length = ids.shape[0], ids.shape[1]
    if tokens and isinstance(tokens[0], list):
        rows = list(tokens[:n])
    else:
        rows = [list(tokens)] * n
    if len(rows) != n or any(len(r) != length for r in rows):
        return None
    return rows


def estimate_bytes(n, height, width, methods, targets):
    """Bytes per snapshot before compression: q8 maps, the side document, Grad-CAM raw (upper bound)."""
    return n * targets * height * width * len(methods) + 200 * n + 4 * n * targets * height * width // 4


class AttributionPart(parts.SnapshotPart):
    """Logs `attribution/probe` at each due snapshot (see the module docstring).

    The probe inputs go with the tag's first step and again only when they
    change (`Writer.attribution` keeps them)."""

    name = "attribution"

    def __init__(self, options, labels, label_problem=None):
        self.options = options
        self.labels = labels
        self.label_problem = label_problem
        self.attributor = None
        self._note = ""

    def begin(self, callback):
        x = keras.tree.flatten(callback.probe_x)
        first = np.asarray(x[0])
        if self.label_problem and self.options.explicit:
            raise ValueError("attribution=: probe_data=(x, y) has y %s" % self.label_problem)
        self.attributor = make_attributor(callback.adapter.model, self.options, first.shape if len(x) == 1 else (),
                                          first.dtype if len(x) == 1 else "float32")
        if len(x) > 1:
            self.attributor.skipped[:] = [("attribution", "the probe has several inputs; attribution needs one "
                                           "image input")]
            self.attributor.methods = []
        if self.attributor.active:
            try:
                out = self.attributor.predict(first[:1])[0]
                if out.ndim != 2 or out.shape[1] < 2:
                    raise ValueError("a [batch, classes] output with 2 or more classes")
                if isinstance(self.attributor, TokenAttributor):
                    tail = self.attributor.predict_embedded(self.attributor.embed(first[:1]))[0]
                    if not np.allclose(tail, out, rtol=1e-3, atol=1e-5):
                        raise ValueError("the model run from its embedding output does not reproduce its output")
            except Exception as e:
                self.attributor.methods = []
                self.attributor.skipped.append(("attribution", "the model output is not class scores (%s)" % e))
        self._note = self.attributor.note()
        self._tokens = None
        if isinstance(self.attributor, TokenAttributor) and self.attributor.active:
            self._tokens = token_labels(getattr(callback, "probe_tokens", None), first)
            given = getattr(callback, "probe_tokens", None) is not None
            self._note += "; token labels: %s" % (
                "attention_tokens" if self._tokens else
                "the token ids (attention_tokens do not give one label per token position)" if given else "the token ids")
        if self.label_problem:
            self._note += "; true class skipped: y is " + self.label_problem
            self.labels = None
        self._n = len(first)
        self._shape = first.shape

    def estimate_bytes(self):
        if not self.attributor or not self.attributor.active:
            return 0
        targets = 2 if self.labels is not None else 1
        if isinstance(self.attributor, TokenAttributor):
            return self._n * targets * self._shape[1] + 200 * self._n + 8 * self._n * self._shape[1]
        return estimate_bytes(self._n, self._shape[1], self._shape[2], self.attributor.methods, targets)

    def note(self):
        return self._note

    def due(self, step, index):
        return bool(self.attributor and self.attributor.active) and index % self.options.every == 0

    def compute(self, callback, step):
        description = "attribution maps of the probe samples (%s)" % self.attributor.note()
        if isinstance(self.attributor, TokenAttributor):
            ids = np.asarray(keras.tree.flatten(callback.probe_x)[0])
            result = self.attributor.compute(ids, self.labels, self._tokens)

            def token_job(writer):
                writer.attribution(ATTRIBUTION_TAG, result.pop("maps"), step, description=description, **result)
            return token_job
        x = np.asarray(keras.tree.flatten(callback.probe_x)[0], dtype=np.float32)
        result = self.attributor.compute(x, self.labels)

        def job(writer):
            writer.attribution(ATTRIBUTION_TAG, result.pop("maps"), step, images=x, description=description, **result)
        return job


def make_part(attribution, probe_data, samples):
    """The callback's `AttributionPart` for `attribution=` and `probe_data`, or None."""
    labels = probe_labels(probe_data, samples)
    problem = labels if isinstance(labels, str) else None
    if problem:
        labels = None
    options = parse_options(attribution, labels is not None)
    if options is None:
        return None
    return AttributionPart(options, labels, problem)
