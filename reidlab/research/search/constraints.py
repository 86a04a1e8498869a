"""Rules a sampled config must meet beyond the schema, checked before a trial trains.

The schema checks one key at a time; a search combines keys, so a combination can be
invalid even when every value is fine (a batch of 30 images cannot hold identities of 4).
The space is checked up front so such a sample cannot be drawn; each trial is checked
again before it trains, in case a key the rule needs is searched over a range too large to list.
"""

from __future__ import annotations

from itertools import product
from typing import Any

from reidlab.config import Config, config_value
from reidlab.research.batch_rules import pk_layout, uses_identity_sampler
from reidlab.research.search.errors import SearchError
from reidlab.research.search.space import SearchParam, SearchSpace

BATCH_KEYS = ("SOLVER.IMS_PER_BATCH", "DATALOADER.NUM_INSTANCE", "DATALOADER.SAMPLER_TRAIN")
MAX_LISTED_VALUES = 10_000


def batch_problem(batch: int, instances: int, sampler: str) -> str | None:
    """Why an identity sampler cannot draw this batch (P identities x K instances), or None."""
    if uses_identity_sampler(sampler) and pk_layout(batch, instances) is None:
        return (
            f"SOLVER.IMS_PER_BATCH {batch} is not divisible by DATALOADER.NUM_INSTANCE {instances} "
            f"(the {sampler} draws P identities x NUM_INSTANCE images)"
        )
    return None


def config_problem(cfg: Config) -> str | None:
    """Why this full config cannot train, as far as can be told without the data; None when fine."""
    return batch_problem(cfg.SOLVER.IMS_PER_BATCH, cfg.DATALOADER.NUM_INSTANCE, cfg.DATALOADER.SAMPLER_TRAIN)


def check_combinations(space: SearchSpace, base: Config) -> None:
    """Refuse a space that can draw an invalid batch combination, naming the first one."""
    options = [_values(space, base, key) for key in BATCH_KEYS]
    if any(values is None for values in options):
        return  # too many to list; each trial is checked before it trains
    for batch, instances, sampler in product(*options):
        problem = batch_problem(batch, instances, sampler)
        if problem:
            searched = [key for key in BATCH_KEYS if key in space.keys]
            raise SearchError(
                f"{space.source}: {', '.join(searched)}: this space can draw an invalid combination: {problem}; "
                "change the choices so that every combination is valid"
            )


def _values(space: SearchSpace, base: Config, key: str) -> list[Any] | None:
    if key not in space.keys:
        return [config_value(base, key)]
    return _listed(space.param(key))


def _listed(param: SearchParam) -> list[Any] | None:
    if param.kind == "choice":
        return [param.decode(c) for c in param.choices]
    if param.kind == "int":  # log only changes how often each integer is drawn
        step = int(param.step or 1)
        count = (param.high - param.low) // step + 1
        return list(range(param.low, param.high + 1, step)) if count <= MAX_LISTED_VALUES else None
    return None
