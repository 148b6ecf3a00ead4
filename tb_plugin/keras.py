"""`InternalsCallback`: log every layer of any Keras 3 model during `fit`.

    from tb_plugin.keras import InternalsCallback
    model.fit(x, y, epochs=10,
              callbacks=[InternalsCallback("logs/run1", probe_data=x_val[:16])])

How layers are captured: each selected layer's `call` is replaced, on the
instance, by a wrapper that records its outputs; then the probe batch goes
through the model once, eagerly and in inference mode, and the originals are
restored (also when something raises). This sees inside Sequential,
Functional, subclassed and nested models alike, where building a sub-model
from `layer.output` fails ("Graph disconnected", "layer has never been
called"). The probe pass reads the weights and touches no training state, so
training proceeds exactly as without the callback.
"""

import collections
import fnmatch
import warnings

import keras
import numpy as np

from tb_plugin import encoding as encoding_lib
from tb_plugin import stats, summary
from tb_plugin import weights as weights_lib

ACTIVATIONS_PREFIX = "activations/"
STATS_PREFIX = "activation_stats/"
SCALARS_PREFIX = "internals/"
ATTENTION_PREFIX = "attention/"
# Stats mirrored into the Scalars dashboard when `scalars=True`.
SCALAR_FIELDS = ("mean", "std", "zero_fraction", "dead_fraction", "saturated_fraction")


class InternalsCallback(keras.callbacks.Callback):
    """Logs layer activations and their statistics for the Internals tab.

    Every time it logs, it runs the fixed probe batch through the model in
    inference mode and writes, for each selected layer output, the
    activations (tag `activations/<layer path>`) and their statistics (tag
    `activation_stats/<layer path>`: mean, std, min, max, fraction of exact
    zeros, dead and saturated units, histogram; see `tb_plugin.stats`).
    Layer paths name nested layers as `outer/inner`; a layer called several
    times gets `[call N]` from its second call on, and a layer with several
    outputs gets `:i` per output.

    Steps: in epoch mode, step 0 is the model before training and step `e`
    the model after epoch `e` (1-based, as Keras prints it); in batch mode,
    the step is the number of training batches seen.

    Args:
      log_dir: the run directory to write to (a new event file in it).
      probe_data: a fixed batch `x`, or `(x, y)` (y is ignored), in any form
        the model accepts (array, list or dict of arrays; a tuple is read as
        `(x, y)`, so pass several inputs as a list). The same inputs
        are used every time, so steps are comparable. A model that `fit`
        has not built yet (no Input) is built from the probe's shapes, batch
        axis aside, so they must be those of the training inputs.
      layers: which layer outputs to log: None for all layers that produce
        real-valued tensors; or a list of layer names, layer paths, glob
        patterns over paths (e.g. "backbone/*conv*") and layer classes
        (e.g. `keras.layers.Conv2D`).
      probe_samples: how many samples of `probe_data` to use (the first N).
      epoch_freq: log every this many epochs (0 to log no epochs).
      batch_freq: if set, log every this many training batches instead of
        per epoch.
      log_initial: also log the model as it is before training starts.
      encoding: "q8" (compact, bounded error) or "f32" (lossless).
      max_values: most values per layer output and step (see
        `tb_plugin.summary.activations`).
      scalars: also write a few statistics of each layer (mean, std, zero
        fraction, dead and saturated fraction) as scalar summaries
        `internals/<path>/<stat>` for the built-in Scalars dashboard.
      strict: raise on a logging failure instead of warning and going on.
      attention_fn: for custom attention layers: a function
        `attention_fn(layer, outputs)` called on every layer call of the
        probe pass, returning that call's attention scores (`[batch, heads,
        q, k]` or `[heads, q, k]`, e.g. kept by the layer on `self`) or None.
        Every `keras.layers.MultiHeadAttention` is captured without it (it
        is called with `return_attention_scores=True` and its masks on the
        probe pass only). Scores are logged as `attention/<layer path>` at
        the steps of the activations.
      attention_tokens: token labels of the probe samples for the attention
        views: one list of strings per probe sample (or one list shared by
        all), used for every self-attention whose length matches.
      weights_freq: also log every trainable variable (tag
        `weights/<layer path>/<variable name>`, e.g. `weights/conv1/kernel`)
        at the logged steps that are multiples of this (epoch mode: every N
        epochs, step 0 included); 0 logs no weights.
      weights_encoding: encoding of the variables: "f32" (default; lossless,
        so the tab shows the exact values) or "q8".
      log_model_summary: log the model's layer list (class, output shape,
        parameter count, nesting) once, as tag `model_summary`, at the start
        of training; the tab opens a run on it.

    Raises (at `on_train_begin`, before an epoch is spent):
      ValueError: the model rejects the probe data, a name in `layers`
        matches no layer (the message lists them), or nothing is selected.
    """

    def __init__(
        self,
        log_dir,
        probe_data,
        *,
        layers=None,
        probe_samples=16,
        epoch_freq=1,
        batch_freq=None,
        log_initial=True,
        encoding=summary.DEFAULT_ENCODING,
        max_values=summary.DEFAULT_MAX_VALUES,
        scalars=False,
        strict=False,
        attention_fn=None,
        attention_tokens=None,
        weights_freq=1,
        weights_encoding="f32",
        log_model_summary=True,
    ):
        super().__init__()
        if encoding not in encoding_lib.ENCODINGS:
            raise ValueError("unknown encoding %r; use 'q8' or 'f32'" % (encoding,))
        if not isinstance(probe_samples, int) or probe_samples < 1:
            raise ValueError("probe_samples must be a positive int, got %r" % (probe_samples,))
        if batch_freq is not None and (not isinstance(batch_freq, int) or batch_freq < 1):
            raise ValueError("batch_freq must be None or a positive int, got %r" % (batch_freq,))
        if not isinstance(epoch_freq, int) or epoch_freq < 0:
            raise ValueError("epoch_freq must be an int >= 0, got %r" % (epoch_freq,))
        self.log_dir = log_dir
        self.probe_x = _probe_inputs(probe_data, probe_samples)
        self.selectors = _selectors(layers)
        self.epoch_freq = epoch_freq
        self.batch_freq = batch_freq
        self.log_initial = log_initial
        self.encoding = encoding
        self.max_values = max_values
        self.scalars = scalars
        self.strict = strict
        if attention_fn is not None and not callable(attention_fn):
            raise ValueError("attention_fn must be callable(layer, outputs), got %r" % (attention_fn,))
        self.attention_fn = attention_fn
        self.attention_tokens = _probe_tokens(attention_tokens, probe_samples)
        if not isinstance(weights_freq, int) or weights_freq < 0:
            raise ValueError("weights_freq must be an int >= 0, got %r" % (weights_freq,))
        if weights_encoding not in encoding_lib.ENCODINGS:
            raise ValueError("unknown weights_encoding %r; use 'f32' or 'q8'" % (weights_encoding,))
        self.weights_freq = weights_freq
        self.weights_encoding = weights_encoding
        self.log_model_summary = log_model_summary
        self._summary_logged = False
        self._writer = None
        self._pending_initial = None
        self._batches_seen = 0
        if batch_freq:
            # Only then: a batch hook makes Keras fetch the logs after every
            # batch (no async dispatch), which costs time in epoch mode.
            self.on_train_batch_end = self._on_train_batch_end

    # Keras hooks -----------------------------------------------------------

    def on_train_begin(self, logs=None):
        records = capture(self.model, self.probe_x, attention_fn=self.attention_fn)
        selected = self._select(records)
        if self._writer is None:
            self._writer = summary.Writer(self.log_dir)
        if self.log_model_summary and not self._summary_logged:
            self._summary_logged = True
            try:
                shapes = {r.path: r.value.shape for r in records}
                self._writer.model_summary(
                    weights_lib.MODEL_SUMMARY_TAG,
                    weights_lib.model_summary(self.model, shapes),
                    step=0,
                    description="Layers of model %s" % self.model.name,
                )
            except Exception as e:
                self._fail("the model summary", e)
        if self.log_initial:
            if self.batch_freq:
                self._log(selected, self._batches_seen)
            else:
                # Logged at the first epoch's start, which knows the epoch
                # number (fit may resume from initial_epoch).
                self._pending_initial = selected

    def on_epoch_begin(self, epoch, logs=None):
        if self._pending_initial is not None:
            records, self._pending_initial = self._pending_initial, None
            self._log(records, epoch)

    def on_epoch_end(self, epoch, logs=None):
        if not self.batch_freq and self.epoch_freq and (epoch + 1) % self.epoch_freq == 0:
            self._capture_and_log(epoch + 1)

    def _on_train_batch_end(self, batch, logs=None):
        self._batches_seen += 1
        if self.batch_freq and self._batches_seen % self.batch_freq == 0:
            self._capture_and_log(self._batches_seen)

    def on_train_end(self, logs=None):
        self._pending_initial = None
        if self._writer is not None:
            # A later fit() opens a new event file in the same run.
            writer, self._writer = self._writer, None
            try:
                writer.close()
            except Exception as e:
                self._fail("closing the event file", e)

    # Logging ---------------------------------------------------------------

    def _select(self, records):
        if not records:
            raise ValueError(
                "the probe pass through model %r produced no layer outputs to log"
                % self.model.name
            )
        available = sorted({r.path for r in records} | {r.layer.name for r in records})
        for selector in self.selectors:
            if not isinstance(selector, type) and not any(_matches(selector, r) for r in records):
                raise ValueError(
                    "layers=%r: %r matches no layer of model %r. Available layer "
                    "names and paths: %s" % (self.selectors, selector, self.model.name, ", ".join(available))
                )
        selected = [r for r in records if self._is_selected(r)]
        if not selected:
            raise ValueError(
                "layers=%r selects no layer output of model %r. Available layer "
                "names and paths: %s" % (self.selectors, self.model.name, ", ".join(available))
            )
        return selected

    def _is_selected(self, record):
        if not self.selectors:
            return record.is_real
        return any(_matches(s, record) for s in self.selectors)

    def _capture_and_log(self, step):
        try:
            records = capture(self.model, self.probe_x, attention_fn=self.attention_fn)
        except Exception as e:  # A logging failure must not stop training.
            self._fail("the probe pass", e)
            return
        self._log([r for r in records if self._is_selected(r)], step)

    def _log(self, records, step):
        if self.weights_freq and step % self.weights_freq == 0:
            self._write_weights(step)
        for record in records:
            if record.kind == "attention":
                try:
                    self._write_attention(record, step)
                except Exception as e:
                    self._fail("attention of layer %r" % record.path, e)
                continue
            # Statistics and activations fail apart: an oversized layer
            # output still gets its statistics.
            for write in (self._write_stats, self._write_activations):
                try:
                    write(record, step)
                except Exception as e:
                    self._fail("layer %r" % record.path, e)
        try:
            self._writer.flush()
        except Exception as e:
            self._fail("flushing the event file", e)

    def _write_weights(self, step):
        for path, name, layer, variable in weights_lib.trainable_variables(self.model):
            try:
                self._writer.weights(
                    weights_lib.WEIGHTS_PREFIX + path + "/" + name,
                    np.asarray(keras.ops.convert_to_numpy(variable)),
                    step,
                    description="`%s` of %s layer `%s`" % (name, type(layer).__name__, path),
                    encoding=self.weights_encoding,
                    max_values=self.max_values,
                    layer=path,
                    layer_class=type(layer).__name__,
                )
            except Exception as e:
                self._fail("variable %s/%s" % (path, name), e)

    def _write_attention(self, record, step):
        scores = record.value
        tokens = self.attention_tokens
        q, k = scores.shape[-2], scores.shape[-1]
        if tokens is not None:
            per_sample = bool(tokens) and isinstance(tokens[0], list)
            lengths = {len(t) for t in tokens} if per_sample else {len(tokens)}
            if lengths != {q} or q != k or (per_sample and (scores.ndim != 4 or len(tokens) != scores.shape[0])):
                tokens = None  # not this layer's sequence (e.g. cross attention)
        sums = np.asarray(scores, np.float64).sum(axis=-1)
        self._writer.attention(
            ATTENTION_PREFIX + record.path,
            scores,
            step,
            tokens=tokens,
            normalized=bool(np.all(np.abs(sums[np.isfinite(sums)] - 1) < 1e-3)),
            description="attention scores of %s layer `%s`" % (type(record.layer).__name__, record.path),
            encoding=self.encoding,
            max_values=self.max_values,
        )

    def _write_activations(self, record, step):
        self._writer.activations(
            ACTIVATIONS_PREFIX + record.path,
            record.value,
            step,
            description=_description(record),
            encoding=self.encoding,
            max_values=self.max_values,
        )

    def _write_stats(self, record, step):
        vector = self._writer.activation_stats(
            STATS_PREFIX + record.path,
            record.value,
            step,
            activation=record.activation,
            source_tag=ACTIVATIONS_PREFIX + record.path,
            description=_description(record),
        )
        if self.scalars:
            unpacked = stats.unpack(vector)
            for field in SCALAR_FIELDS:
                if np.isfinite(unpacked[field]):
                    self._writer.scalar(SCALARS_PREFIX + record.path + "/" + field, unpacked[field], step)

    def _fail(self, what, error):
        message = "InternalsCallback could not log %s: %s: %s" % (what, type(error).__name__, error)
        if self.strict:
            raise RuntimeError(message) from error
        warnings.warn(message + " (training goes on; pass strict=True to raise instead)", stacklevel=2)


class LayerOutput:
    """One output of one layer call on the probe pass, as a numpy array."""

    def __init__(self, path, layer, value, kind="activations"):
        self.path = path
        self.layer = layer
        self.value = value
        # "activations", or "attention" for a layer call's attention scores.
        self.kind = kind

    @property
    def is_real(self):
        return self.value.dtype.kind in "biuf" or self.value.dtype.name == "bfloat16"

    @property
    def activation(self):
        return activation_name(self.layer)


def capture(model, x, attention_fn=None):
    """Runs `x` through `model` in inference mode, recording every layer call.

    Every `keras.layers.MultiHeadAttention` call is made with
    `return_attention_scores=True` (its other arguments, masks included, as
    given) and its scores recorded too, as a `LayerOutput` of kind
    "attention" just before the layer's outputs; the model sees the outputs
    it asked for. `attention_fn(layer, outputs)` may return the scores of
    other layers' calls (None: none).

    Returns:
      A list of `LayerOutput` in call order.

    Raises:
      ValueError: the model rejects `x` (the message gives the shapes).
    """
    try:
        _build_like_fit(model, x)
    except Exception as e:
        raise _rejected(model, x, e) from e
    layers = model._flatten_layers(include_self=False, recursive=True)
    records, stack, calls = [], [], collections.Counter()
    patched = []

    def wrap(layer, original):
        def recording_call(*args, **kwargs):
            path = "/".join(stack + [layer.name])
            stack.append(layer.name)
            scores = None
            try:
                if isinstance(layer, keras.layers.MultiHeadAttention) and not kwargs.get("return_attention_scores"):
                    # Scores only on the probe pass (they disable fused attention).
                    outputs, scores = original(*args, **dict(kwargs, return_attention_scores=True))
                else:
                    outputs = original(*args, **kwargs)
                    if attention_fn is not None:
                        scores = attention_fn(layer, outputs)
                    elif isinstance(layer, keras.layers.MultiHeadAttention):
                        scores = outputs[1]
            finally:
                stack.pop()
            flat = [o for o in keras.tree.flatten(outputs) if hasattr(o, "shape")]
            try:
                arrays = [np.asarray(keras.ops.convert_to_numpy(o)) for o in flat]
            except Exception:
                # A symbolic call (e.g. Keras building a subclassed model on
                # its first call) has no values to record.
                return outputs
            calls[path] += 1
            key = path if calls[path] == 1 else "%s [call %d]" % (path, calls[path])
            if scores is not None:
                records.append(LayerOutput(key, layer, np.asarray(keras.ops.convert_to_numpy(scores)), "attention"))
            for i, array in enumerate(arrays):
                records.append(LayerOutput(key if len(arrays) == 1 else "%s:%d" % (key, i), layer, array))
            return outputs

        return recording_call

    try:
        for layer in layers:
            had_own = "call" in layer.__dict__
            original = layer.call
            patched.append((layer, had_own, original))
            object.__setattr__(layer, "call", wrap(layer, original))
        try:
            model(x, training=False)
        except Exception as e:
            raise _rejected(model, x, e) from e
    finally:
        for layer, had_own, original in reversed(patched):
            if had_own:
                object.__setattr__(layer, "call", original)
            else:
                object.__delattr__(layer, "call")
    return records


def _build_like_fit(model, x):
    """Builds a model that fit has not built yet, as fit's first trace would.

    Without a distribution strategy, `fit` builds a model that has no Input
    (a Sequential without one, a subclassed model) only when it traces the
    train step, after `on_train_begin`. The eager probe call would build it
    first, with the probe's batch size baked into its input shapes; build
    it instead symbolically from the probe's structure with an unknown batch
    size, which creates the same variables with the same values.
    """
    if all(layer.built for layer in model._flatten_layers()):
        return
    from keras.src import backend  # compute_output_spec: what fit's own build uses

    def spec(a):
        a = np.asarray(a)
        return keras.KerasTensor((None,) + a.shape[1:], dtype=keras.backend.standardize_dtype(a.dtype))

    backend.compute_output_spec(model, keras.tree.map_structure(spec, x), training=False)


def _rejected(model, x, error):
    return ValueError(
        "model %r rejected the probe data (%s): %s: %s. Pass probe_data "
        "in the form and shape the model takes as input."
        % (model.name, _describe(x), type(error).__name__, error)
    )


def activation_name(layer):
    """The name of a layer's activation function ("relu", ...) or None."""
    if isinstance(layer, keras.layers.LeakyReLU):
        return "leaky_relu"
    if isinstance(layer, keras.layers.ReLU):
        slope = getattr(layer, "negative_slope", 0) or 0
        return "leaky_relu" if slope else "relu"
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", None)
    return name if isinstance(name, str) else None


def _matches(selector, record):
    if isinstance(selector, type):
        return isinstance(record.layer, selector)
    return (
        selector == record.path
        or selector == record.layer.name
        or fnmatch.fnmatchcase(record.path, selector)
    )


def _selectors(layers):
    if layers is None:
        return []
    if isinstance(layers, (str, type)):
        layers = [layers]
    layers = list(layers)
    for s in layers:
        if not isinstance(s, (str, type)):
            raise ValueError(
                "layers must hold layer names, paths, glob patterns or layer "
                "classes, got %r" % (s,)
            )
    if not layers:
        raise ValueError("layers=[] selects nothing; pass None to log every layer")
    return layers


def _probe_inputs(probe_data, samples):
    if isinstance(probe_data, tuple) and len(probe_data) in (2, 3):
        probe_data = probe_data[0]  # (x, y) or (x, y, sample_weight)
    if probe_data is None:
        raise ValueError("probe_data is None; pass a fixed batch of model inputs")
    return keras.tree.map_structure(lambda a: np.asarray(a)[:samples], probe_data)


def _probe_tokens(tokens, samples):
    """`attention_tokens` as lists of strings: one per sample (first N), or one shared."""
    if tokens is None:
        return None
    tokens = list(tokens)
    if tokens and all(isinstance(t, (list, tuple, np.ndarray)) for t in tokens):
        return [[str(s) for s in t] for t in tokens[:samples]]
    if any(isinstance(t, (list, tuple, np.ndarray)) for t in tokens):
        raise ValueError("attention_tokens must be a list of strings or one list of strings per probe sample")
    return [str(s) for s in tokens]


def _description(record):
    return "%s output of layer `%s`" % (type(record.layer).__name__, record.path)


def _describe(x):
    return ", ".join(
        "shape %s %s" % (tuple(np.shape(a)), getattr(np.asarray(a), "dtype", "")) for a in keras.tree.flatten(x)
    )
