"""Draw one synthetic pedestrian crop with numpy: person, background, camera effects.

Cameras differ in colour cast, brightness, contrast, sharpness, noise and scene; each visit of
a person to a camera fixes a position, scale and view (front/back, mirrored) that its images
jitter around; single images get occlusions, lighting changes and sensor noise.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from PIL import Image

from reidlab.data.synthetic.appearance import RGB, Appearance


@dataclass(frozen=True)
class CameraStyle:
    """How one camera sees the world."""

    gain: tuple[float, float, float]
    brightness: float
    contrast: float
    noise: float
    sharpness: float  # fraction of the resolution kept (blur by down-and-up sampling)
    wall: RGB
    floor: RGB
    horizon: float


@dataclass(frozen=True)
class Visit:
    """One pass of a person through a camera's view, shared by the images taken then."""

    scale: float
    centre: float
    top: float
    back_view: bool
    mirrored: bool
    light: float
    stride: float


def random_camera(rng: np.random.Generator) -> CameraStyle:
    """A random camera."""
    gain = rng.uniform(0.75, 1.25, size=3)
    gain = gain / gain.mean()
    return CameraStyle(
        gain=tuple(float(g) for g in gain),  # type: ignore[arg-type]
        brightness=float(rng.uniform(0.7, 1.2)),
        contrast=float(rng.uniform(0.75, 1.1)),
        noise=float(rng.uniform(2.0, 8.0)),
        sharpness=float(rng.uniform(0.45, 1.0)),
        wall=tuple(int(v) for v in rng.integers(60, 200, size=3)),  # type: ignore[arg-type]
        floor=tuple(int(v) for v in rng.integers(50, 170, size=3)),  # type: ignore[arg-type]
        horizon=float(rng.uniform(0.45, 0.75)),
    )


def random_visit(rng: np.random.Generator) -> Visit:
    """A random pass through a camera."""
    return Visit(
        scale=float(rng.uniform(0.74, 0.92)),
        centre=float(rng.uniform(0.42, 0.58)),
        top=float(rng.uniform(0.02, 0.08)),
        back_view=bool(rng.random() < 0.5),
        mirrored=bool(rng.random() < 0.5),
        light=float(rng.uniform(-1.0, 1.0)),
        stride=float(rng.uniform(-1.0, 1.0)),
    )


@functools.lru_cache(maxsize=8)
def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    yy.flags.writeable = xx.flags.writeable = False
    return yy, xx


class _Canvas:
    """A person layer: colours and coverage, painted shape by shape (rectangles as slices, for speed)."""

    def __init__(self, height: int, width: int) -> None:
        self.height, self.width = height, width
        self.yy, self.xx = _grid(height, width)
        self.rgb = np.zeros((height, width, 3), np.float32)
        self.mask = np.zeros((height, width), bool)

    def _box(self, y0: float, y1: float, x0: float, x1: float) -> tuple[slice, slice]:
        ys = slice(min(max(int(round(y0)), 0), self.height), min(max(int(round(y1)), 0), self.height))
        xs = slice(min(max(int(round(x0)), 0), self.width), min(max(int(round(x1)), 0), self.width))
        return ys, xs

    def rect(self, y0: float, y1: float, x0: float, x1: float, colour: RGB) -> None:
        box = self._box(y0, y1, x0, x1)
        self.rgb[box] = colour
        self.mask[box] = True

    def shape(self, y0: float, y1: float, x0: float, x1: float, inside: np.ndarray | None, colour: RGB) -> None:
        """Paint where `inside` (a full-canvas boolean) holds within the box."""
        box = self._box(y0, y1, x0, x1)
        if inside is None:
            return self.rect(y0, y1, x0, x1, colour)
        local = inside[box]
        self.rgb[box][local] = colour
        self.mask[box] |= local

    def ellipse(self, cy: float, cx: float, ry: float, rx: float, colour: RGB, above: float | None = None) -> None:
        """A filled ellipse, optionally only the part above row `above`."""
        box = self._box(cy - ry, cy + ry + 1, cx - rx, cx + rx + 1)
        yy, xx = self.yy[box], self.xx[box]
        local = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
        if above is not None:
            local &= yy < above
        self.rgb[box][local] = colour
        self.mask[box] |= local


def _draw_person(canvas: _Canvas, look: Appearance, visit: Visit, rng: np.random.Generator, height: int, width: int, zoom: float = 1.0) -> None:
    ph = height * visit.scale * look.stature * rng.uniform(0.97, 1.03) * zoom
    top = height * visit.top + rng.uniform(-2, 2) - (zoom - 1.0) * height * rng.uniform(0.0, 0.6)
    cx = width * visit.centre + rng.uniform(-2, 2)
    sw = 0.12 * ph * look.build  # half shoulder width
    arm = 0.055 * ph
    torso_top, waist, knee, ankle = top + 0.14 * ph, top + 0.52 * ph, top + 0.68 * ph, top + 0.93 * ph
    head_cy, head_ry, head_rx = top + 0.075 * ph, 0.07 * ph, 0.055 * ph
    stride = visit.stride * 0.04 * ph + rng.uniform(-1, 1)
    swing = rng.uniform(-0.02, 0.02) * ph

    if look.long_hair and not visit.back_view:
        canvas.rect(head_cy, top + 0.25 * ph, cx - head_rx * 1.15, cx + head_rx * 1.15, look.hair)
    # legs, with shoes; shorts show skin below the knee
    leg_w = 0.8 * sw
    for side, shift in ((-1, stride), (1, -stride)):
        x0 = cx + side * 0.06 * sw - (leg_w if side < 0 else 0) + shift
        canvas.rect(waist, ankle, x0, x0 + leg_w, look.bottom)
        if look.shorts:
            canvas.rect(knee, ankle, x0, x0 + leg_w, look.skin)
        canvas.rect(ankle, top + ph, x0 - 1, x0 + leg_w + 1, look.shoes)
    # arms (sleeves), hands
    for side in (-1, 1):
        x0 = (cx - sw - arm if side < 0 else cx + sw) + side * swing
        canvas.rect(torso_top + 0.01 * ph, top + 0.5 * ph, x0, x0 + arm, look.top)
        if not look.long_sleeves:
            canvas.rect(top + 0.28 * ph, top + 0.5 * ph, x0, x0 + arm, look.skin)
        canvas.rect(top + 0.5 * ph, top + 0.55 * ph, x0, x0 + arm, look.skin)
    # torso with its pattern
    torso = (torso_top, waist + 0.02 * ph, cx - sw, cx + sw)
    canvas.rect(*torso, look.top)
    period = max(2.0, look.stripe_period * ph / 110.0)
    if look.top_pattern != "plain":
        rows = ((canvas.yy - torso_top) // period) % 2 == 1
        cols = ((canvas.xx - (cx - sw)) // period) % 2 == 1
        pattern = {"horizontal_stripes": rows, "vertical_stripes": cols, "checks": rows ^ cols}[look.top_pattern]
        canvas.shape(*torso, pattern, look.pattern_colour)
    # neck, head, hair
    canvas.rect(head_cy + 0.5 * head_ry, torso_top + 1, cx - 0.35 * head_rx, cx + 0.35 * head_rx, look.skin)
    canvas.ellipse(head_cy, cx, head_ry, head_rx, look.hair if visit.back_view else look.skin)
    canvas.ellipse(head_cy - 0.15 * head_ry, cx, head_ry * 0.95, head_rx * 1.08, look.hair, above=head_cy - 0.2 * head_ry)
    if look.long_hair and visit.back_view:
        canvas.rect(head_cy, top + 0.27 * ph, cx - head_rx * 1.1, cx + head_rx * 1.1, look.hair)
    _draw_bag(canvas, look, visit, ph, top, cx, sw, arm, torso_top)


def _draw_bag(canvas: _Canvas, look: Appearance, visit: Visit, ph: float, top: float, cx: float, sw: float, arm: float, torso_top: float) -> None:
    if look.bag == "backpack":
        if visit.back_view:
            canvas.rect(torso_top + 0.02 * ph, top + 0.42 * ph, cx - 0.8 * sw, cx + 0.8 * sw, look.bag_colour)
        else:
            for x in (cx - 0.6 * sw, cx + 0.6 * sw - 2):
                canvas.rect(torso_top, top + 0.36 * ph, x, x + 2, look.bag_colour)
    elif look.bag == "shoulder_bag":
        y0, y1 = torso_top, top + 0.46 * ph
        line_x = (cx - sw) + (canvas.yy - y0) / (y1 - y0) * 2 * sw
        canvas.shape(y0, y1, cx - sw - 2, cx + sw + 2, np.abs(canvas.xx - line_x) < 1.2, look.bag_colour)
        canvas.rect(top + 0.44 * ph, top + 0.58 * ph, cx + sw - 0.02 * ph, cx + sw + 0.09 * ph, look.bag_colour)
    elif look.bag == "handbag":
        x1 = cx - sw - arm + 0.01 * ph
        canvas.rect(top + 0.5 * ph, top + 0.63 * ph, x1 - 0.1 * ph, x1, look.bag_colour)


def _background(camera: CameraStyle, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    horizon = int(height * camera.horizon + rng.uniform(-3, 3))
    image = np.empty((height, width, 3), np.float32)
    image[:horizon] = camera.wall
    image[horizon:] = camera.floor
    coarse = rng.normal(0.0, 12.0, size=(4, 2, 3)).astype(np.float32)  # large blotches of shade
    image += coarse.repeat(-(-height // 4), axis=0).repeat(-(-width // 2), axis=1)[:height, :width]
    for _ in range(int(rng.integers(0, 3))):  # scene clutter: signs, doors, bins
        y0, x0 = rng.integers(0, height - 8), rng.integers(0, width - 6)
        image[y0 : y0 + rng.integers(6, 40), x0 : x0 + rng.integers(4, 20)] = rng.integers(20, 235, size=3)
    return image


def _occlude(image: np.ndarray, rng: np.random.Generator) -> None:
    height, width = image.shape[:2]
    colour = rng.integers(20, 235, size=3).astype(np.float32)
    texture = rng.normal(0.0, 10.0, size=(1, 1, 3)).astype(np.float32)
    if rng.random() < 0.6:  # something in front: a car, a railing, a bin
        h = int(height * rng.uniform(0.15, 0.35))
        x0 = int(rng.integers(0, width // 2)) if rng.random() < 0.5 else 0
        image[height - h :, x0:] = colour + texture
    else:  # someone or something at the side
        w = int(width * rng.uniform(0.2, 0.4))
        if rng.random() < 0.5:
            image[:, :w] = colour + texture
        else:
            image[:, width - w :] = colour + texture


def _through_camera(image: np.ndarray, camera: CameraStyle, rng: np.random.Generator) -> np.ndarray:
    height, width = image.shape[:2]
    scale = np.asarray(camera.gain, np.float32) * np.float32(camera.brightness * rng.uniform(0.85, 1.15))
    image = image * scale
    mean = np.float32(image.mean())
    image *= np.float32(camera.contrast)  # contrast about the mean: (x - m) c + m
    image += mean * np.float32(1.0 - camera.contrast)
    image = np.clip(image, 0, 255).astype(np.uint8)
    if camera.sharpness < 0.95:
        small = (max(8, int(width * camera.sharpness)), max(16, int(height * camera.sharpness)))
        image = np.asarray(Image.fromarray(image).resize(small, Image.BILINEAR).resize((width, height), Image.BILINEAR))
    noisy = image.astype(np.float32) + camera.noise * rng.standard_normal(size=image.shape, dtype=np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def render_image(
    look: Appearance, camera: CameraStyle, visit: Visit, rng: np.random.Generator, height: int, width: int, junk: bool = False
) -> np.ndarray:
    """One uint8 (height, width, 3) crop of `look` seen by `camera` during `visit`.

    junk=True gives a bad detection: a zoomed-in fragment of the person, or only background.
    """
    canvas = _Canvas(height, width)
    if not junk or rng.random() < 0.7:
        _draw_person(canvas, look, visit, rng, height, width, zoom=float(rng.uniform(1.6, 2.4)) if junk else 1.0)
    person = canvas.rgb * (1.0 + 0.12 * visit.light * (canvas.xx[..., None] - width / 2) / width)
    if visit.mirrored:
        person, mask = person[:, ::-1], canvas.mask[:, ::-1]
    else:
        mask = canvas.mask
    image = _background(camera, rng, height, width)
    image = np.where(mask[..., None], person, image)
    if rng.random() < 0.2:
        _occlude(image, rng)
    return _through_camera(image, camera, rng)
