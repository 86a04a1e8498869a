"""What the console shows, copied line for line into the run's log.txt."""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

LOGGER_NAME = "reidlab"


def get_logger() -> logging.Logger:
    return logging.getLogger(LOGGER_NAME)


@contextmanager
def log_to_console_and_file(log_file: Path | None) -> Iterator[logging.Logger]:
    """Log INFO to stdout and (appending, so a resumed run keeps its past) to log_file; warnings too."""
    logger = get_logger()
    warnings_logger = logging.getLogger("py.warnings")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    fmt = logging.Formatter("[%(asctime)s] %(message)s", datefmt="%m/%d %H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="a", encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(fmt)
        logger.addHandler(handler)
        warnings_logger.addHandler(handler)
    logging.captureWarnings(True)
    try:
        yield logger
    finally:
        logging.captureWarnings(False)
        for handler in handlers:
            logger.removeHandler(handler)
            warnings_logger.removeHandler(handler)
            handler.close()
