"""Facts from a fast-reid log.txt: library versions, the training set's size, and a loss that stopped being finite.

fast-reid logs an environment table near the top (tabulate's plain format: `fastreid   1.4.0 @/path`,
`PyTorch   2.0.1+cu117 @/path`), one data-set table per training set (`| train | 751 | 12936 | 6 |`
under `| subset | # ids | # images | # cameras |`, wrapped in colour codes), `Auto-scaling the
num_classes=751`, and, when training diverges, `FloatingPointError: Loss became infinite or NaN at
iteration=N!`. log.txt is opened for appending, so a resumed run holds several sessions: the last wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

FASTREID_LOG_FILE = "log.txt"

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_SESSION_START = "Environment info:"
_VERSIONS = {"fastreid": re.compile(r"^\s*fastreid\s+(\S+)\s+@"), "torch": re.compile(r"^\s*PyTorch\s+(\S+)\s+@")}
_LOADED = re.compile(r"=> Loaded (\S+)")
_AUTO_CLASSES = re.compile(r"Auto-scaling the num_classes=(\d+)")
_NON_FINITE = re.compile(r"Loss became infinite or NaN at iteration=(\d+)")


@dataclass
class FastreidLog:
    """What log.txt shows; None where it does not say. `problems` names what could not be read."""

    versions: dict[str, str] = field(default_factory=dict)  # "fastreid", "torch" -> version text
    train_ids: int | None = None  # "# ids" summed over the training sets
    train_images: int | None = None
    auto_num_classes: int | None = None
    non_finite_iteration: int | None = None  # where fast-reid stopped with "Loss became infinite or NaN"
    non_finite_line: str | None = None
    problems: list[str] = field(default_factory=list)


def read_fastreid_log(folder: Path) -> FastreidLog:
    """Parse folder/log.txt; never raises (a missing or unreadable log is a problem, not an error)."""
    log = FastreidLog()
    path = folder / FASTREID_LOG_FILE
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        log.problems.append(f"{FASTREID_LOG_FILE} is missing, so the fast-reid and PyTorch versions and the training set's size are unknown")
        return log
    except OSError as exc:
        log.problems.append(f"{FASTREID_LOG_FILE} cannot be read ({exc.__class__.__name__}), so the versions and the training set's size are unknown")
        return log
    lines = _last_session(_ANSI.sub("", text).splitlines())
    for line in lines:
        for name, pattern in _VERSIONS.items():
            if match := pattern.match(line):
                log.versions[name] = match.group(1)
        if match := _AUTO_CLASSES.search(line):
            log.auto_num_classes = int(match.group(1))
        if log.non_finite_iteration is None and (match := _NON_FINITE.search(line)):
            log.non_finite_iteration, log.non_finite_line = int(match.group(1)), line.strip()[:200]
    missing = [name for name in ("fastreid", "torch") if name not in log.versions]
    if missing:
        log.problems.append(f"{FASTREID_LOG_FILE} has no environment table entry for {' or '.join(missing)}, so that version is unknown")
    train = _train_rows(lines)
    if train:
        log.train_ids = sum(ids for ids, _ in train.values())
        log.train_images = sum(images for _, images in train.values())
    else:
        log.problems.append(f"{FASTREID_LOG_FILE} has no training-set table ('# ids'), so the number of training identities comes from the config, if at all")
    return log


def parse_version(text: str | None) -> tuple[int, ...] | None:
    """'2.0.1+cu117' -> (2, 0, 1); '1.3' -> (1, 3); None when it does not start with a number."""
    if not text:
        return None
    match = re.match(r"(\d+(?:\.\d+)*)", text)
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


def _last_session(lines: list[str]) -> list[str]:
    """The lines from the last 'Environment info:' on (the whole log when there is none)."""
    starts = [index for index, line in enumerate(lines) if _SESSION_START in line]
    return lines[starts[-1]:] if starts else lines


def _train_rows(lines: list[str]) -> dict[str, tuple[int, int]]:
    """Training set name -> (# ids, # images), from the pipe tables after '=> Loaded <name>'."""
    rows: dict[str, tuple[int, int]] = {}
    dataset, columns = None, None
    for line in lines:
        if match := _LOADED.search(line):
            dataset, columns = match.group(1), None
            continue
        cells = _cells(line)
        if cells is None:
            continue
        if "# ids" in cells and "# images" in cells:
            columns = (cells.index("subset") if "subset" in cells else 0, cells.index("# ids"), cells.index("# images"))
            continue
        if columns is None or dataset is None or len(cells) <= max(columns):
            continue
        subset, ids, images = (cells[i] for i in columns)
        if subset == "train" and ids.isdigit() and images.isdigit():
            rows[dataset] = (int(ids), int(images))
    return rows


def _cells(line: str) -> list[str] | None:
    """The cells of a pipe-table row, or None for a line that is not one."""
    text = line.strip()
    if not (text.startswith("|") and text.endswith("|")):
        return None
    return [cell.strip() for cell in text[1:-1].split("|")]
