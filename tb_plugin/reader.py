"""Loads logged internals back as numpy arrays, for notebooks and tests.

    from tb_plugin.reader import Reader
    reader = Reader("logs")
    reader.tags()                      # {run: {tag: info}}
    reader.steps("run1", "conv1")      # [0, 1, 2, ...]
    x = reader.read("run1", "conv1", step=2)   # float32 ndarray

The reader loads event files with TensorBoard's own multiplexer (keeping
every step) and decodes with the same decoder as the backend.
"""

from tensorboard.backend.event_processing import data_provider as mux_data_provider
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard import context as tb_context

from tb_plugin import data_access, encoding, metadata


class Reader:
    """Reads every run under `logdir`.

    Args:
      logdir: a log directory, as given to `tensorboard --logdir`.
    """

    def __init__(self, logdir):
        self.logdir = logdir
        self._multiplexer = plugin_event_multiplexer.EventMultiplexer(
            tensor_size_guidance={metadata.PLUGIN_NAME: 0}  # 0: keep every step
        )
        self._provider = mux_data_provider.MultiplexerDataProvider(self._multiplexer, logdir)
        self._ctx = tb_context.RequestContext()
        self.reload()

    def reload(self):
        """Picks up runs and steps written since the last load."""
        self._multiplexer.AddRunsFromDirectory(self.logdir)
        self._multiplexer.Reload()

    def tags(self):
        """`{run: {tag: info}}` as the backend's `/tags` route lists them."""
        return data_access.list_tags(self._provider, self._ctx, "")

    def runs(self):
        """Sorted names of the runs holding internals summaries."""
        return sorted(self.tags())

    def steps(self, run, tag):
        """Ascending steps logged for `run`/`tag` (KeyError if unknown)."""
        try:
            return data_access.list_steps(self._provider, self._ctx, "", run, tag)[0]
        except data_access.NotFound as e:
            raise KeyError(str(e))

    def read(self, run, tag, step=None):
        """The array logged for `run`/`tag` at `step` (latest if None).

        Raises:
          KeyError: unknown run, tag or step.
          encoding.DecodeError: the stored payload is corrupt.
        """
        try:
            payload = data_access.read_payload(self._provider, self._ctx, "", run, tag, step)
        except data_access.NotFound as e:
            raise KeyError(str(e))
        return encoding.decode(payload)

    def read_all(self, run, tag):
        """`{step: array}` for every logged step of `run`/`tag`."""
        return {step: self.read(run, tag, step) for step in self.steps(run, tag)}
