"""The framework adapter: everything the logging core asks of a model.

The core (`tb_plugin.core.logger`) plans, selects, computes statistics and
writes with numpy only; what needs the framework goes through one adapter
object per model. `tb_plugin.keras.adapter.KerasAdapter` is the Keras one; a
PyTorch one fits the same interface (`forward` hooks record outputs, a
`torch.no_grad()` pass in `eval()` mode is the probe pass, `named_modules()`
gives paths, `autograd.grad` the gradients).

Contract (every array is numpy; paths are the stable `/`-joined layer paths
the tags use; inputs `x` are what the model takes: an array, or a list or
dict of arrays with the sample axis first, see `tb_plugin.core.nest`):

* `name`, `class_name`: the model's name (messages, the model summary) and
  the name of its class; `parameter_counts()`: `(all, trainable)`
  parameters of the model.
* `layers()`: every layer below the model in network order, as `Layer`s
  (path, name, class, parent, variables, output shape, parameter counts).
* `probe(x, hidden=())`: the probe pass: `x` through the model once, in
  inference mode, touching no training state; one `Record` per output of
  every layer call, in call order, attention scores as extra records of
  kind `ATTENTION`. `hidden` are paths of `hidden_layers()` to record too.
* `hidden_layers()`: layers recorded only when selected by name (the cell
  of a recurrent layer, called once per time step): `Layer`s.
* `evaluate(x, paths, batch_size)`: yields, per batch of `x` (in order),
  `(outputs, predictions)`: the outputs of the layers at `paths` (a list of
  arrays, one per path) and the model's first output, in inference mode.
  Used by parts that evaluate many samples (embeddings, class statistics).
* `variables()`: every trainable variable as `Variable`s (path, name,
  layer class, shape), stable order; `read_variables()`: their values now,
  in that order (the one read per snapshot).
* `role(record)`: what the logging plan makes of a layer output: `"block"`
  (pooling, merges, attention, recurrent layers, nested models: kept
  longest), `"copy"` (normalisation, activation, dropout, reshapes: dropped
  first) or `"layer"`.
* `graph()`: the top-level layer graph: `{"nodes": [{"path", "class"}],
  "edges": [[from path, to path]], "complete": bool}` (`complete` False
  when the framework cannot say how layers connect, e.g. a subclassed
  Keras model's `call`: then nodes only).
* `is_chief()`: False on the workers of a multi-worker run that must not
  write.
* Gradients for attribution: see `GradientSource` below.

Every method is called on the training thread only (the background writer
never calls the adapter), between the front door's hooks; a method that runs
the model leaves its train/eval mode as it found it. Nothing here imports a
framework.
"""

ACTIVATIONS = "activations"
ATTENTION = "attention"

ROLE_BLOCK = "block"
ROLE_COPY = "copy"
ROLE_LAYER = "layer"


class Record:
    """One output of one layer call on the probe pass, as a numpy array.

    `layer` is the framework's own layer object (opaque to the core: only
    selection by class looks at it), `kind` is `ACTIVATIONS` or `ATTENTION`,
    `activation` the name of the activation function applied last ("relu",
    ...) or None, `output_key` None for a layer's single output, else the
    key of this output (`path` then ends in `:<key>`).
    """

    def __init__(self, path, layer, value, kind=ACTIVATIONS, activation=None, output_key=None):
        self.path = path
        self.layer = layer
        self.value = value
        self.kind = kind
        self.activation = activation
        self.output_key = output_key

    @property
    def is_real(self):
        return self.value.dtype.kind in "biuf" or self.value.dtype.name == "bfloat16"

    @property
    def layer_class(self):
        return type(self.layer).__name__

    @property
    def layer_name(self):
        """The framework's own name of the layer (may differ from the path's last part)."""
        return getattr(self.layer, "name", None) or self.path.split("/")[-1]

    def __repr__(self):
        return "Record(%r, %s, %s)" % (self.path, self.kind, getattr(self.value, "shape", None))


class Layer:
    """A layer of the model: where it sits and what it holds.

    `module` is the framework's layer object; `variables` a list of
    `{"name", "shape", "trainable"}` of the variables the layer holds itself;
    `params` and `trainable_params` count its own and nested variables;
    `output_shape` the shape of its output with the batch axis as None, or
    None when not known; `container` True for a model nested in the model
    (its layers are listed too).
    """

    def __init__(self, path, name, class_name, depth, parent, module, variables=(), output_shape=None, params=0,
                 trainable_params=0, framework_name=None, container=False):
        self.path = path
        self.name = name
        self.class_name = class_name
        self.depth = depth
        self.parent = parent
        self.module = module
        self.variables = list(variables)
        self.output_shape = output_shape
        self.params = int(params)
        self.trainable_params = int(trainable_params)
        self.framework_name = framework_name or name
        self.container = bool(container)


class Variable:
    """A trainable variable: its layer's path, its stable name, its layer's class and its shape."""

    def __init__(self, path, name, layer_class, shape):
        self.path = path
        self.name = name
        self.layer_class = layer_class
        self.shape = tuple(int(d) for d in shape)

    @property
    def size(self):
        n = 1
        for d in self.shape:
            n *= d
        return n


class GradientSource:
    """Gradients of class scores, for attribution (`tb_plugin.core.parts.attribution`).

    The core computes every attribution method (Grad-CAM, saliency,
    SmoothGrad, integrated gradients, per-token integrated gradients) in
    numpy from what these methods return; an adapter that cannot compute
    gradients leaves them unimplemented (`NotImplementedError`) and
    attribution is skipped with a note in the plan. `tb_plugin.keras.
    gradients.KerasGradients` is the Keras implementation (compiled
    `tf.function` passes); a PyTorch one runs the module in `eval()` mode
    with `torch.autograd.grad`, a forward hook returning a layer's output
    (`wrt`) or replacing it by `x` (`start`).

    Contract (arrays are numpy; `x` is one input array with the sample axis
    first: attribution supports models with a single input):

    * The **score** of class c is what attribution explains: the logit of c
      when the model ends in a softmax the adapter can undo (a final dense
      layer with a softmax activation: its input times its kernel plus its
      bias; a softmax layer: its input), else the model's output for c.
      `score_kind()` says which: "logit" or "output".
    * Every pass runs in inference mode (no dropout, no batch statistics)
      and writes nothing: no variable, optimizer or metric state changes.
    * `start=None`: `x` is the model input. `start=path` (a path from
      `embedding_layer()`): `x` is that layer's output and the model runs
      from there on (the part after the layer); a token model's embedding
      output is differentiable where its ids are not.
    * `wrt=path` (a path from `gradient_layers()`): the output of that
      layer and the score's gradient with respect to it are returned too
      (Grad-CAM). Image layer outputs are channels-last `[n, h, w,
      channels]` (a channels-first framework moves the axis).
    * `batch_size`: the most samples per pass; the adapter splits `x` into
      such chunks and concatenates the results (same numbers as one pass).

    Images are `[n, height, width, channels]` inputs of a float dtype.
    """

    def score_kind(self):
        """"logit" or "output": what the scores are (see the class docstring)."""
        raise NotImplementedError

    def class_scores(self, x, start=None, batch_size=128):
        """`(outputs, scores)`, float64 `[n, classes]`: the model's (first) output and the class scores of `x`."""
        raise NotImplementedError

    def class_gradients(self, x, classes, wrt=None, start=None, batch_size=128):
        """`(gradients, layer_output, layer_gradients)` of `scores[i, classes[i]]` for every sample i.

        `gradients`: d score / d x, shape and layout of `x`, float32;
        `layer_output`, `layer_gradients`: the output of layer `wrt` and d
        score / d that output (`[n, h, w, channels]`, float32), or None
        when `wrt` is None. `classes`: one class index per sample.
        """
        raise NotImplementedError

    def gradient_layers(self):
        """`(layers, problem)`: the layers `wrt` may name, or why no layer output can be reached.

        `layers`: `[{"path", "name", "shape"}]` of the model's top-level
        layers in network order (input layers left out), `shape` the output
        shape with the batch axis None (channels last for images) or None
        when unknown; `problem`: None, or a sentence (then `layers` is []).
        """
        raise NotImplementedError

    def embedding_layer(self):
        """`(path, problem)`: the layer whose output token attribution runs over, or why there is none.

        `path`: the first top-level embedding layer (token ids to vectors)
        from whose output `start=` can run the model, or None; `problem`:
        None, or a sentence saying why attribution cannot run over token ids
        (no embedding layer, a masking embedding, an unreachable model).
        """
        raise NotImplementedError

    def layer_output(self, x, path, batch_size=128):
        """The output of the layer at `path` for inputs `x` (inference mode), float32 numpy."""
        raise NotImplementedError


class ModelAdapter(GradientSource):
    """The interface (module docstring); a framework's adapter overrides every method."""

    name = "model"
    class_name = "Model"

    def layers(self):
        raise NotImplementedError

    def parameter_counts(self):
        raise NotImplementedError

    def hidden_layers(self):
        return []

    def probe(self, x, hidden=()):
        raise NotImplementedError

    def evaluate(self, x, paths, batch_size):
        raise NotImplementedError

    def variables(self):
        raise NotImplementedError

    def read_variables(self):
        raise NotImplementedError

    def role(self, record):
        return ROLE_LAYER

    def graph(self):
        return {"nodes": [{"path": layer.path, "class": layer.class_name} for layer in self.layers()
                          if layer.depth == 0], "edges": [], "complete": False}

    def is_chief(self):
        return True
