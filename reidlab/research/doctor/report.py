"""The doctor's verdicts: one result per check, a readable report and a JSON form for programs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, TextIO

from reidlab.rundir import write_json_atomic


class Status(str, Enum):
    """PASS and WARN do not fail the doctor; FAIL does; SKIP marks a check that an earlier failure made impossible."""

    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass
class CheckResult:
    """One check: its verdict, a line with its numbers, and for a failure the likely cause and the fix."""

    name: str  # machine name, stable for programs (e.g. "overfit")
    title: str  # what a person reads (e.g. "one-batch overfit")
    status: Status
    summary: str
    numbers: dict[str, Any] = field(default_factory=dict)
    cause: str = ""
    fix: str = ""
    note: str = ""  # how the check was made, when that matters for reading it

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["status"] = self.status.value
        return out


def fix_for_error(where: str) -> str:
    """The fix line of a check that an exception ended: the cause line holds that error."""
    return f"the cause line is the error {where} raised: fix what it names (`reidlab train` with this config writes its whole traceback to log.txt)"


def skipped(name: str, title: str, reason: str) -> CheckResult:
    return CheckResult(name, title, Status.SKIP, f"not run: {reason}")


@dataclass
class DoctorReport:
    """Every check of one doctor run, in the order they ran."""

    config_file: str
    overrides: list[str]
    device: str
    amp: str
    checks: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status is Status.FAIL]

    @property
    def exit_code(self) -> int:
        """1 when any check failed, else 0 (warnings do not fail)."""
        return 1 if self.failed else 0

    def check(self, name: str) -> CheckResult:
        """The result of the check called `name` (KeyError if it did not run)."""
        for result in self.checks:
            if result.name == name:
                return result
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "config_file": self.config_file,
            "overrides": self.overrides,
            "device": self.device,
            "amp": self.amp,
            "passed": not self.failed,
            "exit_code": self.exit_code,
            "seconds": self.seconds,
            "checks": [c.to_dict() for c in self.checks],
        }

    def write_json(self, path: str | Path) -> Path:
        return write_json_atomic(path, self.to_dict())

    def render(self) -> str:
        """Plain text: a header, one line per check (PASS/WARN/FAIL/SKIP, name, numbers), causes and fixes indented."""
        width = max((len(c.title) for c in self.checks), default=10)
        lines = [f"reidlab doctor  {self.config_file}  (device {self.device}, AMP {self.amp})"]
        if self.overrides:
            lines.append(f"  overrides: {' '.join(self.overrides)}")
        lines.append("")
        for c in self.checks:
            lines.append(f"{c.status.value:<4}  {c.title:<{width}}  {c.summary}")
            indent = " " * (width + 8)
            for label, text in (("how", c.note), ("cause", c.cause), ("fix", c.fix)):
                if text:
                    lines.append(f"{indent}{label}: {text}")
        counts = {s: sum(1 for c in self.checks if c.status is s) for s in Status}
        verdict = "FAILED" if self.failed else "all checks passed"
        lines.append("")
        lines.append(
            f"{verdict}: {counts[Status.PASS]} passed, {counts[Status.WARN]} warnings, {counts[Status.FAIL]} failed, "
            f"{counts[Status.SKIP]} skipped ({self.seconds:.1f} s)"
        )
        return "\n".join(lines)

    def print(self, stream: TextIO) -> None:
        stream.write(self.render() + "\n")
        stream.flush()
