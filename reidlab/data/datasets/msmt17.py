"""MSMT17 (Wei et al. 2018), read from its list files like fast-reid.

Looked for under DATASETS.ROOT as MSMT17_V1/ (train/, test/) or MSMT17_V2/ (mask_train_v2/,
mask_test_v2/), directly or inside msmt17/. Each holds list_train.txt, list_val.txt (optional),
list_query.txt and list_gallery.txt with lines "<relative path> <pid>", e.g.
"0000/0000_000_01_0303morning_0015_0.jpg 0". The camera is the third '_'-separated field of
the file name (pid_index_camera_...), 1-based, stored 0-based. Training uses train + val merged,
as fast-reid does. Every listed file must exist: a missing one fails the read (count and first).
"""

from __future__ import annotations

from pathlib import Path

from reidlab.data.datasets.layout import find_dataset_dir, raise_if_bad_names
from reidlab.data.datasets.registry import register_dataset
from reidlab.data.errors import DatasetError
from reidlab.data.records import ImageRecord, ReidDataset

VERSIONS = {"MSMT17_V1": ("train", "test"), "MSMT17_V2": ("mask_train_v2", "mask_test_v2")}
REQUIRED_LISTS = ("list_train.txt", "list_query.txt", "list_gallery.txt")
NAME_PATTERN = "<pid>_<index>_<camera>_<rest>.jpg, e.g. 0000_000_01_0303morning_0015_0.jpg (1-based camera)"


@register_dataset("MSMT17")
def read_msmt17(root: Path) -> ReidDataset:
    """MSMT17 records from under DATASETS.ROOT."""
    root = Path(root)
    base, train_dir, test_dir = locate_msmt17(root)
    train = read_list(base / "list_train.txt", train_dir)
    if (base / "list_val.txt").is_file():
        train += read_list(base / "list_val.txt", train_dir)
    query = read_list(base / "list_query.txt", test_dir)
    gallery = read_list(base / "list_gallery.txt", test_dir)
    return ReidDataset(name="MSMT17", train=train, query=query, gallery=gallery, location=base)


def locate_msmt17(root: Path) -> tuple[Path, Path, Path]:
    """The version folder and its train / test image folders."""
    for version, (train_name, test_name) in VERSIONS.items():
        for candidate in (version, f"msmt17/{version}"):
            if (root / candidate).is_dir():
                base = find_dataset_dir(root, "MSMT17", [candidate], [train_name, test_name, *REQUIRED_LISTS])
                return base, base / train_name, base / test_name
    find_dataset_dir(root, "MSMT17", list(VERSIONS), ["train", "test", *REQUIRED_LISTS])  # raises: not found
    raise AssertionError("unreachable")


def read_list(list_file: Path, image_dir: Path) -> list[ImageRecord]:
    """Records of one list file; malformed lines, bad names, missing files and an empty list are errors."""
    records: list[ImageRecord] = []
    bad_names: list[Path] = []
    lines = list_file.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 2 or not fields[1].lstrip("-").isdigit():
            raise DatasetError(f"MSMT17: {list_file} line {number}: expected '<relative path> <pid>', got {line.strip()!r}; fix or remove the line")
        path = image_dir / fields[0]
        camera = _camera_of(path.name)
        if camera is None:
            bad_names.append(path)
            continue
        records.append(ImageRecord(path, int(fields[1]), camera - 1))
    raise_if_bad_names(bad_names, len(records) + len(bad_names), list_file, "MSMT17", NAME_PATTERN)
    if not records:
        raise DatasetError(f"MSMT17: {list_file} lists no images; restore it from the MSMT17 archive")
    missing = [r.path for r in records if not r.path.is_file()]
    if missing:
        raise DatasetError(
            f"MSMT17: {len(missing)} of {len(records)} images listed in {list_file} are missing under {image_dir} "
            f"(first: {missing[0]}); extract the full archive there"
        )
    return records


def _camera_of(file_name: str) -> int | None:
    fields = file_name.split("_")
    if len(fields) < 3 or not fields[2].isdigit() or int(fields[2]) < 1:
        return None
    return int(fields[2])
