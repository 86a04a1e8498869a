"""The config tree: fast-reid's key names and defaults, plus reidlab's own keys.

Every key is a pydantic field (declared with `reidlab.config.fields`), so types are checked and
each key carries its documentation (the configuration reference is generated from the tree).
The MODEL section lives in `model_keys`; this file holds the others and the root `Config`.
Keys that fast-reid has but reidlab does not implement yet are declared with
``unsupported()``: they load at their default value, and any other value is a
clear "not supported yet" error instead of being silently ignored.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, PrivateAttr, field_validator

from reidlab.config.fields import Section, key, ours, unsupported
from reidlab.config.model_keys import IMAGENET_MEAN_255, ModelCfg


# ---------------------------------------------------------------- INPUT
class ProbCfg(Section):
    ENABLED: bool = False
    PROB: float = Field(0.5, ge=0.0, le=1.0)


class FlipInputCfg(ProbCfg):
    ENABLED: bool = key(False, "Random horizontal flip in training.")
    PROB: float = key(0.5, "Flip probability.", ge=0.0, le=1.0)


class PaddingCfg(Section):
    ENABLED: bool = key(False, "Pad then random-crop back to SIZE_TRAIN.")
    MODE: Literal["constant", "edge", "reflect", "symmetric"] = key("constant", "Padding mode.")
    SIZE: int = key(10, "Pixels of padding on each side.", ge=0)


class REACfg(Section):
    ENABLED: bool = key(False, "Random erasing.")
    PROB: float = key(0.5, "Random erasing probability.", ge=0.0, le=1.0)
    VALUE: list[float] = key(IMAGENET_MEAN_255, "Fill value on the 0-255 scale.", min_length=3, max_length=3)


class CropCfg(Section):
    ENABLED: bool = unsupported(False, "Random resized crop.")
    SIZE: list[int] = unsupported([224, 224], "Crop size.")
    SCALE: list[float] = unsupported([0.16, 1.0], "Crop scale range.")
    RATIO: list[float] = unsupported([3 / 4, 4 / 3], "Crop aspect range.")


class UnsupportedAugCfg(Section):
    ENABLED: bool = unsupported(False, "Not supported yet.")
    PROB: float = unsupported(0.5, "Not supported yet.")


class AutoAugCfg(Section):
    ENABLED: bool = key(False, "torchvision's AutoAugment (ImageNet policy) in training.")
    PROB: float = key(0.0, "Probability that an image gets AutoAugment (per image; fast-reid's RandomApply is per image too).", ge=0.0, le=1.0)


class ColorJitterCfg(Section):
    ENABLED: bool = key(False, "Colour jitter (torchvision's ColorJitter) in training.")
    PROB: float = key(0.5, "Probability that an image gets colour jitter.", ge=0.0, le=1.0)
    BRIGHTNESS: float = key(0.15, "Brightness factor drawn from [1 - b, 1 + b].", ge=0.0)
    CONTRAST: float = key(0.15, "Contrast factor drawn from [1 - c, 1 + c].", ge=0.0)
    SATURATION: float = key(0.1, "Saturation factor drawn from [1 - s, 1 + s].", ge=0.0)
    HUE: float = key(0.1, "Hue shift drawn from [-h, h].", ge=0.0, le=0.5)


class AffineCfg(Section):
    ENABLED: bool = unsupported(False, "Random affine.")


class InputCfg(Section):
    SIZE_TRAIN: list[int] = key([256, 128], "Training image size [height, width].", min_length=2, max_length=2)
    SIZE_TEST: list[int] = key([256, 128], "Test image size [height, width].", min_length=2, max_length=2)
    FLIP: FlipInputCfg = Field(default_factory=FlipInputCfg)
    PADDING: PaddingCfg = Field(default_factory=PaddingCfg)
    REA: REACfg = Field(default_factory=REACfg)
    CROP: CropCfg = Field(default_factory=CropCfg)
    AUGMIX: UnsupportedAugCfg = Field(default_factory=UnsupportedAugCfg)
    AUTOAUG: AutoAugCfg = Field(default_factory=AutoAugCfg)
    RPT: UnsupportedAugCfg = Field(default_factory=UnsupportedAugCfg)
    CJ: ColorJitterCfg = Field(default_factory=ColorJitterCfg)
    AFFINE: AffineCfg = Field(default_factory=AffineCfg)


# ---------------------------------------------------------------- DATASETS / DATALOADER
DatasetName = Literal["Market1501", "DukeMTMC", "MSMT17", "Folder"]


class DatasetsCfg(Section):
    NAMES: list[DatasetName] = key(["Market1501"], "Training data sets.", min_length=1)
    TESTS: list[DatasetName] = key(["Market1501"], "Evaluation data sets (the first one drives model selection).", min_length=1)
    COMBINEALL: bool = unsupported(False, "Train on train+query+gallery.")
    ROOT: str = ours("datasets", "Folder that holds the data sets (fast-reid reads it from $FASTREID_DATASETS).")


class DataloaderCfg(Section):
    SAMPLER_TRAIN: Literal["TrainingSampler", "NaiveIdentitySampler", "BalancedIdentitySampler"] = key(
        "TrainingSampler", "TrainingSampler shuffles images; the identity samplers draw P identities x K instances."
    )
    NUM_INSTANCE: int = key(4, "K: instances of each identity in a batch (identity samplers).", ge=1)
    NUM_WORKERS: int = key(8, "Data-loader worker processes (0 loads in the main process).", ge=0)
    SET_WEIGHT: list[float] = unsupported([], "Per-data-set sampling weights.")
    CACHE_IMAGES: Literal["auto", "on", "off"] = ours(
        "auto", "Decode every image once and keep it in memory: auto does so when the data set fits in a quarter of free memory."
    )

    @field_validator("CACHE_IMAGES", mode="before")
    @classmethod
    def _yaml_on_off(cls, value: Any) -> Any:
        """YAML reads a bare on/off as a boolean; take it as meant."""
        return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value


# ---------------------------------------------------------------- SOLVER
class AmpCfg(Section):
    ENABLED: bool = key(False, "Mixed precision: fp16 autocast + GradScaler on CUDA, bf16 autocast on CPU.")


class EarlyStopCfg(Section):
    ENABLED: bool = ours(True, "Stop when the metric has not improved for PATIENCE evaluations.")
    PATIENCE: int = ours(10, "Evaluations without improvement before stopping.", ge=1)
    MIN_DELTA: float = ours(0.0, "Smallest increase of the metric that counts as improvement (a fraction, e.g. 0.001 = 0.1 mAP points).", ge=0.0)
    METRIC: Literal["mAP", "rank1", "mINP"] = ours("mAP", "Metric watched for early stopping and for best_model.pth.")


class SolverCfg(Section):
    OPT: Literal["Adam", "SGD", "AdamW"] = key("Adam", "Optimiser.")
    BASE_LR: float = key(3e-4, "Base learning rate.", ge=0.0)
    MAX_EPOCH: int = key(120, "Maximum number of epochs.", ge=1)
    IMS_PER_BATCH: int = key(64, "Images per training batch (global, over all processes).", ge=1)
    SCHED: Literal["MultiStepLR", "CosineAnnealingLR"] = key("MultiStepLR", "Learning-rate schedule, stepped once per epoch.")
    STEPS: list[int] = key([30, 55], "MultiStepLR milestones, in epochs.")
    GAMMA: float = key(0.1, "MultiStepLR decay factor.", gt=0.0)
    DELAY_EPOCHS: int = key(0, "Epochs at constant LR before the cosine decay starts.", ge=0)
    ETA_MIN_LR: float = key(1e-7, "Final learning rate of the cosine schedule.", ge=0.0)
    WARMUP_FACTOR: float = key(0.1, "Learning-rate multiplier at iteration 0, rising linearly to 1.", ge=0.0, le=1.0)
    WARMUP_ITERS: int = key(1000, "Iterations of linear warmup.", ge=0)
    WARMUP_METHOD: Literal["linear", "constant"] = key("linear", "Warmup shape.")
    MOMENTUM: float = key(0.9, "SGD momentum.", ge=0.0)
    NESTEROV: bool = key(False, "SGD Nesterov momentum.")
    WEIGHT_DECAY: float = key(5e-4, "Weight decay.", ge=0.0)
    WEIGHT_DECAY_NORM: float = key(5e-4, "Weight decay of normalisation layers.", ge=0.0)
    WEIGHT_DECAY_BIAS: float = key(5e-4, "Weight decay of biases.", ge=0.0)
    BIAS_LR_FACTOR: float = key(1.0, "LR multiplier of biases.", ge=0.0)
    HEADS_LR_FACTOR: float = key(1.0, "LR multiplier of the head (BNNeck and classifier).", ge=0.0)
    FREEZE_ITERS: int = key(0, "Iterations at the start with MODEL.FREEZE_LAYERS frozen: no update, BatchNorm statistics fixed.", ge=0)
    CHECKPOINT_PERIOD: int = key(20, "Epochs between numbered checkpoints (model_XXXX.pth); last_checkpoint.pth is written every epoch.", ge=1)
    AMP: AmpCfg = Field(default_factory=AmpCfg)
    EARLY_STOP: EarlyStopCfg = Field(default_factory=EarlyStopCfg)
    TIME_LIMIT_MINUTES: float = ours(0.0, "Wall-clock limit for the run in minutes; 0 means none. It keeps room for evaluating the last epoch at the stop when that epoch was not evaluated.", ge=0.0)


# ---------------------------------------------------------------- TEST
class FlipTestCfg(Section):
    ENABLED: bool = key(False, "Flip test: average each image's features with its mirror's.")


class RerankCfg(Section):
    ENABLED: bool = key(False, "k-reciprocal re-ranking (Zhong et al. 2017).")
    K1: int = key(20, "Re-ranking k1.", ge=1)
    K2: int = key(6, "Re-ranking k2.", ge=1)
    LAMBDA: float = key(0.3, "Weight of the original distance.", ge=0.0, le=1.0)


class AqeCfg(Section):
    ENABLED: bool = key(False, "Alpha query expansion (fast-reid's AQE): each query and gallery feature becomes the similarity^ALPHA-weighted mean of its QE_K nearest features.")
    QE_TIME: int = key(1, "Rounds of query expansion.", ge=1)
    QE_K: int = key(5, "Neighbours averaged, the feature itself included.", ge=1)
    ALPHA: float = key(3.0, "Exponent of the cosine-similarity weights.", ge=0.0)


class PreciseBNCfg(Section):
    ENABLED: bool = unsupported(False, "Precise BN statistics before evaluation.")
    DATASET: str = unsupported("Market1501", "Data set for precise BN.")
    NUM_ITER: int = unsupported(300, "Iterations for precise BN.")


class RocCfg(Section):
    ENABLED: bool = unsupported(False, "ROC evaluation.")


class TestCfg(Section):
    EVAL_PERIOD: int = key(20, "Epochs between evaluations (the last epoch is always evaluated).", ge=1)
    IMS_PER_BATCH: int = key(64, "Images per evaluation batch.", ge=1)
    METRIC: Literal["cosine", "euclidean"] = key("cosine", "Distance for retrieval.")
    FLIP: FlipTestCfg = Field(default_factory=FlipTestCfg)
    RERANK: RerankCfg = Field(default_factory=RerankCfg)
    AQE: AqeCfg = Field(default_factory=AqeCfg)
    PRECISE_BN: PreciseBNCfg = Field(default_factory=PreciseBNCfg)
    ROC: RocCfg = Field(default_factory=RocCfg)


# ---------------------------------------------------------------- root
class Config(Section):
    """The whole config tree; attribute access mirrors fast-reid's (cfg.SOLVER.BASE_LR)."""

    MODEL: ModelCfg = Field(default_factory=ModelCfg)
    INPUT: InputCfg = Field(default_factory=InputCfg)
    DATASETS: DatasetsCfg = Field(default_factory=DatasetsCfg)
    DATALOADER: DataloaderCfg = Field(default_factory=DataloaderCfg)
    SOLVER: SolverCfg = Field(default_factory=SolverCfg)
    TEST: TestCfg = Field(default_factory=TestCfg)
    OUTPUT_DIR: str = key("", "Run directory; empty means logs/<dataset>/<run-name>.")
    SEED: int = ours(0, "Random seed for Python, numpy, torch and the samplers.", ge=0)
    CUDNN_BENCHMARK: bool = key(False, "torch.backends.cudnn.benchmark.")
    _ignored_keys: list[str] = PrivateAttr(default_factory=list)  # fast-reid keys the load ignored (see config.fastreid_keys)
    _set_keys: frozenset[str] = PrivateAttr(default_factory=frozenset)  # keys a config file or an override set (the rest are defaults)

    def __eq__(self, other: object) -> bool:
        """Equal values of every key; how each config was loaded (the private notes above) does not count."""
        return isinstance(other, Config) and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # mutable, as every pydantic model


def config_value(cfg: Config, dotted: str) -> Any:
    """The value at a dotted key such as "SOLVER.BASE_LR"."""
    node: Any = cfg
    for part in dotted.split("."):
        node = getattr(node, part)
    return node
