"""Compiled calls on the TensorFlow backend: one traced read of every variable, and calls
with Grappler's remapper off so that compiled values equal the eager layers' bit for bit.
"""

import keras
import numpy as np


def read_variables(variables, cache):
    """Copies of `variables` as numpy arrays from one compiled read, or None where that is unavailable.

    One TensorFlow function returning every variable's value (traced once
    per variable list, kept in `cache`) instead of one eager read and
    conversion per variable: a model of a few hundred variables is read in
    one call. Each value is the variable's at the call (TensorFlow copies a
    variable's buffer before updating it while a read of it is alive).
    Returns None off the TensorFlow backend or when the read cannot be
    compiled (the caller reads the variables one by one).
    """
    if cache is None or keras.backend.backend() != "tensorflow" or not variables:
        return None
    import tensorflow as tf

    key = tuple(id(v) for v in variables)
    entry = cache.get("read_variables")
    if entry is None or entry[0] != key:
        try:
            def read():
                return [tf.identity(v.value if isinstance(v, keras.Variable) else v) for v in variables]

            entry = (key, tf.function(read, autograph=False).get_concrete_function(), list(variables))
        except Exception:
            entry = (key, None, list(variables))
        cache["read_variables"] = entry
    if entry[1] is None:
        return None
    try:
        return [np.asarray(t.numpy()) for t in entry[1]()]
    except Exception:
        cache["read_variables"] = (key, None, list(variables))
        return None


def call_unfused(function, inputs, cache):
    """Calls a concrete function with Grappler's remapper off, for this thread and call only.

    TensorFlow reads the graph rewrite options of a function call from the
    calling thread's function-call options; these are swapped for a copy
    with `remapping` off around the call and restored after, so training's
    own functions are untouched. (A fused `MatMul + BiasAdd + Relu` differs
    from the eager ops by a few float32 ulps: a lossless `f32` map would
    then not be the layer's output.)
    """
    from tensorflow.core.protobuf import rewriter_config_pb2
    from tensorflow.python.eager import context

    ctx = context.context()
    saved = ctx.function_call_options
    options = cache.get("unfused_options")
    if options is None or options[0] is not saved:
        config = ctx.config
        config.allow_soft_placement = True  # as TensorFlow's own default for functions
        config.graph_options.rewrite_options.remapping = rewriter_config_pb2.RewriterConfig.OFF
        options = (saved, context.FunctionCallOptions(config_proto=config))
        cache["unfused_options"] = options
    ctx.function_call_options = options[1]
    try:
        return function(inputs)
    finally:
        ctx.function_call_options = saved
