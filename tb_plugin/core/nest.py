"""Nested model inputs: an array, or a list, tuple or dict of them (numpy only).

The order of leaves is Keras's (`keras.tree.flatten`): lists and tuples in
order, dicts by sorted key, so a leaf's position means the same input here
as in the framework.
"""

import numpy as np


def flatten(x):
    """The leaves of `x`, in order."""
    if isinstance(x, dict):
        return [leaf for key in sorted(x) for leaf in flatten(x[key])]
    if isinstance(x, (list, tuple)):
        return [leaf for item in x for leaf in flatten(item)]
    return [x]


def map_structure(fn, *xs):
    """`x` with every leaf replaced by `fn(leaf, ...)` (leaves of several `x` of one structure together)."""
    first = xs[0]
    if isinstance(first, dict):
        return {key: map_structure(fn, *[x[key] for x in xs]) for key in first}
    if isinstance(first, (list, tuple)):
        items = [map_structure(fn, *parts) for parts in zip(*xs)]
        return items if isinstance(first, list) else tuple(items)
    return fn(*xs)


def take(x, start, stop=None):
    """Samples `start:stop` of every leaf (`take(x, n)`: the first n)."""
    if stop is None:
        start, stop = 0, start
    return map_structure(lambda a: a[start:stop], x)


def sample_count(x):
    """The length of the sample axis of `x`'s first leaf."""
    return int(np.shape(flatten(x)[0])[0])


def describe(x):
    """`shape (16, 8, 8, 1) float32, ...`: the leaves of `x`, for messages."""
    return ", ".join(
        "shape %s %s" % (tuple(np.shape(a)), getattr(np.asarray(a), "dtype", "")) for a in flatten(x)
    )
