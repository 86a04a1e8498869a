"""analysis.txt (for people) and analysis.json (for programs): the findings, the remedies and what to run next."""

from __future__ import annotations

import math
import textwrap
from typing import Any

from reidlab.research.diagnose.chance_level import run_chance_level
from reidlab.research.diagnose.findings import Finding, Severity
from reidlab.research.diagnose.remedies import RemedyBase, SkippedRemedy, WrittenRemedy
from reidlab.research.runs import SOURCE_FASTREID, RunEvidence

WIDTH = 100
NEXT_LABELS = {
    "same_config_in_reidlab": "The same config trained by reidlab (its optimiser holds the model's own parameters)",
    "halving_sweep": "Cheapest, successive halving over the remedies",
    "sequential_launchers": "Every remedy to its own early stop (the seed's way)",
}


def analysis_facts(
    run: RunEvidence,
    findings: list[Finding],
    written: list[WrittenRemedy],
    skipped: list[SkippedRemedy],
    launchers: dict[str, str],
    next_commands: dict[str, str],
    generated: str,
    base: RemedyBase | None = None,
) -> dict[str, Any]:
    """Everything in analysis.txt, as JSON."""
    best = run.best
    chance = run_chance_level(run)
    return {
        "run_dir": run.path.as_posix(),
        "source": run.source,
        "versions": dict(run.versions),
        "generated": generated,
        "verdict": verdict(findings),
        "data": {
            "training_ids": run.num_classes,
            "train_images": run.num_train_images,
            "iters_per_epoch": run.iters_per_epoch,
            "ims_per_batch": run.setting("SOLVER.IMS_PER_BATCH"),
            "chance_ce": round(chance.value, 4) if chance else None,
            "chance_ce_described": chance.describe() if chance else None,
        },
        "run": {
            "epochs_run": run.epochs_run,
            "stop_reason": run.stop_reason,
            "stop_message": run.stop_message,
            "best": None if best is None else {"mAP": best.mAP, "rank1": best.rank1, "epoch": best.epoch},
            "last_epoch": _last_losses(run),
        },
        "findings": [finding.to_dict() for finding in findings],
        "remedies": [{**w.remedy.to_dict(), "file": w.path.as_posix(), "run_dir": w.run_dir.as_posix()} for w in written],
        "skipped_remedies": [{"name": s.remedy.name, "origin": s.remedy.origin, "reason": s.reason} for s in skipped],
        "base_config": _base_facts(base),
        "launchers": launchers,
        "next": next_commands,
        "problems": list(run.problems),
    }


def verdict(findings: list[Finding]) -> str:
    top = findings[0] if findings else None
    return top.title if top is not None else "Nothing to report"


def analysis_text(facts: dict[str, Any], findings: list[Finding]) -> str:
    """The report a person reads first: verdict, the run in numbers, findings with evidence, remedies, next steps."""
    data, run = facts["data"], facts["run"]
    lines = [f"DIAGNOSIS OF {facts['run_dir']}", f"Generated {facts['generated']}", "", f"VERDICT: {facts['verdict']}", ""]
    lines.append("THE RUN")
    lines += _wrapped(_source_line(facts), "  ", "    ")
    lines.append(f"  Epochs run: {run['epochs_run']}; stopped: {run['stop_reason'] or 'unknown'}" + (f" ({run['stop_message']})" if run["stop_message"] else ""))
    best = run["best"]
    lines.append(f"  Best mAP {best['mAP']:.4f} at epoch {best['epoch']}" if best else "  No evaluated epoch.")
    lines.append(
        f"  Data: {_or_unknown(data['training_ids'])} training identities, {_or_unknown(data['train_images'])} images, "
        f"{_or_unknown(data['iters_per_epoch'])} iterations per epoch at batch {data['ims_per_batch']}"
    )
    if run["last_epoch"]:
        lines.append("  Last epoch: " + ", ".join(f"{k} {_number(v)}" for k, v in run["last_epoch"].items()))
        if data["chance_ce_described"]:
            lines += _wrapped(f"(cross-entropy at chance level: {data['chance_ce_described']})", "  ", "   ")
    lines += ["", "FINDINGS (most severe first)"]
    for index, finding in enumerate(findings, 1):
        lines += _finding_lines(index, finding)
    lines += ["", f"REMEDY CONFIGS ({len(facts['remedies'])} written)"]
    base = facts["base_config"]
    if base and base["file"]:
        dropped = "; ".join(base["dropped"]) or "nothing"
        lines += _wrapped(f"Built on {base['file']}, a reidlab copy of the fast-reid config.yaml ({base['stripped']} keys at fast-reid's defaults stripped; dropped: {dropped})", "  ", "      ")
    for remedy in facts["remedies"]:
        changes = ", ".join(f"{k} {_number(v)}" for k, v in remedy["changes"].items())
        lines += _wrapped(f"{remedy['name']} [{remedy['origin']}]: {changes}", "  ", "      ")
        lines += _wrapped(f"tests: {remedy['tests']}", "      ", "        ")
        lines.append(f"      file: {remedy['file']}  ->  run: {remedy['run_dir']}")
    reasons = {s["reason"] for s in facts["skipped_remedies"]}
    if len(reasons) == 1 and len(facts["skipped_remedies"]) > 1:  # one cause for all: say it once
        names = ", ".join(s["name"] for s in facts["skipped_remedies"])
        lines += _wrapped(f"Not written ({names}): {reasons.pop()}", "  ", "      ")
    else:
        for skipped in facts["skipped_remedies"]:
            lines += _wrapped(f"{skipped['name']} not written: {skipped['reason']}", "  ", "      ")
    if facts["next"]:
        lines += ["", "NEXT"]
        lines += [line for key, command in facts["next"].items() for line in _wrapped(f"{NEXT_LABELS.get(key, key)}: {command}", "  ", "      ")]
    if facts["problems"]:
        lines += ["", "COULD NOT BE READ"] + [line for p in facts["problems"] for line in _wrapped(f"- {p}", "  ", "    ")]
    return "\n".join(lines) + "\n"


def _source_line(facts: dict[str, Any]) -> str:
    if facts["source"] != SOURCE_FASTREID:
        return "Source: a reidlab run folder"
    versions = facts["versions"]
    shown = ", ".join(f"{label} {versions[name]}" for name, label in (("fastreid", "fastreid"), ("torch", "PyTorch")) if name in versions) or "versions not in log.txt"
    return f"Source: a fast-reid output folder (metrics.json, config.yaml, log.txt): {shown}; epochs are inferred from iterations"


def _base_facts(base: RemedyBase | None) -> dict[str, Any] | None:
    if base is None or not base.from_fastreid:
        return None
    return {"file": base.path.as_posix() if base.path else None, "stripped": base.stripped, "dropped": list(base.dropped), "reason": base.reason}


def _finding_lines(index: int, finding: Finding) -> list[str]:
    label = "OK" if finding.severity is Severity.OK else finding.severity.label.upper()
    lines = [""] + _wrapped(f"{index}. [{label}] {finding.title}", "", "   ")
    lines += _wrapped("Evidence: " + ", ".join(f"{k} = {_number(v)}" for k, v in finding.evidence.items()), "   ", "     ")
    lines += _wrapped(f"Cause: {finding.cause}", "   ", "     ")
    lines += _wrapped(f"Fix: {finding.fix}", "   ", "     ")
    if finding.remedies:
        lines.append("   Remedy config: " + ", ".join(r.name for r in finding.remedies))
    return lines


def _last_losses(run: RunEvidence) -> dict[str, Any]:
    if not run.history:
        return {}
    last = run.history[-1]
    keys = [k for k in last if k.startswith("loss")] + [k for k in ("lr", "cls_accuracy", "mAP") if k in last]
    return {"epoch": last["epoch"], **{k: last[k] for k in keys}}


def _wrapped(text: str, first: str, rest: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False, break_long_words=False) or [first]


def _number(value: Any) -> str:
    if isinstance(value, float):
        return "not finite" if not math.isfinite(value) else f"{value:.4g}"
    return "none" if value is None else str(value)


def _or_unknown(value: Any) -> str:
    return "?" if value is None else str(value)
