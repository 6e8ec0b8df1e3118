"""`inknotes convert` end to end: real images, real Tesseract, real files out, bad input handled."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inknotes.cli import main
from tests.inkcheck import f1, read_traces

FIX = Path(__file__).parent / "fixtures" / "convert"


def run(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.err


def test_line_to_every_format(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["convert", str(FIX / "line_scan.png"), "-o", str(out), "-f", "inkml,pdf,svg,png,xopp"]
    code, err = run(args, capsys)
    assert code == 0, err
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"line_scan.{e}" for e in sorted(["inkml", "pdf", "svg", "png", "xopp"])]
    traces = read_traces(out / "line_scan.inkml")
    truth = read_traces(FIX / "line_scan.gt.inkml")
    assert f1(traces, truth, tol=3.5) >= 0.9
    # a person's line is a few dozen strokes, not hundreds of skeleton fragments
    assert len(traces) <= 3 * len(truth)
    with Image.open(out / "line_scan.png") as im, Image.open(FIX / "line_scan.png") as src:
        assert im.size == src.size


@pytest.mark.parametrize("name", ["line_ruled", "word_photo"])
def test_ruled_and_photo_quality_floor(tmp_path, capsys, name):
    code, err = run(["convert", str(FIX / f"{name}.png"), "-o", str(tmp_path)], capsys)
    assert code == 0, err
    pred = read_traces(tmp_path / f"{name}.inkml")
    truth = read_traces(FIX / f"{name}.gt.inkml")
    assert f1(pred, truth, tol=3.5) >= 0.85
    # ruled lines traced would add long horizontal ink (ratio well above 1.3); the lower bound is
    # loose because the true pen paths are jittery and retraced, so smooth ink measures shorter
    plen = sum(np.linalg.norm(np.diff(p, axis=0), axis=1).sum() for p in pred)
    glen = sum(np.linalg.norm(np.diff(g, axis=0), axis=1).sum() for g in truth)
    assert 0.6 <= plen / glen <= 1.3


def _bad_files(folder: Path) -> dict[str, Path]:
    folder.mkdir()
    files = {}
    files["empty"] = folder / "empty.jpg"
    files["empty"].write_bytes(b"")
    good = (FIX / "word_photo.png").read_bytes()
    files["truncated"] = folder / "truncated.png"
    files["truncated"].write_bytes(good[: len(good) // 3])
    files["text"] = folder / "notes.png"
    files["text"].write_text("this is not an image\n")
    files["white"] = folder / "white.png"
    Image.new("RGB", (400, 300), "white").save(files["white"])
    files["tiny"] = folder / "tiny.png"
    Image.new("RGB", (1, 1), "black").save(files["tiny"])
    return files


def test_bad_inputs_each_get_one_sentence_and_good_ones_still_convert(tmp_path, capsys):
    bad = _bad_files(tmp_path / "in")
    out = tmp_path / "out"
    args = ["convert", *map(str, bad.values()), str(FIX / "word_photo.png"), "-o", str(out),
            "-f", "inkml,pdf"]
    code, err = run(args, capsys)
    assert code == 1
    lines = [ln for ln in err.splitlines() if ln.startswith("inknotes: ") and "converted" not in ln]
    for p in bad.values():
        hits = [ln for ln in lines if str(p) in ln]
        assert len(hits) == 1, (p, err)
        assert hits[0].rstrip().endswith("."), hits[0]  # a sentence, not a traceback
    assert "Traceback" not in err
    assert sorted(x.name for x in out.iterdir()) == ["word_photo.inkml", "word_photo.pdf"]


def test_unwritable_output_is_reported_before_work(tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    code, err = run(["convert", str(FIX / "word_photo.png"), "-o", str(blocker / "sub")], capsys)
    assert code == 2
    assert "inknotes:" in err and "converted" not in err


def test_missing_input_and_unknown_format(tmp_path, capsys):
    code, err = run(["convert", str(tmp_path / "nope.jpg"), "-o", str(tmp_path)], capsys)
    assert code == 1 and "No such file" in err
    code, err = run(["convert", str(FIX / "word_photo.png"), "-o", str(tmp_path), "-f", "docx"], capsys)
    assert code == 2 and "docx" in err


def test_multipage_tiff_and_folder_input(tmp_path, capsys):
    src = tmp_path / "scans" / "deep"
    src.mkdir(parents=True)
    pages = [Image.open(FIX / name).convert("RGB") for name in ("word_photo.png", "line_scan.png")]
    pages[0].save(src / "both.tif", save_all=True, append_images=pages[1:])
    out = tmp_path / "out"
    code, err = run(["convert", str(tmp_path / "scans"), "-o", str(out), "-j", "2"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["both-p1.inkml", "both-p2.inkml"]
    assert len(read_traces(out / "both-p2.inkml")) > len(read_traces(out / "both-p1.inkml"))


def test_parallel_jobs_give_the_same_result(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    inputs = [str(FIX / "word_photo.png"), str(FIX / "line_ruled.png")]
    assert run(["convert", *inputs, "-o", str(a)], capsys)[0] == 0
    assert run(["convert", *inputs, "-o", str(b), "--jobs", "2"], capsys)[0] == 0
    for name in ["word_photo.inkml", "line_ruled.inkml"]:
        assert (a / name).read_text() == (b / name).read_text()


def test_help_is_fast_and_does_not_load_tensorflow():
    code = ("import sys; from inknotes.cli import build_parser; build_parser().format_help(); "
            "print('tensorflow' in sys.modules, 'PySide6' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "False"], out.stderr
    helptext = subprocess.run([sys.executable, "-m", "inknotes.cli", "--help"], capture_output=True,
                              text=True, timeout=60).stdout
    for command in ["convert", "import", "export", "search", "watch", "bench", "gui"]:
        assert command in helptext


def test_converting_into_the_input_folder_keeps_the_original_png(tmp_path, capsys):
    scan = tmp_path / "line_scan.png"
    scan.write_bytes((FIX / "line_scan.png").read_bytes())
    code, err = run(["convert", str(scan), "-o", str(tmp_path), "-f", "png,inkml"], capsys)
    assert code == 1
    assert scan.read_bytes() == (FIX / "line_scan.png").read_bytes()
    assert f"inknotes: {scan}: " in err and "Traceback" not in err


def test_empty_folder_is_reported_even_after_a_missing_file(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, err = run(["convert", str(tmp_path / "missing.jpg"), str(empty), "-o", str(tmp_path / "o")], capsys)
    assert code == 1
    assert "missing.jpg: No such file" in err
    assert f"{empty}: The folder holds no images" in err


def _duplex_tiff(path: Path, damage_page_2: bool, damage_page: int | None = None) -> Path:
    """Handwriting, then a blank back (or a page whose data is overwritten), then handwriting;
    ``damage_page`` (1-based) overwrites that page's data instead."""
    ink = [Image.open(FIX / name).convert("RGB") for name in ("word_photo.png", "line_scan.png")]
    ink[0].save(path, save_all=True, append_images=[Image.new("RGB", ink[1].size, "white"), ink[1]],
                compression="tiff_lzw")
    if damage_page_2 or damage_page:
        with Image.open(path) as im:
            im.seek((damage_page or 2) - 1)
            start, size = im.tag_v2[273][0], sum(im.tag_v2[279])
        raw = bytearray(path.read_bytes())
        noise = np.random.default_rng(0).integers(0, 256, size - 10, np.uint8)
        raw[start + 10:start + size] = noise.tobytes()
        path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("damaged", [False, True], ids=["blank page", "damaged page"])
def test_a_bad_page_of_a_multipage_tiff_costs_only_that_page(tmp_path, capsys, damaged):
    src = _duplex_tiff(tmp_path / "duplex.tif", damaged)
    out = tmp_path / "out"
    code, err = run(["convert", str(src), "-o", str(out)], capsys)
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["duplex-p1.inkml", "duplex-p3.inkml"]
    assert len(read_traces(out / "duplex-p3.inkml")) > 5
    line = [x for x in err.splitlines() if "Page 2:" in x]
    assert len(line) == 1 and ("blank" in line[0] if not damaged else "damaged" in line[0])
    assert "converted 0 of 1 input(s) in full and 1 in part" in err
    lib = tmp_path / "n.inknotes"
    code, err = run(["import", str(src), "--library", str(lib)], capsys)
    assert code == 1 and "Page 2:" in err
    from inknotes.store import Library
    with Library.open(lib, create=False) as opened:
        assert sorted(p.page_index for p in opened.pages()) == [0, 2]
    assert main(["import", str(src), "--library", str(lib)]) == 0  # its good pages are there
    assert "already in the library as pages 1, 2, skipped" in capsys.readouterr().out


def test_a_multipage_tiff_with_no_usable_page_fails_in_one_sentence(tmp_path, capsys):
    src = tmp_path / "blank.tif"
    white, black = Image.new("RGB", (200, 100), "white"), Image.new("RGB", (200, 100))
    white.save(src, save_all=True, append_images=[black])
    code, err = run(["convert", str(src), "-o", str(tmp_path / "out")], capsys)
    assert code == 1 and not any((tmp_path / "out").iterdir())
    assert err.count("inknotes: ") == 2 and "No other page converted either (2 pages)" in err


@pytest.mark.parametrize("argv", [["convert", "x.png", "--jobs", "0"], ["convert", "x.png", "-j", "two"],
                                  ["bench", "--runs", "-2"], ["replay", "x.png", "--frames", "0"],
                                  ["watch", ".", "--max-attempts", "0"],
                                  ["watch", ".", "--stable-seconds", "-5"],
                                  ["import", "x.png", "-j", "-3"], ["search", "a", "--limit", "0"]])
def test_numbers_that_make_no_sense_are_refused_by_name(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and ("must be at least" in err or "is not a whole number" in err)
    assert argv[-2].lstrip("-") in err  # the option is named


def test_a_long_strip_of_small_writing_is_read_not_refused_by_tesseract(tmp_path):
    # 55 px tall, 20088 px wide: the small writing is read upsampled twice, over Tesseract's 32767 px
    from inknotes.pipeline import convert_file

    line = Image.open(FIX / "line_scan.png").convert("RGB")
    line = line.resize((line.width * 55 // line.height, 55))
    Image.fromarray(np.hstack([np.array(line)] * 62)).save(tmp_path / "strip.png")
    (page,) = convert_file(tmp_path / "strip.png")
    assert len(page.strokes) > 1000
    assert len(page.words) > 50  # OCR ran, on the page scaled to fit
    right = max(w.box[0] + w.box[2] for w in page.words)
    assert 19000 < right <= 20088 + 2  # boxes in the strip's own pixels


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc")
def test_killing_a_parallel_convert_leaves_no_workers_behind(tmp_path):
    import os
    import signal
    import time

    src = tmp_path / "in"
    src.mkdir()
    for i in range(8):
        (src / f"p{i}.png").write_bytes((FIX / "line_scan.png").read_bytes())
    tag = f"inknotes-test-{os.getpid()}-{time.time()}"

    def tagged() -> list[int]:
        found = []
        for d in Path("/proc").iterdir():
            try:
                if d.name.isdigit() and tag.encode() in (d / "environ").read_bytes():
                    found.append(int(d.name))
            except OSError:
                pass
        return found

    cmd = [sys.executable, "-m", "inknotes.cli", "convert", str(src), "-o", str(tmp_path / "o"),
           "-j", "2", "-q"]
    proc = subprocess.Popen(cmd, env={**os.environ, "INKNOTES_TEST_TAG": tag})
    out = tmp_path / "o"
    deadline = time.time() + 120
    while not (out.exists() and any(out.iterdir())) and time.time() < deadline:  # workers at work
        time.sleep(0.1)
    assert any(out.iterdir()) and len(list(out.iterdir())) < 8 and len(tagged()) >= 4
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 20
    while tagged() and time.time() < deadline:
        time.sleep(0.2)
    left = tagged()
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, "worker processes outlived a killed inknotes convert"


def test_skipped_pages_are_listed_in_page_order(tmp_path):
    # page 2 blank (found converting), page 3 damaged (found decoding, before any converting)
    from inknotes.pipeline import convert_file

    skipped: list = []
    (page,) = convert_file(_duplex_tiff(tmp_path / "d.tif", False, damage_page=3), errors=skipped)
    assert page.page_index == 0
    assert [e.page for e in skipped] == [2, 3]
    assert [e.message.split(":")[0] for e in skipped] == ["Page 2", "Page 3"]


def test_the_command_line_offers_exactly_the_engines_there_are():
    from inknotes.argtypes import ENGINES
    from inknotes.derender import engine_names

    assert list(ENGINES) == engine_names()
