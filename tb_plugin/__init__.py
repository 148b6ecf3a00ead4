"""tensorboard-plugin-internals: see inside neural networks in TensorBoard.

Importing this package is cheap and never imports TensorFlow: the writer API
lives in ``tb_plugin.summary``, the reader in ``tb_plugin.reader`` and the
Keras callback in ``tb_plugin.keras``.
"""

from tb_plugin.version import VERSION as __version__  # noqa: F401
