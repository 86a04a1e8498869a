"""The base of every mistake in what the user gave reidlab, told in one line; imports nothing.

The CLI catches `UserError` alone and prints it as `reidlab COMMAND: error: ...` with exit code 2.
Every package derives its own one-line errors from it, so the CLI needs none of them imported.
"""

from __future__ import annotations


class UserError(ValueError):
    """A problem with the user's input (a file, a key, a path), with how to fix it, in one line."""

    def __init__(self, message: object = "") -> None:
        super().__init__(" ".join(str(message).splitlines()))
