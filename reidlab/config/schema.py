"""The config tree: fast-reid's key names and defaults, plus reidlab's own keys.

Every key is a pydantic field, so types are checked and each key carries its
documentation (the configuration reference is generated from this file).
Keys that fast-reid has but reidlab does not implement yet are declared with
``unsupported()``: they load at their default value, and any other value is a
clear "not supported yet" error instead of being silently ignored.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

IMAGENET_MEAN_255 = [0.485 * 255, 0.456 * 255, 0.406 * 255]
IMAGENET_STD_255 = [0.229 * 255, 0.224 * 255, 0.225 * 255]


def key(default: Any, doc: str, **kwargs: Any) -> Any:
    """A supported config key with its default and one-line meaning."""
    return Field(default, description=doc, **kwargs)


def unsupported(default: Any, doc: str) -> Any:
    """A fast-reid key that reidlab accepts only at its default value."""
    return Field(default, description=doc, json_schema_extra={"unsupported": True})


def ours(default: Any, doc: str, **kwargs: Any) -> Any:
    """A reidlab key that fast-reid does not have."""
    return Field(default, description=doc, json_schema_extra={"reidlab": True}, **kwargs)


class Section(BaseModel):
    """A config section: unknown keys and wrong types are errors; values can be reassigned."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# ---------------------------------------------------------------- MODEL
class BackboneCfg(Section):
    NAME: Literal["build_resnet_backbone", "build_resnest_backbone", "build_timm_backbone"] = key(
        "build_resnet_backbone",
        "Backbone builder: torchvision ResNet, ResNeSt (needs timm) or any timm CNN named by TIMM_MODEL (needs timm).",
    )
    DEPTH: Literal["18x", "34x", "50x", "101x", "200x", "269x"] = key(
        "50x", "Depth: 18x/34x/50x/101x for ResNet, 50x/101x/200x/269x for ResNeSt; unused by build_timm_backbone."
    )
    LAST_STRIDE: Literal[1, 2] = key(1, "Stride of the last stage; 1 doubles the final feature map (the ReID default; timm backbones dilate instead).")
    NORM: Literal["BN", "syncBN"] = key("BN", "Backbone normalisation: BN, or syncBN (statistics over the whole batch of all torchrun processes; CUDA only).")
    FEAT_DIM: int = key(2048, "Backbone output width; derived from the backbone (512 for ResNet 18x/34x, 2048 for the others), a differing value is a warning.", gt=0)
    WITH_IBN: bool = key(False, "IBN-a ResNet: InstanceNorm on half the channels of each block's bn1 in stages 1-3 (IBN-Net); PRETRAIN then loads IBN-Net's release weights.")
    WITH_SE: bool = unsupported(False, "Squeeze-and-excitation blocks.")
    WITH_NL: bool = key(False, "Non-local blocks after the last blocks of stages 2 and 3 (fast-reid's layout: 2+3 for 50x, 2+9 for 101x; reidlab adds 2+3 for 34x and 1+1 for 18x, where fast-reid adds none).")
    PRETRAIN: bool = key(True, "Start from ImageNet weights (torchvision's, IBN-Net's with WITH_IBN, timm's for timm backbones; downloaded once), or PRETRAIN_PATH.")
    PRETRAIN_PATH: str = key("", "Local file with ImageNet weights for the backbone (a state dict with the keys of the downloaded file).")
    TIMM_MODEL: str = ours("", "The timm model for NAME build_timm_backbone, e.g. resnest50d or convnext_tiny (a CNN: its features must be a 2-D map).")


# The depths each ResNet-family builder has (build_timm_backbone takes TIMM_MODEL instead).
BACKBONE_DEPTHS: dict[str, tuple[str, ...]] = {
    "build_resnet_backbone": ("18x", "34x", "50x", "101x"),
    "build_resnest_backbone": ("50x", "101x", "200x", "269x"),
}


def backbone_problem(backbone: BackboneCfg) -> tuple[str, str] | None:
    """(key, what is wrong with its value) when the MODEL.BACKBONE keys do not fit together, else None."""
    depths = BACKBONE_DEPTHS.get(backbone.NAME)
    if depths and backbone.DEPTH not in depths:
        return "MODEL.BACKBONE.DEPTH", f"{backbone.DEPTH} is not a depth of {backbone.NAME}; choose one of {', '.join(depths)}"
    if backbone.NAME != "build_resnet_backbone":
        for flag in ("WITH_IBN", "WITH_NL"):
            if getattr(backbone, flag):
                return f"MODEL.BACKBONE.{flag}", f"True needs NAME build_resnet_backbone; {backbone.NAME} has no such blocks"
    if backbone.NAME == "build_timm_backbone" and not backbone.TIMM_MODEL:
        return "MODEL.BACKBONE.TIMM_MODEL", "is empty; NAME build_timm_backbone needs a timm model name, e.g. resnest50d"
    return None


class HeadsCfg(Section):
    NAME: Literal["EmbeddingHead"] = key("EmbeddingHead", "Head type.")
    NORM: Literal["BN", "syncBN"] = key("BN", "Head normalisation (the BNNeck): BN, or syncBN (as MODEL.BACKBONE.NORM).")
    NUM_CLASSES: int = key(0, "Classifier outputs; 0 means the number of training identities.", ge=0)
    EMBEDDING_DIM: int = unsupported(0, "Extra embedding layer width (0 = none).")
    WITH_BNNECK: bool = key(False, "BNNeck: a BatchNorm between the pooled feature and the classifier.")
    NECK_FEAT: Literal["before", "after"] = key("before", "Triplet feature in training: before or after the BNNeck (retrieval always uses the BNNeck output, as fast-reid).")
    POOL_LAYER: Literal["GlobalAvgPool", "GeneralizedMeanPooling", "GeneralizedMeanPoolingP"] = key(
        "GlobalAvgPool", "Pooling: global average or GeM (fixed p=3, or learnable with the P suffix)."
    )
    CLS_LAYER: Literal["Linear", "ArcSoftmax", "CircleSoftmax", "CosSoftmax"] = key(
        "Linear", "Classifier: Linear, or on cosine logits ArcSoftmax (ArcFace), CircleSoftmax (Circle loss) or CosSoftmax (CosFace)."
    )
    SCALE: float = key(1.0, "Logit scale s of the cosine classifiers (fast-reid's SBS uses 64); Linear ignores it.", gt=0.0)
    MARGIN: float = key(0.0, "Margin m of the cosine classifiers (fast-reid's SBS uses 0.35 with CircleSoftmax); Linear ignores it.", ge=0.0)


class CECfg(Section):
    EPSILON: float = key(0.0, "Label smoothing for cross-entropy.", ge=0.0, lt=1.0)
    ALPHA: float = unsupported(0.2, "Adaptive label smoothing (fast-reid's EPSILON < 0 mode).")
    SCALE: float = key(1.0, "Weight of the cross-entropy term in the total loss.", ge=0.0)


class TriCfg(Section):
    MARGIN: float = key(0.3, "Triplet margin; 0 means soft margin, softplus(d_ap - d_an), as fast-reid.", ge=0.0)
    HARD_MINING: bool = key(False, "Batch-hard mining; otherwise softmax-weighted mining over all positives and negatives (fast-reid's weighted triplet).")
    NORM_FEAT: bool = key(False, "Cosine distance (1 - cos of L2-normalised features) instead of euclidean for the triplet.")
    SCALE: float = key(1.0, "Weight of the triplet term in the total loss.", ge=0.0)


class LossesCfg(Section):
    NAME: list[Literal["CrossEntropyLoss", "TripletLoss"]] = key(
        ["CrossEntropyLoss"], "Loss terms to use (CrossEntropyLoss, TripletLoss).", min_length=1
    )
    CE: CECfg = Field(default_factory=CECfg)
    TRI: TriCfg = Field(default_factory=TriCfg)


class ModelCfg(Section):
    META_ARCHITECTURE: Literal["Baseline"] = key("Baseline", "Model type.")
    FREEZE_LAYERS: list[Literal["backbone", "heads", "head"]] = key(
        [], "Parts frozen for the first SOLVER.FREEZE_ITERS iterations: backbone and/or heads (fast-reid's name; head also accepted)."
    )
    BACKBONE: BackboneCfg = Field(default_factory=BackboneCfg)
    HEADS: HeadsCfg = Field(default_factory=HeadsCfg)
    LOSSES: LossesCfg = Field(default_factory=LossesCfg)
    WEIGHTS: str = key("", "Weights to start from (a reidlab .pth); empty for none.")
    DEVICE: str = key("auto", "Device: auto (cuda when available, else cpu), cpu, cuda or cuda:N.", pattern=r"^(auto|cpu|cuda(:\d+)?)$")
    PIXEL_MEAN: list[float] = key(IMAGENET_MEAN_255, "Per-channel mean on the 0-255 scale.", min_length=3, max_length=3)
    PIXEL_STD: list[float] = key(IMAGENET_STD_255, "Per-channel std on the 0-255 scale.", min_length=3, max_length=3)


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
    TIME_LIMIT_MINUTES: float = ours(0.0, "Wall-clock limit for the run in minutes; 0 means none.", ge=0.0)


# ---------------------------------------------------------------- TEST
class FlipTestCfg(Section):
    ENABLED: bool = key(False, "Flip test: average each image's features with its mirror's.")


class RerankCfg(Section):
    ENABLED: bool = key(False, "k-reciprocal re-ranking (Zhong et al. 2017).")
    K1: int = key(20, "Re-ranking k1.", ge=1)
    K2: int = key(6, "Re-ranking k2.", ge=1)
    LAMBDA: float = key(0.3, "Weight of the original distance.", ge=0.0, le=1.0)


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
