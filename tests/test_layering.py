"""The package's folders are its layers, and the imports say so.

    format  <  kinds  <  summary  <  core  <  keras (a framework front door)
    format  <  kinds  <  backend  <  reader

(The registry of kinds, the `tb_plugin.kinds` package itself, is a table that
imports nothing of the package: every layer may read it, `format` included.)

Read from the source (every `import` and `from ... import`, at any depth in a
module, lazy imports included): nothing in format, kinds, core or backend
imports TensorFlow, Keras or PyTorch (`summary` holds the tf.summary door,
which imports TensorFlow when called), and no layer imports one above it.
Then, in a fresh interpreter where TensorFlow, Keras and PyTorch cannot be
imported at all, every module of format, kinds, summary, core and backend
imports.
"""

import ast
import os
import subprocess
import sys

import pytest

import tb_plugin

PACKAGE = os.path.dirname(os.path.abspath(tb_plugin.__file__))
FRAMEWORKS = ("tensorflow", "keras", "torch", "jax")
# What each layer may import of the package (besides itself).
ALLOWED = {
    "format": set(),
    "kinds": {"format"},
    "summary": {"format", "kinds"},
    "core": {"format", "kinds", "summary"},
    "backend": {"format", "kinds"},
    "keras": {"format", "kinds", "summary", "core", "reader"},
    "demo": {"format", "kinds", "summary", "core", "keras", "reader", "version"},
}
# Never a framework import, not even a lazy one. (`summary` holds the
# tf.summary door, which imports TensorFlow when called; its TF-free Writer
# never does: the import test below and tests/test_summary.py hold that.)
NEUTRAL = ("format", "kinds", "core", "backend")


def _modules(layer):
    folder = os.path.join(PACKAGE, layer)
    for root, _, files in os.walk(folder):
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(root, name)
                module = os.path.relpath(path, os.path.dirname(PACKAGE))[:-3].replace(os.sep, ".")
                yield path, module[: -len(".__init__")] if module.endswith(".__init__") else module


def _imports(path):
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, node.lineno
            if node.module == "tb_plugin":
                for alias in node.names:
                    yield "tb_plugin." + alias.name, node.lineno


def test_every_module_sits_in_a_layer():
    top = sorted(n[:-3] for n in os.listdir(PACKAGE) if n.endswith(".py"))
    # Top level: the package, its version, the public Reader and two command-line entry points.
    assert top == ["__init__", "projector", "reader", "version", "visualize"]
    assert sorted(d for d in os.listdir(PACKAGE) if os.path.isfile(os.path.join(PACKAGE, d, "__init__.py"))) == \
        sorted(ALLOWED)


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_no_layer_imports_one_above_it_or_a_framework_below_the_front_doors(layer):
    problems = []
    for path, module in _modules(layer):
        for name, line in _imports(path):
            parts = name.split(".")
            if layer in NEUTRAL and parts[0] in FRAMEWORKS:
                problems.append("%s:%d imports %s" % (module, line, name))
            if name == "tb_plugin.kinds":
                continue  # the registry of kinds: a table every layer may read (it imports nothing; below)
            if parts[0] == "tb_plugin" and len(parts) > 1:
                target = parts[1]
                if target != layer and target not in ALLOWED[layer] and target != "version":
                    problems.append("%s:%d imports %s (layer %s may import %s)"
                                    % (module, line, name, layer, sorted(ALLOWED[layer]) or "nothing of tb_plugin"))
    assert not problems, "\n".join(problems)


def test_the_kinds_registry_imports_nothing_of_the_package():
    registry = os.path.join(PACKAGE, "kinds", "__init__.py")
    assert not [name for name, _ in _imports(registry) if name.split(".")[0] == "tb_plugin"]


def test_the_neutral_layers_import_where_no_framework_can_be_imported():
    modules = [m for layer in NEUTRAL + ("summary",) for _, m in _modules(layer)] + [
        "tb_plugin.reader", "tb_plugin.projector"]
    code = ("import sys\n"
            "for name in %r: sys.modules[name] = None  # any import of them raises ImportError\n"
            "import importlib\n"
            "for m in %r: importlib.import_module(m)\n"
            "print('ok', len(%r))\n") % (FRAMEWORKS, modules, modules)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("ok"), out.stderr[-3000:]


def test_the_keras_door_without_tensorflow_names_the_extra():
    code = ("import sys\n"
            "sys.modules['keras'] = None\n"
            "try:\n"
            "    import tb_plugin.keras\n"
            "except ImportError as e:\n"
            "    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "pip install \"tensorboard-plugin-internals[tf]\"" in out.stdout, out.stdout + out.stderr[-2000:]


def test_what_the_core_asks_of_a_model_is_the_adapter_interface():
    """Every method or attribute the core and its parts use on an adapter is declared, documented, on
    `ModelAdapter` (a second framework's adapter built from that interface is complete)."""
    import re

    from tb_plugin.core import adapter as adapter_lib
    from tb_plugin.core.adapter import GradientSource, ModelAdapter

    used = set()
    for path, _ in _modules("core"):
        used |= set(re.findall(r"\badapter\.([a-z_]+)", open(path, encoding="utf-8").read()))
    assert used, "no adapter use found: the pattern is stale"
    doc = adapter_lib.__doc__ + ModelAdapter.__doc__ + GradientSource.__doc__
    missing = sorted(name for name in used if not hasattr(ModelAdapter, name) or (
        "`%s" % name not in doc and not (callable(getattr(ModelAdapter, name)) and getattr(ModelAdapter, name).__doc__)))
    assert not missing, "used by the core but not in the adapter interface: %s" % missing
