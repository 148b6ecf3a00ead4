"""Attention scores: validation, per-step extras and summaries (numpy only).

An attention summary (kind `attention`) stores scores `[heads, q, k]` or
`[batch, heads, q, k]` as the first blob of the summary's string tensor, in
the format of `tb_plugin.format.encoding`. Its metadata content adds:

* `query_tokens`, `key_tokens`: the token labels of the tag's first write:
  a list of q (k) strings shared by every sample, or one such list per
  sample (`[batch][q]`), or null. TensorBoard keeps the metadata of a tag's
  first event only, so labels that change later go per step (below).
* `normalized`: whether each row (query) of the scores sums to 1.
* `patch_grid`: `[rows, cols]` when the keys are image patches of a vision
  transformer (the last rows * cols keys, row-major, after `prefix_tokens`
  non-patch keys such as a class token), else null.
* `prefix_tokens`: keys before the patches (0 without a patch grid).

Blobs of one step (`PER_STEP_TOKENS_BLOB`, `IMAGE_BLOB`):

1. the scores payload;
2. per-step token labels as UTF-8 JSON `{"query_tokens": .., "key_tokens": ..}`
   when they differ from the metadata's (else empty bytes; the blob is
   omitted when there is nothing after it);
3. the input image `[h, w, c]` or `[batch, h, w, c]` (an encoded payload)
   of a vision transformer, when given.

`step` builds one step for either writer door. The backend serves blob i
at `/attention_blob?run&tag&step&index=i` and the per-head entropy series at
`/attention_summary?run&tag` (`entropy_series`).
"""

import json

import numpy as np

from tb_plugin import kinds
from tb_plugin.format import encoding as encoding_lib

KIND = kinds.ATTENTION
PER_STEP_TOKENS_BLOB = KIND.blob("tokens")
IMAGE_BLOB = KIND.blob("image")
# Rows must sum to 1 within this (float32 softmax outputs, q8 aside).
ROW_SUM_TOLERANCE = 1e-3


def _token_list(tokens, what):
    if tokens is None:
        return None
    if isinstance(tokens, (str, bytes)):
        raise ValueError("%s must be a list of strings (one per token), not a single string" % what)
    out = []
    for t in tokens:
        if isinstance(t, (list, tuple, np.ndarray)):
            out.append(_token_list(t, what))
        else:
            out.append(t.decode("utf-8", "replace") if isinstance(t, bytes) else str(t))
    return out


def _check_labels(labels, length, batch, what, name):
    """`labels`: None, a list of `length` strings, or `batch` such lists."""
    if labels is None:
        return None
    if labels and all(isinstance(l, list) for l in labels):
        if batch is None:
            raise ValueError(
                "%s: %s holds one list per sample, but the scores have no batch axis "
                "(shape [heads, q, k]); pass one list of labels" % (name, what)
            )
        if len(labels) != batch:
            raise ValueError(
                "%s: %s has %d per-sample lists, but the scores have %d samples" % (name, what, len(labels), batch)
            )
        for i, l in enumerate(labels):
            if len(l) != length:
                raise ValueError(
                    "%s: %s[%d] has %d labels, but the scores have %d %s"
                    % (name, what, i, len(l), length, "queries" if what.startswith("query") else "keys")
                )
        return labels
    if any(isinstance(l, list) for l in labels):
        raise ValueError("%s: %s mixes labels and lists of labels" % (name, what))
    if len(labels) != length:
        raise ValueError(
            "%s: %s has %d labels, but the scores have %d %s (shape [..., q, k])"
            % (name, what, len(labels), length, "queries" if what.startswith("query") else "keys")
        )
    return labels


def validate(
    name,
    scores,
    tokens=None,
    query_tokens=None,
    key_tokens=None,
    normalized=True,
    patch_grid=None,
    prefix_tokens=0,
    image=None,
):
    """Checks an attention summary's arguments; returns them normalised.

    Returns:
      `(scores ndarray, extra metadata dict, image ndarray or None)`.

    Raises:
      ValueError: with a message naming what is wrong and how to fix it.
    """
    array = np.asarray(scores)
    if array.dtype.kind not in "biuf" and array.dtype.name != "bfloat16":
        raise ValueError("%s: attention scores must be real numbers, got dtype %s" % (name, array.dtype))
    if array.ndim not in (3, 4):
        raise ValueError(
            "%s: attention scores must have shape [heads, q, k] or [batch, heads, q, k], got shape %s"
            % (name, list(array.shape))
        )
    if 0 in array.shape:
        raise ValueError("%s: attention scores are empty (shape %s)" % (name, list(array.shape)))
    batch = array.shape[0] if array.ndim == 4 else None
    q, k = array.shape[-2], array.shape[-1]
    if tokens is not None and (query_tokens is not None or key_tokens is not None):
        raise ValueError("%s: pass tokens= (self-attention) or query_tokens=/key_tokens=, not both" % name)
    if tokens is not None:
        query_tokens = key_tokens = tokens
    query_tokens = _check_labels(_token_list(query_tokens, "query_tokens"), q, batch, "query_tokens", name)
    key_tokens = _check_labels(_token_list(key_tokens, "key_tokens"), k, batch, "key_tokens", name)
    if normalized:
        values = array.astype(np.float64)
        finite = np.isfinite(values).all(axis=-1)
        sums = values.sum(axis=-1)
        bad = finite & (np.abs(sums - 1.0) > ROW_SUM_TOLERANCE)
        if bad.any() or (values < -ROW_SUM_TOLERANCE).any():
            where = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.any() else None
            raise ValueError(
                "%s: attention rows must sum to 1 (softmax weights over the keys); %s. "
                "Pass normalized=False to log scores that are not normalised (e.g. logits)"
                % (
                    name,
                    "row %s sums to %.6g" % (list(where), sums[where]) if where else "some weights are negative",
                )
            )
    extra = {
        "query_tokens": query_tokens,
        "key_tokens": key_tokens,
        "normalized": bool(normalized),
        "patch_grid": None,
        "prefix_tokens": 0,
    }
    if patch_grid is not None:
        try:
            rows, cols = (int(v) for v in patch_grid)
        except (TypeError, ValueError):
            raise ValueError("%s: patch_grid must be (rows, cols), got %r" % (name, patch_grid))
        prefix = int(prefix_tokens)
        if rows < 1 or cols < 1 or prefix < 0:
            raise ValueError("%s: patch_grid %r and prefix_tokens %r must be positive" % (name, patch_grid, prefix_tokens))
        if prefix + rows * cols != k:
            raise ValueError(
                "%s: patch_grid %dx%d plus %d prefix tokens is %d keys, but the scores have %d keys"
                % (name, rows, cols, prefix, prefix + rows * cols, k)
            )
        extra["patch_grid"] = [rows, cols]
        extra["prefix_tokens"] = prefix
    elif prefix_tokens:
        raise ValueError("%s: prefix_tokens only applies with patch_grid" % name)
    if image is not None:
        if patch_grid is None:
            raise ValueError("%s: image= is the input image of a vision transformer; pass patch_grid= too" % name)
        image = np.asarray(image)
        if image.ndim == 2:
            image = image[..., None]
        if image.ndim not in (3, 4) or image.shape[-1] not in (1, 3, 4):
            raise ValueError(
                "%s: image must be [h, w], [h, w, channels] or [batch, h, w, channels] with 1, 3 or 4 "
                "channels, got shape %s" % (name, list(image.shape))
            )
        if image.ndim == 4 and image.shape[0] != batch:
            raise ValueError(
                "%s: image has %d samples, the scores %s" % (name, image.shape[0], batch if batch is not None else "none")
            )
    return array, extra, image


def tokens_blob(labels, first):
    """The per-step token blob: JSON `{"query_tokens", "key_tokens"}` when
    this step's labels differ from `first` (the tag's first labels, in its
    metadata), else b"". `first=None` (a door that keeps no state): the
    labels whenever there are any."""
    current = {"query_tokens": labels["query_tokens"], "key_tokens": labels["key_tokens"]}
    if first is None and current["query_tokens"] is None and current["key_tokens"] is None:
        return b""
    if first is not None and current == first:
        return b""
    return json.dumps(current, sort_keys=True).encode("utf-8")


def step(name, scores, *, tokens=None, query_tokens=None, key_tokens=None, normalized=True, patch_grid=None,
         prefix_tokens=0, image=None, encoding, max_values, memory=None):
    """One attention step (`kinds.Step`) for either writer door; arguments
    as `tb_plugin.summary.attention`.

    With a `memory` (the `Writer`), the metadata carries the tag's first
    token labels (TensorBoard keeps a tag's first metadata) and a step
    carries its own only when they differ from those; without one (the
    `tf.summary` door) every step carries its labels.

    Raises:
      ValueError: as `validate`, or too many values.
    """
    array, extra, image = validate(
        name, scores, tokens, query_tokens, key_tokens, normalized, patch_grid, prefix_tokens, image
    )
    labels = {"query_tokens": extra["query_tokens"], "key_tokens": extra["key_tokens"]}
    first = None if memory is None else memory.first("labels", labels)
    extra.update(first or labels)
    blobs = [
        encoding_lib.encode(array, encoding, max_values),
        tokens_blob(labels, first),
        b"" if image is None else encoding_lib.encode(image, "f32", max_values),
    ]
    return kinds.Step(KIND, blobs, extra, array.shape, array.dtype.name, encoding)


def row_entropy(scores):
    """Entropy (nats) of each attention row: `[..., q, k]` -> `[..., q]`.

    Rows are renormalised first (so unnormalised non-negative scores work);
    zero weights contribute nothing.
    """
    p = np.asarray(scores, dtype=np.float64)
    p = np.where(np.isfinite(p) & (p > 0), p, 0.0)
    total = p.sum(axis=-1, keepdims=True)
    p = np.divide(p, total, out=np.zeros_like(p), where=total > 0)
    logp = np.log(p, out=np.zeros_like(p), where=p > 0)
    return -(p * logp).sum(axis=-1)


def head_entropy(scores):
    """Mean row entropy per head (nats), averaged over samples and queries.

    `scores`: `[heads, q, k]` or `[batch, heads, q, k]`. Returns `[heads]`.
    """
    h = row_entropy(scores)
    if h.ndim == 3:  # [batch, heads, q]
        return h.mean(axis=(0, 2))
    return h.mean(axis=-1)


def entropy_series(steps_and_scores):
    """The `/attention_summary` document for one tag.

    Args:
      steps_and_scores: iterable of `(step, scores)`, ascending by step.

    Returns:
      `{"steps": [...], "entropy": [[per head] per step], "max_entropy": ln k}`,
      entropy in nats; `max_entropy` is that of uniform attention.
    """
    steps, entropy, max_entropy = [], [], None
    for step, scores in steps_and_scores:
        scores = np.asarray(scores)
        steps.append(int(step))
        entropy.append([float(v) for v in head_entropy(scores)])
        max_entropy = float(np.log(scores.shape[-1]))
    return {"steps": steps, "entropy": entropy, "max_entropy": max_entropy}


def anti_diagonal_mass(scores):
    """Mean attention weight on the anti-diagonal (query i -> key k-1-i).

    For reversing a sequence this is the correct attention: 1.0 when every
    query attends only to its mirror key, 1/k for uniform attention.
    `scores`: `[..., q, k]` with q == k. Returns the mean over all rows.
    """
    s = np.asarray(scores, dtype=np.float64)
    n = s.shape[-1]
    if s.shape[-2] != n:
        raise ValueError("anti-diagonal needs square scores, got %s" % (s.shape,))
    return float(s[..., np.arange(n), n - 1 - np.arange(n)].mean())


def tokens_for(tokens, scores):
    """The token labels that fit `scores` `[..., q, k]`, or None.

    `tokens` is one list of labels shared by all samples, or one list per
    sample (for `[samples, heads, q, k]` scores, the first `samples` lists
    are used). They fit self-attention only: one label per query and key
    position (cross attention and other lengths get none).
    """
    if tokens is None:
        return None
    q, k = scores.shape[-2], scores.shape[-1]
    per_sample = bool(tokens) and isinstance(tokens[0], list)
    if per_sample and scores.ndim == 4:
        tokens = tokens[: scores.shape[0]]
    lengths = {len(t) for t in tokens} if per_sample else {len(tokens)}
    if lengths != {q} or q != k or (per_sample and (scores.ndim != 4 or len(tokens) != scores.shape[0])):
        return None
    return tokens


def normalize_rows(scores):
    """`(scores, normalized, note)`: attention rows checked against a tolerance fitting their dtype.

    Float32 (and wider) rows must sum to 1 within `attention.ROW_SUM_TOLERANCE`.
    Float16 and bfloat16 softmax rows sum to 1 only within their rounding
    (1024 float16 keys: about 1e-3): they are checked against
    `max(1e-3, 2 * sqrt(k) * eps / 2)` (eps of their dtype) and, when they
    pass, divided by their sums (in float64) so that they sum to 1; `note`
    then says so and by how much they were off. Rows outside the tolerance
    leave the scores as they are with `normalized=False`.
    """
    values = np.asarray(scores)
    wide = values.astype(np.float64)
    sums = wide.sum(axis=-1)
    finite = np.isfinite(sums)
    deviation = float(np.max(np.abs(sums[finite] - 1))) if finite.any() else float("nan")
    if values.dtype.itemsize >= 4 and values.dtype.name != "bfloat16":
        ok = finite.any() and deviation <= ROW_SUM_TOLERANCE and not (wide < -1e-6).any()
        return scores, bool(ok), None
    eps = float(np.finfo(np.float16).eps) if values.dtype.name == "float16" else 2.0 ** -7
    k = values.shape[-1]
    tolerance = max(ROW_SUM_TOLERANCE, 2 * np.sqrt(k) * eps / 2)
    if not finite.any() or deviation > tolerance or (wide < 0).any():
        return scores, False, "%s rows: not all sum to 1 within %.2g" % (values.dtype.name, tolerance)
    with np.errstate(divide="ignore", invalid="ignore"):
        fixed = np.where(finite[..., None], wide / sums[..., None], wide)
    return fixed.astype(np.float32), True, "%s rows renormalised to sum to 1; they were off by up to %.2g" % (
        values.dtype.name, deviation)
