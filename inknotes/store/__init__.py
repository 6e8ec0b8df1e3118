"""The library: notebooks, pages, editable stroke layers, undo history and search in one SQLite file.

Everything that changes strokes goes through ``Library``; see DESIGN.md. The names load lazily
(PEP 562) so that ``inknotes --help``, which imports ``inknotes.store.cli``, does not pay for
SQLAlchemy.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import LibraryError

if TYPE_CHECKING:
    from .library import IngestRow, LayerInfo, Library, NotebookInfo, PageInfo, StoredStroke, sha256_file
    from .search import SearchHit

__all__ = ["Library", "LibraryError", "PageInfo", "LayerInfo", "StoredStroke", "SearchHit", "NotebookInfo",
           "IngestRow", "sha256_file"]


def __getattr__(name: str) -> Any:
    if name == "SearchHit":
        from . import search
        return search.SearchHit
    if name in __all__:
        from . import library
        return getattr(library, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
