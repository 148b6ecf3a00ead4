"""Class scores and their gradients of a Keras model: the `GradientSource` of the Keras adapter.

`KerasGradients` implements `tb_plugin.core.adapter.GradientSource` (the
contract is there) for a Keras 3 model on TensorFlow, against two
attributes of the adapter that inherits it: `self.model` (the Keras model)
and `self.names` (`{id(layer): stable name}`, the paths of top-level
layers). The attribution numerics are in `tb_plugin.core.parts.attribution`.

* **Score**: when the model is Functional or Sequential and ends in a
  softmax we can undo (a `Dense` with softmax activation: the layer's input
  times its kernel plus its bias; a `Softmax` layer or an
  `Activation("softmax")`: its input), the score is that logit; else the
  model's output.
* **Passes**: one `keras.Model` per (start, wrt) reaching the layer outputs
  needed (`wrt`, the softmax's input, the model output) from the model input
  or from a layer's output (`start`), called with `training=False`;
  gradients by `tf.GradientTape` with respect to the input (and the `wrt`
  output) only, inside a `tf.function` traced once per (start, wrt, input
  shape) with the batch axis free; chunks of `batch_size` samples. No
  variable is written, no optimizer or metric is touched.
* **Layers**: Grad-CAM may use any top-level layer's output (a subclassed
  model's are out of reach); token attribution the first top-level
  `keras.layers.Embedding`, unless it masks (`mask_zero=True`: the model after
  it cannot be run from its output with the same mask).
"""

import keras
import numpy as np

NO_EMBEDDING = ("integer inputs (token ids) and no keras.layers.Embedding layer: integrated gradients need an "
                "embedding output to differentiate")
SUBCLASSED = "a subclassed model: Grad-CAM needs a Functional or Sequential model to reach a layer's output"


def _is_softmax(activation):
    return getattr(activation, "__name__", None) == "softmax" or activation == "softmax"


def _functional(model):
    return bool(getattr(model, "inputs", None)) and bool(getattr(model, "outputs", None))


class KerasGradients:
    """`GradientSource` for a Keras model (module docstring); mixed into the Keras adapter.

    Needs `self.model` and `self.names`; keeps its traced passes in
    `self._gradient_cache` (made on first use)."""

    # -- GradientSource ----------------------------------------------------------------

    def score_kind(self):
        return "logit" if self._head() is not None else "output"

    def class_scores(self, x, start=None, batch_size=128):
        tf = _tf()
        x = _as_input(x)
        fn = self._pass(start, None, x, gradients=False)
        outs, scores = [], []
        for lo in range(0, len(x), batch_size):
            out, score = fn(tf.convert_to_tensor(x[lo:lo + batch_size]))
            outs.append(np.asarray(out, dtype=np.float64))
            scores.append(np.asarray(score, dtype=np.float64))
        return np.concatenate(outs, axis=0), np.concatenate(scores, axis=0)

    def class_gradients(self, x, classes, wrt=None, start=None, batch_size=128):
        tf = _tf()
        x = _as_input(x)
        classes = np.asarray(classes, dtype=np.int32).reshape(-1)
        if len(classes) != len(x):
            raise ValueError("class_gradients: %d classes for %d samples" % (len(classes), len(x)))
        fn = self._pass(start, wrt, x, gradients=True)
        gx, fs, gf = [], [], []
        for lo in range(0, len(x), batch_size):
            result = fn(tf.convert_to_tensor(x[lo:lo + batch_size]), tf.convert_to_tensor(classes[lo:lo + batch_size]))
            gx.append(result[0].numpy())
            if wrt is not None:
                fs.append(result[1].numpy())
                gf.append(result[2].numpy())
        cat = lambda a: np.concatenate(a, axis=0) if a else None  # noqa: E731
        return cat(gx), cat(fs), cat(gf)

    def gradient_layers(self):
        model = self.model
        if not _functional(model):
            return [], SUBCLASSED
        out = []
        for layer in model.layers:
            if isinstance(layer, keras.layers.InputLayer):
                continue
            try:
                shape = tuple(layer.output.shape)
            except Exception:
                shape = None
            out.append({"path": self._path(layer), "name": layer.name, "shape": shape})
        return out, None

    def embedding_layer(self):
        layer = next((l for l in getattr(self.model, "layers", None) or [] if isinstance(l, keras.layers.Embedding)),
                     None)
        if layer is None:
            return None, NO_EMBEDDING
        path = self._path(layer)
        try:
            self._graph(path, None)
        except Exception as e:
            return path, "the model after embedding layer %s cannot be reached from its output (%s)" % (layer.name, e)
        if getattr(layer, "mask_zero", False):
            return path, ("embedding layer %s has mask_zero=True: the model after it cannot be run from the embedding "
                          "output with the same mask" % layer.name)
        return path, None

    def layer_output(self, x, path, batch_size=128):
        tf = _tf()
        cache = self._cache()
        key = ("output", path)
        if key not in cache:
            cache[key] = keras.Model(self.model.inputs[0], self._layer(path).output)
        sub = cache[key]
        x = np.asarray(x)
        return np.concatenate([np.asarray(sub(tf.convert_to_tensor(x[lo:lo + batch_size]), training=False),
                                          dtype=np.float32) for lo in range(0, len(x), batch_size)], axis=0)

    # -- the passes --------------------------------------------------------------------

    def _cache(self):
        cache = self.__dict__.get("_gradient_cache")
        if cache is None:
            cache = self.__dict__["_gradient_cache"] = {}
        return cache

    def _path(self, layer):
        return self.names.get(id(layer), layer.name) if self.names else layer.name

    def _layer(self, path):
        for layer in self.model.layers:
            if self._path(layer) == path:
                return layer
        for layer in self.model.layers:
            if layer.name == path:
                return layer
        raise ValueError("no top-level layer %r in model %r" % (path, self.model.name))

    def _head(self):
        """("dense" | "input", the softmax layer) when the score is a logit, else None (cached)."""
        cache = self._cache()
        if "head" not in cache:
            head = None
            model = self.model
            last = model.layers[-1] if _functional(model) and getattr(model, "layers", None) else None
            try:
                if isinstance(last, keras.layers.Dense) and _is_softmax(last.activation):
                    head = ("dense", last)
                elif isinstance(last, keras.layers.Softmax) or (
                        isinstance(last, keras.layers.Activation) and _is_softmax(last.activation)):
                    head = ("input", last)
                if head is not None:
                    keras.Model(model.inputs[0], [last.input, model.outputs[0]])  # reachable?
            except Exception:
                head = None
            cache["head"] = head
        return cache["head"]

    def _graph(self, start, wrt):
        """A `keras.Model` from the input (or `start`'s output) to [wrt's output], [the softmax's input], the output.

        None when the model itself is that (no start, no wrt, no head)."""
        cache = self._cache()
        key = ("graph", start, wrt)
        if key not in cache:
            model, head = self.model, self._head()
            if start is None and wrt is None and head is None:
                cache[key] = None
            else:
                inputs = model.inputs[0] if start is None else self._layer(start).output
                outputs = ([self._layer(wrt).output] if wrt is not None else []) + (
                    [head[1].input] if head is not None else []) + [model.outputs[0]]
                cache[key] = keras.Model(inputs, outputs)
        return cache[key]

    def _forward(self, graph, has_wrt, x):
        """(wrt's output or None, scores, model output), tensors, inference mode."""
        tf = _tf()
        if graph is None:
            out = self.model(x, training=False)
            return None, out, out
        outs = graph(x, training=False)
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        feats = outs.pop(0) if has_wrt else None
        out = outs[-1]
        head = self._head()
        if head is None:
            return feats, out, out
        how, last = head
        if how == "input":
            return feats, outs[0], out
        score = tf.matmul(outs[0], tf.convert_to_tensor(last.kernel))
        if last.use_bias:
            score = score + tf.convert_to_tensor(last.bias)
        return feats, score, out

    def _pass(self, start, wrt, x, gradients):
        """The compiled pass for inputs like `x`: scores, or gradients (traced once, any batch size)."""
        tf = _tf()
        cache = self._cache()
        key = ("grad" if gradients else "scores", start, wrt, x.shape[1:], x.dtype.name)
        if key in cache:
            return cache[key]
        graph = self._graph(start, wrt)
        has_wrt = wrt is not None
        spec = tf.TensorSpec((None,) + tuple(x.shape[1:]), x.dtype.name)

        if not gradients:
            def scores(xs):
                _, score, out = self._forward(graph, False, xs)
                return out, score
            fn = tf.function(scores, input_signature=[spec], autograph=False)
        else:
            def grads(xs, classes):
                with tf.GradientTape() as tape:
                    tape.watch(xs)
                    feats, score, _ = self._forward(graph, has_wrt, xs)
                    total = tf.reduce_sum(tf.gather(tf.cast(score, tf.float32), classes, batch_dims=1))
                if has_wrt:
                    g_x, g_f = tape.gradient(total, [xs, feats])
                    return g_x, feats, g_f
                return (tape.gradient(total, xs),)
            fn = tf.function(grads, input_signature=[spec, tf.TensorSpec((None,), tf.int32)], autograph=False)
        cache[key] = fn
        return fn


def _as_input(x):
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.floating) and x.dtype != np.float32:
        x = x.astype(np.float32)
    return x


def _tf():
    import tensorflow as tf

    return tf
