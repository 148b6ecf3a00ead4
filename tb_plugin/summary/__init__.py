"""Writer API: two front doors over one writing core.

* `activations(...)`, `weights`, `attention`, `embedding`, `class_stats`,
  `attribution` are in the `tf.summary` style (`tf_door.py`): they write to
  the default `tf.summary` writer, return a bool like the `tf.summary` ops,
  and work eagerly and inside `tf.function`. They import TensorFlow when
  called.
* `Writer(logdir)` is TF-free (`writer.py`): numpy arrays in, event files out
  through TensorBoard's event protos in TFRecord files (`format.tfrecord`),
  for PyTorch, JAX or plain numpy code. It has one method per kind.

Both doors call the kind's own module (`tb_plugin.kinds`) for the step's
payloads and metadata fields, and `core.py` for the checks and metadata
every kind shares, so the same array encodes to byte-identical payloads
(`format.encoding`) with the same metadata fields (`format.metadata`).

Where the payloads go (`format.metadata`, "storage"):

* `Writer` puts every payload in the run's payload store (`format.store`) and
  writes only a small reference per step to the event file, so TensorBoard
  keeps every step at little memory. Labels, thumbnails and images are
  stored only when they change (`core.Memory`).
* The `tf.summary` door keeps the payloads inline in the event file (blob
  sequences): a `tf.summary` writer does not tell its run directory without
  private TensorFlow API, so it cannot know where the run's store is. It
  keeps no state, so every step carries its labels and images. Use it for
  occasional summaries; log long runs with `Writer` or the callback.

Example (TF-free)::

    from tb_plugin import summary
    with summary.Writer("logs/run1") as writer:
        writer.activations("conv1", conv1_output, step=epoch)

Example (TensorFlow)::

    writer = tf.summary.create_file_writer("logs/run1")
    with writer.as_default(step=epoch):
        summary.activations("conv1", conv1_output)
"""

from tb_plugin.summary.core import DEFAULT_ENCODING, DEFAULT_MAX_VALUES
from tb_plugin.summary.tf_door import activations, attention, attribution, class_stats, embedding, weights
from tb_plugin.summary.writer import Writer

__all__ = [
    "DEFAULT_ENCODING",
    "DEFAULT_MAX_VALUES",
    "Writer",
    "activations",
    "attention",
    "attribution",
    "class_stats",
    "embedding",
    "weights",
]
