"""fast-reid's keys that reidlab does not run, and when such a key changes nothing.

fast-reid dumps its whole resolved config into every run folder (KD, SOLVER.CLIP_GRADIENTS,
the ViT keys, ...). A key still at fast-reid's default, or one switched off by another key,
changes nothing about what reidlab runs: it is ignored and named in one summary line. Any
other value would change the model or the training, so it stays an error naming the key.
"""

from __future__ import annotations

from typing import Any, Mapping

from reidlab.config.tree import flatten_config, same_value

# fast-reid 1.x defaults of the keys reidlab does not have or runs only at its own default.
FASTREID_DEFAULTS: dict[str, Any] = {
    "MODEL.QUEUE_SIZE": 8192,
    "MODEL.BACKBONE.WITH_SE": False,
    "MODEL.BACKBONE.SIE_COE": 3.0,
    "MODEL.BACKBONE.STRIDE_SIZE": [16, 16],
    "MODEL.BACKBONE.DROP_PATH_RATIO": 0.1,
    "MODEL.BACKBONE.DROP_RATIO": 0.0,
    "MODEL.BACKBONE.ATT_DROP_RATE": 0.0,
    "MODEL.HEADS.EMBEDDING_DIM": 0,
    "MODEL.LOSSES.CE.ALPHA": 0.2,
    "MODEL.LOSSES.FL.ALPHA": 0.25,
    "MODEL.LOSSES.FL.GAMMA": 2,
    "MODEL.LOSSES.FL.SCALE": 1.0,
    "MODEL.LOSSES.CIRCLE.MARGIN": 0.25,
    "MODEL.LOSSES.CIRCLE.GAMMA": 128,
    "MODEL.LOSSES.CIRCLE.SCALE": 1.0,
    "MODEL.LOSSES.COSFACE.MARGIN": 0.25,
    "MODEL.LOSSES.COSFACE.GAMMA": 128,
    "MODEL.LOSSES.COSFACE.SCALE": 1.0,
    "KD.MODEL_CONFIG": [],
    "KD.MODEL_WEIGHTS": [],
    "KD.EMA.ENABLED": False,
    "KD.EMA.MOMENTUM": 0.999,
    "INPUT.CROP.ENABLED": False,
    "INPUT.CROP.SIZE": [224, 224],
    "INPUT.CROP.SCALE": [0.16, 1],
    "INPUT.CROP.RATIO": [3.0 / 4.0, 4.0 / 3.0],
    "INPUT.AFFINE.ENABLED": False,
    "INPUT.AUGMIX.ENABLED": False,
    "INPUT.AUGMIX.PROB": 0.0,
    "INPUT.RPT.ENABLED": False,
    "INPUT.RPT.PROB": 0.5,
    "DATASETS.COMBINEALL": False,
    "DATALOADER.SET_WEIGHT": [],
    "SOLVER.CLIP_GRADIENTS.ENABLED": False,
    "SOLVER.CLIP_GRADIENTS.CLIP_TYPE": "norm",
    "SOLVER.CLIP_GRADIENTS.CLIP_VALUE": 5.0,
    "SOLVER.CLIP_GRADIENTS.NORM_TYPE": 2.0,
    "TEST.ROC.ENABLED": False,
    "TEST.PRECISE_BN.ENABLED": False,
    "TEST.PRECISE_BN.DATASET": "Market1501",
    "TEST.PRECISE_BN.NUM_ITER": 300,
}

# The loss each MODEL.LOSSES section configures (fast-reid's names in MODEL.LOSSES.NAME).
_LOSS_OF_SECTION = {"CIRCLE": "CircleLoss", "COSFACE": "Cosface", "FL": "FocalLoss"}
_VIT_KEYS = ("SIE_COE", "STRIDE_SIZE", "DROP_PATH_RATIO", "DROP_RATIO", "ATT_DROP_RATE")


def is_fastreid_key(dotted: str) -> bool:
    """A key fast-reid has and reidlab does not run (a typo of a reidlab key is not one)."""
    return dotted in FASTREID_DEFAULTS or dotted.startswith("KD.")


def _get(tree: Mapping[str, Any], dotted: str, default: Any = None) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def why_no_effect(dotted: str, tree: Mapping[str, Any]) -> str | None:
    """Why `dotted` changes nothing reidlab runs, given the rest of the config `tree`; None when it may."""
    *parents, leaf = dotted.split(".")
    section = ".".join(parents)
    if leaf != "ENABLED" and _get(tree, f"{section}.ENABLED") is False:
        return f"{section}.ENABLED is False"
    if parents[:1] == ["KD"] and not _get(tree, "KD.MODEL_CONFIG"):
        return "no teacher: KD.MODEL_CONFIG is empty"
    if section == "MODEL.BACKBONE" and leaf in _VIT_KEYS and _get(tree, "MODEL.BACKBONE.NAME") != "build_vit_backbone":
        return "a ViT key; the backbone is not a ViT"
    if parents[:2] == ["MODEL", "LOSSES"] and len(parents) == 3 and parents[2] in _LOSS_OF_SECTION:
        if _LOSS_OF_SECTION[parents[2]] not in (_get(tree, "MODEL.LOSSES.NAME") or []):
            return f"{_LOSS_OF_SECTION[parents[2]]} is not in MODEL.LOSSES.NAME"
    if dotted == "MODEL.QUEUE_SIZE" and _get(tree, "MODEL.META_ARCHITECTURE", "Baseline") != "MoCo":
        return "used by MoCo only"
    if dotted == "MODEL.LOSSES.CE.ALPHA" and (_get(tree, "MODEL.LOSSES.CE.EPSILON") or 0) >= 0:
        return "used only when MODEL.LOSSES.CE.EPSILON < 0"
    return None


def why_ignorable(dotted: str, value: Any, tree: Mapping[str, Any]) -> str | None:
    """Why a fast-reid key reidlab does not run may be ignored here (at fast-reid's default, or without effect); None when not."""
    if dotted in FASTREID_DEFAULTS and same_value(value, FASTREID_DEFAULTS[dotted]):
        return "at fast-reid's default"
    return why_no_effect(dotted, tree)


def leaves(dotted: str, value: Any) -> dict[str, Any]:
    """A key's leaf values by dotted name: the key itself, or every key below a section."""
    return flatten_config(value, dotted + ".") if isinstance(value, Mapping) else {dotted: value}


def ignored_keys_line(source: str, ignored: list[str]) -> str:
    """One line naming the fast-reid keys a config load ignored, grouped by section."""
    groups: dict[str, list[str]] = {}
    for dotted in ignored:
        section, _, leaf = dotted.rpartition(".")
        groups.setdefault(section, []).append(leaf)
    parts = [f"{section}.{leaves[0]}" if len(leaves) == 1 else f"{section}.{{{','.join(leaves)}}}" for section, leaves in groups.items()]
    return f"{source}: ignored {len(ignored)} fast-reid keys that change nothing reidlab runs (at fast-reid's default or switched off): {' '.join(parts)}"
