"""Projections of embedding tags for the backend, computed once and cached.

`ProjectionCache.step(...)` answers `/embedding`: one step's aligned 2-D
points, labels and scores. Each step is rotated onto the step before it
(`embedding.projection_series`), so a step's points depend on the steps
before it: the cache computes a tag's steps in order, once, and extends the
chain when new steps arrive (a changed earlier step starts it again).
"""

import json
import threading


from tb_plugin.backend import data_access
from tb_plugin.kinds import embedding
from tb_plugin.format import encoding, metadata
from tb_plugin.format import projector


def available_methods():
    """The projection methods this installation computes (PCA always)."""
    return list(embedding.available_methods())

KINDS = (metadata.KIND_EMBEDDING,)


class ProjectionCache:
    """Per (experiment, run, tag, method): the projected steps so far."""

    def __init__(self, catalog):
        self._catalog = catalog
        self._lock = threading.Lock()
        self._chains = {}  # key -> {"steps": [...], "entries": {step: entry}, "last": points}
        self._key_locks = {}  # key -> lock held while its chain is computed

    def _labels(self, ctx, experiment_id, run, tag, step):
        try:
            _, blob = self._catalog.read_latest_blob(ctx, experiment_id, run, tag, step, embedding.LABELS_BLOB, KINDS)
        except data_access.NoSuchBlob:
            return {"labels": None, "class_names": None, "columns": {}}
        try:
            return json.loads(blob.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise data_access.UnreadablePayload("the labels of %r at step %s are unreadable (%s)" % (tag, step, e))

    def _chain(self, ctx, experiment_id, run, tag, method, until=None):
        steps, _ = self._catalog.steps(ctx, experiment_id, run, tag, KINDS)
        wanted = steps if until is None else [s for s in steps if s <= until]
        key = (experiment_id, run, tag, method)
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        # One computation per chain at a time: a second request for the same
        # tag and method (t-SNE takes seconds per step) waits and reuses it.
        with key_lock:
            return self._extend(ctx, experiment_id, run, tag, method, key, wanted)

    def _extend(self, ctx, experiment_id, run, tag, method, key, wanted):
        with self._lock:
            chain = self._chains.get(key)
        if chain is None or chain["steps"] != wanted[:len(chain["steps"])]:
            chain = {"steps": [], "entries": {}, "previous": None}
        elif len(wanted) > len(chain["steps"]):
            # Extend a copy: another request may be reading the cached one.
            chain = {"steps": list(chain["steps"]), "entries": dict(chain["entries"]), "previous": chain["previous"]}
        for step in wanted[len(chain["steps"]):]:
            try:
                rows = encoding.decode(self._catalog.read_payload(ctx, experiment_id, run, tag, step, KINDS))
            except encoding.DecodeError as e:
                raise data_access.UnreadablePayload("step %s of %r in run %r is corrupt: %s" % (step, tag, run, e))
            labels = self._labels(ctx, experiment_id, run, tag, step)["labels"]
            if labels is not None and len(labels) != len(rows):
                labels = None
            try:
                entry, chain["previous"] = embedding.project_step(
                    rows.reshape(len(rows), -1), labels, chain["previous"], method)
            except (ValueError, ArithmeticError, MemoryError, RuntimeError) as e:
                # A library's refusal (e.g. too few distinct rows for t-SNE) is this step's, not the server's.
                raise data_access.UnreadablePayload(
                    "the %s projection of step %s of %r in run %r could not be computed: %s: %s"
                    % (embedding.METHOD_NAMES.get(method, method), step, tag, run, type(e).__name__, e))
            chain["entries"][step] = entry
            chain["steps"].append(step)
        with self._lock:
            self._chains[key] = chain
        return chain

    def step(self, ctx, experiment_id, run, tag, step, method="pca"):
        """The `/embedding` document of one step (the latest at or before `step`)."""
        chain = self._chain(ctx, experiment_id, run, tag, method, until=step)
        if not chain["steps"]:
            raise data_access.NotFound("no step up to %s for embedding %r in run %r" % (step, tag, run))
        found = chain["steps"][-1] if step not in chain["entries"] else step
        doc = dict(chain["entries"][found], step=found, method=method, methods=available_methods())
        doc.update(self._labels(ctx, experiment_id, run, tag, found))
        doc["projector"] = projector.handed_off(self._catalog.run_dir(experiment_id, run), tag)
        return doc

    def thumbnails(self, ctx, experiment_id, run, tag, step):
        """The encoded thumbnails payload in force at `step`, or b"" when none were logged."""
        try:
            _, blob = self._catalog.read_latest_blob(
                ctx, experiment_id, run, tag, step, embedding.THUMBNAILS_BLOB, KINDS)
        except data_access.NoSuchBlob:
            return b""
        return blob

    def scores(self, ctx, experiment_id, run, tag, method="pca"):
        """Per-step scores of a tag: `{"steps", "knn_accuracy", "knn_accuracy_projected",
        "silhouette", "explained_variance"}`."""
        chain = self._chain(ctx, experiment_id, run, tag, method)
        fields = ("knn_accuracy", "knn_accuracy_projected", "silhouette", "explained_variance")
        result = {"steps": list(chain["steps"])}
        for field in fields:
            result[field] = [chain["entries"][s][field] for s in chain["steps"]]
        return result
