"""Activation maximisation: what input a channel responds to most.

    python -m tb_plugin.visualize RUN_DIR --model model.keras --layer conv3 \\
        [--channels 0,1,5 | all] [--iterations 256] [--seconds 60] [--step S]

The CLI needs the model itself, as a saved Keras file (`model.save(
"model.keras")` at the end of training, or a checkpoint of the step you
want to see): the logs hold activations and weights, not a runnable model.

For each chosen channel of `--layer` it optimises an input (values in
`--range`, default 0 1) to maximise the channel's mean activation,
from dim noise
(uniform in [low, low + `--noise` x (high - low)], default 0.5), by gradient ascent with the regularisers of feature
visualisation (Olah et al. 2017): a random jitter of up to `--jitter` pixels
before every step, a total-variation penalty (`--tv`, times the mean squared
difference of neighbouring pixels), a 3x3 Gaussian blur every `--blur_every`
steps, and clipping to the range. All channels are optimised together in
one batch, keeping each channel's best image so far; it stops after `--iterations` steps or `--seconds` seconds,
whichever comes first (bounded time). The images are logged with a TF-free
`summary.Writer` into RUN_DIR as `feature_vis/<layer>` `[channels, h, w, c]`
(kind `activations`: the tab's sample axis is the channel) at `--step`
(default: the latest step logged in RUN_DIR), and the printed table gives
each channel's mean activation at the noise start and at the end.
"""

import argparse
import os
import sys
import time

import numpy as np


def _blur(tf, x):
    k = np.array([1.0, 2.0, 1.0], np.float32)
    k = np.outer(k, k) / 16.0
    channels = x.shape[-1]
    kernel = np.tile(k[:, :, None, None], (1, 1, channels, 1))
    return tf.nn.depthwise_conv2d(x, kernel, strides=[1, 1, 1, 1], padding="SAME")


def maximise(model, layer, channels, iterations=256, seconds=60.0, value_range=(0.0, 1.0), jitter=2, tv=0.5,
             blur_every=8, learning_rate=0.02, seed=0, noise=0.5):
    """`(images [len(channels), h, w, c], start means, end means, iterations run)`; see the module docstring."""
    import keras
    import tensorflow as tf

    target = model.get_layer(layer)
    shape = tuple(target.output.shape)
    if len(shape) not in (2, 4):
        raise ValueError("--layer %s: output %s is neither [batch, units] nor [batch, h, w, channels]" % (layer, shape))
    units = shape[-1]
    bad = [c for c in channels if not 0 <= c < units]
    if bad:
        raise ValueError("--channels %s: layer %s has channels 0..%d" % (bad, layer, units - 1))
    inputs = model.inputs[0]
    features = keras.Model(inputs, target.output)
    lo, hi = (float(v) for v in value_range)
    in_shape = tuple(int(d) for d in inputs.shape[1:])
    rng = np.random.default_rng(seed)
    # Dim, low-contrast noise at the bottom of the range.
    start = (lo + (hi - lo) * noise * rng.uniform(0, 1, (len(channels),) + in_shape)).astype(np.float32)
    x = tf.Variable(start)
    picks = tf.constant(np.asarray(channels, np.int32))

    def means(images):
        a = tf.reshape(features(images, training=False), (len(channels), -1, units))
        return tf.gather(tf.reduce_mean(a, axis=1), picks[:, None], batch_dims=1)[:, 0]

    begin = means(tf.constant(start)).numpy()
    best, best_images = begin.copy(), start.copy()
    deadline = time.monotonic() + seconds
    done = 0
    scale = (hi - lo)
    for done in range(1, iterations + 1):
        dy, dx = (int(v) for v in rng.integers(-jitter, jitter + 1, 2)) if jitter else (0, 0)
        with tf.GradientTape() as tape:
            moved = tf.roll(x, shift=[dy, dx], axis=[1, 2]) if len(in_shape) == 3 else x
            objective = tf.reduce_sum(means(moved))
            if len(in_shape) == 3 and tv:
                objective -= tv * len(channels) * (tf.reduce_mean(tf.square(moved[:, 1:] - moved[:, :-1]))
                                                   + tf.reduce_mean(tf.square(moved[:, :, 1:] - moved[:, :, :-1])))
        grad = tape.gradient(objective, x)
        norm = tf.sqrt(tf.reduce_mean(tf.square(grad), axis=list(range(1, len(grad.shape))), keepdims=True)) + 1e-8
        x.assign(tf.clip_by_value(x + learning_rate * scale * grad / norm, lo, hi))
        if len(in_shape) == 3 and blur_every and done % blur_every == 0:
            x.assign(_blur(tf, x))
        now = means(x).numpy()
        better = now > best
        if better.any():
            best[better] = now[better]
            best_images[better] = x.numpy()[better]
        if time.monotonic() > deadline:
            break
    return best_images, begin, means(tf.constant(best_images)).numpy(), done


def _latest_step(run_dir):
    from tb_plugin.keras import _scan_run_dir

    steps, _ = _scan_run_dir(run_dir)
    return max(steps) if steps else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", help="the run directory to log into")
    parser.add_argument("--model", required=True, help="a saved Keras model file (.keras), e.g. from model.save()")
    parser.add_argument("--layer", required=True, help="the layer name")
    parser.add_argument("--channels", default="all", help="comma-separated channel indices, or 'all' (default)")
    parser.add_argument("--iterations", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=60.0, help="time limit (the optimisation stops there)")
    parser.add_argument("--range", type=float, nargs=2, default=(0.0, 1.0), metavar=("LOW", "HIGH"),
                        help="the input's value range (noise start and clipping)")
    parser.add_argument("--noise", type=float, default=0.5, help="the start's noise, times the range's width")
    parser.add_argument("--jitter", type=int, default=2)
    parser.add_argument("--tv", type=float, default=0.5)
    parser.add_argument("--blur_every", type=int, default=8, help="0: no blur (jitter and total variation only)")
    parser.add_argument("--step", type=int, default=None, help="the step to log at (default: the run's latest)")
    args = parser.parse_args(argv)
    if not os.path.isfile(args.model):
        parser.error("--model %s: no such file; save the model with model.save('model.keras')" % args.model)
    import keras

    from tb_plugin import summary

    model = keras.models.load_model(args.model, compile=False)
    try:
        units = int(model.get_layer(args.layer).output.shape[-1])
    except ValueError:
        parser.error("--layer %s is not a layer of the model; layers: %s" % (
            args.layer, ", ".join(l.name for l in model.layers)))
    channels = list(range(units)) if args.channels == "all" else [int(c) for c in args.channels.split(",")]
    t = time.monotonic()
    images, begin, end, done = maximise(model, args.layer, channels, args.iterations, args.seconds, args.range,
                                        args.jitter, args.tv, args.blur_every, noise=args.noise)
    elapsed = time.monotonic() - t
    step = _latest_step(args.run_dir) if args.step is None else args.step
    tag = "feature_vis/" + args.layer
    with summary.Writer(args.run_dir) as writer:
        writer.activations(tag, images, step, encoding="f32", description=(
            "activation maximisation of channels %s of layer `%s` (one image per channel, in that order; %d "
            "iterations, jitter %d px, total variation %g, blur every %d): mean activation from the noise start "
            "to the end: %s" % (channels, args.layer, done, args.jitter, args.tv, args.blur_every,
                                ", ".join("%d: %.3g -> %.3g" % (c, b, e) for c, b, e in zip(channels, begin, end)))))
    print("%s at step %d: %d channels, %d iterations, %.1f s (%.2f s per channel)" % (
        tag, step, len(channels), done, elapsed, elapsed / max(1, len(channels))))
    for c, b, e in zip(channels, begin, end):
        print("  channel %d: mean activation %.4g (noise) -> %.4g" % (c, b, e))
    return {"channels": channels, "begin": begin, "end": end, "iterations": done, "seconds": elapsed, "step": step}


if __name__ == "__main__":
    main(sys.argv[1:])
