"""End to end: two tiny real training runs on the synthetic set, then `compare` on their folder.

This checks the contract between train and compare on real files: model_info.json,
training_history.json and eval/best_per_query.npz as the engine writes them (the per-query
mAP must match the recorded best, or compare would drop the interval).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from reidlab.data import write_synthetic_dataset
from reidlab.engine.train import train
from reidlab.research.compare import compare_runs
from reidlab.research.compare.selection import StatisticsSettings, cost_key

TINY_OVERRIDES = [
    "MODEL.BACKBONE.DEPTH", "18x",
    "MODEL.BACKBONE.PRETRAIN", "False",
    "INPUT.SIZE_TRAIN", "[64, 32]",
    "INPUT.SIZE_TEST", "[64, 32]",
    "SOLVER.MAX_EPOCH", "2",
    "SOLVER.IMS_PER_BATCH", "16",
    "TEST.EVAL_PERIOD", "1",
    "MODEL.DEVICE", "cpu",
    "DATALOADER.NUM_WORKERS", "0",
]


def _train_tiny(data_root: Path, run_dir: Path, base_lr: str) -> None:
    overrides = [*TINY_OVERRIDES, "DATASETS.ROOT", data_root.as_posix(), "OUTPUT_DIR", run_dir.as_posix(), "SOLVER.BASE_LR", base_lr]
    train("configs/Synthetic/demo_R18_cpu.yml", overrides=overrides)




@pytest.mark.usefixtures("one_torch_thread")
def test_compare_two_tiny_real_runs(tmp_path: Path) -> None:
    data_root = tmp_path / "data"
    write_synthetic_dataset(data_root, num_train_ids=8, num_test_ids=6, images_per_id=4, num_cameras=3,
                            height=64, width=32, num_distractors=2, num_junk=1, seed=0)
    logs = tmp_path / "logs" / "synthetic"
    _train_tiny(data_root, logs / "lr_low", "0.00035")
    _train_tiny(data_root, logs / "lr_high", "0.0007")

    console = io.StringIO()
    result = compare_runs([str(logs)], console=Console(file=console, width=250),
                          settings=StatisticsSettings(n_resamples=200, n_paired_resamples=400))

    facts = json.loads((logs / "BEST_MODEL_SELECTION.json").read_text(encoding="utf-8"))
    text = (logs / "BEST_MODEL_SELECTION.txt").read_text(encoding="utf-8")
    runs = {r["run"]: r for r in facts["runs"]}
    assert set(runs) == {"lr_low", "lr_high"}
    for run in runs.values():
        assert run["status"] == "finished" and run["stop_reason"] == "max_epochs" and run["epochs_run"] == 2
        assert run["rank"] is not None and run["map_interval"] is not None  # per-query results were usable
        assert run["best"]["epoch"] in (1, 2) and Path(run["best_model"]).is_file()
    assert facts["different_query_sets"] is False
    assert facts["differing_hyperparameters"] == ["SOLVER.BASE_LR"]

    leader = max(result.runs, key=lambda r: r.best.mAP)
    runner_up = next(r for r in result.runs if r is not leader)
    assert facts["leader"] == leader.label
    paired = runs[runner_up.label]["paired_test"]
    assert paired is not None and paired["against"] == leader.label
    if paired["statistically_tied"]:  # 9 queries: most likely a tie, so the cheaper run wins
        assert "statistically tied" in text
        assert result.winner is min((leader, runner_up), key=cost_key)
    else:
        assert result.winner is leader
    assert facts["winner"]["run"] == result.winner.label
    assert f'ReIDModel.from_run("{(logs / result.winner.label).resolve().as_posix()}")' in text
    assert (logs / "report.html").is_file() and (logs / "map_by_epoch.png").stat().st_size > 0
    assert "Winner: " + result.winner.label in console.getvalue()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(pytest.main([__file__, "-q"]))
