"""fast-reid output folders exactly as fast-reid 1.x writes them, without fast-reid: for the diagnose tests.

- metrics.json: JSON lines with sorted keys (fast-reid's JSONWriter); training lines every `log_period`
  iterations (0-based, written at (iter + 1) % period == 0), evaluation lines at the last iteration
  of every TEST.EVAL_PERIOD-th epoch, metrics in percent.
- config.yaml: the whole config as yacs dumps it (yaml.safe_dump: sorted keys, block lists),
  fast-reid 1.4's defaults under configs/Market1501/bagtricks_R50.yml, NUM_CLASSES rewritten after auto-scaling.
- log.txt: the plain log format "[%m/%d %H:%M:%S] name LEVEL: message", the environment table
  (tabulate's plain format), the data-set tables (pipe format, cyan colour codes) and the
  CommonMetricPrinter lines; a FloatingPointError traceback where training diverged.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Callable

import yaml

MARKET_IDS, MARKET_IMAGES = 751, 12936

FASTREID_14_DEFAULTS: dict = {
    "MODEL": {
        "DEVICE": "cuda", "META_ARCHITECTURE": "Baseline", "FREEZE_LAYERS": [], "QUEUE_SIZE": 8192,
        "BACKBONE": {
            "NAME": "build_resnet_backbone", "DEPTH": "50x", "LAST_STRIDE": 1, "FEAT_DIM": 2048, "NORM": "BN",
            "WITH_IBN": False, "WITH_SE": False, "WITH_NL": False, "SIE_COE": 3.0, "STRIDE_SIZE": [16, 16],
            "DROP_PATH_RATIO": 0.1, "DROP_RATIO": 0.0, "ATT_DROP_RATE": 0.0, "PRETRAIN": False, "PRETRAIN_PATH": "",
        },
        "HEADS": {
            "NAME": "EmbeddingHead", "NORM": "BN", "NUM_CLASSES": 0, "EMBEDDING_DIM": 0, "WITH_BNNECK": False,
            "NECK_FEAT": "before", "POOL_LAYER": "GlobalAvgPool", "CLS_LAYER": "Linear", "MARGIN": 0.0, "SCALE": 1,
        },
        "LOSSES": {
            "NAME": ["CrossEntropyLoss"],
            "CE": {"EPSILON": 0.0, "ALPHA": 0.2, "SCALE": 1.0},
            "FL": {"ALPHA": 0.25, "GAMMA": 2, "SCALE": 1.0},
            "TRI": {"MARGIN": 0.3, "NORM_FEAT": False, "HARD_MINING": False, "SCALE": 1.0},
            "CIRCLE": {"MARGIN": 0.25, "GAMMA": 128, "SCALE": 1.0},
            "COSFACE": {"MARGIN": 0.25, "GAMMA": 128, "SCALE": 1.0},
        },
        "WEIGHTS": "",
        "PIXEL_MEAN": [0.485 * 255, 0.456 * 255, 0.406 * 255],
        "PIXEL_STD": [0.229 * 255, 0.224 * 255, 0.225 * 255],
    },
    "KD": {"MODEL_CONFIG": [], "MODEL_WEIGHTS": [], "EMA": {"ENABLED": False, "MOMENTUM": 0.999}},
    "INPUT": {
        "SIZE_TRAIN": [256, 128], "SIZE_TEST": [256, 128],
        "CROP": {"ENABLED": False, "SIZE": [224, 224], "SCALE": [0.16, 1], "RATIO": [3.0 / 4.0, 4.0 / 3.0]},
        "FLIP": {"ENABLED": False, "PROB": 0.5},
        "PADDING": {"ENABLED": False, "MODE": "constant", "SIZE": 10},
        "CJ": {"ENABLED": False, "PROB": 0.5, "BRIGHTNESS": 0.15, "CONTRAST": 0.15, "SATURATION": 0.1, "HUE": 0.1},
        "AFFINE": {"ENABLED": False},
        "AUTOAUG": {"ENABLED": False, "PROB": 0.0},
        "AUGMIX": {"ENABLED": False, "PROB": 0.0},
        "REA": {"ENABLED": False, "PROB": 0.5, "VALUE": [0.485 * 255, 0.456 * 255, 0.406 * 255]},
        "RPT": {"ENABLED": False, "PROB": 0.5},
    },
    "DATASETS": {"NAMES": ["Market1501"], "TESTS": ["Market1501"], "COMBINEALL": False},
    "DATALOADER": {"SAMPLER_TRAIN": "TrainingSampler", "NUM_INSTANCE": 4, "NUM_WORKERS": 8, "SET_WEIGHT": []},
    "SOLVER": {
        "AMP": {"ENABLED": False}, "OPT": "Adam", "MAX_EPOCH": 120, "BASE_LR": 3e-4, "HEADS_LR_FACTOR": 1.0,
        "MOMENTUM": 0.9, "NESTEROV": False, "WEIGHT_DECAY": 0.0005, "WEIGHT_DECAY_NORM": 0.0005,
        "BIAS_LR_FACTOR": 1.0, "WEIGHT_DECAY_BIAS": 0.0005, "SCHED": "MultiStepLR", "DELAY_EPOCHS": 0,
        "GAMMA": 0.1, "STEPS": [30, 55], "ETA_MIN_LR": 1e-7, "WARMUP_FACTOR": 0.1, "WARMUP_ITERS": 1000,
        "WARMUP_METHOD": "linear", "FREEZE_ITERS": 0, "CHECKPOINT_PERIOD": 20, "IMS_PER_BATCH": 64,
        "CLIP_GRADIENTS": {"ENABLED": False, "CLIP_TYPE": "norm", "CLIP_VALUE": 5.0, "NORM_TYPE": 2.0},
    },
    "TEST": {
        "EVAL_PERIOD": 20, "IMS_PER_BATCH": 64, "METRIC": "cosine", "ROC": {"ENABLED": False}, "FLIP": {"ENABLED": False},
        "AQE": {"ENABLED": False, "ALPHA": 3.0, "QE_TIME": 1, "QE_K": 5},
        "RERANK": {"ENABLED": False, "K1": 20, "K2": 6, "LAMBDA": 0.3},
        "PRECISE_BN": {"ENABLED": False, "DATASET": "Market1501", "NUM_ITER": 300},
    },
    "OUTPUT_DIR": "logs/",
    "CUDNN_BENCHMARK": False,
}

# configs/Base-bagtricks.yml + configs/Market1501/bagtricks_R50.yml of fast-reid 1.4.
BAGTRICKS_MARKET = {
    "MODEL.BACKBONE.PRETRAIN": True, "MODEL.HEADS.WITH_BNNECK": True,
    "MODEL.LOSSES.NAME": ["CrossEntropyLoss", "TripletLoss"], "MODEL.LOSSES.CE.EPSILON": 0.1,
    "MODEL.LOSSES.TRI.HARD_MINING": True,
    "INPUT.REA.ENABLED": True, "INPUT.FLIP.ENABLED": True, "INPUT.PADDING.ENABLED": True,
    "DATALOADER.SAMPLER_TRAIN": "NaiveIdentitySampler",
    "SOLVER.AMP.ENABLED": True, "SOLVER.BASE_LR": 0.00035, "SOLVER.STEPS": [40, 90], "SOLVER.WARMUP_ITERS": 2000,
    "SOLVER.CHECKPOINT_PERIOD": 30, "TEST.EVAL_PERIOD": 30, "TEST.IMS_PER_BATCH": 128, "CUDNN_BENCHMARK": True,
    "OUTPUT_DIR": "logs/market1501/bagtricks_R50",
}

ENV_TABLE = """----------------------  ----------------------------------------------------------------------------
sys.platform            linux
Python                  3.8.18 (default, Sep 11 2023, 13:40:15) [GCC 11.2.0]
numpy                   1.24.4
fastreid                {fastreid} @/home/researcher/miniconda3/envs/reid/lib/python3.8/site-packages/fastreid
FASTREID_ENV_MODULE     <not set>
PyTorch                 {torch} @/home/researcher/miniconda3/envs/reid/lib/python3.8/site-packages/torch
PyTorch debug build     False
GPU available           True
GPU 0                   NVIDIA GeForce RTX 3090
CUDA_HOME               /usr/local/cuda
Pillow                  10.0.1
torchvision             0.16.0+cu121 @/home/researcher/miniconda3/envs/reid/lib/python3.8/site-packages/torchvision
torchvision arch flags  /home/researcher/miniconda3/envs/reid/lib/python3.8/site-packages/torchvision/_C.so
cv2                     4.8.1
----------------------  ----------------------------------------------------------------------------
PyTorch built with:
  - GCC 9.3
  - C++ Version: 201703
  - Intel(R) oneAPI Math Kernel Library Version 2023.1-Product Build 20230303 for Intel(R) 64 architecture applications
  - CUDA Runtime 12.1
  - CuDNN 8.9.2
"""

CYAN, RESET = "\x1b[36m", "\x1b[0m"


def fastreid_config(overrides: dict | None = None) -> dict:
    """fast-reid 1.4's defaults, bag of tricks on Market-1501, then `overrides` (dotted keys)."""
    tree = copy.deepcopy(FASTREID_14_DEFAULTS)
    for dotted, value in {**BAGTRICKS_MARKET, "MODEL.HEADS.NUM_CLASSES": MARKET_IDS, **(overrides or {})}.items():
        node = tree
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def write_fastreid_folder(
    folder: Path,
    *,
    epochs: int,
    loss_cls: Callable[[int], float],
    loss_triplet: Callable[[int], float],
    cls_accuracy: Callable[[int], float],
    mAP: Callable[[int], float],
    fastreid: str | None = "1.4.0",
    torch: str | None = "2.1.0+cu121",
    ids: int = MARKET_IDS,
    images: int = MARKET_IMAGES,
    config: dict | None = None,
    log_period: int = 20,
    diverged_at: int | None = None,
    write_log: bool = True,
) -> Path:
    """A fast-reid output folder; each curve is a function of the 0-based iteration.

    diverged_at: fast-reid raised FloatingPointError there (metrics stop, log.txt holds the traceback).
    """
    folder.mkdir(parents=True, exist_ok=True)
    tree = config or fastreid_config()
    solver = tree["SOLVER"]
    batch, base_lr, warmup = solver["IMS_PER_BATCH"], solver["BASE_LR"], solver["WARMUP_ITERS"]
    ipe = images // batch
    period = tree["TEST"]["EVAL_PERIOD"]
    last = min(epochs * ipe, diverged_at if diverged_at is not None else epochs * ipe)
    lines, printed = [], []
    for iteration in range(last):
        epoch = iteration // ipe
        if (iteration + 1) % log_period == 0:
            factor = 0.1 + 0.9 * min(1.0, iteration / warmup) if warmup else 1.0
            ce, tri = loss_cls(iteration), loss_triplet(iteration)
            line = {
                "cls_accuracy": cls_accuracy(iteration), "data_time": 0.0011, "eta_seconds": 0.28 * (solver["MAX_EPOCH"] * ipe - iteration),
                "iteration": iteration, "loss_cls": ce, "loss_triplet": tri, "lr": base_lr * factor, "time": 0.2834, "total_loss": ce + tri,
            }
            lines.append(line)
            printed.append(
                f"[03/14 09:{12 + iteration // 2000:02d}:49] fastreid.utils.events INFO:  eta: 2:59:28  epoch/iter: {epoch}/{iteration}  "
                f"total_loss: {ce + tri:.4g}  loss_cls: {ce:.4g}  loss_triplet: {tri:.4g} cls_accuracy: {cls_accuracy(iteration):.4f} "
                f"time: 0.2834  data_time: 0.0011  lr: {base_lr * factor:.2e}  max_mem: 5210M"
            )
        if (iteration + 1) % ipe == 0 and ((epoch + 1) % period == 0 or epoch + 1 == solver["MAX_EPOCH"]):
            value = mAP(iteration)
            lines.append({"Rank-1": value + 20, "Rank-10": value + 40, "Rank-5": value + 33, "iteration": iteration, "mAP": value, "mINP": value / 3, "metric": value + 10})
    (folder / "metrics.json").write_text("".join(json.dumps(line, sort_keys=True) + "\n" for line in lines), encoding="utf-8")
    (folder / "config.yaml").write_text(yaml.safe_dump(tree), encoding="utf-8")
    if write_log:
        (folder / "log.txt").write_text(_log_text(tree, fastreid, torch, ids, images, printed, diverged_at), encoding="utf-8")
    return folder


def chance(ids: int = MARKET_IDS) -> float:
    return math.log(ids)


def _log_text(tree: dict, fastreid: str | None, torch: str | None, ids: int, images: int, printed: list[str], diverged_at: int | None) -> str:
    env = ENV_TABLE.format(fastreid=fastreid, torch=torch)
    if fastreid is None:
        env = "\n".join(line for line in env.splitlines() if not line.startswith("fastreid ")) + "\n"
    if torch is None:
        env = "\n".join(line for line in env.splitlines() if not line.startswith("PyTorch  ")) + "\n"
    table = (
        f"{CYAN}| subset   | # ids   | # images   | # cameras   |\n|:---------|:--------|:-----------|:------------|\n"
        f"| train    | {ids:<7} | {images:<10} | 6           |{RESET}"
    )
    test_table = (
        f"{CYAN}| subset   | # ids   | # images   | # cameras   |\n|:---------|:--------|:-----------|:------------|\n"
        f"| query    | 750     | 3368       | 6           |\n| gallery  | 751     | 15913      | 6           |{RESET}"
    )
    text = [
        "[03/14 09:12:01] fastreid INFO: Rank of current process: 0. World size: 1",
        "[03/14 09:12:02] fastreid INFO: Environment info:\n" + env,
        "[03/14 09:12:02] fastreid INFO: Command line arguments: Namespace(config_file='configs/Market1501/bagtricks_R50.yml', dist_url='tcp://127.0.0.1:50152', "
        "eval_only=False, machine_rank=0, num_gpus=1, num_machines=1, opts=[], resume=False)",
        "[03/14 09:12:02] fastreid INFO: Contents of args.config_file=configs/Market1501/bagtricks_R50.yml:\n_BASE_: ../Base-bagtricks.yml\n\n"
        "DATASETS:\n  NAMES: (\"Market1501\",)\n  TESTS: (\"Market1501\",)\n\nOUTPUT_DIR: logs/market1501/bagtricks_R50\n",
        "[03/14 09:12:02] fastreid INFO: Running with full config:\n" + yaml.safe_dump(tree),
        "[03/14 09:12:02] fastreid INFO: Full config saved to /home/researcher/fast-reid/logs/market1501/bagtricks_R50/config.yaml",
        "[03/14 09:12:04] fastreid.engine.defaults INFO: Prepare training set",
        "[03/14 09:12:05] fastreid.data.datasets.bases INFO: => Loaded Market1501 in csv format: \n" + table,
        f"[03/14 09:12:05] fastreid.engine.defaults INFO: Auto-scaling the num_classes={ids}",
        "[03/14 09:12:09] fastreid.engine.defaults INFO: Prepare testing set",
        "[03/14 09:12:10] fastreid.data.datasets.bases INFO: => Loaded Market1501 in csv format: \n" + test_table,
        "[03/14 09:12:11] fastreid.engine.train_loop INFO: Starting training from epoch 0",
        *printed,
    ]
    if diverged_at is not None:
        text += [
            "[03/14 10:02:11] fastreid.engine.train_loop ERROR: Exception during training:\nTraceback (most recent call last):\n"
            '  File "/home/researcher/fast-reid/fastreid/engine/train_loop.py", line 152, in train\n    self.run_step()\n'
            '  File "/home/researcher/fast-reid/fastreid/engine/train_loop.py", line 319, in _write_metrics\n'
            '    raise FloatingPointError(\n'
            f"FloatingPointError: Loss became infinite or NaN at iteration={diverged_at}!\n"
            "loss_dict = {'loss_cls': nan, 'loss_triplet': nan}",
        ]
    return "\n".join(text) + "\n"
