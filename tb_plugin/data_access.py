"""Reads internals summaries through a TensorBoard `DataProvider`.

The backend and `tb_plugin.reader` both read through this module, so they
see the same runs, tags, steps and payload bytes on either backend (the Rust
data server or the Python multiplexer).
"""

from tensorboard.data import provider

from tb_plugin import metadata

# Ask for every kept step: the loader's sample limit already bounds them.
_ALL_STEPS = 1 << 30


class NotFound(LookupError):
    """An unknown run, tag or step."""


def list_tags(data_provider, ctx, experiment_id):
    """Returns `{run: {tag: info}}` for every internals tag, without payloads.

    `info` holds the metadata fields (`kind`, `shape`, `dtype`, `encoding`,
    `version`), `description` and `max_step`; a tag whose metadata this
    release cannot read has `error` (a message for the user) instead.
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


def _read_references(data_provider, ctx, experiment_id, run, tag):
    found = data_provider.read_blob_sequences(
        ctx,
        experiment_id=experiment_id,
        plugin_name=metadata.PLUGIN_NAME,
        downsample=_ALL_STEPS,
        run_tag_filter=provider.RunTagFilter(runs=[run], tags=[tag]),
    )
    datums = found.get(run, {}).get(tag)
    if datums is None:
        raise NotFound("no internals tag %r in run %r" % (tag, run))
    return datums


def list_steps(data_provider, ctx, experiment_id, run, tag):
    """Returns `(steps, wall_times)` of one tag, ascending by step.

    Raises:
      NotFound: unknown run or tag.
    """
    datums = sorted(_read_references(data_provider, ctx, experiment_id, run, tag), key=lambda d: d.step)
    return [d.step for d in datums], [d.wall_time for d in datums]


def read_payload(data_provider, ctx, experiment_id, run, tag, step):
    """Returns the encoded payload bytes logged for `run`/`tag` at `step`.

    `step=None` reads the latest step.

    Raises:
      NotFound: unknown run, tag or step, or a step with no payload.
    """
    datums = _read_references(data_provider, ctx, experiment_id, run, tag)
    if step is None:
        matches = sorted(datums, key=lambda d: d.step)[-1:]
    else:
        matches = [d for d in datums if d.step == step]
    if not matches or not matches[-1].values:
        raise NotFound("no step %s for tag %r in run %r" % (step, tag, run))
    # A step logged twice (e.g. a restarted run): the Rust data server keeps
    # the latest write (and drops the steps logged after the earlier one);
    # TensorBoard's Python provider (--load_fast=false) serves the first.
    return data_provider.read_blob(ctx, blob_key=matches[-1].values[0].blob_key)


def read_stats(data_provider, ctx, experiment_id, run, tag=None):
    """Returns `{tag: [TensorDatum...]}` of a run's activation statistics.

    `tag=None` reads every statistics series of the run (each is small).

    Raises:
      NotFound: unknown run, or unknown tag.
    """
    found = data_provider.read_tensors(
        ctx,
        experiment_id=experiment_id,
        plugin_name=metadata.PLUGIN_NAME,
        downsample=_ALL_STEPS,
        run_tag_filter=provider.RunTagFilter(runs=[run], tags=None if tag is None else [tag]),
    )
    series = found.get(run)
    if not series:
        raise NotFound("no activation statistics %sin run %r" % ("" if tag is None else "%r " % tag, run))
    return {t: sorted(datums, key=lambda d: d.step) for t, datums in series.items()}


class NoSuchBlob(NotFound):
    """A known step that holds fewer blobs than asked for."""


def read_blob_at(data_provider, ctx, experiment_id, run, tag, step, index):
    """Returns blob `index` of the step (e.g. an attention summary's
    per-step token labels or input image; see `tb_plugin.attention`).

    Raises:
      NotFound: unknown run, tag or step, or the step has no such blob.
    """
    datums = _read_references(data_provider, ctx, experiment_id, run, tag)
    matches = [d for d in datums if d.step == step]
    if not matches:
        raise NotFound("no step %s for tag %r in run %r" % (step, tag, run))
    values = matches[-1].values
    if index >= len(values):
        raise NoSuchBlob("step %s of tag %r in run %r has no blob %d" % (step, tag, run, index))
    return data_provider.read_blob(ctx, blob_key=values[index].blob_key)


def read_all_payloads(data_provider, ctx, experiment_id, run, tag):
    """Returns `[(step, payload bytes)]` of every kept step, ascending.

    Raises:
      NotFound: unknown run or tag.
    """
    datums = sorted(_read_references(data_provider, ctx, experiment_id, run, tag), key=lambda d: d.step)
    return [(d.step, data_provider.read_blob(ctx, blob_key=d.values[0].blob_key)) for d in datums if d.values]
