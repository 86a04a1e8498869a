"""Fixtures shared across test folders: a tiny synthetic data set and overrides for seconds-long runs."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest
import torch

from reidlab.data import write_synthetic_dataset

TINY_CONFIG = "configs/Synthetic/demo_R18_cpu.yml"


@pytest.fixture(scope="session")
def tiny_data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DATASETS.ROOT of a tiny synthetic Market-1501 set, written once per session (do not modify)."""
    root = tmp_path_factory.mktemp("tiny_synthetic")
    write_synthetic_dataset(root, num_train_ids=8, num_test_ids=6, images_per_id=4, num_cameras=3, num_distractors=4, num_junk=2, seed=0)
    return root


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Tiny models gain nothing from a second intra-op thread, and on a busy 2-core machine it costs seconds."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_override_list(tiny_data_root: Path, output_dir: Path, extra: dict | None = None) -> list[str]:
    """KEY VALUE overrides of the demo config for a run of seconds on the tiny set (for module-scoped fixtures too)."""
    values = {
        "DATASETS.ROOT": tiny_data_root.as_posix(),
        "OUTPUT_DIR": Path(output_dir).as_posix(),
        "INPUT.SIZE_TRAIN": "[64, 32]",
        "INPUT.SIZE_TEST": "[64, 32]",
        "SOLVER.IMS_PER_BATCH": "8",
        "DATALOADER.NUM_INSTANCE": "2",
        "SOLVER.MAX_EPOCH": "2",
        "SOLVER.WARMUP_ITERS": "2",
        "TEST.EVAL_PERIOD": "1",
        "TEST.IMS_PER_BATCH": "32",
        **{k: str(v) for k, v in (extra or {}).items()},
    }
    return [item for pair in values.items() for item in pair]


@pytest.fixture
def tiny_overrides(tiny_data_root: Path) -> Callable[..., list[str]]:
    """tiny_overrides(output_dir, {"KEY": value}) -> KEY VALUE overrides of the demo config for a run of seconds."""

    def make(output_dir: Path, extra: dict | None = None) -> list[str]:
        return tiny_override_list(tiny_data_root, output_dir, extra)

    return make
