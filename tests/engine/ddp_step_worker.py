"""Run under torchrun: one DDP training step must equal one single-process step on the whole batch.

`torchrun --nproc_per_node=2 ddp_step_worker.py RESULT_DIR KEY VALUE ...` builds two identical
models. Each process steps model A alone on the whole global batch, and model B under DDP on its
own share of it. BatchNorm uses its running statistics (eval mode), the one thing a process
cannot share without SyncBN, so what is compared is exactly what DDP must get right: the batch
split, the averaged gradients, and the triplet mined over the whole batch. Each rank writes the
largest parameter difference to RESULT_DIR/rank<N>.json.
"""

import copy
import json
import sys
from pathlib import Path

import torch

from reidlab.config import load_config
from reidlab.data import build_train_data
from reidlab.engine.distributed import SINGLE_PROCESS, start_processes
from reidlab.engine.train import build_training_model, seed_everything
from reidlab.engine.trainer import Trainer


def freeze_batch_norm_statistics(model: torch.nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.eval()


def main() -> int:
    result_dir, *overrides = sys.argv[1:]
    cfg = load_config("configs/Synthetic/demo_R18_cpu.yml", overrides)
    processes, device = start_processes("cpu")
    seed_everything(cfg.SEED)
    whole = build_train_data(cfg, seed=cfg.SEED)
    share = build_train_data(cfg, seed=cfg.SEED, rank=processes.rank, world_size=processes.world_size)
    model_a, _ = build_training_model(cfg, whole.num_classes, device)
    model_b = copy.deepcopy(model_a)
    alone = Trainer(cfg, model_a, whole, [], device, processes=SINGLE_PROCESS)
    together = Trainer(cfg, model_b, share, [], device, processes=processes)
    for trainer in (alone, together):
        trainer.train_model.train()
        freeze_batch_norm_statistics(trainer.model)
    whole.loader.set_epoch(1)
    share.loader.set_epoch(1)
    batch, mine = next(iter(whole.loader)), next(iter(share.loader))
    rows = slice(processes.rank * len(mine.targets), (processes.rank + 1) * len(mine.targets))
    same_share = bool(torch.equal(batch.images[rows], mine.images) and torch.equal(batch.targets[rows], mine.targets))
    before = [p.detach().clone() for p in model_a.parameters()]
    alone.train_step(batch.images, batch.targets)
    together.train_step(mine.images, mine.targets)
    changed = max(float((a.detach() - a0).abs().max()) for a, a0 in zip(model_a.parameters(), before))
    differences = [float((a - b).abs().max()) for a, b in zip(model_a.parameters(), model_b.parameters())]
    Path(result_dir, f"rank{processes.rank}.json").write_text(
        json.dumps({"same_share": same_share, "max_difference": max(differences), "max_change": changed})
    )
    processes.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
