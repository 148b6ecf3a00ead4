"""Optional parts of a snapshot: the extension point of `InternalsCallback`.

The callback decides *when* a snapshot is taken; what a snapshot holds
beyond activations, statistics, weights and attention (embeddings, class
statistics, attributions, ...) is a `SnapshotPart`, one per feature, each in
its own module. The callback only turns its arguments into parts and calls
them at fixed moments, so a feature never needs to edit the snapshot loop.

Lifecycle, on the chief only (other workers call `begin` to check arguments):

1. `begin(callback)` at `on_train_begin`, after the model is built and its
   stable names are known (`callback._names`); checks what it needs (raise
   `ValueError` naming the argument and the fix), prepares constants, may
   write once-per-run documents through `callback._writer`.
2. `estimate_bytes()`: bytes per snapshot before compression; the logging
   plan counts them with the statistics (never reduced) and lists the part.
3. At each snapshot, on the training thread: `due(step, index)` (index: the
   count of snapshots this callback has written before) and, when due,
   `compute(callback, step)`. It may run the model, always in inference
   mode and without touching training state (no optimizer step, no
   variable writes, no metric updates), and returns numpy data wrapped in a
   job: a callable `job(writer)` that encodes and writes, or None.
4. The job runs with the snapshot's other writes (on the background writer
   thread unless `background=False`); its exceptions are reported like any
   logging failure (a warning, or `RuntimeError` with `strict=True`).
5. `end(callback)` at `on_train_end`, before the writer is closed.
"""


class SnapshotPart:
    """Base class: override what the part needs (every hook has a no-op default)."""

    #: shown in the logging plan and in failure messages
    name = "part"

    def begin(self, callback):
        """Checks and prepares at train begin; raise ValueError on bad input."""

    def estimate_bytes(self):
        """Bytes per snapshot this part writes (an estimate, before compression)."""
        return 0

    def note(self):
        """One line for the logging plan: what the part logs."""
        return ""

    def due(self, step, index):
        """Whether snapshot number `index` (at `step`) includes this part."""
        return True

    def compute(self, callback, step):
        """Runs on the training thread; returns `job(writer)` or None."""
        return None

    def end(self, callback):
        """At train end, before the event file is closed."""
