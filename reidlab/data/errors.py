"""The one exception the data package raises for bad input, always a single line."""

from __future__ import annotations

from reidlab.errors import UserError


class DatasetError(UserError):
    """A data set problem (missing folder, bad file name, batch that cannot be drawn), told in one line with the fix."""
