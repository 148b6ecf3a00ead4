"""A model in plain numpy behind the core's adapter interface (`tb_plugin.core.adapter`).

A two-layer perceptron `x -> relu(x W1 + b1) -> softmax(h W2 + b2)`, its
forward pass written out by hand: what a third framework's adapter would
give the core. Used to show that the core plans, snapshots and writes
without TensorFlow, Keras or PyTorch, and that what it logs is the model's
own numbers.
"""

import numpy as np

from tb_plugin.core import adapter as adapter_lib
from tb_plugin.core import nest


class Dense:
    """A dense layer: `activation(x @ kernel + bias)`."""

    def __init__(self, name, kernel, bias, activation):
        self.name, self.kernel, self.bias, self.activation = name, kernel, bias, activation

    def __call__(self, x):
        z = x @ self.kernel + self.bias
        if self.activation == "relu":
            return np.maximum(z, 0)
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)


class NumpyMLP(adapter_lib.ModelAdapter):
    name = "numpy_mlp"
    class_name = "NumpyMLP"

    def __init__(self, inputs=4, hidden=5, classes=3, seed=0):
        rng = np.random.default_rng(seed)
        self.hidden = Dense("hidden", rng.normal(size=(inputs, hidden)).astype(np.float32),
                            rng.normal(size=hidden).astype(np.float32), "relu")
        self.out = Dense("out", rng.normal(size=(hidden, classes)).astype(np.float32),
                         np.zeros(classes, np.float32), "softmax")
        self.stack = [self.hidden, self.out]

    def forward(self, x):
        """`{path: output}` of every layer for inputs `x`."""
        outputs = {}
        for layer in self.stack:
            x = layer(x).astype(np.float32)
            outputs[layer.name] = x
        return outputs

    def train_step(self, scale=0.01):
        """A stand-in for an optimizer step: the variables move."""
        for layer in self.stack:
            layer.kernel = (layer.kernel * (1 - scale)).astype(np.float32)
            layer.bias = (layer.bias + scale).astype(np.float32)

    def layers(self):
        return [adapter_lib.Layer(
            layer.name, layer.name, "Dense", 0, None, layer,
            variables=[{"name": "kernel", "shape": list(layer.kernel.shape), "trainable": True},
                       {"name": "bias", "shape": list(layer.bias.shape), "trainable": True}],
            output_shape=[None, layer.kernel.shape[1]],
            params=layer.kernel.size + layer.bias.size, trainable_params=layer.kernel.size + layer.bias.size)
            for layer in self.stack]

    def parameter_counts(self):
        n = sum(layer.kernel.size + layer.bias.size for layer in self.stack)
        return n, n

    def probe(self, x, hidden=()):
        outputs = self.forward(np.asarray(x))
        return [adapter_lib.Record(layer.name, layer, outputs[layer.name], activation=layer.activation)
                for layer in self.stack]

    def evaluate(self, x, paths, batch_size):
        for start in range(0, nest.sample_count(x), batch_size):
            outputs = self.forward(np.asarray(x[start:start + batch_size]))
            yield [outputs[p] for p in paths], outputs["out"]

    def variables(self):
        return [adapter_lib.Variable(layer.name, name, "Dense", getattr(layer, name).shape)
                for layer in self.stack for name in ("kernel", "bias")]

    def read_variables(self):
        return [getattr(layer, name).copy() for layer in self.stack for name in ("kernel", "bias")]
