"""The one exception the data package raises for bad input, always a single line."""

from __future__ import annotations


class DatasetError(ValueError):
    """A data set problem (missing folder, bad file name, batch that cannot be drawn), told in one line with the fix."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).splitlines()))
