"""Load a fast-reid YAML config: `_BASE_` inheritance, `KEY VALUE` overrides, validation.

Every problem ends in one ConfigError whose message names the file and the key
and says how to fix it; nothing from yaml or pydantic leaks out as a traceback.
"""

from __future__ import annotations

import ast
import difflib
from pathlib import Path
from typing import Any, Iterable, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from reidlab.config.fastreid_keys import FASTREID_DEFAULTS, ignored_keys_line, is_fastreid_key, leaves, why_ignorable, why_no_effect
from reidlab.config.model_keys import backbone_problem
from reidlab.config.schema import Config
from reidlab.config.tree import flatten_config
from reidlab.errors import UserError

PACKAGED_CONFIGS = Path(__file__).resolve().parent.parent / "configs"
OVERRIDE_SOURCE = "command line"


class ConfigError(UserError):
    """A config problem, told in one line."""


def resolve_config_path(path: str | Path) -> Path:
    """The config file as given, or else the copy shipped inside reidlab (for `configs/...`)."""
    given = Path(path)
    if given.is_file():
        return given
    parts = given.parts
    if parts and parts[0] == "configs":
        packaged = PACKAGED_CONFIGS.joinpath(*parts[1:])
        if packaged.is_file():
            return packaged
    raise ConfigError(f"{given}: config file not found (check the path; shipped configs live under configs/)")


def load_config(path: str | Path | None = None, overrides: Iterable[str] = ()) -> Config:
    """The validated config from a YAML file (or the defaults) and `KEY VALUE` overrides."""
    merged: dict[str, Any] = {}
    source = "defaults"
    sources: dict[str, str] = {}
    if path is not None:
        file = resolve_config_path(path)
        merged = _read_with_bases(file, (), sources)
        source = str(file)
    merged = _apply_overrides(merged, list(overrides), sources)
    return build_config(merged, source, sources)


def build_config(raw: dict[str, Any], source: str = "config", sources: dict[str, str] | None = None) -> Config:
    """Validate a nested dict of fast-reid keys into a Config, with one-line errors."""
    sources = sources or {}
    ignored: list[str] = []
    normalised = _check_keys(raw, Config, prefix="", source=source, sources=sources, root=raw, ignored=ignored)
    try:
        cfg = Config.model_validate(normalised)
    except ValidationError as exc:
        raise ConfigError(_describe_validation_error(exc, source, sources)) from None
    _check_unsupported(cfg, Config(), prefix="", source=source, sources=sources, root=raw, ignored=ignored)
    cfg._ignored_keys = ignored
    cfg._set_keys = frozenset(sources) if sources else frozenset(flatten_config(raw))  # a bare dict: every key in it was given
    problem = backbone_problem(cfg.MODEL.BACKBONE)
    if problem:
        dotted, message = problem
        raise ConfigError(f"{sources.get(dotted, source)}: {dotted} {message}")
    return cfg


def ignored_keys_note(cfg: Config, source: str = "config") -> str:
    """The one line naming the fast-reid keys that loading ignored, or "" when there were none."""
    return ignored_keys_line(source, cfg._ignored_keys) if cfg._ignored_keys else ""


def config_to_yaml(cfg: Config) -> str:
    """The fully resolved config as YAML, loadable again with load_config."""
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False, default_flow_style=None)


def override_config(cfg: Config, overrides: Iterable[str]) -> Config:
    """A copy of cfg with `KEY VALUE` overrides applied and validated."""
    sources: dict[str, str] = {}
    raw = _apply_overrides(cfg.model_dump(mode="json"), list(overrides), sources)
    return build_config(raw, OVERRIDE_SOURCE, sources)


# ---------------------------------------------------------------- reading files
def _read_yaml(file: Path) -> dict[str, Any]:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read config file ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{file}: malformed YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: a config must be a mapping of keys, got {type(data).__name__}")
    return data


def _read_with_bases(file: Path, chain: tuple[Path, ...], sources: dict[str, str]) -> dict[str, Any]:
    """The file's keys merged over those of its `_BASE_` (relative to the file), recursively.

    `sources` learns which file set each key, so an error names the file to edit.
    """
    here = file.resolve()
    if here in chain:
        cycle = " -> ".join(str(p) for p in (*chain, here))
        raise ConfigError(f"{file}: _BASE_ cycle: {cycle}")
    data = _read_yaml(file)
    base = data.pop("_BASE_", None)
    if base is None:
        _record_sources(data, str(file), sources)
        return data
    if not isinstance(base, str):
        raise ConfigError(f"{file}: _BASE_ must be a path string, got {base!r}")
    base_file = (file.parent / base) if not Path(base).is_absolute() else Path(base)
    if not base_file.is_file():
        raise ConfigError(f"{file}: _BASE_ file not found: {base_file} (paths are relative to the including file)")
    merged = _read_with_bases(base_file, (*chain, here), sources)
    _record_sources(data, str(file), sources)
    _deep_merge(merged, data)
    return merged


def _deep_merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    for name, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(name), dict):
            _deep_merge(into[name], value)
        else:
            into[name] = value


def _record_sources(tree: dict[str, Any], source: str, sources: dict[str, str], prefix: str = "") -> None:
    for name, value in tree.items():
        dotted = f"{prefix}{name}"
        if isinstance(value, dict):
            _record_sources(value, source, sources, dotted + ".")
        else:
            sources[dotted] = source


# ---------------------------------------------------------------- overrides
def _apply_overrides(tree: dict[str, Any], pairs: list[str], sources: dict[str, str]) -> dict[str, Any]:
    if len(pairs) % 2:
        raise ConfigError(f"{OVERRIDE_SOURCE}: overrides come in KEY VALUE pairs; '{pairs[-1]}' has no value")
    for dotted, text in zip(pairs[::2], pairs[1::2]):
        node = tree
        *parents, leaf = dotted.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{OVERRIDE_SOURCE}: {dotted}: {part} is a value, not a section")
            node = child
        node[leaf] = _parse_value(text)
        sources[dotted] = OVERRIDE_SOURCE
    return tree


def _parse_value(text: str) -> Any:
    """A command-line value as YAML would read it ('0.1' -> 0.1, '[20, 50]' -> list, 'True' -> bool)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


# ---------------------------------------------------------------- validation
def _check_keys(raw: dict[str, Any], model: type[BaseModel], prefix: str, source: str, sources: dict[str, str], root: dict, ignored: list[str]) -> dict[str, Any]:
    """Unknown keys name the closest valid key; fast-reid's tuple strings become lists.

    A fast-reid key reidlab does not run is dropped into `ignored` when it changes nothing here.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: {prefix.rstrip('.') or 'config'} must be a section of keys, got {raw!r}")
    fields = model.model_fields
    out: dict[str, Any] = {}
    for name, value in raw.items():
        dotted = f"{prefix}{name}"
        where = sources.get(dotted, source)
        if name not in fields:
            _check_fastreid_key(dotted, value, where, root, ignored)
            continue
        annotation = fields[name].annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: {dotted} is a section; give it keys, not the value {value!r}")
            out[name] = _check_keys(value, annotation, dotted + ".", source, sources, root, ignored)
        elif get_origin(annotation) is list:
            out[name] = _as_list(value, dotted, where)
        else:
            out[name] = value
    return out


def _check_fastreid_key(dotted: str, value: Any, where: str, root: dict, ignored: list[str]) -> None:
    """Ignore a key reidlab does not have if it is fast-reid's and changes nothing; otherwise one clear error."""
    for leaf, leaf_value in leaves(dotted, value).items():
        if not is_fastreid_key(leaf):
            *parents, _ = dotted.split(".")
            fields = _section_model(parents).model_fields
            prefix = "".join(f"{p}." for p in parents)
            valid = [f"{prefix}{f}" for f in fields]
            close = difflib.get_close_matches(dotted, valid, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else f"; valid keys here: {', '.join(sorted(valid))}"
            raise ConfigError(f"{where}: unknown key {dotted}{hint}")
        if why_ignorable(leaf, leaf_value, root) is None:
            default = FASTREID_DEFAULTS.get(leaf)
            fix = f"remove it or set it to fast-reid's default {default!r}" if leaf in FASTREID_DEFAULTS else "remove it"
            raise ConfigError(f"{where}: {leaf} is a fast-reid key that reidlab does not run, and {leaf_value!r} would change the model or the training; {fix}")
        ignored.append(leaf)


def _section_model(parents: list[str]) -> type[BaseModel]:
    model: type[BaseModel] = Config
    for part in parents:
        model = model.model_fields[part].annotation  # type: ignore[assignment]
    return model


def _as_list(value: Any, dotted: str, where: str) -> Any:
    """fast-reid writes lists as Python tuple strings, e.g. ("CrossEntropyLoss", "TripletLoss",)."""
    if isinstance(value, tuple):
        return list(value)
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith(("(", "[")):
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise ConfigError(f"{where}: {dotted}: cannot read the list {value!r}") from None
        return list(parsed) if isinstance(parsed, (list, tuple)) else [parsed]
    return [value]


def _describe_validation_error(exc: ValidationError, source: str, sources: dict[str, str]) -> str:
    error = exc.errors()[0]
    loc = [str(p) for p in error["loc"]]
    # Collapse list positions (SOLVER.STEPS.0) into the key (SOLVER.STEPS[0]).
    key_parts = [p for p in loc if not p.isdigit()]
    dotted = ".".join(key_parts)
    index = "".join(f"[{p}]" for p in loc if p.isdigit())
    where = sources.get(dotted, source)
    got = error.get("input")
    message = error["msg"]
    ctx = error.get("ctx") or {}
    if error["type"] == "literal_error" and "expected" in ctx:
        message = f"expected one of {ctx['expected']}"
    more = len(exc.errors()) - 1
    tail = f" ({more} more problem{'s' if more > 1 else ''} after this one)" if more else ""
    return f"{where}: {dotted}{index}: {message}, got {got!r}{tail}"


def _check_unsupported(cfg: BaseModel, default: BaseModel, prefix: str, source: str, sources: dict[str, str], root: dict, ignored: list[str]) -> None:
    """A fast-reid key we do not implement yet may only hold its default value, unless it is switched off."""
    for name, field in type(cfg).model_fields.items():
        value, base = getattr(cfg, name), getattr(default, name)
        dotted = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            _check_unsupported(value, base, dotted + ".", source, sources, root, ignored)
            continue
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if extra.get("unsupported") and value != base:
            if why_no_effect(dotted, root) is not None:
                ignored.append(dotted)
                continue
            where = sources.get(dotted, source)
            raise ConfigError(
                f"{where}: not supported yet: {dotted} (set to {value!r}; reidlab only runs it at its default {base!r})"
            )

