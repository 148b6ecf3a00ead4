"""The attribution demo: a known answer for "where does the model look?".

Each image is 32x32 noise (uniform in [0, NOISE]) with, at a random place,
a diagonal cross "x" (class 0) or an upright cross "plus" (class 1), both
drawn in 2-pixel strokes of value 1 within an OBJECT x OBJECT box, or no
object (class 2, "empty"). The class is decided by the object alone. Two
thin crosses (not a filled square against a cross) and the "empty" class
keep the task honest: with a filled square the model learnt "cross" as
"less bright area" and its evidence for a cross lay in the background; with
two shapes only, one is learnt as "not the other". A trained model's
evidence for a shape must lie inside the object's box, which is derivable
from any logged image (the pixels above `NOISE`, `object_box`). The probe
samples all hold an object.
A small CNN (conv-pool-conv-conv-global pooling-softmax; Grad-CAM on conv3 at 16x16) learns it in
a few epochs; `InternalsCallback` logs the attribution maps of 12 labelled
probe images at every epoch, from step -1 (before training).
"""

import numpy as np

RUN = "attribution_shapes"
SIZE, OBJECT, NOISE = 32, 10, 0.4
CLASS_NAMES = ["x", "plus", "empty"]
PROBE = 12


def shapes_data(samples, seed=0, empty=True):
    """(x [n, 32, 32, 1] float32, y [n] int32, boxes [n, 4] (top, left, bottom, right), exclusive ends;
    all zeros for "empty"). `empty=False`: objects only."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, NOISE, (samples, SIZE, SIZE, 1)).astype("float32")
    y = rng.integers(0, 3 if empty else 2, samples).astype("int32")
    boxes = np.zeros((samples, 4), "int64")
    for i in range(samples):
        top, left = rng.integers(0, SIZE - OBJECT + 1, 2)
        if y[i] == 2:
            continue
        _draw(x[i, ..., 0], top, left, SHAPES[y[i]])
        boxes[i] = (top, left, top + OBJECT, left + OBJECT)
    return x, y, boxes


def _plus():
    m = np.zeros((OBJECT, OBJECT), bool)
    mid = OBJECT // 2
    m[mid - 1:mid + 1], m[:, mid - 1:mid + 1] = True, True
    return m


def _x():
    m = np.zeros((OBJECT, OBJECT), bool)
    i = np.arange(OBJECT)
    m[i, i] = m[i, OBJECT - 1 - i] = True
    m[i[:-1] + 1, i[:-1]] = m[i[:-1] + 1, OBJECT - 1 - i[:-1]] = True
    return m


SHAPES = (_x(), _plus())


def _draw(image, top, left, mask):
    image[top:top + OBJECT, left:left + OBJECT][mask] = 1.0


def object_box(image):
    """(top, left, bottom, right) of the pixels above the noise level (the object), exclusive ends."""
    mask = np.asarray(image).reshape(SIZE, SIZE, -1).max(axis=-1) > (1 + NOISE) / 2
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def build_model(seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 1), name="image"),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(2, name="pool1"),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu", use_bias=False, name="conv2"),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu", use_bias=False, name="conv3"),
            keras.layers.GlobalAveragePooling2D(name="gap"),
            keras.layers.Dense(3, activation="softmax", name="probabilities"),
        ],
        name="shapes_cnn",
    )


def train(logdir, epochs=6, samples=2000, seed=0, callback=True, **callback_args):
    """Trains the shapes CNN into `logdir` with attribution at every epoch from step -1.

    Returns (model, probe x, probe y, probe boxes)."""
    import keras

    from tb_plugin.keras import Attribution, InternalsCallback

    x, y, _ = shapes_data(samples, seed)
    px, py, boxes = shapes_data(PROBE, seed + 1, empty=False)
    model = build_model(seed)
    model.compile(optimizer=keras.optimizers.Adam(0.003), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    callbacks = []
    if callback:
        args = dict(verbose=0, layers=["conv3", "probabilities"], parts=[Attribution(class_names=CLASS_NAMES)])
        args.update(callback_args)
        callbacks.append(InternalsCallback(logdir, (px, py), **args))
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, callbacks=callbacks)
    return model, px, py, boxes
