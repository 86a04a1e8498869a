"""Choose the model to deploy from several runs, without crowning noise.

The rule (written into every report as SELECTION_RULE):

1. Runs are grouped by query set. Runs with per-query results belong together only when their
   query ids, cameras, order and valid flags are identical; a run without per-query results
   (a fast-reid run, a missing eval/best_per_query.npz) joins the group of the same test-set
   name. mAPs from different groups are never compared: the winner comes from the primary
   group (the one with the most rankable runs; on a tie, the one holding the highest mAP).
2. Within a group the *leader* is the run with the highest best mAP. Every other run with
   per-query results gets a paired bootstrap of its mAP difference to the leader on the same
   queries, resampling identities. Where the 95 % interval contains 0, that run is
   *statistically tied* with the leader.
3. Among the leader and the runs tied with it, the recommendation is the cheapest: the fewest
   epochs run, then the fewest training seconds (unknown counts as most expensive), then the
   higher mAP. So a lead within noise never outweighs a cheaper run; the report says so.
4. A leader without per-query results cannot be tested: it is recommended on its point estimate,
   the report says so, and the other runs are tested against the best run that has them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

from reidlab.evaluation import BootstrapInterval, PairedBootstrapResult, bootstrap_map_ci, paired_bootstrap_map_diff
from reidlab.research.compare.query_sets import QuerySet, group_by_query_set
from reidlab.research.runs import DAMAGED, FAILED, INTERRUPTED, RUNNING, RunSummary

SELECTION_RULE = (
    "Runs are compared only with runs evaluated on the same query set (same query ids, cameras and order). "
    "Within the primary query set, the leader is the run with the highest best mAP. Each other run with "
    "per-query results gets a paired bootstrap of its mAP difference to the leader on the same queries, "
    "resampling identities (a person's queries succeed or fail together). Where the 95% interval of the "
    "difference contains 0, the difference is within noise and the run counts as tied with the leader. Among the "
    "leader and the runs tied with it, the recommended run is the cheapest one: the fewest epochs run, then the fewest "
    "training seconds, then the higher mAP. Runs without per-query results (fast-reid runs, or a missing "
    "eval/best_per_query.npz) are ranked by their mAP alone, without an interval; when such a run has the highest "
    "mAP it is recommended on that point estimate, and the report says its lead could not be tested."
)


@dataclass(frozen=True)
class StatisticsSettings:
    """Bootstrap sizes and seed; tests use small sizes, reports the defaults."""

    n_resamples: int = 2000  # per-run mAP intervals
    n_paired_resamples: int = 10000  # paired differences to the leader
    confidence: float = 0.95
    seed: int = 0


@dataclass
class RankedRun:
    """A run's place in the comparison: its group, interval, paired test against its group's leader."""

    run: RunSummary
    rank: int | None = None  # 1.. over rankable runs (primary group first); None if not rankable
    query_set: str | None = None
    map_interval: BootstrapInterval | None = None
    versus_reference: PairedBootstrapResult | None = None
    verdict: str = ""

    @property
    def tied_with_reference(self) -> bool:
        """Tied with the run the paired test compared against (the leader, when it has per-query results)."""
        return self.versus_reference is not None and not self.versus_reference.significant


@dataclass
class GroupSelection:
    """The leader, the runs tied with it, and the recommended run of one query set."""

    query_set: QuerySet
    ranked: list[RankedRun]  # by mAP, best first
    leader: RankedRun  # highest best mAP
    reference: RankedRun | None  # what paired tests compare with: the leader, or the best run with per-query results
    tied: list[RankedRun]  # runs statistically tied with the reference (reference excluded)
    recommended: RankedRun
    untested: list[RankedRun]  # runs without a paired test against the reference

    @property
    def leader_tested(self) -> bool:
        return self.reference is self.leader


@dataclass
class Selection:
    """The whole comparison: every run in order, the groups, and the recommendation."""

    runs: list[RankedRun]  # rankable runs (primary group first), then the rest
    groups: list[GroupSelection]  # primary first
    settings: StatisticsSettings
    warnings: list[str] = field(default_factory=list)

    @property
    def primary(self) -> GroupSelection:
        return self.groups[0]

    @property
    def winner(self) -> RankedRun:
        return self.primary.recommended

    @property
    def leader(self) -> RankedRun:
        return self.primary.leader

    @property
    def tie_break_used(self) -> bool:
        """The recommended run is not the highest-mAP run: the leader's lead was within noise."""
        return self.winner is not self.leader

    @property
    def unranked(self) -> list[RankedRun]:
        return [r for r in self.runs if r.rank is None]


def select_model(runs: Sequence[RunSummary], settings: StatisticsSettings = StatisticsSettings()) -> Selection:
    """Group, test and rank the runs; at least one run must be rankable (``run.usable``)."""
    usable = [r for r in runs if r.usable]
    if not usable:
        raise ValueError("no run has an evaluated epoch")
    grouped = group_by_query_set(usable)
    groups = [_select_within(query_set, members, settings, primary=index == 0) for index, (query_set, members) in enumerate(grouped)]
    ordered: list[RankedRun] = []
    for group in groups:
        ordered.extend(group.ranked)
    for rank, ranked in enumerate(ordered, start=1):
        ranked.rank = rank
    not_ranked = [RankedRun(run=r, verdict=_why_not_ranked(r)) for r in runs if not r.usable]
    selection = Selection(runs=ordered + not_ranked, groups=groups, settings=settings)
    selection.warnings = _warnings(selection)
    return selection


def cost_key(run: RunSummary) -> tuple[float, float, float]:
    """Cheaper first: fewer epochs run, then fewer training seconds, then the higher mAP."""
    epochs = run.epochs_run if run.epochs_run is not None else math.inf
    seconds = run.train_seconds if run.train_seconds is not None else math.inf
    return (epochs, seconds, -(run.best.mAP if run.best else 0.0))


# ------------------------------------------------------------------ statistics within a group
def _select_within(query_set: QuerySet, members: list[RunSummary], settings: StatisticsSettings, primary: bool) -> GroupSelection:
    order = sorted(members, key=lambda r: (-r.best.mAP, cost_key(r)))
    ranked = [RankedRun(run=r, query_set=query_set.label, map_interval=_interval(r, settings)) for r in order]
    leader = ranked[0]
    # Paired tests need per-query results on both sides: against the leader when it has them,
    # else against the best run that has them (the leader's own lead then stays untested).
    reference = next((r for r in ranked if r.run.per_query is not None), None)
    tied, untested = [], []
    for other in ranked:
        if other is reference:
            continue
        if reference is None or other.run.per_query is None:
            untested.append(other)
            continue
        other.versus_reference = paired_bootstrap_map_diff(
            reference.run.per_query,
            other.run.per_query,
            n_resamples=settings.n_paired_resamples,
            confidence=settings.confidence,
            seed=settings.seed,
        )
        if other.tied_with_reference:
            tied.append(other)
    if reference is leader:
        recommended = min([leader, *tied], key=lambda r: cost_key(r.run))
    else:
        recommended = leader  # untestable lead: the point estimate decides, and the report says so
    group = GroupSelection(query_set, ranked, leader, reference, tied, recommended, untested)
    for r in ranked:
        r.verdict = _verdict(r, group, primary)
    return group


def _interval(run: RunSummary, settings: StatisticsSettings) -> BootstrapInterval | None:
    if run.per_query is None:
        return None
    return bootstrap_map_ci(
        run.per_query, n_resamples=settings.n_resamples, confidence=settings.confidence, seed=settings.seed
    )


def _verdict(ranked: RankedRun, group: GroupSelection, primary: bool) -> str:
    reference = group.reference
    parts = [] if primary else [f"OTHER QUERY SET ({group.query_set.label}), not comparable"]
    if ranked is group.recommended:
        parts.append("RECOMMENDED" if primary else f"pick of query set {group.query_set.label}")
    if ranked is group.leader:
        parts.append("highest mAP")
    if ranked is reference:
        if reference is not group.leader:
            parts.append("best run with per-query results")
        if group.tied:
            parts.append("statistically tied with " + ", ".join(r.run.label for r in group.tied))
    elif ranked.versus_reference is not None:
        if ranked.tied_with_reference:
            parts.append(f"statistically tied with {reference.run.label} (difference within noise)")
        else:
            parts.append(f"significantly below {reference.run.label}")
    elif ranked.run.per_query is None:
        parts.append("not tested: no per-query results")
    return "; ".join(parts)


def _why_not_ranked(run: RunSummary) -> str:
    if run.state == DAMAGED:
        return "not ranked: " + (run.problems[0] if run.problems else "files damaged")
    return "not ranked: no evaluated epoch yet"


# ------------------------------------------------------------------ warnings
def _warnings(selection: Selection) -> list[str]:
    warnings = []
    if len(selection.groups) > 1:
        others = "; ".join(
            f"{g.query_set.description} ({', '.join(g.query_set.run_labels)}; best there: {g.recommended.run.label})"
            for g in selection.groups[1:]
        )
        warnings.append(
            f"WARNING: the runs were evaluated on {len(selection.groups)} DIFFERENT QUERY SETS. "
            "mAP values from different query sets are not comparable, so no run is compared with a run of "
            f"another set. The recommendation is chosen within {selection.primary.query_set.description} "
            f"({', '.join(selection.primary.query_set.run_labels)}). Listed but not compared: {others}."
        )
    winner = selection.winner.run
    if winner.state == RUNNING:
        warnings.append(f"{winner.label} is still running: its best mAP may still change; compare again when it ends.")
    elif winner.state in (FAILED, INTERRUPTED):
        warnings.append(
            f"{winner.label} ended with {winner.stop_reason}; its best_model.pth holds epoch {winner.best.epoch}, "
            "saved before the failure, and is valid."
        )
    if winner.best_model_path is None:
        warnings.append(f"{winner.label} has no best model file in {winner.path}.")
    if len(selection.primary.ranked) > 1 and not selection.primary.leader_tested:
        warnings.append(
            f"{selection.leader.run.label} has no per-query results, so whether its lead is real cannot be tested: "
            "the ranking is by mAP point estimates only."
        )
    return warnings
