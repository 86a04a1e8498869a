"""Gallery: enrol and match synthetic identities, top-k and threshold, saving without pickle, faiss parity, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reidlab.deploy import DeployError, Gallery, Match, ReIDModel, faiss_available, gallery_from_folder


@pytest.fixture(scope="module")
def enrolled(model, identity_folders) -> Gallery:
    gallery = Gallery(model)
    for folder in sorted(identity_folders.gallery.iterdir()):
        gallery.enroll(folder.name, sorted(folder.glob("*.jpg")))
    return gallery


def test_the_right_identity_wins_top1_for_most_queries(enrolled, identity_folders, query_images):
    assert enrolled.num_identities == 6
    results = enrolled.match(query_images, top_k=3)
    assert all(1 <= len(found) <= 3 for found in results)
    hits = [found[0].identity == identity_folders.pid_of(q.name) for q, found in zip(query_images, results)]
    assert sum(hits) / len(hits) >= 0.6, hits  # chance is 1/6


def test_matches_are_sorted_and_respect_top_k_and_threshold(enrolled, query_images):
    [everyone] = enrolled.match(query_images[:1], top_k=10)
    assert len(everyone) == enrolled.num_identities  # top_k above the number of identities: all of them
    similarities = [m.similarity for m in everyone]
    assert similarities == sorted(similarities, reverse=True) and all(-1.0 <= s <= 1.0 for s in similarities)
    threshold = (similarities[1] + similarities[2]) / 2
    [above] = enrolled.match(query_images[:1], top_k=10, threshold=threshold)
    assert above == everyone[:2]
    [nothing] = enrolled.match(query_images[:1], top_k=10, threshold=1.0)
    assert nothing == []


def test_an_identity_scores_its_best_image(enrolled, model, identity_folders):
    image = sorted((identity_folders.gallery / enrolled.identities[0]).glob("*.jpg"))[0]
    [[best, *_]] = enrolled.match([image], top_k=1)
    assert best.identity == enrolled.identities[0] and best.similarity == pytest.approx(1.0, abs=1e-5)


def test_save_and_load_as_json_and_npz_without_pickle(enrolled, model, query_images, tmp_path):
    folder = tmp_path / "saved"
    enrolled.save(folder)
    enrolled.save(folder)  # saving again replaces the embeddings file, leaving one
    meta = json.loads((folder / "gallery.json").read_text())
    [npz] = list(folder.glob("*.npz"))
    assert meta["embeddings_file"] == npz.name and meta["num_identities"] == 6
    with np.load(npz, allow_pickle=False) as arrays:
        assert arrays["embeddings"].shape == (len(enrolled), 512) and arrays["embeddings"].dtype == np.float32
    loaded = Gallery.load(folder, model)
    assert loaded.identities == enrolled.identities and len(loaded) == len(enrolled)
    assert loaded.match(query_images, top_k=3) == enrolled.match(query_images, top_k=3)


def test_a_damaged_or_foreign_gallery_is_refused(enrolled, model, tmp_path):
    folder = tmp_path / "saved"
    enrolled.save(folder)
    [npz] = list(folder.glob("*.npz"))
    npz.write_bytes(npz.read_bytes()[:-10])
    with pytest.raises(DeployError, match="checksum"):
        Gallery.load(folder)
    enrolled.save(folder)
    without_flip = model.cfg.model_copy(deep=True)
    without_flip.TEST.FLIP.ENABLED = False
    other = ReIDModel(model.network, without_flip)
    with pytest.raises(DeployError, match="another model"):
        Gallery.load(folder, other)


def test_an_empty_gallery_is_a_clear_error(model, identity_folders, query_images, tmp_path):
    with pytest.raises(DeployError, match="empty"):
        Gallery(model).match(query_images[:1])
    (tmp_path / "no_identities").mkdir()
    with pytest.raises(DeployError, match="empty"):
        gallery_from_folder(model, tmp_path / "no_identities")
    broken = tmp_path / "broken_only" / "alice"
    broken.mkdir(parents=True)
    (broken / "1.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DeployError, match="empty"):
        gallery_from_folder(model, tmp_path / "broken_only")
    with pytest.raises(DeployError, match="nothing enrolled"):
        Gallery(model).enroll("alice", [broken / "1.jpg"])


def test_gallery_folder_enrolment_equals_enrolling_by_hand(enrolled, model, identity_folders, query_images, tmp_path):
    gallery, skipped = gallery_from_folder(model, identity_folders.gallery)
    assert skipped == [] and gallery.identities == enrolled.identities
    assert gallery.match(query_images, top_k=2) == enrolled.match(query_images, top_k=2)


def test_enroll_skips_and_reports_undecodable_images(model, identity_folders, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"")
    images = sorted((identity_folders.gallery / "0009").glob("*.jpg"))
    result = Gallery(model).enroll("0009", [broken, *images])
    assert result.enrolled == len(images) and [s.index for s in result.skipped] == [0]


def test_remove_forgets_an_identity():
    gallery = Gallery(embedding_dim=4)
    gallery.add_embeddings("a", np.eye(4)[:2])
    gallery.add_embeddings("b", np.eye(4)[2:])
    assert gallery.remove("a") == 2 and gallery.identities == ["b"] and len(gallery) == 2
    assert gallery.match_embeddings(np.eye(4)[3], top_k=1) == [[Match("b", 1.0)]]


def random_gallery(seed: int = 0, identities: int = 300, dim: int = 32) -> tuple[Gallery, np.ndarray]:
    """Clustered random embeddings, a twin identity with the same vectors as the first (exact ties), and queries."""
    rng = np.random.default_rng(seed)
    gallery = Gallery(embedding_dim=dim)
    centres = rng.normal(size=(identities, dim))
    first = centres[0] + 0.8 * rng.normal(size=(3, dim))
    gallery.add_embeddings("id0", first)
    for i, centre in enumerate(centres[1:], start=1):
        gallery.add_embeddings(f"id{i}", centre + 0.8 * rng.normal(size=(int(rng.integers(1, 6)), dim)))
    gallery.add_embeddings("twin_of_id0", first)
    queries = centres[rng.integers(0, identities, 150)] + 0.8 * rng.normal(size=(150, dim))
    return gallery, np.concatenate([queries, first])


@pytest.mark.skipif(not faiss_available(), reason="faiss is not installed (pip install faiss-cpu)")
@pytest.mark.parametrize("top_k, threshold", [(1, None), (5, None), (10, 0.3), (3, 0.95)])
def test_faiss_gives_the_same_answers_as_the_plain_path(top_k, threshold):
    gallery, queries = random_gallery()
    plain = gallery.match_embeddings(queries, top_k, threshold, use_faiss=False)
    assert plain == gallery.match_embeddings(queries, top_k, threshold, use_faiss=True)
    assert any(plain)
    if top_k > 1:  # exact ties go to the identity enrolled first
        assert [m.identity for m in plain[-1][:2]] == ["id0", "twin_of_id0"]
        assert plain[-1][0].similarity == plain[-1][1].similarity


def test_use_faiss_without_faiss_is_a_clear_error(monkeypatch):
    import reidlab.deploy.gallery as gallery_module

    monkeypatch.setattr(gallery_module, "faiss_available", lambda: False)
    gallery, queries = random_gallery(identities=5)
    with pytest.raises(DeployError, match="pip install faiss-cpu"):
        gallery.match_embeddings(queries, use_faiss=True)
    assert len(gallery.match_embeddings(queries)) == len(queries)  # auto: the plain path
