"""The list of detectors `diagnose` runs, in priority order, and the verdict they add up to.

A detector is a small function `RunEvidence -> Finding | None`. To teach diagnose something new,
write one and add it to DETECTORS; its place in the list breaks ties between equally severe findings.
"""

from __future__ import annotations

from typing import Callable

from reidlab.research.diagnose.detectors.batch import lr_not_scaled, small_pk_batch
from reidlab.research.diagnose.detectors.health import frozen_backbone, weights_not_updating
from reidlab.research.diagnose.detectors.loss import ce_at_chance, divergence, triplet_at_margin
from reidlab.research.diagnose.detectors.progress import healthy_plateau, never_evaluated, overfitting, still_improving
from reidlab.research.diagnose.detectors.schedule import short_cosine, steps_before_warmup_ends, steps_beyond_max_epoch, warmup_too_long
from reidlab.research.diagnose.findings import Finding, Severity, by_severity
from reidlab.research.runs import RunEvidence

Detector = Callable[[RunEvidence], "Finding | None"]

DETECTORS: list[Detector] = [
    weights_not_updating,
    ce_at_chance,
    triplet_at_margin,
    divergence,
    frozen_backbone,
    small_pk_batch,
    overfitting,
    still_improving,
    warmup_too_long,
    steps_beyond_max_epoch,
    steps_before_warmup_ends,
    short_cosine,
    lr_not_scaled,
    never_evaluated,
]


# Readings of the mAP curve mean nothing when the run could not learn (critical findings): dropped then.
CURVE_FINDINGS = frozenset({"overfitting", "still_improving"})


def find_findings(run: RunEvidence, detectors: list[Detector] | None = None) -> list[Finding]:
    """Every detector's finding, most severe first; a healthy verdict when none is a warning or worse."""
    findings = [finding for detect in (detectors or DETECTORS) if (finding := detect(run)) is not None]
    if any(finding.severity is Severity.CRITICAL for finding in findings):
        findings = [finding for finding in findings if finding.code not in CURVE_FINDINGS]
    if not any(finding.severity >= Severity.WARNING for finding in findings):
        findings.append(healthy_plateau(run))
    return by_severity(findings)
