"""Parts: the optional features of a snapshot, one object each.

    InternalsCallback(log_dir, probe_data, parts=[
        Embeddings(layers=["conv2", "dense1"], data=(x_val, y_val)),
        ClassStatistics(data=(x_val, y_val), names=class_names),
        Attribution(methods=["gradcam"], every=2),
    ])

The always-on kinds (activations, their statistics, weights, attention) are
the snapshot itself; everything else is a `Part`, one module per feature in
this package, framework-neutral: a part reaches the model only through the
run's adapter (`tb_plugin.core.adapter`). A part owns its arguments (checked
in its constructor: `ValueError` naming the argument and the fix), its
validation against the model, its byte estimate, its cadence and its writing.

Lifecycle, driven by `tb_plugin.core.logger.Logger` (on the chief only;
other workers call `begin` to check their arguments alike):

1. `begin(run)` at train begin, after the model is built. `run` offers
   `adapter`, `probe_x` (the probe inputs), `probe_y` (the y of
   `probe_data=(x, y)` for those samples, or None), `probe_samples`,
   `probe_tokens` (token labels of the probe samples or None), `log_dir`
   and `budget` (bytes per snapshot or None). Raise `ValueError` naming
   the argument and the fix on what does not fit the model.
2. `estimate_bytes()`: bytes per snapshot before compression; the logging
   plan counts them with the statistics (never reduced) and lists the part
   with its `note()`.
3. At each snapshot, on the training thread: `due(step, index)` (index: the
   count of snapshots written before) and, when due, `compute(run, step)`.
   It may run the model through the adapter, always in inference mode and
   without touching training state, and returns numpy data wrapped in a
   job: a callable `job(writer)` that writes through the public
   `tb_plugin.summary.Writer` methods, or None.
4. The job runs with the snapshot's other writes (on the background writer
   thread unless `background=False`); its exceptions are reported like any
   logging failure (a warning, or `RuntimeError` with `strict=True`).
5. `end(run)` at train end, before the writer is closed.
"""

import numbers


class Part:
    """Base class: override what the part needs (every hook has a no-op default)."""

    #: shown in the logging plan and in failure messages
    name = "part"

    def begin(self, run):
        """Checks against the model and prepares at train begin; raise ValueError on bad input."""

    def estimate_bytes(self):
        """Bytes per snapshot this part writes (an estimate, before compression)."""
        return 0

    def note(self):
        """One line for the logging plan: what the part logs."""
        return ""

    def due(self, step, index):
        """Whether snapshot number `index` (at `step`) includes this part."""
        return True

    def compute(self, run, step):
        """Runs on the training thread; returns `job(writer)` or None."""
        return None

    def end(self, run):
        """At train end, before the event file is closed."""


def check_int(name, value, minimum):
    """`value` as an int >= `minimum`, or ValueError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError("%s must be an int >= %d, got %r" % (name, minimum, value))
    return int(value)
