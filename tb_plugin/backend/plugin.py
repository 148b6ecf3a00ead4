"""The Internals tab's backend: routes over `context.data_provider`.

Tags, steps and payload references come through TensorBoard's data provider
(both backends); payloads are read lazily from each run's payload store
(`store.py`, `data_access.Catalog`), one checked record per request.

Routes, under `/data/plugin/internals`:

* `GET /tags`: `{run: {tag: info}}` (see `data_access.list_tags`); no payloads.
* `GET /steps?run=R&tag=T`: `{"steps": [...], "wall_times": [...]}`.
* `GET /data?run=R&tag=T&step=S`: one step's payload as
  `application/octet-stream`, in the format of `tb_plugin.format.encoding`, which
  the frontend decodes (`frontend/decode.js`).
* `GET /stats?run=R[&tag=T]`: activation statistics series of a run (all
  its statistics tags, or one), as `stats.series_json` lays them out.
* `GET /attention_blob?run=R&tag=T&step=S&index=I`: blob I of an
  attention step (1: per-step token labels, JSON; 2: input image payload); empty
  when the step has no such blob.
* `GET /attention_summary?run=R&tag=T`: per-head attention entropy per
  step (`tb_plugin.kinds.attention.entropy_series`).
* `GET /attribution_blob?run=R&tag=T&step=S&index=I`: blob I of an
  attribution step (`tb_plugin.kinds.attribution`): 1 the side document
  (JSON: methods, classes, probabilities, completeness errors), 2 the
  Grad-CAM maps at the layer's resolution (payload; empty when not logged),
  3 the probe images in force at S (payload: the latest step at or before S
  that stored them; empty when none did).
* `GET /top_samples?run=R&tag=T&step=S[&k=K][&input_tag=A]`: per channel of
  an activations step, the K (default 5) probe samples with the strongest
  response, their scores and positions (`tb_plugin.backend.top_samples.top_k`);
  with `input_tag` (an attribution tag of the run, which holds the probe
  images) also the input patch under each position.
* `GET /embedding?run=R&tag=T&step=S[&method=pca|tsne|umap]`: an embedding tag's
  step (the latest at or before S) projected to 2-D, aligned onto the step
  before, with labels, metadata columns and scores (`tb_plugin.backend.projections`);
  `methods` lists those computed here (t-SNE needs scikit-learn, UMAP
  umap-learn: another method answers 400 naming the extra to install).
* `GET /embedding_scores?run=R&tag=T[&method=pca]`: per-step k-NN accuracy
  (full space and projection), silhouette and explained variance.
* `GET /embedding_thumbnails?run=R&tag=T&step=S`: the samples' thumbnails in
  force at that step (an encoded `[n, h, w, c]` payload), empty when none.
* `GET /ranges?run=R&tag=T[&channels=1]`: per-step value ranges of an array tag
  (activations, weights, attention): `{"steps", "min", "max", "p01", "p99"}`,
  finite values only, null where a step has none (`tb_plugin.backend.series`); with
  `channels=1` also `channel_min`, `channel_max`, `channel_p01`, `channel_p99`
  (per step, one value per channel of the last axis).
* `GET /weight_change?run=R&tag=T`: a weights tag's change over steps:
  `{"steps", "relative_change" (||W_t - W_prev|| / ||W_prev||, null first),
  "relative_to_first", "norm"}` (`tb_plugin.backend.series`). Both answer 400 for a
  tag of another kind; computed once per tag and its step list, then cached.
* `GET /class_stats?run=R&tag=T&step=S`: a class statistics step
  (`tb_plugin.kinds.class_stats`) without its per-unit class means and stds:
  confusion, misclassified samples, per-layer similarity, clustering order
  and separability.
* `GET /class_pair?run=R&tag=T&step=S&a=A&b=B`: per layer the class-mean
  profiles of classes A and B, their difference and pairwise separability,
  and the samples of A predicted as B (`class_stats.pair`).
* `GET /class_samples?run=R&tag=T&step=S`: the thumbnails of the
  evaluation samples in force at step S (an encoded payload; empty when
  none were logged).
* `GET /weight_stats?run=R&tag=T`: a variable's exact change series as the
  callback logged it per snapshot (kind weight_stats: relative change to the
  previous snapshot, update-to-weight ratio, norm, ...; `tb_plugin.kinds.weights`
  `weight_stats_json`), 400 for a tag of another kind.
* `GET /static/*`: the frontend's files.

Malformed parameters and a tag of the wrong kind for the route answer 400,
unknown runs, tags or steps 404, and a step whose stored payload is corrupt,
missing or refused 422, each with a JSON message; other steps keep serving. This module never imports TensorFlow: the entry point that
TensorBoard imports at start-up stays light.
"""

import collections
import functools
import os
import threading

from werkzeug import security, wrappers
from tensorboard.backend import http_util
from tensorboard.plugins import base_plugin
from tensorboard import errors, plugin_util

from tb_plugin.backend import data_access
from tb_plugin.format import metadata
from tb_plugin.kinds import activation_stats as stats

# Steps kept per tag when the user gave no `--samples_per_plugin=internals=N`:
# 0 keeps every step. TensorBoard's defaults (10 on the Python path, 100 for
# tensors on the Rust path) are too few to scrub through training. A kept
# step of a store-backed tag costs one reference (about 150 bytes on disk,
# a few hundred in memory); steps of inline (schema-1) logs keep their whole
# payload in memory.
DEFAULT_SAMPLES_PER_TAG = 0

_CONTENT_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".png": "image/png",
}


def frontend_dir():
    """The folder holding the frontend: in the wheel, or in a source checkout."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tb_plugin/
    for candidate in (os.path.join(package, "frontend"), os.path.join(os.path.dirname(package), "frontend")):
        if os.path.isfile(os.path.join(candidate, "index.js")):
            return candidate
    raise FileNotFoundError("tb_plugin's frontend files are missing; reinstall the package")


class _BadRequest(ValueError):
    """A malformed query: answered 400 with the message."""


def _error(request, code, message):
    return http_util.Respond(request, {"error": message}, "application/json", code=code)


def _route(handler):
    """A werkzeug app answering 400 on _BadRequest and 404 on NotFound."""

    @wrappers.Request.application
    @functools.wraps(handler)
    def app(self, request):
        try:
            return handler(self, request)
        except _BadRequest as e:
            return _error(request, 400, str(e))
        except data_access.NotFound as e:
            return _error(request, 404, str(e))
        except data_access.WrongKind as e:
            return _error(request, 400, str(e))
        except data_access.UnreadablePayload as e:
            return _error(request, 422, str(e))
        except errors.PublicError as e:
            # Raised by the data provider (e.g. the Rust data server cannot
            # make a blob key for some run names); keep the JSON shape.
            return _error(request, e.http_code, "TensorBoard's data provider: %s" % e)

    return app


class InternalsPlugin(base_plugin.TBPlugin):
    """Serves the Internals tab."""

    plugin_name = metadata.PLUGIN_NAME

    def __init__(self, context):
        self._data_provider = context.data_provider
        self._catalog = data_access.Catalog(
            context.data_provider,
            data_access.run_dir_resolver(context.logdir, getattr(context, "multiplexer", None)),
        )
        self._frontend_dir = frontend_dir()
        self._projections = None  # tb_plugin.backend.projections.ProjectionCache, made on first use
        self._series = None  # tb_plugin.backend.series.SeriesCache, made on first use (numpy)
        self._class_docs = collections.OrderedDict()  # (experiment, run, tag, step, stamp) -> parsed document
        self._class_lock = threading.Lock()

    def get_plugin_apps(self):
        return {
            "/tags": self._serve_tags,
            "/steps": self._serve_steps,
            "/data": self._serve_data,
            "/stats": self._serve_stats,
            "/attention_blob": self._serve_attention_blob,
            "/attention_summary": self._serve_attention_summary,
            "/attribution_blob": self._serve_attribution_blob,
            "/top_samples": self._serve_top_samples,
            "/embedding": self._serve_embedding,
            "/embedding_scores": self._serve_embedding_scores,
            "/embedding_thumbnails": self._serve_embedding_thumbnails,
            "/ranges": self._serve_ranges,
            "/weight_change": self._serve_weight_change,
            "/class_stats": self._serve_class_stats,
            "/class_pair": self._serve_class_pair,
            "/class_samples": self._serve_class_samples,
            "/weight_stats": self._serve_weight_stats,
            "/static/*": self._serve_static,
        }

    def is_active(self):
        return False  # Superseded by data_plugin_names().

    def data_plugin_names(self):
        return (metadata.PLUGIN_NAME,)

    def frontend_metadata(self):
        return base_plugin.FrontendMetadata(es_module_path="/static/index.js", tab_name="Internals")

    def _request_scope(self, request):
        return plugin_util.context(request.environ), plugin_util.experiment_id(request.environ)

    @_route
    def _serve_tags(self, request):
        ctx, experiment = self._request_scope(request)
        tags = self._catalog.list_tags(ctx, experiment)
        return http_util.Respond(request, tags, "application/json")

    @_route
    def _serve_steps(self, request):
        run, tag = _query_run_tag(request)
        ctx, experiment = self._request_scope(request)
        steps, wall_times = self._catalog.steps(ctx, experiment, run, tag)
        return http_util.Respond(request, {"steps": steps, "wall_times": wall_times}, "application/json")

    @_route
    def _serve_data(self, request):
        run, tag = _query_run_tag(request)
        step = _query_step(request)
        ctx, experiment = self._request_scope(request)
        payload = self._catalog.read_payload(ctx, experiment, run, tag, step)
        return http_util.Respond(request, payload, "application/octet-stream")

    @_route
    def _serve_stats(self, request):
        run = request.args.get("run")
        if not run:
            raise _BadRequest("missing or empty query parameter 'run'")
        ctx, experiment = self._request_scope(request)
        series = self._catalog.read_stats(ctx, experiment, run, request.args.get("tag") or None)
        return http_util.Respond(request, {tag: stats.series_json(datums) for tag, datums in series.items()}, "application/json")

    @_route
    def _serve_attention_blob(self, request):
        """Blob `index` of an attention step: 1 token labels (JSON), 2 image payload."""
        run, tag = _query_run_tag(request)
        step = _query_step(request)
        raw = request.args.get("index", "")
        if raw not in ("1", "2"):
            raise _BadRequest("index must be 1 (token labels) or 2 (input image), got %r" % raw[:20])
        ctx, experiment = self._request_scope(request)
        try:
            blob = self._catalog.read_blob(
                ctx, experiment, run, tag, step, int(raw), kinds=(metadata.KIND_ATTENTION,)
            )
        except data_access.NoSuchBlob:
            blob = b""  # Not logged at this step (labels unchanged, no image): empty, not an error.
        return http_util.Respond(request, blob, "application/json" if raw == "1" else "application/octet-stream")

    @_route
    def _serve_attribution_blob(self, request):
        """Blob `index` of an attribution step: 1 side document, 2 Grad-CAM raw, 3 probe images in force."""
        run, tag = _query_run_tag(request)
        step = _query_step(request)
        raw = request.args.get("index", "")
        if raw not in ("1", "2", "3"):
            raise _BadRequest("index must be 1 (side document), 2 (Grad-CAM at its layer's resolution) or 3 "
                              "(probe images), got %r" % raw[:20])
        index = int(raw)
        kinds = (metadata.KIND_ATTRIBUTION,)
        ctx, experiment = self._request_scope(request)
        try:
            if index == 3:
                _, blob = self._catalog.read_latest_blob(ctx, experiment, run, tag, step, index, kinds=kinds)
            else:
                blob = self._catalog.read_blob(ctx, experiment, run, tag, step, index, kinds=kinds)
        except data_access.NoSuchBlob:
            blob = b""  # Not logged (no Grad-CAM, no images): empty, not an error.
        return http_util.Respond(request, blob, "application/json" if index == 1 else "application/octet-stream")

    @_route
    def _serve_top_samples(self, request):
        """Top-k probe samples per channel of an activations step (numpy, no model pass)."""
        from tb_plugin.format import encoding  # numpy only
        from tb_plugin.backend import top_samples as feature_vis

        run, tag = _query_run_tag(request)
        step = _query_step(request)
        raw_k = request.args.get("k", "5")
        try:
            k = int(raw_k)
        except ValueError:
            raise _BadRequest("k must be an integer from 1 to %d, got %r" % (feature_vis.MAX_K, raw_k[:20]))
        if not 1 <= k <= feature_vis.MAX_K:
            raise _BadRequest("k must be an integer from 1 to %d, got %d" % (feature_vis.MAX_K, k))
        ctx, experiment = self._request_scope(request)
        payload = self._catalog.read_payload(ctx, experiment, run, tag, step, kinds=(metadata.KIND_ACTIVATIONS,))
        try:
            values = encoding.decode(payload)
        except encoding.DecodeError as e:
            raise data_access.UnreadablePayload("step %s of %r in run %r cannot be decoded: %s" % (step, tag, run, e))
        input_size = None
        input_tag = request.args.get("input_tag")
        if input_tag:
            info = self._catalog.tag_info(ctx, experiment, run, input_tag, (metadata.KIND_ATTRIBUTION,))
            if info.get("layout") == "tokens":
                raise _BadRequest("input_tag %r holds token attributions (a text model), not probe images; "
                                  "pass an attribution tag of an image model or no input_tag" % input_tag)
            input_size = info.get("shape", [0, 0, 0, 0])[2:4]
        if values.ndim < 2:
            raise _BadRequest("tag %r holds shape %s, not [samples, ..., channels]" % (tag, list(values.shape)))
        answer = feature_vis.top_k(values, k, input_size)
        answer.update(step=step, input_tag=input_tag or None)
        return http_util.Respond(request, answer, "application/json")

    @_route
    def _serve_attention_summary(self, request):
        """Mean attention entropy per head and step of one attention tag."""
        from tb_plugin.kinds import attention  # numpy only
        from tb_plugin.format import encoding

        run, tag = _query_run_tag(request)
        ctx, experiment = self._request_scope(request)
        steps, _ = self._catalog.steps(ctx, experiment, run, tag, kinds=(metadata.KIND_ATTENTION,))
        decoded, unreadable = [], []
        for step in steps:
            try:
                decoded.append((step, encoding.decode(self._catalog.read_payload(ctx, experiment, run, tag, step))))
            except (data_access.UnreadablePayload, encoding.DecodeError):
                unreadable.append(step)  # Reported; the other steps still chart.
            except data_access.NotFound:
                continue
        try:
            series = attention.entropy_series(decoded)
        except ValueError as e:
            raise _BadRequest("tag %r does not hold attention scores: %s" % (tag, e))
        series["unreadable_steps"] = unreadable
        return http_util.Respond(request, series, "application/json")

    def _projection_cache(self):
        if self._projections is None:
            from tb_plugin.backend import projections  # numpy only; not at TensorBoard's start-up

            self._projections = projections.ProjectionCache(self._catalog)
        return self._projections

    @_route
    def _serve_embedding(self, request):
        """One step of an embedding tag, projected and aligned."""
        run, tag = _query_run_tag(request)
        step = _query_step(request)
        ctx, experiment = self._request_scope(request)
        answer = self._projection_cache().step(ctx, experiment, run, tag, step, _query_method(request))
        return http_util.Respond(request, answer, "application/json")

    @_route
    def _serve_embedding_scores(self, request):
        """Per-step separability scores of an embedding tag."""
        run, tag = _query_run_tag(request)
        ctx, experiment = self._request_scope(request)
        answer = self._projection_cache().scores(ctx, experiment, run, tag, _query_method(request))
        return http_util.Respond(request, answer, "application/json")

    @_route
    def _serve_embedding_thumbnails(self, request):
        """The thumbnails payload in force at a step of an embedding tag (empty when none)."""
        run, tag = _query_run_tag(request)
        step = _query_step(request)
        ctx, experiment = self._request_scope(request)
        blob = self._projection_cache().thumbnails(ctx, experiment, run, tag, step)
        return http_util.Respond(request, blob, "application/octet-stream")

    def _series_cache(self):
        if self._series is None:
            from tb_plugin.backend import series  # numpy only; not at TensorBoard's start-up

            self._series = series.SeriesCache(self._catalog)
        return self._series

    @_route
    def _serve_ranges(self, request):
        """Per-step finite min, max, p01, p99 of an array tag (colour scales); per channel with `channels=1`."""
        run, tag = _query_run_tag(request)
        channels = request.args.get("channels", "0")
        if channels not in ("0", "1"):
            raise _BadRequest("channels must be 0 or 1, got %r" % channels[:20])
        ctx, experiment = self._request_scope(request)
        answer = self._series_cache().ranges(ctx, experiment, run, tag)
        if channels == "0":  # the per-channel lists are the large part: only for a per-channel colour scale
            answer = {k: v for k, v in answer.items() if not k.startswith("channel_")}
        return http_util.Respond(request, answer, "application/json")

    @_route
    def _serve_weight_change(self, request):
        """Relative change per step of a weights tag."""
        run, tag = _query_run_tag(request)
        ctx, experiment = self._request_scope(request)
        answer = self._series_cache().weight_change(ctx, experiment, run, tag)
        return http_util.Respond(request, answer, "application/json")

    def _class_doc(self, request):
        """The parsed class statistics document of the query's step (a few cached)."""
        from tb_plugin.kinds import class_stats  # numpy only; not at TensorBoard's start-up

        run, tag = _query_run_tag(request)
        step = _query_step(request)
        ctx, experiment = self._request_scope(request)
        kinds = (metadata.KIND_CLASS_STATS,)
        info = self._catalog.tag_info(ctx, experiment, run, tag, kinds)
        key = (experiment, run, tag, step, info.get("max_step"), info.get("max_wall_time"))
        with self._class_lock:
            doc = self._class_docs.get(key)
            if doc is not None:
                self._class_docs.move_to_end(key)
                return doc
        payload = self._catalog.read_payload(ctx, experiment, run, tag, step, kinds)
        try:
            doc = class_stats.parse(payload)
        except (ValueError, UnicodeDecodeError) as e:
            raise data_access.UnreadablePayload(
                "step %s of %r in run %r is not a readable class statistics document (%s)" % (step, tag, run, e))
        with self._class_lock:
            self._class_docs[key] = doc
            while len(self._class_docs) > 8:
                self._class_docs.popitem(last=False)
        return doc

    @_route
    def _serve_class_stats(self, request):
        """A class statistics step without its per-unit means and stds."""
        from tb_plugin.kinds import class_stats

        doc = self._class_doc(request)
        try:
            answer = class_stats.overview(doc)
        except (AttributeError, KeyError, TypeError, ValueError) as e:
            raise data_access.UnreadablePayload("the class statistics document is malformed (%s)" % e)
        return http_util.Respond(request, answer, "application/json")

    @_route
    def _serve_class_pair(self, request):
        """Classes a and b of a class statistics step, layer by layer."""
        from tb_plugin.kinds import class_stats

        a, b = _query_int(request, "a"), _query_int(request, "b")
        doc = self._class_doc(request)
        try:
            answer = class_stats.pair(doc, a, b)
        except IndexError as e:
            raise _BadRequest(str(e))
        except (AttributeError, KeyError, TypeError, ValueError) as e:
            raise data_access.UnreadablePayload("the class statistics document is malformed (%s)" % e)
        return http_util.Respond(request, answer, "application/json")

    @_route
    def _serve_class_samples(self, request):
        """The evaluation samples' thumbnails in force at a step (empty: none)."""
        from tb_plugin.kinds import class_stats

        run, tag = _query_run_tag(request)
        step = _query_step(request)
        ctx, experiment = self._request_scope(request)
        kinds = (metadata.KIND_CLASS_STATS,)
        self._catalog.tag_info(ctx, experiment, run, tag, kinds)
        try:
            _, blob = self._catalog.read_latest_blob(ctx, experiment, run, tag, step, class_stats.THUMBNAILS_BLOB, kinds)
        except data_access.NoSuchBlob:
            blob = b""
        return http_util.Respond(request, blob, "application/octet-stream")

    @_route
    def _serve_weight_stats(self, request):
        """The exact change series of one variable (kind weight_stats, one small vector per snapshot)."""
        from tb_plugin.kinds import weights  # numpy only

        run, tag = _query_run_tag(request)
        ctx, experiment = self._request_scope(request)
        self._catalog.tag_info(ctx, experiment, run, tag, kinds=(metadata.KIND_WEIGHT_STATS,))
        answer = weights.weight_stats_json(self._catalog.read_series(ctx, experiment, run, tag))
        return http_util.Respond(request, answer, "application/json")

    @_route
    def _serve_static(self, request):
        prefix = "/data/plugin/%s/static/" % metadata.PLUGIN_NAME
        relative = request.path.split(prefix, 1)[-1] if prefix in request.path else ""
        # safe_join refuses "..", absolute paths and Windows separators.
        path = security.safe_join(self._frontend_dir, relative) if relative else None
        content_type = _CONTENT_TYPES.get(os.path.splitext(relative)[1].lower())
        if path is None or content_type is None or not os.path.isfile(path):
            raise data_access.NotFound("no such frontend file: %s" % relative)
        with open(path, "rb") as f:
            content = f.read()
        return http_util.Respond(request, content, content_type)


def _query_run_tag(request):
    run, tag = request.args.get("run"), request.args.get("tag")
    if not run or not tag:
        # No run or tag is ever named "" (the logdir's own run is ".").
        raise _BadRequest("missing or empty query parameter %r" % ("tag" if run else "run"))
    return run, tag


def _query_method(request):
    from tb_plugin.kinds import embedding  # numpy only

    method = request.args.get("method", "pca")
    message = embedding.missing_method_message(method)
    if message:
        raise _BadRequest(message[:300])
    return method


def _query_int(request, name):
    raw = request.args.get(name)
    if raw is None:
        raise _BadRequest("missing query parameter %r" % name)
    try:
        value = int(raw)
    except ValueError:
        raise _BadRequest("%s must be an integer (a class index), got %r" % (name, raw[:100]))
    if abs(value) >= 1 << 31:
        raise _BadRequest("%s=%s is out of range" % (name, raw[:100]))
    return value


def _query_step(request):
    raw_step = request.args.get("step")
    if raw_step is None:
        raise _BadRequest("missing query parameter 'step'")
    try:
        step = int(raw_step)
    except ValueError:
        raise _BadRequest("step must be an integer, got %r" % raw_step[:100])
    if abs(step) >= 1 << 63:
        raise _BadRequest("step %s is out of the int64 range" % raw_step[:100])
    return step


class InternalsLoader(base_plugin.TBLoader):
    """Registers the plugin, keeping enough steps per tag to scrub through."""

    def fix_flags(self, flags):
        samples = getattr(flags, "samples_per_plugin", None)
        if isinstance(samples, dict) and metadata.PLUGIN_NAME not in samples:
            samples[metadata.PLUGIN_NAME] = DEFAULT_SAMPLES_PER_TAG

    def load(self, context):
        return InternalsPlugin(context)
