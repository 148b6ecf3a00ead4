"""The background writer thread, and how logging failures are reported.

A snapshot's encoding and writing run on one background thread so training
goes on; at most one snapshot waits in the queue (the next snapshot blocks
until the previous is written, bounding memory). A logging failure never
stops training: it becomes a warning on the training thread (collected from
the writer thread and reported at the next hook), or a `RuntimeError` with
`strict=True`.
"""

import queue
import threading
import warnings


class Failures:
    """Reports logging failures for `who` (e.g. "InternalsCallback") as warnings, or raises when strict."""

    def __init__(self, who, strict=False, background=True):
        self.who = who
        self.strict = strict
        self.background = background
        self._pending = []

    def fail(self, what, error):
        """Reports that `what` could not be logged because of `error`."""
        message = "%s could not log %s: %s: %s" % (self.who, what, type(error).__name__, error)
        if self.strict:
            raise RuntimeError(message) from error
        if threading.current_thread() is threading.main_thread() or not self.background:
            warnings.warn(message + " (training goes on; pass strict=True to raise instead)", stacklevel=3)
        else:
            self._pending.append(message)

    def add(self, message):
        """A message from the writer thread, reported at the next `report`."""
        self._pending.append(message)

    def report(self):
        """Warns of what the writer thread could not log (call on the training thread)."""
        while self._pending:
            message = self._pending.pop(0)
            warnings.warn(message + " (training goes on; pass strict=True to raise instead)", stacklevel=4)


class Worker:
    """A background thread running jobs in order, one queued at most."""

    def __init__(self, failures, name="internals-writer"):
        self._queue = queue.Queue(maxsize=1)
        self._failures = failures
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self):
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                job()
            except Exception as e:  # reported on the training thread
                self._failures.add("%s could not log a snapshot: %s: %s" % (self._failures.who, type(e).__name__, e))
            finally:
                self._queue.task_done()

    def put(self, job):
        self._queue.put(job)

    def close(self):
        """Runs what is queued, then stops the thread."""
        self._queue.put(None)
        self._thread.join()
