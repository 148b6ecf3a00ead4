"""The frontend's view registry against the backend, and the stylesheets' rules.

Every registered view kind (frontend/views/registry.js) is a summary kind the
backend knows, has its folder (view, requests, stylesheet), a picker entry, and
requests whose routes are in the plugin's route table (which the route fuzzer of
tests/test_reliability.py also reads, so every route a view calls is fuzzed).
No other module keeps its own list of kinds. The stylesheets declare each
selector and each colour token once, without !important, all in one cascade
layer, and every one of them is loaded.

The registry is read by node (the modules as the browser runs them, with a fake
fetch that records each request's route); the stylesheets as text.
"""

import json
import os
import re
import shutil
import subprocess

import pytest
from tensorboard.plugins import base_plugin

from tb_plugin.backend import plugin
from tb_plugin.format import metadata

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FRONTEND = os.path.join(CHECKOUT, "frontend")
VIEWS = os.path.join(FRONTEND, "views")

# Imports the registry under node and calls every view's requests once with a fake fetch.
DUMP = r"""
import { pathToFileURL } from "node:url";
const root = pathToFileURL(process.argv[1] + "/").href;
const { VIEWS } = await import(root + "views/registry.js");
const { createApi } = await import(root + "views/kinds.js");
const { placeOf } = await import(root + "layers.js");
const { STYLESHEETS } = await import(root + "index.js");
let routes = [];
const fetch = async (url) => {
  routes.push(new URL(url, "http://host/data/plugin/internals/").pathname.split("/").pop());
  return new Response("{}", { status: 404 });
};
const api = createApi({ fetch });
const kinds = [];
for (const v of VIEWS) {
  const methods = {};
  for (const name of Object.keys(v.api)) {
    routes = [];
    // run, tag, step, then (index | method | a, b | k) as the methods take them
    try { await api[name]("run", "tag", 1, 1, 2); } catch (_) { /* the fake answers 404 */ }
    methods[name] = routes;
  }
  kinds.push({
    kind: v.kind,
    view: v.View && v.View.name,
    viewSetStep: Boolean(v.View && v.View.prototype.setStep),
    methods,
    stylesheet: v.stylesheet,
    picker: v.picker,
    place: v.picker && !v.picker.architecture ? placeOf((v.picker.prefix || "") + "a/b", { kind: v.kind }) : null,
    shows: v.shows || [],
    difference: Boolean(v.difference),
  });
}
console.log(JSON.stringify({ kinds, stylesheets: STYLESHEETS }));
"""


@pytest.fixture(scope="module")
def registry():
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.fail("node is not installed (Debian package nodejs): run the README's test command, which installs it")
    result = subprocess.run([node, "--input-type=module", "-e", DUMP, FRONTEND], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def route_table():
    apps = plugin.InternalsPlugin(base_plugin.TBContext(logdir="", data_provider=None)).get_plugin_apps()
    return {r.strip("/") for r in apps if not r.startswith("/static")}


def kinds_of(registry):
    return [k["kind"] for k in registry["kinds"]]


# ---- the registry ----------------------------------------------------------------------


def test_each_view_folder_is_registered_once_and_named_after_its_kind(registry):
    folders = sorted(d for d in os.listdir(VIEWS) if os.path.isdir(os.path.join(VIEWS, d)))
    assert sorted(kinds_of(registry)) == folders
    assert len(set(kinds_of(registry))) == len(kinds_of(registry))
    text = open(os.path.join(VIEWS, "registry.js")).read()
    for kind in folders:  # one import line per kind
        assert len(re.findall(r'^import \w+ from "\./%s/index\.js";$' % kind, text, re.M)) == 1, kind


def test_each_registered_kind_is_a_summary_kind_the_backend_knows(registry):
    assert set(kinds_of(registry)) <= set(metadata.KINDS)


def test_every_summary_kind_has_a_view_or_is_shown_inside_one(registry):
    shown_inside = {s for k in registry["kinds"] for s in k["shows"]}
    assert not shown_inside & set(kinds_of(registry))
    assert set(metadata.KINDS) == set(kinds_of(registry)) | shown_inside


def test_each_kind_has_a_view_module_with_a_view_class(registry):
    for k in registry["kinds"]:
        assert k["view"] and k["viewSetStep"], k["kind"]
        source = open(os.path.join(VIEWS, k["kind"], "view.js")).read()
        assert re.search(r"^export class %s\b" % k["view"], source, re.M), k["kind"]


def test_each_kind_has_api_methods_whose_routes_the_backend_serves(registry, route_table):
    for k in registry["kinds"]:
        requested = [route for routes in k["methods"].values() for route in routes]
        assert requested, "%s has no requests (views/%s/api.js)" % (k["kind"], k["kind"])
        assert set(requested) <= route_table, (k["kind"], k["methods"])


def test_every_route_the_frontend_calls_is_in_the_route_table(route_table):
    # The literal routes of every request (core api.js and each views/<kind>/api.js): a new route
    # is in the plugin's table, so the fuzzer (tests/test_reliability.py) reaches it too.
    called = set()
    for folder, _, files in os.walk(FRONTEND):
        for name in files:
            if name == "api.js":
                text = open(os.path.join(folder, name)).read()
                called |= set(re.findall(r'this\.(?:get|json|payload|tagSeries|smallJson)\("(\w+)"', text))
    assert called and called <= route_table, called - route_table


def test_each_kind_has_a_picker_entry(registry):
    for k in registry["kinds"]:
        picker = k["picker"]
        assert isinstance(picker, dict), k["kind"]
        if picker.get("architecture"):
            continue
        # A tag named as the kind's tags are is placed on its layer, labelled as the picker says.
        assert k["place"]["path"] == ("a" if picker.get("variables") else "a/b"), k
        assert k["place"]["label"] == ("b" if picker.get("variables") else picker.get("label", k["kind"])), k
    assert sum(1 for k in registry["kinds"] if k["picker"].get("architecture")) == 1


def test_no_other_module_keeps_its_own_list_of_kinds(registry):
    # A list or object literal naming two or more summary kinds (as strings, or as keys), outside
    # a kind's own folder, is a hand-kept list that the registry should give instead.
    kinds = set(kinds_of(registry)) | {s for k in registry["kinds"] for s in k["shows"]}
    offenders = []
    for folder, _, files in os.walk(FRONTEND):
        if os.path.dirname(folder) == VIEWS:
            continue  # a kind's own folder may name its kind
        for name in files:
            if not name.endswith(".js"):
                continue
            text = re.sub(r"/\*.*?\*/|//[^\n]*", "", open(os.path.join(folder, name)).read(), flags=re.S)
            for literal in re.findall(r"\[[^\[\]]*\]|\{[^{}]*\}", text):
                named = (set(re.findall(r'"(\w+)"', literal)) | set(re.findall(r"(\w+)\s*:", literal))) & kinds
                if len(named) >= 2:
                    offenders.append((os.path.relpath(os.path.join(folder, name), FRONTEND), sorted(named)))
    assert offenders == []


# ---- the stylesheets -------------------------------------------------------------------


def css_files():
    out = []
    for folder, _, files in os.walk(FRONTEND):
        out += [os.path.join(folder, f) for f in files if f.endswith(".css")]
    return sorted(out)


def parse_css(text):
    """[(at-rule context, selector list, [(property, value)])] of a stylesheet, comments dropped."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    rules = []

    def block(start, end, context):
        i = start
        while True:
            brace = text.find("{", i, end)
            if brace < 0:
                return
            prelude = " ".join(text[i:brace].split())
            depth, j = 0, brace
            while True:
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                if depth == 0:
                    break
                j += 1
            if prelude.startswith("@"):
                block(brace + 1, j, context + (prelude,))
            else:
                declarations = [tuple(part.split(":", 1)) for part in text[brace + 1:j].split(";") if ":" in part]
                rules.append((context, prelude, [(p.strip(), " ".join(v.split())) for p, v in declarations]))
            i = j + 1

    block(0, len(text), ())
    return rules


def selectors(prelude):
    return [s.strip() for s in re.split(r",(?![^(]*\))", prelude)]


def test_every_stylesheet_is_loaded(registry):
    loaded = {os.path.normpath(os.path.join(FRONTEND, name)) for name in registry["stylesheets"]}
    for k in registry["kinds"]:
        path = os.path.normpath(os.path.join(VIEWS, k["kind"], k["stylesheet"].rsplit("/", 1)[-1]))
        assert os.path.isfile(path), k["stylesheet"]
        loaded.add(path)
    assert sorted(loaded) == css_files()
    assert registry["stylesheets"][0] == "theme.css"  # it opens the cascade layer every sheet uses


def test_no_important_and_no_selector_declared_twice():
    seen = {}
    for path in css_files():
        text = open(path).read()
        assert "!important" not in text, path
        for context, prelude, _ in parse_css(text):
            for selector in selectors(prelude):
                where = seen.setdefault((context, selector), [])
                where.append(os.path.relpath(path, FRONTEND))
    twice = {k: v for k, v in seen.items() if len(v) > 1}
    assert twice == {}


def test_every_rule_is_in_the_tab_layer_but_the_hidden_attribute():
    for path in css_files():
        for context, prelude, _ in parse_css(open(path).read()):
            if prelude == "[hidden]":
                assert context == () and path.endswith("base.css"), path
            else:
                assert context[:1] == ("@layer tab",), (path, prelude)


def test_theme_tokens_are_declared_once_in_the_theme():
    declared = {}
    for path in css_files():
        for context, prelude, declarations in parse_css(open(path).read()):
            for prop, _ in declarations:
                if prop.startswith("--"):
                    declared.setdefault(prop, set()).add((os.path.relpath(path, FRONTEND), prelude))
    theme = {p for p, where in declared.items() if any(f == "theme.css" for f, _ in where)}
    assert len(theme) > 30
    for prop, where in declared.items():
        if prop in theme:
            # once per theme: the light rule and the dark rule of theme.css
            assert {f for f, _ in where} == {"theme.css"} and len(where) == 2, (prop, where)
        else:
            assert len(where) == 1, (prop, where)  # a view's own token (e.g. the attention heads' colours)
