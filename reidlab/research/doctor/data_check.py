"""Doctor check 1: the data set, and whether the configured P x K batch can be drawn from it.

The facts come from the data set listing alone (no decoding), so a P x K that does not fit
still gets its numbers; the real TrainData is then built exactly as `train` builds it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from reidlab.config import Config
from reidlab.data import DatasetError, TrainData, build_train_data, read_dataset, relabel_train
from reidlab.research.batch_rules import uses_identity_sampler
from reidlab.research.doctor.report import CheckResult, Status

NAME, TITLE = "dataset", "data set"


@dataclass
class DatasetFacts:
    """Counts of the training split (relabelled as training relabels it) and of each test set."""

    ids: int
    images: int
    cameras: int
    images_per_id: list[int]
    test_sets: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def test_images(self) -> int:
        return sum(s["query"] + s["gallery"] for s in self.test_sets.values())


def read_facts(cfg: Config) -> DatasetFacts:
    """Read the listings of DATASETS.NAMES and DATASETS.TESTS; DatasetError when one cannot be read."""
    pids: list[int] = []
    num_ids = cameras = 0
    for name in cfg.DATASETS.NAMES:  # each data set gets its own block of labels, as build_train_data does
        records, dataset_ids, dataset_cameras = relabel_train(read_dataset(name, cfg.DATASETS.ROOT).train, num_ids, cameras)
        pids += [r.pid for r in records]
        num_ids, cameras = num_ids + dataset_ids, cameras + dataset_cameras
    tests = {}
    for name in cfg.DATASETS.TESTS:
        dataset = read_dataset(name, cfg.DATASETS.ROOT)
        tests[name] = {"query": len(dataset.query), "gallery": len(dataset.gallery)}
    per_id = sorted(Counter(pids).values())
    return DatasetFacts(ids=len(per_id), images=len(pids), cameras=cameras, images_per_id=per_id, test_sets=tests)


def batch_numbers(cfg: Config) -> dict[str, Any]:
    """IMS_PER_BATCH, K and P as the sampler reads them (P only for the identity samplers)."""
    batch, k = cfg.SOLVER.IMS_PER_BATCH, cfg.DATALOADER.NUM_INSTANCE
    identity = uses_identity_sampler(cfg.DATALOADER.SAMPLER_TRAIN)
    return {
        "sampler": cfg.DATALOADER.SAMPLER_TRAIN,
        "ims_per_batch": batch,
        "num_instance": k if identity else None,
        "identities_per_batch": batch / k if identity else None,
    }


def check_dataset(cfg: Config) -> tuple[CheckResult, TrainData | None]:
    """The data set facts and the built TrainData, or a FAIL (and None) saying what does not fit."""
    numbers = batch_numbers(cfg)
    try:
        facts = read_facts(cfg)
    except DatasetError as exc:
        fix = f"check DATASETS.ROOT ({cfg.DATASETS.ROOT}) and DATASETS.NAMES / TESTS"
        return CheckResult(NAME, TITLE, Status.FAIL, "the data set cannot be read", numbers, cause=str(exc), fix=fix), None
    numbers.update(_facts_numbers(facts))
    try:
        train_data = build_train_data(cfg, seed=cfg.SEED)
    except DatasetError as exc:
        return CheckResult(NAME, TITLE, Status.FAIL, f"{_facts_text(facts)}; {_batch_text(numbers)} does not fit", numbers, cause=str(exc), fix=_batch_fix(numbers, facts)), None
    numbers.update(batches_per_epoch=len(train_data.loader), skipped_corrupt=train_data.skipped_corrupt)
    summary = f"{_facts_text(facts)}; {_batch_text(numbers)} fits, {len(train_data.loader)} batches per epoch; {_tests_text(facts)}"
    if train_data.skipped_corrupt:
        summary += f"; {train_data.skipped_corrupt} corrupt image(s) left out"
    if "TripletLoss" in cfg.MODEL.LOSSES.NAME and numbers["num_instance"] is None:
        cause = "TripletLoss with DATALOADER.SAMPLER_TRAIN TrainingSampler: random batches rarely hold two images of one identity, so the triplet term has no positives"
        fix = "DATALOADER.SAMPLER_TRAIN NaiveIdentitySampler (P identities x NUM_INSTANCE images per batch)"
        return CheckResult(NAME, TITLE, Status.WARN, summary, numbers, cause=cause, fix=fix), train_data
    return CheckResult(NAME, TITLE, Status.PASS, summary, numbers), train_data


def _facts_numbers(facts: DatasetFacts) -> dict[str, Any]:
    per_id = facts.images_per_id
    return {
        "ids": facts.ids,
        "images": facts.images,
        "cameras": facts.cameras,
        "images_per_id_min": per_id[0] if per_id else 0,
        "images_per_id_median": float(median(per_id)) if per_id else 0.0,
        "images_per_id_max": per_id[-1] if per_id else 0,
        "test_sets": facts.test_sets,
    }


def _facts_text(facts: DatasetFacts) -> str:
    per_id = facts.images_per_id
    spread = f"{per_id[0]}-{per_id[-1]} per id, median {median(per_id):g}" if per_id else "none per id"
    return f"{facts.ids} ids, {facts.images} images ({spread}), {facts.cameras} cameras"


def _batch_text(numbers: dict[str, Any]) -> str:
    if numbers["num_instance"] is None:
        return f"batch {numbers['ims_per_batch']} ({numbers['sampler']})"
    p = numbers["identities_per_batch"]
    p_text = f"{p:g}" if p == int(p) else f"{p:.2f} (not whole)"
    return f"P x K = {p_text} x {numbers['num_instance']} = {numbers['ims_per_batch']}"


def _tests_text(facts: DatasetFacts) -> str:
    return ", ".join(f"test {name}: {s['query']} query / {s['gallery']} gallery" for name, s in facts.test_sets.items())


def _batch_fix(numbers: dict[str, Any], facts: DatasetFacts) -> str:
    batch, k = numbers["ims_per_batch"], numbers["num_instance"]
    if k is None:
        return f"lower SOLVER.IMS_PER_BATCH to at most {facts.images}"
    if batch % k:
        return f"make SOLVER.IMS_PER_BATCH a multiple of DATALOADER.NUM_INSTANCE {k}, e.g. {max(batch // k, 1) * k}"
    largest = min(facts.ids, facts.images // k) * k
    return f"SOLVER.IMS_PER_BATCH at most {largest} with NUM_INSTANCE {k} (P <= {facts.ids} ids), or a larger NUM_INSTANCE"
