"""Activations: a layer's outputs as one encoded array per step (numpy only).

An activations summary (kind `activations`) stores, at each step, the
layer's outputs for the probe batch (`[batch, h, w, channels]` for a conv
layer, `[batch, units]` for a dense one, any rank otherwise) as its only
blob, in the format of `tb_plugin.format.encoding` (q8 quantises per
channel, the last axis; f32 is lossless). Its metadata adds nothing to the
array fields `shape`, `dtype` and `encoding`.

`array_step` is the step of every kind that is just an encoded array
(activations, and weights with two fields of their own).
"""

import numpy as np

from tb_plugin import kinds
from tb_plugin.format import encoding as encoding_lib

KIND = kinds.ACTIVATIONS


def array_step(kind, data, encoding, max_values, extra=None):
    """The `Step` of an array kind: `data` encoded as the one blob.

    A masked array keeps its mask (masked elements are stored as NaN);
    anything else goes through `np.asarray` (numpy, lists, a CPU torch
    tensor).

    Raises:
      ValueError: data that is not real numbers, or too many values.
    """
    array = data if isinstance(data, np.ma.MaskedArray) else np.asarray(data)
    payload = encoding_lib.encode(array, encoding, max_values)
    return kinds.Step(kind, [payload], extra, array.shape, array.dtype.name, encoding)


def step(data, encoding, max_values):
    """One activations step (see the module docstring)."""
    return array_step(KIND, data, encoding, max_values)
