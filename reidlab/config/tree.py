"""Config trees as run folders hold them: read a YAML mapping, flatten it to dotted keys and nest it back, compare values."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import yaml


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


def read_yaml_mapping(path: Path) -> tuple[dict, str | None]:
    """A YAML file's top-level mapping, or ({}, why not)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, f"{path.name} is missing"
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return {}, f"{path.name} cannot be read ({exc.__class__.__name__})"
    if not isinstance(data, dict):
        return {}, f"{path.name} does not hold a mapping"
    return data, None


def flatten_config(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"SOLVER": {"BASE_LR": x}} -> {"SOLVER.BASE_LR": x}: fast-reid's dotted key names."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_config(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat
