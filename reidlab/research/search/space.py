"""The search space: a YAML file of fast-reid keys, each with a range or a list of choices.

Format (one key per line; keys are full fast-reid names, checked against the config schema)::

    SOLVER.BASE_LR: {low: 1.0e-4, high: 1.0e-3, log: true}   # log-uniform
    MODEL.LOSSES.TRI.SCALE: {low: 0.5, high: 2.0}             # uniform
    SOLVER.MAX_EPOCH: {low: 40, high: 120, step: 20}          # a grid; integers for integer keys
    SOLVER.IMS_PER_BATCH: {choices: [32, 64]}                 # one of these values
    SOLVER.STEPS: {choices: [[40, 90], [30, 60]]}             # list-valued keys take lists

A range's type follows the key's type in the schema (int or float). Choices of a list-valued key
are kept in Optuna as JSON text ("[40, 90]"), since Optuna's choices must be scalars.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence, get_origin

import yaml
from pydantic import BaseModel

from reidlab.config import Config, ConfigError, override_config, resolve_config_path
from reidlab.research.search.errors import SearchError

RANGE_FIELDS = {"low", "high", "log", "step"}
SPEC_FIELDS = RANGE_FIELDS | {"choices"}
KEYS_SET_BY_SEARCH = {"OUTPUT_DIR": "the search puts each trial in <study folder>/trial_<n>"}


@dataclass(frozen=True)
class SearchParam:
    """One searched key: a float or int range, or a list of choices."""

    key: str
    kind: str  # "float", "int" or "choice"
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: tuple[Any, ...] = ()  # as Optuna stores them (lists as JSON text)
    list_valued: bool = False

    def suggest(self, trial: Any) -> Any:
        """The trial's value for this key (a queued trial's fixed value, or a sampled one)."""
        if self.kind == "float":
            return trial.suggest_float(self.key, self.low, self.high, log=self.log, step=self.step)
        if self.kind == "int":
            return trial.suggest_int(self.key, self.low, self.high, log=self.log, step=self.step or 1)
        return self.decode(trial.suggest_categorical(self.key, list(self.choices)))

    def encode(self, value: Any) -> Any:
        """A config value as Optuna records it for this key."""
        return json.dumps(list(value)) if self.list_valued and isinstance(value, (list, tuple)) else value

    def decode(self, stored: Any) -> Any:
        return json.loads(stored) if self.list_valued and isinstance(stored, str) else stored

    def contains(self, value: Any) -> bool:
        """Whether a config value can be expressed as a point of this key's range or choices."""
        if self.kind == "choice":
            return self.encode(value) in self.choices
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        if self.kind == "int" and not float(value).is_integer():
            return False
        if not self.low <= value <= self.high:
            return False
        if self.step:
            steps = (value - self.low) / self.step
            return abs(steps - round(steps)) < 1e-9
        return True

    def describe(self) -> str:
        if self.kind == "choice":
            return f"one of {list(self.choices)}"
        scale = " (log scale)" if self.log else ""
        grid = f" in steps of {self.step:g}" if self.step else ""
        return f"{self.low:g} to {self.high:g}{grid}{scale}"

    def as_dict(self) -> dict[str, Any]:
        if self.kind == "choice":
            return {"choices": list(self.choices)}
        out: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.step:
            out["step"] = self.step
        return out


@dataclass(frozen=True)
class SearchSpace:
    """The searched keys, in file order, and the file they came from (for error messages)."""

    params: tuple[SearchParam, ...]
    source: str

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.params]

    def param(self, key: str) -> SearchParam:
        return next(p for p in self.params if p.key == key)

    def suggest(self, trial: Any, keys: Sequence[str] | None = None) -> dict[str, Any]:
        """Values for `keys` (default: all) from an Optuna trial, as config values."""
        wanted = self.keys if keys is None else list(keys)
        return {p.key: p.suggest(trial) for p in self.params if p.key in wanted}

    def as_dict(self) -> dict[str, Any]:
        return {p.key: p.as_dict() for p in self.params}


def override_text(value: Any) -> str:
    """A value as a `KEY VALUE` override string that reads back as the same value (1e-05 stays a float)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=1_000_000).strip()
    return text[: -len("...")].strip() if text.endswith("...") else text


def space_overrides(values: dict[str, Any]) -> list[str]:
    """`KEY VALUE` overrides for sampled values."""
    return [item for key, value in values.items() for item in (key, override_text(value))]


# ---------------------------------------------------------------- reading the file
def load_search_space(path: str | Path) -> SearchSpace:
    """Read and check a space file's format and keys (values are checked against a config by check_space)."""
    try:
        file = resolve_config_path(path)  # configs/search/... also finds the example shipped with reidlab
    except ConfigError:
        file = Path(path)  # reading it below names the problem
    source = file.as_posix()
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SearchError(f"{source}: cannot read the search space file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise SearchError(f"{source}: malformed YAML{where}: {getattr(exc, 'problem', None) or 'invalid YAML'}") from None
    if not isinstance(raw, dict) or not raw:
        raise SearchError(f"{source}: a search space is a mapping of fast-reid keys to ranges or choices, e.g. SOLVER.BASE_LR: {{low: 1.0e-4, high: 1.0e-3, log: true}}")
    return SearchSpace(tuple(_read_param(source, str(key), spec) for key, spec in raw.items()), source)


def _read_param(source: str, key: str, spec: Any) -> SearchParam:
    annotation = _leaf_annotation(source, key)
    where = f"{source}: {key}"
    if not isinstance(spec, dict):
        raise SearchError(f"{where}: give a range {{low: ..., high: ...}} or {{choices: [...]}}, not {spec!r}")
    unknown = sorted(set(spec) - SPEC_FIELDS)
    if unknown:
        raise SearchError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}; use low, high, log, step or choices")
    if "choices" in spec:
        if set(spec) & RANGE_FIELDS:
            raise SearchError(f"{where}: give either choices or a range (low/high), not both")
        return _choice_param(where, key, spec["choices"], get_origin(annotation) is list)
    return _range_param(where, key, spec, annotation)


def _choice_param(where: str, key: str, choices: Any, list_valued: bool) -> SearchParam:
    if not isinstance(choices, list) or not choices:
        raise SearchError(f"{where}: choices must be a non-empty list, e.g. {{choices: [32, 64]}}")
    param = SearchParam(key, "choice", list_valued=list_valued)
    encoded = []
    for choice in choices:
        if list_valued and not isinstance(choice, list):
            raise SearchError(f"{where}: {key} holds a list, so each choice must be a list, e.g. [40, 90]; got {choice!r}")
        if not list_valued and not (choice is None or isinstance(choice, (bool, int, float, str))):
            raise SearchError(f"{where}: a choice must be a number, a string or a boolean; got {choice!r}")
        encoded.append(param.encode(choice))
    if len(set(map(repr, encoded))) != len(encoded):
        raise SearchError(f"{where}: choices repeat a value: {choices}")
    return SearchParam(key, "choice", choices=tuple(encoded), list_valued=list_valued)


def _range_param(where: str, key: str, spec: dict, annotation: Any) -> SearchParam:
    if annotation not in (int, float):
        raise SearchError(f"{where}: this key is not a number, so give it {{choices: [...]}} instead of a range")
    if "low" not in spec or "high" not in spec:
        raise SearchError(f"{where}: a range needs both low and high")
    kind = "int" if annotation is int else "float"
    low, high, step = (_number(where, name, spec.get(name), kind) for name in ("low", "high", "step"))
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise SearchError(f"{where}: log must be true or false, got {log!r}")
    if low is None or high is None or not low < high:
        raise SearchError(f"{where}: low must be below high (got low {low}, high {high})")
    if log and low <= 0:
        raise SearchError(f"{where}: a log-scale range needs low > 0 (got {low})")
    if step is not None and (step <= 0 or (log and step != 1)):
        raise SearchError(f"{where}: step must be positive and cannot be combined with log: true")
    return SearchParam(key, kind, low=low, high=high, log=log, step=step)


def _number(where: str, name: str, value: Any, kind: str) -> float | int | None:
    """YAML 1.1 reads 1e-4 (no dot) as text; take it as the number it obviously is."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise SearchError(f"{where}: {name} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SearchError(f"{where}: {name} must be a finite number, got {value!r}")
    if kind == "int":
        if not float(value).is_integer():
            raise SearchError(f"{where}: this key is an integer, so {name} must be a whole number (got {value})")
        return int(value)
    return float(value)


# ---------------------------------------------------------------- the schema
def _leaf_annotation(source: str, key: str) -> Any:
    """The schema type of a dotted key; a one-line error for an unknown key, a section, or a key the search sets."""
    if key in KEYS_SET_BY_SEARCH:
        raise SearchError(f"{source}: {key} cannot be searched: {KEYS_SET_BY_SEARCH[key]}")
    model: type[BaseModel] = Config
    parts = key.split(".")
    for index, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            raise SearchError(f"{source}: unknown key {key}{_closest_key_hint(key)}")
        annotation = field.annotation
        is_section = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        if index == len(parts) - 1:
            if is_section:
                raise SearchError(f"{source}: {key} is a section, not a value; search one of its keys, e.g. {key}.{next(iter(annotation.model_fields))}")
            return annotation
        if not is_section:
            raise SearchError(f"{source}: unknown key {key}: {'.'.join(parts[: index + 1])} is a value, not a section")
        model = annotation
    raise AssertionError("unreachable")


def schema_leaf_keys(model: type[BaseModel] = Config, prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.extend(schema_leaf_keys(annotation, f"{prefix}{name}."))
        else:
            keys.append(f"{prefix}{name}")
    return keys


def _closest_key_hint(key: str) -> str:
    every = schema_leaf_keys()
    by_suffix = [k for k in every if k.endswith("." + key)]
    if len(by_suffix) == 1:
        return f"; did you mean {by_suffix[0]}?"
    close = difflib.get_close_matches(key, every, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else " (keys are full fast-reid names, e.g. SOLVER.BASE_LR)"


# ---------------------------------------------------------------- against a config
def check_values_against(space: SearchSpace, base: Config) -> None:
    """Every choice and both ends of every range must be a valid value of its key on top of `base`."""
    for param in space.params:
        candidates = [param.decode(c) for c in param.choices] if param.kind == "choice" else [param.low, param.high]
        for value in candidates:
            try:
                override_config(base, [param.key, override_text(value)])
            except ConfigError as exc:
                reason = str(exc).split(": ", 1)[-1]
                raise SearchError(f"{space.source}: {param.key}: {value!r} is not a valid value ({reason})") from None


def check_not_overridden(space: SearchSpace, overrides: Sequence[str]) -> None:
    """A key cannot be both searched and fixed on the command line."""
    fixed = set(overrides[::2])
    both = [key for key in space.keys if key in fixed]
    if both:
        raise SearchError(f"{space.source}: {both[0]} is searched, so it cannot also be set on the command line; drop one of them")
