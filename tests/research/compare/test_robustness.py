"""compare reads every kind of run folder without crashing: running, failed, unevaluated, damaged, fast-reid."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from reidlab.research.compare import CompareError, StatisticsSettings, compare_main, compare_runs
from reidlab.research.runs import read_fastreid_run, read_reidlab_run, read_run_evidence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared run-folder fixtures
from fastreid_fixtures import MARKET_IMAGES, fastreid_config, write_fastreid_folder  # noqa: E402
from run_fixtures import run_quality, write_fastreid_run, write_reidlab_run  # noqa: E402

FAST = StatisticsSettings(n_resamples=200, n_paired_resamples=400)


def quiet_compare(paths, **kwargs):
    return compare_runs([str(p) for p in paths], console=Console(file=io.StringIO(), width=250), settings=FAST, **kwargs)


def test_every_troubled_run_is_listed_with_its_status_and_none_crashes(tmp_path):
    logs = tmp_path / "logs"
    write_reidlab_run(logs, "good", run_quality(0.05, 1), epochs_run=20)
    # Still running, evaluated: model_info.json's best is stale (written at start), the history is current.
    write_reidlab_run(logs, "running_evaluated", run_quality(0.0, 2), epochs_run=8, best_epoch=6, status="running")
    write_reidlab_run(logs, "running_fresh", None, epochs_run=1, status="running")
    write_reidlab_run(logs, "oom_at_start", None, epochs_run=0 + 1, stop_reason="out_of_memory")
    write_reidlab_run(logs, "diverged_later", run_quality(-0.05, 3), epochs_run=12, best_epoch=9, stop_reason="diverged")
    write_reidlab_run(logs, "crashed", None, epochs_run=2, stop_reason="error")
    damaged = write_reidlab_run(logs, "damaged_info", run_quality(-0.1, 4), epochs_run=10, best_epoch=7)
    (damaged / "model_info.json").write_text('{"run_name": "damaged_in', encoding="utf-8")
    hopeless = write_reidlab_run(logs, "damaged_everything", run_quality(0.0, 5), epochs_run=10)
    (hopeless / "model_info.json").unlink()
    (hopeless / "training_history.json").write_text("[{", encoding="utf-8")
    bad_npz = write_reidlab_run(logs, "damaged_npz", run_quality(-0.2, 6), epochs_run=10)
    (bad_npz / "eval" / "best_per_query.npz").write_bytes(b"not a zip file")

    result = quiet_compare([logs])
    facts = json.loads((logs / "BEST_MODEL_SELECTION.json").read_text(encoding="utf-8"))
    text = (logs / "BEST_MODEL_SELECTION.txt").read_text(encoding="utf-8")
    by_name = {r["run"]: r for r in facts["runs"]}

    assert set(by_name) == {
        "good", "running_evaluated", "running_fresh", "oom_at_start", "diverged_later", "crashed",
        "damaged_info", "damaged_everything", "damaged_npz",
    }
    assert result.winner.label == "good"
    assert by_name["running_evaluated"]["status"] == "running" and by_name["running_evaluated"]["rank"] is not None
    assert by_name["running_evaluated"]["best"]["epoch"] == 6
    assert by_name["running_fresh"]["rank"] is None and by_name["running_fresh"]["status"] == "running"
    assert by_name["oom_at_start"]["status"] == "failed" and by_name["oom_at_start"]["stop_reason"] == "out_of_memory"
    assert by_name["oom_at_start"]["rank"] is None
    assert by_name["crashed"]["status"] == "failed" and by_name["crashed"]["rank"] is None
    # A failed run keeps its valid best_model.pth from before the failure: it is ranked.
    assert by_name["diverged_later"]["status"] == "failed" and by_name["diverged_later"]["rank"] is not None
    assert by_name["damaged_info"]["status"] == "damaged" and by_name["damaged_info"]["rank"] is not None
    assert any("model_info.json is damaged" in p for p in by_name["damaged_info"]["problems"])
    # ...its description then comes from config.yaml, so it still joins the others' query set.
    assert by_name["damaged_info"]["test_set"] == "Market1501"
    assert by_name["damaged_info"]["hyperparameters"]["SOLVER.BASE_LR"] == 0.00035
    assert by_name["damaged_info"]["query_set"] == by_name["good"]["query_set"]
    assert by_name["damaged_everything"]["rank"] is None
    assert any("model_info.json is missing" in p for p in by_name["damaged_everything"]["problems"])
    assert by_name["damaged_npz"]["rank"] is not None and by_name["damaged_npz"]["map_interval"] is None
    assert any("best_per_query.npz is damaged" in p for p in by_name["damaged_npz"]["problems"])
    # The text lists them too, with status words.
    unranked = text[text.index("RUNS NOT RANKED"):]
    for name, words in [("running_fresh", "running, no evaluation"), ("oom_at_start", "failed, no evaluation"),
                        ("crashed", "failed, no evaluation"), ("damaged_everything", "damaged")]:
        assert f"- {name}: {words}" in unranked
    ranking = text[text.index("RANKING"):text.index("WHY")]
    assert "diverged" in ranking and "out_of_memory" in ranking


def test_a_running_winner_and_a_failed_winner_are_flagged(tmp_path):
    write_reidlab_run(tmp_path, "still_going", run_quality(0.2, 1), epochs_run=8, best_epoch=8, status="running")
    write_reidlab_run(tmp_path, "other", run_quality(-0.1, 2), epochs_run=8)
    result = quiet_compare([tmp_path])
    assert result.winner.label == "still_going"
    assert any("still running" in w for w in result.selection.warnings)

    other = tmp_path / "second"
    write_reidlab_run(other, "oom_after_best", run_quality(0.2, 1), epochs_run=8, best_epoch=5, stop_reason="out_of_memory")
    write_reidlab_run(other, "fine", run_quality(-0.1, 2), epochs_run=8)
    result = quiet_compare([other])
    assert result.winner.label == "oom_after_best"
    assert any("out_of_memory" in w and "valid" in w for w in result.selection.warnings)


def test_zero_usable_runs_is_one_clear_error_and_exit_code_2(tmp_path, capsys):
    write_reidlab_run(tmp_path, "running_fresh", None, status="running")
    write_reidlab_run(tmp_path, "oom", None, stop_reason="out_of_memory")

    with pytest.raises(CompareError) as error:
        quiet_compare([tmp_path])
    message = str(error.value)
    assert "\n" not in message and "nothing to compare" in message
    assert "running_fresh (running, no evaluation)" in message and "oom (failed, no evaluation)" in message
    assert isinstance(error.value, ValueError)
    assert not (tmp_path / "BEST_MODEL_SELECTION.txt").exists()

    assert compare_main([str(tmp_path)]) == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("reidlab compare: error:") and stderr.count("\n") == 1


def test_no_run_folder_at_all_is_an_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CompareError, match="no run folder found"):
        quiet_compare([tmp_path / "empty", tmp_path / "does_not_exist"])
    with pytest.raises(CompareError):
        quiet_compare([])
    assert compare_main([str(tmp_path / "nope*")]) == 2
    assert "no run folder found" in capsys.readouterr().err


def test_compare_main_returns_0_and_writes_the_report(tmp_path):
    write_reidlab_run(tmp_path, "a", run_quality(0.1, 1))
    write_reidlab_run(tmp_path, "b", run_quality(-0.1, 2))
    console = Console(file=io.StringIO(), width=250)
    assert compare_main([str(tmp_path)], out=str(tmp_path / "report"), console=console) == 0
    assert "a" in (tmp_path / "report" / "BEST_MODEL_SELECTION.txt").read_text(encoding="utf-8")


def test_reidlab_reader_uses_history_for_a_running_run_and_model_info_when_finished(tmp_path):
    running = read_reidlab_run(write_reidlab_run(tmp_path, "r", run_quality(0.0, 1), epochs_run=9, best_epoch=6, status="running"), "r")
    assert running.state == "running" and running.best.epoch == 6 and running.epochs_run == 9
    assert running.per_query is not None and running.train_seconds == pytest.approx(270.0)
    finished = read_reidlab_run(write_reidlab_run(tmp_path, "f", run_quality(0.0, 1), epochs_run=20, best_epoch=14, train_seconds=999.0), "f")
    assert finished.state == "finished" and finished.stop_reason == "patience_exhausted"
    assert finished.best.epoch == 14 and finished.train_seconds == 999.0
    assert finished.map_curve[0][0] == 1 and len(finished.loss_curve) == 20
    assert finished.hyperparameters["SOLVER.BASE_LR"] == 0.00035


def test_per_query_results_from_another_epoch_are_not_used(tmp_path):
    run_dir = write_reidlab_run(tmp_path, "x", run_quality(0.0, 1), epochs_run=10, best_epoch=7)
    arrays = dict(np.load(run_dir / "eval" / "best_per_query.npz"))
    np.savez(run_dir / "eval" / "best_per_query.npz", **{**arrays, "epoch": 3})
    run = read_reidlab_run(run_dir, "x")
    assert run.usable and run.per_query is None
    assert any("from epoch 3" in p for p in run.problems)


def test_non_finite_history_values_do_not_break_reading(tmp_path):
    run_dir = write_reidlab_run(tmp_path, "nan", run_quality(0.0, 1), epochs_run=5, best_epoch=5, status="running")
    history = json.loads((run_dir / "training_history.json").read_text())
    history[2]["loss"] = None
    history[3]["mAP"] = "NaN"
    (run_dir / "training_history.json").write_text(json.dumps(history).replace('"NaN"', "NaN"))
    run = read_reidlab_run(run_dir, "nan")
    assert len(run.loss_curve) == 4 and len(run.map_curve) == 4 and run.best.epoch == 5


def test_fast_reid_reader_converts_percentages_and_infers_epochs(tmp_path):
    run_dir = write_fastreid_run(tmp_path, "fr", [(10, 61.2), (20, 70.4), (30, 69.9)], iters_per_epoch=150, eval_period=10, max_epoch=30)
    run = read_fastreid_run(run_dir, "fr")
    assert run.source == "fast-reid" and run.state == "finished"
    assert run.best.mAP == pytest.approx(0.704) and run.best.rank1 == pytest.approx(0.804) and run.best.mINP == pytest.approx(0.504)
    assert run.best.epoch == 20 and run.epochs_run == 30 and run.epochs_are_approximate
    assert [epoch for epoch, _ in run.map_curve] == [10, 20, 30]
    assert run.loss_curve and run.loss_curve[-1][0] == pytest.approx(30.0, abs=0.2)
    assert run.hyperparameters["SOLVER.IMS_PER_BATCH"] == 64 and run.hyperparameters["MODEL.BACKBONE.DEPTH"] == "50x"
    assert "OUTPUT_DIR" not in run.hyperparameters
    assert run.per_query is None and run.best_model_path == run_dir / "model_best.pth"


def _fastreid_folder(folder: Path, *, epochs: int, eval_period: int, max_epoch: int, write_log: bool = True) -> Path:
    config = fastreid_config({"TEST.EVAL_PERIOD": eval_period, "SOLVER.MAX_EPOCH": max_epoch})
    return write_fastreid_folder(
        folder, epochs=epochs, config=config, write_log=write_log,
        loss_cls=lambda i: 6.0 - i / 1000, loss_triplet=lambda i: 1.0, cls_accuracy=lambda i: 0.5, mAP=lambda i: 40.0 + i / 100,
    )


def test_fast_reid_epochs_come_from_the_logs_training_set_as_in_diagnose(tmp_path):
    """len(train set) // IMS_PER_BATCH from log.txt gives exact epochs, the same as diagnose's; without log.txt they are approximate."""
    ipe = MARKET_IMAGES // 64  # 202 iterations per epoch, as fast-reid computes it
    run_dir = _fastreid_folder(tmp_path / "logged", epochs=5, eval_period=2, max_epoch=5)
    run = read_fastreid_run(run_dir, "logged")
    assert read_run_evidence(run_dir).iters_per_epoch == ipe
    assert run.epochs_run == 5 and not run.epochs_are_approximate and run.state == "finished"
    assert run.best.epoch == 5 and not run.best.epoch_is_approximate
    assert [epoch for epoch, _ in run.map_curve] == [2, 4, 5]
    assert run.loss_curve[-1][0] == pytest.approx(1000 / ipe)  # the last training line, iteration 999
    assert not any("epochs unknown" in p for p in run.problems)

    # stopped before its first evaluation: the schedule says nothing, log.txt still does
    early = read_fastreid_run(_fastreid_folder(tmp_path / "early", epochs=3, eval_period=10, max_epoch=20), "early")
    assert early.best is None and early.epochs_run == 3 and not early.epochs_are_approximate

    unlogged = read_fastreid_run(_fastreid_folder(tmp_path / "unlogged", epochs=5, eval_period=2, max_epoch=5, write_log=False), "unlogged")
    assert unlogged.epochs_run == 5 and unlogged.epochs_are_approximate and unlogged.best.epoch_is_approximate

    text = (quiet_compare([run_dir, tmp_path / "unlogged"]).output_dir / "BEST_MODEL_SELECTION.txt").read_text(encoding="utf-8")
    assert "~5" in text and "logged" in text


def test_fast_reid_with_several_test_sets_reads_the_first_one(tmp_path):
    run_dir = write_fastreid_run(tmp_path, "fr", [(10, 50.0), (20, 60.0)], test_sets=("Market1501", "DukeMTMC"), max_epoch=40)
    run = read_fastreid_run(run_dir, "fr")
    assert run.test_set == "Market1501" and run.best.mAP == pytest.approx(0.60)
    assert run.state == "unknown" and run.epochs_run == 20  # stopped before MAX_EPOCH 40: status unknown


def test_fast_reid_without_schedule_says_epochs_are_unknown(tmp_path):
    run_dir = write_fastreid_run(tmp_path, "fr", [(10, 50.0)])
    (run_dir / "config.yaml").write_text("SOLVER: [broken", encoding="utf-8")
    with open(run_dir / "metrics.json", "a", encoding="utf-8") as handle:
        handle.write('{"iteration": 5, "total_lo')  # a half-written last line
    run = read_fastreid_run(run_dir, "fr")
    assert run.best.mAP == pytest.approx(0.5) and run.best.epoch is None and run.epochs_run is None
    assert any("epochs unknown" in p for p in run.problems)
    assert any("config.yaml cannot be read" in p for p in run.problems)
    assert any("1 damaged lines skipped" in p for p in run.problems)

    result = quiet_compare([run_dir])
    text = (result.output_dir / "BEST_MODEL_SELECTION.txt").read_text(encoding="utf-8")
    assert "unknown" in text[text.index("RANKING"):]
