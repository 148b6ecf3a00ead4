"""The numpy half of the attribution methods (`tb_plugin.core.parts.attribution`), no framework.

Grad-CAM's weighting and bilinear resize (bit for bit `tf.image.resize`'s
half-pixel bilinear), SmoothGrad's seeded noisy copies, integrated
gradients' midpoint path and completeness error, class labels from y, token
labels that fit the token ids, and the byte estimate of a snapshot's maps.
"""

import numpy as np

def gradcam_maps(feats, grads, size):
    """Grad-CAM from a layer output `feats` and the score's gradient `grads` ([n, h, w, k]).

    Returns (raw maps [n, h, w], maps resized to `size` (H, W)), float32:
    `ReLU(sum_k alpha_k A_k)` with `alpha_k` the spatial mean of the gradient."""
    alpha = grads.mean(axis=(1, 2), keepdims=True)
    raw = np.maximum((alpha * feats).sum(axis=-1), 0).astype(np.float32)
    return raw, np.maximum(resize_bilinear(raw, size), 0).astype(np.float32)


def resize_bilinear(images, size):
    """`[n, h, w]` resized to `size` (H, W), float32, as `tf.image.resize(method="bilinear")`.

    Half-pixel centres without antialiasing (TensorFlow's `ResizeBilinear`
    with `half_pixel_centers=True`): output pixel i samples the input at
    `(i + 0.5) * in / out - 0.5`, between the neighbours clamped to the
    edge, in float32 in TensorFlow's order (rows' lerp, then columns')."""
    images = np.asarray(images, dtype=np.float32)
    height, width = int(size[0]), int(size[1])
    y0, y1, fy = _interpolation(images.shape[1], height)
    x0, x1, fx = _interpolation(images.shape[2], width)
    fx = fx[None, None, :]
    top = images[:, y0]
    bottom = images[:, y1]
    top = top[:, :, x0] + (top[:, :, x1] - top[:, :, x0]) * fx
    bottom = bottom[:, :, x0] + (bottom[:, :, x1] - bottom[:, :, x0]) * fx
    return (top + (bottom - top) * fy[None, :, None]).astype(np.float32)


def _interpolation(in_size, out_size):
    f32 = np.float32
    scale = f32(in_size) / f32(out_size)
    centre = (np.arange(out_size, dtype=f32) + f32(0.5)) * scale - f32(0.5)
    low = np.floor(centre)
    lower = np.maximum(low, 0).astype(np.int64)
    upper = np.minimum(np.ceil(centre).astype(np.int64), in_size - 1)
    return lower, upper, (centre - low).astype(f32)


def smoothgrad_inputs(x, samples, noise, seed=0):
    """`[samples, n, ...]` noisy copies of `x`: Gaussian noise of `noise` x each sample's (max - min), seeded."""
    rng = np.random.default_rng(seed)
    flat = x.reshape(len(x), -1)
    span = (flat.max(axis=1) - flat.min(axis=1)).reshape((-1,) + (1,) * (x.ndim - 1))
    sigma = noise * np.where(span > 0, span, 1.0)
    return (x[None] + rng.standard_normal((samples,) + x.shape).astype(np.float32) * sigma[None]).astype(np.float32)


def midpoint_path(x, baseline, steps):
    """`[steps, n, ...]` points `b + a_k (x - b)`, `a_k = (k + 0.5) / steps`, float32."""
    alphas = ((np.arange(steps) + 0.5) / steps).astype(np.float32)
    shape = (-1,) + (1,) * x.ndim
    return (baseline[None] + alphas.reshape(shape) * (x - baseline)[None]).astype(np.float32)


def completeness_error(attr, f_x, f_b):
    """`|sum(attr) - (f(x) - f(b))| / max(|f(x) - f(b)|, 1e-6)` per sample."""
    delta = f_x - f_b
    return np.abs(attr.reshape(len(attr), -1).sum(axis=1) - delta) / np.maximum(np.abs(delta), 1e-6)


def class_labels(y):
    """Class indices `[n]` from y (class indices `[n]` or `[n, 1]`, one-hot / probability rows `[n, classes]`).

    Returns the int64 array, None (no y, or y not convertible to numpy), or
    a sentence saying why y is not class labels."""
    if y is None:
        return None
    try:
        y = np.asarray(y.numpy() if hasattr(y, "numpy") and not isinstance(y, np.ndarray) else y)
    except Exception:
        return None
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2 and y.shape[1] > 1 and np.issubdtype(y.dtype, np.number) and (y >= 0).all() \
            and np.allclose(y.sum(axis=1), 1, atol=1e-3):
        return y.argmax(axis=1).astype(np.int64)
    if y.ndim == 1 and np.issubdtype(y.dtype, np.number) and np.all(np.isfinite(y)) and np.all(y == np.round(y)) \
            and (y >= 0).all():
        return y.astype(np.int64)
    return "not class labels: y of shape %s and dtype %s (pass class indices [n] or one-hot rows [n, classes])" % (
        y.shape, y.dtype)


def probe_labels(probe_data, samples):
    """`class_labels` of the y of `probe_data=(x, y)` cut to the first `samples`, or None (no such y)."""
    if not (isinstance(probe_data, tuple) and len(probe_data) in (2, 3)) or probe_data[1] is None:
        return None
    y = probe_data[1]
    try:
        y = np.asarray(y.numpy() if hasattr(y, "numpy") and not isinstance(y, np.ndarray) else y)
    except Exception:
        return None
    return class_labels(y[:samples])


def token_labels(tokens, ids):
    """Token labels (one shared list or one per sample) as one list per sample if they fit `ids` [n, T], else None."""
    if tokens is None:
        return None
    n, length = ids.shape[0], ids.shape[1]
    if tokens and isinstance(tokens[0], (list, tuple)):
        rows = [list(r) for r in tokens[:n]]
    else:
        rows = [list(tokens)] * n
    if len(rows) != n or any(len(r) != length for r in rows):
        return None
    return rows


def estimate_bytes(n, height, width, methods, targets):
    """Bytes per snapshot before compression: q8 maps, the side document, Grad-CAM raw (upper bound)."""
    return n * targets * height * width * len(methods) + 200 * n + 4 * n * targets * height * width // 4
