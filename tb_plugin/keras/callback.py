"""`InternalsCallback`: log every layer of any Keras 3 model during `fit`.

    from tb_plugin.keras import InternalsCallback
    model.fit(x, y, epochs=10, callbacks=[
        keras.callbacks.TensorBoard("logs/run1"),
        InternalsCallback("logs/run1", probe_data=x_val[:16]),
    ])

This module decides *when* to log (steps aligned with Keras's own
TensorBoard callback) and hands the rest to `tb_plugin.keras.capture` (the probe
pass), `tb_plugin.core.plan` (what fits the budget) and the `summary.Writer`.
The probe pass reads the weights and touches no training state, so training
proceeds exactly as without the callback.
"""

import fnmatch
import glob
import numbers
import os
import queue
import struct
import threading
import warnings

import keras
import numpy as np

from tb_plugin.core.parts.attribution import Attribution
from tb_plugin.keras import capture as capture_lib
from tb_plugin.format import encoding as encoding_lib
from tb_plugin.format import metadata
from tb_plugin.kinds import activation_stats as stats
from tb_plugin import summary
from tb_plugin.core import plan as plan_lib
from tb_plugin.kinds import weights as weights_lib
from tb_plugin.keras.capture import LayerOutput, activation_name, capture  # noqa: F401 (public here too)
from tb_plugin.keras.class_part import ClassStatsPart

ACTIVATIONS_PREFIX = "activations/"
STATS_PREFIX = "activation_stats/"
SCALARS_PREFIX = "internals/"
ATTENTION_PREFIX = "attention/"
WEIGHT_STATS_PREFIX = weights_lib.WEIGHT_STATS_PREFIX
PLAN_TAG = "logging_plan"
# The step of the snapshot before training (epoch mode, fresh run).
INITIAL_STEP = -1
# Stats mirrored into the Scalars dashboard when `scalars=True`.
SCALAR_FIELDS = ("mean", "std", "zero_fraction", "dead_fraction", "saturated_fraction")

# Plan tiers (see tb_plugin.core.plan): 2 copies of another output, 0 block outputs.
_COPY_LAYERS = tuple(
    c for c in (getattr(keras.layers, n, None) for n in (
        "BatchNormalization", "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "Dropout",
        "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout",
        "AlphaDropout", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D",
        "Cropping3D", "Reshape", "Flatten", "Permute", "RepeatVector", "Rescaling", "Normalization", "Identity",
    )) if c is not None
)
_BLOCK_LAYERS = tuple(
    c for c in (getattr(keras.layers, n, None) for n in (
        "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
        "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
        "AveragePooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
        "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "MultiHeadAttention", "RNN",
        "Bidirectional",
    )) if c is not None
) + (keras.Model,)


class InternalsCallback(keras.callbacks.Callback):
    """Logs layer activations, their statistics, weights and attention for the Internals tab.

    At every snapshot it runs the fixed probe batch through the model in
    inference mode and writes, for each selected layer output, its
    statistics (tag `activation_stats/<layer path>`: mean, std, min, max,
    exact zeros, dead and saturated units, histogram; on every probe sample)
    and its values (`activations/<layer path>`, for as many samples as the
    plan allows); the scores of every `MultiHeadAttention`
    (`attention/<layer path>`); per trainable variable an exact change
    series (`weight_stats/<layer path>/<variable>`: relative change to the
    previous snapshot, the last batch's update-to-weight ratio, norm,
    histogram, per-output-unit change) and, on the plan's cadence, its full
    values (`weights/<layer path>/<variable>`). Once per run directory: the
    model's layer list (`model_summary`) and the logging plan
    (`logging_plan`, also printed).

    Names are stable (`tb_plugin.keras.capture`): automatic Keras names are
    renumbered within the model, so the same architecture gives the same
    tags in any process. A layer called several times gets `[call N]` from
    its second call on; a layer with several outputs gets `:<key>` per
    output (dict key, list position, or `output`/`state_h`/`state_c` for
    recurrent layers). The cell inside a recurrent layer is logged only when
    `layers=` selects it, as one tag per output with a time axis.

    Steps (as `keras.callbacks.TensorBoard` writes `epoch_*` scalars and
    weight histograms, so both tabs show the same moment at the same step):
    in epoch mode the snapshot after the epoch with 0-based index `e` is
    logged at step `e` (every `epoch_freq`-th epoch: `e % epoch_freq == 0`,
    as Keras's `histogram_freq`); the snapshot before training at step
    `initial_epoch - 1`, i.e. **step -1 for a fresh run** ("before
    training"); a resumed fit (`initial_epoch=3`) starts from the model
    after epoch 2, already logged at step 2, and does not log it again. In
    batch mode (`batch_freq=N`) the step is the count of training batches
    of this `fit` call when it is a multiple of N, the step Keras's callback
    uses with `update_freq=N`; the snapshot before training is step 0. A
    step already logged in the run directory (by an earlier fit or
    process) is never logged again; a warning says so.

    Budget: every snapshot is planned against `budget` bytes
    (`tb_plugin.core.plan`, default 16 MiB): statistics and change series always,
    full weights of a rotating share of the variables (each variable every
    N snapshots), maps for as many layers and samples as fit.
    What was reduced is printed once and logged. Explicit requests
    (`layers=`, `map_samples=`, `weights_freq=`) are kept as asked, with one
    warning stating the size when they exceed the budget; `budget=None`
    logs everything at every snapshot.

    Args:
      log_dir: the run directory to write to (a new event file in it). The
        same directory as `keras.callbacks.TensorBoard(log_dir)` keeps the
        scalars and the internals in one run.
      probe_data: the fixed probe inputs: a batch `x` or `(x, y)` (y is
        ignored) in any form the model accepts (array, nested list of
        numbers, list or dict of arrays; a tuple is read as `(x, y)`, so
        pass several inputs as a list), or a `tf.data.Dataset`,
        `keras.utils.PyDataset` or generator of such batches, of which the
        first `probe_samples` samples are taken (a message says so; a
        generator's batches are consumed, so pass a separate one). A model
        `fit` has not built yet is built from the probe's shapes, batch axis
        aside.
      layers: which layer outputs to log: None for all layers that produce
        real-valued tensors; or a list of layer names, layer paths, glob
        patterns over paths (e.g. "backbone/*conv*") and layer classes.
      probe_samples: how many probe samples to use (the first N); the
        statistics use all of them.
      map_samples: log the maps of every layer for exactly this many
        samples (default: the plan decides, at most `probe_samples`).
      epoch_freq: log after every epoch `e` with `e % epoch_freq == 0`
        (0: no epoch snapshots).
      batch_freq: if set, log every this many training batches instead.
      log_initial: also log the model before training starts.
      encoding: "q8" (compact, bounded error) or "f32" (lossless) for maps.
      max_values: most values per summary (see `tb_plugin.summary`).
      scalars: also write a few statistics of each layer as scalars
        `internals/<path>/<stat>` for the Scalars dashboard.
      strict: raise on a logging failure instead of warning and going on
        (and write on the training thread).
      attention_fn: for custom attention layers: `attention_fn(layer,
        outputs)` called on every layer call of the probe pass, returning
        that call's attention scores or None.
      attention_tokens: token labels of the probe samples: one list of
        strings per probe sample, or one list shared by all.
      weights_freq: None (the plan decides the cadence of full weights),
        0 (no full weights), or N: full weights every N-th snapshot (the
        first included), as asked.
      weights_encoding: "f32" (default, lossless) or "q8".
      log_model_summary: log the model's layer list once per run directory.
      budget: bytes per snapshot (estimated before compression), or None.
      background: encode and write on a background thread (one snapshot
        queued at most) so `fit` goes on; flushed at the end of training.
      verbose: 1 prints the plan (and probe notes) once; 0 is silent.
      attribution: attribution maps of the probe samples for their true and
        predicted class (`tb_plugin.core.parts.attribution`, tag `attribution/probe`):
        None (default) logs them when `probe_data=(x, y)` carries class
        labels; False never; True every method; a list of methods
        ("gradcam", "saliency", "smoothgrad", "integrated_gradients"); or
        a dict of options (`methods`, `gradcam_layer`, `ig_steps`,
        `ig_baseline`, `smoothgrad_samples`, `smoothgrad_noise`,
        `class_names`, `every`). Token models (integer input, an
        `Embedding` layer): integrated gradients per token over the
        embedding output, labelled by `attention_tokens`. What a model
        cannot support is skipped with one message in the plan.
      embedding_layers: layer names, paths or glob patterns whose outputs
        to log as embeddings (tag `embedding/<layer path>`, one row per
        sample; conv and sequence outputs averaged over space or time), see
        `tb_plugin.keras.embedding_part`. None: no embeddings.
      embedding_data: the samples to embed: `x` or `(x, y)` with one label
        per sample (class index, string or one-hot row); arrays, not a
        dataset. Required with `embedding_layers`.
      embedding_freq: embeddings every this many snapshots (the first, e.g.
        before training, included).
      embedding_samples: the most samples to embed (the first N).
      embedding_columns: optional `{name: one value per sample}` shown on
        hover and in the Projector's metadata.
      embedding_class_names: optional names of the class indices in `y`.
      embedding_thumbnails: True (default): thumbnails of image inputs
        (`[n, h, w(, 1|3)]`, scaled to [0, 1]); False: none; or your own
        `[n, h, w(, c)]` images.
      embedding_encoding: "q8" (default, compact) or "f32" (lossless).
      embedding_projector: at train end, hand the latest step of each
        embedding to TensorBoard's Projector (`tb_plugin.summary.projector`).
      embedding_batch_size: samples per batch of the embedding pass (one
        pass over `embedding_data` per embedding snapshot, inference mode).
      class_data: `(x, y)` labelled evaluation samples (arrays, or a
        dataset or generator of `(x, y)` batches) for the class statistics
        (tag `class_stats`: confusion matrix and per-class activations,
        `tb_plugin.keras.class_part`); None logs none. Required for them: Keras 3
        does not hand `fit`'s `validation_data` to callbacks.
      class_names: names of the classes (one per class index), or None.
      class_layers: which layer outputs the class statistics describe
        (as `layers`); None: every layer with weights.
      class_samples: the first this many samples of `class_data` are used
        (default 1,000).
      class_freq: class statistics at every this many snapshots (the first
        included); each costs about one forward pass of `class_samples`.

    Under `tf.distribute.MultiWorkerMirroredStrategy` only the chief writes
    (every worker checks the arguments and the probe pass at train begin;
    `tests/test_keras_multiworker.py` runs two worker processes, and
    `tests/multiworker_worker.py` shows the two workarounds Keras 3.15's own
    `fit` needs under that strategy);
    under `MirroredStrategy` the one process logs once per step.

    Raises (at construction, or at `on_train_begin` before an epoch is spent):
      ValueError: bad arguments (the message names the argument and the
        fix), the model rejects the probe data, a name in `layers` matches
        no layer (the message lists them), or nothing is selected.
    """

    def __init__(
        self,
        log_dir,
        probe_data,
        *,
        layers=None,
        probe_samples=16,
        map_samples=None,
        epoch_freq=1,
        batch_freq=None,
        log_initial=True,
        encoding=summary.DEFAULT_ENCODING,
        max_values=summary.DEFAULT_MAX_VALUES,
        scalars=False,
        strict=False,
        attention_fn=None,
        attention_tokens=None,
        weights_freq=None,
        weights_encoding="f32",
        log_model_summary=True,
        budget=plan_lib.DEFAULT_BUDGET,
        background=True,
        verbose=1,
        attribution=None,
        embedding_layers=None,
        embedding_data=None,
        embedding_freq=1,
        embedding_samples=1000,
        embedding_columns=None,
        embedding_class_names=None,
        embedding_thumbnails=True,
        embedding_encoding="q8",
        embedding_projector=True,
        embedding_batch_size=256,
        class_data=None,
        class_names=None,
        class_layers=None,
        class_samples=1000,
        class_freq=1,
    ):
        super().__init__()
        if encoding not in encoding_lib.ENCODINGS:
            raise ValueError("encoding=%r is unknown; use 'q8' or 'f32'" % (encoding,))
        if weights_encoding not in encoding_lib.ENCODINGS:
            raise ValueError("weights_encoding=%r is unknown; use 'f32' or 'q8'" % (weights_encoding,))
        self.probe_samples = _count("probe_samples", probe_samples, 1)
        self.map_samples = _count("map_samples", map_samples, 0, allow_none=True)
        self.batch_freq = _count("batch_freq", batch_freq, 1, allow_none=True)
        self.epoch_freq = _count("epoch_freq", epoch_freq, 0)
        self.weights_freq = _count("weights_freq", weights_freq, 0, allow_none=True)
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, numbers.Real) or budget <= 0):
            raise ValueError("budget must be a positive number of bytes per snapshot (e.g. 16 * 2**20) or None "
                             "(no budget), got %r" % (budget,))
        self.budget = None if budget is None else int(budget)
        self.max_values = _count("max_values", max_values, 1, allow_none=True)
        if attention_fn is not None and not callable(attention_fn):
            raise ValueError("attention_fn must be callable(layer, outputs), got %r" % (attention_fn,))
        self.log_dir = str(log_dir)
        self.probe_x, self.probe_note = capture_lib.probe_inputs(probe_data, self.probe_samples)
        self.selectors = _selectors(layers)
        self.log_initial = bool(log_initial)
        self.encoding = encoding
        self.scalars = scalars
        self.strict = strict
        self.attention_fn = attention_fn
        self.attention_tokens = _probe_tokens(attention_tokens, self.probe_samples)
        self.weights_encoding = weights_encoding
        self.log_model_summary = log_model_summary
        self.background = background and not strict
        self.verbose = verbose
        self._writer = None
        self._worker = None
        self._errors = []
        self._names = None
        self._cells = ()
        self._compile_cache = {}
        self._variable_list = None  # _variables() of this fit (listed at train begin)
        self._chief = True
        self.plan = None
        self._logged_steps = None  # steps already in the run directory
        self._run_tags = set()
        self._snapshots = 0  # snapshots written by this callback (weights cadence)
        self._previous_weights = {}
        self._before_last = None
        self._pending_initial = None
        self._global_batch = 0
        self._epoch = 0
        self._skipped = []
        # Optional snapshot parts (tb_plugin.core.parts): each feature argument
        # (embeddings, class statistics, attributions) appends one.
        self._parts = []
        attribution_part = Attribution.from_keyword(attribution)
        probe_y = probe_data[1] if isinstance(probe_data, tuple) and len(probe_data) in (2, 3) else None
        if attribution_part is not None and (probe_y is not None or not attribution_part.auto):
            self._parts.append(_RunShim(attribution_part, None if probe_y is None else probe_y[:self.probe_samples]))
        if embedding_layers is not None:
            from tb_plugin.keras.embedding_part import EmbeddingPart

            self._parts.append(EmbeddingPart(
                embedding_layers, embedding_data, freq=embedding_freq, samples=embedding_samples,
                columns=embedding_columns, class_names=embedding_class_names, thumbnails=embedding_thumbnails,
                encoding=embedding_encoding, projector=embedding_projector, batch_size=embedding_batch_size))
        elif embedding_data is not None:
            raise ValueError("embedding_data is given but embedding_layers is not: name the layers to embed, "
                             "e.g. embedding_layers=['dense']")
        if class_data is not None:
            self._parts.append(ClassStatsPart(class_data, class_names, class_layers, class_samples,
                                              every=_count("class_freq", class_freq, 1)))
        elif class_names is not None or class_layers is not None:
            raise ValueError("class_names and class_layers describe class_data; pass class_data=(x_val, y_val) too")
        if self.batch_freq:
            # Only then: a batch-end hook makes Keras wait for every batch
            # (no async dispatch), which costs time in epoch mode.
            self.on_train_batch_end = self._on_train_batch_end

    # Keras hooks -----------------------------------------------------------

    def on_train_begin(self, logs=None):
        self._global_batch = 0
        self._skipped = []
        self._names = capture_lib.stable_names(self.model)
        self._variable_list = None
        self._cells = self._selected_cells()
        records = self._capture()
        selected = self._select(records)  # every worker checks its arguments alike
        self._chief = is_chief(self.model)
        if not self._chief:
            for part in self._parts:
                part.begin(self)  # every worker checks its arguments alike
            return  # under a multi-worker strategy only the chief logs
        if self._logged_steps is None:
            self._logged_steps, self._run_tags = _scan_run_dir(self.log_dir)
        if self._writer is None:
            self._writer = summary.Writer(self.log_dir)
        for part in self._parts:
            part.begin(self)
        self.plan = self._make_plan(selected)
        if self.verbose and self.probe_note:
            print("InternalsCallback " + self.probe_note)
        if self.plan.warning:
            warnings.warn("InternalsCallback: " + self.plan.warning, stacklevel=2)
        if self.log_model_summary and weights_lib.MODEL_SUMMARY_TAG not in self._run_tags:
            self._run_tags.add(weights_lib.MODEL_SUMMARY_TAG)
            try:
                shapes = {r.path: r.value.shape for r in records if r.kind == capture_lib.ACTIVATIONS}
                self._writer.model_summary(
                    weights_lib.MODEL_SUMMARY_TAG,
                    weights_lib.model_summary(self.model, shapes, self._names),
                    step=0,
                    description="Layers of model %s" % self.model.name,
                )
            except Exception as e:
                self._fail("the model summary", e)
        if PLAN_TAG not in self._run_tags:
            self._run_tags.add(PLAN_TAG)
            if self.verbose:
                print(self.plan.text())
            try:
                doc = dict(self.plan.document(), initial_step=self._initial_step_doc(), probe_note=self.probe_note,
                           probe_samples=int(np.shape(keras.tree.flatten(self.probe_x)[0])[0]),
                           mode="batch" if self.batch_freq else "epoch",
                           every=self.batch_freq or self.epoch_freq)
                self._writer.document(metadata.KIND_LOGGING_PLAN, PLAN_TAG, doc, step=0,
                                      description="What each snapshot logs, and why")
            except Exception as e:
                self._fail("the logging plan", e)
        if self.log_initial:
            if self.batch_freq:
                self._snapshot(0, selected)
            else:
                # Logged at the first epoch's start, which knows the epoch
                # number (fit may resume from initial_epoch).
                self._pending_initial = selected

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if not self._chief:
            return
        self._report_errors()
        if self._pending_initial is not None:
            records, self._pending_initial = self._pending_initial, None
            self._snapshot(epoch - 1, records, initial=True)

    def on_train_batch_begin(self, batch, logs=None):
        self._global_batch += 1
        if not self._chief:
            return
        if self.batch_freq:
            due = self._global_batch % self.batch_freq == 0
        else:
            steps = (self.params or {}).get("steps")
            due = bool(self.epoch_freq) and steps is not None and batch == steps - 1 and (
                self._epoch % self.epoch_freq == 0)
        if due:
            # The variables before the batch just before a snapshot: the
            # update-to-weight ratio of that batch is then exact.
            self._before_last = self._read_variables()

    def on_epoch_end(self, epoch, logs=None):
        if not self._chief:
            return
        if not self.batch_freq and self.epoch_freq and epoch % self.epoch_freq == 0:
            self._capture_and_log(epoch)

    def _on_train_batch_end(self, batch, logs=None):
        if not self._chief:
            return
        if self._global_batch % self.batch_freq == 0:
            self._capture_and_log(self._global_batch)

    def on_train_end(self, logs=None):
        self._pending_initial = None
        self._drain()
        if self._chief:
            for part in self._parts:
                try:
                    part.end(self)
                except Exception as e:
                    self._fail(part.name, e)
        if self._skipped:
            warnings.warn(
                "InternalsCallback did not log steps %s again: they are already logged in %s (by an earlier fit). "
                "Resume with fit(initial_epoch=...) to continue the step count, or use a new log_dir."
                % (_short_list(self._skipped), self.log_dir),
                stacklevel=2,
            )
        if self._writer is not None:
            # A later fit() opens a new event file in the same run.
            writer, self._writer = self._writer, None
            try:
                writer.close()
            except Exception as e:
                self._fail("closing the event file", e)
        self._report_errors()

    # Planning ----------------------------------------------------------------

    def _initial_step_doc(self):
        if self.batch_freq:
            return {"step": 0, "meaning": "before training (batch 0)"}
        return {"step": INITIAL_STEP, "meaning": "before training (a resumed fit: the model after epoch initial_epoch - 1, at that step)"}

    def _make_plan(self, records):
        n = int(np.shape(keras.tree.flatten(self.probe_x)[0])[0])
        maps, fixed = [], 0
        explicit_layers = bool(self.selectors)
        for r in records:
            units = int(r.value.shape[-1]) if r.value.ndim else 1
            if r.kind == capture_lib.ACTIVATIONS:
                fixed += 8 * stats.vector_length(units) + 300
            batched = r.value.ndim >= 1 and r.value.shape[0] == n
            samples = n if batched else 1
            per_sample = int(r.value.size // samples) if samples else 0
            maps.append(plan_lib.Map(
                _tag(r), per_sample, samples, channels=units, tier=_tier(r, records),
                explicit=explicit_layers or self.map_samples is not None,
                encoding=self.encoding, kind=r.kind,
            ))
        if self.map_samples is not None:
            for m in maps:
                if m.samples > 1:
                    m.samples = min(m.samples, self.map_samples)
        variables = []
        for tag, _, _, layer, v in self._variables():
            shape = tuple(int(d) for d in v.shape)
            units = shape[-1] if shape else 1
            fixed += 8 * weights_lib.weight_stats_length(units) + 300
            variables.append(plan_lib.Variable(tag, int(np.prod(shape)) if shape else 1, units))
        parts = [(p.name, int(p.estimate_bytes()), p.note()) for p in self._parts]
        return plan_lib.make_plan(
            maps, variables, fixed, budget=self.budget, weights_freq=self.weights_freq,
            weights_encoding=self.weights_encoding, max_values=self.max_values, parts=parts,
        )

    def _selected_cells(self):
        if not self.selectors:
            return ()
        cells = capture_lib.rnn_cells(self.model)
        paths = {id(layer): path for path, _, _, layer in weights_lib.walk_layers(self.model, self._names)}
        chosen = []
        for cid, cell in cells.items():
            path = paths.get(cid, cell.name)
            for s in self.selectors:
                if isinstance(s, type):
                    hit = isinstance(cell, s)
                else:
                    hit = s in (path, cell.name, path.split("/")[-1]) or fnmatch.fnmatchcase(path, s)
                if hit:
                    chosen.append(cid)
                    break
        return tuple(chosen)

    def _select(self, records):
        if not records:
            raise ValueError(
                "the probe pass through model %r produced no layer outputs to log" % self.model.name
            )
        available = sorted({r.path for r in records} | {r.layer.name for r in records})
        for selector in self.selectors:
            if not isinstance(selector, type) and not any(_matches(selector, r) for r in records):
                raise ValueError(
                    "layers=%r: %r matches no layer of model %r. Available layer "
                    "names and paths: %s" % (self.selectors, selector, self.model.name, ", ".join(available))
                )
        selected = [r for r in records if self._is_selected(r)]
        if not selected:
            raise ValueError(
                "layers=%r selects no layer output of model %r. Available layer "
                "names and paths: %s" % (self.selectors, self.model.name, ", ".join(available))
            )
        return selected

    def _is_selected(self, record):
        if not record.is_real:
            return False
        if not self.selectors:
            return True
        return any(_matches(s, record) for s in self.selectors)

    # Snapshots ---------------------------------------------------------------

    def _capture(self):
        return capture(self.model, self.probe_x, attention_fn=self.attention_fn, cells=self._cells, names=self._names,
                       compile_cache=self._compile_cache)

    def _capture_and_log(self, step):
        self._report_errors()
        if step in self._logged_steps:
            self._skipped.append(step)
            self._before_last = None
            return
        try:
            records = self._capture()
        except Exception as e:  # A logging failure must not stop training.
            self._fail("the probe pass", e)
            return
        self._snapshot(step, [r for r in records if self._is_selected(r)])

    def _variables(self):
        """`(tag, path, name, layer, variable)` of every trainable variable, stable names
        (listed once per fit: the plan made at train begin covers these)."""
        if self._variable_list is None:
            self._variable_list = [
                (weights_lib.WEIGHTS_PREFIX + path + "/" + name, path, name, layer, v)
                for path, name, layer, v in weights_lib.trainable_variables(
                    self.model, self._names, capture_lib.variable_names)
            ]
        return self._variable_list

    def _read_variables(self):
        entries = self._variables()
        values = capture_lib.read_variables([e[-1] for e in entries], self._compile_cache)
        if values is not None:
            return {e[0]: value for e, value in zip(entries, values)}
        out = {}
        for tag, _, _, _, v in entries:
            try:
                out[tag] = capture_lib.to_numpy(v)
            except Exception as e:
                self._fail("variable %s" % tag, e)
        return out

    def _snapshot(self, step, records, initial=False):
        if step in self._logged_steps:
            if not initial:
                self._skipped.append(step)
            return
        self._logged_steps.add(step)
        full_weights = self.plan.full_weights_at(self._snapshots)
        self._snapshots += 1
        variables = [(tag, path, name, layer, None) for tag, path, name, layer, _ in self._variables()]
        values = self._read_variables()
        before_last, self._before_last = self._before_last, None
        previous, self._previous_weights = self._previous_weights, values
        part_jobs = []
        for part in self._parts:
            try:
                if part.due(step, self._snapshots - 1):
                    part_job = part.compute(self, step)
                    if part_job is not None:
                        part_jobs.append((part.name, part_job))
            except Exception as e:  # A logging failure must not stop training.
                self._fail(part.name, e)
        job = _Job(self, step, records, variables, values, previous, before_last, full_weights, part_jobs)
        if self.background:
            if self._worker is None:
                self._worker = _Worker(self._errors)
            self._worker.put(job)
        else:
            job()

    def _drain(self):
        if self._worker is not None:
            worker, self._worker = self._worker, None
            worker.close()

    # Writing (on the worker thread unless background=False) ----------------

    def _write_records(self, step, records):
        for record in records:
            if record.kind == capture_lib.ATTENTION:
                try:
                    self._write_attention(record, step)
                except Exception as e:
                    self._fail("attention of layer %r" % record.path, e)
                continue
            # Statistics and activations fail apart: an oversized layer
            # output still gets its statistics.
            for write in (self._write_stats, self._write_activations):
                try:
                    write(record, step)
                except Exception as e:
                    self._fail("layer %r" % record.path, e)

    def _samples(self, record):
        return self.plan.samples.get(_tag(record), 0) if self.plan else record.value.shape[0]

    def _map_of(self, record):
        """The part of a record the plan logs (first k samples), or None."""
        k = self._samples(record)
        if k <= 0:
            return None
        n = int(np.shape(keras.tree.flatten(self.probe_x)[0])[0])
        value = record.value
        if value.ndim >= 1 and value.shape[0] == n and k < n:
            value = value[:k]
        return value

    def _write_weights(self, step, variables, values, previous, before_last, full):
        for tag, path, name, layer, _ in variables:
            if tag not in values:
                continue
            value = values[tag]
            where = "`%s` of %s layer `%s`" % (name, type(layer).__name__, path)
            try:
                self._writer.weight_stats(
                    WEIGHT_STATS_PREFIX + tag[len(weights_lib.WEIGHTS_PREFIX):], value, step,
                    previous=previous.get(tag), before_last=None if before_last is None else before_last.get(tag),
                    source_tag=tag, layer=path, layer_class=type(layer).__name__,
                    description="exact change series of " + where)
            except Exception as e:
                self._fail("the change series of variable %s/%s" % (path, name), e)
            if tag not in full:
                continue
            try:
                self._writer.weights(
                    tag, value, step, description=where,
                    encoding=getattr(self.plan, "variable_encodings", {}).get(tag, self.weights_encoding),
                    max_values=self.max_values, layer=path, layer_class=type(layer).__name__,
                )
            except Exception as e:
                self._fail("variable %s/%s" % (path, name), e)

    def _write_attention(self, record, step):
        scores = self._map_of(record)
        if scores is None:
            return
        tokens = self.attention_tokens
        q, k = scores.shape[-2], scores.shape[-1]
        if tokens is not None:
            per_sample = bool(tokens) and isinstance(tokens[0], list)
            if per_sample and scores.ndim == 4:
                tokens = tokens[: scores.shape[0]]
            lengths = {len(t) for t in tokens} if per_sample else {len(tokens)}
            if lengths != {q} or q != k or (per_sample and (scores.ndim != 4 or len(tokens) != scores.shape[0])):
                tokens = None  # not this layer's sequence (e.g. cross attention)
        scores, normalized, note = normalize_rows(scores)
        description = "attention scores of %s layer `%s`" % (type(record.layer).__name__, record.path)
        self._writer.attention(
            ATTENTION_PREFIX + record.path,
            scores,
            step,
            tokens=tokens,
            normalized=normalized,
            description=description + (" (%s)" % note if note else "") + self._samples_note(record),
            encoding=self.encoding,
            max_values=self.max_values,
        )

    def _samples_note(self, record):
        k, n = self._samples(record), int(np.shape(keras.tree.flatten(self.probe_x)[0])[0])
        if record.value.ndim >= 1 and record.value.shape[0] == n and k < n:
            return "; the first %d of %d probe samples (logging plan)" % (k, n)
        return ""

    def _write_activations(self, record, step):
        value = self._map_of(record)
        if value is None:
            return
        self._writer.activations(
            ACTIVATIONS_PREFIX + record.path,
            value,
            step,
            description=_description(record) + self._samples_note(record),
            encoding=self.encoding,
            max_values=self.max_values,
        )

    def _write_stats(self, record, step):
        vector = self._writer.activation_stats(
            STATS_PREFIX + record.path,
            record.value,
            step,
            activation=record.activation,
            source_tag=ACTIVATIONS_PREFIX + record.path,
            description=_description(record),
        )
        if self.scalars:
            unpacked = stats.unpack(vector)
            for field in SCALAR_FIELDS:
                if np.isfinite(unpacked[field]):
                    self._writer.scalar(SCALARS_PREFIX + record.path + "/" + field, unpacked[field], step)

    def _fail(self, what, error):
        message = "InternalsCallback could not log %s: %s: %s" % (what, type(error).__name__, error)
        if self.strict:
            raise RuntimeError(message) from error
        if threading.current_thread() is threading.main_thread() or not self.background:
            warnings.warn(message + " (training goes on; pass strict=True to raise instead)", stacklevel=2)
        else:
            self._errors.append(message)

    def _report_errors(self):
        while self._errors:
            message = self._errors.pop(0)
            warnings.warn(message + " (training goes on; pass strict=True to raise instead)", stacklevel=3)


class _RunShim:
    """A new-style part (`begin(run)`, `compute(run, step)`) driven by this callback until the core logger does."""

    def __init__(self, part, probe_y):
        self.part, self.name, self.probe_y, self.run = part, part.name, probe_y, None

    def begin(self, callback):
        from types import SimpleNamespace

        from tb_plugin.keras.gradients import GradientAdapter

        self.run = SimpleNamespace(
            adapter=GradientAdapter(callback.model, callback._names), probe_x=callback.probe_x, probe_y=self.probe_y,
            probe_samples=callback.probe_samples, probe_tokens=callback.attention_tokens, log_dir=callback.log_dir,
            budget=callback.budget)
        self.part.begin(self.run)

    def estimate_bytes(self):
        return self.part.estimate_bytes()

    def note(self):
        return self.part.note()

    def due(self, step, index):
        return self.part.due(step, index)

    def compute(self, callback, step):
        return self.part.compute(self.run, step)

    def end(self, callback):
        self.part.end(self.run)


class _Job:
    """One snapshot's encoding and writing (numpy arrays only; no model access)."""

    def __init__(self, callback, step, records, variables, values, previous, before_last, full_weights, part_jobs=()):
        self.args = (callback, step, records, variables, values, previous, before_last, full_weights)
        self.part_jobs = list(part_jobs)

    def __call__(self):
        callback, step, records, variables, values, previous, before_last, full_weights = self.args
        writer = callback._writer
        callback._write_records(step, records)
        callback._write_weights(step, variables, values, previous, before_last, full_weights)
        for name, part_job in self.part_jobs:
            try:
                part_job(writer)
            except Exception as e:
                callback._fail(name, e)
        try:
            writer.flush()
        except Exception as e:
            callback._fail("flushing the event file", e)


class _Worker:
    """A background thread running jobs in order, one queued at most."""

    def __init__(self, errors):
        self._queue = queue.Queue(maxsize=1)
        self._errors = errors
        self._thread = threading.Thread(target=self._run, name="InternalsCallback-writer", daemon=True)
        self._thread.start()

    def _run(self):
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                job()
            except Exception as e:  # reported on the training thread
                self._errors.append("InternalsCallback could not log a snapshot: %s: %s" % (type(e).__name__, e))
            finally:
                self._queue.task_done()

    def put(self, job):
        self._queue.put(job)

    def close(self):
        self._queue.put(None)
        self._thread.join()


def is_chief(model):
    """False on the non-chief workers of a multi-worker strategy (they do not write).

    The chief is the task of type "chief", or worker 0 when the cluster has
    no chief task, as `tf.distribute.MultiWorkerMirroredStrategy` decides.
    """
    strategy = getattr(model, "distribute_strategy", None)
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    if resolver is None or task_type is None:
        return True
    if task_type == "chief":
        return True
    try:
        has_chief = "chief" in resolver.cluster_spec().as_dict()
    except Exception:
        has_chief = False
    return task_type == "worker" and int(getattr(resolver, "task_id", 0) or 0) == 0 and not has_chief


def normalize_rows(scores):
    """`(scores, normalized, note)`: attention rows checked against a tolerance fitting their dtype.

    Float32 (and wider) rows must sum to 1 within `attention.ROW_SUM_TOLERANCE`.
    Float16 and bfloat16 softmax rows sum to 1 only within their rounding
    (1024 float16 keys: about 1e-3): they are checked against
    `max(1e-3, 2 * sqrt(k) * eps / 2)` (eps of their dtype) and, when they
    pass, divided by their sums (in float64) so that they sum to 1; `note`
    then says so and by how much they were off. Rows outside the tolerance
    leave the scores as they are with `normalized=False`.
    """
    from tb_plugin.kinds import attention as attention_lib

    values = np.asarray(scores)
    wide = values.astype(np.float64)
    sums = wide.sum(axis=-1)
    finite = np.isfinite(sums)
    deviation = float(np.max(np.abs(sums[finite] - 1))) if finite.any() else float("nan")
    if values.dtype.itemsize >= 4 and values.dtype.name != "bfloat16":
        ok = finite.any() and deviation <= attention_lib.ROW_SUM_TOLERANCE and not (wide < -1e-6).any()
        return scores, bool(ok), None
    eps = float(np.finfo(np.float16).eps) if values.dtype.name == "float16" else 2.0 ** -7
    k = values.shape[-1]
    tolerance = max(attention_lib.ROW_SUM_TOLERANCE, 2 * np.sqrt(k) * eps / 2)
    if not finite.any() or deviation > tolerance or (wide < 0).any():
        return scores, False, "%s rows: not all sum to 1 within %.2g" % (values.dtype.name, tolerance)
    with np.errstate(divide="ignore", invalid="ignore"):
        fixed = np.where(finite[..., None], wide / sums[..., None], wide)
    return fixed.astype(np.float32), True, "%s rows renormalised to sum to 1; they were off by up to %.2g" % (
        values.dtype.name, deviation)


def _tag(record):
    return (ATTENTION_PREFIX if record.kind == capture_lib.ATTENTION else ACTIVATIONS_PREFIX) + record.path


def _tier(record, records):
    if record.kind == capture_lib.ATTENTION or record is records[-1]:
        return 0
    if isinstance(record.layer, _BLOCK_LAYERS):
        return 0
    if isinstance(record.layer, _COPY_LAYERS):
        return 2
    return 1


def _count(name, value, minimum, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(
            "%s must be an int >= %d%s, got %r (%s)"
            % (name, minimum, " or None" if allow_none else "", value, type(value).__name__)
        )
    if value < minimum:
        raise ValueError("%s must be an int >= %d%s, got %r" % (name, minimum, " or None" if allow_none else "", value))
    return int(value)


def _matches(selector, record):
    if isinstance(selector, type):
        return isinstance(record.layer, selector)
    base = record.path.split("/")[-1].split(" [call")[0].split(":")[0]
    call_path = record.path[: -len(record.output_key) - 1] if record.output_key else record.path
    return (
        selector == record.path
        or selector == call_path
        or selector == record.layer.name
        or selector == base
        or fnmatch.fnmatchcase(record.path, selector)
    )


def _selectors(layers):
    if layers is None:
        return []
    if isinstance(layers, (str, type)):
        layers = [layers]
    layers = list(layers)
    for s in layers:
        if not isinstance(s, (str, type)):
            raise ValueError(
                "layers must hold layer names, paths, glob patterns or layer classes, got %r" % (s,)
            )
    if not layers:
        raise ValueError("layers=[] selects nothing; pass None to log every layer")
    return layers


def _probe_tokens(tokens, samples):
    """`attention_tokens` as lists of strings: one per sample (first N), or one shared."""
    if tokens is None:
        return None
    if isinstance(tokens, (str, bytes)):
        raise ValueError(
            "attention_tokens=%r is a single string; pass a list of token labels (e.g. text.split()), "
            "or one such list per probe sample" % (tokens[:40],)
        )
    try:
        tokens = list(tokens)
    except TypeError:
        raise ValueError("attention_tokens must be a list of strings or one list of strings per probe sample, "
                         "got %r" % (tokens,)) from None
    if not tokens:
        raise ValueError("attention_tokens is empty; pass one label per token, or None")
    if all(isinstance(t, (list, tuple, np.ndarray)) for t in tokens):
        return [[_label(s) for s in t] for t in tokens[:samples]]
    if any(isinstance(t, (list, tuple, np.ndarray)) for t in tokens):
        raise ValueError("attention_tokens must be a list of strings or one list of strings per probe sample, "
                         "not a mix of both")
    return [_label(s) for s in tokens]


def _label(s):
    return s.decode("utf-8", "replace") if isinstance(s, bytes) else str(s)


def _description(record):
    return "%s output of layer `%s`" % (type(record.layer).__name__, record.path)


def read_plan(run_dir):
    """The logging plan logged in `run_dir` (a dict), or None."""
    from tb_plugin.reader import Reader

    try:
        return Reader(str(run_dir)).read(".", PLAN_TAG)
    except KeyError:
        return None


def _short_list(steps):
    steps = sorted(set(steps))
    return ", ".join(map(str, steps[:10])) + (", ..." if len(steps) > 10 else "")


# ---- what a run directory already holds ------------------------------------

_HEAD = 1024  # bytes of each record read: wall time, step, first tag


def _scan_run_dir(log_dir):
    """`(steps, tags)` already logged by this plugin's writer in `log_dir`.

    Reads only the head of each record (the event's step and its first
    summary tag), seeking past payloads, so large runs scan quickly. Steps
    are those of array and statistics tags (not of `model_summary` and
    `logging_plan`).
    """
    steps, tags = set(), set()
    for path in sorted(glob.glob(os.path.join(log_dir, "events.out.tfevents.*"))):
        if ".internals" not in os.path.basename(path):
            continue
        try:
            with open(path, "rb") as f:
                while True:
                    header = f.read(12)
                    if len(header) < 12:
                        break
                    (length,) = struct.unpack("<Q", header[:8])
                    head = f.read(min(length, _HEAD))
                    if len(head) < min(length, _HEAD):
                        break
                    f.seek(length - len(head) + 4, os.SEEK_CUR)
                    step, tag = _event_head(head)
                    if tag is None:
                        continue
                    tags.add(tag)
                    if tag not in (weights_lib.MODEL_SUMMARY_TAG, PLAN_TAG):
                        steps.add(step)
        except OSError:
            continue
    return steps, tags


def _varint(data, i):
    shift = result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, i


def _event_head(data):
    """`(step, first summary tag or None)` from the head of a serialised `Event`."""
    try:
        i, step = 0, 0
        while i < len(data):
            key, i = _varint(data, i)
            field, wire = key >> 3, key & 7
            if wire == 1:  # fixed64 (wall_time)
                i += 8
            elif wire == 0:
                value, i = _varint(data, i)
                if field == 2:
                    step = value - (1 << 64) if value >= 1 << 63 else value
            elif wire == 2:
                length, i = _varint(data, i)
                if field == 5:  # summary -> value (1) -> tag (1)
                    j = i
                    key, j = _varint(data, j)
                    if key != 0x0A:
                        return step, None
                    _, j = _varint(data, j)
                    key, j = _varint(data, j)
                    if key != 0x0A:
                        return step, None
                    n, j = _varint(data, j)
                    return step, bytes(data[j:j + n]).decode("utf-8", "replace")
                i += length
            else:
                return step, None
        return step, None
    except IndexError:
        return 0, None
