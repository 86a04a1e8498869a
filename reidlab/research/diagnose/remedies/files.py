"""Remedy YAML files: `_BASE_` on the run's config.yaml, only the changed keys, a header that says why.

Every file is loaded back with `load_config` (and the P x K and data-size rules the sampler applies
at train time) before it is kept, so a remedy can never be an invalid config: one that fails is
removed and reported instead.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from reidlab.config import ConfigError, load_config
from reidlab.engine.schedule_fit import schedule_warnings
from reidlab.research.batch_rules import batches_per_epoch, pk_layout, uses_identity_sampler
from reidlab.research.diagnose.findings import Finding
from reidlab.research.diagnose.remedies.remedy import Remedy
from reidlab.research.runs import nested, same_value
from reidlab.rundir import RunDirError, resolve_run_dir, write_text_atomic

REMEDY_SUFFIX = ".yml"
SCHEDULE_KEYS = ("SOLVER.SCHED", "SOLVER.STEPS", "SOLVER.WARMUP_ITERS", "SOLVER.MAX_EPOCH", "SOLVER.IMS_PER_BATCH")
HEADER_WIDTH = 100
NO_WRAP = 10**6  # PyYAML folds long scalars at 80 columns otherwise


@dataclass
class WrittenRemedy:
    remedy: Remedy
    path: Path
    run_dir: Path  # where `reidlab train --config-file path --run-name name` puts the run


@dataclass
class SkippedRemedy:
    remedy: Remedy
    reason: str


def collect_remedies(seed: list[Remedy], findings: list[Finding], current: dict[str, Any]) -> list[Remedy]:
    """The seed's remedies, then the findings' (most severe first), ready to write.

    Keys already at the proposed value are dropped (a remedy holds only changes; one with none
    left is kept whole, as a control rerun); remedies of the same name are merged; a remedy with
    the same changes as an earlier one is dropped, and its finding points at the earlier one.
    """
    by_name: dict[str, Remedy] = {}
    for remedy in [*seed, *(r for finding in findings for r in finding.remedies)]:
        kept = by_name.get(remedy.name)
        if kept is None:
            by_name[remedy.name] = Remedy(remedy.name, _only_changes(remedy.changes, current), remedy.tests, remedy.why, remedy.origin, list(remedy.notes))
        elif remedy.origin not in kept.origin.split("+"):
            kept.changes.update(_only_changes(remedy.changes, current))
            kept.origin += "+" + remedy.origin
            kept.why += " " + remedy.why
    unique: list[Remedy] = []
    alias: dict[str, Remedy] = {}
    for remedy in by_name.values():
        if not remedy.changes:
            continue
        twin = next((r for r in unique if r.changes == remedy.changes), None)
        if twin is not None:
            twin.notes.append(f"Also proposed as {remedy.name} ({remedy.origin}).")
            alias[remedy.name] = twin
            continue
        unique.append(remedy)
        alias[remedy.name] = remedy
    for finding in findings:
        finding.remedies = list({id(alias[r.name]): alias[r.name] for r in finding.remedies if r.name in alias}.values())
    return unique


def _only_changes(changes: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    changed = {key: value for key, value in changes.items() if not same_value(current.get(key), value)}
    return changed or dict(changes)


def write_remedies(
    remedies: list[Remedy],
    base_config: Path,
    out_dir: Path,
    source_run: Path,
    current: dict[str, Any],
    num_ids: int | None = None,
    num_images: int | None = None,
) -> tuple[list[WrittenRemedy], list[SkippedRemedy]]:
    """Write each remedy as out_dir/<name>.yml and keep it only if it loads and fits the data set."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written, skipped = [], []
    for remedy in remedies:
        if all(same_value(current.get(key), value) for key, value in remedy.changes.items()):
            skipped.append(SkippedRemedy(remedy, f"it would change nothing: {_settings(remedy.changes)} is already the run's own setting"))
            continue
        path = out_dir / f"{remedy.name}{REMEDY_SUFFIX}"
        write_text_atomic(path, remedy_yaml(remedy, base_reference(base_config, out_dir), source_run, current))
        try:
            run_dir = validate_remedy(path, remedy.name, num_ids, num_images, remedy.changes)
        except (ConfigError, RunDirError, RemedyInvalid) as exc:
            path.unlink(missing_ok=True)
            skipped.append(SkippedRemedy(remedy, str(exc)))
            continue
        written.append(WrittenRemedy(remedy, path, run_dir))
    return written, skipped


class RemedyInvalid(ValueError):
    """A remedy config that loads but would fail at train time (batch layout, data set size)."""


def validate_remedy(path: Path, run_name: str, num_ids: int | None, num_images: int | None, changes: dict[str, Any] | None = None) -> Path:
    """Load the remedy as `reidlab train` would; the run directory it would create.

    A remedy that changes the schedule (`changes` names a SCHEDULE_KEYS key) must have effect
    within MAX_EPOCH: its LR steps happen and its warm-up does not cover most of the run.

    Raises:
        ConfigError, RunDirError, RemedyInvalid: the remedy would not train.
    """
    cfg = load_config(path)
    batch, instances = cfg.SOLVER.IMS_PER_BATCH, cfg.DATALOADER.NUM_INSTANCE
    if uses_identity_sampler(cfg.DATALOADER.SAMPLER_TRAIN):
        layout = pk_layout(batch, instances)
        if layout is None:
            raise RemedyInvalid(f"SOLVER.IMS_PER_BATCH {batch} is not a multiple of DATALOADER.NUM_INSTANCE {instances}")
        if num_ids is not None and layout[0] > num_ids:
            raise RemedyInvalid(f"a batch of {layout[0]} identities x {instances} needs more than the {num_ids} training identities")
    if num_images is not None and batch > num_images:
        raise RemedyInvalid(f"SOLVER.IMS_PER_BATCH {batch} exceeds the {num_images} training images")
    if changes and num_images and any(key in changes for key in SCHEDULE_KEYS):
        per_epoch = batches_per_epoch(num_images, batch)
        problems = schedule_warnings(cfg.SOLVER.WARMUP_ITERS, per_epoch, cfg.SOLVER.MAX_EPOCH, cfg.SOLVER.SCHED, list(cfg.SOLVER.STEPS))
        if problems:
            raise RemedyInvalid(f"its schedule has no effect within the run: {problems[0].problem}")
    return resolve_run_dir(cfg, run_name, path)


def _settings(changes: dict[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in changes.items())


def base_reference(base_config: Path, out_dir: Path) -> str:
    """`_BASE_` is relative to the including file; absolute only where no relative path exists (another drive)."""
    try:
        return Path(os.path.relpath(base_config.resolve(), out_dir.resolve())).as_posix()
    except ValueError:
        return base_config.resolve().as_posix()


def remedy_yaml(remedy: Remedy, base: str, source_run: Path, current: dict[str, Any]) -> str:
    """The file's text: a comment header (what it tests and why), `_BASE_`, and the changed keys only."""
    header = [
        f"{remedy.name}: generated by `reidlab diagnose {source_run.as_posix()}` ({remedy.origin}).",
        f"Tests: {remedy.tests}",
        f"Why: {remedy.why}",
        *remedy.notes,
        "Changes: " + "; ".join(f"{key} {_text(current.get(key))} -> {_text(value)}" for key, value in remedy.changes.items()),
        "Everything else is inherited from the run's own config (_BASE_).",
        f"Run: reidlab train --config-file <this file> --run-name {remedy.name}",
    ]
    comment = comment_block(header)
    base_line = yaml.safe_dump({"_BASE_": base}, width=NO_WRAP).strip()
    body = yaml.safe_dump(nested(remedy.changes), sort_keys=False, default_flow_style=None, width=NO_WRAP)
    return f"{comment}\n{base_line}\n\n{body}"


def comment_block(entries: list[str]) -> str:
    """YAML comment lines, each entry wrapped to HEADER_WIDTH with an indented continuation."""
    return "\n".join("# " + line for entry in entries for line in textwrap.wrap(entry, HEADER_WIDTH - 2, subsequent_indent="  "))


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return "unset" if value is None else str(value)
