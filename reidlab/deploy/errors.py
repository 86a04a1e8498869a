"""The one exception class of reidlab.deploy: a user mistake, told in one line."""

from __future__ import annotations

from reidlab.errors import UserError


class DeployError(UserError):
    """A missing run, an unusable image or gallery, a failed export check: one line saying what and how to fix it."""


class ExportCheckError(DeployError):
    """An exported model whose outputs differ from PyTorch's by more than the tolerance."""
