"""What a synthetic person looks like: one Appearance per identity, drawn from a seeded RNG.

Identities differ by combinations (top colour and pattern, bottom colour, shorts, sleeves,
hair, bag, build), each colour jittered a little, so no single attribute separates them and
two identities can share most of a look: learnable, but not trivially.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RGB = tuple[int, int, int]

CLOTHING_COLOURS: dict[str, RGB] = {
    "black": (30, 30, 32),
    "white": (225, 225, 220),
    "grey": (128, 128, 128),
    "navy": (30, 40, 90),
    "blue": (40, 90, 190),
    "light_blue": (130, 170, 220),
    "red": (190, 35, 40),
    "maroon": (110, 25, 35),
    "green": (40, 130, 60),
    "olive": (110, 110, 50),
    "yellow": (225, 200, 50),
    "orange": (230, 120, 30),
    "pink": (230, 140, 170),
    "purple": (110, 50, 140),
    "brown": (110, 70, 40),
    "beige": (200, 180, 140),
}
SKIN_TONES: list[RGB] = [(240, 200, 170), (220, 170, 130), (180, 130, 90), (130, 90, 60), (90, 60, 40)]
HAIR_COLOURS: list[RGB] = [(20, 15, 10), (70, 45, 25), (140, 100, 50), (200, 170, 110), (150, 150, 150)]
PATTERNS = ("plain", "horizontal_stripes", "vertical_stripes", "checks")
BAGS = ("none", "backpack", "shoulder_bag", "handbag")


@dataclass(frozen=True)
class Appearance:
    """The fixed look of one identity."""

    skin: RGB
    hair: RGB
    long_hair: bool
    top: RGB
    top_pattern: str
    pattern_colour: RGB
    stripe_period: int
    long_sleeves: bool
    bottom: RGB
    shorts: bool
    shoes: RGB
    bag: str
    bag_colour: RGB
    build: float  # shoulder width factor
    stature: float  # height factor

    def key(self) -> tuple:
        """The coarse look, used to keep identities distinct."""
        return (self.top, self.top_pattern, self.bottom, self.shorts, self.bag, self.long_hair)


def _jitter(colour: RGB, rng: np.random.Generator, amount: int = 18) -> RGB:
    shifted = np.clip(np.asarray(colour) + rng.integers(-amount, amount + 1, size=3), 0, 255)
    return tuple(int(v) for v in shifted)  # type: ignore[return-value]


def random_appearance(rng: np.random.Generator) -> Appearance:
    """One random look."""
    names = list(CLOTHING_COLOURS)
    top_name, pattern_name, bottom_name, bag_name = rng.choice(names, size=4)
    return Appearance(
        skin=SKIN_TONES[rng.integers(len(SKIN_TONES))],
        hair=HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))],
        long_hair=bool(rng.random() < 0.35),
        top=_jitter(CLOTHING_COLOURS[top_name], rng),
        top_pattern=str(PATTERNS[rng.integers(len(PATTERNS))]),
        pattern_colour=_jitter(CLOTHING_COLOURS[pattern_name], rng),
        stripe_period=int(rng.integers(3, 8)),
        long_sleeves=bool(rng.random() < 0.6),
        bottom=_jitter(CLOTHING_COLOURS[bottom_name], rng),
        shorts=bool(rng.random() < 0.25),
        shoes=_jitter((40, 35, 30) if rng.random() < 0.6 else (220, 220, 215), rng, 25),
        bag=str(BAGS[rng.integers(len(BAGS))]),
        bag_colour=_jitter(CLOTHING_COLOURS[bag_name], rng),
        build=float(rng.uniform(0.85, 1.15)),
        stature=float(rng.uniform(0.92, 1.04)),
    )


def distinct_appearances(count: int, rng: np.random.Generator) -> list[Appearance]:
    """`count` looks whose coarse keys all differ (as long as the combinations allow)."""
    looks: list[Appearance] = []
    seen: set[tuple] = set()
    attempts = 0
    while len(looks) < count:
        look = random_appearance(rng)
        attempts += 1
        if look.key() in seen and attempts < count * 50:
            continue
        seen.add(look.key())
        looks.append(look)
    return looks
