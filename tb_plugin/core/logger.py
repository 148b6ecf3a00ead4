"""The snapshot pipeline: one `Logger` per run directory, driven by a framework's front door.

The front door (`tb_plugin.keras.InternalsCallback`) decides *when*; the
`Logger` does the rest against the model's adapter (`tb_plugin.core.adapter`):

    begin(adapter, ...)   probe pass, layer selection, the budget plan
                          (`tb_plugin.core.plan`), parts' `begin`, the model
                          summary and the plan documents (once per run dir)
    before_last_batch()   the variables before the last batch ahead of a
                          snapshot (the update-to-weight ratio is then exact)
    snapshot(step)        on the training thread: the probe pass, one read of
                          the variables, the due parts' `compute`; then one
                          job that computes statistics, encodes and writes,
                          on the background thread (`tb_plugin.core.worker`)
    end()                 drains the writer, parts' `end`, closes the files

Tags: `activations/<path>`, `activation_stats/<path>`, `attention/<path>`,
`weight_stats/<path>/<variable>`, `weights/<path>/<variable>`, optional
scalars `internals/<path>/<stat>`, and once per run `model_summary` and
`logging_plan`. A step already in the run directory (an earlier fit or
process) is never logged again. numpy only: no framework import.
"""

import warnings

import numpy as np

from tb_plugin import kinds, summary
from tb_plugin.core import adapter as adapter_lib
from tb_plugin.core import nest, run_scan, selection
from tb_plugin.core import plan as plan_lib
from tb_plugin.core.worker import Failures, Worker
from tb_plugin.format import metadata
from tb_plugin.kinds import activation_stats as stats
from tb_plugin.kinds import attention as attention_lib
from tb_plugin.kinds import weights as weights_lib

# Tags by kind: the registry's (`tb_plugin.kinds`).
ACTIVATIONS_PREFIX = kinds.ACTIVATIONS.tag
STATS_PREFIX = kinds.ACTIVATION_STATS.tag
ATTENTION_PREFIX = kinds.ATTENTION.tag
WEIGHTS_PREFIX = kinds.WEIGHTS.tag
WEIGHT_STATS_PREFIX = kinds.WEIGHT_STATS.tag
MODEL_SUMMARY_TAG = kinds.MODEL_SUMMARY.tag
PLAN_TAG = kinds.LOGGING_PLAN.tag
SCALARS_PREFIX = "internals/"  # scalars for TensorBoard's own Scalars dashboard
# Stats mirrored into the Scalars dashboard when `scalars=True`.
SCALAR_FIELDS = ("mean", "std", "zero_fraction", "dead_fraction", "saturated_fraction")


class Logger:
    """Snapshots of one model into one run directory (module docstring).

    Args are the front door's, already checked: `selectors` (from
    `tb_plugin.core.selection.parse`), `probe_samples`, `map_samples`,
    `encoding`, `max_values`, `scalars`, `probe_tokens` (token labels per
    probe sample, or shared, or None), `weights_freq`, `weights_encoding`,
    `log_model_summary`, `budget`, `background`, `strict`, `verbose`,
    `parts` (`tb_plugin.core.parts.Part` objects); `who` names the front
    door in messages.

    Parts see this object as their `run`: `adapter`, `probe_x`, `probe_y`,
    `probe_samples`, `probe_tokens`, `log_dir`, `budget`.
    """

    def __init__(self, log_dir, *, selectors=(), probe_samples=16, map_samples=None, encoding="q8",
                 max_values=None, scalars=False, probe_tokens=None, weights_freq=None, weights_encoding="f32",
                 log_model_summary=True, budget=plan_lib.DEFAULT_BUDGET, background=True, strict=False, verbose=1,
                 parts=(), who="InternalsCallback"):
        self.log_dir = str(log_dir)
        self.selectors = list(selectors)
        self.probe_samples = probe_samples
        self.map_samples = map_samples
        self.encoding = encoding
        self.max_values = max_values
        self.scalars = scalars
        self.probe_tokens = probe_tokens
        self.weights_freq = weights_freq
        self.weights_encoding = weights_encoding
        self.log_model_summary = log_model_summary
        self.budget = budget
        self.background = background and not strict
        self.verbose = verbose
        self.parts = list(parts)
        self.failures = Failures(who, strict=strict, background=self.background)
        self.adapter = None
        self.probe_x = None
        self.probe_y = None
        self.plan = None
        self.chief = True
        self._writer = None
        self._worker = None
        self._hidden = ()
        self._logged_steps = None  # steps already in the run directory
        self._run_tags = set()
        self._snapshots = 0  # snapshots written (the weights cadence)
        self._previous_weights = {}
        self._before_last = None
        self._skipped = []

    # ---- lifecycle ----------------------------------------------------------

    def begin(self, adapter, probe_x, probe_y=None, probe_note=None, mode="epoch", every=1, initial_step=None):
        """Checks everything against the model and writes the once-per-run documents.

        Returns the selected records of the probe pass (the snapshot before
        training can use them). Raises ValueError on arguments the model
        does not fit, on every worker alike.
        """
        self.drain()  # a fit that raised skips on_train_end: its queued snapshot is written first
        self.adapter, self.probe_x, self.probe_y = adapter, probe_x, probe_y
        self._skipped = []
        self._hidden = tuple(
            layer.path for layer in adapter.hidden_layers()
            if any(selection.layer_matches(s, layer) for s in self.selectors))
        records = adapter.probe(probe_x, hidden=self._hidden)
        selected = self._select(records)
        self.chief = adapter.is_chief()
        if not self.chief:
            for part in self.parts:
                part.begin(self)  # every worker checks its arguments alike
            return selected  # under a multi-worker strategy only the chief writes
        if self._logged_steps is None:
            self._logged_steps, self._run_tags = run_scan.scan(self.log_dir)
        if self._writer is None:
            self._writer = summary.Writer(self.log_dir)
        for part in self.parts:
            part.begin(self)
        self.plan = self._make_plan(selected)
        if self.verbose and probe_note:
            print("%s %s" % (self.failures.who, probe_note))
        if self.plan.warning:
            warnings.warn("%s: %s" % (self.failures.who, self.plan.warning), stacklevel=3)
        if self.log_model_summary and MODEL_SUMMARY_TAG not in self._run_tags:
            self._run_tags.add(MODEL_SUMMARY_TAG)
            try:
                shapes = {r.path: r.value.shape for r in records if r.kind == adapter_lib.ACTIVATIONS}
                self._writer.model_summary(MODEL_SUMMARY_TAG, model_summary(adapter, shapes), step=0,
                                           description="Layers of model %s" % adapter.name)
            except Exception as e:
                self.failures.fail("the model summary", e)
        if PLAN_TAG not in self._run_tags:
            self._run_tags.add(PLAN_TAG)
            if self.verbose:
                print(self.plan.text())
            try:
                doc = dict(self.plan.document(), initial_step=initial_step, probe_note=probe_note,
                           probe_samples=nest.sample_count(probe_x), mode=mode, every=every)
                self._writer.document(metadata.KIND_LOGGING_PLAN, PLAN_TAG, doc, step=0,
                                      description="What each snapshot logs, and why")
            except Exception as e:
                self.failures.fail("the logging plan", e)
        return selected

    def logged(self, step):
        """Whether `step` is in the run directory already."""
        return step in self._logged_steps

    def before_last_batch(self):
        """Reads the variables before the last training batch ahead of a snapshot."""
        self._before_last = self._read_variables()

    def snapshot(self, step, records=None, initial=False):
        """Takes the snapshot at `step` (`records`: a probe pass already made, else one is made now)."""
        self.failures.report()
        if step in self._logged_steps:
            if not initial:
                self._skipped.append(step)
            self._before_last = None
            return
        if records is None:
            try:
                records = [r for r in self.adapter.probe(self.probe_x, hidden=self._hidden) if self._is_selected(r)]
            except Exception as e:  # A logging failure must not stop training.
                self.failures.fail("the probe pass", e)
                return
        self._logged_steps.add(step)
        full_weights = self.plan.full_weights_at(self._snapshots)
        self._snapshots += 1
        values = self._read_variables()
        before_last, self._before_last = self._before_last, None
        previous, self._previous_weights = self._previous_weights, values
        part_jobs = []
        for part in self.parts:
            try:
                if part.due(step, self._snapshots - 1):
                    part_job = part.compute(self, step)
                    if part_job is not None:
                        part_jobs.append((part.name, part_job))
            except Exception as e:  # A logging failure must not stop training.
                self.failures.fail(part.name, e)
        job = _Job(self, step, records, values, previous, before_last, full_weights, part_jobs)
        if self.background:
            if self._worker is None:
                self._worker = Worker(self.failures)
            self._worker.put(job)
        else:
            job()

    def drain(self):
        """Waits until every queued snapshot is written."""
        if self._worker is not None:
            worker, self._worker = self._worker, None
            worker.close()

    def end(self):
        """Writes what is queued, ends the parts, closes the files and reports what went wrong."""
        self.drain()
        if self.chief and self._writer is not None:
            for part in self.parts:
                try:
                    part.end(self)
                except Exception as e:
                    self.failures.fail(part.name, e)
        if self._skipped:
            warnings.warn(
                "%s did not log steps %s again: they are already logged in %s (by an earlier fit). "
                "Resume with fit(initial_epoch=...) to continue the step count, or use a new log_dir."
                % (self.failures.who, _short_list(self._skipped), self.log_dir),
                stacklevel=3,
            )
            self._skipped = []
        if self._writer is not None:
            # A later fit() opens a new event file in the same run.
            writer, self._writer = self._writer, None
            try:
                writer.close()
            except Exception as e:
                self.failures.fail("closing the event file", e)
        self.failures.report()

    # ---- selection and plan ---------------------------------------------------

    def _select(self, records):
        if not records:
            raise ValueError("the probe pass through model %r produced no layer outputs to log" % self.adapter.name)
        real = [r for r in records if r.is_real]
        if not self.selectors:
            return real
        return selection.select(self.selectors, real, selection.record_matches, "layers", self.adapter.name,
                                among=records)

    def _is_selected(self, record):
        if not record.is_real:
            return False
        return not self.selectors or any(selection.record_matches(s, record) for s in self.selectors)

    def _make_plan(self, records):
        n = nest.sample_count(self.probe_x)
        maps, fixed = [], 0
        explicit = bool(self.selectors) or self.map_samples is not None
        for r in records:
            units = int(r.value.shape[-1]) if r.value.ndim else 1
            if r.kind == adapter_lib.ACTIVATIONS:
                fixed += 8 * stats.vector_length(units) + 300
            samples = n if r.value.ndim >= 1 and r.value.shape[0] == n else 1
            per_sample = int(r.value.size // samples) if samples else 0
            maps.append(plan_lib.Map(
                tag_of(r), per_sample, samples, channels=units, tier=self._tier(r, records), explicit=explicit,
                encoding=self.encoding, kind=r.kind,
            ))
        if self.map_samples is not None:
            for m in maps:
                if m.samples > 1:
                    m.samples = min(m.samples, self.map_samples)
        variables = []
        for v in self.adapter.variables():
            units = v.shape[-1] if v.shape else 1
            fixed += 8 * weights_lib.weight_stats_length(units) + 300
            variables.append(plan_lib.Variable(weights_tag(v), v.size, units))
        parts = [(p.name, int(p.estimate_bytes()), p.note()) for p in self.parts]
        return plan_lib.make_plan(
            maps, variables, fixed, budget=self.budget, weights_freq=self.weights_freq,
            weights_encoding=self.weights_encoding, max_values=self.max_values, parts=parts,
        )

    def _tier(self, record, records):
        """The plan's tier (`tb_plugin.core.plan`): 0 kept longest, 2 dropped first."""
        if record.kind == adapter_lib.ATTENTION or record is records[-1]:
            return 0
        role = self.adapter.role(record)
        return 0 if role == adapter_lib.ROLE_BLOCK else 2 if role == adapter_lib.ROLE_COPY else 1

    def _read_variables(self):
        """`{weights tag: array}` of every trainable variable now (one read)."""
        variables = self.adapter.variables()
        try:
            values = self.adapter.read_variables()
        except Exception as e:
            self.failures.fail("the variables", e)
            return {}
        return {weights_tag(v): value for v, value in zip(variables, values)}

    # ---- writing (on the worker thread unless background=False) -----------

    def _samples(self, record):
        return self.plan.samples.get(tag_of(record), 0) if self.plan else record.value.shape[0]

    def _map_of(self, record):
        """The part of a record the plan logs (first k samples), or None."""
        k = self._samples(record)
        if k <= 0:
            return None
        n = nest.sample_count(self.probe_x)
        value = record.value
        if value.ndim >= 1 and value.shape[0] == n and k < n:
            value = value[:k]
        return value

    def _samples_note(self, record):
        k, n = self._samples(record), nest.sample_count(self.probe_x)
        if record.value.ndim >= 1 and record.value.shape[0] == n and k < n:
            return "; the first %d of %d probe samples (logging plan)" % (k, n)
        return ""

    def write_records(self, step, records):
        for record in records:
            if record.kind == adapter_lib.ATTENTION:
                try:
                    self._write_attention(record, step)
                except Exception as e:
                    self.failures.fail("attention of layer %r" % record.path, e)
                continue
            # Statistics and activations fail apart: an oversized layer
            # output still gets its statistics.
            for write in (self._write_stats, self._write_activations):
                try:
                    write(record, step)
                except Exception as e:
                    self.failures.fail("layer %r" % record.path, e)

    def write_weights(self, step, values, previous, before_last, full):
        for v in self.adapter.variables():
            tag = weights_tag(v)
            if tag not in values:
                continue
            value = values[tag]
            where = "`%s` of %s layer `%s`" % (v.name, v.layer_class, v.path)
            try:
                self._writer.weight_stats(
                    WEIGHT_STATS_PREFIX + tag[len(WEIGHTS_PREFIX):], value, step,
                    previous=previous.get(tag), before_last=None if before_last is None else before_last.get(tag),
                    source_tag=tag, layer=v.path, layer_class=v.layer_class,
                    description="exact change series of " + where)
            except Exception as e:
                self.failures.fail("the change series of variable %s/%s" % (v.path, v.name), e)
            if tag not in full:
                continue
            try:
                self._writer.weights(
                    tag, value, step, description=where,
                    encoding=getattr(self.plan, "variable_encodings", {}).get(tag, self.weights_encoding),
                    max_values=self.max_values, layer=v.path, layer_class=v.layer_class,
                )
            except Exception as e:
                self.failures.fail("variable %s/%s" % (v.path, v.name), e)

    def _write_attention(self, record, step):
        scores = self._map_of(record)
        if scores is None:
            return
        tokens = attention_lib.tokens_for(self.probe_tokens, scores)
        scores, normalized, note = attention_lib.normalize_rows(scores)
        description = "attention scores of %s layer `%s`" % (record.layer_class, record.path)
        self._writer.attention(
            ATTENTION_PREFIX + record.path, scores, step, tokens=tokens, normalized=normalized,
            description=description + (" (%s)" % note if note else "") + self._samples_note(record),
            encoding=self.encoding, max_values=self.max_values,
        )

    def _write_activations(self, record, step):
        value = self._map_of(record)
        if value is None:
            return
        self._writer.activations(
            ACTIVATIONS_PREFIX + record.path, value, step,
            description=_description(record) + self._samples_note(record),
            encoding=self.encoding, max_values=self.max_values,
        )

    def _write_stats(self, record, step):
        vector = self._writer.activation_stats(
            STATS_PREFIX + record.path, record.value, step, activation=record.activation,
            source_tag=ACTIVATIONS_PREFIX + record.path, description=_description(record),
        )
        if self.scalars:
            unpacked = stats.unpack(vector)
            for field in SCALAR_FIELDS:
                if np.isfinite(unpacked[field]):
                    self._writer.scalar(SCALARS_PREFIX + record.path + "/" + field, unpacked[field], step)


class _Job:
    """One snapshot's statistics, encoding and writing (numpy arrays only; no model access)."""

    def __init__(self, logger, step, records, values, previous, before_last, full_weights, part_jobs=()):
        self.args = (logger, step, records, values, previous, before_last, full_weights)
        self.part_jobs = list(part_jobs)

    def __call__(self):
        logger, step, records, values, previous, before_last, full_weights = self.args
        writer = logger._writer
        logger.write_records(step, records)
        logger.write_weights(step, values, previous, before_last, full_weights)
        for name, part_job in self.part_jobs:
            try:
                part_job(writer)
            except Exception as e:
                logger.failures.fail(name, e)
        try:
            writer.flush()
        except Exception as e:
            logger.failures.fail("flushing the event file", e)


def tag_of(record):
    """The map tag of a probe-pass record."""
    return (ATTENTION_PREFIX if record.kind == adapter_lib.ATTENTION else ACTIVATIONS_PREFIX) + record.path


def weights_tag(variable):
    """`weights/<layer path>/<variable name>`."""
    return WEIGHTS_PREFIX + variable.path + "/" + variable.name


def model_summary(adapter, output_shapes=None):
    """The layer list of the model (`model_summary` document) from its adapter.

    Returns `{"name", "class", "total_params", "trainable_params", "layers":
    [{"path", "name", "keras_name", "class", "depth", "parent",
    "output_shape", "params", "trainable_params", "variables": [{"name",
    "shape", "trainable"}]}]}`; `output_shapes` (`{path: shape}`, from the
    probe pass) are preferred over what the adapter knows, the batch axis
    shown as None; `params` counts a layer's own and nested variables.
    """
    output_shapes = output_shapes or {}
    layers = []
    for layer in adapter.layers():
        shape = output_shapes.get(layer.path)
        shape = [None] + [int(d) for d in list(shape)[1:]] if shape is not None else layer.output_shape
        layers.append({
            "path": layer.path, "name": layer.name, "keras_name": layer.framework_name, "class": layer.class_name,
            "depth": layer.depth, "parent": layer.parent, "output_shape": shape, "params": layer.params,
            "trainable_params": layer.trainable_params, "variables": layer.variables,
        })
    total, trainable = adapter.parameter_counts()
    return {"name": adapter.name, "class": adapter.class_name, "total_params": int(total),
            "trainable_params": int(trainable), "layers": layers}


def _description(record):
    return "%s output of layer `%s`" % (record.layer_class, record.path)


def _short_list(steps):
    steps = sorted(set(steps))
    return ", ".join(map(str, steps[:10])) + (", ..." if len(steps) > 10 else "")
