"""`InternalsCallback`: log every layer of any Keras 3 model during `fit`.

    from tb_plugin.keras import InternalsCallback
    model.fit(x, y, epochs=10, callbacks=[
        keras.callbacks.TensorBoard("logs/run1"),
        InternalsCallback("logs/run1", probe_data=x_val[:16]),
    ])

This module decides *when* to log (steps aligned with Keras's own
TensorBoard callback, the chief of a multi-worker run) and hands the rest to
the framework-neutral core (`tb_plugin.core.logger.Logger`) through the Keras
adapter (`tb_plugin.keras.adapter`), as Keras's callback hands writing to
`tf.summary`. The probe pass reads the weights and touches no training
state, so training proceeds exactly as without the callback.
"""

import numbers
import warnings

import keras
import numpy as np

from tb_plugin import summary
from tb_plugin.core import data as data_lib
from tb_plugin.core import plan as plan_lib
from tb_plugin.core import selection
from tb_plugin.core.logger import Logger
from tb_plugin.core.parts import Part
from tb_plugin.core.parts.attribution import Attribution
from tb_plugin.core.parts.class_statistics import ClassStatistics
from tb_plugin.core.parts.embeddings import Embeddings
from tb_plugin.format import encoding as encoding_lib
from tb_plugin.keras.adapter import KerasAdapter

# The step of the snapshot before training (epoch mode, fresh run).
INITIAL_STEP = -1

# Keyword arguments of the optional features before they were parts: each
# still works for one release, with a DeprecationWarning naming the new form.
_EMBEDDING_KEYWORDS = {
    "embedding_layers": "layers", "embedding_data": "data", "embedding_freq": "every",
    "embedding_samples": "samples", "embedding_columns": "columns", "embedding_class_names": "class_names",
    "embedding_thumbnails": "thumbnails", "embedding_encoding": "encoding", "embedding_projector": "projector",
    "embedding_batch_size": "batch_size",
}
_CLASS_KEYWORDS = {
    "class_data": "data", "class_names": "class_names", "class_layers": "layers", "class_samples": "samples",
    "class_freq": "every",
}


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
    (`logging_plan`, also printed). Optional features are parts
    (`tb_plugin.core.parts`): `Embeddings`, `ClassStatistics`,
    `Attribution`; attribution maps are on by default when `probe_data=(x,
    y)` carries class labels.

    Names are stable (`tb_plugin.keras.naming`): automatic Keras names are
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
    (`tb_plugin.core.plan`, default 16 MiB): statistics and change series
    always, full weights of a rotating share of the variables (each variable
    every N snapshots), maps for as many layers and samples as fit. What was
    reduced is printed once and logged. Explicit requests (`layers=`,
    `map_samples=`, `weights_freq=`) are kept as asked, with one warning
    stating the size when they exceed the budget; `budget=None` logs
    everything at every snapshot.

    Args:
      log_dir: the run directory to write to (a new event file in it). The
        same directory as `keras.callbacks.TensorBoard(log_dir)` keeps the
        scalars and the internals in one run.
      probe_data: the fixed probe inputs: a batch `x` or `(x, y)` (y: class
        labels of the probe samples, used by attribution) in any form the
        model accepts (array, nested list of numbers, list or dict of
        arrays; a tuple is read as `(x, y)`, so pass several inputs as a
        list), or a `tf.data.Dataset`, `keras.utils.PyDataset` or generator
        of such batches, of which the first `probe_samples` samples are
        taken (a message says so; a generator's batches are consumed, so
        pass a separate one). A model `fit` has not built yet is built from
        the probe's shapes, batch axis aside.
      parts: optional features, each a part object with its own arguments:
        `Embeddings(layers, data, ...)`, `ClassStatistics(data, ...)`,
        `Attribution(methods=..., ...)` (`tb_plugin.core.parts`).
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

    Deprecated (one release; each warns with the new form): `attribution=`
    (use `parts=[Attribution(...)]`), `embedding_*=` (`Embeddings(...)`),
    `class_data=`, `class_names=`, `class_layers=`, `class_samples=`,
    `class_freq=` (`ClassStatistics(...)`).

    Under `tf.distribute.MultiWorkerMirroredStrategy` only the chief writes
    (every worker checks the arguments and the probe pass at train begin;
    `tests/test_keras_multiworker.py` runs two worker processes, and
    `tests/multiworker_worker.py` shows the two workarounds Keras 3.15's own
    `fit` needs under that strategy); under `MirroredStrategy` the one
    process logs once per step.

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
        parts=None,
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
        **deprecated,
    ):
        super().__init__()
        if encoding not in encoding_lib.ENCODINGS:
            raise ValueError("encoding=%r is unknown; use 'q8' or 'f32'" % (encoding,))
        if weights_encoding not in encoding_lib.ENCODINGS:
            raise ValueError("weights_encoding=%r is unknown; use 'f32' or 'q8'" % (weights_encoding,))
        self.probe_samples = _count("probe_samples", probe_samples, 1)
        self.batch_freq = _count("batch_freq", batch_freq, 1, allow_none=True)
        self.epoch_freq = _count("epoch_freq", epoch_freq, 0)
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, numbers.Real) or budget <= 0):
            raise ValueError("budget must be a positive number of bytes per snapshot (e.g. 16 * 2**20) or None "
                             "(no budget), got %r" % (budget,))
        if attention_fn is not None and not callable(attention_fn):
            raise ValueError("attention_fn must be callable(layer, outputs), got %r" % (attention_fn,))
        self.log_dir = str(log_dir)
        self.probe_x, self.probe_y, self.probe_note = data_lib.probe_inputs(probe_data, self.probe_samples)
        self.attention_fn = attention_fn
        self.log_initial = bool(log_initial)
        parts = _parts(parts, deprecated)
        if not any(isinstance(p, Attribution) for p in parts):
            # Attribution maps are on by default for labelled probe data
            # (`Attribution(auto=True)`), or as the deprecated keyword asks.
            attribution = Attribution.from_keyword(deprecated.get("attribution"))
            if attribution is not None and (self.probe_y is not None or not attribution.auto):
                parts.append(attribution)
        self.parts = parts
        self.logger = Logger(
            self.log_dir,
            selectors=selection.parse(layers),
            probe_samples=self.probe_samples,
            map_samples=_count("map_samples", map_samples, 0, allow_none=True),
            encoding=encoding,
            max_values=_count("max_values", max_values, 1, allow_none=True),
            scalars=scalars,
            probe_tokens=_probe_tokens(attention_tokens, self.probe_samples),
            weights_freq=_count("weights_freq", weights_freq, 0, allow_none=True),
            weights_encoding=weights_encoding,
            log_model_summary=log_model_summary,
            budget=None if budget is None else int(budget),
            background=background,
            strict=strict,
            verbose=verbose,
            parts=parts,
            who="InternalsCallback",
        )
        self._adapter = None
        self._pending_initial = None
        self._global_batch = 0
        self._epoch = 0
        if self.batch_freq:
            # Only then: a batch-end hook makes Keras wait for every batch
            # (no async dispatch), which costs time in epoch mode.
            self.on_train_batch_end = self._on_train_batch_end

    @property
    def plan(self):
        """The logging plan of the current (or last) fit, or None before it."""
        return self.logger.plan

    @property
    def _chief(self):
        return self.logger.chief

    # Keras hooks -----------------------------------------------------------

    def on_train_begin(self, logs=None):
        self._global_batch = 0
        if self._adapter is None or self._adapter.model is not self.model:
            # One adapter per model: its compiled probe pass, variable read and
            # gradient passes serve every later fit() of the same model.
            self._adapter = KerasAdapter(self.model, attention_fn=self.attention_fn)
        adapter = self._adapter
        selected = self.logger.begin(
            adapter, self.probe_x, self.probe_y, self.probe_note,
            mode="batch" if self.batch_freq else "epoch", every=self.batch_freq or self.epoch_freq,
            initial_step=self._initial_step_doc())
        if self.log_initial and self.logger.chief:
            if self.batch_freq:
                self.logger.snapshot(0, selected, initial=True)
            else:
                # Logged at the first epoch's start, which knows the epoch
                # number (fit may resume from initial_epoch).
                self._pending_initial = selected

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if not self.logger.chief:
            return
        self.logger.failures.report()
        if self._pending_initial is not None:
            records, self._pending_initial = self._pending_initial, None
            self.logger.snapshot(epoch - 1, records, initial=True)

    def on_train_batch_begin(self, batch, logs=None):
        self._global_batch += 1
        if not self.logger.chief:
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
            self.logger.before_last_batch()

    def on_epoch_end(self, epoch, logs=None):
        if self.logger.chief and not self.batch_freq and self.epoch_freq and epoch % self.epoch_freq == 0:
            self.logger.snapshot(epoch)

    def _on_train_batch_end(self, batch, logs=None):
        if self.logger.chief and self._global_batch % self.batch_freq == 0:
            self.logger.snapshot(self._global_batch)

    def on_train_end(self, logs=None):
        self._pending_initial = None
        self.logger.end()

    def _initial_step_doc(self):
        if self.batch_freq:
            return {"step": 0, "meaning": "before training (batch 0)"}
        return {"step": INITIAL_STEP,
                "meaning": "before training (a resumed fit: the model after epoch initial_epoch - 1, at that step)"}


def _parts(parts, deprecated):
    """The part objects of `parts=` and of the deprecated feature keywords (warning for those)."""
    parts = [] if parts is None else list(parts) if isinstance(parts, (list, tuple)) else [parts]
    for p in parts:
        if not isinstance(p, Part):
            raise ValueError("parts= takes part objects such as Embeddings(...), ClassStatistics(...) or "
                             "Attribution(...) from tb_plugin.keras, got %r" % (p,))
    unknown = sorted(set(deprecated) - set(_EMBEDDING_KEYWORDS) - set(_CLASS_KEYWORDS) - {"attribution"})
    if unknown:
        raise TypeError("InternalsCallback() got an unexpected keyword argument %r" % unknown[0])
    for keywords, cls in ((_EMBEDDING_KEYWORDS, Embeddings), (_CLASS_KEYWORDS, ClassStatistics),
                          ({"attribution": None}, Attribution)):
        given = sorted(k for k in deprecated if k in keywords)
        if given and any(isinstance(p, cls) for p in parts):
            raise ValueError("InternalsCallback got both parts=[%s(...)] and the deprecated %s=; pass the "
                             "feature once, as the part" % (cls.__name__, given[0]))
    embedding = {_EMBEDDING_KEYWORDS[k]: v for k, v in deprecated.items() if k in _EMBEDDING_KEYWORDS}
    if embedding:
        _warn_deprecated(sorted(k for k in deprecated if k in _EMBEDDING_KEYWORDS), "Embeddings", embedding)
        if embedding.get("layers") is None:
            if embedding.get("data") is not None:
                raise ValueError("embedding_data is given but embedding_layers is not: name the layers to embed, "
                                 "e.g. parts=[Embeddings(layers=['dense'], data=(x, y))]")
        else:
            layers, data = embedding.pop("layers"), embedding.pop("data", None)
            if data is None:
                raise ValueError("embedding_layers needs embedding_data: the samples to embed, as x or (x, y) "
                                 "(y: one label per sample); e.g. parts=[Embeddings(layers, data=(x, y))]")
            with _old_names("Embeddings", _EMBEDDING_KEYWORDS):
                parts.append(Embeddings(layers, data, **embedding))
    classes = {_CLASS_KEYWORDS[k]: v for k, v in deprecated.items() if k in _CLASS_KEYWORDS}
    if classes:
        _warn_deprecated(sorted(k for k in deprecated if k in _CLASS_KEYWORDS), "ClassStatistics", classes)
        if classes.get("data") is None:
            if classes.get("class_names") is not None or classes.get("layers") is not None:
                raise ValueError("class_names and class_layers describe class_data; pass "
                                 "parts=[ClassStatistics(data=(x_val, y_val), ...)]")
        else:
            with _old_names("ClassStatistics", _CLASS_KEYWORDS):
                parts.append(ClassStatistics(**classes))
    if "attribution" in deprecated:
        warnings.warn("InternalsCallback(attribution=...) is deprecated and will be removed in the next release; "
                      "pass parts=[Attribution(...)] (tb_plugin.keras.Attribution)", DeprecationWarning, stacklevel=3)
    return parts


class _old_names:
    """Errors of a part built from deprecated keywords name the keyword the user wrote too."""

    def __init__(self, part, keywords):
        self.names = [("%s(%s=)" % (part, new), "%s= (%s(%s=))" % (old, part, new)) for old, new in keywords.items()]

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if kind is ValueError:
            message = str(error)
            for new, both in self.names:
                message = message.replace(new, both)
            raise ValueError(message) from None
        return False


def _warn_deprecated(keywords, part, arguments):
    given = ", ".join("%s=..." % k for k in sorted(arguments))
    warnings.warn("InternalsCallback(%s) is deprecated and will be removed in the next release; pass "
                  "parts=[%s(%s)] (tb_plugin.keras.%s)" % (", ".join(k + "=..." for k in keywords), part, given, part),
                  DeprecationWarning, stacklevel=4)


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
