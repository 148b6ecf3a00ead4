"""Every backend route through TensorBoard's WSGI app (Python data provider)."""

import argparse
import json
import os
import re
from urllib.parse import quote, urlencode

import numpy as np
import pytest
import werkzeug.test
import werkzeug.wrappers
from hypothesis import HealthCheck, given, settings, strategies as st
from tensorboard import program
from tensorboard.backend import application
from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.plugins import base_plugin
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from tensorboard.util import tensor_util

from tb_plugin.format import encoding, metadata
from tb_plugin.backend import plugin
from tb_plugin import summary

from helpers import assert_decodes_to

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREFIX = "/data/plugin/internals"
RNG = np.random.RandomState(5)

HOSTILE_RUNS = ['quote " and \' run', "<script>alert(1)</script>", "ünïcødé 日本 run", "nested/dir with space",
                "semi;colon&x=1?#frag", "%2e%2e", "back\\slash"]
HOSTILE_TAGS = ['tag "q" \'s\'', "<img src=x onerror=alert(1)>", "ünï/cödé 日本", "a/b/c", " spaced ",
                "amp&step=3", "..", "%2Fenc"]


def make_app(logdir, frontend=None):
    multiplexer = plugin_event_multiplexer.EventMultiplexer(tensor_size_guidance={metadata.PLUGIN_NAME: 0})
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, str(logdir))
    context = base_plugin.TBContext(logdir=str(logdir), data_provider=provider, multiplexer=multiplexer)
    instance = plugin.InternalsLoader().load(context)
    if frontend is not None:
        instance._frontend_dir = str(frontend)
    return werkzeug.test.Client(application.TensorBoardWSGI([instance], data_provider=provider),
                                werkzeug.wrappers.Response)


def write_raw(run_dir, tag, content, payload, step=0):
    md = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="internals", content=content),
        data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE)
    writer = EventFileWriter(str(run_dir))
    writer.add_event(event_pb2.Event(step=step, wall_time=1.0, summary=summary_pb2.Summary(value=[
        summary_pb2.Summary.Value(tag=tag, metadata=md,
                                  tensor=tensor_util.make_tensor_proto(np.array([payload], dtype=object)))])))
    writer.close()


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("routes")
    logged = {}

    def log(run, tag, step, x, name="q8"):
        with summary.Writer(str(logdir / run)) as writer:
            writer.activations(tag, x, step=step, encoding=name, description="*%s*" % tag)
        logged[run, tag, step] = (x, name)

    for step in range(3):
        # Incompressible payloads of 128 KiB each: big next to any listing.
        log("train", "conv1", step, RNG.randn(32, 16, 16, 16).astype(np.float32))
        log("train", "dense", step, RNG.randn(4, 10), "f32")
    log("eval", "conv1", 7, np.maximum(RNG.randn(2, 8, 8, 16), 0).astype(np.float32))
    for i, (run, tag) in enumerate(zip(HOSTILE_RUNS, HOSTILE_TAGS * 2)):
        log(run, tag, i, RNG.randn(3, 4).astype(np.float32))
    # A tag from a newer release, and one with unreadable metadata, next to good ones.
    newer = json.dumps({"version": metadata.SCHEMA_VERSION + 1, "kind": "attention", "heads": 4}).encode()
    write_raw(logdir / "train", "from_the_future", newer, b"INTL\x02future")
    write_raw(logdir / "train", "garbled", b"\x00not json", b"junk")
    return logdir, logged


@pytest.fixture(scope="module")
def client(logs):
    return make_app(logs[0])


def get_json(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.get_data()[:300])
    assert response.mimetype == "application/json"
    return json.loads(response.get_data())


def query(**params):
    return "?" + urlencode(params)


# --- /tags, /steps, /data -----------------------------------------------------------


def test_tags_lists_every_run_and_tag_with_metadata_and_no_payloads(client, logs):
    logdir, logged = logs
    response = client.get(PREFIX + "/tags")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_data()
    tags = json.loads(body)
    expected_runs = {run for run, _, _ in logged}
    assert set(tags) == expected_runs
    for (run, tag, step), (x, name) in logged.items():
        info = tags[run][tag]
        assert info["kind"] == "activations" and info["version"] == metadata.SCHEMA_VERSION
        assert info["shape"] == list(x.shape) and info["dtype"] == x.dtype.name and info["encoding"] == name
        assert info["description"] == "*%s*" % tag
        assert info["max_step"] == max(s for r, t, s in logged if (r, t) == (run, tag))
        assert isinstance(info["max_wall_time"], float)
        assert "error" not in info
    # No payloads: the listing is tiny next to what was logged, and holds no payload bytes.
    logged_bytes = sum(len(encoding.encode(x, name)) for x, name in logged.values())
    assert len(body) < 10000 < logged_bytes / 30
    assert b"INTL" not in body
    for x, name in logged.values():
        assert encoding.encode(x, name)[-64:] not in body


def test_newer_and_garbled_metadata_are_listed_with_an_error(client):
    tags = get_json(client, PREFIX + "/tags")
    future, garbled = tags["train"]["from_the_future"], tags["train"]["garbled"]
    assert "upgrade" in future["error"] and str(metadata.SCHEMA_VERSION + 1) in future["error"]
    assert garbled["error"]
    assert future["max_step"] == 0
    # The other tags of that run are listed normally.
    assert tags["train"]["conv1"]["kind"] == "activations" and "error" not in tags["train"]["conv1"]


def test_steps(client, logs):
    _, logged = logs
    for run, tag in {(r, t) for r, t, _ in logged}:
        answer = get_json(client, PREFIX + "/steps" + query(run=run, tag=tag))
        assert set(answer) == {"steps", "wall_times"}
        assert answer["steps"] == sorted(s for r, t, s in logged if (r, t) == (run, tag))
        assert len(answer["wall_times"]) == len(answer["steps"])
        assert all(isinstance(w, float) and w > 1e9 for w in answer["wall_times"])


def test_data_serves_the_payload_bytes(client, logs):
    _, logged = logs
    for (run, tag, step), (x, name) in logged.items():
        response = client.get(PREFIX + "/data" + query(run=run, tag=tag, step=step))
        assert response.status_code == 200, (run, tag, step, response.get_data()[:200])
        assert response.mimetype == "application/octet-stream"
        payload = response.get_data()
        assert payload == encoding.encode(x, name)  # byte for byte what the encoder made
        assert_decodes_to(encoding.decode(payload), x, name)


def test_hostile_names_round_trip(client, logs):
    _, logged = logs
    tags = get_json(client, PREFIX + "/tags")
    for run, tag in zip(HOSTILE_RUNS, HOSTILE_TAGS * 2):
        assert tag in tags[run]
        steps = get_json(client, PREFIX + "/steps" + query(run=run, tag=tag))["steps"]
        assert len(steps) == 1
        x, name = logged[run, tag, steps[0]]
        response = client.get(PREFIX + "/data" + query(run=run, tag=tag, step=steps[0]))
        assert response.status_code == 200
        assert_decodes_to(encoding.decode(response.get_data()), x, name)


def test_json_answers_are_not_sniffed_as_html(client):
    response = client.get(PREFIX + "/tags")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.mimetype == "application/json"


# --- errors ---------------------------------------------------------------------


def assert_error(client, url, status):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.get_data()[:200])
    assert response.mimetype == "application/json"
    error = json.loads(response.get_data())["error"]
    assert isinstance(error, str) and error
    return error


@pytest.mark.parametrize("route,params", [
    ("/steps", {"tag": "conv1"}), ("/steps", {"run": "train"}), ("/steps", {}),
    ("/steps", {"run": "", "tag": "conv1"}), ("/steps", {"run": "train", "tag": ""}),
    ("/data", {"tag": "conv1", "step": 0}), ("/data", {"run": "train", "step": 0}),
    ("/data", {"run": "train", "tag": "conv1"}),
    ("/data", {"run": "", "tag": "conv1", "step": 0}), ("/data", {"run": "train", "tag": "", "step": 0}),
    ("/data", {"run": "train", "tag": "conv1", "step": ""}),
    ("/data", {"run": "train", "tag": "conv1", "step": "one"}),
    ("/data", {"run": "train", "tag": "conv1", "step": "1.0"}),
    ("/data", {"run": "train", "tag": "conv1", "step": "1e3"}),
    ("/data", {"run": "train", "tag": "conv1", "step": "0x10"}),
    ("/data", {"run": "train", "tag": "conv1", "step": "9" * 40}),
    ("/data", {"run": "train", "tag": "conv1", "step": str(2**63)}),
    ("/data", {"run": "train", "tag": "conv1", "step": str(-2**63 - 1)}),
    ("/data", {"run": "train", "tag": "conv1", "step": "9" * 5000}),
    ("/stats", {}), ("/stats", {"tag": "conv1"}),
])
def test_bad_parameters_answer_400_with_a_message(client, route, params):
    error = assert_error(client, PREFIX + route + query(**params), 400)
    assert len(error) < 500  # a huge parameter is not echoed back whole


@pytest.mark.parametrize("route,params,names", [
    ("/steps", {"run": "nope", "tag": "conv1"}, ["nope"]),
    ("/steps", {"run": "train", "tag": "nope"}, ["nope"]),
    ("/steps", {"run": "eval", "tag": "dense"}, ["dense"]),
    ("/data", {"run": "nope", "tag": "conv1", "step": 0}, ["nope"]),
    ("/data", {"run": "train", "tag": "nope", "step": 0}, ["nope"]),
    ("/data", {"run": "train", "tag": "conv1", "step": 99}, ["99"]),
    ("/data", {"run": "train", "tag": "conv1", "step": -1}, ["-1"]),
    ("/data", {"run": "train", "tag": "conv1", "step": str(2**63 - 1)}, [str(2**63 - 1)]),
    ("/stats", {"run": "nope"}, ["nope"]),
    ("/stats", {"run": "train"}, ["train"]),  # a run without statistics
])
def test_unknown_run_tag_or_step_answer_404(client, route, params, names):
    error = assert_error(client, PREFIX + route + query(**params), 404)
    for name in names:
        assert name in error


def test_step_parses_like_a_python_int(client, logs):
    # A leading sign is fine, as for int().
    response = client.get(PREFIX + "/data" + query(run="train", tag="conv1", step="+2"))
    assert response.status_code == 200
    assert response.get_data() == encoding.encode(logs[1]["train", "conv1", 2][0])


ROUTES = ["/tags", "/steps", "/data", "/stats", "/static/index.js", "/static/", "/static/x", "/nope"]
query_keys = st.sampled_from(["run", "tag", "step", "Run", "step[]", ""]) | st.text(max_size=5)
query_values = (st.sampled_from(["train", "conv1", "0", "2", "-1", "", "eval", " 1 ", "\x00", "1" * 30])
                | st.text(max_size=20) | st.integers(-2**70, 2**70).map(str))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(ROUTES),
       params=st.lists(st.tuples(query_keys, query_values), max_size=5),
       raw=st.none() | st.binary(max_size=40))
def test_fuzzed_queries_never_answer_500(client, route, params, raw):
    # (werkzeug's test client takes a raw query as a latin-1 str)
    query_string = raw.decode("latin-1") if raw is not None else urlencode(params)
    response = client.get(PREFIX + route, query_string=query_string)
    assert response.status_code in (200, 400, 404), (route, query_string, response.status_code)
    if response.status_code != 200 and route in ("/tags", "/steps", "/data", "/stats"):
        assert json.loads(response.get_data())["error"]


# --- static files ---------------------------------------------------------------------


def test_static_index_js_is_the_frontend_module(client):
    response = client.get(PREFIX + "/static/index.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    with open(os.path.join(CHECKOUT, "frontend", "index.js"), "rb") as f:
        assert response.get_data() == f.read()
    assert re.search(rb"export\s+(async\s+)?function\s+render\b", response.get_data())


@pytest.fixture(scope="module")
def sandboxed(tmp_path_factory, logs):
    """A client whose frontend folder has neighbours worth stealing."""
    root = tmp_path_factory.mktemp("static")
    frontend = root / "frontend"
    (frontend / "sub").mkdir(parents=True)
    (frontend / "index.js").write_text("export function render() {}\n")
    (frontend / "sub" / "app.js").write_text("export const inner = 1;\n")
    (frontend / "style.css").write_text("body { color: red }\n")
    (frontend / "notes.txt").write_text("SECRET-TXT")
    (frontend / "server.py").write_text("SECRET-PY")
    (frontend / "index.js.bak").write_text("SECRET-BAK")
    (root / "secret.js").write_text("SECRET-JS")
    (root / "secret.json").write_text('{"SECRET": 1}')
    return make_app(logs[0], frontend=frontend), root


def test_static_serves_nested_files_with_their_types(sandboxed):
    client, _ = sandboxed
    for path, mimetype, text in [("sub/app.js", "text/javascript", b"inner"), ("style.css", "text/css", b"color")]:
        response = client.get(PREFIX + "/static/" + path)
        assert response.status_code == 200 and response.mimetype == mimetype
        assert text in response.get_data()


def traversal_attempts(root):
    secret = os.path.join(str(root), "secret.js")
    return [
        "../secret.js", "../secret.json", "sub/../../secret.js", "./../secret.js",
        "%2e%2e/secret.js", "%2E%2E/secret.json", "..%2fsecret.js", "%2e%2e%2fsecret.js",
        "sub%2f..%2f..%2fsecret.js", "..%252fsecret.js",
        secret.lstrip("/"), "/" + secret, "//" + secret.lstrip("/"), quote(secret, safe=""),
        "..\\secret.js", "..%5csecret.js", "sub\\..\\..\\secret.js",
        "nonexistent.js", "sub/nonexistent.js", "sub", "sub/", "", ".",
        "notes.txt", "server.py", "index.js.bak", "index.js%00.txt", "index.js/", "index.js/..",
    ]


def test_static_refuses_traversal_and_other_files(sandboxed):
    client, root = sandboxed
    for attempt in traversal_attempts(root):
        response = client.get(PREFIX + "/static/" + attempt)
        assert response.status_code == 404, (attempt, response.status_code)
        assert b"SECRET" not in response.get_data(), attempt
    # Sanity: the secrets are there, one folder up.
    assert (root / "secret.js").read_text() == "SECRET-JS"


# --- registration -------------------------------------------------------------------------


def test_plugins_listing_has_the_internals_tab(client):
    listing = get_json(client, "/data/plugins_listing")
    entry = listing["internals"]
    assert entry["tab_name"] == "Internals"
    assert entry["enabled"] is True
    assert entry["loading_mechanism"]["type"] == "IFRAME"
    assert entry["loading_mechanism"]["module_path"] == PREFIX + "/static/index.js"
    assert client.get(entry["loading_mechanism"]["module_path"]).status_code == 200


def test_plugin_is_disabled_without_internals_data(tmp_path):
    other = EventFileWriter(str(tmp_path / "run"))
    other.add_event(event_pb2.Event(step=0, summary=summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag="loss", simple_value=1.0)])))
    other.close()
    client = make_app(tmp_path)
    assert get_json(client, "/data/plugins_listing")["internals"]["enabled"] is False
    assert get_json(client, PREFIX + "/tags") == {}


@pytest.mark.parametrize("given,expected", [
    ({}, {"internals": plugin.DEFAULT_SAMPLES_PER_TAG}),
    ({"internals": 5}, {"internals": 5}),
    ({"internals": 0}, {"internals": 0}),
    ({"images": 3}, {"images": 3, "internals": plugin.DEFAULT_SAMPLES_PER_TAG}),
])
def test_loader_raises_the_sample_default_only_when_the_user_gave_none(given, expected):
    flags = argparse.Namespace(samples_per_plugin=dict(given))
    plugin.InternalsLoader().fix_flags(flags)
    assert flags.samples_per_plugin == expected
    assert plugin.DEFAULT_SAMPLES_PER_TAG == 0  # every step: references are small


@pytest.mark.parametrize("argv,expected", [
    ([], plugin.DEFAULT_SAMPLES_PER_TAG),
    (["--samples_per_plugin=internals=5"], 5),
    (["--samples_per_plugin=scalars=100,internals=0"], 0),
    (["--samples_per_plugin=images=3"], plugin.DEFAULT_SAMPLES_PER_TAG),
])
def test_loader_with_tensorboards_own_flag_parsing(tmp_path, argv, expected):
    tb = program.TensorBoard()  # default plugins plus the installed entry points
    assert any(isinstance(loader, plugin.InternalsLoader) for loader in tb.plugin_loaders)
    tb.configure(argv=["tensorboard", "--logdir", str(tmp_path)] + argv)
    assert tb.flags.samples_per_plugin["internals"] == expected


def test_loader_tolerates_flags_without_samples_per_plugin():
    flags = argparse.Namespace()
    plugin.InternalsLoader().fix_flags(flags)
    assert not hasattr(flags, "samples_per_plugin")


# --- the cached step index ----------------------------------------------------------


class CountingProvider:
    """Wraps a data provider and counts every call made to it."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def __getattr__(self, name):
        method = getattr(self.inner, name)

        def counted(*args, **kwargs):
            self.calls.append(name)
            return method(*args, **kwargs)

        return counted


def test_data_of_an_indexed_step_makes_no_data_provider_call(tmp_path):
    arrays = {step: RNG.randn(4, 8).astype(np.float32) for step in range(0, 3000, 3)}
    with summary.Writer(str(tmp_path / "run")) as writer:
        for step, x in arrays.items():
            writer.activations("dense", x, step=step, encoding="f32")
    multiplexer = plugin_event_multiplexer.EventMultiplexer(tensor_size_guidance={metadata.PLUGIN_NAME: 0})
    multiplexer.AddRunsFromDirectory(str(tmp_path))
    multiplexer.Reload()
    provider = CountingProvider(data_provider.MultiplexerDataProvider(multiplexer, str(tmp_path)))
    instance = plugin.InternalsLoader().load(
        base_plugin.TBContext(logdir=str(tmp_path), data_provider=provider, multiplexer=multiplexer))
    client = werkzeug.test.Client(application.TensorBoardWSGI([instance], data_provider=provider.inner),
                                  werkzeug.wrappers.Response)
    assert get_json(client, PREFIX + "/tags")["run"]["dense"]["max_step"] == 2997
    assert get_json(client, PREFIX + "/steps" + query(run="run", tag="dense"))["steps"] == sorted(arrays)
    provider.calls.clear()
    for step in (0, 1500, 2997, 30, 2997):
        response = client.get(PREFIX + "/data" + query(run="run", tag="dense", step=step))
        assert response.status_code == 200
        assert np.array_equal(encoding.decode(response.get_data()), arrays[step])
    assert provider.calls == []  # steps, references and metadata all came from the cached index
    # A step that is not in the index looks again (once), then answers 404.
    assert client.get(PREFIX + "/data" + query(run="run", tag="dense", step=1)).status_code == 404
    assert provider.calls == ["read_tensors"]
