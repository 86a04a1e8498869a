"""Gallery: enrolled identities and their embeddings; match query images against them.

What an enrollment tracker calls:

    gallery = Gallery(model)
    gallery.enroll("alice", ["alice_1.jpg", alice_crop_array])
    gallery.match([crop], top_k=5, threshold=0.6)   # [[Match("alice", 0.83), ...]]
    gallery.save("galleries/front_door");  Gallery.load("galleries/front_door", model)

An identity's similarity to a query is the best cosine similarity over its enrolled images.
With faiss installed and at least FAISS_MIN_GALLERY embeddings, matching searches a faiss index
first; the answers are the same as without it (see faiss_index.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from reidlab.deploy.errors import DeployError
from reidlab.deploy.faiss_index import FaissCandidateIndex, faiss_available
from reidlab.deploy.gallery_store import StoredGallery, load_gallery, save_gallery
from reidlab.deploy.images import ImageInput, SkippedImage, describe_input, split_inputs
from reidlab.deploy.matching import Match, check_match_arguments, identity_similarities, top_identities
from reidlab.deploy.model import ReIDModel

FAISS_MIN_GALLERY = 20_000


@dataclass
class EnrollResult:
    """How many images of an identity were enrolled, and which inputs were skipped."""

    identity: str
    enrolled: int
    skipped: list[SkippedImage] = field(default_factory=list)


class Gallery:
    """Identities with their unit embeddings; `model` embeds images (needed by enroll() and match())."""

    def __init__(self, model: ReIDModel | None = None, embedding_dim: int | None = None) -> None:
        if model is None and embedding_dim is None:
            raise DeployError("a Gallery needs a model (to embed images) or an embedding_dim (to hold given embeddings)")
        self.model = model
        self.embedding_dim = int(model.embedding_dim if model is not None else embedding_dim)  # type: ignore[arg-type]
        if model is not None and embedding_dim is not None and int(embedding_dim) != self.embedding_dim:
            raise DeployError(f"embedding_dim {embedding_dim} differs from the model's {self.embedding_dim}")
        self.model_fingerprint = model.fingerprint if model is not None else ""
        self.model_source = str(model.source or "") if model is not None else ""
        self._identities: list[str] = []
        self._index_of: dict[str, int] = {}
        self._vector_array = np.zeros((0, self.embedding_dim), dtype=np.float32)
        self._label_array = np.zeros(0, dtype=np.int64)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []  # added since the arrays were last joined
        self._sources: list[str] = []
        self._faiss: FaissCandidateIndex | None = None

    # ------------------------------------------------------------ contents
    @property
    def identities(self) -> list[str]:
        """Enrolled identities, in enrolment order."""
        return list(self._identities)

    @property
    def num_identities(self) -> int:
        return len(self._identities)

    def __len__(self) -> int:
        """Number of enrolled embeddings (images)."""
        return len(self._sources)

    def __contains__(self, identity: object) -> bool:
        return identity in self._index_of

    def count(self, identity: str) -> int:
        """Images enrolled for `identity` (0 when unknown)."""
        index = self._index_of.get(identity)
        return 0 if index is None else int(np.count_nonzero(self._labels == index))

    # ------------------------------------------------------------ enrolment
    def enroll(self, identity: str, images: ImageInput | Sequence[ImageInput]) -> EnrollResult:
        """Embed `images` and add them to `identity` (new or existing); undecodable files are skipped and listed."""
        model = self._require_model("enroll")
        _check_identity(identity)
        items = split_inputs(images)
        embedded = model.embed_with_report(items)
        if not len(embedded):
            reason = f"all {len(items)} images were undecodable" if items else "no images given"
            raise DeployError(f"enroll {identity!r}: nothing enrolled ({reason})")
        sources = [describe_input(items[i], i) for i in embedded.kept]
        self.add_embeddings(identity, embedded.vectors, sources)
        return EnrollResult(identity, len(embedded), embedded.skipped)

    def add_embeddings(self, identity: str, vectors: np.ndarray, sources: Sequence[str] | None = None) -> int:
        """Add precomputed embeddings (N, D) to `identity`; they are L2-normalised here. Returns N."""
        _check_identity(identity)
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim == 1:
            vectors = vectors[None, :]
        if vectors.ndim != 2 or vectors.shape[1] != self.embedding_dim or len(vectors) == 0:
            raise DeployError(f"enroll {identity!r}: embeddings must be (N >= 1, {self.embedding_dim}), got shape {vectors.shape}")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        if not np.all(np.isfinite(norms)) or np.any(norms == 0):
            raise DeployError(f"enroll {identity!r}: embeddings must be finite and non-zero")
        sources = list(sources) if sources is not None else [""] * len(vectors)
        if len(sources) != len(vectors):
            raise DeployError(f"enroll {identity!r}: {len(sources)} sources for {len(vectors)} embeddings")
        if identity not in self._index_of:
            self._index_of[identity] = len(self._identities)
            self._identities.append(identity)
        label = self._index_of[identity]
        self._pending.append((vectors / norms, np.full(len(vectors), label, dtype=np.int64)))
        self._sources += [str(s) for s in sources]
        self._faiss = None
        return len(vectors)

    def remove(self, identity: str) -> int:
        """Forget `identity` and its embeddings; returns how many embeddings went."""
        if identity not in self._index_of:
            raise DeployError(f"remove {identity!r}: no such identity in the gallery")
        label = self._index_of.pop(identity)
        keep = self._labels != label
        removed = int(np.count_nonzero(~keep))
        self._identities.pop(label)
        self._index_of = {name: i for i, name in enumerate(self._identities)}
        self._vector_array = self._vectors[keep]
        self._label_array = self._labels[keep] - (self._labels[keep] > label)
        self._sources = [s for s, k in zip(self._sources, keep) if k]
        self._faiss = None
        return removed

    # ------------------------------------------------------------ matching
    def match(self, images: ImageInput | Sequence[ImageInput], top_k: int = 5, threshold: float | None = None, use_faiss: bool | None = None) -> list[list[Match]]:
        """For each query image, up to top_k identities at or above threshold, best first; undecodable files raise."""
        self._require_nonempty()
        check_match_arguments(top_k, threshold)
        return self.match_embeddings(self._require_model("match").embed(images), top_k, threshold, use_faiss)

    def match_embeddings(self, queries: np.ndarray, top_k: int = 5, threshold: float | None = None, use_faiss: bool | None = None) -> list[list[Match]]:
        """match() for query embeddings (N, D) already computed (they are L2-normalised here).

        use_faiss: None picks faiss when it is installed and the gallery holds at least
        FAISS_MIN_GALLERY embeddings; True requires it; False never uses it.
        """
        self._require_nonempty()
        check_match_arguments(top_k, threshold)
        queries = self._unit_queries(queries)
        if self._should_use_faiss(use_faiss):
            ranked = self._rank_with_faiss(queries, top_k, threshold)
        else:
            scores = identity_similarities(queries, self._vectors, self._labels, self.num_identities)
            all_ids = np.arange(self.num_identities)
            ranked = [top_identities(row, all_ids, top_k, threshold) for row in scores]
        return [[Match(self._identities[i], s) for i, s in row] for row in ranked]

    def _rank_with_faiss(self, queries: np.ndarray, top_k: int, threshold: float | None) -> list[list[tuple[int, float]]]:
        if self._faiss is None:
            self._faiss = FaissCandidateIndex(self._vectors, self._labels)
        ranked = []
        for query, candidates in zip(queries, self._faiss.candidate_identities(queries, top_k, threshold)):
            rows = np.flatnonzero(np.isin(self._labels, candidates))
            local = np.searchsorted(candidates, self._labels[rows])  # candidate position of each row's identity
            scores = identity_similarities(query[None, :], self._vectors[rows], local, len(candidates))[0]
            ranked.append(top_identities(scores, candidates, top_k, threshold))
        return ranked

    def _should_use_faiss(self, use_faiss: bool | None) -> bool:
        if use_faiss is None:
            return faiss_available() and len(self) >= FAISS_MIN_GALLERY
        if use_faiss and not faiss_available():
            raise DeployError("use_faiss=True but faiss is not installed: pip install faiss-cpu (or leave use_faiss unset)")
        return bool(use_faiss)

    def _unit_queries(self, queries: np.ndarray) -> np.ndarray:
        queries = np.asarray(queries, dtype=np.float32)
        if queries.ndim == 1:
            queries = queries[None, :]
        if queries.ndim != 2 or queries.shape[1] != self.embedding_dim:
            raise DeployError(f"query embeddings must be (N, {self.embedding_dim}), got shape {queries.shape}")
        norms = np.linalg.norm(queries, axis=1, keepdims=True)
        return queries / np.where(norms > 0, norms, 1.0)

    # ------------------------------------------------------------ persistence
    def save(self, folder: str | Path) -> Path:
        """Write gallery.json + an npz into `folder`, atomically (see gallery_store.py); returns the JSON path."""
        stored = StoredGallery(self.identities, self._vectors, self._labels, self._sources, self.embedding_dim, self.model_fingerprint, self.model_source)
        return save_gallery(folder, stored)

    @classmethod
    def load(cls, folder: str | Path, model: ReIDModel | None = None) -> "Gallery":
        """A saved gallery; with `model`, it must be the model that enrolled it (same weights and preprocessing)."""
        stored = load_gallery(folder)
        if model is not None:
            if stored.embedding_dim != model.embedding_dim:
                raise DeployError(f"{folder}: gallery holds {stored.embedding_dim}-d embeddings but the model gives {model.embedding_dim}-d; enrol it again with this model")
            if stored.model_fingerprint and stored.model_fingerprint != model.fingerprint:
                raise DeployError(
                    f"{folder}: gallery was enrolled with another model (fingerprint {stored.model_fingerprint}, "
                    f"from {stored.model_source or 'unknown'}) than {model.source or 'this model'} ({model.fingerprint}); "
                    "its embeddings are not comparable: enrol it again with this model"
                )
        gallery = cls(model, embedding_dim=stored.embedding_dim)
        gallery.model_fingerprint = stored.model_fingerprint
        gallery.model_source = stored.model_source
        gallery._identities = list(stored.identities)
        gallery._index_of = {name: i for i, name in enumerate(gallery._identities)}
        gallery._vector_array = stored.embeddings
        gallery._label_array = stored.labels
        gallery._sources = list(stored.sources)
        return gallery

    # ------------------------------------------------------------ storage
    @property
    def _vectors(self) -> np.ndarray:
        """(N, D) float32 unit rows; enrolments are joined once, when first needed (no quadratic copying)."""
        self._join_pending()
        return self._vector_array

    @property
    def _labels(self) -> np.ndarray:
        """(N,) identity index of each row."""
        self._join_pending()
        return self._label_array

    def _join_pending(self) -> None:
        if self._pending:
            self._vector_array = np.concatenate([self._vector_array] + [v for v, _ in self._pending])
            self._label_array = np.concatenate([self._label_array] + [l for _, l in self._pending])
            self._pending = []

    # ------------------------------------------------------------ checks
    def _require_model(self, action: str) -> ReIDModel:
        if self.model is None:
            raise DeployError(f"{action} needs a model to embed images: Gallery(model) or Gallery.load(folder, model)")
        return self.model

    def _require_nonempty(self) -> None:
        if len(self) == 0:
            raise DeployError("the gallery is empty: enrol at least one identity before matching")


def _check_identity(identity: object) -> None:
    if not isinstance(identity, str) or not identity.strip():
        raise DeployError(f"an identity must be a non-empty string, got {identity!r}")
