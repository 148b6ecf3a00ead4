"""Layer selection: which layers or layer outputs an argument such as `layers=` names (one rule).

A selector is a layer class (every layer of that class or a subclass), or a
string matching a layer when it equals

* the layer's path (`backbone/block1/conv`), or the path of one of its
  calls without the output key (`lstm` for `lstm:state_h`),
* the framework's own name of the layer (`conv2d_7`) or the last part of
  its path without call number or output key (`conv`),

or when it is a glob pattern over the path (`backbone/*conv*`,
`fnmatch` rules, case-sensitive). Every argument that names layers
(`layers=`, `Embeddings(layers=)`, `ClassStatistics(layers=)`, the hidden
cells of recurrent layers) uses this rule.
"""

import fnmatch


def parse(layers, argument="layers"):
    """The selectors of a `layers`-style argument: None (all) -> [], a string or class -> [it]."""
    if layers is None:
        return []
    if isinstance(layers, (str, type)):
        layers = [layers]
    try:
        layers = list(layers)
    except TypeError:
        raise ValueError("%s must hold layer names, paths, glob patterns or layer classes, got %r"
                         % (argument, layers)) from None
    for s in layers:
        if not isinstance(s, (str, type)):
            raise ValueError("%s must hold layer names, paths, glob patterns or layer classes, got %r"
                             % (argument, s))
    if not layers:
        raise ValueError("%s=[] selects nothing; pass None to log every layer" % argument)
    return layers


def matches(selector, path, name, module, output_key=None):
    """Whether `selector` names the layer (output) at `path` (module docstring)."""
    if isinstance(selector, type):
        return isinstance(module, selector)
    base = path.split("/")[-1].split(" [call")[0].split(":")[0]
    call_path = path[: -len(output_key) - 1] if output_key else path
    return selector in (path, call_path, name, base) or fnmatch.fnmatchcase(path, selector)


def record_matches(selector, record):
    """`matches` for a probe-pass `Record`."""
    return matches(selector, record.path, record.layer_name, record.layer, record.output_key)


def layer_matches(selector, layer):
    """`matches` for an adapter `Layer`."""
    return matches(selector, layer.path, layer.framework_name, layer.module)


def check_all_match(selectors, candidates, match, argument, model_name):
    """Raises ValueError when a string selector matches none of `candidates` (listing them)."""
    for selector in selectors:
        if not isinstance(selector, type) and not any(match(selector, c) for c in candidates):
            available = _names(candidates)
            raise ValueError(
                "%s=%r: %r matches no layer of model %r. Available layer names and paths: %s"
                % (argument, selectors, selector, model_name, ", ".join(available)))


def select(selectors, candidates, match, argument, model_name, among=None):
    """The candidates (records or layers) that some selector names, each once, in their order.

    Raises ValueError when a name matches nothing of `among` (default: the
    candidates) or nothing is selected.
    """
    check_all_match(selectors, candidates if among is None else among, match, argument, model_name)
    chosen = [c for c in candidates if any(match(s, c) for s in selectors)]
    if not chosen:
        raise ValueError("%s=%r selects no layer output of model %r. Available layer names and paths: %s"
                         % (argument, selectors, model_name, ", ".join(_names(candidates))))
    return chosen


def _names(candidates):
    names = {c.path for c in candidates}
    names |= {getattr(c, "layer_name", None) or getattr(c, "framework_name", None) for c in candidates}
    return sorted(n for n in names if n)
