"""Undoable edits persisted in the library: each command stores the before/after values of
the rows it changed, so undo and redo are plain row updates and survive a restart.

Rows are never removed by an edit, only soft-deleted, so undo is always possible. History
is linear and library-wide: a new command drops the redo tail (and the strokes only that
tail had created).
"""
from __future__ import annotations

import base64
import json
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

MAX_HISTORY = 1000
TRIM_BATCH = 100

# Columns a command may change, per table (guards the SQL built from stored JSON).
COLUMNS = {
    "strokes": {"deleted", "color", "tool", "layer_id", "z", "n", "data", "x0", "y0", "x1", "y1"},
    "layers": {"deleted", "name", "visible", "locked", "ord", "opacity"},
    "pages": {"deleted", "notebook_id", "source_name", "created"},
    "notebooks": {"deleted", "name"},
}


def _enc(values: dict[str, Any]) -> str:
    return json.dumps({k: {"$b": base64.b64encode(v).decode()} if isinstance(v, (bytes, memoryview)) else v
                       for k, v in values.items()})


def _dec(s: str) -> dict[str, Any]:
    return {k: base64.b64decode(v["$b"]) if isinstance(v, dict) else v for k, v in json.loads(s).items()}


def apply(conn: Connection, tbl: str, row_id: int, values: dict[str, Any]) -> None:
    cols = COLUMNS[tbl]
    bad = set(values) - cols
    if bad:
        raise ValueError(f"command may not change {tbl}.{bad}")
    sets = ", ".join(f"{k} = :{k}" for k in values)
    conn.execute(text(f"UPDATE {tbl} SET {sets} WHERE id = :_id"), {**values, "_id": row_id})


class Recorder:
    """Collects one command's row changes inside the caller's write transaction."""

    def __init__(self, conn: Connection, kind: str, description: str):
        self.conn = conn
        _drop_redo_tail(conn)
        self.id = conn.execute(
            text("INSERT INTO commands (created, kind, description, state) VALUES (:c, :k, :d, 'done')"),
            {"c": time.time(), "k": kind, "d": description}).lastrowid
        self.rows: list[dict[str, Any]] = []

    def update(self, tbl: str, row_id: int, before: dict[str, Any], after: dict[str, Any]) -> None:
        """Apply ``after`` to the row now; undo will write ``before`` back."""
        apply(self.conn, tbl, row_id, after)
        self.rows.append({"c": self.id, "t": tbl, "r": row_id, "o": "update",
                          "b": _enc(before), "a": _enc(after)})

    def inserted(self, tbl: str, row_id: int) -> None:
        """A row this command created (live now); undo soft-deletes it."""
        self.rows.append({"c": self.id, "t": tbl, "r": row_id, "o": "insert",
                          "b": '{"deleted": 1}', "a": '{"deleted": 0}'})

    def finish(self) -> int:
        if self.rows:
            self.conn.execute(text("INSERT INTO command_changes (command_id, tbl, row_id, op, before, after) "
                                   "VALUES (:c, :t, :r, :o, :b, :a)"), self.rows)
        _trim(self.conn)
        return self.id


def _drop_redo_tail(conn: Connection) -> None:
    ids = [r[0] for r in conn.execute(text("SELECT id FROM commands WHERE state = 'undone'"))]
    if not ids:
        return
    q = ",".join(str(int(i)) for i in ids)
    conn.execute(text(f"DELETE FROM strokes WHERE deleted = 1 AND id IN (SELECT row_id FROM command_changes "
                      f"WHERE command_id IN ({q}) AND tbl = 'strokes' AND op = 'insert')"))
    conn.execute(text(f"DELETE FROM command_changes WHERE command_id IN ({q})"))
    conn.execute(text(f"DELETE FROM commands WHERE id IN ({q})"))


def _trim(conn: Connection) -> None:
    """Forget the oldest commands once the history is well past MAX_HISTORY (in batches), and
    remove for good the soft-deleted rows no remaining command can bring back."""
    n = conn.execute(text("SELECT count(*) FROM commands")).scalar_one()
    if n <= MAX_HISTORY + TRIM_BATCH:
        return
    cut = conn.execute(text("SELECT id FROM commands ORDER BY id DESC LIMIT 1 OFFSET :k"),
                       {"k": MAX_HISTORY}).scalar_one()
    conn.execute(text("DELETE FROM command_changes WHERE command_id <= :c"), {"c": cut})
    conn.execute(text("DELETE FROM commands WHERE id <= :c"), {"c": cut})
    purge_deleted(conn)


def purge_deleted(conn: Connection) -> None:
    """Hard-delete soft-deleted rows that no command in the history refers to."""
    for tbl, extra in (("strokes", ""), ("layers", ""), ("pages", ""),
                       ("notebooks", " AND id NOT IN (SELECT notebook_id FROM pages)")):
        conn.execute(text(f"DELETE FROM {tbl} WHERE deleted = 1 AND id NOT IN "
                          f"(SELECT row_id FROM command_changes WHERE tbl = '{tbl}'){extra}"))


def _changes(conn: Connection, cmd_id: int, desc: bool) -> list[tuple[str, int, str, str]]:
    order = "DESC" if desc else "ASC"
    return list(conn.execute(text(f"SELECT tbl, row_id, before, after FROM command_changes "
                                  f"WHERE command_id = :c ORDER BY id {order}"), {"c": cmd_id}))


def _next(conn: Connection, undoing: bool) -> tuple[int, str] | None:
    """(id, description) of the command the next undo (or redo) would apply, if any."""
    state, order = ("done", "DESC") if undoing else ("undone", "ASC")
    row = conn.execute(text(f"SELECT id, description FROM commands WHERE state = '{state}' "
                            f"ORDER BY id {order} LIMIT 1")).first()
    return None if row is None else (int(row[0]), row[1])


def undo(conn: Connection) -> str | None:
    cmd = _next(conn, undoing=True)
    if cmd is None:
        return None
    for tbl, row_id, before, _ in _changes(conn, cmd[0], desc=True):
        apply(conn, tbl, row_id, _dec(before))
    conn.execute(text("UPDATE commands SET state = 'undone' WHERE id = :c"), {"c": cmd[0]})
    return cmd[1]


def redo(conn: Connection) -> str | None:
    cmd = _next(conn, undoing=False)
    if cmd is None:
        return None
    for tbl, row_id, _, after in _changes(conn, cmd[0], desc=False):
        apply(conn, tbl, row_id, _dec(after))
    conn.execute(text("UPDATE commands SET state = 'done' WHERE id = :c"), {"c": cmd[0]})
    return cmd[1]


def undo_text(conn: Connection) -> str | None:
    cmd = _next(conn, undoing=True)
    return None if cmd is None else cmd[1]


def redo_text(conn: Connection) -> str | None:
    cmd = _next(conn, undoing=False)
    return None if cmd is None else cmd[1]


def target_page(conn: Connection, undoing: bool) -> int | None:
    """The page the next undo (or redo) changes: that of its first stroke, layer or page row;
    None when it changes no page (a notebook) or there is nothing to undo."""
    nxt = _next(conn, undoing)
    if nxt is None:
        return None
    cmd = nxt[0]
    for tbl in ("strokes", "layers"):
        pid = conn.execute(text(f"SELECT t.page_id FROM command_changes c JOIN {tbl} t ON t.id = c.row_id "
                                f"WHERE c.command_id = :c AND c.tbl = '{tbl}' LIMIT 1"), {"c": cmd}).scalar()
        if pid is not None:
            return int(pid)
    pid = conn.execute(text("SELECT row_id FROM command_changes WHERE command_id = :c AND tbl = 'pages' "
                            "LIMIT 1"), {"c": cmd}).scalar()
    return None if pid is None else int(pid)


def history(conn: Connection) -> list[tuple[int, str, bool]]:
    """Every command oldest first with whether it is done; the undone ones form the redo tail."""
    return [(r[0], r[1], r[2] == "done") for r in conn.execute(
        text("SELECT id, description, state FROM commands ORDER BY id"))]
