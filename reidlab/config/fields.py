"""How a config key is declared: a supported fast-reid key, one reidlab runs only at its default, or a reidlab key.

Every key is a pydantic field carrying its default and one-line meaning (the configuration
reference is generated from them). A section forbids unknown keys and checks reassigned values.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def key(default: Any, doc: str, **kwargs: Any) -> Any:
    """A supported config key with its default and one-line meaning."""
    return Field(default, description=doc, **kwargs)


def unsupported(default: Any, doc: str) -> Any:
    """A fast-reid key that reidlab accepts only at its default value."""
    return Field(default, description=doc, json_schema_extra={"unsupported": True})


def ours(default: Any, doc: str, **kwargs: Any) -> Any:
    """A reidlab key that fast-reid does not have."""
    return Field(default, description=doc, json_schema_extra={"reidlab": True}, **kwargs)


class Section(BaseModel):
    """A config section: unknown keys and wrong types are errors; values can be reassigned."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
