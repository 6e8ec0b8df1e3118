"""One exception family whose messages are sentences a user can act on.

The CLI prints ``inknotes: <file>: <sentence>``; the GUI shows the same sentence.
"""
from __future__ import annotations

from pathlib import Path


class InknotesError(Exception):
    """Base of every error a user may see. ``str(e)`` is one plain sentence."""

    def __init__(self, message: str, path: str | Path | None = None):
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None

    def __str__(self) -> str:
        return self.message

    def user_line(self) -> str:
        """The line the CLI prints: ``<file>: <sentence>`` or just the sentence."""
        return f"{self.path}: {self.message}" if self.path else self.message


class InputError(InknotesError):
    """An input file cannot be read as an image we can convert."""

    page: int | None = None  # which page of a multi-page file (1-based), when it is about one

    def for_page(self, number: int) -> InputError:
        """This error as about page ``number`` of a multi-page file ("Page 2: ...")."""
        self.page = number
        self.message = f"Page {number}: {self.message}"
        return self


class OutputError(InknotesError):
    """An output file or folder cannot be written."""


class EngineError(InknotesError):
    """A derendering engine failed or is unavailable."""


class ModelError(EngineError):
    """A model folder is missing, not a SavedModel, or has the wrong signature."""


class LibraryError(InknotesError):
    """The library file cannot be opened, upgraded or written."""


class Cancelled(InknotesError):
    """Work was cancelled by the user."""

    def __init__(self, message: str = "Cancelled.", path: str | Path | None = None):
        super().__init__(message, path)
