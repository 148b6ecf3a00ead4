"""The digits demo: a small CNN on scikit-learn's bundled 8x8 digits, three learning rates.

Real data, offline. The highest learning rate is high enough to kill ReLU
units, so the dead-unit flags have something real to show; every run embeds
the 297 test digits in `conv2` and `dense1`.
"""

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

    from tb_plugin.keras import Embeddings, InternalsCallback

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
                parts=[Embeddings(EMBEDDING_LAYERS, (x_test, y_test), class_names=[str(d) for d in range(10)])],
            ),
        ],
    )
    return model
