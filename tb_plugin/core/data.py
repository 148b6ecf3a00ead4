"""Samples given by the user (probe batch, evaluation data) as numpy arrays, framework-neutral.

A batch is an array, a tensor (anything with `.numpy()` or `__array__`), a
nested list of numbers, or a list or dict of those; a tuple is read as `(x,
y[, sample_weight])`. A source of batches is a `tf.data.Dataset` (read with
`as_numpy_iterator`), a `keras.utils.PyDataset` (indexed), or a generator or
iterator of batches (consumed). Nothing here imports a framework: sources are
recognised by what they offer.
"""

import inspect

import numpy as np

from tb_plugin.core import nest


def to_numpy(t, convert=np.asarray):
    """A tensor or array as a numpy array, without numpy's `__array__` warnings.

    `convert` turns what has no `.numpy()` into an array (a framework's own
    converter, e.g. `keras.ops.convert_to_numpy`)."""
    if isinstance(t, np.ndarray):
        return t
    numpy = getattr(t, "numpy", None)
    if callable(numpy):
        return np.asarray(numpy())
    return np.asarray(convert(t))


def _is_scalar(v):
    return isinstance(v, (bool, int, float, complex, str, bytes, np.generic))


def _numeric_nested(obj):
    """True for a (nested) list/tuple whose leaves are all plain numbers (or strings)."""
    if isinstance(obj, (list, tuple)):
        return len(obj) > 0 and all(_numeric_nested(v) for v in obj)
    return _is_scalar(obj)


def to_arrays(obj):
    """A batch (module docstring) with numpy leaves; nested lists of numbers become one array."""
    if isinstance(obj, dict):
        return {k: to_arrays(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) and not _numeric_nested(obj):
        return [to_arrays(v) for v in obj] if isinstance(obj, list) else tuple(to_arrays(v) for v in obj)
    return to_numpy(obj)


def _strip_targets(element):
    """`x` of a dataset element `(x,)`, `(x, y)` or `(x, y, sample_weight)`."""
    if isinstance(element, tuple) and len(element) in (1, 2, 3):
        return element[0]
    return element


def _is_py_dataset(obj):
    return any(c.__name__ == "PyDataset" for c in type(obj).__mro__) and hasattr(obj, "__getitem__")


def batches(data):
    """`(what, iterator over batches)` for a source of batches, else None (a batch itself)."""
    if hasattr(data, "as_numpy_iterator") and hasattr(data, "element_spec"):
        return "tf.data.Dataset", iter(data.as_numpy_iterator())
    if _is_py_dataset(data):
        return "PyDataset", (data[i] for i in range(len(data)))
    if inspect.isgenerator(data) or (
        hasattr(data, "__next__") and hasattr(data, "__iter__") and not isinstance(data, (list, tuple, dict))
    ):
        return "generator", data
    return None


def probe_inputs(probe_data, samples):
    """`(x, y, note)`: the first `samples` samples of `probe_data` as numpy arrays.

    `y` is the batch's targets when `probe_data` is a batch `(x, y)` (cut to
    the same samples), else None. `note` says where the samples came from
    when it was not a plain batch, else None.

    Raises:
      ValueError: naming `probe_data` and the fix.
    """
    if probe_data is None:
        raise ValueError("probe_data is None; pass a fixed batch of model inputs (e.g. x_val[:16])")
    note, y = None, None
    source = batches(probe_data)
    if source is not None:
        what, found = source
        taken, count, n_batches = [], 0, 0
        for batch in found:
            xb = to_arrays(_strip_targets(batch))
            leaves = nest.flatten(xb)
            if not leaves or np.ndim(leaves[0]) == 0:
                raise ValueError("probe_data: the %s yields elements without a batch axis (%s); batch it "
                                 "(e.g. dataset.batch(16))" % (what, nest.describe(xb)))
            taken.append(xb)
            n_batches += 1
            count += int(np.shape(leaves[0])[0])
            if count >= samples:
                break
        if not taken:
            raise ValueError("probe_data: the %s yields no batch; pass one that yields at least one sample" % what)
        x = nest.map_structure(lambda *parts: np.concatenate(parts, axis=0), *taken) if len(taken) > 1 else taken[0]
        note = "probe: took the first %d samples from %d batch%s of a %s%s" % (
            min(count, samples), n_batches, "" if n_batches == 1 else "es", what,
            " (those batches are consumed; pass a separate generator)" if what == "generator" else "",
        )
    else:
        if isinstance(probe_data, tuple) and len(probe_data) in (2, 3):
            probe_data, y = probe_data[0], probe_data[1]  # (x, y) or (x, y, sample_weight)
        x = to_arrays(probe_data)
    leaves = nest.flatten(x)
    if not leaves:
        raise ValueError("probe_data holds no arrays; pass a fixed batch of model inputs (e.g. x_val[:16])")
    for leaf in leaves:
        if np.ndim(leaf) == 0:
            raise ValueError(
                "probe_data holds a scalar (%r); every input needs a batch axis: pass e.g. x_val[:16], "
                "a list of such arrays for several inputs" % (leaf,)
            )
    sizes = {int(np.shape(leaf)[0]) for leaf in leaves}
    if 0 in sizes:
        raise ValueError("probe_data is empty (0 samples, %s); pass at least one sample" % nest.describe(x))
    if len(sizes) > 1:
        raise ValueError("probe_data: the inputs have different sample counts (%s); pass the same samples "
                         "of every input" % nest.describe(x))
    if y is not None:
        try:
            y = to_numpy(y)
            y = y[:samples] if y.ndim else y
        except Exception:  # not array-like targets: no labels (attribution says so)
            y = None
    return nest.take(x, samples), y, note


def labelled(data, samples, argument):
    """`(x, y)`: the first `samples` of labelled data `(x, y)` (arrays, or a source of `(x, y)` batches).

    `argument` names the user's argument in messages.
    """
    source = batches(data)
    if source is not None:
        what, found = source
        xs, ys, count = [], [], 0
        for batch in found:
            if not isinstance(batch, tuple) or len(batch) < 2:
                raise ValueError("%s: the %s must yield (x, y) batches with labels" % (argument, what))
            xs.append(to_arrays(batch[0]))
            ys.append(to_numpy(batch[1]))
            count += len(ys[-1])
            if count >= samples:
                break
        if not xs:
            raise ValueError("%s: the %s yields no batch" % (argument, what))
        x = nest.map_structure(lambda *p: np.concatenate(p), *xs) if len(xs) > 1 else xs[0]
        y = np.concatenate(ys)
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = to_arrays(data[0]), to_numpy(data[1])
    else:
        raise ValueError("%s must be (x, y): inputs and their labels (class indices or one-hot), "
                         "e.g. %s=(x_val, y_val); got %s" % (argument, argument, type(data).__name__))
    leaves = nest.flatten(x)
    if not leaves or any(np.ndim(a) == 0 for a in leaves):
        raise ValueError("%s: x must hold arrays with a sample axis" % argument)
    if len({len(a) for a in leaves} | {len(y)}) > 1:
        raise ValueError("%s: x and y have different sample counts (%s and %d); pass the same samples"
                         % (argument, [len(a) for a in leaves], len(y)))
    n = min(samples, len(y))
    return nest.take(x, n), y[:n]
