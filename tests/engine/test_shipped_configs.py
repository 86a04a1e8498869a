"""Every shipped config trains for a few iterations on the synthetic set, on the CPU, with tiny images.

The configs keep their backbone and recipe; the overrides only shrink the run (64x32 images,
batches of 8, one epoch), point it at the synthetic Market-1501-layout set, skip the ImageNet
download and make the rare steps happen within 4 iterations (AutoAugment on every image,
FREEZE_ITERS 2). A Market1501 / DukeMTMC / MSMT17 config and its Base file then resolve to the
same run, so each distinct recipe trains once and every file is mapped to the recipe it resolves to.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from reidlab.config import config_to_yaml, load_config
from reidlab.data import transforms
from reidlab.engine.hooks import CallbackHook
from reidlab.engine.train import train
from reidlab.modeling import FrozenLayers

CONFIG_ROOT = Path(__file__).resolve().parents[2] / "reidlab" / "configs"
CONFIGS = sorted(f for f in CONFIG_ROOT.rglob("*.yml") if f.parent.name != "search")  # search/ holds search spaces


def _overrides(file: Path, tiny_overrides, output_dir: Path) -> list[str]:
    cfg = load_config(file)
    extra = {
        "SOLVER.MAX_EPOCH": 1,
        "MODEL.BACKBONE.PRETRAIN": False,
        "MODEL.DEVICE": "cpu",
        "DATALOADER.NUM_WORKERS": 0,
        "DATASETS.NAMES": '("Market1501",)',
        "DATASETS.TESTS": '("Market1501",)',
    }
    if cfg.INPUT.AUTOAUG.ENABLED:
        extra["INPUT.AUTOAUG.PROB"] = 1.0
    if cfg.SOLVER.FREEZE_ITERS:
        extra["SOLVER.FREEZE_ITERS"] = 2
    return tiny_overrides(output_dir, extra)


def _recipe(file: Path, overrides: list[str]) -> str:
    cfg = load_config(file, overrides)
    cfg.OUTPUT_DIR = ""
    return config_to_yaml(cfg)


def _checks(seen: dict):
    def on_iteration(trainer, epoch, step):
        if step == 0:
            cfg, model = trainer.cfg, trainer.model
            seen["non_local_blocks"] = len(getattr(model.backbone, "non_local", ()))
            seen["cls_layer"] = model.head.cls_layer
            seen["pool"] = type(model.head.pool).__name__
            seen["frozen_parameters"] = sum(p.numel() for p in FrozenLayers(model, cfg.MODEL.FREEZE_LAYERS).parameters())

    return [CallbackHook(after_step=on_iteration)]


def test_every_shipped_config_trains_a_few_iterations(tmp_path, tiny_overrides, monkeypatch, one_torch_thread):
    assert {"Base-AGW.yml", "Base-SBS.yml"} <= {f.name for f in CONFIGS}
    for recipe in ("AGW_R50", "sbs_R50", "bagtricks_R50"):
        assert {f"{folder}/{recipe}.yml" for folder in ("Market1501", "DukeMTMC", "MSMT17")} <= {f"{f.parent.name}/{f.name}" for f in CONFIGS}

    applied: list[str] = []
    real_per_image = transforms.per_image

    def counting_per_image(images, chosen, seeds, transform):
        applied.append(type(transform).__name__)
        return real_per_image(images, chosen, seeds, transform)

    monkeypatch.setattr(transforms, "per_image", counting_per_image)

    recipes: dict[str, list[Path]] = {}
    for file in CONFIGS:
        recipes.setdefault(_recipe(file, _overrides(file, tiny_overrides, tmp_path / "run")), []).append(file)
    assert len(recipes) >= 4, {k[:40]: v for k, v in recipes.items()}

    for index, files in enumerate(recipes.values()):
        file, run = files[0], tmp_path / f"run{index}"
        cfg = load_config(file)
        seen: dict = {}
        applied.clear()
        result = train(str(file), overrides=_overrides(file, tiny_overrides, run), hooks=_checks(seen))
        names = [f.relative_to(CONFIG_ROOT).as_posix() for f in files]
        assert result.stop.reason.value == "max_epochs", (names, result.stop)
        history = json.loads((run / "training_history.json").read_text(encoding="utf-8"))
        assert history[-1]["iterations"] == 4 and math.isfinite(history[-1]["loss"]) and "mAP" in history[-1], names
        assert (seen["non_local_blocks"] > 0) == cfg.MODEL.BACKBONE.WITH_NL, names
        assert seen["cls_layer"] == cfg.MODEL.HEADS.CLS_LAYER, names
        assert seen["pool"] == cfg.MODEL.HEADS.POOL_LAYER, names
        assert (seen["frozen_parameters"] > 0) == bool(cfg.MODEL.FREEZE_LAYERS), names
        assert ("AutoAugment" in applied) == cfg.INPUT.AUTOAUG.ENABLED, names
