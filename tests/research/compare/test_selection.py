"""compare: who wins, ties named as ties (cheaper run recommended), different query sets kept apart."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from rich.console import Console

from reidlab.research.compare import StatisticsSettings, compare_runs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared run-folder fixtures
from run_fixtures import run_quality, tied_pair, write_fastreid_run, write_reidlab_run  # noqa: E402

FAST = StatisticsSettings(n_resamples=200, n_paired_resamples=400)


def compare(paths, out=None):
    """compare_runs with small bootstraps; returns (result, report text, report JSON, terminal text)."""
    buffer = io.StringIO()
    result = compare_runs([str(p) for p in paths], out=out, console=Console(file=buffer, width=250), settings=FAST)
    text = (result.output_dir / "BEST_MODEL_SELECTION.txt").read_text(encoding="utf-8")
    facts = json.loads((result.output_dir / "BEST_MODEL_SELECTION.json").read_text(encoding="utf-8"))
    return result, text, facts, buffer.getvalue()


def section(text: str, title: str) -> str:
    """The report's text from a section title to the next blank line, whitespace collapsed (lines wrap)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), len(lines))
    return " ".join(" ".join(lines[start:end]).split())


def test_clear_winner_is_named_with_significant_differences(tmp_path):
    logs = tmp_path / "logs"
    write_reidlab_run(logs, "solution_1_higher_lr", run_quality(0.12, 1), epochs_run=40, hyperparameters={"SOLVER.BASE_LR": 0.0007})
    write_reidlab_run(logs, "solution_2_cosine", run_quality(0.0, 2), epochs_run=25, hyperparameters={"SOLVER.SCHED": "CosineAnnealingLR"})
    write_reidlab_run(logs, "baseline", run_quality(-0.1, 3), epochs_run=30)

    result, text, facts, terminal = compare([logs])

    assert result.winner.label == "solution_1_higher_lr"
    assert facts["winner"]["run"] == "solution_1_higher_lr"
    assert facts["statistically_tied"] is False and facts["tie_break_used"] is False
    assert "solution_1_higher_lr" in section(text, "WINNER")
    why = section(text, "WHY")
    assert "significantly below solution_1_higher_lr" in why
    assert "statistically tied" not in text.lower()
    # Both runners-up were tested against the winner, on the same queries, and lost.
    tests = {run["run"]: run["paired_test"] for run in facts["runs"] if run["paired_test"]}
    assert set(tests) == {"solution_2_cosine", "baseline"}
    assert all(t["against"] == "solution_1_higher_lr" and t["high"] < 0 and not t["statistically_tied"] for t in tests.values())
    assert [run["run"] for run in facts["runs"]] == ["solution_1_higher_lr", "solution_2_cosine", "baseline"]
    # Table: metrics and the hyperparameters that differ, and only those.
    assert facts["differing_hyperparameters"] == ["SOLVER.BASE_LR", "SOLVER.SCHED"]
    ranking = section(text, "RANKING")
    assert "SOLVER.BASE_LR" in ranking and "SOLVER.SCHED" in ranking and "SEED" not in ranking
    assert "0.0007" in ranking and "CosineAnnealingLR" in ranking
    best = facts["winner"]["best"]
    assert f"{100 * best['mAP']:.2f}" in ranking and f"{100 * best['rank1']:.2f}" in ranking and f"{100 * best['mINP']:.2f}" in ranking
    assert "patience_exhausted" in ranking
    # Deployment: the path of best_model.pth and the commands.
    deploy = section(text, "HOW TO DEPLOY IT")
    run_dir = (logs / "solution_1_higher_lr").resolve().as_posix()
    assert f"{run_dir}/best_model.pth" in deploy
    assert f'ReIDModel.from_run("{run_dir}")' in deploy and "from reidlab.deploy import ReIDModel" in deploy
    assert f'reidlab export "{run_dir}" --format onnx' in deploy
    assert "copy" in deploy.lower()
    # The terminal shows the table and the winner.
    assert "Runs ranked by best mAP" in terminal and "Winner: solution_1_higher_lr" in terminal
    assert "solution_2_cosine" in terminal and "baseline" in terminal


def test_statistical_tie_recommends_the_cheaper_run(tmp_path):
    higher, lower = tied_pair(gap=0.002)
    write_reidlab_run(tmp_path, "long_run", higher, epochs_run=60, best_epoch=55)
    write_reidlab_run(tmp_path, "short_run", lower, epochs_run=20, best_epoch=17)
    write_reidlab_run(tmp_path, "weak_run", run_quality(-0.2, 4), epochs_run=10, best_epoch=7)

    result, text, facts, terminal = compare([tmp_path / "long_run", tmp_path / "short_run", tmp_path / "weak_run"])

    assert facts["leader"] == "long_run"  # the highest mAP...
    assert result.winner.label == "short_run"  # ...is not crowned: the difference is noise
    assert facts["winner"]["run"] == "short_run" and facts["tie_break_used"] is True
    assert facts["statistically_tied"] is True and facts["statistically_tied_runs"] == ["short_run"] and facts["paired_tests_against"] == "long_run"
    why = section(text, "WHY")
    assert "statistically tied" in why and "within noise" in why
    assert "fewest epochs" in why and "short_run, 20 epochs" in why and "60 epochs" in why
    assert "Significantly below long_run: weak_run" in why
    assert "short_run" in section(text, "WINNER")
    assert "statistically tied" in terminal.lower() and "Winner: short_run" in terminal
    tie = next(r for r in facts["runs"] if r["run"] == "short_run")["paired_test"]
    assert tie["low"] <= 0 <= tie["high"] and tie["statistically_tied"]


def test_tie_with_equal_epochs_falls_back_to_training_seconds(tmp_path):
    higher, lower = tied_pair(gap=0.001)
    write_reidlab_run(tmp_path, "slow", higher, epochs_run=20, train_seconds=5000.0)
    write_reidlab_run(tmp_path, "fast", lower, epochs_run=20, train_seconds=1200.0)

    result, text, _, _ = compare([tmp_path])

    assert result.winner.label == "fast"
    assert "statistically tied" in section(text, "WHY")


def test_tie_where_the_leader_is_also_cheapest_keeps_the_leader_and_says_it_is_noise(tmp_path):
    higher, lower = tied_pair(gap=0.002)
    write_reidlab_run(tmp_path, "quick_best", higher, epochs_run=15)
    write_reidlab_run(tmp_path, "slow_second", lower, epochs_run=45)

    result, text, facts, _ = compare([tmp_path])

    assert result.winner.label == "quick_best" and facts["tie_break_used"] is False
    why = section(text, "WHY")
    assert "statistically tied" in why and "within noise" in why and "also the cheapest" in why


def test_runs_on_different_query_sets_are_not_compared_and_warned_about(tmp_path):
    logs = tmp_path / "logs"
    write_reidlab_run(logs, "market_a", run_quality(0.0, 1), epochs_run=20)
    write_reidlab_run(logs, "market_b", run_quality(-0.1, 2), epochs_run=20)
    # Higher mAP, but on other queries (other pids and cameras): it must not win.
    write_reidlab_run(logs, "easier_queries", run_quality(0.3, 3, query_seed=9), epochs_run=20)

    result, text, facts, terminal = compare([logs])

    assert result.winner.label == "market_a"
    assert facts["different_query_sets"] is True and len(facts["query_sets"]) == 2
    primary = next(q for q in facts["query_sets"] if q["primary"])
    assert sorted(primary["runs"]) == ["market_a", "market_b"]
    assert "DIFFERENT QUERY SETS" in text and "not comparable" in text
    assert any("DIFFERENT QUERY SETS" in w for w in facts["warnings"])
    assert "DIFFERENT QUERY SETS" in terminal
    easier = next(r for r in facts["runs"] if r["run"] == "easier_queries")
    assert easier["paired_test"] is None and easier["query_set"] != primary["label"]
    assert "OTHER QUERY SET" in easier["verdict"]
    market_b = next(r for r in facts["runs"] if r["run"] == "market_b")
    assert market_b["paired_test"]["against"] == "market_a"
    # The ranking still lists it, flagged with its query set.
    ranking = section(text, "RANKING")
    assert "easier_queries" in ranking and "query set" in ranking


def test_fast_reid_run_is_ranked_alongside_with_percentages_converted(tmp_path):
    write_reidlab_run(tmp_path, "ours", run_quality(0.0, 1), epochs_run=20)  # mAP about 0.6
    write_fastreid_run(tmp_path, "fastreid_r50", [(10, 70.0), (20, 82.5), (30, 80.0)], iters_per_epoch=200, eval_period=10, max_epoch=30)

    result, text, facts, terminal = compare([tmp_path])

    fast = next(r for r in result.runs if r.label == "fastreid_r50")
    assert fast.source == "fast-reid"
    assert fast.best.mAP == pytest.approx(0.825) and fast.best.rank1 == pytest.approx(0.925)
    assert fast.best.epoch == 20 and fast.best.epoch_is_approximate and fast.epochs_run == 30
    assert result.winner.label == "fastreid_r50"
    facts_fast = next(r for r in facts["runs"] if r["run"] == "fastreid_r50")
    assert facts_fast["source"] == "fast-reid" and facts_fast["best"]["mAP"] == pytest.approx(0.825)
    assert facts_fast["map_interval"] is None and facts_fast["paired_test"] is None
    assert facts["different_query_sets"] is False  # same test set name: listed together, but untested
    ranking = section(text, "RANKING")
    assert "fastreid_r50 [fast-reid]" in ranking and "82.50" in ranking and "~20" in ranking
    assert "no per-query results" in section(text, "WHY") and "point estimate" in section(text, "WHY")
    assert "fastreid_r50 [fast-reid]" in terminal  # brackets are not taken for rich markup
    assert "model_best.pth" in section(text, "HOW TO DEPLOY IT")


def test_fast_reid_below_ours_keeps_the_tests_among_our_runs(tmp_path):
    write_reidlab_run(tmp_path, "best_ours", run_quality(0.15, 1), epochs_run=20)
    write_reidlab_run(tmp_path, "worse_ours", run_quality(-0.1, 2), epochs_run=20)
    write_fastreid_run(tmp_path, "fastreid_low", [(10, 20.0), (20, 30.0)], max_epoch=20)

    result, text, facts, _ = compare([tmp_path])

    assert result.winner.label == "best_ours"
    assert [r["run"] for r in facts["runs"]] == ["best_ours", "worse_ours", "fastreid_low"]
    assert "Not tested, for lack of per-query results" in " ".join(facts["why"])
    assert next(r for r in facts["runs"] if r["run"] == "worse_ours")["paired_test"]["against"] == "best_ours"


def test_single_run_wins_with_nothing_to_compare(tmp_path):
    write_reidlab_run(tmp_path, "only", run_quality(0.0, 1))
    result, text, _, _ = compare([tmp_path / "only"])
    assert result.winner.label == "only"
    assert "only rankable run" in section(text, "WHY")
    assert result.output_dir.resolve() == tmp_path.resolve()  # a single run's parent
