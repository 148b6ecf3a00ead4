"""The attention demo: a one-layer transformer learns to reverse a sequence,
whose correct attention is the anti-diagonal (query i reads key n-1-i)."""

RUN = "transformer_reverse"
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
