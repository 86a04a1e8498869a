"""Which runs were evaluated on the same queries: only those runs' mAPs may be compared."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from string import ascii_uppercase

import numpy as np

from reidlab.research.runs import RunSummary


@dataclass(frozen=True)
class QuerySet:
    """A group of runs evaluated on the same queries."""

    label: str  # "A", "B", ... (A is the primary set)
    test_set: str | None
    num_queries: int | None  # None when no run of the group has per-query results
    fingerprint: str | None
    run_labels: tuple[str, ...]

    @property
    def description(self) -> str:
        name = self.test_set or "unknown test set"
        queries = f", {self.num_queries} queries" if self.num_queries is not None else ", query ids unknown"
        return f"query set {self.label}: {name}{queries}"



def query_fingerprint(run: RunSummary) -> str | None:
    """A hash of the query ids, cameras, order and valid flags; equal means the same queries."""
    per_query = run.per_query
    if per_query is None:
        return None
    digest = hashlib.sha256()
    for array in (per_query.query_index, per_query.pid, per_query.camid, per_query.valid):
        digest.update(np.ascontiguousarray(array, dtype=np.int64).tobytes())
        digest.update(b"|")
    return digest.hexdigest()[:16]


def group_by_query_set(runs: list[RunSummary]) -> list[tuple[QuerySet, list[RunSummary]]]:
    """Runs grouped by the queries they were evaluated on, the largest group (then the highest mAP) first."""
    by_fingerprint: dict[str, list[RunSummary]] = {}
    by_name_only: dict[str | None, list[RunSummary]] = {}
    for run in runs:
        fingerprint = query_fingerprint(run)
        if fingerprint is not None:
            by_fingerprint.setdefault(fingerprint, []).append(run)
    for run in runs:
        if query_fingerprint(run) is not None:
            continue
        # Without per-query results the test-set name is all we know: join the one group of that name.
        same_name = [members for members in by_fingerprint.values() if run.test_set in _test_sets(members)]
        if len(same_name) == 1:
            same_name[0].append(run)
        else:
            by_name_only.setdefault(run.test_set, []).append(run)
    keyed: list[tuple[str | None, list[RunSummary]]] = [*by_fingerprint.items(), *((None, m) for m in by_name_only.values())]
    keyed.sort(key=lambda item: (-len(item[1]), -max(r.best.mAP for r in item[1])))
    grouped = []
    for index, (fingerprint, members) in enumerate(keyed):
        with_queries = [r.per_query for r in members if r.per_query is not None]
        names = _test_sets(members)
        query_set = QuerySet(
            label=_group_label(index),
            test_set=" / ".join(names) if names else None,
            num_queries=with_queries[0].num_queries if with_queries else None,
            fingerprint=fingerprint,
            run_labels=tuple(r.label for r in members),
        )
        grouped.append((query_set, members))
    return grouped


def _test_sets(members: list[RunSummary]) -> list[str]:
    """The test-set names the runs of a group recorded (a damaged run may have none)."""
    names: list[str] = []
    for run in members:
        if run.test_set is not None and run.test_set not in names:
            names.append(run.test_set)
    return names


def _group_label(index: int) -> str:
    return ascii_uppercase[index] if index < len(ascii_uppercase) else f"Q{index + 1}"
