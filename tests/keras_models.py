"""Tiny Keras models of every kind, for the InternalsCallback tests.

Each builder returns a `Case`: a fresh (uncompiled) model, training data,
the layer paths the callback should log, and `expected(model, x)`: the
output of every logged layer path on `x`, computed WITHOUT the callback's
capture machinery -- from sub-models built on `layer.output` (Functional and
Sequential models with an Input), or by calling the sublayers by hand in
order with `training=False` (everything else). Layer names are explicit so
that tags do not depend on Keras' global name counters.
"""

import keras
import numpy as np

IMAGE = (6, 6, 1)
VECTOR = 4


def images(n, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n,) + IMAGE).astype("float32")


def vectors(n, seed=0, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, (n, VECTOR)).astype("float32")


def targets(n, width, seed=1):
    return np.random.default_rng(seed).normal(size=(n, width)).astype("float32")


class Case:
    def __init__(self, model, x, y, paths, expected):
        self.model = model
        self.x = x
        self.y = y
        self.paths = list(paths)
        self.expected = expected  # expected(model, x) -> {path: ndarray}


def np_(t):
    return np.asarray(keras.ops.convert_to_numpy(t))


def by_hand(layers_in_order, x, paths):
    """Calls `layers_in_order` one after another on `x` (inference mode);
    returns {path: output} with the given paths."""
    result, h = {}, x
    for layer, path in zip(layers_in_order, paths):
        h = layer(h, training=False)
        result[path] = np_(h)
    return result


def from_layer_outputs(model, x, names):
    """{name: output} from sub-models `keras.Model(model.input, layer.output)`."""
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return {name: np_(keras.Model(inputs, model.get_layer(name).output)(x, training=False)) for name in names}


# The same small image network in every API: conv -> pool -> flatten ->
# dense(tanh) -> dropout -> dense.
CHAIN = ["conv", "pool", "flat", "hidden", "drop", "out"]


def _chain_layers():
    return [
        keras.layers.Conv2D(3, 3, activation="relu", name="conv"),
        keras.layers.MaxPooling2D(2, name="pool"),
        keras.layers.Flatten(name="flat"),
        keras.layers.Dense(5, activation="tanh", name="hidden"),
        keras.layers.Dropout(0.5, name="drop"),
        keras.layers.Dense(2, name="out"),
    ]


def _image_data():
    return images(16), targets(16, 2)


def sequential_with_input():
    model = keras.Sequential([keras.Input(IMAGE)] + _chain_layers(), name="seq_in")
    return Case(model, *_image_data(), CHAIN, lambda m, x: from_layer_outputs(m, x, CHAIN))


def sequential_without_input():
    model = keras.Sequential(_chain_layers(), name="seq_no_in")
    return Case(model, *_image_data(), CHAIN, lambda m, x: by_hand(m.layers, x, CHAIN))


def functional():
    inputs = keras.Input(IMAGE, name="image")
    h = inputs
    for layer in _chain_layers():
        h = layer(h)
    model = keras.Model(inputs, h, name="func")
    return Case(model, *_image_data(), CHAIN, lambda m, x: from_layer_outputs(m, x, CHAIN))


class SubclassedNet(keras.Model):
    """Subclassed model with BatchNormalization and Dropout (inference mode
    matters), never built before fit."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = keras.layers.Conv2D(3, 3, activation="relu", name="conv")
        self.norm = keras.layers.BatchNormalization(name="norm")
        self.flat = keras.layers.Flatten(name="flat")
        self.hidden = keras.layers.Dense(5, activation="tanh", name="hidden")
        self.drop = keras.layers.Dropout(0.5, name="drop")
        self.head = keras.layers.Dense(2, name="out")

    def call(self, x, training=False):
        h = self.conv(x)
        h = self.norm(h, training=training)
        h = self.flat(h)
        h = self.hidden(h)
        h = self.drop(h, training=training)
        return self.head(h)


SUBCLASSED_PATHS = ["conv", "norm", "flat", "hidden", "drop", "out"]


def subclassed():
    model = SubclassedNet(name="sub")

    def expected(m, x):
        return by_hand([m.conv, m.norm, m.flat, m.hidden, m.drop, m.head], x, SUBCLASSED_PATHS)

    return Case(model, *_image_data(), SUBCLASSED_PATHS, expected)


NESTED_PATHS = [
    "backbone/conv",
    "backbone/pool",
    "backbone/flat",
    "backbone/block/hidden",
    "backbone/block",
    "backbone",
    "head",
]


def nested():
    """Transfer-learning style: a backbone model (itself holding a nested
    Sequential `block`) used as a layer of the outer model."""
    block = keras.Sequential([keras.layers.Dense(5, activation="tanh", name="hidden")], name="block")
    backbone = keras.Sequential(
        [
            keras.Input(IMAGE),
            keras.layers.Conv2D(3, 3, activation="relu", name="conv"),
            keras.layers.MaxPooling2D(2, name="pool"),
            keras.layers.Flatten(name="flat"),
            block,
        ],
        name="backbone",
    )
    inputs = keras.Input(IMAGE, name="image")
    outputs = keras.layers.Dense(2, name="head")(backbone(inputs))
    model = keras.Model(inputs, outputs, name="outer")

    def expected(m, x):
        bb = m.get_layer("backbone")
        blk = bb.get_layer("block")
        conv, pool, flat = (bb.get_layer(n) for n in ("conv", "pool", "flat"))
        hidden = blk.get_layer("hidden")
        result = by_hand(
            [conv, pool, flat, hidden],
            x,
            ["backbone/conv", "backbone/pool", "backbone/flat", "backbone/block/hidden"],
        )
        result["backbone/block"] = result["backbone"] = result["backbone/block/hidden"]
        result["head"] = np_(m.get_layer("head")(result["backbone"]))
        return result

    return Case(model, *_image_data(), NESTED_PATHS, expected)


SHARED_PATHS = [
    "shared",
    "shared [call 2]",
    "enc/proj",
    "enc",
    "enc/proj [call 2]",
    "enc [call 2]",
    "cat",
    "out",
]


def shared():
    """A layer called twice, and a sub-model called twice (siamese style)."""
    inputs = keras.Input((VECTOR,), name="vec")
    shared_layer = keras.layers.Dense(VECTOR, activation="tanh", name="shared")
    a = shared_layer(inputs)
    b = shared_layer(a)
    enc_in = keras.Input((VECTOR,))
    enc = keras.Model(enc_in, keras.layers.Dense(3, name="proj")(enc_in), name="enc")
    cat = keras.layers.Concatenate(name="cat")([enc(a), enc(b)])
    outputs = keras.layers.Dense(1, name="out")(cat)
    model = keras.Model(inputs, outputs, name="shared_model")

    def expected(m, x):
        s, proj = m.get_layer("shared"), m.get_layer("enc").get_layer("proj")
        r = {"shared": np_(s(x))}
        r["shared [call 2]"] = np_(s(r["shared"]))
        r["enc/proj"] = r["enc"] = np_(proj(r["shared"]))
        r["enc/proj [call 2]"] = r["enc [call 2]"] = np_(proj(r["shared [call 2]"]))
        r["cat"] = np.concatenate([r["enc"], r["enc [call 2]"]], axis=-1)
        r["out"] = np_(m.get_layer("out")(r["cat"]))
        return r

    return Case(model, vectors(16), targets(16, 1), SHARED_PATHS, expected)


class Split(keras.layers.Layer):
    """A layer with two outputs: the first `at` features and the rest."""

    def __init__(self, at, **kwargs):
        super().__init__(**kwargs)
        self.at = at

    def call(self, x):
        return x[:, : self.at], x[:, self.at:]


MULTI_IO_PATHS = ["dense_a", "dense_b", "add", "concat", "split:0", "split:1", "merge", "out"]


def multi_io():
    """Two model inputs, layers with several inputs (Add, Concatenate) and a
    layer with several outputs (Split)."""
    a = keras.Input((VECTOR,), name="a")
    b = keras.Input((VECTOR,), name="b")
    da = keras.layers.Dense(VECTOR, name="dense_a")(a)
    db = keras.layers.Dense(VECTOR, activation="sigmoid", name="dense_b")(b)
    added = keras.layers.Add(name="add")([da, db])
    cat = keras.layers.Concatenate(name="concat")([added, b])
    s0, s1 = Split(3, name="split")(cat)
    merged = keras.layers.Concatenate(name="merge")([s1, s0])
    outputs = keras.layers.Dense(2, name="out")(merged)
    model = keras.Model([a, b], outputs, name="multi_io")

    def expected(m, x):
        xa, xb = x
        r = {"dense_a": np_(m.get_layer("dense_a")(xa)), "dense_b": np_(m.get_layer("dense_b")(xb))}
        r["add"] = r["dense_a"] + r["dense_b"]
        r["concat"] = np.concatenate([r["add"], xb], axis=-1)
        r["split:0"], r["split:1"] = r["concat"][:, :3], r["concat"][:, 3:]
        r["merge"] = np.concatenate([r["split:1"], r["split:0"]], axis=-1)
        r["out"] = np_(m.get_layer("out")(r["merge"]))
        return r

    return Case(model, [vectors(16, seed=2), vectors(16, seed=3)], targets(16, 2), MULTI_IO_PATHS, expected)


KINDS = {
    "sequential_with_input": sequential_with_input,
    "sequential_without_input": sequential_without_input,
    "functional": functional,
    "subclassed": subclassed,
    "nested": nested,
    "shared": shared,
    "multi_io": multi_io,
}


def all_layers(model):
    """Every layer inside `model`, recursively (without tb_plugin's help)."""
    found = []
    for layer in model.layers:
        found.append(layer)
        if isinstance(layer, keras.Model):
            found.extend(all_layers(layer))
    return found
