"""reidlab's Baseline keys as fast-reid names them: the inverse of the loader's map, for models without non-local blocks."""


def fastreid_names(state: dict) -> dict:
    renamed = {}
    for key, tensor in state.items():
        if key.startswith("pixel_"):
            continue
        key = key.replace("head.bottleneck.", "heads.bottleneck.0.").replace("head.classifier.weight", "heads.weight").replace("head.pool.p", "heads.pool_layer.p")
        renamed[key] = tensor
    return renamed
