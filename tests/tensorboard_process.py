"""Real TensorBoard processes on 127.0.0.1, for the tests and the benchmarks.

Kept free of pytest so that `bench/` can use it without the test runner.
"""

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=30):
    """(status, headers, body bytes) of a GET, also for error statuses."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def tensorboard_command(python=sys.executable):
    """How to start the `tensorboard` of the given interpreter."""
    return [python, "-m", "tensorboard.main"]


# How many TensorBoard processes this interpreter started (tests/conftest.py
# checks its test tiers with it).
STARTED = [0]

_BIND_ATTEMPTS = 3


def _start(command_for_port, timeout):
    """Starts a server on a free port and waits until it answers; another try
    on a new port when the one picked was taken before the server bound it
    (another process, e.g. a parallel test worker, got it in between)."""
    for attempt in range(_BIND_ATTEMPTS):
        port = free_port()
        log = open(os.path.join(tempfile.gettempdir(), "tensorboard-%d-%d.log" % (port, os.getpid())), "wb")
        process = subprocess.Popen(command_for_port(port), stdout=log, stderr=subprocess.STDOUT)
        STARTED[0] += 1
        url = "http://127.0.0.1:%d" % port
        deadline = time.time() + timeout
        try:
            while True:
                if process.poll() is not None:
                    log.flush()
                    with open(log.name, "rb") as f:
                        taken = b"could not bind to port" in f.read().lower()
                    if taken and attempt + 1 < _BIND_ATTEMPTS:
                        break
                    raise RuntimeError("tensorboard exited with %s; see %s" % (process.returncode, log.name))
                try:
                    status, _, _ = http_get(url + "/data/plugin/internals/tags", timeout=5)
                    if status == 200:
                        return url, process, log
                except OSError:
                    pass
                if time.time() > deadline:
                    raise RuntimeError("tensorboard did not answer within %ds; see %s" % (timeout, log.name))
                time.sleep(0.5)
        except BaseException:
            _stop(process, log)
            raise
        _stop(process, log)
    raise AssertionError("unreachable")


def _stop(process, log):
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


@contextlib.contextmanager
def tensorboard_process(logdir, load_fast, python=sys.executable, extra_args=(), timeout=120,
                        logdir_flag="--logdir"):
    """Starts `tensorboard` on 127.0.0.1 and yields (base URL, Popen).

    Waits until the plugin's tag listing answers and stops the process
    afterwards. `load_fast` is "true" (Rust data server) or "false";
    `logdir_flag="--logdir_spec"` passes `logdir` as a `name:path,...` spec.
    """
    def command(port):
        return tensorboard_command(python) + [
            logdir_flag, str(logdir), "--host", "127.0.0.1", "--port", str(port),
            "--load_fast=%s" % load_fast, "--reload_interval=1",
        ] + list(extra_args)

    url, process, log = _start(command, timeout)
    try:
        yield url, process
    finally:
        _stop(process, log)


@contextlib.contextmanager
def running_tensorboard(logdir, load_fast, python=sys.executable, extra_args=(), timeout=120,
                        logdir_flag="--logdir"):
    """As `tensorboard_process`, yielding only the base URL."""
    with tensorboard_process(logdir, load_fast, python, extra_args, timeout, logdir_flag) as (url, _):
        yield url


def wait_for_steps(url, run, tag, count, timeout=90):
    """Waits until TensorBoard has loaded `count` steps of run/tag."""
    deadline = time.time() + timeout
    while True:
        status, _, body = http_get(url + "/data/plugin/internals/steps?" + urlencode({"run": run, "tag": tag}))
        if status == 200 and len(json.loads(body)["steps"]) >= count:
            return
        if time.time() > deadline:
            raise RuntimeError("%s/%s did not reach %d steps in time" % (run, tag, count))
        time.sleep(0.5)
