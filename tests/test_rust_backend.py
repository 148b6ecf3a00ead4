"""The same answers from a real `tensorboard` on the Rust data server and on the Python multiplexer."""

import concurrent.futures
import contextlib
import json
import time
from urllib.parse import urlencode

import numpy as np
import pytest
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from tensorboard.util import tensor_util

from tb_plugin.format import encoding, metadata
from tb_plugin import summary

from conftest import http_get, running_tensorboard
from helpers import assert_decodes_to, write_schema1

PREFIX = "/data/plugin/internals"
BACKENDS = ("true", "false")
LONG = 30  # more than the 10 blob samples TensorBoard keeps by default


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("backends")
    rng = np.random.RandomState(2)
    logged = {}
    layout = {
        "train": {"conv1": (range(LONG), (4, 6, 6, 8), "q8"), "dense/relu": (range(0, LONG, 3), (8, 16), "f32")},
        "eval": {"conv1": ([0, 10, 20], (2, 6, 6, 8), "q8")},
        # Hostile names: quotes and backslashes broke blob reads on TensorBoard's
        # Rust data server (0.7.2); references are tensors, so every name works.
        "sweep/lr 0.1 ü": {"<b>tag</b> & ü/x": ([5], (3, 3), "q8")},
        'q"uote\\back': {'say "hi" \\ \u202eevil': ([1, 2], (4, 5), "f32")},
    }
    for run, tags in layout.items():
        with summary.Writer(str(logdir / run)) as writer:
            for tag, (steps, shape, name) in tags.items():
                for step in steps:
                    x = (rng.randn(*shape) * (step + 1)).astype(np.float32)
                    x.reshape(-1)[step % x.size] = [np.nan, np.inf, -np.inf][step % 3]
                    writer.activations(tag, x, step=step, encoding=name, description="about " + tag)
                    logged[run, tag, step] = (x, name)
    # A run logged by the release before the payload store (schema 1, inline payloads).
    for step in (0, 4):
        x = (rng.randn(3, 16) + step).astype(np.float32)
        write_schema1(logdir / "old_layout", "dense", [(step, encoding.encode(x))], shape=x.shape)
        logged["old_layout", "dense", step] = (x, "q8")
    # A tag from a newer release sits next to the others.
    newer = json.dumps({"version": metadata.SCHEMA_VERSION + 1, "kind": "attention"}).encode()
    md = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="internals", content=newer),
        data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE)
    writer = EventFileWriter(str(logdir / "train"))
    writer.add_event(event_pb2.Event(step=3, wall_time=1234.5, summary=summary_pb2.Summary(value=[
        summary_pb2.Summary.Value(tag="future", metadata=md,
                                  tensor=tensor_util.make_tensor_proto(np.array([b"INTL\x02"], dtype=object)))])))
    writer.close()
    return logdir, logged


def get_json(url):
    status, headers, body = http_get(url)
    assert status == 200, (url, status, body[:300])
    return json.loads(body)


def wait_until_loaded(url, expected_series, timeout=90):
    """Polls /tags until every (run, tag) reaches its last step."""
    deadline = time.time() + timeout
    while True:
        status, _, body = http_get(url + PREFIX + "/tags")
        tags = json.loads(body) if status == 200 else {}
        if all(tags.get(run, {}).get(tag, {}).get("max_step") == last
               for (run, tag), last in expected_series.items()):
            return
        assert time.time() < deadline, "TensorBoard did not load every step in time: %s" % tags
        time.sleep(0.5)


def series(logged, future=True):
    last = {}
    for run, tag, step in logged:
        last[run, tag] = max(step, last.get((run, tag), step))
    if future:
        last["train", "future"] = 3
    return last


def answers(url, logged):
    """Everything the plugin serves for these logs, as comparable values."""
    result = {"tags": get_json(url + PREFIX + "/tags"), "steps": {}, "data": {}}
    status, _, body = http_get(url + PREFIX + "/steps?" + urlencode({"run": "train", "tag": "future"}))
    result["future"] = (status, json.loads(body))
    for run, tag in series(logged, future=False):
        steps = get_json(url + PREFIX + "/steps?" + urlencode({"run": run, "tag": tag}))
        result["steps"][run, tag] = steps
        for step in steps["steps"]:
            status, headers, body = http_get(url + PREFIX + "/data?" + urlencode({"run": run, "tag": tag, "step": step}))
            assert status == 200 and headers["Content-Type"] == "application/octet-stream", (run, tag, step, status, body[:300])
            result["data"][run, tag, step] = body
    return result


SAMPLED = ("--samples_per_plugin=internals=5",)


@pytest.fixture(scope="module")
def servers(logs):
    """Four servers started side by side: each backend with the default samples and with a user's limit."""
    logdir, logged = logs
    configs = [(backend, extra) for extra in ((), SAMPLED) for backend in BACKENDS]
    managers = [running_tensorboard(logdir, backend, extra_args=list(extra)) for backend, extra in configs]
    with contextlib.ExitStack() as stack, concurrent.futures.ThreadPoolExecutor(len(managers)) as pool:
        futures = [pool.submit(manager.__enter__) for manager in managers]
        urls, failures = {}, []
        for config, manager, future in zip(configs, managers, futures):
            try:
                urls[config] = future.result()
                stack.push(manager.__exit__)
            except Exception as e:  # the others still get stopped by the stack
                failures.append(e)
        if failures:
            raise failures[0]
        for url in urls.values():
            wait_until_loaded(url, series(logged))
        yield urls


@pytest.fixture(scope="module")
def served(servers, logs):
    return {backend: answers(servers[backend, ()], logs[1]) for backend in BACKENDS}


def test_both_backends_answer_identically(served):
    rust, python = served["true"], served["false"]
    assert rust["tags"] == python["tags"]
    assert rust["steps"] == python["steps"]
    assert rust["data"].keys() == python["data"].keys()
    for key in rust["data"]:
        assert rust["data"][key] == python["data"][key], key


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_step_is_kept_and_decodes_to_the_logged_values(served, logs, backend):
    _, logged = logs
    answer = served[backend]
    status, body = answer["future"]
    assert status == 400 and "upgrade" in body["error"]  # a newer release's tag: a message, not a guess
    for (run, tag), steps in answer["steps"].items():
        assert steps["steps"] == sorted(s for r, t, s in logged if (r, t) == (run, tag))
    assert len(answer["steps"]["train", "conv1"]["steps"]) == LONG  # the raised sample default
    for (run, tag, step), (x, name) in logged.items():
        payload = answer["data"][run, tag, step]
        assert payload == encoding.encode(x, name)
        assert_decodes_to(encoding.decode(payload), x, name)


@pytest.mark.parametrize("backend", BACKENDS)
def test_listing_and_errors_on_a_real_server(served, servers, backend):
    tags = served[backend]["tags"]
    assert "upgrade" in tags["train"]["future"]["error"]
    assert tags["train"]["conv1"]["shape"] == [4, 6, 6, 8] and tags["train"]["conv1"]["max_step"] == LONG - 1
    assert tags["sweep/lr 0.1 ü"]["<b>tag</b> & ü/x"]["description"] == "about <b>tag</b> & ü/x"
    url = servers[backend, ()]
    listing = get_json(url + "/data/plugins_listing")["internals"]
    assert listing["tab_name"] == "Internals" and listing["enabled"] is True
    assert listing["loading_mechanism"]["module_path"] == PREFIX + "/static/index.js"
    for path, status in [("/data?run=train&tag=conv1&step=abc", 400), ("/data?run=train&tag=conv1", 400),
                         ("/steps?run=nope&tag=conv1", 404), ("/data?run=train&tag=conv1&step=999", 404),
                         ("/static/../plugin.py", 404), ("/static/%2e%2e/%2e%2e/setup.py", 404)]:
        got, _, body = http_get(url + PREFIX + path)
        assert got == status, (path, got, body[:200])


@pytest.mark.parametrize("backend", BACKENDS)
def test_user_samples_per_plugin_is_respected(servers, logs, backend):
    _, logged = logs
    url = servers[backend, SAMPLED]
    steps = get_json(url + PREFIX + "/steps?" + urlencode({"run": "train", "tag": "conv1"}))["steps"]
    assert 1 <= len(steps) <= 5
    assert steps[-1] == LONG - 1  # the latest step is always kept
    for step in steps:
        status, _, body = http_get(url + PREFIX + "/data?" + urlencode({"run": "train", "tag": "conv1", "step": step}))
        assert status == 200
        assert body == encoding.encode(*logged["train", "conv1", step])
