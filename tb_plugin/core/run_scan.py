"""What a run directory already holds: the steps and tags this plugin's writer logged there.

A new fit (or process) writing into a run directory must not log a step
twice, nor the once-per-run documents again; this scan tells it what is
there without TensorFlow and without reading payloads.
"""

import glob
import os
import struct

from tb_plugin import kinds

PLAN_TAG = kinds.LOGGING_PLAN.tag
MODEL_SUMMARY_TAG = kinds.MODEL_SUMMARY.tag

_HEAD = 1024  # bytes of each record read: wall time, step, first tag


def scan(log_dir):
    """`(steps, tags)` already logged by this plugin's writer in `log_dir`.

    Reads only the head of each record (the event's step and its first
    summary tag), seeking past payloads, so large runs scan quickly. Steps
    are those of array and statistics tags (not of `model_summary` and
    `logging_plan`).
    """
    steps, tags = set(), set()
    for path in sorted(glob.glob(os.path.join(log_dir, "events.out.tfevents.*"))):
        if ".internals" not in os.path.basename(path):
            continue
        try:
            with open(path, "rb") as f:
                while True:
                    header = f.read(12)
                    if len(header) < 12:
                        break
                    (length,) = struct.unpack("<Q", header[:8])
                    head = f.read(min(length, _HEAD))
                    if len(head) < min(length, _HEAD):
                        break
                    f.seek(length - len(head) + 4, os.SEEK_CUR)
                    step, tag = _event_head(head)
                    if tag is None:
                        continue
                    tags.add(tag)
                    if tag not in (MODEL_SUMMARY_TAG, PLAN_TAG):
                        steps.add(step)
        except OSError:
            continue
    return steps, tags


def _varint(data, i):
    shift = result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, i


def _event_head(data):
    """`(step, first summary tag or None)` from the head of a serialised `Event`."""
    try:
        i, step = 0, 0
        while i < len(data):
            key, i = _varint(data, i)
            field, wire = key >> 3, key & 7
            if wire == 1:  # fixed64 (wall_time)
                i += 8
            elif wire == 0:
                value, i = _varint(data, i)
                if field == 2:
                    step = value - (1 << 64) if value >= 1 << 63 else value
            elif wire == 2:
                length, i = _varint(data, i)
                if field == 5:  # summary -> value (1) -> tag (1)
                    j = i
                    key, j = _varint(data, j)
                    if key != 0x0A:
                        return step, None
                    _, j = _varint(data, j)
                    key, j = _varint(data, j)
                    if key != 0x0A:
                        return step, None
                    n, j = _varint(data, j)
                    return step, bytes(data[j:j + n]).decode("utf-8", "replace")
                i += length
            else:
                return step, None
        return step, None
    except IndexError:
        return 0, None
