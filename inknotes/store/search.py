"""Full-text search over recognised words (SQLite FTS5), skipping deleted pages and notebooks."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class SearchHit:
    page_id: int
    word_id: int
    box: tuple[float, float, float, float]  # x, y, w, h in page pixels
    text: str
    notebook: str
    source_name: str


_TOKEN = re.compile(r"\w+", re.UNICODE)


def _term(token: str) -> str:
    return '"' + token.replace('"', '""') + '"*'


def fts_query(query: str) -> str | None:
    """Each typed word as a quoted prefix term; a word row matches any of them (rows are single
    words, so requiring all terms of one row would never match a phrase)."""
    tokens = _TOKEN.findall(query)
    if not tokens:
        return None
    return " OR ".join(_term(t) for t in tokens)


_LIVE = ("FROM words_fts f JOIN words w ON w.id = f.rowid JOIN pages p ON p.id = w.page_id "
         "JOIN notebooks n ON n.id = p.notebook_id "
         "WHERE words_fts MATCH :q AND p.deleted = 0 AND n.deleted = 0")


def search(conn: Connection, query: str, limit: int = 100) -> list[SearchHit]:
    """The words matching any typed word, on the pages where every typed word is found (as a
    note app searches: "entropy lecture" finds the page with both)."""
    q = fts_query(query)
    if q is None:
        return []
    pages: set[int] | None = None
    for token in dict.fromkeys(t.lower() for t in _TOKEN.findall(query)):
        found = {r[0] for r in conn.execute(text("SELECT DISTINCT w.page_id " + _LIVE), {"q": _term(token)})}
        pages = found if pages is None else pages & found
        if not pages:
            return []
    only = ",".join(str(int(p)) for p in sorted(pages or ()))
    rows = conn.execute(text(
        "SELECT w.page_id, w.id, w.x, w.y, w.w, w.h, w.text, n.name, p.source_name " + _LIVE +
        f" AND w.page_id IN ({only}) ORDER BY f.rank, w.page_id, w.id LIMIT :lim"),
        {"q": q, "lim": int(limit)})
    return [SearchHit(r[0], r[1], (r[2], r[3], r[4], r[5]), r[6], r[7], r[8]) for r in rows]
