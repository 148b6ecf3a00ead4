"""Shared fixtures, the test tiers and the parallel run's plumbing.

The TensorBoard process helpers live in tensorboard_process.py.

Tiers (`bash tests/run.sh --fast` deselects the four heavy markers). No test
is marked by hand: `pytest_collection_modifyitems` reads the code a test runs
-- the test function, every fixture it uses that is defined under tests/, and
the test suite's own helpers these call, followed through the names they use
(module-level and inline imports, the scripts they hand to a subprocess:
strings naming a .py file, inline `python -c` scripts, `-m` module names):

- ``tensorboard``: that code reaches `tensorboard_process.tensorboard_process`
  (which `running_tensorboard` also goes through), i.e. starts a real
  TensorBoard process;
- ``browser``: the test uses the `chromium_path` fixture (every Chromium the
  tests start is launched from it) or refers to Playwright;
- ``keras``: that code refers to Keras (`keras`, `tf.keras`) or to the
  plugin's modules that build and train models (`tb_plugin.keras`,
  `tb_plugin.demo`), e.g. builds or fits a model, here or in a script it runs;
- ``install``: it runs `pip install` (the wheel test's fresh virtualenv);
- ``serial``: it starts a multi-worker TensorFlow cluster (`TF_CONFIG`): such
  a test gets the machine to itself also under pytest-xdist (see `_SerialLock`).

The rule is checked while the tests run: a test that starts TensorBoard or
calls `keras.Model.fit` without the matching marker fails, naming the rule.

Under pytest-xdist, tests/run.sh uses `--dist loadfile`: a module's tests run
on one worker, so its module-scoped fixtures (a TensorBoard, trained logs)
start once. (`loadgroup` with a group per shared fixture is no faster on the
measured durations, and it suffixes node ids with "@group", which then
cannot be re-run as printed.)
"""

import dis
import fcntl
import inspect
import os
import re
import shutil
import sys
import tempfile
import types
import warnings

import pytest

import tensorboard_process as _tensorboard_process_module

# Re-exported: tests import these from conftest.
from tensorboard_process import (  # noqa: F401
    free_port,
    http_get,
    running_tensorboard,
    tensorboard_command,
    tensorboard_process,
    wait_for_steps,
)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
ARTIFACTS = os.path.join(TESTS_DIR, "artifacts")


@pytest.fixture(scope="session")
def artifacts_dir():
    os.makedirs(ARTIFACTS, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def chromium_path():
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        pytest.fail("Debian's chromium is not installed: run the README's test command, which installs it")
    return path


@pytest.fixture
def browser(chromium_path, tensorboard_url):
    """A fresh headless Chromium on the test module's `tensorboard_url`."""
    from playwright.sync_api import sync_playwright
    from test_browser import Browser

    with sync_playwright() as p:
        b = Browser(p, chromium_path, tensorboard_url)
        try:
            yield b
        finally:
            b.close()


# ---- tiers: markers derived from the code a test runs ----

TIERS = ("tensorboard", "browser", "keras", "install")
_KERAS_MODULES = ("keras", "tb_plugin.keras", "tb_plugin.demo")
_BROWSER_FIXTURES = ("chromium_path",)
_BROWSER_MODULES = ("playwright",)
_SERIAL_STRINGS = ("TF_CONFIG",)
_INSTALL_STRINGS = ("pip", "install")  # e.g. [python, "-m", "pip", "install", wheel]
_DOTTED = re.compile(r"(tb_plugin|keras|tensorflow)(\.[A-Za-z_]\w*)+")
_TENSORBOARD_CODE = inspect.unwrap(_tensorboard_process_module.tensorboard_process).__code__


def _is_under(module_name, prefixes):
    return any(module_name == p or module_name.startswith(p + ".") for p in prefixes)


def _in_tests(path):
    return bool(path) and os.path.abspath(path).startswith(TESTS_DIR + os.sep)


class _Reach:
    """What a set of functions refers to, followed through the test suite's own code.

    `codes`: every code object reached (functions defined under tests/ are
    followed; library code is not); `modules`: names of the modules whose
    objects are used or imported; `strings`: string constants seen.
    """

    def __init__(self):
        self.codes, self.modules, self.strings = set(), set(), set()
        self._scripts, self._read = set(), set()

    def function(self, func):
        func = inspect.unwrap(func)
        code = getattr(func, "__code__", None)
        if code is not None and _in_tests(code.co_filename):
            self.code(code, getattr(func, "__globals__", {}))

    def code(self, code, globals_):
        if code in self.codes:
            return
        self.codes.add(code)
        imported = None
        for ins in dis.get_instructions(code):
            if ins.opname == "IMPORT_NAME":
                imported = ins.argval
                self.modules.add(imported)
                self.value(sys.modules.get(imported), code, globals_)
            elif ins.opname == "IMPORT_FROM" and imported is not None:
                module = sys.modules.get(imported)
                self.value(getattr(module, ins.argval, None), code, globals_)
            elif ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                if ins.argval in globals_:
                    self.value(globals_[ins.argval], code, globals_)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                self.code(const, globals_)
            elif isinstance(const, str):
                self.string(const)

    def value(self, value, code, globals_):
        if value is None:
            return
        if isinstance(value, types.ModuleType):
            # Counts through what is used of it (`demo.RUNS`, a constant, is not the demo).
            if (value.__name__, code) in self._read:
                return
            self._read.add((value.__name__, code))
            # The attributes this code reads off it (co_names holds them).
            for name in code.co_names:
                try:
                    with warnings.catch_warnings():  # e.g. numpy's FutureWarning for `np.str`
                        warnings.simplefilter("ignore")
                        attr = getattr(value, name, None)
                except Exception:  # a lazy attribute that fails to load is no lead
                    continue
                if isinstance(attr, types.ModuleType):
                    self.modules.add(attr.__name__)
                if attr is not None and not isinstance(attr, (str, bytes, int, float, dict, list, tuple)):
                    self.value(attr, code, globals_)
        elif isinstance(value, (types.FunctionType, type)):
            self.modules.add(getattr(value, "__module__", None) or "")
            if isinstance(value, type):
                if _in_tests(getattr(sys.modules.get(value.__module__), "__file__", None)):
                    for member in vars(value).values():
                        if isinstance(member, (staticmethod, classmethod)):
                            member = member.__func__
                        if isinstance(member, property):
                            member = member.fget
                        if isinstance(member, types.FunctionType):
                            self.function(member)
            else:
                self.function(value)
        elif isinstance(value, str):
            self.string(value)

    def string(self, s):
        if s in self.strings:
            return
        self.strings.add(s)
        if _DOTTED.fullmatch(s):  # e.g. `python -m tb_plugin.demo`
            self.modules.add(s)
        elif s.endswith(".py") and _in_tests(s) and os.path.isfile(s):  # a script of the test suite
            self._script(open(s).read(), s)
        elif "import " in s and "\n" in s:  # an inline `python -c` script
            self._script(s, "<script>")

    def _script(self, source, filename):
        if source in self._scripts:
            return
        self._scripts.add(source)
        try:
            compiled = compile(source, filename, "exec")
        except (SyntaxError, ValueError):
            return
        self.code(compiled, {})


def reach_of(item):
    """The `_Reach` of a test: its function and the fixtures defined under tests/ it uses."""
    reach = _Reach()
    reach.function(item.obj)
    for defs in item._fixtureinfo.name2fixturedefs.values():
        for fixturedef in defs:
            reach.function(fixturedef.func)
    return reach


def tiers_of(item, reach):
    """The tier markers (and `serial`) a test gets, from its fixtures and its reach."""
    found = set()
    if _TENSORBOARD_CODE in reach.codes:
        found.add("tensorboard")
    if any(f in item.fixturenames for f in _BROWSER_FIXTURES) or any(
            _is_under(m, _BROWSER_MODULES) for m in reach.modules):
        found.add("browser")
    if any(_is_under(m, _KERAS_MODULES) for m in reach.modules) or any("keras" in c.co_names for c in reach.codes):
        found.add("keras")
    if all(s in reach.strings for s in _INSTALL_STRINGS):
        found.add("install")
    if any(s in reach.strings for s in _SERIAL_STRINGS):
        found.add("serial")
    return found


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        markers = tiers_of(item, reach_of(item))
        item.stash[_TIERS_KEY] = markers
        for name in sorted(markers):
            item.add_marker(name)


_TIERS_KEY = pytest.StashKey()


# ---- the check of the rule while the tests run ----

_fit_calls = [0]


def _count_keras_fit():
    """Counts `keras.Model.fit` calls (once Keras is imported; the method is wrapped transparently)."""
    keras = sys.modules.get("keras")
    model = getattr(keras, "Model", None) if keras is not None else None
    if model is None or getattr(model.fit, "_counted", False):
        return
    original = model.fit

    def fit(self, *args, **kwargs):
        _fit_calls[0] += 1
        return original(self, *args, **kwargs)

    fit._counted = True
    fit.__wrapped__ = original
    fit.__doc__ = original.__doc__
    model.fit = fit


def _activity():
    return {"tensorboard": _tensorboard_process_module.STARTED[0], "keras": _fit_calls[0]}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    _count_keras_fit()
    item.stash[_ACTIVITY_KEY] = _activity()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    _count_keras_fit()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    before = item.stash.get(_ACTIVITY_KEY, None)
    if call.when == "teardown" or before is None or report.outcome != "passed":
        return
    now = _activity()
    missed = [m for m in ("tensorboard", "keras") if now[m] > before[m] and m not in item.stash.get(_TIERS_KEY, ())]
    if missed:
        report.outcome = "failed"
        report.longrepr = (
            "tests/conftest.py's tier rule missed this test: it %s but is not marked %s. "
            "Make the rule in tests/conftest.py see it (see the module docstring)."
            % (" and ".join({"tensorboard": "started TensorBoard", "keras": "called keras.Model.fit"}[m]
                            for m in missed), " or ".join(missed)))


_ACTIVITY_KEY = pytest.StashKey()


# ---- serial tests under pytest-xdist ----


class _SerialLock:
    """A writer-preferring lock shared by the xdist workers of one run.

    Every test holds it shared while it runs; a `serial` test holds it alone,
    so the other worker waits (between two of its tests) until it is done.
    """

    def __init__(self, config, run_id):
        # In the run's temporary folder (the workers' basetemps are inside it), which pytest cleans up.
        factory = getattr(config, "_tmp_path_factory", None)
        folder = str(factory.getbasetemp().parent) if factory is not None else tempfile.gettempdir()
        base = os.path.join(folder, "serial-%s" % re.sub(r"\W", "", run_id))
        self._gate = open(base + ".gate", "a")
        self._main = open(base + ".lock", "a")

    def acquire(self, alone):
        fcntl.flock(self._gate, fcntl.LOCK_EX)  # waits while a serial test waits or runs
        try:
            fcntl.flock(self._main, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        finally:
            if not alone:
                fcntl.flock(self._gate, fcntl.LOCK_UN)

    def release(self):
        fcntl.flock(self._main, fcntl.LOCK_UN)
        fcntl.flock(self._gate, fcntl.LOCK_UN)


_serial_lock = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run_id is None or not hasattr(item.config, "workerinput"):
        yield
        return
    if not _serial_lock:
        _serial_lock.append(_SerialLock(item.config, run_id))
    lock = _serial_lock[0]
    lock.acquire(alone="serial" in item.stash.get(_TIERS_KEY, ()))
    try:
        yield
    finally:
        lock.release()


# ---- progress per file under pytest-xdist (its own output is dots) ----


class _FileProgress:
    def __init__(self, config):
        self.config = config
        self.total, self.done, self.outcomes, self.seconds, self.workers = {}, {}, {}, {}, {}
        self.files_done = 0

    def collected(self, nodeids):
        if self.total:
            return
        for nodeid in nodeids:
            path = nodeid.split("::")[0]
            self.total[path] = self.total.get(path, 0) + 1

    def report(self, report):
        path = report.nodeid.split("::")[0]
        if path not in self.total:
            return
        self.seconds[path] = self.seconds.get(path, 0.0) + report.duration
        node = getattr(report, "node", None)
        if node is not None:
            self.workers.setdefault(path, set()).add(node.gateway.id)
        counts = self.outcomes.setdefault(path, {})
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            outcome = "xfailed" if hasattr(report, "wasxfail") and report.skipped else report.outcome
            if report.when == "setup" and outcome == "failed":
                outcome = "error"  # as pytest counts it
            counts[outcome] = counts.get(outcome, 0) + 1
        elif report.when == "teardown" and report.outcome == "failed":
            counts["error"] = counts.get("error", 0) + 1
        if report.when == "teardown":
            self.done[path] = self.done.get(path, 0) + 1
            if self.done[path] == self.total[path]:
                self.files_done += 1
                summary = ", ".join("%d %s" % (n, o) for o, n in sorted(counts.items()))
                terminal = self.config.pluginmanager.get_plugin("terminalreporter")
                if terminal is None:
                    return
                if getattr(terminal._tw, "width_of_current_line", 0):  # after the dots
                    terminal.write("\n")
                terminal.write_line("[%d/%d files] %s  %s  (%.0f s on %s)" % (
                    self.files_done, len(self.total), path, summary, self.seconds[path],
                    "+".join(sorted(self.workers.get(path, ()))) or "-"))


def pytest_configure(config):
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        config.pluginmanager.register(_FileProgressPlugin(_FileProgress(config)), "tb-plugin-file-progress")


class _FileProgressPlugin:
    def __init__(self, progress):
        self.progress = progress

    def pytest_xdist_node_collection_finished(self, node, ids):
        self.progress.collected(ids)

    def pytest_runtest_logreport(self, report):
        self.progress.report(report)
