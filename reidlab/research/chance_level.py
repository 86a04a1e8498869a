"""Cross-entropy at chance level: ln(#ids), the floor label smoothing allows, and the band that counts as chance.

Shared by the detectors that read a CE curve (`ce_at_chance`, and `weights_not_updating` on a
fast-reid iteration curve), so both call the same numbers "chance".
"""

from __future__ import annotations

import math

CHANCE_BAND = 0.1  # CE within 10 % of the way from chance down to its floor counts as chance
ABOVE_CHANCE = 1.25  # CE far above ln(C) is confident and wrong: divergence's case, not chance
LEARNING_ACCURACY = 2.0  # batch accuracy above twice chance: the classifier is learning after all


def smoothed_ce_floor(classes: int, epsilon: float) -> float:
    """The lowest CE reachable with fast-reid's label smoothing: the entropy of the smoothed target."""
    if epsilon <= 0:
        return 0.0
    return -(1 - epsilon) * math.log(1 - epsilon) - epsilon * math.log(epsilon / (classes - 1))


def is_chance_ce(ce: float, classes: int, epsilon: float) -> bool:
    """CE (without its loss weight) between just under ln(classes) and well above it."""
    chance = math.log(classes)
    threshold = chance - CHANCE_BAND * (chance - smoothed_ce_floor(classes, epsilon))
    return threshold <= ce <= ABOVE_CHANCE * chance


def is_learning_accuracy(accuracy: float, classes: int) -> bool:
    """Training-batch accuracy clearly above guessing (1 / classes)."""
    return accuracy > LEARNING_ACCURACY / classes
