"""Decoding, corrupt-file skipping and the cache decision."""

from __future__ import annotations

import pytest
import torch

from reidlab.data import CorruptImageError, CorruptImagesSkipped, available_memory_bytes, decode_file, image_cache, load_image, should_cache
from reidlab.data.image_cache import decode_images


def test_decodes_jpeg_png_and_bmp_to_uint8_rgb(tmp_path, write_image):
    for suffix in (".jpg", ".png", ".bmp"):
        image = decode_file(write_image(tmp_path / f"a{suffix}", size=(20, 10)))
        assert image.shape == (3, 20, 10) and image.dtype == torch.uint8
    assert load_image(tmp_path / "a.png", (8, 4)).shape == (3, 8, 4)


@pytest.mark.parametrize("content", [b"", b"not an image at all", "truncated"])
def test_corrupt_files_raise(tmp_path, write_image, content):
    path = tmp_path / "bad.jpg"
    if content == "truncated":
        data = write_image(tmp_path / "good.jpg", size=(64, 32)).read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(content)
    with pytest.raises(CorruptImageError, match="bad.jpg"):
        decode_file(path)


def test_decode_images_skips_and_counts_corrupt(tmp_path, write_image):
    paths = [write_image(tmp_path / f"{i}.jpg", seed=i) for i in range(5)]
    paths[1].write_bytes(b"garbage")
    paths[3].write_bytes(b"")
    kept = decode_images(paths, (16, 8), keep_pixels=True)
    assert kept.kept == [0, 2, 4] and len(kept.corrupt) == 2
    assert kept.pixels.shape == (3, 3, 16, 8)
    assert torch.equal(kept.pixels[1], load_image(paths[2], (16, 8)))
    checked = decode_images(paths, (16, 8), keep_pixels=False)
    assert checked.kept == [0, 2, 4] and checked.pixels is None
    with pytest.warns(CorruptImagesSkipped, match=r"training images: skipped 2 corrupt image\(s\) of 5 \(first: .*1.jpg"):
        image_cache.warn_if_corrupt(kept, 5, "training images")


def test_cache_modes(monkeypatch):
    assert should_cache("on", 10**9, (256, 128))
    assert not should_cache("off", 1, (8, 8))
    monkeypatch.setattr(image_cache, "available_memory_bytes", lambda: 4 * 10**9)
    assert should_cache("auto", 10_000, (256, 128))  # ~1 GB <= a quarter of 4 GB
    assert not should_cache("auto", 20_000, (256, 128))  # ~2 GB > 1 GB
    monkeypatch.setattr(image_cache, "available_memory_bytes", lambda: None)
    assert should_cache("auto", 10_000, (256, 128))  # unknown memory: fits if < 2 GB
    assert not should_cache("auto", 30_000, (256, 128))


def test_available_memory_is_readable_here():
    value = available_memory_bytes()
    assert value is None or value > 0


def test_decoding_in_worker_processes_keeps_order_and_skips(tmp_path, write_image, monkeypatch):
    monkeypatch.setattr(image_cache, "CHUNK_SIZE", 3)
    monkeypatch.setattr(image_cache, "MIN_CHUNKS_FOR_WORKERS", 1)
    paths = [write_image(tmp_path / f"{i:02d}.jpg", seed=i) for i in range(10)]
    paths[4].write_bytes(b"broken")
    parallel = decode_images(paths, (16, 8), keep_pixels=True, num_workers=2)
    serial = decode_images(paths, (16, 8), keep_pixels=True, num_workers=0)
    assert parallel.kept == serial.kept == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    assert torch.equal(parallel.pixels, serial.pixels)
