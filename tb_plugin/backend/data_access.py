"""Reads internals summaries through a TensorBoard `DataProvider`.

The backend and `tb_plugin.reader` both read through this module, so they
see the same runs, tags, steps and payload bytes on either backend (the Rust
data server or the Python multiplexer), and for both storage layouts:

* ``store`` (this release's writers): each step of a tag is a small TENSOR
  summary of payload *references*; the payloads live in the run's payload
  store (`store.py`) and are read lazily, one record per request, checked.
* ``inline`` (schema-1 logs, and the `tf.summary`-style door): each step is a
  blob sequence holding the payloads themselves.

`Catalog` caches, per tag, its metadata and a *step index* (step -> the
references or blob keys of that step), so serving a step that is in the
index makes no data-provider call at all: the cost of `/data` does not
depend on how many steps a run has. The listing refreshes on every
`list_tags` (the tab lists tags on every reload) and drops the indices of
tags that changed; an index older than `INDEX_TTL_SECONDS` is re-read when
steps are listed, and a step missing from an index re-reads it once.
"""

import collections
import os
import threading
import time

from tensorboard.data import provider

from tb_plugin import kinds as kinds_lib
from tb_plugin.format import encoding, metadata, store

# Ask for every kept step: the loader's sample limit already bounds them.
_ALL_STEPS = 1 << 30
INDEX_TTL_SECONDS = 2.0
# A step missing from an index re-reads it at most this often per tag, and
# an unknown run or tag lists again at most this often per experiment.
_MISS_REFRESH_SECONDS = 1.0


class NotFound(LookupError):
    """An unknown run, tag or step."""


class WrongKind(ValueError):
    """A tag that is not of the kind the caller serves (the message says which)."""


class NoSuchBlob(NotFound):
    """A known step that holds fewer blobs than asked for."""


class UnreadablePayload(ValueError):
    """A step whose payload is corrupt, missing or refused (`store.StoreError`)."""


def list_tags(data_provider, ctx, experiment_id):
    """Returns `{run: {tag: info}}` for every internals tag, without payloads.

    `info` holds the metadata fields (`kind`, `shape`, `dtype`, `encoding`,
    `version`, `storage`), `description`, `max_step` and `max_wall_time`; a
    tag whose metadata this release cannot read has `error` (a message for
    the user) instead.
    """
    result = {}
    for lister in (data_provider.list_blob_sequences, data_provider.list_tensors):
        listing = lister(ctx, experiment_id=experiment_id, plugin_name=metadata.PLUGIN_NAME)
        _add_listing(listing, result)
    return result


def _add_listing(listing, result):
    for run, tags in listing.items():
        for tag, series in tags.items():
            info = {
                "description": series.description,
                "max_step": series.max_step,
                "max_wall_time": series.max_wall_time,
            }
            try:
                info.update(metadata.parse_plugin_metadata(series.plugin_content))
            except metadata.UnsupportedMetadataError as e:
                info["error"] = str(e)
            result.setdefault(run, {})[tag] = info


def read_stats(data_provider, ctx, experiment_id, run, tag=None, listing=None):
    """Returns `{tag: [TensorDatum...]}` of a run's activation statistics.

    `tag=None` reads every statistics series of the run (each is small);
    `listing` (from `list_tags`) spares listing the run again.

    Raises:
      NotFound: unknown run, or unknown tag.
      WrongKind: `tag` is not a statistics tag.
    """
    if listing is None:
        listing = list_tags(data_provider, ctx, experiment_id)
    run_tags = listing.get(run) or {}
    if tag is None:
        wanted = sorted(t for t, info in run_tags.items() if info.get("kind") == metadata.KIND_ACTIVATION_STATS)
    else:
        if tag not in run_tags:
            raise NotFound("no activation statistics %r in run %r" % (tag, run))
        _check_kind(run, tag, run_tags[tag], (metadata.KIND_ACTIVATION_STATS,))
        wanted = [tag]
    if not wanted:
        raise NotFound("no activation statistics in run %r" % (run,))
    found = data_provider.read_tensors(
        ctx,
        experiment_id=experiment_id,
        plugin_name=metadata.PLUGIN_NAME,
        downsample=_ALL_STEPS,
        run_tag_filter=provider.RunTagFilter(runs=[run], tags=wanted),
    )
    series = found.get(run) or {}
    return {t: sorted(datums, key=lambda d: d.step) for t, datums in series.items() if t in wanted}


def _check_kind(run, tag, info, kinds):
    if "error" in info:
        raise WrongKind("tag %r in run %r cannot be read: %s" % (tag, run, info["error"]))
    if info.get("kind") not in kinds:
        raise WrongKind(
            "tag %r in run %r holds %s, not %s"
            % (tag, run, info.get("kind"), " or ".join(kinds))
        )


_Index = collections.namedtuple("_Index", "stamp read_at steps wall_times values")


class Catalog:
    """Cached access to one TensorBoard's internals tags, steps and payloads.

    Args:
      data_provider: TensorBoard's `DataProvider`.
      run_dir: `(experiment_id, run) -> run directory`, where the run's
        payload store lives (see `run_dir_resolver`).
      store_reader: a `store.StoreReader` (a new one by default).
    """

    def __init__(self, data_provider, run_dir, store_reader=None):
        self._provider = data_provider
        self._run_dir = run_dir
        self._store = store_reader or store.StoreReader()
        self._lock = threading.Lock()
        self._listings = {}  # experiment -> {run: {tag: info}}
        self._listed_at = {}  # experiment -> when it was listed (monotonic)
        self._indices = {}  # (experiment, run, tag) -> _Index
        self._missed = {}  # (experiment, run, tag) -> time of the last refresh on a miss

    def run_dir(self, experiment_id, run):
        """The run's directory (where its payload store and other files live), or None."""
        return self._run_dir(experiment_id, run)

    # ---- listing ----

    def list_tags(self, ctx, experiment_id):
        """As the module's `list_tags`; also refreshes the cached listing."""
        listed_at = time.monotonic()
        listing = list_tags(self._provider, ctx, experiment_id)
        with self._lock:
            self._listings[experiment_id] = listing
            self._listed_at[experiment_id] = listed_at
            for key in [k for k in self._indices if k[0] == experiment_id]:
                info = listing.get(key[1], {}).get(key[2])
                if info is None or _stamp(info) != self._indices[key].stamp:
                    del self._indices[key]
        return listing

    def tag_info(self, ctx, experiment_id, run, tag, kinds=None):
        """The listing's info of one tag (listing again when it is unknown).

        Raises:
          NotFound: unknown run or tag.
          WrongKind: the tag is not one of `kinds` (when given), or this
            release cannot read it.
        """
        with self._lock:
            listing = self._listings.get(experiment_id)
        info = (listing or {}).get(run, {}).get(tag)
        if info is None:
            info = self._relisted(ctx, experiment_id).get(run, {}).get(tag)
        if info is None:
            raise NotFound("no internals tag %r in run %r" % (tag, run))
        if kinds is not None:
            _check_kind(run, tag, info, kinds)
        return info

    def _relisted(self, ctx, experiment_id):
        """The listing, listed again unless that was done within the last
        `_MISS_REFRESH_SECONDS` (a flood of unknown names costs one listing
        a second, not one each)."""
        now = time.monotonic()
        with self._lock:
            listing = self._listings.get(experiment_id)
            fresh = listing is not None and now - self._listed_at.get(experiment_id, -1e9) < _MISS_REFRESH_SECONDS
        return listing if fresh else self.list_tags(ctx, experiment_id)

    def read_stats(self, ctx, experiment_id, run, tag=None):
        """As the module's `read_stats`, over the cached listing."""
        with self._lock:
            listing = self._listings.get(experiment_id)
        if listing is None or run not in listing or (tag is not None and tag not in listing[run]):
            listing = self._relisted(ctx, experiment_id)
        return read_stats(self._provider, ctx, experiment_id, run, tag, listing)

    def read_series(self, ctx, experiment_id, run, tag):
        """The `TensorDatum`s of a tag whose steps are small vectors in the
        event file (a kind outside `metadata.PAYLOAD_KINDS`)."""
        found = self._provider.read_tensors(
            ctx,
            experiment_id=experiment_id,
            plugin_name=metadata.PLUGIN_NAME,
            downsample=_ALL_STEPS,
            run_tag_filter=provider.RunTagFilter(runs=[run], tags=[tag]),
        )
        return found.get(run, {}).get(tag, [])

    # ---- steps ----

    def _index(self, ctx, experiment_id, run, tag, info, max_age=None):
        key = (experiment_id, run, tag)
        with self._lock:
            index = self._indices.get(key)
        if index is not None and (max_age is None or time.monotonic() - index.read_at <= max_age):
            return index
        index = self._read_index(ctx, experiment_id, run, tag, info)
        with self._lock:
            self._indices[key] = index
        return index

    def _read_index(self, ctx, experiment_id, run, tag, info):
        read_at = time.monotonic()
        kwargs = dict(
            experiment_id=experiment_id,
            plugin_name=metadata.PLUGIN_NAME,
            downsample=_ALL_STEPS,
            run_tag_filter=provider.RunTagFilter(runs=[run], tags=[tag]),
        )
        if info.get("storage") == metadata.STORAGE_STORE:
            datums = self._provider.read_tensors(ctx, **kwargs).get(run, {}).get(tag, [])
            writes = [(d.step, d.wall_time, _references(d.numpy)) for d in datums]
        else:
            datums = self._provider.read_blob_sequences(ctx, **kwargs).get(run, {}).get(tag, [])
            writes = [(d.step, d.wall_time, tuple(v.blob_key for v in d.values)) for d in datums]
        kept = []
        for write in writes:
            # A step logged again (a restarted run) replaces the earlier write
            # and drops the steps logged after it, as TensorBoard's data server does.
            while kept and kept[-1][0] >= write[0]:
                kept.pop()
            kept.append(write)
        return _Index(
            _stamp(info), read_at, [k[0] for k in kept], [k[1] for k in kept], {k[0]: k[2] for k in kept}
        )

    def steps(self, ctx, experiment_id, run, tag, kinds=metadata.STEPPED_KINDS):
        """Returns `(steps, wall_times)` of one tag, ascending by step.

        Raises:
          NotFound: unknown run or tag.
          WrongKind: the tag is not one of `kinds`.
        """
        info = self.tag_info(ctx, experiment_id, run, tag, kinds)
        if info.get("kind") not in metadata.PAYLOAD_KINDS:
            # Small per-step vectors (statistics, ...) in the event file itself.
            datums = sorted(self.read_series(ctx, experiment_id, run, tag), key=lambda d: d.step)
            return [d.step for d in datums], [d.wall_time for d in datums]
        index = self._index(ctx, experiment_id, run, tag, info, max_age=INDEX_TTL_SECONDS)
        return list(index.steps), list(index.wall_times)

    # ---- payloads ----

    def _step_values(self, ctx, experiment_id, run, tag, step, kinds):
        info = self.tag_info(ctx, experiment_id, run, tag, kinds)
        index = self._index(ctx, experiment_id, run, tag, info)
        if step is None and index.steps:
            step = index.steps[-1]
        if step not in index.values:
            key = (experiment_id, run, tag)
            now = time.monotonic()
            with self._lock:
                recent = now - self._missed.get(key, -1e9) < _MISS_REFRESH_SECONDS
                if not recent:
                    self._missed[key] = now
            if not recent:  # Perhaps logged since the index was read.
                index = self._index(ctx, experiment_id, run, tag, info, max_age=0)
            if step is None and index.steps:
                step = index.steps[-1]
            if step not in index.values:
                raise NotFound("no step %s for tag %r in run %r" % (step, tag, run))
        return info, step, index.values[step]

    def read_blob(self, ctx, experiment_id, run, tag, step, index=0, kinds=metadata.PAYLOAD_KINDS):
        """Returns blob `index` of a step (0: the payload; the others as the
        kind's line in `tb_plugin.kinds.KINDS` names them, e.g. for attention
        1: per-step token labels, 2: the input image). `step=None`: the latest.
        A blob the kind declares an encoded payload is checked before it is
        returned.

        Raises:
          NotFound: unknown run, tag or step, or a step with no payload.
          NoSuchBlob: the step holds fewer blobs, or an empty one there.
          WrongKind: the tag is not one of `kinds`.
          UnreadablePayload: the payload is corrupt, missing or refused.
        """
        info, step, values = self._step_values(ctx, experiment_id, run, tag, step, kinds)
        if index >= len(values) or not values[index]:
            if index == 0:
                raise NotFound("no payload at step %s for tag %r in run %r" % (step, tag, run))
            raise NoSuchBlob("step %s of tag %r in run %r has no blob %d" % (step, tag, run, index))
        if info.get("storage") != metadata.STORAGE_STORE:
            blob = self._provider.read_blob(ctx, blob_key=values[index])
            kind = kinds_lib.get(info.get("kind"))
            if kind is not None and kind.is_payload(index):
                # TensorBoard's Rust data server serves records whose checksum
                # fails; the payload's own checksum catches them.
                try:
                    encoding.verify(blob)
                except encoding.DecodeError as e:
                    raise UnreadablePayload(
                        "step %s of %r in run %r is corrupt and not shown (%s); the other steps are unaffected"
                        % (step, tag, run, e)
                    )
            return blob
        try:
            reference = store.parse_reference(values[index])
            return self._store.read(self._run_dir(experiment_id, run), reference)
        except store.CorruptPayload as e:
            raise UnreadablePayload(
                "step %s of %r in run %r is corrupt and not shown: %s; the other steps are unaffected" % (step, tag, run, e)
            )
        except store.StoreError as e:
            raise UnreadablePayload("step %s of %r in run %r cannot be shown: %s" % (step, tag, run, e))

    def read_latest_blob(self, ctx, experiment_id, run, tag, step, index, kinds=metadata.PAYLOAD_KINDS):
        """`(step found, bytes)` of blob `index` at the latest step at or
        before `step` that holds one (per-step extras such as labels are
        stored only at steps where they change).

        Raises:
          NotFound / NoSuchBlob: no step up to `step` holds that blob.
          WrongKind, UnreadablePayload: as `read_blob`.
        """
        info = self.tag_info(ctx, experiment_id, run, tag, kinds)
        index_ = self._index(ctx, experiment_id, run, tag, info)
        for candidate in reversed([s for s in index_.steps if s <= step]):
            values = index_.values[candidate]
            if index < len(values) and values[index]:
                return candidate, self.read_blob(ctx, experiment_id, run, tag, candidate, index, kinds)
        raise NoSuchBlob("no step up to %s of tag %r in run %r has blob %d" % (step, tag, run, index))

    def read_payload(self, ctx, experiment_id, run, tag, step, kinds=metadata.PAYLOAD_KINDS):
        """The encoded payload (blob 0) of a step, as `read_blob`."""
        return self.read_blob(ctx, experiment_id, run, tag, step, 0, kinds)

    def read_all_payloads(self, ctx, experiment_id, run, tag, kinds=metadata.ARRAY_KINDS):
        """Returns `[(step, payload bytes)]` of every kept step, ascending.

        Raises:
          NotFound: unknown run or tag.
          WrongKind: the tag is not one of `kinds`.
          UnreadablePayload: a step's payload is corrupt, missing or refused.
        """
        steps, _ = self.steps(ctx, experiment_id, run, tag, kinds)
        result = []
        for step in steps:
            try:
                result.append((step, self.read_payload(ctx, experiment_id, run, tag, step, kinds)))
            except NoSuchBlob:
                continue
            except NotFound:
                continue  # an empty step
        return result


def _references(array):
    """The reference bytes of one step's string tensor (empty bytes: no blob)."""
    if array is None:
        return ()
    return tuple(v if isinstance(v, bytes) else bytes(v) for v in array.reshape(-1))


def _stamp(info):
    return (info.get("max_step"), info.get("max_wall_time"))


def run_dir_resolver(logdir, multiplexer=None):
    """`(experiment_id, run) -> run directory` for a TensorBoard.

    With the Python multiplexer (`--load_fast=false`, and `--logdir_spec`,
    which the Rust data server does not support) the multiplexer knows each
    run's directory; otherwise a run is a path relative to `--logdir` ("."
    being the logdir itself), which is how the data server names runs.
    """

    def resolve(experiment_id, run):
        if multiplexer is not None:
            path = multiplexer.RunPaths().get(run)
            if path is not None:
                return path
        if not logdir:
            raise store.MissingPayload("TensorBoard has no --logdir to find run %r's payload store in" % run)
        if "://" in logdir:
            return logdir.rstrip("/") + ("" if run == "." else "/" + run)
        return os.path.normpath(os.path.join(logdir, run))

    return resolve
