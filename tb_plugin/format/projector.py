"""Hand-off to TensorBoard's built-in Projector, without TensorFlow.

`hand_off` (also the command `python -m tb_plugin.projector LOGDIR RUN TAG [--step S]`)
writes, for one embedding tag at one step (the latest by default), what the
Projector reads from a run directory:

* `<run>/projector_config.pbtxt`: one `embeddings` entry per handed-off tag
  (other entries, e.g. the user's own, are kept; a tag handed off again
  replaces its entry), with paths relative to the config's directory;
* `<run>/plugins/internals/projector/<tag>.tensor.tsv`: the `[n, d]` rows
  (9 significant digits: exact for float32, which the Projector serves);
* `<run>/plugins/internals/projector/<tag>.metadata.tsv`: labels and
  metadata columns (no header row with one column, one with several, as the
  Projector expects);
* `<run>/plugins/internals/projector/<tag>.sprite.png` with
  `single_image_dim`, when thumbnails were logged; the sprite stays within
  the Projector's 8192 x 8192 px (thumbnails are scaled down to fit).

Limits of the Projector itself (TensorBoard 2.21): it re-reads the config
only when the set of runs or the latest checkpoint changes, so reload
TensorBoard after a hand-off during training; it shows at most 100,000
points; t-SNE samples 10,000 and UMAP 5,000 of them.
"""

import hashlib
import os
import re
import struct
import zlib

import numpy as np

CONFIG_NAME = "projector_config.pbtxt"
FOLDER = os.path.join("plugins", "internals", "projector")
MAX_SPRITE_PX = 8192


def _safe(tag):
    digest = hashlib.sha1(tag.encode("utf-8")).hexdigest()[:8]
    return "%s-%s" % (re.sub(r"[^A-Za-z0-9_-]+", "_", tag)[:60].strip("_") or "embedding", digest)


def _tsv_cell(value):
    return str(value).replace("\t", " ").replace("\n", " ").replace("\r", " ")


def metadata_rows(labels_doc, n):
    """The metadata TSV's lines (header first when there are several columns)."""
    columns = {}
    labels = (labels_doc or {}).get("labels")
    names = (labels_doc or {}).get("class_names")
    if labels is not None:
        columns["label"] = [
            names[v] if names and isinstance(v, int) and 0 <= v < len(names) else v for v in labels
        ]
    for name, values in ((labels_doc or {}).get("columns") or {}).items():
        columns[name] = values
    if not columns:
        return None
    keys = list(columns)
    lines = [] if len(keys) == 1 else ["\t".join(_tsv_cell(k) for k in keys)]
    for i in range(n):
        lines.append("\t".join(_tsv_cell(columns[k][i]) for k in keys))
    return lines


def sprite_png(thumbnails):
    """A sprite sheet of `[n, h, w, c]` thumbnails as PNG bytes, and the
    single image size `(w, h)` in it; scaled down to stay within 8192 px."""
    images = np.asarray(thumbnails, dtype=np.float64)
    if images.ndim == 3:
        images = images[..., None]
    n, h, w, c = images.shape
    if images.max(initial=0) <= 1.0:
        images = images * 255.0
    images = np.clip(np.nan_to_num(images), 0, 255).astype(np.uint8)
    if c == 1:
        images = np.repeat(images, 3, axis=3)
    images = images[..., :3]
    side = int(np.ceil(np.sqrt(n)))
    scale = min(1.0, MAX_SPRITE_PX / float(side * max(h, w)))
    if scale < 1.0:  # nearest-neighbour downscale so the sheet fits
        nh, nw = max(1, int(h * scale)), max(1, int(w * scale))
        rows = (np.arange(nh) * h // nh)[:, None]
        cols = (np.arange(nw) * w // nw)[None, :]
        images, h, w = images[:, rows, cols], nh, nw
    sheet = np.zeros((side * h, side * w, 3), np.uint8)
    for i in range(n):
        r, col = divmod(i, side)
        sheet[r * h:(r + 1) * h, col * w:(col + 1) * w] = images[i]
    return _png(sheet), (w, h)


def _png(rgb):
    height, width, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return b"".join([b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
                     chunk(b"IDAT", zlib.compress(raw, 6)), chunk(b"IEND", b"")])


def hand_off(run_dir, tag, rows, labels_doc=None, thumbnails=None, step=None):
    """Writes the Projector's files for one embedding (see module docstring).

    Args:
      run_dir: the run directory (local; it must hold event files, as the
        Projector only looks at runs).
      tag: the embedding's tag; the Projector shows it as the tensor name
        (with " @ step S" when `step` is given).
      rows: `[n, d]` array.
      labels_doc: labels and metadata columns (`embedding.labels_blob`).
      thumbnails: optional `[n, h, w, c]` images for a sprite.

    Returns:
      The path of the config written.
    """
    from google.protobuf import text_format
    from tensorboard.plugins.projector import projector_config_pb2

    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2:
        raise ValueError("the Projector takes [points, dims] rows, got shape %s" % (rows.shape,))
    folder = os.path.join(run_dir, FOLDER)
    os.makedirs(folder, exist_ok=True)
    base = _safe(tag)
    tensor_file = os.path.join(folder, base + ".tensor.tsv")
    _write_atomic(tensor_file, "\n".join("\t".join("%.9g" % v for v in row) for row in rows).encode("utf-8") + b"\n")
    config_path = os.path.join(run_dir, CONFIG_NAME)
    config = projector_config_pb2.ProjectorConfig()
    if os.path.exists(config_path):
        with open(config_path, "r", encoding="utf-8") as f:
            text_format.Parse(f.read(), config)
    name = tag if step is None else "%s @ step %d" % (tag, step)
    kept = [e for e in config.embeddings if not (e.tensor_name == name or e.tensor_name.startswith(tag + " @ step "))]
    del config.embeddings[:]
    config.embeddings.extend(kept)
    entry = config.embeddings.add()
    entry.tensor_name = name
    entry.tensor_path = os.path.relpath(tensor_file, run_dir)
    entry.tensor_shape.extend(rows.shape)
    lines = metadata_rows(labels_doc, len(rows))
    if lines is not None:
        metadata_file = os.path.join(folder, base + ".metadata.tsv")
        _write_atomic(metadata_file, ("\n".join(lines) + "\n").encode("utf-8"))
        entry.metadata_path = os.path.relpath(metadata_file, run_dir)
    if thumbnails is not None:
        png, (w, h) = sprite_png(thumbnails)
        sprite_file = os.path.join(folder, base + ".sprite.png")
        _write_atomic(sprite_file, png)
        entry.sprite.image_path = os.path.relpath(sprite_file, run_dir)
        entry.sprite.single_image_dim.extend([w, h])
    _write_atomic(config_path, text_format.MessageToString(config).encode("utf-8"))
    return config_path


def handed_off(run_dir, tag):
    """The Projector entry of `tag` in `run_dir`'s config, as `{"config": path,
    "tensor_name", "step"}`, or None (no config, unreadable, or no entry)."""
    if not run_dir:
        return None
    config_path = os.path.join(run_dir, CONFIG_NAME)
    try:
        with open(config_path, "r", encoding="utf-8") as f:
            text = f.read()
        from google.protobuf import text_format
        from tensorboard.plugins.projector import projector_config_pb2

        config = text_format.Parse(text, projector_config_pb2.ProjectorConfig())
    except Exception:  # no hand-off, or a config the Projector itself would refuse
        return None
    for entry in config.embeddings:
        if entry.tensor_name == tag or entry.tensor_name.startswith(tag + " @ step "):
            rest = entry.tensor_name[len(tag + " @ step "):]
            step = int(rest) if rest.lstrip("-").isdigit() else None
            return {"config": config_path, "tensor_name": entry.tensor_name, "step": step}
    return None


def _write_atomic(path, data):
    temporary = path + ".tmp"
    with open(temporary, "wb") as f:
        f.write(data)
    os.replace(temporary, path)
