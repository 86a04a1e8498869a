"""Arguments of `reidlab export`, `reidlab embed` and `reidlab match`; each handler is one call into reidlab.deploy.

User mistakes raise reidlab.deploy.DeployError (one line, exit 2 through the CLI's error handling).
"""

from __future__ import annotations

import argparse

RUN_HELP = "run directory of reidlab (its best_model.pth) or fast-reid (model_best.pth, else model_final.pth), or a .pth checkpoint"
CONFIG_HELP = "config to build the model with: needed for a fast-reid .pth without its run's config.yaml beside it; replaces a reidlab checkpoint's own"


def add_deploy_commands(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register export, embed and match on the `reidlab` sub-command parser."""
    export = subparsers.add_parser(
        "export",
        help="write best_model.pth as ONNX or TorchScript, checked against PyTorch",
        description=(
            "Export the run's model (float32 RGB 0-255 images at INPUT.SIZE_TEST, dynamic batch -> L2-normalised embeddings; "
            "pixel normalisation and flip test inside), then compare it with PyTorch on random images: "
            "prints the maximum absolute difference and fails above the tolerance (onnxruntime checks ONNX when installed)."
        ),
    )
    export.add_argument("run", metavar="RUN_DIR", help=RUN_HELP)
    export.add_argument("--format", dest="fmt", choices=("onnx", "torchscript"), default="onnx", help="export format (default onnx)")
    export.add_argument("--out", metavar="FILE", help="output file (default: beside the checkpoint, best_model.onnx / best_model.torchscript.pt)")
    export.add_argument("--tolerance", type=float, default=1e-4, help="largest accepted |export - PyTorch| (default 1e-4)")
    export.add_argument("--config-file", metavar="FILE", help=CONFIG_HELP)
    export.set_defaults(handler=_export)

    embed = subparsers.add_parser(
        "embed",
        help="embed every image of a folder into JSON, CSV or npz",
        description="Embed every image under IMAGES_DIR (sub-folders too) with the run's model; undecodable images are skipped and listed on stderr.",
    )
    embed.add_argument("run", metavar="RUN_DIR", help=RUN_HELP)
    embed.add_argument("images", metavar="IMAGES_DIR", help="folder of images (.jpg .jpeg .png .bmp .webp)")
    embed.add_argument("--out", required=True, metavar="FILE", help="output: .json, .csv or .npz (the suffix picks the format)")
    _add_runtime_options(embed)
    embed.set_defaults(handler=_embed)

    match = subparsers.add_parser(
        "match",
        help="match query images against a gallery of identities",
        description=(
            "Enrol a gallery and rank its identities for every query image. The gallery is either a folder with one "
            "sub-folder per identity (GALLERY_DIR/<identity>/<images>) or a gallery saved with --save-gallery. "
            "An identity scores the best cosine similarity of its images."
        ),
    )
    match.add_argument("run", metavar="RUN_DIR", help=RUN_HELP)
    match.add_argument("--gallery", required=True, metavar="DIR", help="GALLERY_DIR/<identity>/<images>, or a saved gallery (holds gallery.json)")
    match.add_argument("--query", required=True, metavar="DIR", help="folder of query images")
    match.add_argument("--out", required=True, metavar="FILE", help="output: .json or .csv")
    match.add_argument("--top-k", type=int, default=5, help="identities per query (default 5)")
    match.add_argument("--threshold", type=float, default=None, help="keep only identities with cosine similarity >= this (-1 to 1)")
    match.add_argument("--save-gallery", metavar="DIR", help="also save the enrolled gallery here (JSON + npz) for later --gallery DIR")
    match.add_argument("--faiss", choices=("auto", "on", "off"), default="auto", help="faiss search: auto uses it for large galleries when installed")
    _add_runtime_options(match)
    match.set_defaults(handler=_match)


def _add_runtime_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch-size", type=int, default=None, help="images per forward pass (default TEST.IMS_PER_BATCH)")
    parser.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default MODEL.DEVICE, CPU when CUDA is absent)")
    parser.add_argument("--config-file", metavar="FILE", help=CONFIG_HELP)


def _export(args: argparse.Namespace) -> int:
    from reidlab.deploy.commands import export_main

    return export_main(args.run, args.fmt, args.out, args.tolerance, args.config_file)


def _embed(args: argparse.Namespace) -> int:
    from reidlab.deploy.commands import embed_main

    return embed_main(args.run, args.images, args.out, batch_size=args.batch_size, device=args.device, config_file=args.config_file)


def _match(args: argparse.Namespace) -> int:
    from reidlab.deploy.commands import match_main

    return match_main(
        args.run,
        args.gallery,
        args.query,
        args.out,
        top_k=args.top_k,
        threshold=args.threshold,
        save_gallery=args.save_gallery,
        batch_size=args.batch_size,
        device=args.device,
        faiss=args.faiss,
        config_file=args.config_file,
    )
