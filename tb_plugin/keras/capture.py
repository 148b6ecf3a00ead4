"""The probe pass: run a fixed batch through a Keras model and record every layer call.

Keras-specific, no writing. `capture(model, x)` returns one `LayerOutput`
per output of every layer call, in call order, with stable names:

* **How.** Each layer's `call` is replaced, on the instance, by a wrapper
  that records its outputs; the probe batch goes through the model once,
  in inference mode; the originals are restored (also when something
  raises). This sees inside Sequential, Functional, subclassed and nested
  models alike. With a `compile_cache` (the callback's), that pass is
  traced once into a TensorFlow function returning every recorded output,
  and later snapshots run the graph (`_compiled_capture`), with the same
  values as the eager pass; models it cannot trace run eagerly.
* **Faithful.** The model computes exactly what it computes without the
  callback. Attention scores of a `MultiHeadAttention` that was not asked
  for them are obtained by a *second* call of that layer with
  `return_attention_scores=True`, whose outputs are discarded and whose
  inner layers are not recorded; the recorded outputs are those of the
  model's own call (the scores path can differ from the fused one, notably
  under mixed precision).
* **Stable names** (`tb_plugin.keras.naming`): paths are built from names
  renumbered within the model, so the same architecture gives the same
  tags in any process.
* **Output names.** One output: the layer path. Several: `path:<key>`, the
  key being the dict key (`backbone:sequence_output`), the position in a
  list (`:0`, `:1`), joined by `.` when nested. Recurrent layers name their
  returned states (`lstm:output`, `lstm:state_h`, `lstm:state_c`).
* **Recurrent layers.** The cell inside an RNN layer (called once per time
  step) is not recorded unless asked for (`cells=`); then its calls become
  one record per output with a time axis `[batch, time, ...]`, states that
  equal the output (an LSTM cell returns `h, [h, c]`) logged once.
* A layer called several times gets ` [call N]` from its second call on.
"""

import collections

import keras
import numpy as np

from tb_plugin.core import adapter as adapter_lib
from tb_plugin.core import data as data_lib
from tb_plugin.keras.compiled import call_unfused
from tb_plugin.keras.naming import stable_names

ATTENTION = adapter_lib.ATTENTION
ACTIVATIONS = adapter_lib.ACTIVATIONS
# One output of one layer call on the probe pass (the core's record).
LayerOutput = adapter_lib.Record


def to_numpy(t):
    """A tensor or variable as a numpy array (`tb_plugin.core.data.to_numpy` with Keras's converter)."""
    return data_lib.to_numpy(t, keras.ops.convert_to_numpy)


# ---- recurrent layers ------------------------------------------------------


def rnn_cells(model):
    """`{id(cell): cell}` of every cell inside a recurrent layer of `model` (and their sub-cells)."""
    cells = {}

    def add(cell):
        cells[id(cell)] = cell
        for sub in getattr(cell, "cells", None) or []:  # StackedRNNCells
            add(sub)

    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.RNN) and getattr(layer, "cell", None) is not None:
            add(layer.cell)
    return cells


def _state_names(layer):
    """Names of the states a recurrent layer returns with `return_state=True`."""
    if isinstance(layer, keras.layers.LSTM):
        return ["state_h", "state_c"]
    if isinstance(layer, (keras.layers.GRU, keras.layers.SimpleRNN)):
        return ["state"]
    return None


def output_keys(layer, outputs, flat_paths):
    """Names of a call's flattened outputs (None for a single one)."""
    if len(flat_paths) == 1:
        return [None]
    if isinstance(layer, keras.layers.Bidirectional) and getattr(layer, "return_state", False):
        states = _state_names(layer.forward_layer)
        if states and len(flat_paths) == 1 + 2 * len(states):
            return ["output"] + ["forward_" + s for s in states] + ["backward_" + s for s in states]
    if isinstance(layer, keras.layers.RNN) and getattr(layer, "return_state", False):
        states = _state_names(layer) or ["state_%d" % i for i in range(len(flat_paths) - 1)]
        if len(flat_paths) == 1 + len(states):
            return ["output"] + states
    return [".".join(str(p) for p in path) for path in flat_paths]


def activation_name(layer):
    """The name of the activation function applied last to a layer's output ("relu", ...) or None.

    Recurrent layers other than SimpleRNN (whose output is its activation's)
    and their states have none: an LSTM's output is a gated tanh and its cell
    state is unbounded.
    """
    if isinstance(layer, keras.layers.LeakyReLU):
        return "leaky_relu"
    if isinstance(layer, keras.layers.ReLU):
        slope = getattr(layer, "negative_slope", 0) or 0
        return "leaky_relu" if slope else "relu"
    if isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional)):
        if isinstance(layer, keras.layers.SimpleRNN):
            layer = layer.cell
        else:
            return None
    elif _is_cell(layer) and not isinstance(layer, keras.layers.SimpleRNNCell):
        return None
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", None)
    return name if isinstance(name, str) else None


def _is_cell(layer):
    return isinstance(layer, (keras.layers.LSTMCell, keras.layers.GRUCell, keras.layers.SimpleRNNCell)) or (
        hasattr(layer, "state_size") and not isinstance(layer, keras.layers.RNN)
    )


# ---- the probe pass --------------------------------------------------------


def _compiled(layer, original, cache):
    """`original` (an RNN layer's call) as a TensorFlow function, traced once per layer.

    A recurrent layer whose cell is not recorded needs no Python inside it:
    compiled, its time loop runs as one graph instead of one eager cell call
    per time step (the probe pass of a bidirectional LSTM over 64 steps went
    from about 10 training batches to about one). Its outputs are the same
    ops on the same variables.
    """
    if cache is None or keras.backend.backend() != "tensorflow":
        return original
    entry = cache.get(id(layer))
    if entry is None or entry[0] is not layer:
        import tensorflow as tf

        entry = (layer, tf.function(original, reduce_retracing=True))
        cache[id(layer)] = entry
    function = entry[1]

    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except Exception:
            cache[id(layer)] = (layer, original)  # not compilable: eager from now on
            return original(*args, **kwargs)

    return call


def capture(model, x, attention_fn=None, cells=(), names=None, compile_cache=None):
    """Runs `x` through `model` in inference mode, recording every layer call.

    Args:
      model: a Keras model.
      x: the probe inputs, in a form the model takes.
      attention_fn: `attention_fn(layer, outputs)` may return the attention
        scores of other layers' calls (None: none).
      cells: ids of recurrent cells to record (by default none is).
      names: `stable_names(model)`, computed when None.
      compile_cache: a dict kept between calls: with it (TensorFlow backend,
        no cells recorded, no `attention_fn`) the recording pass is traced
        once into a TensorFlow function returning every recorded output at
        once (`_compiled_capture`), and later calls run that graph; a model
        the tracing fails on falls back, for good, to the eager pass, whose
        recurrent layers whose cells are not recorded run compiled (see
        `_compiled`). None runs everything eagerly.

    Every `keras.layers.MultiHeadAttention` call's scores are recorded as a
    `LayerOutput` of kind "attention" just before the layer's outputs (see
    the module docstring for how they are obtained).

    Returns:
      A list of `LayerOutput` in call order.

    Raises:
      ValueError: the model rejects `x` (the message gives the shapes).
    """
    try:
        build_like_fit(model, x)
    except Exception as e:
        raise rejected(model, x, e) from e
    if names is None:
        names = stable_names(model)
    if compile_cache is not None and not cells and attention_fn is None and keras.backend.backend() == "tensorflow":
        records = _compiled_capture(model, x, names, compile_cache)
        if records is not None:
            return records
    try:
        return _recording_pass(model, x, attention_fn, cells, names, compile_cache, graph=False)
    except _Rejected as e:
        raise rejected(model, x, e.error) from e.error


class _Rejected(Exception):
    def __init__(self, error):
        super().__init__(str(error))
        self.error = error


def _compiled_capture(model, x, names, cache):
    """The probe pass as one TensorFlow graph: records, or None where it cannot be compiled.

    The first call traces the recording pass (the same wrappers as the eager
    pass, collecting symbolic tensors instead of arrays) into a concrete
    function whose outputs are every recorded tensor; the record list (path,
    layer, kind, activation, key) is fixed by that trace. Later calls run the
    graph on the probe batch, reading the variables' current values, so one
    snapshot costs one compiled forward pass (plus the attention scores'
    extra call) and no Python per layer. It computes the same ops on the
    same variables as the eager pass, and the same values: the graph runs without Grappler's remapper (`_call_unfused`), whose fused
    matmul + bias + activation kernels round differently from the layers'
    separate ops.
    """
    import tensorflow as tf

    entry = cache.get("probe")
    if entry is not None and entry[0] is model and entry[1] is None:
        return None  # tracing failed before: eager
    try:
        inputs = tf.nest.map_structure(tf.convert_to_tensor, x)
        if entry is None or entry[0] is not model:
            templates = []

            def probe(inputs):
                records = _recording_pass(model, inputs, None, (), names, None, graph=True)
                templates[:] = records
                return [r.value for r in records]

            function = tf.function(probe, autograph=False).get_concrete_function(inputs)
            entry = (model, function, templates)
            cache["probe"] = entry
        _, function, templates = entry
        values = call_unfused(function, inputs, cache)
        return [LayerOutput(t.path, t.layer, to_numpy(v), t.kind, t.activation, t.output_key)
                for t, v in zip(templates, values)]
    except Exception:
        cache["probe"] = (model, None, None)
        return None


def _recording_pass(model, x, attention_fn, cells, names, compile_cache, graph):
    """One pass of `x` through `model` with every layer's call wrapped; the records.

    `graph`: inside a TensorFlow function being traced (records hold
    symbolic tensors, nothing is converted to numpy)."""
    cell_ids = set(cells)
    skip = set(rnn_cells(model)) - cell_ids
    layers = [l for l in model._flatten_layers(include_self=False, recursive=True) if id(l) not in skip]
    records, stack, calls = [], [], collections.Counter()
    cell_calls = collections.OrderedDict()  # key -> (layer, [flat arrays per call], keys)
    state = {"suspended": 0}
    patched = []

    def wrap(layer, original):
        name = names.get(id(layer), layer.name)

        def recording_call(*args, **kwargs):
            if state["suspended"]:
                return original(*args, **kwargs)
            path = "/".join(stack + [name])
            stack.append(name)
            scores = None
            try:
                is_mha = isinstance(layer, keras.layers.MultiHeadAttention)
                masks = _keras_masks(args, kwargs) if is_mha else None
                outputs = original(*args, **kwargs)
                if is_mha:
                    if kwargs.get("return_attention_scores"):
                        scores = outputs[1]
                    else:
                        # A second call for the scores alone: the scores path
                        # (no fused attention) may compute slightly different
                        # outputs, which the model never sees. The layer
                        # removes its inputs' Keras masks: put them back for it.
                        after = _keras_masks(args, kwargs)
                        _set_keras_masks(masks)
                        state["suspended"] += 1
                        try:
                            _, scores = original(*args, **dict(kwargs, return_attention_scores=True))
                        finally:
                            state["suspended"] -= 1
                            _set_keras_masks(after)
                elif attention_fn is not None:
                    scores = attention_fn(layer, outputs)
            finally:
                stack.pop()
            flat = [(p, o) for p, o in keras.tree.flatten_with_path(outputs) if hasattr(o, "shape")]
            try:
                arrays = [o for _, o in flat] if graph else [to_numpy(o) for _, o in flat]
            except Exception:
                # A symbolic call (e.g. Keras building a subclassed model on
                # its first call) has no values to record.
                return outputs
            if id(layer) in cell_ids:
                entry = cell_calls.setdefault(path, (layer, [], []))
                entry[1].append(arrays)
                if len(entry[2]) < 2:  # the inputs of the first two calls (see _cell_records)
                    entry[2].append([to_numpy(t) for t in keras.tree.flatten((args, kwargs)) if hasattr(t, "shape")])
                return outputs
            calls[path] += 1
            key = path if calls[path] == 1 else "%s [call %d]" % (path, calls[path])
            if scores is not None:
                records.append(LayerOutput(key, layer, scores if graph else to_numpy(scores), ATTENTION))
            activation = activation_name(layer)
            for out_key, array in zip(output_keys(layer, outputs, [p for p, _ in flat]), arrays):
                records.append(
                    LayerOutput(key if out_key is None else "%s:%s" % (key, out_key), layer, array,
                                activation=activation, output_key=out_key)
                )
            return outputs

        return recording_call

    try:
        for layer in layers:
            had_own = "call" in layer.__dict__
            original = layer.call
            patched.append((layer, had_own, original))
            inner = original
            if isinstance(layer, keras.layers.RNN) and id(getattr(layer, "cell", None)) not in cell_ids:
                inner = _compiled(layer, original, compile_cache)
            object.__setattr__(layer, "call", wrap(layer, inner))
        try:
            model(x, training=False)
        except Exception as e:
            if graph:
                raise
            raise _Rejected(e) from e
    finally:
        for layer, had_own, original in reversed(patched):
            if had_own:
                object.__setattr__(layer, "call", original)
            else:
                object.__delattr__(layer, "call")
    records.extend(_cell_records(cell_calls))
    return records


def _keras_masks(args, kwargs):
    from keras.src import backend

    tensors = [t for t in keras.tree.flatten((args, kwargs)) if hasattr(t, "shape") and not isinstance(t, np.ndarray)]
    return [(t, backend.get_keras_mask(t)) for t in tensors]


def _set_keras_masks(masks):
    from keras.src import backend

    for t, mask in masks:
        try:
            backend.set_keras_mask(t, mask)
        except Exception:
            pass


def _cell_records(cell_calls):
    """One record per distinct output of a cell, its calls stacked on a time axis (axis 1), in
    the order the cell processed them (reversed time for `go_backwards`)."""
    out = []
    for path, (layer, per_call, inputs) in cell_calls.items():
        if len(per_call) > 1 and len(inputs) == 2 and len(inputs[0]) == len(inputs[1]) and all(
            a.shape == b.shape and np.array_equal(a, b) for a, b in zip(*inputs)
        ):
            # The first call repeated the second (Keras's TensorFlow rnn calls
            # the cell once on the first step to learn its output structure).
            per_call = per_call[1:]
        n = len(per_call[0])
        keep = []
        for i in range(n):
            if any(np.array_equal(per_call[0][i], per_call[0][j]) and per_call[0][i].shape == per_call[0][j].shape
                   for j in keep):
                continue  # a state equal to the output (h of an LSTM cell)
            keep.append(i)
        names = ["output"] + ["state_%d" % k for k in range(len(keep) - 1)]
        if isinstance(layer, keras.layers.LSTMCell) and len(keep) == 2:
            names = ["output", "state_c"]
        activation = activation_name(layer)
        for name, i in zip(names, keep):
            series = np.stack([call[i] for call in per_call], axis=1)
            out.append(LayerOutput(path if len(keep) == 1 else "%s:%s" % (path, name), layer, series,
                                   activation=activation, output_key=None if len(keep) == 1 else name))
    return out


def build_like_fit(model, x):
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


def rejected(model, x, error):
    return ValueError(
        "model %r rejected the probe data (%s): %s: %s. Pass probe_data "
        "in the form and shape the model takes as input."
        % (model.name, describe(x), type(error).__name__, error)
    )


def describe(x):
    return ", ".join(
        "shape %s %s" % (tuple(np.shape(a)), getattr(np.asarray(a), "dtype", "")) for a in keras.tree.flatten(x)
    )
