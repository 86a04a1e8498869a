"""Shared fixtures for the data tests: a tiny synthetic set, a config maker, an image writer."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from PIL import Image

from reidlab.config import build_config
from reidlab.data import write_synthetic_dataset

TINY_SYNTH = dict(num_train_ids=12, num_test_ids=8, images_per_id=6, num_cameras=4, num_distractors=5, num_junk=3, seed=0)


@pytest.fixture(scope="session")
def synthetic_params() -> dict:
    """The parameters synthetic_root was written with."""
    return dict(TINY_SYNTH)


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DATASETS.ROOT of a tiny synthetic Market-1501 set (shared, do not modify)."""
    root = tmp_path_factory.mktemp("synthetic")
    write_synthetic_dataset(root, **TINY_SYNTH)
    return root


@pytest.fixture
def make_config() -> Callable[..., Any]:
    """make_config(root, **{"SECTION.KEY": value}) -> a Config sized for fast tests (no workers)."""

    def make(root: Path, **dotted: Any) -> Any:
        raw: dict[str, Any] = {
            "DATASETS": {"ROOT": str(root), "NAMES": ["Market1501"], "TESTS": ["Market1501"]},
            "INPUT": {"SIZE_TRAIN": [64, 32], "SIZE_TEST": [64, 32]},
            "DATALOADER": {"NUM_WORKERS": 0, "SAMPLER_TRAIN": "NaiveIdentitySampler", "NUM_INSTANCE": 2, "CACHE_IMAGES": "auto"},
            "SOLVER": {"IMS_PER_BATCH": 8},
            "TEST": {"IMS_PER_BATCH": 16},
        }
        for key, value in dotted.items():
            node = raw
            *parents, leaf = key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        return build_config(raw)

    return make


@pytest.fixture
def write_image() -> Callable[..., Path]:
    """write_image(path, seed=0, size=(32, 16)) writes a small random image (format from the suffix)."""

    def write(path: Path, seed: int = 0, size: tuple[int, int] = (32, 16)) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = np.random.default_rng(seed).integers(0, 256, size=(*size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path)
        return path

    return write
