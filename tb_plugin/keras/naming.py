"""Stable names of a Keras model's layers and variables (the rule: `tb_plugin.core.naming`).

Keras numbers automatic names with process-wide counters (`dense_7`); paths
here renumber them within the model, in depth-first order: the first `Dense`
with an automatic name is `dense`, the second `dense_1`, and so on, so the
same architecture gives the same tags in any process. A name counts as
automatic when it is the snake-case class name, optionally followed by
`_<number>`; any other name is kept as given. Variables are renumbered the
same way within their layer (`variable`, `variable_1`). The two halves of a
`Bidirectional` layer are named after it (`forward_lstm`, `backward_lstm`).
"""

import collections
import re

import keras

from tb_plugin.core.naming import automatic_base


def _auto_base(obj, name):
    """The automatic base name of `obj` if `name` is automatic, else None."""
    return automatic_base(type(obj).__name__, name)


def children(layer):
    try:
        return list(layer._flatten_layers(include_self=False, recursive=False))
    except Exception:
        return []


def stable_names(model):
    """`{id(layer): stable name}` for every layer inside `model` (see the module docstring)."""
    order = []

    def visit(layer):
        for child in children(layer):
            if id(child) in seen:
                continue
            seen.add(id(child))
            order.append((layer, child))
            visit(child)

    seen = set()
    visit(model)
    explicit = {c.name for _, c in order if _auto_base(c, c.name) is None}
    counters = collections.Counter()
    names = {}

    def next_name(base):
        while True:
            n = counters[base]
            counters[base] += 1
            candidate = base if n == 0 else "%s_%d" % (base, n)
            if candidate not in explicit:
                return candidate

    for parent, child in order:
        if isinstance(parent, keras.layers.Bidirectional) and child.name.startswith(("forward_", "backward_")):
            continue  # named with their wrapper below
        base = _auto_base(child, child.name)
        if base is not None and child.name == base and getattr(parent, "cell", None) is child:
            base = None  # the constant name an RNN layer gives its cell ("lstm_cell"), no counter
        names[id(child)] = child.name if base is None else next_name(base)
        if isinstance(child, keras.layers.Bidirectional):
            inner = child.forward_layer
            prefix_len = len("forward_")
            inner_name = inner.name[prefix_len:] if inner.name.startswith("forward_") else inner.name
            inner_base = _auto_base(inner, inner_name)
            stable = inner_name if inner_base is None else next_name(inner_base)
            for side, layer in (("forward_", child.forward_layer), ("backward_", child.backward_layer)):
                if layer.name.startswith(side):
                    names[id(layer)] = side + stable
    return names


def variable_names(layer, variables):
    """Stable names of `variables` of one layer: automatic ones renumbered within it."""
    counters = collections.Counter()
    out = []
    explicit = {_short(v) for v in variables if _auto_base(v, _short(v)) is None and _short(v) != "variable"}
    for v in variables:
        name = _short(v)
        if re.fullmatch(r"variable(_\d+)?", name) or _auto_base(v, name) is not None:
            base = "variable"
            while True:
                n = counters[base]
                counters[base] += 1
                candidate = base if n == 0 else "%s_%d" % (base, n)
                if candidate not in explicit:
                    break
            name = candidate
        out.append(name)
    return out


def _short(v):
    name = getattr(v, "name", None) or "variable"
    return str(name).split("/")[-1].split(":")[0]
