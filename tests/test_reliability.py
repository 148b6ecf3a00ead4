"""Reliability against real TensorBoard processes on both backends: corrupt logs
keep their good steps and never serve bad ones, and a property-based fuzzer of
every route finds no 500, no traversal and no sniffable answer.

The fuzzer sends `INTERNALS_FUZZ_REQUESTS` generated requests per backend
(default 5,000, so 10,000 per run of the suite); set it higher for a longer
hunt, e.g. `INTERNALS_FUZZ_REQUESTS=50000 bash tests/run.sh tests/test_reliability.py`.
"""

import collections
import contextlib
import json
import os
from urllib.parse import quote, urlencode

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tensorboard.plugins import base_plugin

from tb_plugin.format import encoding
from tb_plugin.backend import plugin
from tb_plugin.summary import Writer

from conftest import http_get, running_tensorboard
from helpers import summary_values, write_schema1

PREFIX = "/data/plugin/internals"
BACKENDS = ("true", "false")
FUZZ_REQUESTS = int(os.environ.get("INTERNALS_FUZZ_REQUESTS", "5000"))
RNG = np.random.RandomState(13)
RUNS = ["good", "inline_corrupt", "store_corrupt", "truncated", "garbage", "zero_byte", "metadata", "hostile ‮\"\\<b>"]


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def events_file(run_dir):
    names = sorted(n for n in os.listdir(str(run_dir)) if "tfevents" in n)
    return os.path.join(str(run_dir), names[-1])


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("reliability")
    logged = collections.defaultdict(dict)
    # Every kind (test_the_fixture_writes_every_kind), several steps.
    with Writer(str(logdir / "good")) as w:
        kernel = None
        for step in range(3):
            x = np.maximum(RNG.randn(4, 6, 6, 8), 0).astype(np.float32)
            w.activations("conv", x, step=step)  # q8: compared with encoding x again
            w.activation_stats("stats/conv", x, step=step, activation="relu", source_tag="conv")
            previous, kernel = kernel, RNG.randn(6, 4)
            w.weights("weights/dense/kernel", kernel, step=step, encoding="f32", layer="dense")
            w.weight_stats("weight_stats/dense/kernel", kernel, step, previous=previous,
                           source_tag="weights/dense/kernel", layer="dense")
            w.attention("attention/mha", softmax(RNG.randn(2, 5, 5)), step=step, tokens=list("abcde"))
            w.attention("attention/vit", softmax(RNG.randn(1, 5, 5)), step=step, patch_grid=(2, 2), prefix_tokens=1,
                        image=RNG.uniform(size=(8, 8, 3)))
            logged["good", "conv"][step] = x
            w.class_stats("class_stats", step, labels=np.arange(4) % 2, predictions=[0, 1, 1, 1], layers={"conv": x},
                          thumbnails=RNG.uniform(size=(4, 3, 3)) if step == 0 else None)
            w.embedding("embedding/dense", RNG.randn(12, 5), step=step, labels=[str(i % 3) for i in range(12)],
                        thumbnails=RNG.uniform(size=(12, 4, 4)) if step == 0 else None)
            w.attribution("attribution/conv", {"saliency": RNG.uniform(size=(4, 2, 6, 6)).astype(np.float32)}, step,
                          predicted_class=[0, 1, 1, 0], true_class=[0, 1, 0, 0],
                          predicted_probability=[0.9, 0.6, 0.7, 0.8], true_probability=[0.9, 0.6, 0.3, 0.8],
                          class_names=["a", "b"], images=RNG.uniform(size=(4, 6, 6, 3)) if step == 0 else None)
        w.model_summary("model_summary", {"name": "m", "layers": []})
        w.logging_plan("logging_plan", {"parts": []})
    # Old layout (inline), one step's payload bytes flipped inside the event file.
    payloads = {step: encoding.encode(RNG.randn(32, 16).astype(np.float32), "f32") for step in range(4)}
    write_schema1(logdir / "inline_corrupt", "dense", sorted(payloads.items()), shape=(32, 16), encoding="f32")
    raw = open(events_file(logdir / "inline_corrupt"), "rb").read()
    at = raw.index(payloads[2]) + len(payloads[2]) // 2
    with open(events_file(logdir / "inline_corrupt"), "r+b") as f:
        f.seek(at)
        f.write(bytes([raw[at] ^ 0x10]))
    # Steps 0 and 1 survive on both backends; step 3 only where the loader skips one bad record
    # (Rust): TensorBoard's Python loader drops the rest of the file after it.
    logged["inline_corrupt", "dense"] = {s: p for s, p in payloads.items() if s < 2}
    logged["inline_corrupt", "after_the_bad_record"] = payloads[3]
    # Store layout, one record flipped.
    with Writer(str(logdir / "store_corrupt")) as w:
        for step in range(4):
            x = RNG.randn(16, 8).astype(np.float32)
            w.activations("dense", x, step=step, encoding="f32")
            logged["store_corrupt", "dense"][step] = x
        store_path = w._store.path
    data = bytearray(open(store_path, "rb").read())
    refs = [json.loads(v.tensor.string_val[0]) for _, v in summary_values(str(logdir / "store_corrupt"))]
    data[refs[2]["offset"] + 12 + 50] ^= 0x01  # inside step 2's payload
    open(store_path, "wb").write(bytes(data))
    del logged["store_corrupt", "dense"][2]
    # A writer killed mid-record: the event file ends in a truncated record.
    with Writer(str(logdir / "truncated")) as w:
        for step in range(3):
            x = RNG.randn(8, 8).astype(np.float32)
            w.activations("dense", x, step=step, encoding="f32")
            logged["truncated", "dense"][step] = x
    path = events_file(logdir / "truncated")
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size - 7)
    del logged["truncated", "dense"][2]
    # Garbage appended after good records.
    with Writer(str(logdir / "garbage")) as w:
        for step in range(2):
            x = RNG.randn(8, 8).astype(np.float32)
            w.activations("dense", x, step=step, encoding="f32")
            logged["garbage", "dense"][step] = x
    with open(events_file(logdir / "garbage"), "ab") as f:
        f.write(RNG.bytes(300))
    # A zero-byte event file next to a good one.
    with Writer(str(logdir / "zero_byte")) as w:
        x = RNG.randn(8, 8).astype(np.float32)
        w.activations("dense", x, step=0, encoding="f32")
        logged["zero_byte", "dense"][0] = x
    open(str(logdir / "zero_byte" / "events.out.tfevents.9999999999.host.1.00000000.internals"), "wb").close()
    # Garbled and newer metadata.
    write_schema1(logdir / "metadata", "garbled", [(0, b"junk")], content=b"\x00{not json")
    write_schema1(logdir / "metadata", "newer", [(0, b"INTL\x09")],
                  content=json.dumps({"version": 99, "kind": "activations"}).encode())
    write_schema1(logdir / "metadata", "unknown_kind", [(0, b"x")],
                  content=json.dumps({"version": 1, "kind": "hologram"}).encode())
    # Statistics vectors not written by this plugin: too short, and text.
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboard.util import tensor_util
    from tb_plugin.format import metadata
    from tb_plugin.kinds import activation_stats as stats_lib

    md = metadata.create_stats_metadata({"fields": stats_lib.FIELDS, "bins": stats_lib.BINS, "units": 0},
                                        "relu", "conv")
    writer = EventFileWriter(str(logdir / "metadata"))
    for step, tensor in enumerate([np.zeros(3), np.array([b"text"], dtype=object), np.zeros((2, 40))]):
        writer.add_event(event_pb2.Event(step=step, summary=summary_pb2.Summary(value=[summary_pb2.Summary.Value(
            tag="stats/crafted", metadata=md, tensor=tensor_util.make_tensor_proto(tensor))])))
    writer.close()
    # Hostile names: bidi override, quotes, backslash, HTML.
    with Writer(str(logdir / RUNS[-1])) as w:
        x = RNG.randn(3, 4).astype(np.float32)
        w.activations('t"a\\g ‮<img src=x onerror=alert(1)>', x, step=5, encoding="f32")
        logged[RUNS[-1], 't"a\\g ‮<img src=x onerror=alert(1)>'][5] = x
    return logdir, logged


@pytest.fixture(scope="module")
def servers(logs):
    logdir, logged = logs
    with contextlib.ExitStack() as stack:
        urls = {backend: stack.enter_context(running_tensorboard(logdir, backend)) for backend in BACKENDS}
        for url in urls.values():
            _wait_listed(url, logged)
        yield urls


def _wait_listed(url, logged, timeout=90):
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        status, _, body = http_get(url + PREFIX + "/tags")
        tags = json.loads(body) if status == 200 else {}
        if all(tag in tags.get(run, {}) for run, tag in logged if tag != "after_the_bad_record") and (
                "newer" in tags.get("metadata", {})):
            return
        time.sleep(0.5)
    raise AssertionError("not listed in time")


def get(url, route, **params):
    return http_get(url + PREFIX + "/" + route + "?" + urlencode(params))


@pytest.mark.parametrize("backend", BACKENDS)
def test_good_steps_survive_and_bad_ones_are_reported_never_served(servers, logs, backend):
    url = servers[backend]
    _, logged = logs
    status, _, body = get(url, "data", run="inline_corrupt", tag="dense", step=3)
    if backend == "true":
        assert status == 200 and body == logged["inline_corrupt", "after_the_bad_record"]
    else:
        assert status == 404
    for (run, tag), steps in logged.items():
        if tag == "after_the_bad_record":
            continue
        for step, expected in steps.items():
            status, _, body = get(url, "data", run=run, tag=tag, step=step)
            assert status == 200, (run, tag, step, status, body[:200])
            if isinstance(expected, bytes):
                assert body == expected
            elif tag == "conv":  # logged q8
                assert body == encoding.encode(expected), (run, tag)
            else:  # logged f32: exact
                assert np.array_equal(encoding.decode(body), expected), (run, tag)
    # The flipped inline step: Python's loader drops the bad record (404); the Rust data
    # server serves it, and the payload's own checksum refuses it (422). Never a 200.
    status, _, body = get(url, "data", run="inline_corrupt", tag="dense", step=2)
    assert status in (404, 422) and json.loads(body)["error"], (status, body[:200])
    if status == 422:
        assert "corrupt" in json.loads(body)["error"]
    # The flipped store record: exactly the step it belongs to is refused.
    refused = []
    for step in range(4):
        status, _, body = get(url, "data", run="store_corrupt", tag="dense", step=step)
        if status != 200:
            assert status == 422 and "corrupt" in json.loads(body)["error"]
            refused.append(step)
    assert refused == [2]
    # The truncated record's step is simply not there.
    assert json.loads(get(url, "steps", run="truncated", tag="dense")[2])["steps"] == [0, 1]


@pytest.mark.parametrize("backend", BACKENDS)
def test_unreadable_metadata_is_listed_with_a_message_and_refused_by_routes(servers, backend):
    url = servers[backend]
    tags = json.loads(get(url, "tags")[2])["metadata"]
    assert "corrupt" in tags["garbled"]["error"] or "unreadable" in tags["garbled"]["error"]
    assert "upgrade" in tags["newer"]["error"]
    assert "upgrade" in tags["unknown_kind"]["error"]
    for tag in ("garbled", "newer", "unknown_kind"):
        for route, extra in (("steps", {}), ("data", {"step": 0}), ("attention_summary", {})):
            status, _, body = get(url, route, run="metadata", tag=tag, **extra)
            assert status == 400 and json.loads(body)["error"], (tag, route, status)


@pytest.mark.parametrize("backend", BACKENDS)
def test_malformed_statistics_are_reported_not_guessed_at(servers, backend):
    status, _, body = get(servers[backend], "stats", run="metadata", tag="stats/crafted")
    assert status == 200, body[:300]
    series = json.loads(body)["stats/crafted"]
    assert series["steps"] == [] and series["unreadable_steps"] == [0, 1, 2]
    status, _, body = get(servers[backend], "stats", run="good")
    assert status == 200 and json.loads(body)["stats/conv"]["steps"] == [0, 1, 2]


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_route_refuses_a_tag_of_the_wrong_kind_with_400(servers, backend):
    url = servers[backend]
    cases = [
        ("attention_summary", dict(run="good", tag="weights/dense/kernel")),
        ("attention_summary", dict(run="good", tag="conv")),
        ("attention_summary", dict(run="good", tag="stats/conv")),
        ("attention_summary", dict(run="good", tag="model_summary")),
        ("attention_blob", dict(run="good", tag="conv", step=0, index=1)),
        ("attribution_blob", dict(run="good", tag="conv", step=0, index=1)),
        ("top_samples", dict(run="good", tag="weights/dense/kernel", step=0)),
        ("data", dict(run="good", tag="stats/conv", step=0)),
        ("stats", dict(run="good", tag="conv")),
        ("class_stats", dict(run="good", tag="conv", step=0)),
        ("class_pair", dict(run="good", tag="model_summary", step=0, a=0, b=1)),
        ("class_samples", dict(run="good", tag="attention/mha", step=0)),
        ("weight_stats", dict(run="good", tag="weights/dense/kernel")),
        ("weight_change", dict(run="good", tag="conv")),
        ("ranges", dict(run="good", tag="stats/conv")),
    ]
    for route, params in cases:
        status, headers, body = get(url, route, **params)
        assert status == 400, (route, params, status, body[:200])
        assert headers["Content-Type"].startswith("application/json")
        assert "holds" in json.loads(body)["error"]
    status, _, body = get(url, "attention_summary", run="good", tag="attention/mha")
    assert status == 200 and len(json.loads(body)["steps"]) == 3


# --- the fuzzer ---------------------------------------------------------------------

# Every route the plugin serves (so a new route is fuzzed the day it is added), and
# static paths that try to leave the frontend folder.
API_ROUTES = sorted(r.strip("/") for r in plugin.InternalsPlugin(
    base_plugin.TBContext(logdir="", data_provider=None)).get_plugin_apps() if not r.startswith("/static"))
ROUTES = API_ROUTES + ["static/index.js",
          "static/", "static/../plugin.py", "static/%2e%2e/%2e%2e/setup.py", "static/views/../../setup.py",
          "static//etc/passwd", "static/..%5c..%5csetup.py", "nope", ""]
KNOWN_TAGS = ["conv", "stats/conv", "weights/dense/kernel", "attention/mha", "attention/vit", "model_summary", "class_stats",
              "embedding/dense", "attribution/conv", "weight_stats/dense/kernel", "logging_plan",
              "dense", "garbled", "newer", "unknown_kind", 't"a\\g ‮<img src=x onerror=alert(1)>']
JUNK = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "..", "../../etc/passwd", "%00", "\x00", "-1", "0", "1", "2", "5", "999",
                     str(2 ** 63), str(-(2 ** 63) - 1), "1e3", "0x10", "nan", "inf", "1.5", "[]", "{}",
                     "<script>", "‮", "a" * 5000]),
    st.integers(-(2 ** 70), 2 ** 70).map(str),
)
PARAMS = st.fixed_dictionaries({}, optional={
    "run": st.one_of(st.sampled_from(RUNS), JUNK),
    "tag": st.one_of(st.sampled_from(KNOWN_TAGS), JUNK),
    "step": st.one_of(st.integers(-2, 6).map(str), JUNK),
    "index": st.one_of(st.sampled_from(["0", "1", "2", "3"]), JUNK),
    "a": st.one_of(st.sampled_from(["0", "1", "2", "-1"]), JUNK),
    "b": st.one_of(st.sampled_from(["0", "1", "2"]), JUNK),
    "channels": st.one_of(st.sampled_from(["0", "1"]), JUNK),
    "method": st.one_of(st.sampled_from(["pca", "tsne", "umap"]), JUNK),
    "k": st.one_of(st.sampled_from(["1", "3", "0", "-1"]), JUNK),
    "input_tag": st.one_of(st.sampled_from(["attribution/conv", "conv"]), JUNK),
})
FRONTEND_FILES = None


def _frontend_bytes():
    global FRONTEND_FILES
    if FRONTEND_FILES is None:
        root = plugin.frontend_dir()
        FRONTEND_FILES = set()
        for folder, _, files in os.walk(root):
            for name in files:
                with open(os.path.join(folder, name), "rb") as f:
                    FRONTEND_FILES.add(f.read())
    return FRONTEND_FILES


def check_answer(path, status, headers, body, statuses):
    statuses[status] += 1
    assert status < 500, (path, status, body[:300])
    assert status in (200, 400, 404, 422), (path, status)
    content_type = headers.get("Content-Type", "")
    assert content_type, path
    assert headers.get("X-Content-Type-Options") == "nosniff", path
    if content_type.startswith("application/json"):
        answer = json.loads(body)
        if status != 200:
            assert isinstance(answer["error"], str) and answer["error"]
    if path.startswith(PREFIX + "/static/") and status == 200:  # the route, not a query naming it
        assert body in _frontend_bytes(), path  # only the frontend's own files, never anything else
    assert b"setuptools.setup" not in body and b"root:x:0:0" not in body


def test_the_fixture_writes_every_kind(logs):
    # The fuzzer sees a tag of every kind in the registry (tb_plugin.kinds.KINDS).
    from tb_plugin import kinds
    from tb_plugin.reader import Reader

    logdir, _ = logs
    written = {tag: info["kind"] for tag, info in Reader(str(logdir / "good")).tags()["."].items()}
    assert set(written.values()) == set(kinds.names()), "kinds the fuzzer never sees"
    assert {written[tag] for tag in KNOWN_TAGS if tag in written} == set(kinds.names()), "kinds not in KNOWN_TAGS"


@pytest.mark.parametrize("backend", BACKENDS)
def test_fuzzed_requests_never_answer_500(servers, backend):
    url = servers[backend]
    statuses = collections.Counter()

    @settings(max_examples=FUZZ_REQUESTS, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(route=st.sampled_from(ROUTES), params=PARAMS, raw=st.booleans())
    def one_request(route, params, raw):
        if raw:  # unencoded bytes in the query, as a careless client sends them
            query = "&".join("%s=%s" % (k, quote(v, safe="/%&=?#+ ")) for k, v in params.items())
        else:
            query = urlencode(params)
        path = PREFIX + "/" + route + ("?" + query if query else "")
        try:
            status, headers, body = http_get(url + path.replace(" ", "%20"))
        except ValueError:  # urllib refuses the URL itself (control characters): nothing was sent
            statuses["not sent"] += 1
            return
        check_answer(path, status, headers, body, statuses)

    one_request()
    print("fuzzer, --load_fast=%s: %d requests, statuses %s" % (backend, sum(statuses.values()), dict(statuses)))
    assert statuses[200] and statuses[400] and statuses[404]  # the generator reaches every outcome
