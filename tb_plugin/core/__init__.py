"""Framework-neutral logging: the snapshot pipeline, the budget plan, parts, layer selection,
the background writer and the run-directory scan.

A framework front door (`tb_plugin.keras`, later `tb_plugin.torch`) decides
*when* to log and provides a `ModelAdapter` (`tb_plugin.core.adapter`);
everything else happens here, with numpy only: this package never imports
TensorFlow, Keras or PyTorch.
"""
