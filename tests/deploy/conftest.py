"""Deploy fixtures: one tiny trained run per session, its model, and its test set laid out as identity folders."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from reidlab.deploy import ReIDModel
from reidlab.engine.train import train

TINY_CONFIG = "configs/Synthetic/demo_R18_cpu.yml"
MARKET_FOLDER = "Market-1501-v15.09.15"


@pytest.fixture(scope="session")
def trained_run(tiny_data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run trained for a few seconds on the tiny synthetic set, flip test on (do not modify)."""
    run = tmp_path_factory.mktemp("deploy") / "run"
    values = {
        "DATASETS.ROOT": tiny_data_root.as_posix(),
        "OUTPUT_DIR": run.as_posix(),
        "INPUT.SIZE_TRAIN": "[64, 32]",
        "INPUT.SIZE_TEST": "[64, 32]",
        "SOLVER.IMS_PER_BATCH": "16",
        "DATALOADER.NUM_INSTANCE": "4",
        "SOLVER.MAX_EPOCH": "8",
        "SOLVER.WARMUP_ITERS": "2",
        "SOLVER.CHECKPOINT_PERIOD": "1000",
        "SOLVER.EARLY_STOP.PATIENCE": "100",
        "TEST.EVAL_PERIOD": "8",
        "TEST.IMS_PER_BATCH": "32",
        "TEST.FLIP.ENABLED": "True",
    }
    result = train(TINY_CONFIG, overrides=[item for pair in values.items() for item in pair])
    assert result.exit_code == 0 and (run / "best_model.pth").is_file()
    return run


@pytest.fixture(scope="session")
def model(trained_run: Path) -> ReIDModel:
    return ReIDModel.from_run(trained_run)


@dataclass(frozen=True)
class IdentityFolders:
    """The tiny set's test identities: gallery/<pid>/<images> and query/<images> (pid = file name's first field)."""

    gallery: Path
    query: Path

    @staticmethod
    def pid_of(name: str) -> str:
        return Path(name).name.split("_")[0]


@pytest.fixture(scope="session")
def identity_folders(tiny_data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> IdentityFolders:
    """Copies (do not modify): distractors (0000) and junk (-1) are left out of the gallery."""
    base = tmp_path_factory.mktemp("identities")
    market = tiny_data_root / MARKET_FOLDER
    for image in sorted((market / "bounding_box_test").glob("*.jpg")):
        pid = IdentityFolders.pid_of(image.name)
        if pid not in {"0000", "-1"}:
            (base / "gallery" / pid).mkdir(parents=True, exist_ok=True)
            shutil.copy(image, base / "gallery" / pid / image.name)
    (base / "query").mkdir()
    for image in sorted((market / "query").glob("*.jpg")):
        shutil.copy(image, base / "query" / image.name)
    return IdentityFolders(base / "gallery", base / "query")


@pytest.fixture(scope="session")
def query_images(identity_folders: IdentityFolders) -> list[Path]:
    return sorted(identity_folders.query.glob("*.jpg"))
