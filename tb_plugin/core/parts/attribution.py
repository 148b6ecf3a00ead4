"""Attribution maps of the probe samples: where is the evidence for a class? (numpy only)

    InternalsCallback(log_dir, probe_data=(x, y), parts=[
        Attribution(methods=["gradcam", "integrated_gradients"], every=2),
    ])

For each probe sample and for its true class (when the probe has class
labels) and its predicted class, `Attribution` logs (tag
`attribution/probe`, layout in `tb_plugin.kinds.attribution`) maps over the
input by:

* **Grad-CAM** on a layer (default: the last top-level layer whose output
  is `[batch, h, w, channels]` with more than one position): `ReLU(sum_k
  alpha_k A_k)`, `alpha_k` the spatial mean of d score / d A_k; the raw map
  at the layer's resolution and the map resized bilinearly to the input
  size (half-pixel centres, the numbers of `tf.image.resize`: `resize_bilinear`).
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

The score f is the class's **logit** when the model ends in a softmax the
adapter can undo, else the model's output for the class (`GradientSource`
in `tb_plugin.core.adapter`: the adapter computes scores and gradients, in
inference mode, writing nothing; every method's numerics are here).

**Text and sequence models** (one integer input of token ids and an
embedding layer): integrated gradients over the embedding output E (token
ids cannot be differentiated): `(E - 0) * mean_k grad(a_k E)` with the
zero-embedding baseline and the same midpoint rule, summed over the
embedding dimension: one signed score per token, for the true and the
predicted class, with the completeness error per sample (the scores sum to
`f(E) - f(0)`, f the model after its embedding layer). The token labels are
the run's `probe_tokens` when they fit (one label per position), else the
token ids. Only integrated gradients run for such models (the other
methods are skipped with a message).

Supported: models with one float image input `[batch, height, width,
channels]` (or token ids, above) and a `[batch, classes]` output. Grad-CAM
also needs a layer output the adapter can reach. What a model cannot
support is skipped with one message in the logging plan (`note()`).

**On, off, automatic.** `Attribution(...)` in `parts` logs what it is asked
for (the predicted class only when the probe has no labels; `ValueError`
when the probe's y is not class labels). `Attribution(auto=True)` is the
automatic part the callback adds when `probe_data=(x, y)` is given and no
`Attribution` is in `parts`: on when y holds class labels, else off (its
note says why). `Attribution(methods=())` in `parts` turns attribution off
(the automatic one included). `Attribution.from_keyword(value)` translates
the callback's deprecated `attribution=` keyword.
"""

import numbers

import numpy as np

from tb_plugin import kinds
from tb_plugin.core import nest
from tb_plugin.core.parts import Part
from tb_plugin.core.parts.attribution_math import (  # noqa: F401 (public here too)
    class_labels, completeness_error, estimate_bytes, gradcam_maps, midpoint_path, probe_labels, resize_bilinear,
    smoothgrad_inputs, token_labels)
from tb_plugin.kinds import attribution as data_lib

TAG = kinds.ATTRIBUTION.tag + "probe"
ATTRIBUTION_TAG = TAG  # the older name
METHODS = data_lib.METHODS
DEFAULT_IG_STEPS = 32
DEFAULT_SMOOTHGRAD_SAMPLES = 16
DEFAULT_SMOOTHGRAD_NOISE = 0.15
# Most samples per gradient pass (SmoothGrad and IG run several passes).
DEFAULT_CHUNK = 128
NO_EMBEDDING = ("integer inputs (token ids) and no embedding layer: integrated gradients need an embedding output "
                "to differentiate")
NO_METHOD = "no method left to compute"
OPTIONS = ("methods", "gradcam_layer", "ig_steps", "ig_baseline", "smoothgrad_samples", "smoothgrad_noise", "chunk",
           "class_names", "every")


class Attribution(Part):
    """Attribution maps of the probe samples at each due snapshot (module docstring).

    Args:
      methods: names from "gradcam", "saliency", "smoothgrad",
        "integrated_gradients" (default: all four; logged in that order);
        `()` turns attribution off (the automatic part included).
      gradcam_layer: the name (or path) of the Grad-CAM layer; None: the
        last top-level layer with a spatial output.
      ig_steps: integrated gradients' path steps (midpoint rule).
      ig_baseline: "zeros", a number, or an array of one input's shape.
      smoothgrad_samples: noisy copies per sample.
      smoothgrad_noise: the noise's standard deviation as a share of each
        sample's value range (max - min).
      class_names: names of the class indices (shown in the tab), or None.
      every: attribution at every N-th snapshot (the first included).
      chunk: most samples per gradient pass.
      auto: the automatic part: on only when the probe's y holds class
        labels (else off with a note), instead of failing on such a y.

    Raises:
      ValueError: naming the argument and the fix.

    The probe inputs go with the tag's first step and again only when they
    change (`Writer.attribution` keeps them).
    """

    name = "attribution"

    def __init__(self, *, methods=METHODS, gradcam_layer=None, ig_steps=DEFAULT_IG_STEPS, ig_baseline="zeros",
                 smoothgrad_samples=DEFAULT_SMOOTHGRAD_SAMPLES, smoothgrad_noise=DEFAULT_SMOOTHGRAD_NOISE,
                 class_names=None, every=1, chunk=DEFAULT_CHUNK, auto=False):
        self._configure("Attribution: ", dict(
            methods=methods, gradcam_layer=gradcam_layer, ig_steps=ig_steps, ig_baseline=ig_baseline,
            smoothgrad_samples=smoothgrad_samples, smoothgrad_noise=smoothgrad_noise, class_names=class_names,
            every=every, chunk=chunk), auto)

    @classmethod
    def from_keyword(cls, value):
        """The part for the callback's deprecated `attribution=` keyword, or None.

        None: the automatic part (`Attribution(auto=True)`); False: None
        (off; the callback adds no automatic part either); True: every
        method; a method name or a list of them; a dict of the constructor's
        options (except `auto`).

        Raises:
          ValueError: naming `attribution=` and the fix.
        """
        if value is None:
            return cls(auto=True)
        if value is False:
            return None
        if value is True:
            value = {}
        if isinstance(value, str):
            value = [value]
        if isinstance(value, (list, tuple)):
            value = {"methods": list(value)}
        if not isinstance(value, dict):
            raise ValueError("attribution= must be None, True/False, a list of methods (%s) or a dict of options, "
                             "got %r" % (", ".join(METHODS), value))
        unknown = sorted(set(value) - set(OPTIONS))
        if unknown:
            raise ValueError("attribution=: unknown option %s; the options are %s" % (", ".join(map(repr, unknown)),
                                                                                      ", ".join(OPTIONS)))
        part = cls.__new__(cls)
        part._configure("attribution=: ", dict(value), False, empty_ok=False)
        return part

    def _configure(self, where, options, auto, empty_ok=True):
        self._where = where
        self.auto = bool(auto)
        methods = options.get("methods", METHODS)
        if isinstance(methods, str):
            methods = [methods]
        methods = list(methods)
        bad = [m for m in methods if m not in METHODS]
        if bad or (not methods and not empty_ok):
            raise ValueError("%sunknown method%s %s; choose from %s" % (
                where, "" if len(bad) == 1 else "s", ", ".join(map(repr, bad)) or "(none given)", ", ".join(METHODS)))
        layer = options.get("gradcam_layer")
        if layer is not None and not isinstance(layer, str):
            raise ValueError("%sgradcam_layer must be a layer name (str), got %r" % (where, layer))
        noise = options.get("smoothgrad_noise", DEFAULT_SMOOTHGRAD_NOISE)
        if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not noise > 0:
            raise ValueError("%ssmoothgrad_noise must be a positive number (a share of each sample's value range, "
                             "e.g. 0.15), got %r" % (where, noise))
        baseline = options.get("ig_baseline", "zeros")
        if isinstance(baseline, str) and baseline != "zeros":
            raise ValueError("%sig_baseline must be 'zeros', a number or an array of one input's shape, got %r"
                             % (where, baseline))
        names = options.get("class_names")
        if names is not None and (isinstance(names, str) or not all(isinstance(n, str) for n in names)):
            raise ValueError("%sclass_names must be a list of strings (one per class index) or None, got %r"
                             % (where, names))
        self.methods = tuple(m for m in METHODS if m in methods)
        self.gradcam_layer = layer
        self.ig_steps = _int(where, "ig_steps", options.get("ig_steps", DEFAULT_IG_STEPS), 1)
        self.ig_baseline = baseline
        self.smoothgrad_samples = _int(where, "smoothgrad_samples",
                                       options.get("smoothgrad_samples", DEFAULT_SMOOTHGRAD_SAMPLES), 1)
        self.smoothgrad_noise = float(noise)
        self.chunk = _int(where, "chunk", options.get("chunk", DEFAULT_CHUNK), 1)
        self.class_names = None if names is None else list(names)
        self.every = _int(where, "every", options.get("every", 1), 1)
        self._reset()

    def _reset(self):
        self.active = []  # the methods in effect after begin()
        self.skipped = []  # [(method or "attribution", reason)]
        self.score = "output"
        self.layer = None  # the Grad-CAM layer: {"path", "name", "shape"}
        self.embedding = None  # the embedding layer's path (token models)
        self.labels = None
        self.adapter = None  # the run's adapter (set by begin)
        self._tokens = None
        self._note = ""
        self._shape = None

    def __repr__(self):
        return "Attribution(methods=%r%s)" % (list(self.methods), ", auto=True" if self.auto else "")

    # -- the part's lifecycle ------------------------------------------------------------

    def begin(self, run):
        self._reset()
        if not self.methods:
            self._note = "off (methods=())"
            return
        labels = class_labels(getattr(run, "probe_y", None))
        if isinstance(labels, str):
            if not self.auto:
                raise ValueError("%sprobe_data=(x, y) has y %s" % (self._where, labels))
            self._note = "off: the probe's y is %s" % labels
            return
        if labels is None and self.auto:
            self._note = "off: the probe has no class labels (probe_data=(x, y) turns it on)"
            return
        self.labels = labels
        arrays = nest.flatten(run.probe_x)
        first = np.asarray(arrays[0])
        self._shape = first.shape
        adapter = self.adapter = run.adapter
        if len(arrays) > 1:
            self.skipped.append(("attribution", "the probe has several inputs; attribution needs one image input"))
        else:
            try:
                self.score = adapter.score_kind()
            except NotImplementedError:
                self.skipped.append(("attribution", "the model adapter computes no gradients"))
            else:
                if np.issubdtype(first.dtype, np.floating):
                    self._begin_images(adapter, first)
                else:
                    self._begin_tokens(adapter, first)
        if self.active:
            self._check_outputs(adapter, first)
        if self.active and self.layer is not None:
            self._check_gradcam(adapter, first)
        self._note = self._describe()
        if self.embedding is not None and self.active:
            given = getattr(run, "probe_tokens", None)
            self._tokens = token_labels(given, first)
            self._note += "; token labels: %s" % (
                "attention_tokens" if self._tokens else
                "the token ids (attention_tokens do not give one label per token position)" if given is not None
                else "the token ids")

    def _begin_images(self, adapter, first):
        if len(first.shape) != 4:
            self.skipped.append(("attribution", "the input is %s, not an image [batch, height, width, channels]"
                                 % (list(first.shape),)))
            return
        self.active = list(self.methods)
        if "gradcam" in self.active:
            layer, reason = self._gradcam_layer(adapter)
            if layer is None:
                self.skipped.append(("gradcam", reason))
                self.active.remove("gradcam")
            self.layer = layer
        if not self.active:
            self.skipped.append(("attribution", NO_METHOD))

    def _check_gradcam(self, adapter, first):
        try:  # one sample: can the adapter reach the layer's output?
            adapter.class_gradients(first[:1].astype(np.float32), np.zeros(1, np.int64), wrt=self.layer["path"])
        except Exception as e:
            self.skipped.append(("gradcam", "its layer output cannot be reached (%s)" % e))
            self.active.remove("gradcam")
            self.layer = None
            if not self.active:
                self.skipped.append(("attribution", NO_METHOD))

    def _gradcam_layer(self, adapter):
        """(layer, None) or (None, why not); ValueError for a named layer that does not fit."""
        layers, problem = adapter.gradient_layers()
        if problem:
            return None, problem

        def spatial(layer):
            shape = layer.get("shape")
            return shape is not None and len(shape) == 4 and (shape[1] or 0) * (shape[2] or 0) > 1

        name = self.gradcam_layer
        if name is not None:
            match = [l for l in layers if name in (l["name"], l["path"])]
            if not match:
                raise ValueError("%sgradcam_layer=%r is not a layer of model %r; layers with a spatial output: %s"
                                 % (self._where, name, getattr(adapter, "name", "model"),
                                    ", ".join(l["name"] for l in layers if spatial(l)) or "none"))
            if not spatial(match[0]):
                raise ValueError("%sgradcam_layer=%r has no spatial output [batch, h, w, channels]; pick a conv layer"
                                 % (self._where, name))
            return match[0], None
        candidates = [l for l in layers if spatial(l)]
        if not candidates:
            return None, "no layer with a spatial output [batch, h, w, channels] for Grad-CAM"
        return candidates[-1], None

    def _begin_tokens(self, adapter, first):
        try:
            path, problem = adapter.embedding_layer()
        except NotImplementedError:
            path, problem = None, None
        if path is None:
            self.skipped.append(("attribution", problem or NO_EMBEDDING))
            return
        for m in self.methods:
            if m != "integrated_gradients":
                self.skipped.append((m, "a token model: only integrated gradients over the embedding output"))
        if "integrated_gradients" not in self.methods:
            self.skipped.append(("attribution", NO_METHOD))
            return
        if len(first.shape) != 2:
            self.skipped.append(("attribution", "the token input is %s, not [batch, tokens]" % (list(first.shape),)))
            return
        if problem:
            self.skipped.append(("attribution", problem))
            return
        self.embedding = path
        self.active = ["integrated_gradients"]

    def _check_outputs(self, adapter, first):
        try:
            out = adapter.class_scores(first[:1], batch_size=self.chunk)[0]
            if out.ndim != 2 or out.shape[1] < 2:
                raise ValueError("a [batch, classes] output with 2 or more classes")
            if self.embedding is not None:
                e = adapter.layer_output(first[:1], self.embedding)
                tail = adapter.class_scores(e, start=self.embedding)[0]
                if not np.allclose(tail, out, rtol=1e-3, atol=1e-5):
                    raise ValueError("the model run from its embedding output does not reproduce its output")
        except Exception as e:
            self.active = []
            self.skipped.append(("attribution", "the model output is not class scores (%s)" % e))

    def _describe(self):
        """The methods in effect and what was skipped, one line."""
        lines = []
        if self.active and self.embedding is not None:
            lines.append("integrated gradients per token over the output of embedding layer %s, on the %s"
                         % (self.embedding, self.score))
        elif self.active:
            lines.append("%s on the %s%s" % (", ".join(self.active), self.score,
                                             " (Grad-CAM layer %s)" % self.layer["name"] if self.layer else ""))
        for method, reason in self.skipped:
            lines.append("%s skipped: %s" % (method, reason))
        return "; ".join(lines)

    def estimate_bytes(self):
        """Bytes per snapshot before compression: q8 maps, the side document, Grad-CAM raw (upper bound)."""
        if not self.active:
            return 0
        targets = 2 if self.labels is not None else 1
        n = self._shape[0]
        if self.embedding is not None:
            return n * targets * self._shape[1] + 200 * n + 8 * n * self._shape[1]
        return estimate_bytes(n, self._shape[1], self._shape[2], self.active, targets)

    def note(self):
        return self._note

    def due(self, step, index):
        return bool(self.active) and index % self.every == 0

    def compute(self, run, step):
        description = "attribution maps of the probe samples (%s)" % self._describe()
        self.adapter = run.adapter
        first = np.asarray(nest.flatten(run.probe_x)[0])
        if self.embedding is not None:
            result = self.attribute_tokens(first, self.labels, self._tokens)

            def token_job(writer):
                writer.attribution(TAG, result.pop("maps"), step, description=description, **result)
            return token_job
        x = first.astype(np.float32)
        result = self.attribute(x, self.labels)

        def job(writer):
            writer.attribution(TAG, result.pop("maps"), step, images=x, description=description, **result)
        return job

    # -- the methods (numpy, from the adapter's scores and gradients) ---------------------

    def gradcam(self, x, classes):
        """(raw maps [n, h, w], maps resized to the input [n, H, W]) for `classes`, float32."""
        _, feats, grads = self.adapter.class_gradients(x, classes, wrt=self.layer["path"], batch_size=self.chunk)
        return gradcam_maps(feats, grads, x.shape[1:3])

    def saliency(self, x, classes):
        """max over channels of |d score / d x|, [n, H, W] float32."""
        g = self.adapter.class_gradients(x, classes, batch_size=self.chunk)[0]
        return np.abs(g).max(axis=-1).astype(np.float32)

    def smoothgrad(self, x, classes):
        """The mean saliency map of `smoothgrad_samples` seeded noisy copies of `x`, [n, H, W] float32."""
        k = self.smoothgrad_samples
        noisy = smoothgrad_inputs(x, k, self.smoothgrad_noise)
        g = self.adapter.class_gradients(noisy.reshape((-1,) + x.shape[1:]), np.tile(classes, k),
                                    batch_size=self.chunk)[0]
        return np.abs(g).max(axis=-1).reshape((k,) + x.shape[:3]).mean(axis=0).astype(np.float32)

    def baseline(self, x):
        b = self.ig_baseline
        if isinstance(b, str):
            return np.zeros_like(x)
        b = np.asarray(b, dtype=np.float32)
        try:
            return np.broadcast_to(b, x.shape).astype(np.float32)
        except ValueError:
            raise ValueError("%sig_baseline of shape %s does not fit the input %s" % (self._where, b.shape, x.shape))

    def integrated_gradients(self, x, classes, baseline=None, start=None):
        """(attributions [like x], f(x), f(baseline), relative completeness error [n]), float64.

        The path integral by the midpoint rule: gradients at `a_k = (k + 0.5)
        / ig_steps`, each weighted `1 / ig_steps` (never at the baseline
        itself, where a ReLU network's gradient is often degenerate).
        `start`: `x` is the output of that layer (the embedding), the model
        runs from there."""
        m = self.ig_steps
        b = self.baseline(x) if baseline is None else baseline
        g = self.adapter.class_gradients(midpoint_path(x, b, m).reshape((-1,) + x.shape[1:]), np.tile(classes, m),
                                    start=start, batch_size=self.chunk)[0]
        attr = (x - b).astype(np.float64) * g.reshape((m,) + x.shape).astype(np.float64).mean(axis=0)
        rows = np.arange(len(x))
        f_x = self.adapter.class_scores(x, start=start, batch_size=self.chunk)[1][rows, classes]
        f_b = self.adapter.class_scores(b, start=start, batch_size=self.chunk)[1][rows, classes]
        return (attr, f_x, f_b) + (completeness_error(attr, f_x, f_b),)

    def token_integrated_gradients(self, ids, classes):
        """(per-token scores [n, tokens], per-dimension attributions [n, tokens, dim], f(E), f(0), error [n])."""
        e = np.asarray(self.adapter.layer_output(ids, self.embedding, batch_size=self.chunk), dtype=np.float32)
        attr, f_x, f_b, error = self.integrated_gradients(e, classes, np.zeros_like(e), self.embedding)
        return attr.sum(axis=-1), attr, f_x, f_b, error

    def attribute(self, x, true_class=None):
        """Every method in effect on images `x`, for the true (if given) and predicted class.

        Returns the `Writer.attribution` arguments: a dict with `maps`
        ({method: [n, targets, H, W]}), classes, probabilities,
        `completeness_error`, `gradcam_raw`, `gradcam_layer`, `settings`."""
        x = np.asarray(x, dtype=np.float32)
        result, targets = self._targets(x, true_class)
        maps = {m: [] for m in self.active}
        raws, errors = [], {}
        for name, classes in targets:
            if "gradcam" in maps:
                # One pass gives Grad-CAM's layer gradients and the saliency's input gradients.
                g, feats, grads = self.adapter.class_gradients(x, classes, wrt=self.layer["path"], batch_size=self.chunk)
                raw, up = gradcam_maps(feats, grads, x.shape[1:3])
                raws.append(raw)
                maps["gradcam"].append(up)
                if "saliency" in maps:
                    maps["saliency"].append(np.abs(g).max(axis=-1).astype(np.float32))
            elif "saliency" in maps:
                maps["saliency"].append(self.saliency(x, classes))
            if "smoothgrad" in maps:
                maps["smoothgrad"].append(self.smoothgrad(x, classes))
            if "integrated_gradients" in maps:
                attr, _, _, error = self.integrated_gradients(x, classes)
                maps["integrated_gradients"].append(attr.sum(axis=-1).astype(np.float32))
                errors[name] = error
        settings = {"score": self.score}
        if "smoothgrad" in maps:
            settings["smoothgrad"] = {"samples": self.smoothgrad_samples, "noise": self.smoothgrad_noise,
                                      "noise_meaning": "standard deviation as a share of each sample's max - min"}
        if "integrated_gradients" in maps:
            settings["integrated_gradients"] = {
                "steps": self.ig_steps, "rule": "midpoint",
                "baseline": self.ig_baseline if isinstance(self.ig_baseline, str) else "given",
                "completeness_error": "|sum(attr) - (f(x) - f(baseline))| / max(|f(x) - f(baseline)|, 1e-6)"}
        result.update(
            maps={m: np.stack(v, axis=1) for m, v in maps.items()},
            completeness_error=errors or None,
            gradcam_raw=np.stack(raws, axis=1) if raws else None,
            gradcam_layer=self.layer["name"] if self.layer else None,
            settings=settings,
        )
        return result

    def attribute_tokens(self, ids, true_class=None, tokens=None):
        """Integrated gradients per token for the true (if given) and predicted class.

        `tokens`: labels (one list per sample) or None (the token ids).
        Returns the `Writer.attribution` arguments (the token layout)."""
        ids = np.asarray(ids)
        result, targets = self._targets(ids, true_class)
        maps, errors = [], {}
        for name, classes in targets:
            scores, _, _, _, error = self.token_integrated_gradients(ids, classes)
            maps.append(scores.astype(np.float32))
            errors[name] = error
        result.update(
            maps={"integrated_gradients": np.stack(maps, axis=1)},
            tokens=tokens if tokens is not None else [[str(int(v)) for v in row] for row in ids.reshape(len(ids), -1)],
            completeness_error=errors,
            gradcam_layer=None,
            settings={"score": self.score, "embedding_layer": self.embedding, "integrated_gradients": {
                "steps": self.ig_steps, "rule": "midpoint", "baseline": "zero embedding",
                "over": "the embedding output, summed over the embedding dimension",
                "completeness_error": "|sum(token scores) - (f(E) - f(0))| / max(|f(E) - f(0)|, 1e-6)"}},
        )
        return result

    def _targets(self, x, true_class):
        """(the class fields of the result, [("true", classes), ("predicted", classes)])."""
        out = self.adapter.class_scores(x, batch_size=self.chunk)[0]
        if out.ndim != 2:
            raise ValueError("attribution needs a [batch, classes] model output, got shape %s" % (out.shape,))
        probabilities = bool((out >= -1e-6).all() and (out <= 1 + 1e-6).all()
                             and np.allclose(out.sum(axis=1), 1, atol=1e-3))
        predicted = out.argmax(axis=1)
        targets = [("predicted", predicted)]
        if true_class is not None:
            true_class = np.asarray(true_class)[:len(x)]
            if (true_class >= out.shape[1]).any():
                raise ValueError("probe labels go up to %d but the model has %d classes"
                                 % (true_class.max(), out.shape[1]))
            targets.insert(0, ("true", true_class))
        rows = np.arange(len(x))
        return dict(
            predicted_class=predicted,
            true_class=true_class,
            predicted_probability=out[rows, predicted],
            true_probability=None if true_class is None else out[rows, true_class],
            probabilities=probabilities,
            class_names=self.class_names,
        ), targets


def _int(where, key, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError("%s%s must be an int >= %d, got %r" % (where, key, minimum, value))
    return int(value)
