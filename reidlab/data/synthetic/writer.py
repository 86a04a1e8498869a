"""Write a synthetic data set in the exact Market-1501 layout, so reidlab runs without real data.

    <out_dir>/Market-1501-v15.09.15/
        bounding_box_train/0001_c1s1_000123_01.jpg ...   training identities
        query/0101_c2s1_000456_01.jpg ...                test identities, one or two images each
        bounding_box_test/0101_c4s1_000789_01.jpg ...    the rest of the test identities' images,
                                                         distractors (0000_...) and junk (-1_...)
        reidlab_synthetic.json                           the parameters that wrote it

Use it with DATASETS.NAMES Market1501 DATASETS.ROOT <out_dir>. Every test identity is seen by
at least two cameras, and every query has a gallery image of its identity in another camera.
Deterministic for a seed. Writing again with the same parameters does nothing; with others it
replaces the set (only a folder that reidlab_synthetic.json marks as ours is ever replaced).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from reidlab.data.errors import DatasetError
from reidlab.data.synthetic.appearance import distinct_appearances, random_appearance
from reidlab.data.synthetic.render import random_camera, random_visit, render_image

MARKET_FOLDER = "Market-1501-v15.09.15"
MARKER_FILE = "reidlab_synthetic.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class SyntheticDataset:
    """Where the set was written and how much of each kind it holds."""

    root: Path
    dataset_dir: Path
    train_ids: int
    test_ids: int
    train_images: int
    query_images: int
    gallery_images: int


class _Namer:
    """Market-style file names, PPPP_cCsS_FFFFFF_NN.jpg, with a rising frame number per camera."""

    def __init__(self, num_cameras: int, rng: np.random.Generator) -> None:
        self.frames = [int(v) for v in rng.integers(0, 1000, size=num_cameras)]
        self.rng = rng

    def name(self, pid: int, camera: int) -> str:
        self.frames[camera] += int(self.rng.integers(5, 60))
        pid_text = "-1" if pid < 0 else f"{pid:04d}"
        return f"{pid_text}_c{camera + 1}s1_{self.frames[camera]:06d}_01.jpg"


def write_synthetic_dataset(
    out_dir: str | Path,
    num_train_ids: int = 100,
    num_test_ids: int = 100,
    images_per_id: int = 10,
    num_cameras: int = 6,
    height: int = 128,
    width: int = 64,
    seed: int = 0,
    num_distractors: int = 100,
    num_junk: int = 30,
) -> SyntheticDataset:
    """Write the synthetic Market-1501 set under out_dir (the DATASETS.ROOT to use)."""
    params = {
        "format_version": FORMAT_VERSION,
        "num_train_ids": num_train_ids,
        "num_test_ids": num_test_ids,
        "images_per_id": images_per_id,
        "num_cameras": num_cameras,
        "height": height,
        "width": width,
        "seed": seed,
        "num_distractors": num_distractors,
        "num_junk": num_junk,
    }
    _check_params(params)
    root = Path(out_dir)
    target = root / MARKET_FOLDER
    existing = _read_marker(target)
    if existing is not None and existing.get("params") == params:
        return SyntheticDataset(root=root, dataset_dir=target, **existing["counts"])

    staging = root / f".{MARKET_FOLDER}.partial"
    if staging.exists():
        shutil.rmtree(staging)
    for split in ("bounding_box_train", "query", "bounding_box_test"):
        (staging / split).mkdir(parents=True)
    counts = _render_all(staging, params)
    (staging / MARKER_FILE).write_text(json.dumps({"params": params, "counts": counts}, indent=2), encoding="utf-8")
    if target.exists():
        shutil.rmtree(target)  # ours: _read_marker refused anything else
    os.replace(staging, target)
    return SyntheticDataset(root=root, dataset_dir=target, **counts)


def synth_main(out_dir: str | Path, **kwargs: int) -> Path:
    """`reidlab data synth --out DIR`: write the set, say how to use it, return DIR."""
    made = write_synthetic_dataset(out_dir, **kwargs)
    print(
        f"synthetic Market-1501 set in {made.dataset_dir}: {made.train_ids} train ids / {made.train_images} images, "
        f"{made.test_ids} test ids, {made.query_images} query / {made.gallery_images} gallery images. "
        f"Use it with: DATASETS.NAMES Market1501 DATASETS.TESTS Market1501 DATASETS.ROOT {made.root}"
    )
    return made.root


def _check_params(params: dict) -> None:
    if params["num_cameras"] < 2:
        raise DatasetError(f"synthetic data needs num_cameras >= 2 (got {params['num_cameras']}): test identities must cross cameras")
    if params["images_per_id"] < 2:
        raise DatasetError(f"synthetic data needs images_per_id >= 2 (got {params['images_per_id']}): one query plus one gallery image")
    if params["num_train_ids"] < 1 or params["num_test_ids"] < 1:
        raise DatasetError("synthetic data needs at least one train and one test identity")
    if params["height"] < 32 or params["width"] < 16:
        raise DatasetError(f"synthetic images must be at least 32x16 pixels (got {params['height']}x{params['width']})")
    if params["num_distractors"] < 0 or params["num_junk"] < 0:
        raise DatasetError("num_distractors and num_junk cannot be negative")


def _read_marker(target: Path) -> dict | None:
    """The marker of a set we wrote; None if there is no folder; an error if the folder is not ours."""
    if not target.exists():
        return None
    marker = target / MARKER_FILE
    if not marker.is_file():
        raise DatasetError(
            f"{target} already exists and was not written by `reidlab data synth` (no {MARKER_FILE}); "
            "choose another --out folder or remove it"
        )
    try:
        return json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _split_over_cameras(count: int, cameras: np.ndarray, rng: np.random.Generator) -> list[int]:
    """How many of `count` images each camera gets: at least one each, the rest at random."""
    extra = rng.multinomial(count - len(cameras), np.full(len(cameras), 1.0 / len(cameras)))
    return [1 + int(e) for e in extra]


def _render_all(out: Path, params: dict) -> dict[str, int]:
    rng = np.random.default_rng(params["seed"])
    n_cams, per_id = params["num_cameras"], params["images_per_id"]
    h, w = params["height"], params["width"]
    cameras = [random_camera(rng) for _ in range(n_cams)]
    namer = _Namer(n_cams, rng)
    n_train, n_test = params["num_train_ids"], params["num_test_ids"]
    looks = distinct_appearances(n_train + n_test, rng)
    train_dir, query_dir, gallery_dir = out / "bounding_box_train", out / "query", out / "bounding_box_test"
    counts = {"train_ids": n_train, "test_ids": n_test, "train_images": 0, "query_images": 0, "gallery_images": 0}

    def save(pixels: np.ndarray, folder: Path, pid: int, camera: int) -> None:
        Image.fromarray(pixels).save(folder / namer.name(pid, camera), quality=int(rng.integers(85, 96)))

    for index, look in enumerate(looks):
        pid = index + 1
        is_test = index >= n_train
        seen_by = rng.choice(n_cams, size=int(rng.integers(2, min(n_cams, per_id, 4) + 1)), replace=False)
        per_camera = _split_over_cameras(per_id, seen_by, rng)
        # query cameras: the first always; the second too when both keep a match elsewhere
        second_query = len(seen_by) >= 3 or (per_camera[0] >= 2 and per_camera[1] >= 2)
        for slot, (camera, count) in enumerate(zip(seen_by, per_camera)):
            visit = random_visit(rng)
            for shot in range(count):
                pixels = render_image(look, cameras[camera], visit, rng, h, w)
                if not is_test:
                    save(pixels, train_dir, pid, int(camera))
                    counts["train_images"] += 1
                elif shot == 0 and (slot == 0 or (slot == 1 and second_query)):
                    save(pixels, query_dir, pid, int(camera))
                    counts["query_images"] += 1
                else:
                    save(pixels, gallery_dir, pid, int(camera))
                    counts["gallery_images"] += 1
    for pid, number in ((0, params["num_distractors"]), (-1, params["num_junk"])):
        for _ in range(number):
            camera = int(rng.integers(n_cams))
            pixels = render_image(random_appearance(rng), cameras[camera], random_visit(rng), rng, h, w, junk=pid < 0)
            save(pixels, gallery_dir, pid, camera)
            counts["gallery_images"] += 1
    return counts
