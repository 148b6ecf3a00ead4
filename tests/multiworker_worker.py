"""One worker of the two-process MultiWorkerMirroredStrategy test (run as a script).

    TF_CONFIG=... python tests/multiworker_worker.py LOG_DIR   (no TF_CONFIG: a single worker)

Trains a small Dense model for 2 epochs with `InternalsCallback(LOG_DIR)`
under `tf.distribute.MultiWorkerMirroredStrategy`, the global batch split
over the workers, and prints the final weights' sums.

Two workarounds for Keras 3.15's own `fit` under this strategy, both in the
model, not in the callback (without them `fit` fails before any callback
runs):

* `Model._maybe_symbolic_build` passes the first `(x, y)` batch, a tuple of
  `PerReplica` values, to `strategy.reduce`, which cannot convert a tuple
  ("Attempt to convert a value (PerReplica:...) with an unsupported type");
  here each value is taken from the local replica instead.
* the train step's scalar logs are reduced with `strategy.reduce("MEAN", v,
  axis=0)` ("Invalid reduction dimension 0 for input with 0 dimensions",
  tensorflow/tensorflow#72388, keras-team/keras#20585); here `train_step`
  returns them with shape [1].
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tb_plugin.keras import InternalsCallback  # noqa: E402

GLOBAL_BATCH = 16


class Model(keras.Sequential):
    def train_step(self, data):
        return {k: tf.reshape(v, [1]) for k, v in super().train_step(data).items()}

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self.distribute_strategy
        if iterator is not None:
            for _, _, it in iterator:
                data_batch = keras.tree.map_structure(
                    lambda v: strategy.experimental_local_results(v)[0], next(it))
                break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)


def main(log_dir):
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = (x @ rng.normal(size=(6, 1))).astype("float32")
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH).with_options(options)
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = Model([keras.Input((6,)), keras.layers.Dense(5, activation="tanh", name="hidden"),
                       keras.layers.Dense(1, name="out")])
        model.compile(keras.optimizers.SGD(0.05), "mse")
    callback = InternalsCallback(log_dir, x[:8], encoding="f32", verbose=0, strict=True)
    model.fit(data, epochs=2, verbose=0, callbacks=[callback])
    print("RESULT " + json.dumps({"workers": strategy.num_replicas_in_sync, "chief": callback._chief,
                                  "weights": [float(np.sum(w)) for w in model.get_weights()]}))


if __name__ == "__main__":
    main(sys.argv[1])
