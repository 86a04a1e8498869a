"""ReIDModel: loading a run, every input type, test-time preprocessing, bad input, parity with evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from reidlab.data import build_test_data, decode_file, resize_image
from reidlab.deploy import DeployError, ReIDModel
from reidlab.engine.amp import AmpSettings
from reidlab.engine.inference import model_features


def test_from_run_loads_best_model_in_eval_mode(trained_run, model):
    assert model.source == trained_run / "best_model.pth"
    assert not model.training and not model.network.training
    assert model.input_size == (64, 32) and model.flip_test and model.embedding_dim == 512
    same = ReIDModel.from_run(trained_run / "best_model.pth")
    assert same.fingerprint == model.fingerprint


def test_a_missing_run_is_a_clear_error(tmp_path, trained_run):
    with pytest.raises(DeployError, match="run directory not found"):
        ReIDModel.from_run(tmp_path / "no_such_run")
    with pytest.raises(DeployError, match="no best_model.pth"):
        ReIDModel.from_run(tmp_path)
    not_a_checkpoint = tmp_path / "model.pth"
    not_a_checkpoint.write_bytes(b"junk")
    with pytest.raises(DeployError, match="model.pth"):
        ReIDModel.from_run(not_a_checkpoint)


def test_embed_takes_paths_pil_numpy_and_tensors_alike(model, query_images):
    path = query_images[0]
    pixels = decode_file(path)  # uint8 (3, H, W)
    hwc = pixels.permute(1, 2, 0).numpy()
    inputs = [str(path), path, Image.fromarray(hwc), hwc, pixels, pixels.float(), hwc.astype(np.float32)]
    vectors = model.embed(inputs)
    assert vectors.shape == (len(inputs), 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors, np.repeat(vectors[:1], len(inputs), axis=0), atol=1e-5)
    batch = torch.stack([decode_file(p) for p in query_images[:3]])
    np.testing.assert_allclose(model.embed(batch), model.embed(query_images[:3]), atol=1e-6)
    np.testing.assert_allclose(model.embed(path), vectors[:1], atol=1e-6)


def test_embed_batches_by_batch_size(model, query_images):
    small_batches = ReIDModel(model.network, model.cfg, batch_size=3)
    one_batch = ReIDModel(model.network, model.cfg, batch_size=64)
    np.testing.assert_allclose(small_batches.embed(query_images), one_batch.embed(query_images), atol=1e-5)


def test_flip_test_averages_with_the_mirror_image(model, query_images):
    batch = torch.stack([resize_image(decode_file(p), model.input_size) for p in query_images[:2]])
    with torch.no_grad():
        expected = torch.nn.functional.normalize(model.network(batch) + model.network(batch.flip(3)), dim=1)
    np.testing.assert_allclose(model.embed(batch), expected.numpy(), atol=1e-5)


def test_an_image_of_the_wrong_size_is_resized_as_in_training(model, query_images):
    pixels = decode_file(query_images[0])
    assert tuple(pixels.shape[-2:]) != model.input_size  # the synthetic set is 128x64; the model 64x32
    bigger = resize_image(pixels, (200, 90))
    expected = model.embed_batch(resize_image(bigger, model.input_size)[None]).numpy()
    np.testing.assert_allclose(model.embed(bigger), expected, atol=1e-6)


def test_an_undecodable_image_is_skipped_and_reported(model, query_images, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    result = model.embed_with_report([query_images[0], broken, query_images[1]])
    assert result.kept == [0, 2] and result.vectors.shape == (2, 512)
    [skipped] = result.skipped
    assert skipped.index == 1 and skipped.source == str(broken) and "decode" in skipped.reason
    np.testing.assert_allclose(result.vectors, model.embed([query_images[0], query_images[1]]), atol=1e-6)
    with pytest.raises(DeployError, match="broken.jpg"):
        model.embed([query_images[0], broken])


def test_inputs_that_are_not_images_are_refused(model):
    with pytest.raises(DeployError, match="0-1"):
        model.embed(torch.rand(3, 64, 32))
    with pytest.raises(DeployError, match="shape"):
        model.embed(np.zeros((64, 32, 5), dtype=np.uint8))
    with pytest.raises(DeployError, match="int"):
        model.embed(42)


def test_deploy_embeddings_equal_the_evaluation_embeddings(model):
    """The same images through the evaluation loader and model_features (as training evaluates), and through embed()."""
    [test_set] = build_test_data(model.cfg)
    features = model_features(model.network, test_set.loader, torch.device("cpu"), AmpSettings.for_device(False, torch.device("cpu")), flip=True)
    expected = torch.nn.functional.normalize(features, dim=1).numpy()
    np.testing.assert_allclose(model.embed(test_set.paths), expected, atol=1e-5)
