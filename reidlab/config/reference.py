"""The configuration reference, generated from the schema so that it cannot drift from the code.

    python -m reidlab.config.reference > docs/configuration.md
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from pydantic import BaseModel

from reidlab.config.schema import Config

HEADER = """# Configuration reference

Generated from `reidlab/config/schema.py` by `python -m reidlab.config.reference`; a test fails
when this file is stale. Keys are fast-reid's unless marked *reidlab*. Keys marked
*not supported yet* load only at their default value; any other value is an error that names
the key, never silently ignored.

| key | default | meaning |
| --- | --- | --- |
"""


def reference_markdown() -> str:
    return HEADER + "".join(f"| `{key}` | `{_show(default)}` | {doc} |\n" for key, default, doc in _rows(Config(), ""))


def _rows(section: BaseModel, prefix: str) -> Iterator[tuple[str, Any, str]]:
    for name, field in type(section).model_fields.items():
        value = getattr(section, name)
        if isinstance(value, BaseModel):
            yield from _rows(value, f"{prefix}{name}.")
            continue
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        doc = field.description or ""
        if extra.get("unsupported"):
            doc = f"*not supported yet.* {doc}"
        if extra.get("reidlab"):
            doc = f"*reidlab.* {doc}"
        yield f"{prefix}{name}", value, doc.replace("|", "\\|")


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return json.dumps(value) if isinstance(value, str) else str(value)


if __name__ == "__main__":
    print(reference_markdown(), end="")
