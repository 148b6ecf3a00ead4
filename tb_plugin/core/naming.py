"""Naming rules shared by every framework's front door (numpy-free, framework-free).

A layer or variable name counts as *automatic* when it is the snake-case
form of its class name, optionally followed by `_<number>` (`dense`,
`dense_7`); front doors renumber automatic names within the model so the same
architecture gives the same tags in any process (`tb_plugin.keras.naming`).
"""

import re


def snake_case(name):
    """`MultiHeadAttention` -> `multi_head_attention` (non-word characters dropped)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def automatic_base(class_name, name):
    """The automatic base name (`snake_case(class_name)`) if `name` is automatic, else None."""
    base = snake_case(class_name)
    if name == base or re.fullmatch(re.escape(base) + r"_\d+", name):
        return base
    return None
