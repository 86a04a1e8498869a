"""Plain words about the winner: what the evidence says, ties named as ties, and the tie-break."""

from __future__ import annotations

from reidlab.research.compare.selection import GroupSelection, RankedRun, Selection
from reidlab.research.compare.table import epoch_text, percent, run_title
from reidlab.research.runs import SOURCE_FASTREID, RunSummary


def winner_line(selection: Selection) -> str:
    run = selection.winner.run
    best = run.best
    epochs = f" of {epoch_text(run.epochs_run, run.epochs_are_approximate)} run" if run.epochs_run is not None else ""
    return (
        f"{run_title(run)}: best mAP {percent(best.mAP)}% (rank-1 {percent(best.rank1)}%, mINP {percent(best.mINP)}%) "
        f"at epoch {epoch_text(best.epoch, best.epoch_is_approximate)}{epochs}"
    )


def why_paragraphs(selection: Selection) -> list[str]:
    """Plain words: what the evidence says about the winner, ties named as ties."""
    group = selection.primary
    if len(group.ranked) == 1:
        return [f"{group.leader.run.label} is the only rankable run on {group.query_set.description}; there is nothing to compare it with."]
    tested = [r for r in group.ranked if r.versus_reference is not None]
    paragraphs = _lead_paragraphs(group) + _test_paragraphs(selection, tested)
    below = [r for r in tested if not r.tied_with_reference]
    if below:
        paragraphs.append(f"Significantly below {group.reference.run.label}: " + ", ".join(diff_phrase(r) for r in below) + ".")
    untested = [r for r in group.untested if r is not group.leader]
    if untested:
        paragraphs.append(
            "Not tested, for lack of per-query results, and ranked by mAP alone: "
            + ", ".join(run_title(r.run) for r in untested) + "."
        )
    return paragraphs


def _lead_paragraphs(group: GroupSelection) -> list[str]:
    """Who leads, and whether a paired test could check the lead."""
    leader, reference, where = group.leader, group.reference, group.query_set.description
    if group.leader_tested:
        return [f"{leader.run.label} has the highest best mAP on {where}: {percent(leader.run.best.mAP)}%."]
    second = group.ranked[1].run
    kind = "a fast-reid run" if leader.run.source == SOURCE_FASTREID else "eval/best_per_query.npz is missing"
    paragraphs = [
        f"{run_title(leader.run)} has the highest best mAP on {where} ({percent(leader.run.best.mAP)}%, against "
        f"{percent(second.best.mAP)}% for {second.label}), but it has no per-query results ({kind}), so no "
        "paired test could check whether its lead is real: it is recommended on its point estimate only."
    ]
    if reference is not None:
        paragraphs.append(f"Among the runs with per-query results, {reference.run.label} is the best; the others were tested against it.")
    return paragraphs


def _test_paragraphs(selection: Selection, tested: list[RankedRun]) -> list[str]:
    """How the paired tests were made, and what they say: a tie (with the tie-break) or a clear winner."""
    group = selection.primary
    leader, reference, winner = group.leader, group.reference, group.recommended
    paragraphs = []
    if tested:
        sample = tested[0].versus_reference
        paragraphs.append(
            f"Paired bootstrap against {reference.run.label} on the same {reference.run.per_query.num_valid} queries, "
            f"resampling {sample.n_clusters} identities {sample.n_resamples} times ({round(100 * selection.settings.confidence)}% "
            "percentile intervals of the mAP difference, in percentage points)."
        )
    if not group.tied:
        if tested:
            verdict = f", so {leader.run.label} is the winner" if group.leader_tested else ""
            paragraphs.append(
                f"Every other tested run is significantly below {reference.run.label} (the interval of the difference "
                f"excludes 0){verdict}."
            )
        return paragraphs
    paragraphs.append(
        f"STATISTICALLY TIED: the interval of the mAP difference to {reference.run.label} contains 0 for "
        + ", ".join(diff_phrase(r) for r in group.tied)
        + ". These runs are statistically tied with it: the mAP difference is within noise, so mAP alone "
        "cannot pick between them."
    )
    if group.leader_tested and winner is not leader:
        paragraphs.append(
            "Tie-break, the cheaper run: among the runs statistically tied with the highest-mAP run, the one with "
            f"the fewest epochs run (then the fewest training seconds) is recommended: {winner.run.label}, "
            f"{cost_text(winner.run)}, against {cost_text(leader.run)} for {leader.run.label}. Choosing "
            f"{leader.run.label} for its higher mAP would be crowning noise."
        )
    elif group.leader_tested:
        paragraphs.append(
            f"{leader.run.label} is also the cheapest of them ({cost_text(leader.run)}), so it stays the "
            "recommendation, but its lead is within noise."
        )
    return paragraphs


def diff_phrase(ranked: RankedRun) -> str:
    p = ranked.versus_reference
    return f"{ranked.run.label} ({100 * p.diff:+.2f} points, interval [{100 * p.low:+.2f}, {100 * p.high:+.2f}])"


def cost_text(run: RunSummary) -> str:
    epochs = f"{epoch_text(run.epochs_run, run.epochs_are_approximate)} epochs"
    return epochs + (f", {run.train_seconds:.0f} s of training" if run.train_seconds is not None else "")
