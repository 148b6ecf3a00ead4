"""`python -m tb_plugin.projector LOGDIR RUN TAG [--step S]`: the Projector hand-off as a command.

The hand-off itself is `tb_plugin.format.projector.hand_off`; this command
reads the logged rows through the `Reader`.
"""

import argparse
import os
import sys

from tb_plugin.reader import Reader
from tb_plugin.format.projector import hand_off


def main(argv=None):
    parser = argparse.ArgumentParser(description="Hands one logged embedding to TensorBoard's Projector.")
    parser.add_argument("logdir")
    parser.add_argument("run")
    parser.add_argument("tag")
    parser.add_argument("--step", type=int, default=None, help="the step to hand off (default: the latest)")
    args = parser.parse_args(argv)
    reader = Reader(args.logdir)
    steps = reader.steps(args.run, args.tag)
    step = steps[-1] if args.step is None else args.step
    rows = reader.read(args.run, args.tag, step)
    doc, thumbnails = reader.embedding_extras(args.run, args.tag, step)
    run_dir = os.path.join(args.logdir, args.run)
    path = hand_off(run_dir, args.tag, rows, doc, thumbnails, step=step)
    print("wrote %s (%s at step %d); open TensorBoard's Projector tab and pick run %r" % (path, args.tag, step, args.run))




if __name__ == "__main__":
    sys.exit(main())
