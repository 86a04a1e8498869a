"""`reidlab diagnose RUN_DIR`: say what is wrong with a run, with evidence, and write the remedies to test.

Reads the run's history, config and data-set size (reidlab or fast-reid run folders); runs the
detectors (`reidlab.research.diagnose.detectors`); writes analysis.txt / analysis.json into the run folder
(or `out`), the remedy configs (the seed's five plus targeted ones) into `out_configs`, and
run_plateau_solutions.sh / .bat beside them. A fast-reid run's remedies build on a reidlab copy of
its config (`remedy_base`), so `reidlab train` can run every one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reidlab.errors import UserError
from reidlab.research.diagnose.detectors import find_findings
from reidlab.research.diagnose.findings import Finding
from reidlab.research.diagnose.launchers import LaunchEntry, write_launchers
from reidlab.research.diagnose.remedies import REMEDY_SUFFIX, RemedyBase, SkippedRemedy, WrittenRemedy, collect_remedies, remedy_base, seed_remedies, write_remedies
from reidlab.research.diagnose.report import analysis_facts, analysis_text
from reidlab.research.runs import RunEvidence, RunReadError, read_run_evidence
from reidlab.rundir import write_json_atomic, write_text_atomic

DEFAULT_REMEDY_DIR = Path("custom_configs") / "plateau_solutions"
ANALYSIS_TEXT_FILE = "analysis.txt"
ANALYSIS_JSON_FILE = "analysis.json"


class DiagnoseError(UserError):
    """A run folder that cannot be diagnosed, or outputs that cannot be written. One line for the user."""


@dataclass
class Diagnosis:
    run: RunEvidence
    findings: list[Finding]
    remedies: list[WrittenRemedy]
    skipped: list[SkippedRemedy]
    launchers: dict[str, Path]
    files: dict[str, Path]  # analysis.txt / analysis.json -> where written
    text: str


def diagnose(
    run_dir: str | Path,
    out: str | Path | None = None,
    out_configs: str | Path | None = None,
    workdir: str | Path | None = None,
) -> Diagnosis:
    """Diagnose one run and write the analysis, the remedy configs and the launchers.

    workdir: the folder the launchers run from (the current one by default), since the configs'
    paths and the runs' relative OUTPUT_DIR are relative to it.

    Raises:
        DiagnoseError: not a run folder, nothing to diagnose, or outputs that cannot be written.
    """
    try:
        run = read_run_evidence(run_dir)
    except RunReadError as exc:
        raise DiagnoseError(str(exc)) from None
    findings = find_findings(run)
    configs_dir = Path(out_configs) if out_configs is not None else DEFAULT_REMEDY_DIR
    workdir = Path(workdir) if workdir is not None else Path.cwd()
    try:
        base = remedy_base(run, configs_dir)
        written, skipped = _write_remedies(run, findings, configs_dir, base)
        launchers = _write_launchers(run, written, configs_dir, workdir)
        facts = analysis_facts(
            run, findings, written, skipped,
            {kind: path.as_posix() for kind, path in launchers.items()},
            _next_commands(run, configs_dir, launchers, written, base),
            datetime.now().astimezone().isoformat(timespec="seconds"),
            base,
        )
        text = analysis_text(facts, findings)
        out_dir = Path(out) if out is not None else run.path
        files = {ANALYSIS_JSON_FILE: out_dir / ANALYSIS_JSON_FILE, ANALYSIS_TEXT_FILE: out_dir / ANALYSIS_TEXT_FILE}
        write_json_atomic(files[ANALYSIS_JSON_FILE], facts)
        write_text_atomic(files[ANALYSIS_TEXT_FILE], text)
    except OSError as exc:
        raise DiagnoseError(f"cannot write the diagnosis: {exc}") from None
    return Diagnosis(run, findings, written, skipped, launchers, files, text)


def diagnose_main(run_dir: str | Path, out: str | Path | None = None, out_configs: str | Path | None = None) -> int:
    """The command: diagnose, print the analysis and where it went; 0 when written (DiagnoseError otherwise)."""
    result = diagnose(run_dir, out, out_configs)
    print(result.text, end="")
    print(f"\nWritten: {', '.join(p.as_posix() for p in result.files.values())}")
    return 0


def _write_remedies(run: RunEvidence, findings: list[Finding], configs_dir: Path, base: RemedyBase) -> tuple[list[WrittenRemedy], list[SkippedRemedy]]:
    remedies = collect_remedies(seed_remedies(run), findings, run.settings)
    if base.path is None:
        return [], [SkippedRemedy(r, base.reason or "no base config") for r in remedies]
    if base.note():
        for remedy in remedies:
            remedy.notes.append(base.note())
    return write_remedies(remedies, base.path, configs_dir, run.path, run.settings, run.num_classes, run.num_train_images)


def _write_launchers(run: RunEvidence, written: list[WrittenRemedy], configs_dir: Path, workdir: Path) -> dict[str, Path]:
    if not written:
        return {}
    entries = [LaunchEntry(w.remedy.name, w.path, w.run_dir) for w in written]
    return write_launchers(entries, run.path, configs_dir, workdir, run.path)


def _next_commands(run: RunEvidence, configs_dir: Path, launchers: dict[str, Path], written: list[WrittenRemedy], base: RemedyBase) -> dict[str, str]:
    commands = {}
    if base.from_fastreid and base.path is not None:
        commands["same_config_in_reidlab"] = f"reidlab train --config-file {base.path.as_posix()} --run-name {run.path.name}_reidlab"
    if not written:
        return commands
    ours = {w.path.name for w in written}
    others = sorted(p.name for p in configs_dir.glob(f"*{REMEDY_SUFFIX}") if p.name not in ours)
    commands["halving_sweep"] = f"reidlab sweep {configs_dir.as_posix()} --strategy halving"
    commands["sequential_launchers"] = f"{launchers['sh'].as_posix()}  (Windows: {launchers['bat'].as_posix()})"
    if others:
        commands["note"] = f"{configs_dir.as_posix()} also holds configs this diagnosis did not write ({', '.join(others)}); a sweep of the folder runs them too."
    return commands
