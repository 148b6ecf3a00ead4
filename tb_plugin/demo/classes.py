"""The class-statistics demo: digits with a designed confusion (`demo.py` entry "confused_1_7").

scikit-learn's bundled 8x8 digits (real data, offline), with one fixed
transform: every image of a 7 is blended with an image of a 1
(`BLEND` of the 1, the rest of the 7; the 1 is the next one in the data
set), so 7s and 1s look alike. The demo CNN of `tb_plugin.demo` trains on
them; `InternalsCallback(parts=[ClassStatistics(...)])` logs the class statistics of the
held-out split every epoch. Known answer: 1 and 7 are the most confused
pair, and their class means are among the most similar in the last hidden
layer (`dense1`), at every trained step.
"""

import numpy as np

RUN = "confused_1_7"
A, B = 1, 7
BLEND = 0.8
CLASS_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def confused_digits():
    """(x_train, y_train, x_test, y_test) of the digits with every 7 blended into a 1."""
    from tb_plugin.demo.digits import load_digits

    parts = list(load_digits())
    for i in (0, 2):
        x, y = parts[i].copy(), parts[i + 1]
        ones = np.nonzero(y == A)[0]
        for j in np.nonzero(y == B)[0]:
            one = ones[np.searchsorted(ones, j) % len(ones)]
            x[j] = (1 - BLEND) * x[j] + BLEND * x[one]
        parts[i] = x
    return tuple(parts)


def train(logdir, epochs=12, seed=0, **callback_args):
    """Trains the demo CNN on the confused digits into `logdir`; returns the model."""
    import keras

    from tb_plugin.demo.digits import PROBE_SAMPLES, build_model
    from tb_plugin.keras import ClassStatistics, InternalsCallback

    x_train, y_train, x_test, y_test = confused_digits()
    model = build_model(seed)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
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
                logdir, x_test[:PROBE_SAMPLES], verbose=0, map_samples=8,
                parts=[ClassStatistics((x_test, y_test), class_names=CLASS_NAMES)],
                **callback_args,
            ),
        ],
    )
    return model
