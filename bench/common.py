"""Shared helpers of the benchmarks: test arrays, statistics, machine facts,
result files, and real TensorBoard processes.

The TensorBoard process helpers are the tests' own, from the pytest-free
`tests/tensorboard_process.py`.
"""

import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
# The same real-TensorBoard helpers as the tests (pytest-free module).
from tensorboard_process import http_get, running_tensorboard, tensorboard_process, wait_for_steps  # noqa: E402,F401

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
RESULTS_DIR = os.path.join(BENCH_DIR, "results")

CONV_SHAPE = (16, 32, 32, 64)  # batch, height, width, channels: 1 Mi values
DENSE_SHAPE = (64, 512)


# --------------------------------------------------------------------------
# Test arrays (all seeded, float32)


def _smooth_field(rng, shape, sigma):
    """Gaussian random field, low-passed over the spatial axes 1 and 2, unit variance."""
    noise = rng.standard_normal(shape)
    h, w = shape[1], shape[2]
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    # Fourier transform of a Gaussian blur with std `sigma` pixels.
    kernel = np.exp(-2.0 * (np.pi * sigma) ** 2 * (fy ** 2 + fx ** 2))
    spectrum = np.fft.rfft2(noise, axes=(1, 2)) * kernel[None, :, :, None]
    field = np.fft.irfft2(spectrum, s=(h, w), axes=(1, 2))
    field /= field.std(axis=(0, 1, 2), keepdims=True)
    return field


def relu_conv(seed=0, shape=CONV_SHAPE):
    """A realistic ReLU conv activation: spatially smooth, ~50% exact zeros.

    A smooth random field (Gaussian blur, sigma 2 px) per channel, with a
    per-channel gain (log-normal, as channels differ in scale) and a
    per-channel bias (some channels sparser than others), through ReLU.
    """
    rng = np.random.default_rng(seed)
    field = _smooth_field(rng, shape, sigma=2.0)
    channels = shape[-1]
    gain = np.exp(rng.normal(0.0, 0.5, channels))
    bias = rng.normal(0.0, 0.4, channels)
    pre = gain * (field + bias)
    return np.maximum(pre, 0.0).astype(np.float32)


def tanh_dense(seed=1, shape=DENSE_SHAPE):
    """A dense tanh layer's output: tanh(x @ W + b) on Gaussian inputs."""
    rng = np.random.default_rng(seed)
    fan_in = 256
    x = rng.standard_normal((shape[0], fan_in))
    w = rng.standard_normal((fan_in, shape[1])) * (1.5 / np.sqrt(fan_in))
    b = rng.normal(0.0, 0.3, shape[1])
    return np.tanh(x @ w + b).astype(np.float32)


def white_noise(seed=2, shape=CONV_SHAPE):
    """White Gaussian noise: the worst case for compression."""
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


ARRAYS = {
    "relu_conv 16x32x32x64": relu_conv,
    "tanh_dense 64x512": tanh_dense,
    "white_noise 16x32x32x64": white_noise,
}


# --------------------------------------------------------------------------
# Statistics


def median(values):
    return float(np.median(np.asarray(values, dtype=np.float64)))


def percentile(values, q):
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def quartiles(values):
    return percentile(values, 25), percentile(values, 75)


# --------------------------------------------------------------------------
# Machine facts and result files


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info(with_tf=True):
    import tensorboard

    info = {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "tensorboard": tensorboard.__version__,
        "platform": platform.platform(),
        "loadavg_1min_at_start": os.getloadavg()[0],
    }
    try:
        from importlib.metadata import version

        info["tensorboard_data_server"] = version("tensorboard-data-server")
    except Exception:  # noqa: BLE001 - informational only
        pass
    info.update(source_state())
    if with_tf:
        import tensorflow as tf

        info["tensorflow"] = tf.__version__
    return info


def source_state():
    """The measured code's git commit and uncommitted files (read-only git calls)."""
    root = os.path.dirname(BENCH_DIR)
    state = {}
    try:
        state["git_head"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", "tb_plugin"], cwd=root, capture_output=True, text=True, timeout=10
        ).stdout
        state["tb_plugin_uncommitted"] = sorted(line[3:] for line in status.splitlines())
    except (OSError, subprocess.SubprocessError):
        pass
    return state


def machine_line(info):
    parts = ["%d cores (nproc), %s" % (info["nproc"], info["cpu_model"]), "Python " + info["python"]]
    for key, label in (
        ("tensorflow", "TF"),
        ("tensorboard", "TB"),
        ("tensorboard_data_server", "data server"),
        ("numpy", "numpy"),
    ):
        if key in info:
            parts.append("%s %s" % (label, info[key]))
    if "loadavg_1min_at_start" in info:
        parts.append("1-min load average at start %.2f" % info["loadavg_1min_at_start"])
    if info.get("git_head"):
        dirty = info.get("tb_plugin_uncommitted")
        parts.append("code at %s%s" % (info["git_head"], " + uncommitted changes in %s" % ", ".join(dirty) if dirty else ""))
    return "; ".join(parts)


def write_results(name, data):
    """Writes `data` as JSON to bench/results/<name>-<timestamp>.json and <name>-latest.json."""
    os.makedirs(RESULTS_DIR, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    text = json.dumps(data, indent=2, sort_keys=True)
    paths = [os.path.join(RESULTS_DIR, "%s-%s.json" % (name, stamp)), os.path.join(RESULTS_DIR, "%s-latest.json" % name)]
    for path in paths:
        with open(path, "w") as f:
            f.write(text + "\n")
    return paths[0]


def markdown_table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
    return "\n".join(lines)


def dir_bytes(path):
    """Total size of the files under `path`."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(folder, name))
    return total


# --------------------------------------------------------------------------
# Memory of a real TensorBoard process tree (started by tensorboard_process)


def process_tree_rss(pid):
    """Resident memory in bytes of `pid` and its descendants (Linux /proc)."""
    total, stack, seen = 0, [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, task)) as f:
                    stack.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return total
