"""The Keras front door: `InternalsCallback` and its parts.

    from tb_plugin.keras import InternalsCallback
    model.fit(x, y, epochs=10, callbacks=[
        keras.callbacks.TensorBoard("logs/run1"),
        InternalsCallback("logs/run1", probe_data=x_val[:16]),
    ])

`callback` decides *when* to log; `adapter` answers the logging core's
questions about a Keras model (layers, probe pass, variables, gradients).
"""

try:
    import keras as _keras  # noqa: F401
except ImportError as _error:  # pragma: no cover - exercised in a venv without TensorFlow
    raise ImportError(
        "tb_plugin.keras needs Keras 3 and TensorFlow, which are not installed: "
        "pip install \"tensorboard-plugin-internals[tf]\" (the TF-free writer is tb_plugin.summary.Writer)"
    ) from _error

from tb_plugin.core.parts import Part  # noqa: E402,F401
from tb_plugin.core.parts.attribution import Attribution  # noqa: E402,F401
from tb_plugin.core.parts.class_statistics import ClassStatistics  # noqa: E402,F401
from tb_plugin.core.parts.embeddings import Embeddings  # noqa: E402,F401
from tb_plugin.keras.adapter import KerasAdapter  # noqa: E402,F401
from tb_plugin.keras.callback import InternalsCallback  # noqa: E402,F401
from tb_plugin.reader import read_plan  # noqa: E402,F401
