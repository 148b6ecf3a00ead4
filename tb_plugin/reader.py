"""Loads logged internals back as numpy arrays, for notebooks and tests.

    from tb_plugin.reader import Reader
    reader = Reader("logs")
    reader.tags()                      # {run: {tag: info}}
    reader.steps("run1", "conv1")      # [0, 1, 2, ...]
    x = reader.read("run1", "conv1", step=2)   # float32 ndarray

The reader loads event files (the small references to each step's payload)
with TensorBoard's own multiplexer, keeping every step, and reads a step's
payload from the run's payload store only when asked, through the same code
and decoder as the backend (`data_access.Catalog`); logs of either storage
layout (`metadata.py`) read alike. A step logged
again (a restarted run) reads as TensorBoard's default data server shows it:
the latest write wins and the steps logged after the first write are dropped.
"""

import json

from tensorboard.backend.event_processing import data_provider as mux_data_provider
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard import context as tb_context

from tb_plugin import kinds
from tb_plugin.backend import data_access
from tb_plugin.format import encoding, metadata


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
        self._catalog = data_access.Catalog(
            self._provider, data_access.run_dir_resolver(self.logdir, self._multiplexer)
        )

    def tags(self):
        """`{run: {tag: info}}` as the backend's `/tags` route lists them,
        with `max_step` of the steps `steps` gives."""
        tags = self._catalog.list_tags(self._ctx, "")
        for run, run_tags in tags.items():
            for tag, info in run_tags.items():
                if info.get("kind") in metadata.PAYLOAD_KINDS:
                    steps = self._steps(run, tag)
                    if steps:
                        info["max_step"] = steps[-1]
        return tags

    def runs(self):
        """Sorted names of the runs holding internals summaries."""
        return sorted(self.tags())

    def _steps(self, run, tag):
        try:
            return self._catalog.steps(self._ctx, "", run, tag, metadata.PAYLOAD_KINDS)[0]
        except (data_access.NotFound, data_access.WrongKind) as e:
            raise KeyError(str(e))

    def steps(self, run, tag):
        """Ascending steps logged for `run`/`tag` (KeyError if unknown).

        A step logged again (a restarted run) counts once, with its latest
        write, and the steps logged after its earlier write are dropped."""
        return self._steps(run, tag)

    def read(self, run, tag, step=None):
        """The array logged for `run`/`tag` at `step` (latest if None); for a
        document tag (`model_summary`, `logging_plan`, `class_stats`), the
        logged document. Reads that one step's payload only.

        Raises:
          KeyError: unknown run, tag or step.
          encoding.DecodeError: the stored payload is corrupt.
        """
        try:
            info = self._catalog.tag_info(self._ctx, "", run, tag, metadata.PAYLOAD_KINDS)
            payload = self._catalog.read_payload(self._ctx, "", run, tag, step)
        except (data_access.NotFound, data_access.WrongKind) as e:
            raise KeyError(str(e))
        except data_access.UnreadablePayload as e:
            raise encoding.DecodeError(str(e))
        return _decode(kinds.get(info["kind"]), 0, payload)

    def read_blob(self, run, tag, step, blob, in_force=False):
        """Blob `blob` of a step of a payload tag, decoded: an array for an
        encoded payload, else the JSON value; None when the step holds none.

        Args:
          blob: the blob's name as the kind's line in `tb_plugin.kinds.KINDS`
            names it (e.g. "thumbnails"), or its index.
          in_force: for extras stored only at the steps where they change
            (labels, thumbnails, probe images): the latest at or before `step`.

        Raises:
          KeyError: unknown run, tag, step or blob name.
          encoding.DecodeError: the stored blob is corrupt.
        """
        return self._blob(run, tag, step, blob, in_force, metadata.PAYLOAD_KINDS)

    def _blob(self, run, tag, step, blob, in_force, kinds_allowed):
        try:
            info = self._catalog.tag_info(self._ctx, "", run, tag, kinds_allowed)
            kind = kinds.get(info["kind"])
            if isinstance(blob, str):
                if blob not in kind.blobs:
                    raise KeyError("kind %r has no blob %r (it has %s)" % (kind.name, blob, ", ".join(kind.blobs)))
                blob = kind.blob(blob)
            if in_force:
                _, data = self._catalog.read_latest_blob(self._ctx, "", run, tag, step, blob, kinds_allowed)
            else:
                data = self._catalog.read_blob(self._ctx, "", run, tag, step, blob, kinds_allowed)
        except data_access.NoSuchBlob:
            return None
        except (data_access.NotFound, data_access.WrongKind) as e:
            raise KeyError(str(e))
        except data_access.UnreadablePayload as e:
            raise encoding.DecodeError(str(e))
        return _decode(kind, blob, data)

    def embedding_extras(self, run, tag, step):
        """`(labels dict or None, thumbnails array or None)` in force at
        `step` of an embedding tag (see `tb_plugin.kinds.embedding`)."""
        allowed = (metadata.KIND_EMBEDDING,)
        return (self._blob(run, tag, step, "labels", True, allowed),
                self._blob(run, tag, step, "thumbnails", True, allowed))

    def read_all(self, run, tag):
        """`{step: value}` for every logged step of `run`/`tag` (as `read`)."""
        return {step: self.read(run, tag, step) for step in self.steps(run, tag)}


def _decode(kind, index, data):
    """A blob's bytes as the kind's line says: an encoded array, or UTF-8 JSON."""
    if kind.is_payload(index):
        return encoding.decode(data)
    return json.loads(bytes(data).decode("utf-8"))


def read_plan(run_dir):
    """The logging plan logged in `run_dir` (a dict), or None."""
    try:
        return Reader(str(run_dir)).read(".", "logging_plan")
    except KeyError:
        return None
