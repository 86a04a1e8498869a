"""The one exception `reidlab search` raises for a mistake in what the user gave it."""

from __future__ import annotations

from reidlab.errors import UserError


class SearchError(UserError):
    """A search problem (space file, study folder, storage, --enqueue folder), told in one line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split("\n")))
