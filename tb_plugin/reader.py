"""Loads logged internals back as numpy arrays, for notebooks and tests.

    from tb_plugin.reader import Reader
    reader = Reader("logs")
    reader.tags()                      # {run: {tag: info}}
    reader.steps("run1", "conv1")      # [0, 1, 2, ...]
    x = reader.read("run1", "conv1", step=2)   # float32 ndarray

The reader loads event files with TensorBoard's own multiplexer (keeping
every step) and decodes with the same decoder as the backend. A step logged
again (a restarted run) reads as TensorBoard's default data server shows it:
the latest write wins and the steps logged after the first write are dropped.
"""

import json

from tensorboard.backend.event_processing import data_provider as mux_data_provider
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard import context as tb_context
from tensorboard.compat.proto import summary_pb2
from tensorboard.util import tensor_util

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
        tags = data_access.list_tags(self._provider, self._ctx, "")
        for run, run_tags in tags.items():
            for tag, info in run_tags.items():
                try:
                    events = self._latest_writes(run, tag)
                except KeyError:  # not an activations tag (e.g. statistics)
                    continue
                info["max_step"] = events[-1].step
                info["max_wall_time"] = max(e.wall_time for e in events)
        return tags

    def _latest_writes(self, run, tag):
        """The tag's events, a step written again replacing its earlier write.

        TensorBoard's Python multiplexer keeps every write and serves the
        first; its Rust data server (the default) keeps the latest and drops
        the steps logged after the earlier write. This follows the latter.
        """
        try:
            events = self._multiplexer.Tensors(run, tag)
        except KeyError:
            events = []
        md = self._multiplexer.SummaryMetadata(run, tag) if events else None
        if md is None or md.plugin_data.plugin_name != metadata.PLUGIN_NAME or (
            md.data_class != summary_pb2.DATA_CLASS_BLOB_SEQUENCE
        ):
            raise KeyError("no internals tag %r in run %r" % (tag, run))
        kept = []
        for event in events:
            while kept and kept[-1].step >= event.step:
                kept.pop()
            kept.append(event)
        return kept

    def runs(self):
        """Sorted names of the runs holding internals summaries."""
        return sorted(self.tags())

    def steps(self, run, tag):
        """Ascending steps logged for `run`/`tag` (KeyError if unknown)."""
        return [event.step for event in self._latest_writes(run, tag)]

    def read(self, run, tag, step=None):
        """The array logged for `run`/`tag` at `step` (latest if None); for a
        `model_summary` tag, the logged document (a dict).

        Raises:
          KeyError: unknown run, tag or step.
          encoding.DecodeError: the stored payload is corrupt.
        """
        events = self._latest_writes(run, tag)
        matches = events[-1:] if step is None else [e for e in events if e.step == step]
        if not matches:
            raise KeyError("no step %s for tag %r in run %r" % (step, tag, run))
        return self._decode(matches[0], run, tag)

    def read_all(self, run, tag):
        """`{step: value}` for every logged step of `run`/`tag` (as `read`)."""
        return {e.step: self._decode(e, run, tag) for e in self._latest_writes(run, tag)}

    def _decode(self, event, run, tag):
        blobs = tensor_util.make_ndarray(event.tensor_proto).reshape(-1)
        if not blobs.size:
            raise KeyError("no payload at step %d for tag %r in run %r" % (event.step, tag, run))
        content = self._multiplexer.SummaryMetadata(run, tag).plugin_data.content
        if metadata.parse_plugin_metadata(content)["kind"] == metadata.KIND_MODEL_SUMMARY:
            return json.loads(bytes(blobs[0]).decode("utf-8"))
        return encoding.decode(blobs[0])
