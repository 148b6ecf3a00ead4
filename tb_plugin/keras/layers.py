"""Walking a Keras model: its layers in network order with stable paths, and its trainable variables.

Paths join stable layer names (`tb_plugin.keras.naming.stable_names`) with
`/` for nested layers and models (`backbone/block1/conv`); input layers are
left out (no computation, no variables).
"""

def _layer_children(layer):
    try:
        return list(layer._flatten_layers(include_self=False, recursive=False))
    except Exception:
        return []


def walk_layers(model, names=None):
    """`(path, depth, parent path, layer)` of every layer below `model`, depth first.

    `names`: `{id(layer): name}` to use instead of `layer.name` (stable names,
    `tb_plugin.keras.naming.stable_names`)."""
    out = []
    names = names or {}

    def visit(layer, prefix, depth, parent):
        for child in _layer_children(layer):
            if type(child).__name__ == "InputLayer":
                continue  # no computation, no variables
            path = prefix + names.get(id(child), child.name)
            out.append((path, depth, parent, child))
            visit(child, path + "/", depth + 1, path)

    visit(model, "", 0, None)
    return out


def _own_variables(layer, trainable=True):
    """The variables a layer holds itself (not through its sub-layers)."""
    variables = layer.trainable_weights if trainable else layer.weights
    nested = set()
    for child in _layer_children(layer):
        for v in (child.trainable_weights if trainable else child.weights):
            nested.add(id(v))
    return [v for v in variables if id(v) not in nested]


def trainable_variables(model, names=None, variable_names=None):
    """`(layer path, variable name, layer, variable)` per trainable variable.

    Variables held by the model itself (not by one of its layers) get the
    model's name as layer path. Shared variables are listed once.
    `names` as `walk_layers`; `variable_names(layer, variables)` gives the
    names of a layer's variables (default: their own).
    """
    seen, out = set(), []
    variable_names = variable_names or (lambda layer, vs: [_variable_name(v) for v in vs])
    for path, _, _, layer in walk_layers(model, names) + [(model.name, 0, None, model)]:
        own = [v for v in _own_variables(layer) if id(v) not in seen]
        for v, name in zip(own, variable_names(layer, own)):
            seen.add(id(v))
            out.append((path, name, layer, v))
    return out


def _variable_name(v):
    name = getattr(v, "name", None) or "variable"
    return str(name).split("/")[-1].split(":")[0]


def _shape_of(value):
    try:
        return [None if d is None else int(d) for d in value]
    except TypeError:
        return None
