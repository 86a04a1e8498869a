"""Remedy configs: `Remedy` (a few changed keys and the hypothesis they test), the seed's five
(`seed`), the base config they build on (`base`: the run's config.yaml, or a reidlab copy of a
fast-reid one), and writing and validating the YAML files (`files`)."""

from reidlab.research.diagnose.remedies.base import RemedyBase, remedy_base
from reidlab.research.diagnose.remedies.files import REMEDY_SUFFIX, SkippedRemedy, WrittenRemedy, collect_remedies, validate_remedy, write_remedies
from reidlab.research.diagnose.remedies.remedy import SEED_ORIGIN, Remedy, round_lr
from reidlab.research.diagnose.remedies.seed import seed_remedies

__all__ = [
    "REMEDY_SUFFIX",
    "SEED_ORIGIN",
    "Remedy",
    "RemedyBase",
    "SkippedRemedy",
    "WrittenRemedy",
    "collect_remedies",
    "remedy_base",
    "round_lr",
    "seed_remedies",
    "validate_remedy",
    "write_remedies",
]
