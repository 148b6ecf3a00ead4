"""Regenerates the demo logs: `python -m tb_plugin.demo demo_logs`.

Trains a small CNN on scikit-learn's bundled 8x8 digits images (real data,
offline) with three learning rates and logs every layer each epoch through
`InternalsCallback`. The highest learning rate is high enough to kill ReLU
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
    """Trains one run into `logdir`, logging internals and loss/accuracy."""
    import keras

    from tb_plugin import summary
    from tb_plugin.keras import InternalsCallback

    x_train, y_train, x_test, y_test = load_digits()
    model = build_model(seed)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    scalars = summary.Writer(logdir, filename_suffix=".metrics")

    class MetricsToScalars(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            for name, value in (logs or {}).items():
                scalars.scalar("epoch_" + name, float(value), epoch + 1)

    model.fit(
        x_train,
        y_train,
        validation_data=(x_test, y_test),
        epochs=epochs,
        batch_size=32,
        verbose=0,
        callbacks=[
            InternalsCallback(logdir, x_test[:PROBE_SAMPLES], scalars=True),
            MetricsToScalars(),
        ],
    )
    scalars.close()
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logdir", help="where to write the demo runs (replaced)")
    parser.add_argument("--epochs", type=int, default=12)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for run in RUNS:
        shutil.rmtree(os.path.join(args.logdir, run), ignore_errors=True)
    for run, learning_rate in RUNS.items():
        train_run(os.path.join(args.logdir, run), learning_rate, args.epochs)
        print("wrote", os.path.join(args.logdir, run))


if __name__ == "__main__":
    main()
