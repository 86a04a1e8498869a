"""Train augmentation on uint8 batches: shapes, each step with PROB 1, nothing when disabled, reference equality."""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms.v2 import functional as F

from reidlab.data import TrainAugmentation, resize_image
from reidlab.data.transforms import flip_pad_crop


def batch(n=6, h=32, w=16, seed=0):
    return torch.randint(0, 256, (n, 3, h, w), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_everything_disabled_is_identity(make_config, tmp_path):
    aug = TrainAugmentation.from_config(make_config(tmp_path))  # ENABLED False for FLIP / PADDING / REA by default
    images = batch()
    out = aug(images, gen())
    assert torch.equal(out, images)


def test_from_config_reads_input_keys(make_config, tmp_path):
    cfg = make_config(
        tmp_path,
        **{"INPUT.FLIP.ENABLED": True, "INPUT.FLIP.PROB": 0.3, "INPUT.PADDING.ENABLED": True, "INPUT.PADDING.SIZE": 7,
           "INPUT.PADDING.MODE": "reflect", "INPUT.REA.ENABLED": True, "INPUT.REA.PROB": 0.4, "INPUT.REA.VALUE": [1.4, 2.6, 300.0]},
    )
    aug = TrainAugmentation.from_config(cfg)
    assert (aug.flip_prob, aug.padding, aug.padding_mode, aug.erase_prob, aug.erase_value) == (0.3, 7, "reflect", 0.4, (1, 3, 255))


def test_flip_with_prob_one_mirrors_every_image():
    images = batch()
    out = TrainAugmentation(flip_prob=1.0)(images, gen())
    assert torch.equal(out, images.flip(-1))


def test_shapes_dtype_and_input_untouched():
    images = batch(n=5, h=40, w=20)
    before = images.clone()
    out = TrainAugmentation(flip_prob=0.5, padding=10, erase_prob=1.0)(images, gen())
    assert out.shape == images.shape and out.dtype == torch.uint8
    assert torch.equal(images, before)


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_flip_pad_crop_matches_torchvision(mode):
    padding = 5
    flip = torch.tensor([False, True, False, True, True])
    offsets = torch.tensor([[0, 0], [10, 10], [3, 7], [9, 1], [0, 10]])
    images = batch(n=5, h=24, w=12)
    out = flip_pad_crop(images, flip, offsets, padding, mode)
    for b in range(5):
        image = F.horizontal_flip(images[b]) if flip[b] else images[b]
        padded = F.pad(image, [padding] * 4, fill=0, padding_mode=mode)
        top, left = offsets[b].tolist()
        assert torch.equal(out[b], padded[:, top : top + 24, left : left + 12]), (mode, b)


def test_padding_larger_than_the_image_is_refused_for_mirroring_modes():
    with pytest.raises(ValueError, match=r"INPUT.PADDING.SIZE 16 is too large for reflect padding of 32x16"):
        flip_pad_crop(batch(), torch.zeros(6, dtype=torch.bool), torch.zeros(6, 2, dtype=torch.int64), 16, "reflect")


def test_padding_actually_shifts_images():
    images = batch()
    out = TrainAugmentation(padding=10)(images, gen())
    assert not torch.equal(out, images)
    assert (out == 0).any()  # constant padding shows zero borders somewhere


def test_erasing_with_prob_one_paints_value_rectangles():
    images = torch.full((8, 3, 64, 32), 7, dtype=torch.uint8)
    out = TrainAugmentation(erase_prob=1.0, erase_value=(200, 100, 50))(images, gen())
    for b in range(8):
        erased = (out[b, 0] == 200) & (out[b, 1] == 100) & (out[b, 2] == 50)
        area = int(erased.sum())
        assert 0.01 * 64 * 32 <= area <= 0.4 * 64 * 32
        rows, cols = erased.any(1).nonzero(), erased.any(0).nonzero()
        assert area == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)  # one rectangle
        assert torch.equal(out[b][:, ~erased], images[b][:, ~erased])


def test_same_generator_seed_same_result_and_steps_use_independent_draws():
    images = batch(n=16)
    full = TrainAugmentation(flip_prob=0.5, padding=4, erase_prob=0.5)
    assert torch.equal(full(images, gen(3)), full(images, gen(3)))
    assert not torch.equal(full(images, gen(3)), full(images, gen(4)))
    # switching erasing off leaves flip + crop exactly as they were
    geometric = TrainAugmentation(flip_prob=0.5, padding=4)(images, gen(3))
    erased = full(images, gen(3))
    assert ((erased == geometric).all(1).float().mean()) > 0.7


def test_resize_image():
    image = batch(n=1, h=50, w=30)[0]
    assert resize_image(image, (64, 32)).shape == (3, 64, 32)
    assert resize_image(image, (50, 30)) is image


def test_from_config_reads_autoaug_and_colour_jitter_keys(make_config, tmp_path):
    cfg = make_config(
        tmp_path,
        **{"INPUT.AUTOAUG.ENABLED": True, "INPUT.AUTOAUG.PROB": 0.1, "INPUT.CJ.ENABLED": True, "INPUT.CJ.PROB": 0.7,
           "INPUT.CJ.BRIGHTNESS": 0.2, "INPUT.CJ.CONTRAST": 0.3, "INPUT.CJ.SATURATION": 0.4, "INPUT.CJ.HUE": 0.05},
    )
    aug = TrainAugmentation.from_config(cfg)
    assert (aug.autoaug_prob, aug.jitter_prob, aug.jitter) == (0.1, 0.7, (0.2, 0.3, 0.4, 0.05))
    assert TrainAugmentation.from_config(make_config(tmp_path, **{"INPUT.AUTOAUG.PROB": 1.0})).autoaug_prob == 0.0  # not ENABLED


@pytest.mark.parametrize("kind", ["autoaug_prob", "jitter_prob"])
def test_autoaug_and_jitter_are_deterministic_given_the_generator(kind):
    images = batch(n=12, h=64, w=32)
    before = images.clone()
    aug = TrainAugmentation(**{kind: 1.0}, flip_prob=0.5, erase_prob=0.5)
    global_state = torch.random.get_rng_state()
    first = aug(images, gen(5))
    assert torch.equal(torch.random.get_rng_state(), global_state)  # the global RNG is left as it was
    torch.manual_seed(12345)  # ... and does not decide anything
    assert torch.equal(aug(images, gen(5)), first)
    assert not torch.equal(aug(images, gen(6)), first)
    assert torch.equal(images, before)
    assert first.shape == images.shape and first.dtype == torch.uint8


def test_jitter_changes_only_the_chosen_images():
    images = batch(n=32, h=32, w=16)
    out = TrainAugmentation(jitter_prob=0.5, jitter=(0.5, 0.5, 0.5, 0.2))(images, gen(1))
    changed = [not torch.equal(out[b], images[b]) for b in range(32)]
    assert 5 < sum(changed) < 27


def test_autoaug_changes_images_with_prob_one_and_none_with_prob_zero():
    images = batch(n=16, h=64, w=32)
    changed = TrainAugmentation(autoaug_prob=1.0)(images, gen(2)).ne(images).flatten(1).any(1)
    assert changed.sum() >= 8  # some policies (e.g. equalize at low probability) may leave an image as it was
    assert torch.equal(TrainAugmentation(autoaug_prob=0.0)(images, gen(2)), images)


def test_new_steps_leave_the_other_steps_draws_unchanged():
    images = torch.full((16, 3, 32, 16), 100, dtype=torch.uint8)
    images[:, :, :, :8] = 10  # left half dark: flips and shifts are visible, jitter keeps the two halves apart
    base = TrainAugmentation(flip_prob=0.5, padding=4)(images, gen(7))
    jittered = TrainAugmentation(flip_prob=0.5, padding=4, jitter_prob=1.0, jitter=(0.1, 0.0, 0.0, 0.0))(images, gen(7))
    assert torch.equal(jittered < 55, base < 55)  # same flips and crops, only the brightness differs
