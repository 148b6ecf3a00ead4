"""Which probe samples a channel likes: top-k from logged activations (numpy only).

No model pass: the scores come from an `activations` tag's logged step, so
they are exactly what the tab shows (after its encoding: q8 values are
within 1/510 of each channel's range, and ties at that resolution are
broken by the lower sample index).

For a layer output `[samples, ..., channels]` the score of sample s for
channel c is the channel's strongest value over the positions between
(conv maps: over space; dense units: the value itself), and its position
is where that value is (the first, in row-major order, on ties). `patch`
is the input region that position covers when the map is stretched over an
input of `input_size` (its cell: rows `[i * H / h, (i + 1) * H / h)`, the
same for columns), i.e. where the strongest response sits, not the full
receptive field of the unit.
"""

import numpy as np

MAX_K = 64


def top_k(values, k, input_size=None):
    """The `k` samples with the highest score per channel (see the module docstring).

    Args:
      values: `[samples, channels]` or `[samples, h, w, channels]` (any rank >= 2).
      k: how many samples (at most the sample count).
      input_size: optional `(H, W)` of the input, for `patches` (rank-4 maps only).

    Returns:
      a dict with `samples` `[channels][k]` (best first), `scores`
      `[channels][k]`, `positions` `[channels][k]` (index tuples over the
      axes between samples and channels, or [] for dense units), and
      `patches` `[channels][k]` of `[top, left, bottom, right]` or None.

    Raises:
      ValueError: bad rank or k.
    """
    array = np.asarray(values)
    if array.ndim < 2:
        raise ValueError("top-k needs [samples, ..., channels] activations, got shape %s" % (array.shape,))
    n, c = array.shape[0], array.shape[-1]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_K:
        raise ValueError("k must be an integer from 1 to %d, got %r" % (MAX_K, k))
    k = min(int(k), n)
    spatial = array.shape[1:-1]
    flat = array.reshape(n, -1, c).astype(np.float64)
    clean = np.where(np.isfinite(flat), flat, -np.inf)
    where = clean.argmax(axis=1)  # [n, c]: first maximum per sample and channel
    score = np.take_along_axis(clean, where[:, None, :], axis=1)[:, 0, :]  # [n, c]
    # Best first; ties by the lower sample index (a stable sort of the negated scores).
    order = np.argsort(-score, axis=0, kind="stable")[:k]  # [k, c]
    samples = order.T.tolist()
    scores = [[float(score[s, ch]) for s in order[:, ch]] for ch in range(c)]
    positions = [[list(np.unravel_index(int(where[s, ch]), spatial)) if spatial else [] for s in order[:, ch]]
                 for ch in range(c)]
    positions = [[[int(i) for i in p] for p in row] for row in positions]
    patches = None
    if input_size is not None and len(spatial) == 2:
        big_h, big_w = int(input_size[0]), int(input_size[1])
        h, w = spatial

        def cell(p):
            i, j = p
            return [i * big_h // h, j * big_w // w, -(-(i + 1) * big_h // h), -(-(j + 1) * big_w // w)]

        patches = [[cell(p) for p in row] for row in positions]
    return {"samples": samples, "scores": scores, "positions": positions, "patches": patches,
            "k": k, "channels": int(c), "map_shape": [int(d) for d in spatial],
            "score": "max over positions" if spatial else "value"}
