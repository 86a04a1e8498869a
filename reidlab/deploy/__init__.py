"""reidlab.deploy: use a trained run outside training.

* ``ReIDModel.from_run(run_dir_or_pth)``: the run's best_model.pth in eval mode with its config's
  test-time preprocessing; ``embed(images)`` -> (N, D) float32 unit embeddings (paths, PIL images,
  numpy HWC arrays, tensors; flip test when TEST.FLIP.ENABLED); ``embed_with_report`` skips
  undecodable files and lists them.
* ``Gallery``: ``enroll(identity, images)``, ``match(images, top_k, threshold)`` -> ``Match`` lists,
  ``save`` / ``load`` as JSON + npz (never pickle); optional faiss search, same answers.
* ``export_model(run, "onnx" | "torchscript")``: dynamic-batch export checked against PyTorch.
* ``embed_folder`` / ``gallery_from_folder`` / ``open_gallery``: folders of images
  (a gallery folder holds one sub-folder per identity).
* ``DeployError``: every user mistake (missing run, empty gallery, bad input, failed export check).
"""

from reidlab.deploy.errors import DeployError, ExportCheckError
from reidlab.deploy.export import EXPORT_FORMATS, ExportResult, export_model
from reidlab.deploy.faiss_index import faiss_available
from reidlab.deploy.folders import FolderEmbeddings, embed_folder, gallery_from_folder, open_gallery
from reidlab.deploy.gallery import FAISS_MIN_GALLERY, EnrollResult, Gallery
from reidlab.deploy.images import ImageInput, SkippedImage, list_image_files
from reidlab.deploy.loading import resolve_checkpoint_path
from reidlab.deploy.matching import Match
from reidlab.deploy.model import EmbeddedImages, ReIDModel

__all__ = [
    "EXPORT_FORMATS",
    "FAISS_MIN_GALLERY",
    "DeployError",
    "EmbeddedImages",
    "EnrollResult",
    "ExportCheckError",
    "ExportResult",
    "FolderEmbeddings",
    "Gallery",
    "ImageInput",
    "Match",
    "ReIDModel",
    "SkippedImage",
    "embed_folder",
    "export_model",
    "faiss_available",
    "gallery_from_folder",
    "list_image_files",
    "open_gallery",
    "resolve_checkpoint_path",
]
