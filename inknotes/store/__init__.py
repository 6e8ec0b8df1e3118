"""The library: notebooks, pages, editable stroke layers, undo history and search in one SQLite file.

Everything that changes strokes goes through ``Library``; see DESIGN.md.
"""
from __future__ import annotations

from ..errors import LibraryError
from .library import IngestRow, LayerInfo, Library, NotebookInfo, PageInfo, StoredStroke, sha256_file
from .search import SearchHit

__all__ = ["Library", "LibraryError", "PageInfo", "LayerInfo", "StoredStroke", "SearchHit", "NotebookInfo",
           "IngestRow", "sha256_file"]
