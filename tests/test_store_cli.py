"""``inknotes import | pages | export | search`` as a user runs them."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from lxml import etree

from inknotes.cli import main
from inknotes.ink import PageResult, Stroke, Word
from inknotes.store import Library
from inknotes.store.cli import export_names

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("INKNOTES_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("INKNOTES_DATA_DIR", str(tmp_path / "data"))


def _page(name: str, words: tuple[str, ...], n: int = 4) -> PageResult:
    strokes = [Stroke.from_points([[10 + 30 * i, 40], [30 + 30 * i, 60]], 2.0) for i in range(n)]
    ws = [Word((10 + 60 * k, 30, 50, 40), t, 90, 0, [k]) for k, t in enumerate(words)]
    return PageResult(size=(300, 120), strokes=strokes, words=ws, source=Path("/scans") / name,
                      image=np.full((120, 300, 3), 255, np.uint8))


@pytest.fixture
def library(tmp_path):
    path = tmp_path / "L.inknotes"
    with Library.open(path) as lib:
        a = lib.add_page(_page("monday.jpg", ("groceries", "milk")), notebook="Home", sha256="a")
        lib.add_page(_page("tuesday.jpg", ("meeting", "budget"), n=3), sha256="b")
        lib.add_page(_page("monday.jpg", ("second", "copy")), sha256="c")
        lib.delete_strokes([lib.strokes(a)[0].id])  # an edit the export must show
    return path


def test_pages_lists_one_line_per_page(library, capsys):
    assert main(["pages", "--library", str(library)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t") for line in lines] == [
        ["1", "Home", "monday.jpg", "3"], ["2", "Inbox", "tuesday.jpg", "3"],
        ["3", "Inbox", "monday.jpg", "4"]]


def test_search_prints_page_file_word_and_box(library, capsys):
    assert main(["search", "--library", str(library), "budg"]) == 0
    assert capsys.readouterr().out.splitlines() == ["2\tInbox\ttuesday.jpg\tbudget\t70,30,50,40"]
    assert main(["search", "--library", str(library), "meet", "budg"]) == 0  # no quotes needed
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_export_writes_edited_strokes_with_unique_names(library, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["export", "--library", str(library), "--all", "--format", "inkml,svg", "-o", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["monday-3.inkml", "monday-3.svg", "monday.inkml", "monday.svg", "tuesday.inkml",
                     "tuesday.svg"]
    traces = etree.parse(str(out / "monday.inkml")).getroot().findall(".//{*}trace")
    assert len(traces) == 3  # 4 converted, 1 deleted in the library


def test_export_of_one_notebook_writes_only_its_pages(library, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["export", "--library", str(library), "--notebook", "Inbox", "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["monday.inkml", "tuesday.inkml"]
    assert main(["export", "--library", str(library), "--notebook", "Work", "-o", str(out)]) == 1
    assert "no notebook named 'Work'" in capsys.readouterr().err


def test_export_reports_a_missing_page_and_goes_on(library, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["export", "--library", str(library), "--page", "2", "--page", "99", "--format", "inkml",
               "-o", str(out)])
    assert rc == 1
    assert "Page 99 is not in the library." in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["tuesday.inkml"]


def test_commands_on_a_missing_library_say_so(tmp_path, capsys):
    assert main(["pages", "--library", str(tmp_path / "nope.inknotes")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("inknotes: ") and "no library" in err
    assert not (tmp_path / "nope.inknotes").exists()


def test_import_reports_bad_files_and_keeps_going(tmp_path, capsys):
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    rc = main(["import", str(bad), str(tmp_path / "missing.jpg"), "--library", str(tmp_path / "L.inknotes")])
    err = capsys.readouterr().err
    assert rc == 1
    assert f"inknotes: {bad}: " in err and f"inknotes: {tmp_path / 'missing.jpg'}: " in err
    assert "Traceback" not in err


def test_export_names_add_page_id_on_clashes():
    assert export_names([(1, "a"), (2, "b"), (5, "A"), (7, "a")]) == {1: "a", 2: "b", 5: "A-5", 7: "a-7"}


def test_import_converts_stores_and_does_not_duplicate(tmp_path):
    lib_path = tmp_path / "L.inknotes"
    img = DATA / "watch_andrew.png"
    cmd = [sys.executable, "-m", "inknotes.cli"]
    run = subprocess.run([*cmd, "import", str(img), "--library", str(lib_path), "--notebook", "Letters"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    with Library.open(lib_path) as lib:
        (page,) = lib.pages()
        assert page.notebook == "Letters" and page.source_name == img.name and page.stroke_count >= 1
        assert lib.page_image(page.id) is not None
        # the stored ink is the whole word: its strokes span most of the image's width
        pts = np.concatenate([s.stroke.points for s in lib.strokes(page.id)])
        assert np.ptp(pts[:, 0]) > 0.7 * page.width
    again = subprocess.run([*cmd, "import", str(img), "--library", str(lib_path)], capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0 and "already in the library" in again.stdout
    with Library.open(lib_path) as lib:
        assert len(lib.pages()) == 1


def test_a_damaged_library_is_one_sentence_without_traceback(library, tmp_path):
    damaged = tmp_path / "damaged.inknotes"
    damaged.write_bytes(library.read_bytes()[:3000])  # the SQLite header survives, the pages do not
    run = subprocess.run([sys.executable, "-m", "inknotes.cli", "pages", "--library", str(damaged)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert run.stderr.splitlines() == [f"inknotes: {damaged}: The library file is damaged or is not an "
                                       "inknotes library; restore it from a backup."]


def test_import_refuses_a_pipe_named_like_an_image(tmp_path):
    fifo = tmp_path / "scan.png"
    os.mkfifo(fifo)
    run = subprocess.run([sys.executable, "-m", "inknotes.cli", "import", str(fifo), "--library",
                          str(tmp_path / "L.inknotes")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert run.stderr.splitlines() == [f"inknotes: {fifo}: This is not a regular file (a pipe or device); "
                                       "choose an image file."]


def test_import_and_list_a_file_whose_name_is_not_utf8(tmp_path):
    src = DATA / "watch_andrew.png"
    odd = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9.png"))
    odd.write_bytes(src.read_bytes())
    lib = str(tmp_path / "L.inknotes")
    run = subprocess.run([sys.executable, "-m", "inknotes.cli", "import", str(odd), "--library", lib],
                         capture_output=True, text=True, errors="replace", timeout=300)
    assert run.returncode == 0 and run.stderr == "", run.stderr
    pages = subprocess.run([sys.executable, "-m", "inknotes.cli", "pages", "--library", lib],
                           capture_output=True, text=True, timeout=60)
    assert pages.stdout.split("\t")[2] == "caf\ufffd.png"


def test_output_into_a_closed_pipe_is_not_a_traceback(library):
    # `inknotes pages | head -1`: head exits and the rest of the listing has nowhere to go
    read, write = os.pipe()
    os.close(read)
    run = subprocess.run([sys.executable, "-m", "inknotes.cli", "pages", "--library", str(library)],
                         stdout=write, stderr=subprocess.PIPE, text=True, timeout=120)
    os.close(write)
    assert run.returncode == 1 and "Traceback" not in run.stderr and run.stderr == ""


def test_verbosity_counts_before_and_after_the_command():
    from inknotes.cli import build_parser

    parser = build_parser()
    for argv, level in ((["-vv", "pages"], 2), (["pages", "-vv"], 2), (["search", "-v", "milk"], 1),
                        (["import", "-v", "x.png"], 1), (["-v", "convert", "x.png"], 1), (["pages"], 0),
                        (["-vv", "convert", "x.png", "-v"], 3), (["model", "add", "m", "-v"], 1)):
        args = parser.parse_args(argv)
        assert args.verbose + getattr(args, "verbose_after", 0) == level, argv


def test_no_match_and_no_such_notebook_are_said(library, capsys):
    assert main(["search", "--library", str(library), "zebra"]) == 0
    out = capsys.readouterr()
    assert out.out == "" and "No recognised word matches 'zebra'" in out.err
    assert main(["pages", "--library", str(library), "--notebook", "Work"]) == 1
    err = capsys.readouterr().err
    assert "no notebook named 'Work'" in err and "Home, Inbox" in err


def test_import_into_a_closed_pipe_or_full_stdout_does_not_blame_the_images(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):  # different bytes, same page
        (src / f"w{i}.png").write_bytes((DATA / "watch_andrew.png").read_bytes() + bytes([i]))
    read, write = os.pipe()
    os.close(read)  # `| head` that has already quit
    cmd = [sys.executable, "-m", "inknotes.cli", "import", str(src), "-L", str(tmp_path / "a")]
    run = subprocess.run(cmd, stdout=write, stderr=subprocess.PIPE, text=True, timeout=300)
    os.close(write)
    assert run.returncode == 1 and run.stderr == ""
    if Path("/dev/full").exists():
        with open("/dev/full", "w") as full:
            run = subprocess.run([sys.executable, "-m", "inknotes.cli", "import", str(src), "-L",
                                  str(tmp_path / "b")], stdout=full, stderr=subprocess.PIPE, text=True,
                                 timeout=300)
        assert run.returncode == 1 and "Cannot read the file" not in run.stderr
        assert run.stderr.splitlines() == ["inknotes: Cannot write the list of imported pages (No space left "
                                           "on device); the import stops."]
