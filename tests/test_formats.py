"""Export formats: each file opens in the tools people use and keeps the ink they see."""
from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inknotes.errors import InknotesError, InputError, OutputError
from inknotes.formats import FORMATS, parse_formats, read_inkml, write_page, write_pdf_pages
from inknotes.ink import PageResult, Stroke, Word, retime_in_order

SHARED_TOOLS = Path("/work/shared/tools")
W, H, DPI = 600, 300, 150.0


def _curve(x0: float, y0: float, scale: float = 1.0) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 40)
    return np.c_[x0 + scale * (20 * t + 8 * np.sin(3 * t)), y0 + scale * 15 * np.cos(2 * t)]


@pytest.fixture
def page() -> PageResult:
    """'hello' (3 black strokes), 'world' (2 blue strokes), a red tick and a dot outside words."""
    strokes = []
    for k in range(3):
        p = _curve(60 + 45 * k, 100)
        strokes.append(Stroke.from_points(p, 3 + 1.5 * np.sin(np.linspace(0, 3, len(p))), "#1a1a1a"))
    for k in range(2):
        p = _curve(330 + 50 * k, 105, 1.1)
        strokes.append(Stroke.from_points(p, np.linspace(2, 5, len(p)), "#1f4fbf"))
    strokes.append(Stroke.from_points(np.array([[520.0, 200.0], [540.0, 215.0], [560.0, 205.0]]), 4.0,
                                      "#c0392b"))
    strokes.append(Stroke.from_points(np.array([[300.0, 250.0]]), 6.0))
    words = [Word((50, 75, 200, 55), "hello", 91.0, 0, [0, 1, 2]),
             Word((320, 75, 175, 60), "world", 88.5, 0, [3, 4])]
    yy, xx = np.mgrid[0:H, 0:W]
    scan = np.stack([240 - (xx % 40 == 0) * 80, np.full_like(xx, 235), 220 - yy // 10], -1).astype(np.uint8)
    return PageResult(size=(W, H), strokes=retime_in_order(strokes), words=words, dpi=DPI,
                      source=Path("/notes/monday.jpg"), image=scan)


def test_parse_formats_names_the_valid_ones():
    assert parse_formats("inkml, PDF,inkml") == ["inkml", "pdf"]
    with pytest.raises(InknotesError) as e:
        parse_formats("inkml,docx")
    assert "docx" in str(e.value) and all(f in str(e.value) for f in FORMATS)


# ------------------------------------------------------------------ InkML


def test_inkml_round_trip_keeps_ink_and_words(page, tmp_path):
    out = write_page(page, "inkml", tmp_path / "p.inkml")
    back = read_inkml(out)
    assert back.size == (W, H) and back.dpi == DPI
    assert len(back.strokes) == len(page.strokes)
    for a, b in zip(page.strokes, back.strokes, strict=True):
        assert np.abs(a.points - b.points).max() < 0.01
        assert np.abs(a.width - b.width).max() < 0.01
        assert np.abs(a.time - b.time).max() < 0.01
        assert a.color == b.color
    assert [(w.text, w.stroke_ids) for w in back.words] == [("hello", [0, 1, 2]), ("world", [3, 4])]
    assert back.words[1].box == pytest.approx((320, 75, 175, 60))


def test_inkml_non_contiguous_word_keeps_drawing_order(page, tmp_path):
    page.words[0].stroke_ids = [0, 2]  # stroke 1 belongs to no word: no group may reorder it
    back = read_inkml(write_page(page, "inkml", tmp_path / "p.inkml"))
    firsts = [tuple(s.points[0]) for s in back.strokes]
    assert firsts == [tuple(s.points[0]) for s in page.strokes]
    assert back.words[0].text == "hello" and back.words[0].stroke_ids == [0, 2]


def test_inkml_is_standard_and_evaluation_reader_reads_it(page, tmp_path):
    out = write_page(page, "inkml", tmp_path / "p.inkml")
    root = ET.parse(out).getroot()
    ns = "{http://www.w3.org/2003/InkML}"
    assert root.tag == ns + "ink"
    channels = [c.get("name") for c in root.iter(ns + "channel")]
    assert channels[:3] == ["X", "Y", "T"]
    props = {p.get("name") for p in root.iter(ns + "brushProperty")}
    assert {"width", "color"} <= props
    trans = [a.text for a in root.iter(ns + "annotation") if a.get("type") == "transcription"]
    assert trans == ["hello", "world"]
    traces = list(root.iter(ns + "trace"))  # document order
    assert len(traces) == len(page.strokes)
    assert all(t.get("brushRef", "").startswith("#") for t in traces)
    if not (SHARED_TOOLS / "inkml_io.py").exists():
        pytest.skip("the evaluation tools folder is not present")
    sys.path.insert(0, str(SHARED_TOOLS))
    try:
        import inkml_io
    finally:
        sys.path.remove(str(SHARED_TOOLS))
    got = inkml_io.read(out)
    assert len(got) == len(page.strokes)
    for a, b in zip(page.strokes, got, strict=True):
        assert np.abs(a.points - b).max() < 0.01


def test_inkml_refuses_external_entities(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    bad = tmp_path / "xxe.inkml"
    bad.write_text(f'<?xml version="1.0"?><!DOCTYPE ink [<!ENTITY x SYSTEM "file://{secret}">]>'
                   '<ink xmlns="http://www.w3.org/2003/InkML"><trace>1 2, 3 4</trace>'
                   '<annotation type="transcription">&x;</annotation></ink>')
    with pytest.raises(InputError) as e:
        read_inkml(bad)
    assert "TOP-SECRET" not in str(e.value) and e.value.path == str(bad)


def test_inkml_refuses_billion_laughs(tmp_path):
    ents = ['<!ENTITY l0 "lol">']
    ents += [f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)]
    bad = tmp_path / "bomb.inkml"
    bad.write_text(f'<?xml version="1.0"?><!DOCTYPE ink [{"".join(ents)}]>'
                   '<ink xmlns="http://www.w3.org/2003/InkML"><annotation>&l9;</annotation></ink>')
    with pytest.raises(InputError):
        read_inkml(bad)


def test_inkml_malformed_file_gives_a_sentence(tmp_path):
    bad = tmp_path / "cut.inkml"
    bad.write_text('<ink xmlns="http://www.w3.org/2003/InkML"><trace>1 2, 3')
    with pytest.raises(InputError) as e:
        read_inkml(bad)
    assert str(e.value).endswith(".") and "\n" not in str(e.value)


# ------------------------------------------------------------------ PDF


def _pdftotext(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_pdf_page_size_and_searchable_words(page, tmp_path):
    out = write_page(page, "pdf", tmp_path / "p.pdf")
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    assert b"/MediaBox [ 0 0 288 144 ]" in data  # 600 x 300 px at 150 dpi
    assert b"(monday)" in data  # document title is the source stem
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = _pdftotext(out)
    assert "hello" in text and "world" in text


def test_pdf_background_embeds_the_scan(page, tmp_path):
    plain = write_page(page, "pdf", tmp_path / "a.pdf").read_bytes()
    under = write_page(page, "pdf", tmp_path / "b.pdf", background=True).read_bytes()
    assert b"/Subtype /Image" in under and b"/Subtype /Image" not in plain


def test_pdf_pages_gives_one_page_each(page, tmp_path):
    out = write_pdf_pages([page, page, page], tmp_path / "all.pdf")
    assert out.read_bytes().count(b"/Type /Page\n") + out.read_bytes().count(b"/Type /Page ") >= 3
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
        assert "Pages:           3" in info


# ------------------------------------------------------------------ SVG


def test_svg_view_box_and_one_group_per_stroke(page, tmp_path):
    out = write_page(page, "svg", tmp_path / "p.svg")
    root = ET.parse(out).getroot()
    assert root.get("viewBox") == f"0 0 {W} {H}" and root.get("width") == f"{W}px"
    groups = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "stroke"]
    assert [g.get("stroke") for g in groups] == [s.color for s in page.strokes]
    assert all(g.get("stroke-linecap") == "round" for g in groups)
    widths = {float(p.get("stroke-width")) for p in groups[3].iter("{http://www.w3.org/2000/svg}path")}
    assert len(widths) > 3  # the pen width varies along the stroke
    assert not list(root.iter("{http://www.w3.org/2000/svg}image"))
    bg = ET.parse(write_page(page, "svg", tmp_path / "b.svg", background=True)).getroot()
    assert len(list(bg.iter("{http://www.w3.org/2000/svg}image"))) == 1


# ------------------------------------------------------------------ PNG


def test_png_transparent_with_opaque_ink(page, tmp_path):
    img = np.asarray(Image.open(write_page(page, "png", tmp_path / "p.png")))
    assert img.shape == (H, W, 4)
    assert img[10, 10, 3] == 0 and img[280, 100, 3] == 0  # away from ink
    x, y = page.strokes[0].points[20].round().astype(int)
    assert img[y, x, 3] == 255 and img[y, x, :3].max() < 60  # dark ink on the stroke
    x, y = page.strokes[3].points[30].round().astype(int)
    assert img[y, x, 3] == 255 and img[y, x, 2] > 150 > img[y, x, 0]  # blue stays blue


def test_png_white_and_over_scan(page, tmp_path):
    white = np.asarray(Image.open(write_page(page, "png", tmp_path / "w.png", transparent=False)))
    assert white.shape == (H, W, 3) and tuple(white[10, 10]) == (255, 255, 255)
    over = np.asarray(Image.open(write_page(page, "png", tmp_path / "s.png", background=True)))
    assert tuple(over[10, 10]) == tuple(page.image[10, 10])


# ------------------------------------------------------------------ Xournal++


def test_xopp_structure(page, tmp_path):
    out = write_page(page, "xopp", tmp_path / "p.xopp")
    root = ET.fromstring(gzip.decompress(out.read_bytes()))
    assert root.tag == "xournal" and root.get("fileversion") == "4"
    pg = root.find("page")
    assert float(pg.get("width")) == pytest.approx(288) and float(pg.get("height")) == pytest.approx(144)
    strokes = pg.findall("layer/stroke")
    assert len(strokes) == len(page.strokes)
    for el, s in zip(strokes, page.strokes, strict=True):
        coords = el.text.split()
        n = len(coords) // 2
        assert el.get("tool") == "pen" and el.get("color") == s.color + "ff"
        assert n == max(2, len(s))  # a dot becomes a two-point stroke so Xournal++ keeps it
        assert len(el.get("width").split()) == n  # nominal width + one per segment
        assert float(coords[0]) == pytest.approx(s.points[0, 0] * 72 / DPI, abs=1e-3)
    bg = ET.fromstring(gzip.decompress(write_page(page, "xopp", tmp_path / "b.xopp", background=True)
                                       .read_bytes()))
    layers = bg.findall("page/layer")
    assert layers[0].find("image") is not None and len(layers[1].findall("stroke")) == len(page.strokes)


@pytest.mark.skipif(shutil.which("xournalpp") is None, reason="xournalpp is not installed")
def test_xopp_opens_in_xournalpp(page, tmp_path):
    out = write_page(page, "xopp", tmp_path / "p.xopp", background=True)
    pdf = tmp_path / "x.pdf"
    cmd = ["xournalpp", f"--create-pdf={pdf}", str(out)]
    if not os.environ.get("DISPLAY") and shutil.which("xvfb-run"):
        cmd = ["xvfb-run", "-a", *cmd]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and pdf.exists(), res.stderr[-2000:]
    assert "error" not in res.stderr.lower() or "successfully" in res.stderr.lower()


# ------------------------------------------------------------------ failures


@pytest.mark.parametrize("fmt", FORMATS)
def test_failed_write_raises_output_error_and_leaves_nothing(page, tmp_path, fmt):
    with pytest.raises(OutputError) as e:
        write_page(page, fmt, tmp_path / "missing" / f"p.{fmt}")
    assert e.value.path and str(e.value).endswith(".")
    (tmp_path / "afile").write_text("not a folder")
    with pytest.raises(OutputError):
        write_page(page, fmt, tmp_path / "afile" / f"p.{fmt}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return  # root writes into read-only folders anyway
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(OutputError):
            write_page(page, fmt, ro / f"p.{fmt}")
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


def test_failed_export_keeps_the_previous_file(page, tmp_path, monkeypatch):
    target = tmp_path / "p.png"
    target.write_bytes(b"previous export")

    def broken(_pixels):
        raise ValueError("encoder broke")

    monkeypatch.setattr("inknotes.formats.png.encode_png", broken)
    with pytest.raises(OutputError) as e:
        write_page(page, "png", target)
    assert e.value.path == str(target)
    assert target.read_bytes() == b"previous export" and sorted(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize("fmt", ["png", "pdf"])
def test_export_never_overwrites_the_original_scan(page, tmp_path, fmt):
    scan = tmp_path / f"monday.{fmt}"  # a scan whose name the export would reuse
    scan.write_bytes(b"the person's only copy of the page")
    page.source = scan
    with pytest.raises(OutputError) as e:
        (write_page if fmt == "png" else lambda p, _f, t: write_pdf_pages([p], t))(page, fmt, scan)
    assert e.value.path == str(scan) and "original" in str(e.value)
    assert scan.read_bytes() == b"the person's only copy of the page"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_latin1_file_name_still_exports(page, tmp_path, fmt):
    page.source = Path(os.fsdecode(b"/notes/caf\xe9.jpg"))  # not UTF-8: an old camera or zip archive
    out = write_page(page, fmt, tmp_path / f"p.{fmt}")
    assert out.stat().st_size > 0
    if fmt == "inkml":
        assert read_inkml(out).source.name == "caf\ufffd.jpg"


def test_exported_files_get_the_users_usual_permissions(page, tmp_path):
    out = write_page(page, "svg", tmp_path / "p.svg")
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask  # not the private 0600 of a temp file


def test_an_output_folder_that_is_a_file_is_named_as_such(tmp_path):
    from inknotes.fileio import check_writable_dir

    (tmp_path / "notes").write_text("a file where the folder should be")
    for folder in (tmp_path / "notes", tmp_path / "notes" / "out"):
        with pytest.raises(OutputError) as e:
            check_writable_dir(folder)
        assert "is a file, not a folder" in str(e.value)
    assert check_writable_dir(tmp_path / "new" / "out").is_dir()
