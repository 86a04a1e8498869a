"""A fast-reid config.yaml made loadable by reidlab, saying exactly which keys had to go.

fast-reid dumps its whole config, including keys reidlab does not have (KD,
SOLVER.CLIP_GRADIENTS, ...) and keys reidlab runs only at their default (INPUT.AUGMIX,
INPUT.RPT, ...). A key still at fast-reid's default changes nothing and is stripped silently;
any other is dropped and named, so a remedy built on the copy says what it no longer tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from reidlab.config import Config, ConfigError, build_config
from reidlab.config.fastreid_keys import FASTREID_DEFAULTS
from reidlab.config.tree import flatten_config, nested, same_value


@dataclass
class DroppedKey:
    key: str
    value: Any
    why: str

    def describe(self) -> str:
        return f"{self.key} {self.value!r} ({self.why})"


@dataclass
class ReidlabCopy:
    """The reidlab-loadable tree, or the reason there is none."""

    tree: dict[str, Any] | None
    stripped: list[str] = field(default_factory=list)  # at fast-reid's default: nothing lost
    dropped: list[DroppedKey] = field(default_factory=list)  # not at its default: the copy differs from the run here
    error: str | None = None


def reidlab_copy(raw: dict[str, Any], source: str) -> ReidlabCopy:
    """Strip or drop what reidlab cannot read, then validate the rest as `reidlab train` would."""
    kept: dict[str, Any] = {}
    copy = ReidlabCopy(tree=None)
    for key, value in flatten_config(raw).items():
        field_info = _reidlab_keys().get(key)
        if field_info is not None and not field_info[1]:
            kept[key] = value
            continue
        reidlab_default = field_info[0] if field_info is not None else None
        if (field_info is not None and same_value(value, reidlab_default)) or (key in FASTREID_DEFAULTS and same_value(value, FASTREID_DEFAULTS[key])):
            copy.stripped.append(key)
            continue
        why = "not a reidlab key" if field_info is None else f"reidlab runs it only at {reidlab_default!r}"
        copy.dropped.append(DroppedKey(key, value, why))
    tree = nested(kept)
    try:
        build_config(tree, source)
    except ConfigError as exc:
        copy.error = str(exc)
        return copy
    copy.tree = tree
    return copy


@lru_cache(maxsize=1)
def _reidlab_keys() -> dict[str, tuple[Any, bool]]:
    """Every reidlab key -> (its default, whether reidlab runs it only at that default)."""
    keys: dict[str, tuple[Any, bool]] = {}

    def walk(node: BaseModel, prefix: str) -> None:
        for name, info in type(node).model_fields.items():
            value = getattr(node, name)
            if isinstance(value, BaseModel):
                walk(value, f"{prefix}{name}.")
                continue
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            keys[f"{prefix}{name}"] = (value, bool(extra.get("unsupported")))

    walk(Config(), "")
    return keys
