"""The config every remedy builds on (`_BASE_`): the run's own config.yaml, or a reidlab copy of a fast-reid one.

A reidlab run's config.yaml loads as it is. A fast-reid config.yaml is first made loadable
(`fastreid_config.reidlab_copy`) and written beside the remedies, in a subfolder so that a sweep of
the remedy folder does not train it; the keys the copy had to drop are named on every remedy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from reidlab.config import ConfigError, load_config
from reidlab.research.diagnose.remedies.files import NO_WRAP, comment_block
from reidlab.research.runs import SOURCE_FASTREID, RunEvidence, read_yaml_mapping, reidlab_copy
from reidlab.rundir import write_text_atomic

FASTREID_BASE_DIR = "fastreid_base"


@dataclass
class RemedyBase:
    """Where the base config is (None: no remedy can be written, see `reason`) and what a fast-reid copy lost."""

    path: Path | None
    reason: str | None = None
    from_fastreid: bool = False
    stripped: int = 0  # keys at fast-reid's default that reidlab does not have: nothing lost
    dropped: list[str] = field(default_factory=list)  # "KEY value (why)": the copy differs from the run here

    def note(self) -> str | None:
        """The sentence every remedy built on a lossy fast-reid copy carries."""
        if not self.dropped:
            return None
        return f"Built on a reidlab copy of the fast-reid config that had to drop {len(self.dropped)} key(s): {'; '.join(self.dropped)}."


def remedy_base(run: RunEvidence, configs_dir: Path) -> RemedyBase:
    """The base config for the remedies of `run`, validated as `reidlab train` would load it."""
    if run.config_file is None:
        return RemedyBase(None, f"the run folder has no config.yaml to build on ({run.path})")
    if run.source == SOURCE_FASTREID:
        return _fastreid_base(run, configs_dir)
    try:
        load_config(run.config_file)
    except ConfigError as exc:
        return RemedyBase(None, f"the run's config.yaml does not load in reidlab, so no remedy built on it can be validated ({exc})")
    return RemedyBase(run.config_file)


def _fastreid_base(run: RunEvidence, configs_dir: Path) -> RemedyBase:
    raw, problem = read_yaml_mapping(run.config_file)
    if problem:
        return RemedyBase(None, f"{run.config_file}: {problem}", from_fastreid=True)
    copy = reidlab_copy(raw, str(run.config_file))
    dropped = [d.describe() for d in copy.dropped]
    if copy.tree is None:
        lost = f" after dropping {'; '.join(dropped)}" if dropped else ""
        reason = f"the fast-reid config.yaml cannot be run by reidlab{lost}: {copy.error}"
        return RemedyBase(None, reason, from_fastreid=True, stripped=len(copy.stripped), dropped=dropped)
    path = configs_dir / FASTREID_BASE_DIR / f"{run.path.name}.yml"
    header = [
        f"reidlab copy of {run.config_file.as_posix()} (a fast-reid config), written by `reidlab diagnose`.",
        f"Stripped {len(copy.stripped)} keys still at fast-reid's defaults that reidlab does not have or does not vary.",
        "Dropped (this copy differs from the fast-reid run here): " + ("; ".join(dropped) if dropped else "nothing"),
    ]
    body = yaml.safe_dump(copy.tree, sort_keys=False, default_flow_style=None, width=NO_WRAP)
    write_text_atomic(path, f"{comment_block(header)}\n{body}")
    try:
        load_config(path)
    except ConfigError as exc:  # reidlab_copy validated the same tree: only a write problem lands here
        path.unlink(missing_ok=True)
        return RemedyBase(None, f"the reidlab copy of the fast-reid config does not load ({exc})", from_fastreid=True)
    return RemedyBase(path, from_fastreid=True, stripped=len(copy.stripped), dropped=dropped)
