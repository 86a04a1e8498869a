"""A finding of `diagnose`: what is wrong (or right) with a run, the numbers that show it, the cause and the fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reidlab.research.diagnose.remedies import Remedy


class Severity(IntEnum):
    """How much a finding matters; findings are listed most severe first."""

    OK = 0  # a healthy verdict, not a problem
    NOTE = 1  # worth knowing, unlikely to be why the run plateaued
    WARNING = 2  # costs accuracy or compute
    CRITICAL = 3  # the run cannot learn as configured

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass
class Finding:
    """One diagnosis. `evidence` holds the numbers it rests on (name -> value), never adjectives."""

    code: str  # stable machine name, e.g. "ce_at_chance"
    severity: Severity
    title: str
    evidence: dict[str, Any]
    cause: str
    fix: str
    remedies: list["Remedy"] = field(default_factory=list)  # targeted remedy configs for this finding

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.label,
            "title": self.title,
            "evidence": dict(self.evidence),
            "cause": self.cause,
            "fix": self.fix,
            "remedies": [remedy.name for remedy in self.remedies],
        }


def by_severity(findings: list[Finding]) -> list[Finding]:
    """Most severe first; among equals, the detectors' order (a stable sort)."""
    return sorted(findings, key=lambda finding: -finding.severity)
