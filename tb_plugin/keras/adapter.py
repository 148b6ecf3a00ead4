"""`KerasAdapter`: the logging core's questions (`tb_plugin.core.adapter`) answered for a Keras 3 model.

* layers: `tb_plugin.keras.layers.walk_layers` with stable names
  (`tb_plugin.keras.naming.stable_names`), the cells of recurrent layers as
  hidden layers (recorded only when selected);
* the probe pass: `tb_plugin.keras.capture.capture`, compiled once per
  adapter into one TensorFlow function where the model allows;
* variables: every trainable variable, read in one compiled call;
* evaluation of many samples: one multi-output `keras.Model` from the
  model's inputs to the chosen layers' outputs and its first output, called
  with `predict_on_batch` (inference mode, no training state touched); layers
  that model cannot reach (subclassed models, layers called twice, outputs of
  several) are read through the probe pass per batch instead;
* gradients: `tb_plugin.keras.gradients.KerasGradients`.

One adapter serves one `fit` (made at `on_train_begin`, when the model is built).
"""

import keras
import numpy as np

from tb_plugin.core import adapter as adapter_lib
from tb_plugin.core import nest
from tb_plugin.keras import capture as capture_lib
from tb_plugin.keras import compiled, naming
from tb_plugin.keras import layers as layers_lib
from tb_plugin.keras.gradients import KerasGradients


# Plan roles (see tb_plugin.core.plan): copies of another output are dropped first, block outputs last.
_COPY_LAYERS = tuple(
    c for c in (getattr(keras.layers, n, None) for n in (
        "BatchNormalization", "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "Dropout",
        "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout",
        "AlphaDropout", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D",
        "Cropping3D", "Reshape", "Flatten", "Permute", "RepeatVector", "Rescaling", "Normalization", "Identity",
    )) if c is not None
)
_BLOCK_LAYERS = tuple(
    c for c in (getattr(keras.layers, n, None) for n in (
        "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
        "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
        "AveragePooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
        "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "MultiHeadAttention", "RNN",
        "Bidirectional",
    )) if c is not None
) + (keras.Model,)


class KerasAdapter(KerasGradients, adapter_lib.ModelAdapter):
    """The adapter of one built Keras model (module docstring).

    Args:
      model: the model (built: `fit` has started, or it was called once).
      attention_fn: for custom attention layers: `attention_fn(layer,
        outputs)`, called on every layer call of the probe pass, returning
        that call's attention scores or None.
    """

    def __init__(self, model, attention_fn=None):
        self.model = model
        self.attention_fn = attention_fn
        self.names = naming.stable_names(model)
        self._walked = layers_lib.walk_layers(model, self.names)
        self._paths = {id(layer): path for path, _, _, layer in self._walked}
        self._compile_cache = {}
        self._variables = None
        self._handles = None
        self._evaluators = {}

    @property
    def name(self):
        return self.model.name

    @property
    def class_name(self):
        return type(self.model).__name__

    # ---- layers ------------------------------------------------------------------

    def layers(self):
        out = []
        for path, depth, parent, layer in self._walked:
            try:
                shape = layers_lib._shape_of(layer.output.shape)
            except Exception:
                shape = None
            out.append(adapter_lib.Layer(
                path, path.split("/")[-1], type(layer).__name__, depth, parent, layer,
                variables=[{"name": layers_lib._variable_name(v), "shape": [int(d) for d in v.shape],
                            "trainable": bool(v.trainable)} for v in layers_lib._own_variables(layer, trainable=False)],
                output_shape=shape,
                params=sum(int(np.prod(v.shape)) for v in layer.weights),
                trainable_params=sum(int(np.prod(v.shape)) for v in layer.trainable_weights),
                framework_name=layer.name,
                container=isinstance(layer, keras.Model),
            ))
        return out

    def parameter_counts(self):
        """`(all parameters, trainable parameters)` of the model."""
        return (sum(int(np.prod(v.shape)) for v in self.model.weights),
                sum(int(np.prod(v.shape)) for v in self.model.trainable_weights))

    def hidden_layers(self):
        cells = capture_lib.rnn_cells(self.model)
        return [adapter_lib.Layer(self._paths.get(cid, cell.name), cell.name, type(cell).__name__, 0, None, cell)
                for cid, cell in cells.items()]

    def graph(self):
        """The top-level layer graph (`tb_plugin.core.adapter`): Functional and Sequential models from
        their call graph (inputs included); a subclassed model: its layers, no edges, `complete` False."""
        paths = {id(layer): path for path, depth, _, layer in self._walked if depth == 0}
        # A built Sequential model keeps its graph in a Functional model of its own.
        functional = getattr(self.model, "_functional", None) or self.model
        operations = list(getattr(functional, "_operations", None) or [])
        if not operations:
            return {"nodes": [{"path": p, "class": type(l).__name__} for p, d, _, l in self._walked if d == 0],
                    "edges": [], "complete": False}
        for op in operations:
            if type(op).__name__ == "InputLayer":
                paths[id(op)] = op.name
        nodes, edges = [], []
        for op in operations:
            if id(op) not in paths:
                continue
            nodes.append({"path": paths[id(op)], "class": type(op).__name__})
            for node in getattr(op, "_inbound_nodes", []):
                for parent in getattr(node, "parent_nodes", []):
                    source = getattr(parent, "operation", None)
                    edge = [paths.get(id(source)), paths[id(op)]]
                    if edge[0] is not None and edge not in edges:
                        edges.append(edge)
        return {"nodes": nodes, "edges": edges, "complete": True}

    def layer_at(self, path):
        """The Keras layer at a layer path, or None."""
        for p, _, _, layer in self._walked:
            if p == path:
                return layer
        return None

    def role(self, record):
        if isinstance(record.layer, _BLOCK_LAYERS):
            return adapter_lib.ROLE_BLOCK
        if isinstance(record.layer, _COPY_LAYERS):
            return adapter_lib.ROLE_COPY
        return adapter_lib.ROLE_LAYER

    def is_chief(self):
        return is_chief(self.model)

    # ---- the probe pass --------------------------------------------------------

    def probe(self, x, hidden=()):
        cells = {id(layer.module) for layer in self.hidden_layers() if layer.path in hidden}
        return capture_lib.capture(self.model, x, attention_fn=self.attention_fn, cells=tuple(cells),
                                   names=self.names, compile_cache=self._compile_cache)

    # ---- variables -------------------------------------------------------------

    def variables(self):
        if self._variables is None:
            found = layers_lib.trainable_variables(self.model, self.names, naming.variable_names)
            self._variables = [adapter_lib.Variable(path, name, type(layer).__name__, v.shape)
                               for path, name, layer, v in found]
            self._handles = [v for _, _, _, v in found]
        return self._variables

    def read_variables(self):
        self.variables()
        values = compiled.read_variables(self._handles, self._compile_cache)
        if values is None:
            values = [capture_lib.to_numpy(v) for v in self._handles]
        return values

    # ---- evaluation of many samples --------------------------------------------

    def evaluate(self, x, paths, batch_size):
        """Yields `(outputs at paths, first model output)` per batch of `x`, as numpy, in inference mode."""
        evaluator = self._evaluator(tuple(paths))
        for start in range(0, nest.sample_count(x), batch_size):
            xb = nest.take(x, start, start + batch_size)
            if evaluator is not None:
                outs = evaluator.predict_on_batch(xb)
                yield [np.asarray(o) for o in outs[:-1]], np.asarray(outs[-1])
            else:
                records = {r.path: r.value for r in capture_lib.capture(self.model, xb, names=self.names)}
                missing = [p for p in paths if p not in records]
                if missing:
                    raise ValueError("layer outputs %s are not produced by model %r" % (missing, self.model.name))
                out = keras.tree.flatten(self.model(xb, training=False))[0]
                yield [records[p] for p in paths], capture_lib.to_numpy(out)

    def _evaluator(self, paths):
        """One model from the inputs to the layers at `paths` and the first output, or None."""
        if paths not in self._evaluators:
            self._evaluators[paths] = None
            try:
                layers = [self.layer_at(p) for p in paths]
                inputs, outputs = self.model.inputs, self.model.outputs
                if all(layer is not None for layer in layers) and inputs and outputs:
                    self._evaluators[paths] = keras.Model(
                        inputs if len(inputs) > 1 else inputs[0], [layer.output for layer in layers] + [outputs[0]])
            except Exception:  # not reachable from the model's inputs: the probe pass instead
                self._evaluators[paths] = None
        return self._evaluators[paths]


def is_chief(model):
    """False on the non-chief workers of a multi-worker strategy (they do not write).

    The chief is the task of type "chief", or worker 0 when the cluster has
    no chief task, as `tf.distribute.MultiWorkerMirroredStrategy` decides.
    """
    strategy = getattr(model, "distribute_strategy", None)
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    if resolver is None or task_type is None:
        return True
    if task_type == "chief":
        return True
    try:
        has_chief = "chief" in resolver.cluster_spec().as_dict()
    except Exception:
        has_chief = False
    return task_type == "worker" and int(getattr(resolver, "task_id", 0) or 0) == 0 and not has_chief
