"""Dotted config keys and their values: nest them back into a tree, and compare two values as a config would."""

from __future__ import annotations

from typing import Any


def nested(flat: dict[str, Any]) -> dict[str, Any]:
    """{"SOLVER.BASE_LR": x} -> {"SOLVER": {"BASE_LR": x}}."""
    tree: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = tree
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def same_value(old: Any, new: Any) -> bool:
    """Equal as config values: numbers by value (1 == 1.0, never True == 1), lists and tuples element by element."""
    if isinstance(old, bool) or isinstance(new, bool):
        return old is new
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        return float(old) == float(new)
    if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)):
        return len(old) == len(new) and all(same_value(a, b) for a, b in zip(old, new))
    return old == new
