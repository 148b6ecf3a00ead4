"""Weights: what each layer learned, and how it changed.

Numpy analysis shared by the callback, the backend and the tests (no
TensorFlow import; `model_summary` and `trainable_variables` only read
attributes of a Keras model):

* `trainable_variables(model)`: `(layer path, variable name, layer,
  variable)` of every trainable variable, nested layers as `outer/inner`.
* `model_summary(model, output_shapes)`: the layer list (class, output shape,
  parameter count, nesting) the Architecture overview shows.
* `as_matrix(w)`: a variable as a 2-D `[inputs, outputs]` matrix (conv
  kernels `[kh, kw, in, out]` as `[kh*kw*in, out]`).
* `relative_change(previous, current)`: `||W_t - W_(t-1)|| / ||W_(t-1)||`.
* `pca(w)`: explained-variance ratios and principal axes of the rows of
  `as_matrix(w).T` (one row per output unit / filter).
* `prune(w, fraction)`: magnitude pruning, with the fractions of weights and
  of the Frobenius norm kept.

The browser computes the same figures (frontend/views/weights_math.js); the
tests check both against independent numpy computations.
"""

import numpy as np

WEIGHTS_PREFIX = "weights/"
MODEL_SUMMARY_TAG = "model_summary"


def _layer_children(layer):
    try:
        return list(layer._flatten_layers(include_self=False, recursive=False))
    except Exception:
        return []


def walk_layers(model):
    """`(path, depth, parent path, layer)` of every layer below `model`, depth first."""
    out = []

    def visit(layer, prefix, depth, parent):
        for child in _layer_children(layer):
            if type(child).__name__ == "InputLayer":
                continue  # no computation, no variables
            path = prefix + child.name
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


def trainable_variables(model):
    """`(layer path, variable name, layer, variable)` per trainable variable.

    Variables held by the model itself (not by one of its layers) get the
    model's name as layer path. Shared variables are listed once.
    """
    seen, out = set(), []
    for path, _, _, layer in walk_layers(model):
        for v in _own_variables(layer):
            if id(v) in seen:
                continue
            seen.add(id(v))
            out.append((path, _variable_name(v), layer, v))
    for v in _own_variables(model):
        if id(v) not in seen:
            seen.add(id(v))
            out.append((model.name, _variable_name(v), model, v))
    return out


def _variable_name(v):
    name = getattr(v, "name", None) or "variable"
    return str(name).split("/")[-1].split(":")[0]


def _shape_of(value):
    try:
        return [None if d is None else int(d) for d in value]
    except TypeError:
        return None


def model_summary(model, output_shapes=None):
    """The layer list of `model` as a JSON-serialisable document.

    Args:
      model: a built Keras model.
      output_shapes: optional `{layer path: shape}` (e.g. from a probe pass),
        preferred over `layer.output.shape`; the batch axis is shown as None.

    Returns:
      `{"name", "class", "total_params", "trainable_params", "layers": [{"path",
      "name", "class", "depth", "parent", "output_shape", "params",
      "trainable_params", "variables": [{"name", "shape", "trainable"}]}]}`;
      `params` counts a layer's own and nested variables (as Keras does).
    """
    output_shapes = output_shapes or {}
    layers = []
    for path, depth, parent, layer in walk_layers(model):
        shape = output_shapes.get(path)
        if shape is not None:
            shape = [None] + [int(d) for d in list(shape)[1:]]
        else:
            try:
                out = layer.output
                shape = _shape_of(out.shape) if hasattr(out, "shape") else None
            except Exception:
                shape = None
        layers.append(
            {
                "path": path,
                "name": layer.name,
                "class": type(layer).__name__,
                "depth": depth,
                "parent": parent,
                "output_shape": shape,
                "params": int(sum(int(np.prod(v.shape)) for v in layer.weights)),
                "trainable_params": int(sum(int(np.prod(v.shape)) for v in layer.trainable_weights)),
                "variables": [
                    {"name": _variable_name(v), "shape": [int(d) for d in v.shape], "trainable": bool(v.trainable)}
                    for v in _own_variables(layer, trainable=False)
                ],
            }
        )
    return {
        "name": model.name,
        "class": type(model).__name__,
        "total_params": int(sum(int(np.prod(v.shape)) for v in model.weights)),
        "trainable_params": int(sum(int(np.prod(v.shape)) for v in model.trainable_weights)),
        "layers": layers,
    }


def as_matrix(w):
    """A variable as `[inputs, outputs]`: the last axis is the output units.

    Rank 0 and 1 give one row; rank >= 2 folds every leading axis into the
    inputs (a conv kernel `[kh, kw, in, out]` gives `[kh*kw*in, out]`).
    """
    w = np.asarray(w, dtype=np.float64)
    if w.ndim == 0:
        return w.reshape(1, 1)
    if w.ndim == 1:
        return w.reshape(1, -1)
    return w.reshape(-1, w.shape[-1])


def relative_change(previous, current):
    """`||current - previous|| / ||previous||` (Frobenius); inf when ||previous|| is 0 and they differ."""
    previous = np.asarray(previous, dtype=np.float64)
    current = np.asarray(current, dtype=np.float64)
    delta = np.linalg.norm((current - previous).ravel())
    base = np.linalg.norm(previous.ravel())
    if base == 0:
        return 0.0 if delta == 0 else float("inf")
    return float(delta / base)


def pca(w, components=None):
    """PCA of the output units of `w` (each filter / column a sample).

    Samples are the columns of `as_matrix(w)` (one per output unit), centred
    by their mean; features are the inputs.

    Returns:
      `(ratios, axes)`: explained-variance ratios, descending, summing to 1
      (all zeros when the units do not vary), and the principal axes as rows
      `[k, inputs]`, each with its largest-magnitude entry positive.
    """
    m = as_matrix(w).T  # [outputs, inputs]
    m = m - m.mean(axis=0, keepdims=True)
    _, s, vt = np.linalg.svd(m, full_matrices=False)
    variance = s**2
    total = variance.sum()
    ratios = variance / total if total > 0 else np.zeros_like(variance)
    for k in range(vt.shape[0]):
        j = np.argmax(np.abs(vt[k]))
        if vt[k, j] < 0:
            vt[k] = -vt[k]
    if components is not None:
        ratios, vt = ratios[:components], vt[:components]
    return ratios, vt


def prune(w, fraction):
    """Magnitude pruning: zero the `fraction` of weights with the smallest |w|.

    Exactly `floor(fraction * n)` weights are removed (ties broken by
    position, first ones first); NaN counts as the largest magnitude.

    Returns:
      `(kept, weights_kept, norm_kept)`: the pruned array, the fraction of
      weights kept and the fraction of the Frobenius norm kept
      (`||kept|| / ||w||`, 1 for an all-zero `w`).
    """
    w = np.asarray(w, dtype=np.float64)
    flat = w.ravel()
    n = flat.size
    removed = int(np.floor(float(fraction) * n + 1e-9))
    removed = min(max(removed, 0), n)
    magnitude = np.where(np.isnan(flat), np.inf, np.abs(flat))
    order = np.argsort(magnitude, kind="stable")
    mask = np.ones(n, dtype=bool)
    mask[order[:removed]] = False
    kept = np.where(mask, flat, 0.0).reshape(w.shape)
    norm = np.linalg.norm(flat)
    norm_kept = float(np.linalg.norm(kept.ravel()) / norm) if norm > 0 else 1.0
    return kept, (n - removed) / n if n else 1.0, norm_kept


def sparsity(w, threshold):
    """Fraction of weights with |w| < threshold (NaN never counts)."""
    w = np.asarray(w, dtype=np.float64)
    return float(np.count_nonzero(np.abs(w) < threshold) / w.size) if w.size else 0.0
