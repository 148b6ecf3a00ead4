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

from tb_plugin.demo import attribution, classes, digits, transformer


def demo_runs():
    """Every demo run: name -> `train(run_dir, epochs)`, in the order they are written.

    A feature's known-answer demo adds its own module to this package and one
    entry here.
    """
    runs = {run: (lambda d, e, lr=lr: digits.train_run(d, lr, e)) for run, lr in digits.RUNS.items()}
    runs[transformer.RUN] = lambda d, e: transformer.train_transformer(d, epochs=e)
    runs[attribution.RUN] = lambda d, e: attribution.train(d, epochs=min(e, 6))
    runs[classes.RUN] = lambda d, e: classes.train(d, epochs=e)  # digits with a designed 1/7 confusion
    return runs


def main(argv=None):
    runs = demo_runs()
    parser = argparse.ArgumentParser(prog="python -m tb_plugin.demo", description=__doc__.splitlines()[0])
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
