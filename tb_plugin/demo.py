"""Regenerates the demo logs: `python -m tb_plugin.demo demo_logs`.

Trains a small CNN on scikit-learn's bundled 8x8 digits images (real data,
offline) with three learning rates and logs every layer each epoch through
`InternalsCallback`, with embeddings of the 297 test digits in `conv2` and
`dense1` (labels, thumbnails, a Projector hand-off of the last epoch). The highest learning rate is high enough to kill ReLU
units, so the dead-unit flags have something real to show. Needs the
`demo` extra (TensorFlow and scikit-learn).
"""

import argparse
import os
import shutil

# Learning rate per run name; Adam.
# 0.03 is high enough to kill many ReLU units while the net still learns.
RUNS = {"lr_0.001": 0.001, "lr_0.01": 0.01, "lr_0.03_dead_units": 0.03}
PROBE_SAMPLES = 16
# Layers whose representation of the test digits is logged as embeddings.
EMBEDDING_LAYERS = ["conv2", "dense1"]


def load_digits():
    """(x_train, y_train, x_test, y_test): digits as [n, 8, 8, 1] in [0, 1]."""
    from sklearn import datasets

    digits = datasets.load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]
    y = digits.target.astype("int32")
    split = 1500
    return x[:split], y[:split], x[split:], y[split:]


def build_model(seed=0):
    """The demo CNN: conv-conv-pool-dense-softmax, about 6k parameters."""
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((8, 8, 1), name="digit"),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1"),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2"),
            keras.layers.MaxPooling2D(2, name="pool"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(32, activation="relu", name="dense1"),
            keras.layers.Dense(10, activation="softmax", name="probabilities"),
        ],
        name="digits_cnn",
    )


def train_run(logdir, learning_rate, epochs, seed=0):
    """Trains one run into `logdir`, logging internals and, as users do, loss
    and accuracy with Keras's own TensorBoard callback (its `train/` and
    `validation/` runs below `logdir`). Both log the model after epoch e at
    step e; the internals also log step -1, before training."""
    import keras

    from tb_plugin.keras import InternalsCallback

    x_train, y_train, x_test, y_test = load_digits()
    model = build_model(seed)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        x_train,
        y_train,
        validation_data=(x_test, y_test),
        epochs=epochs,
        batch_size=32,
        verbose=0,
        callbacks=[
            keras.callbacks.TensorBoard(logdir),
            InternalsCallback(
                logdir, x_test[:PROBE_SAMPLES], scalars=True, verbose=0,
                # Every test digit's representation in a conv layer (pooled over space) and the
                # hidden dense layer, labelled, with the 8x8 digits as thumbnails (automatic).
                embedding_layers=EMBEDDING_LAYERS, embedding_data=(x_test, y_test),
                embedding_class_names=[str(d) for d in range(10)],
            ),
        ],
    )
    return model


# The attention demo: a one-layer transformer learns to reverse a sequence,
# whose correct attention is the anti-diagonal (query i reads key n-1-i).
TRANSFORMER_RUN = "transformer_reverse"
SEQ_LEN, VOCAB, D_MODEL, HEADS = 6, 8, 16, 2
TOKEN_NAMES = "ABCDEFGH"


def reverse_data(samples, seed=0):
    """(x, y): random token sequences [samples, SEQ_LEN] and their reversals."""
    import numpy as np

    x = np.random.default_rng(seed).integers(0, VOCAB, size=(samples, SEQ_LEN)).astype("int32")
    return x, x[:, ::-1].copy()


def build_transformer(seed=0):
    """Token + position embeddings, one MultiHeadAttention, a per-position
    softmax over the vocabulary. No residual path: every output must come
    through attention, so the attention shows how the model solves the task."""
    import keras

    keras.utils.set_random_seed(seed)
    tokens = keras.Input((SEQ_LEN,), dtype="int32", name="tokens")
    class AddPositions(keras.layers.Layer):
        """Adds a learned embedding of each position."""

        def build(self, input_shape):
            self.positions = self.add_weight(
                shape=tuple(input_shape[1:]), initializer=keras.initializers.RandomNormal(stddev=0.5), name="positions"
            )

        def call(self, x):
            return x + self.positions

    embedded = keras.layers.Embedding(VOCAB, D_MODEL, name="token_embedding")(tokens)
    h = AddPositions(name="embed")(embedded)
    h = keras.layers.MultiHeadAttention(HEADS, D_MODEL // HEADS, name="self_attention")(h, h)
    out = keras.layers.Dense(VOCAB, activation="softmax", name="next_token")(h)
    return keras.Model(tokens, out, name="reverser")


def token_labels(x):
    """Readable labels per sample and position, e.g. "C" (token 2)."""
    return [[TOKEN_NAMES[int(t)] for t in row] for row in x]


def train_transformer(logdir, epochs=8, samples=2000, probe=4, seed=0, **callback_args):
    """Trains the reversing transformer into `logdir`, logging every epoch.

    Returns the model and the probe batch.
    """
    import keras

    from tb_plugin.keras import InternalsCallback

    x, y = reverse_data(samples, seed)
    probe_x, _ = reverse_data(probe, seed + 1)
    model = build_transformer(seed)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=64,
        verbose=0,
        callbacks=[
            InternalsCallback(
                logdir, probe_x, probe_samples=probe, attention_tokens=token_labels(probe_x),
                **dict({"verbose": 0}, **callback_args)
            )
        ],
    )
    return model, probe_x


def demo_runs():
    """Every demo run: name -> `train(run_dir, epochs)`, in the order they are written.

    A feature's known-answer demo adds one entry here (its training code in
    its own module).
    """
    runs = {run: (lambda d, e, lr=lr: train_run(d, lr, e)) for run, lr in RUNS.items()}
    runs[TRANSFORMER_RUN] = lambda d, e: train_transformer(d, epochs=e)
    from tb_plugin import demo_attribution

    runs[demo_attribution.RUN] = lambda d, e: demo_attribution.train(d, epochs=min(e, 6))
    from tb_plugin import demo_classes  # digits with a designed 1/7 confusion (class statistics)

    runs[demo_classes.RUN] = lambda d, e: demo_classes.train(d, epochs=e)
    return runs


def main(argv=None):
    runs = demo_runs()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logdir", help="where to write the demo runs (each one replaced)")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--only", action="append", choices=sorted(runs), metavar="RUN",
                        help="write only this run (repeatable); default: every run")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for run in args.only or list(runs):
        run_dir = os.path.join(args.logdir, run)
        shutil.rmtree(run_dir, ignore_errors=True)
        runs[run](run_dir, args.epochs)
        print("wrote", run_dir)


if __name__ == "__main__":
    main()
