"""The library API as the GUI, CLI and watch folder use it: pages in, strokes edited, undone, found."""
from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from inknotes.errors import LibraryError
from inknotes.ink import PageResult, Stroke, Word
from inknotes.store import Library


@pytest.fixture(autouse=True)
def _dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("INKNOTES_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("INKNOTES_DATA_DIR", str(tmp_path / "data"))


def make_page(n: int = 6, words: tuple[str, ...] = ("hello", "world"), size=(400, 300), source=None,
              color="#1a1a1a") -> PageResult:
    strokes = [Stroke.from_points([[20 + 40 * i, 100], [40 + 40 * i, 140], [50 + 40 * i, 100]], 2.0 + i * 0.1,
                                  color=color, t0=1000.0 * i) for i in range(n)]
    ws = [Word((20 + 80 * k, 90, 70, 60), t, 88.0, 0, [2 * k, 2 * k + 1]) for k, t in enumerate(words)]
    img = np.full((size[1], size[0], 3), 250, np.uint8)
    img[100:140, 20:300] = 30
    return PageResult(size=size, strokes=strokes, words=ws, dpi=200.0, source=source, engine="tracer",
                      image=img)


def line_page() -> PageResult:
    """One horizontal line from x=0 to x=200 at y=50, pen 2 px."""
    return PageResult(size=(300, 100), strokes=[Stroke.from_points([[0, 50], [200, 50]], 2.0)])


@pytest.fixture
def lib(tmp_path):
    library = Library.open(tmp_path / "notes.inknotes")
    yield library
    library.close()


def snapshot(lib: Library) -> tuple:
    """Everything a user sees of the library, for before/after comparisons."""
    pages = [(p.id, p.notebook, p.stroke_count, p.source_name) for p in lib.pages()]
    nbs = [(n.id, n.name, n.page_count) for n in lib.notebooks()]
    body = []
    for p in lib.pages():
        layers = [(x.id, x.name, x.visible, x.locked, x.order, round(x.opacity, 3)) for x in lib.layers(p.id)]
        strokes = [(s.layer_id, s.stroke.color, s.stroke.points.tobytes(), s.stroke.width.tobytes())
                   for s in lib.strokes(p.id)]
        body.append((layers, strokes))
    return pages, nbs, body


def test_add_page_keeps_strokes_words_image_exactly(lib):
    page = make_page()
    pid = lib.add_page(page, source_bytes=b"fake file bytes")
    info = lib.page_info(pid)
    assert (info.notebook, info.width, info.height, info.dpi) == ("Inbox", 400, 300, 200.0)
    assert info.stroke_count == 6
    assert info.sha256 == hashlib.sha256(b"fake file bytes").hexdigest()
    assert [(x.name, x.kind) for x in lib.layers(pid)] == [("Scan", "image"), ("Ink", "ink")]
    assert lib.layers(pid)[1].engine == "tracer"
    stored = lib.strokes(pid)
    assert len(stored) == 6
    for s, orig in zip(stored, page.strokes, strict=True):
        assert np.array_equal(s.stroke.points, orig.points)
        assert np.array_equal(s.stroke.width, orig.width)
        assert np.array_equal(s.stroke.time, orig.time)
        assert s.stroke.color == orig.color
    res = lib.page_result(pid)
    assert [w.text for w in res.words] == ["hello", "world"]
    assert res.words[1].stroke_ids == [2, 3]
    assert res.size == (400, 300) and res.dpi == 200.0
    assert np.array_equal(lib.page_image(pid), page.image)  # PNG kept losslessly


def test_source_file_is_kept_and_same_file_is_not_imported_twice(lib, tmp_path):
    src = tmp_path / "scan one.png"
    page = make_page(source=src)
    Image.fromarray(page.image).save(src)
    pid = lib.add_page(page, notebook="Physics")
    assert lib.page_info(pid).sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    assert lib.page_info(pid).source_name == "scan one.png"
    assert lib.add_page(page, notebook="Physics") == pid
    assert lib.find_page_by_sha(lib.page_info(pid).sha256) == pid
    assert len(lib.pages()) == 1
    again = lib.add_page(page, allow_duplicate=True)
    assert again != pid and len(lib.pages()) == 2
    src.unlink()  # the library is self-contained
    assert np.array_equal(lib.page_image(pid), page.image)
    assert [(n.name, n.page_count) for n in lib.notebooks()] == [("Physics", 1), ("Inbox", 1)]


def test_erase_split_cuts_a_line_in_two_and_undo_restores_it(lib):
    pid = lib.add_page(line_page())
    new = lib.erase(pid, np.array([[100, 30], [100, 70]], np.float32), radius=5)
    assert len(new) == 2
    pieces = sorted((s.stroke for s in lib.strokes(pid)), key=lambda s: s.points[0, 0])
    assert len(pieces) == 2
    left, right = pieces
    assert left.points[0, 0] == 0 and 90 <= left.points[-1, 0] < 95
    assert 105 < right.points[0, 0] <= 110 and right.points[-1, 0] == 200
    assert lib.strokes_at(pid, 100, 50, 1) == []
    assert lib.undo() == "Erase 1 stroke"
    (whole,) = lib.strokes(pid)
    assert np.array_equal(whole.stroke.points, np.float32([[0, 50], [200, 50]]))
    lib.redo()
    assert len(lib.strokes(pid)) == 2


def test_erase_whole_deletes_touched_strokes_only(lib):
    pid = lib.add_page(make_page())
    ids = [s.id for s in lib.strokes(pid)]
    gone = lib.erase(pid, np.array([[45, 90], [45, 150]]), radius=3, mode="whole")  # crosses stroke 0 only
    assert gone == [ids[0]]
    assert [s.id for s in lib.strokes(pid)] == ids[1:]
    assert lib.erase(pid, np.array([[390, 290]]), radius=3) == []
    assert lib.undo_text() == "Erase 1 stroke"  # a miss records no step


DOT = Stroke.from_points([[1, 1], [9, 9]], 3)
EDITS = {
    "add_stroke": lambda lib, pid, ids, lay: lib.add_stroke(pid, lay[1], DOT),
    "paste": lambda lib, pid, ids, lay: lib.add_strokes(pid, lay[2], [DOT, DOT.translated(5, 5)], "paste"),
    "delete_strokes": lambda lib, pid, ids, lay: lib.delete_strokes(ids[:2]),
    "erase_split": lambda lib, pid, ids, lay: lib.erase(pid, np.array([[30, 80], [30, 160]]), 3),
    "erase_whole": lambda lib, pid, ids, lay: lib.erase(pid, np.array([[30, 80], [30, 160]]), 3, "whole"),
    "recolor": lambda lib, pid, ids, lay: lib.recolor(ids[1:3], "#ff0000"),
    "set_width": lambda lib, pid, ids, lay: lib.set_width(ids, width=7.5),
    "scale_width": lambda lib, pid, ids, lay: lib.set_width(ids[:1], scale=2.0),
    "transform": lambda lib, pid, ids, lay: lib.transform(ids[:3], np.array([[1.5, 0, 10], [0, 1.5, -5]])),
    "move_to_layer": lambda lib, pid, ids, lay: lib.move_to_layer(ids[:2], lay[2]),
    "merge": lambda lib, pid, ids, lay: lib.merge_strokes(ids[:3]),
    "split": lambda lib, pid, ids, lay: lib.split_stroke(ids[0], 1),
    "rename_layer": lambda lib, pid, ids, lay: lib.rename_layer(lay[1], "Pen"),
    "reorder_layer": lambda lib, pid, ids, lay: lib.reorder_layer(lay[2], 0),
    "hide_layer": lambda lib, pid, ids, lay: lib.set_layer_visible(lay[1], False),
    "lock_layer": lambda lib, pid, ids, lay: lib.set_layer_locked(lay[1], True),
    "opacity": lambda lib, pid, ids, lay: lib.set_layer_opacity(lay[1], 0.4),
    "delete_layer": lambda lib, pid, ids, lay: lib.delete_layer(lay[1]),
    "add_layer": lambda lib, pid, ids, lay: lib.add_layer(pid, "Notes"),
    "delete_page": lambda lib, pid, ids, lay: lib.delete_page(pid),
    "rename_page": lambda lib, pid, ids, lay: lib.rename_page(pid, "Lecture 3"),
    "rename_notebook": lambda lib, pid, ids, lay: lib.rename_notebook(lib.page_info(pid).notebook_id, "Work"),
    "delete_notebook": lambda lib, pid, ids, lay: lib.delete_notebook(lib.page_info(pid).notebook_id),
}


@pytest.mark.parametrize("name", sorted(EDITS))
def test_every_edit_undoes_and_redoes(lib, name):
    pid = lib.add_page(make_page())
    extra = lib.add_layer(pid, "Extra")
    lay = [x.id for x in lib.layers(pid)]
    assert lay[2] == extra
    ids = [s.id for s in lib.strokes(pid, lay[1])]
    before = snapshot(lib)
    EDITS[name](lib, pid, ids, lay)
    after = snapshot(lib)
    assert after != before, f"{name} changed nothing"
    # the page the app shows before undoing (history is library-wide); notebooks have none
    page = None if name.endswith("_notebook") else pid
    assert lib.undo_page() == page
    assert lib.undo() is not None
    assert snapshot(lib) == before
    assert lib.can_redo() and lib.redo_page() == page
    lib.redo()
    assert snapshot(lib) == after


def test_undo_history_survives_reopening(tmp_path):
    path = tmp_path / "n.inknotes"
    with Library.open(path) as lib:
        pid = lib.add_page(make_page())
        ids = [s.id for s in lib.strokes(pid)]
        lib.recolor(ids, "#0000ff")
        lib.delete_strokes(ids[:1])
        assert [d for _, d in lib.history()] == ["Recolour 6 strokes", "Delete 1 stroke"]
    with Library.open(path) as lib:
        assert lib.undo_text() == "Delete 1 stroke"
        lib.undo()
        lib.undo()
        assert {s.stroke.color for s in lib.strokes(pid)} == {"#1a1a1a"} and len(lib.strokes(pid)) == 6
        assert not lib.can_undo() and lib.redo_text() == "Recolour 6 strokes"
    with Library.open(path) as lib:
        lib.redo()
        lib.set_width(ids[:1], width=4.0)  # a new edit drops the rest of the redo list
        assert not lib.can_redo()
        assert [d for _, d in lib.history()] == ["Recolour 6 strokes", "Change width of 1 stroke"]


def test_hit_tests_respect_geometry_and_layer_state(lib):
    pid = lib.add_page(line_page())
    (sid,) = [s.id for s in lib.strokes(pid)]
    assert lib.strokes_at(pid, 150, 52, 1.5) == [sid]      # 2 px off the centre line, pen half-width 1
    assert lib.strokes_at(pid, 150, 55, 1.5) == []
    assert lib.strokes_at(pid, 210, 50, 5) == []           # beyond the end
    assert lib.strokes_in_rect(pid, (90, 40, 110, 60)) == [sid]
    assert lib.strokes_in_rect(pid, (90, 40, 110, 60), whole=True) == []
    assert lib.strokes_in_rect(pid, (-5, 40, 205, 60), whole=True) == [sid]
    lasso = np.array([[120, 0], [140, 0], [140, 100], [120, 100]], np.float32)
    assert lib.strokes_in_lasso(pid, lasso) == [sid]
    assert lib.strokes_in_lasso(pid, lasso + [0, 60]) == []
    ink = lib.layers(pid)[1].id
    lib.set_layer_locked(ink, True)
    assert lib.strokes_at(pid, 150, 50, 2) == []           # locked layers cannot be picked or erased
    assert lib.erase(pid, np.array([[100, 50]]), 5) == []
    lib.undo()
    lib.set_layer_visible(ink, False)
    assert lib.strokes_in_rect(pid, (0, 0, 300, 100)) == []
    assert lib.page_result(pid).strokes == []              # hidden layers are not exported


def test_hit_test_ignores_other_pages_at_the_same_place(lib):
    a = lib.add_page(line_page(), sha256="a")
    b = lib.add_page(line_page(), sha256="b")
    assert a != b
    assert lib.strokes_at(a, 100, 50, 1) == [lib.strokes(a)[0].id]


def test_page_result_exports_the_edited_strokes(lib):
    pid = lib.add_page(make_page())
    ids = [s.id for s in lib.strokes(pid)]
    lib.recolor(ids[:1], "#c00000")
    lib.delete_strokes(ids[5:])
    notes = lib.add_layer(pid, "Notes")
    lib.add_stroke(pid, notes, Stroke.from_points([[5, 5], [50, 5]], 1.0, color="#00a000"))
    res = lib.page_result(pid)
    assert [s.color for s in res.strokes] == ["#c00000"] + ["#1a1a1a"] * 4 + ["#00a000"]
    assert res.words[0].stroke_ids == [0, 1]
    only_notes = lib.page_result(pid, layer_ids=[notes])
    assert len(only_notes.strokes) == 1


def test_reorder_layers_moves_drawing_order(lib):
    pid = lib.add_page(make_page())
    scan, ink = [x.id for x in lib.layers(pid)]
    top = lib.add_layer(pid, "Top")
    lib.reorder_layer(top, 0)
    assert [x.id for x in lib.layers(pid)] == [top, scan, ink]
    assert [x.order for x in lib.layers(pid)] == [0, 1, 2]


def test_merge_and_split_strokes(lib):
    pid = lib.add_page(make_page())
    ids = [s.id for s in lib.strokes(pid)]
    merged = lib.merge_strokes(ids[:2])
    assert len(lib.stroke(merged).stroke) == 6
    a, b = lib.split_stroke(merged, 4)
    assert (len(lib.stroke(a).stroke), len(lib.stroke(b).stroke)) == (4, 2)
    with pytest.raises(LibraryError, match="cannot be split"):
        lib.split_stroke(a, 0)


def test_search_finds_words_and_forgets_deleted_pages(lib):
    p1 = lib.add_page(make_page(words=("Photosynthesis", "chlorophyll")), notebook="Biology", sha256="1")
    p2 = lib.add_page(make_page(words=("photon", "energy")), sha256="2")
    hits = lib.search("photo")
    assert {(h.page_id, h.text) for h in hits} == {(p1, "Photosynthesis"), (p2, "photon")}
    h = next(h for h in hits if h.page_id == p1)
    assert h.box == (20.0, 90.0, 70.0, 60.0) and h.notebook == "Biology"
    assert [x.text for x in lib.search("CHLOROPHYLL")] == ["chlorophyll"]
    assert lib.search("") == [] and lib.search('"*') == []
    lib.delete_page(p1)
    assert [x.page_id for x in lib.search("photo")] == [p2]
    lib.undo()
    assert len(lib.search("photo")) == 2
    lib.delete_notebook(lib.page_info(p1).notebook_id)
    assert [x.page_id for x in lib.search("photo")] == [p2]


def test_several_search_words_find_the_pages_holding_all_of_them(lib):
    p1 = lib.add_page(make_page(words=("entropy", "lecture", "notes")), sha256="1")
    lib.add_page(make_page(words=("entropy", "exam")), sha256="2")
    hits = lib.search("entr lect")
    assert {(h.page_id, h.text) for h in hits} == {(p1, "entropy"), (p1, "lecture")}
    assert lib.search("zebra entropy") == []  # one word on no page: nothing, not every entropy
    assert len(lib.search("entropy")) == 2


def test_ingest_rows_track_the_watch_folder(lib):
    assert lib.ingest_get("abc") is None
    row = lib.ingest_record("abc", "/in/a.jpg", "running", attempt=True)
    assert (row.state, row.attempts, row.last_error) == ("running", 1, None)
    row = lib.ingest_record("abc", "/in/a.jpg", "failed", error="Not an image.", attempt=True)
    assert (row.state, row.attempts, row.last_error) == ("failed", 2, "Not an image.")
    lib.ingest_record("abc", "/in/a.jpg", "done", page_id=7)
    lib.ingest_record("def", "/in/b.jpg", "queued")
    assert lib.ingest_get("abc").page_id == 7
    assert [r.sha256 for r in lib.ingest_rows("queued")] == ["def"]
    assert len(lib.ingest_rows()) == 2


def test_open_refuses_what_is_not_a_library(tmp_path):
    txt = tmp_path / "notes.txt"
    txt.write_text("shopping list")
    with pytest.raises(LibraryError, match="not an inknotes library") as e:
        Library.open(txt)
    assert e.value.path == str(txt)
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(LibraryError, match="not an inknotes library"):
        Library.open(other)
    with pytest.raises(LibraryError, match="no library"):
        Library.open(tmp_path / "missing.inknotes", create=False)
    with pytest.raises(LibraryError, match="folder"):
        Library.open(tmp_path)


def test_newer_library_is_refused_clearly(tmp_path):
    path = tmp_path / "future.inknotes"
    Library.open(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    con.commit()
    con.close()
    with pytest.raises(LibraryError, match="newer version of inknotes"):
        Library.open(path)


def test_older_library_is_upgraded_with_its_pages(tmp_path):
    from alembic import command
    from sqlalchemy import create_engine

    from inknotes.store import schema

    path = tmp_path / "old.inknotes"
    with Library.open(path) as lib:
        pid = lib.add_page(make_page())
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as c:
        command.downgrade(schema.alembic_config(c), "0001")
    with engine.connect() as c:
        assert schema.current_revision(c) == "0001"
    engine.dispose()
    with Library.open(path) as lib:
        assert len(lib.strokes(pid)) == 6 and lib.search("hello")
        assert lib.ingest_record("x", "/a", "queued").state == "queued"  # table from revision 0002
        ink = lib.layers(pid)[1].id
        sid = lib.add_stroke(pid, ink, Stroke.from_points([[300, 20], [380, 20]], 2.0))
        assert lib.strokes_at(pid, 340, 20, 1) == [sid]               # spatial index still in sync
        lib.erase(pid, np.array([[340, 0], [340, 40]]), 3)
        assert len(lib.page_result(pid).strokes) == 8                 # 6 + the new line cut in two


def test_closed_library_says_so(tmp_path):
    lib = Library.open(tmp_path / "c.inknotes")
    lib.close()
    with pytest.raises(LibraryError, match="closed"):
        lib.pages()


def test_old_history_is_forgotten_and_its_deleted_strokes_purged(lib, monkeypatch):
    from inknotes.store import commands

    monkeypatch.setattr(commands, "MAX_HISTORY", 3)
    monkeypatch.setattr(commands, "TRIM_BATCH", 1)
    pid = lib.add_page(make_page())
    ids = [s.id for s in lib.strokes(pid)]
    for sid in ids[:5]:
        lib.delete_strokes([sid])
    assert len(lib.history()) == 3
    with pytest.raises(LibraryError, match="not in the library"):
        lib.stroke(ids[0])                      # no command can bring it back: gone for good
    while lib.undo():
        pass
    assert [s.id for s in lib.strokes(pid)] == ids[2:]


def test_damaged_library_is_reported_not_crashed(tmp_path):
    path = tmp_path / "broken.inknotes"
    path.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 40)
    with pytest.raises(LibraryError, match="damaged|not an inknotes library") as e:
        Library.open(path)
    assert e.value.path == str(path)


def test_reprocess_adds_an_undoable_ink_layer_from_the_stored_image(lib, tmp_path, monkeypatch):
    import inknotes.pipeline as pipeline

    src = tmp_path / "page.png"
    page = make_page(source=src)
    Image.fromarray(page.image).save(src)
    pid = lib.add_page(page)
    src.unlink()
    seen = {}

    def convert_file(path, engine_name="tracer", engine_options=None, **kw):
        seen["image"] = np.asarray(Image.open(path).convert("RGB"))
        seen["engine"] = (engine_name, engine_options)
        return [make_page(n=2, color="#0000aa")]
    monkeypatch.setattr(pipeline, "convert_file", convert_file)
    layer = lib.reprocess(pid, "inksight", mode="vanilla")
    assert np.array_equal(seen["image"], page.image)
    assert seen["engine"] == ("inksight", {"mode": "vanilla"})
    assert [x.name for x in lib.layers(pid)] == ["Scan", "Ink", "Ink (inksight)"]
    assert [s.stroke.color for s in lib.strokes(pid, layer)] == ["#0000aa"] * 2
    assert lib.undo() == "Convert again with inksight"
    assert len(lib.layers(pid)) == 2


def test_words_keep_their_ink_after_it_is_cut_or_merged(lib):
    pid = lib.add_page(make_page())  # word "hello" owns strokes 0 and 1
    ids = [s.id for s in lib.strokes(pid)]
    lib.erase(pid, np.array([[30, 80], [30, 160]]), 2)        # cuts stroke 0 into two pieces
    lib.split_stroke(ids[1], 1)
    res = lib.page_result(pid)
    hello = res.words[0]
    assert len(hello.stroke_ids) >= 4
    xs = np.concatenate([res.strokes[i].points[:, 0] for i in hello.stroke_ids])
    assert xs.min() >= 20 and xs.max() <= 90                      # strokes 0 and 1 span x 20..90
    assert res.words[1].stroke_ids == [i for i, s in enumerate(res.strokes) if 100 <= s.points[0, 0] < 180]


def test_two_notebooks_cannot_share_a_name(lib):
    a = lib.create_notebook("Physics")
    b = lib.create_notebook("Maths")
    with pytest.raises(LibraryError, match="named Physics already"):
        lib.rename_notebook(b, "Physics")
    lib.rename_notebook(a, "Physics")  # its own name again is no clash (and no undo step)
    assert sorted(n.name for n in lib.notebooks()) == ["Maths", "Physics"]


def test_pages_move_between_and_within_notebooks_as_one_undo_step_each(lib):
    a, b, c = (lib.add_page(line_page(), "Physics", created=t) for t in (10.0, 20.0, 30.0))
    other = lib.add_page(line_page(), "Maths", created=5.0)
    physics, maths = lib.page_info(a).notebook_id, lib.page_info(other).notebook_id

    def order(nb):
        return [p.id for p in lib.pages(nb)]

    lib.move_page(c, physics, before=a)  # last to first
    assert order(physics) == [c, a, b]
    assert lib.undo_text() == f"Move page {c}"
    lib.move_page(a, maths)  # to the end of another notebook
    assert order(physics) == [c, b] and order(maths) == [other, a]
    assert lib.undo_text() == f"Move page {a} to Maths"
    lib.move_page(b, maths, before=other)
    assert order(maths) == [b, other, a] and order(physics) == [c]
    lib.undo()
    lib.undo()
    assert order(physics) == [c, a, b] and order(maths) == [other]
    lib.undo()
    assert order(physics) == [a, b, c]
    lib.redo()
    assert order(physics) == [c, a, b]
    with pytest.raises(LibraryError, match="not in the notebook"):
        lib.move_page(a, maths, before=b)


def test_a_page_moves_between_pages_of_one_multi_page_file(lib):
    first, second = (lib.add_page(replace(line_page(), page_index=i, page_count=2), "Scans", created=50.0)
                     for i in range(2))
    loose = lib.add_page(line_page(), "Scans", created=60.0)
    nb = lib.page_info(first).notebook_id
    lib.move_page(loose, nb, before=second)  # the two pages share one sort key
    assert [p.id for p in lib.pages(nb)] == [first, loose, second]
    lib.move_page(loose, nb, before=first)
    assert [p.id for p in lib.pages(nb)] == [loose, first, second]
    lib.undo()
    lib.undo()
    assert [p.id for p in lib.pages(nb)] == [first, second, loose]
