"""The run directory: where it is, what its files are called, and writing its text and JSON files atomically.

This is the contract between `train` and every tool that reads runs (compare, diagnose,
sweep, search, deploy): they use these names and read the JSON, never parse the text.
"""

from __future__ import annotations

import re
from pathlib import Path

from reidlab.config import Config, config_to_yaml
from reidlab.errors import UserError
from reidlab.rundir.atomic import write_json_atomic, write_text_atomic

CONFIG_FILE = "config.yaml"
LOG_FILE = "log.txt"
HISTORY_FILE = "training_history.json"
MODEL_INFO_FILE = "model_info.json"
STOPPING_REASON_FILE = "STOPPING_REASON.txt"
BEST_MODEL_FILE = "best_model.pth"
FINAL_MODEL_FILE = "model_final.pth"
LAST_CHECKPOINT_FILE = "last_checkpoint.pth"
BEST_PER_QUERY_FILE = "eval/best_per_query.npz"
TENSORBOARD_DIR = "tensorboard"
VISUALIZE_DIR = "visualize"  # `reidlab visualize`: its files, inside the run or eval folder
BREAKDOWNS_FILE = "breakdowns.json"
WORST_QUERIES_FILE = "worst_queries.png"
# What `reidlab eval` writes into its eval folder (metrics.json carries EVAL_FORMAT; fast-reid's is JSON lines).
EVAL_METRICS_FILE = "metrics.json"
EVAL_PER_QUERY_FILE = "per_query.npz"
EVAL_FORMAT = "reidlab-eval"
# What fast-reid writes into its OUTPUT_DIR (its Checkpointer and DefaultTrainer).
FASTREID_BEST_FILE = "model_best.pth"
FASTREID_FINAL_FILE = "model_final.pth"

# Characters Windows refuses in file names, plus both path separators.
_BAD_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


class RunDirError(UserError):
    """A run name or output folder that cannot be used."""


def validate_run_name(name: str) -> str:
    """A run name is one folder name: no separators, no '..', nothing Windows refuses."""
    if not name or name in {".", ".."} or _BAD_NAME.search(name) or name != name.strip() or name.endswith("."):
        raise RunDirError(
            f"--run-name {name!r}: a run name must be a single folder name (letters, digits, '-', '_', '.'), "
            "without path separators or '..', so the run stays inside the output folder"
        )
    return name


def resolve_run_dir(cfg: Config, run_name: str | None, config_file: str | Path | None) -> Path:
    """logs/<dataset>/<run-name> by default; OUTPUT_DIR's parent holds named runs when it is set."""
    dataset = cfg.DATASETS.NAMES[0].lower()
    if run_name is not None:
        validate_run_name(run_name)
        parent = Path(cfg.OUTPUT_DIR).parent if cfg.OUTPUT_DIR else Path("logs") / dataset
        return parent / run_name
    if cfg.OUTPUT_DIR:
        return Path(cfg.OUTPUT_DIR)
    stem = Path(config_file).stem if config_file else "run"
    return Path("logs") / dataset / stem


class RunDirectory:
    """Paths of a run's files and atomic writers for the text and JSON ones."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def best_model(self) -> Path:
        return self.file(BEST_MODEL_FILE)

    @property
    def final_model(self) -> Path:
        return self.file(FINAL_MODEL_FILE)

    @property
    def last_checkpoint(self) -> Path:
        return self.file(LAST_CHECKPOINT_FILE)

    @property
    def log_file(self) -> Path:
        return self.file(LOG_FILE)

    def periodic_checkpoint(self, epoch: int) -> Path:
        return self.file(f"model_{epoch:04d}.pth")

    def create(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunDirError(f"{self.path}: cannot create the run directory ({exc.strerror})") from None

    def write_config(self, cfg: Config) -> None:
        write_text_atomic(self.file(CONFIG_FILE), config_to_yaml(cfg))

    def write_history(self, records: list[dict]) -> None:
        write_json_atomic(self.file(HISTORY_FILE), records)

    def write_model_info(self, info: dict) -> None:
        write_json_atomic(self.file(MODEL_INFO_FILE), info)

    def write_stopping_reason(self, text: str) -> None:
        write_text_atomic(self.file(STOPPING_REASON_FILE), text)
