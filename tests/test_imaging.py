"""Loading refuses bad files with a sentence naming the problem; odd but valid files load with
the right colours; the ink mask keeps the handwriting and drops the ruled lines."""
from __future__ import annotations

import io
import os
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from defusedxml import ElementTree
from PIL import Image
from scipy.spatial import cKDTree

from inknotes.errors import InputError
from inknotes.imaging import MAX_PIXELS, LoadedPage, find_page_quad, load_pages, prepare

FIX = Path(__file__).parent / "fixtures"


def _refused(path: Path, *words: str) -> str:
    with pytest.raises(InputError) as e:
        load_pages(path)
    msg = str(e.value)
    assert e.value.path == str(path)
    assert msg.endswith(".") and "\n" not in msg
    for w in words:
        assert w in msg.lower(), msg
    return msg


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _save(img: Image.Image, path: Path, fmt: str, **kw) -> Path:
    img.save(path, fmt, **kw)
    return path


# ----------------------------------------------------------------------------- refused inputs

def test_zero_byte_file_is_refused(tmp_path):
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    _refused(p, "empty")


def test_truncated_jpeg_is_refused(tmp_path):
    buf = io.BytesIO()
    Image.new("RGB", (200, 200), (200, 10, 10)).save(buf, "JPEG")
    p = tmp_path / "cut.jpg"
    p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    _refused(p, "truncated")


def test_text_file_named_png_is_refused(tmp_path):
    p = tmp_path / "notes.png"
    p.write_text("these are my notes, not a picture\n")
    _refused(p, "not an image")


def test_animated_gif_is_refused(tmp_path):
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    p = tmp_path / "anim.gif"
    frames[0].save(p, "GIF", save_all=True, append_images=frames[1:], duration=100)
    _refused(p, "animated")


def test_animated_png_is_refused(tmp_path):
    frames = [Image.new("RGB", (32, 32), (c, c, c)) for c in (0, 120, 250)]
    p = tmp_path / "anim.png"
    frames[0].save(p, "PNG", save_all=True, append_images=frames[1:], duration=100)
    _refused(p, "animated")


def test_one_pixel_image_is_refused(tmp_path):
    _refused(_save(Image.new("RGB", (1, 1)), tmp_path / "dot.png", "PNG"), "too small")


def test_enormous_header_is_refused_before_decoding(tmp_path):
    ihdr = struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) \
        + _png_chunk(b"IEND", b"")
    p = tmp_path / "bomb.png"
    p.write_bytes(data)
    msg = _refused(p, "too large")
    assert f"{MAX_PIXELS:,}" in msg


def test_folder_and_missing_file_are_refused(tmp_path):
    _refused(tmp_path, "folder")
    _refused(tmp_path / "nope.png", "does not exist")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads everything")
def test_unreadable_file_is_refused(tmp_path):
    p = _save(Image.new("RGB", (20, 20)), tmp_path / "secret.png", "PNG")
    p.chmod(0)
    try:
        _refused(p, "permission")
    finally:
        p.chmod(0o644)


# ----------------------------------------------------------------------------- odd but valid inputs

def test_png_named_jpg_loads(tmp_path):
    p = _save(Image.new("RGB", (20, 10), (10, 200, 30)), tmp_path / "photo.jpg", "PNG")
    (page,) = load_pages(p)
    assert page.rgb.shape == (10, 20, 3) and page.rgb.dtype == np.uint8
    assert tuple(page.rgb[5, 5]) == (10, 200, 30)


def test_16bit_grey_png_keeps_its_tones(tmp_path):
    a = np.zeros((16, 16), np.uint16)
    a[:, 8:] = 65535
    a[:8, :8] = 32768
    p = _save(Image.fromarray(a), tmp_path / "deep.png", "PNG")
    (page,) = load_pages(p)
    assert page.rgb.dtype == np.uint8
    assert tuple(page.rgb[12, 12]) == (255, 255, 255)
    assert tuple(page.rgb[12, 2]) == (0, 0, 0)
    assert abs(int(page.rgb[2, 2, 0]) - 128) <= 1


def test_cmyk_jpeg_loads_with_right_colour(tmp_path):
    p = _save(Image.new("CMYK", (24, 24), (0, 255, 255, 0)), tmp_path / "print.jpg", "JPEG", quality=95)
    (page,) = load_pages(p)
    r, g, b = (int(v) for v in page.rgb[12, 12])
    assert r > 200 and g < 60 and b < 60  # pure red, not inverted


def test_rgba_png_is_composited_on_white(tmp_path):
    im = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    im.paste((0, 0, 255, 255), (0, 0, 10, 20))
    (page,) = load_pages(_save(im, tmp_path / "alpha.png", "PNG"))
    assert tuple(page.rgb[5, 15]) == (255, 255, 255)  # transparent -> paper, not black
    assert tuple(page.rgb[5, 5]) == (0, 0, 255)


def test_palette_and_grey_images_load_as_rgb(tmp_path):
    pal = Image.new("P", (12, 12), 0)
    pal.putpalette([250, 0, 0] + [0] * 765)
    (a,) = load_pages(_save(pal, tmp_path / "pal.png", "PNG"))
    (b,) = load_pages(_save(Image.new("L", (12, 12), 77), tmp_path / "grey.bmp", "BMP"))
    assert tuple(a.rgb[3, 3]) == (250, 0, 0)
    assert b.rgb.shape == (12, 12, 3) and tuple(b.rgb[3, 3]) == (77, 77, 77)


def test_multipage_tiff_gives_every_page(tmp_path):
    pages = [Image.new("RGB", (30, 20), (v, v, v)) for v in (10, 100, 200)]
    p = tmp_path / "scan.tif"
    pages[0].save(p, "TIFF", save_all=True, append_images=pages[1:], dpi=(300, 300))
    got = load_pages(p)
    assert [g.page_index for g in got] == [0, 1, 2]
    assert all(g.page_count == 3 for g in got)
    assert [int(g.rgb[0, 0, 0]) for g in got] == [10, 100, 200]
    assert got[0].dpi == pytest.approx(300)


def test_exif_orientation_is_honoured(tmp_path):
    im = Image.new("RGB", (40, 20), (255, 255, 255))
    im.paste((255, 0, 0), (0, 0, 10, 10))  # red block at the stored top-left
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display needs a 90 degree clockwise turn
    p = _save(im, tmp_path / "phone.jpg", "JPEG", exif=exif.tobytes(), quality=95)
    (page,) = load_pages(p)
    assert page.rgb.shape[:2] == (40, 20)  # portrait now
    r, g, b = (int(v) for v in page.rgb[4, 15])  # red block moved to the top-right
    assert r > 200 and g < 60 and b < 60


# ----------------------------------------------------------------------------- prepare

def _page(rgb: np.ndarray) -> LoadedPage:
    return LoadedPage(rgb=rgb, source=Path("x.png"), page_index=0, page_count=1, dpi=None)


@pytest.mark.parametrize("value", [0, 255])
def test_uniform_image_is_reported_as_blank(value):
    with pytest.raises(InputError) as e:
        prepare(_page(np.full((50, 60, 3), value, np.uint8)))
    assert ("dark" if value == 0 else "blank") in str(e.value)


def _truth(path: Path) -> np.ndarray:
    pts = []
    for el in ElementTree.parse(path).getroot().iter():
        if el.tag.endswith("trace"):
            pts += [tuple(map(float, t.split()[:2])) for t in el.text.strip().split(",")]
    return np.array(pts)


def test_ruled_page_mask_keeps_ink_and_drops_rules():
    (page,) = load_pages(FIX / "imaging_ruled_line.png")  # UNIPEN line rendered on ruled paper
    prep = prepare(page)
    truth = _truth(FIX / "imaging_ruled_line.gt.inkml")
    # every mask pixel is near the true pen path (a rule across the page would not be)
    ink = (prep.mask == 0).astype(np.uint8) * 255
    truth_img = np.full(prep.mask.shape, 255, np.uint8)
    for x, y in np.round(truth).astype(int):
        truth_img[min(max(y, 0), truth_img.shape[0] - 1), min(max(x, 0), truth_img.shape[1] - 1)] = 0
    d_to_truth = cv2.distanceTransform(truth_img, cv2.DIST_L2, 3)
    d_to_mask = cv2.distanceTransform(ink, cv2.DIST_L2, 3)
    assert (d_to_truth[prep.mask] <= 5).mean() > 0.99
    ys, xs = np.round(truth[:, 1]).astype(int), np.round(truth[:, 0]).astype(int)
    assert (d_to_mask[ys.clip(0, ink.shape[0] - 1), xs.clip(0, ink.shape[1] - 1)] <= 2).mean() > 0.97
    # no row of the mask is a long straight run (what a rule would leave)
    run = cv2.morphologyEx(prep.mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((1, 120), np.uint8))
    assert run.sum() == 0
    assert 1.5 <= prep.pen_width <= 5.0
    assert np.array_equal(prep.homography, np.eye(3))  # a scan-like image is never warped


def test_pen_width_follows_the_pen():
    img = np.full((200, 300, 3), 245, np.uint8)
    xs = np.arange(20, 280)
    for y0 in (40, 100, 160):  # three wavy pen lines
        pts = np.stack([xs, y0 + 12 * np.sin(xs / 15)], 1).astype(np.int32)
        cv2.polylines(img, [pts.reshape(-1, 1, 2)], False, (30, 30, 30), 5, cv2.LINE_AA)
    col = img[:, 20 + int(15 * np.pi), 0]  # a crest: the stroke runs level here
    drawn = int((col[20:60] < 138).sum())  # pixels darker than half way: the width a reader sees
    prep = prepare(_page(img))
    assert abs(prep.pen_width / prep.upsample - drawn) <= 1.0
    assert prep.mask.sum() > 2000


def test_camera_photo_of_a_sheet_is_warped_flat():
    h, w = 600, 800
    img = np.full((h, w, 3), 60, np.uint8)  # dark desk
    quad = np.array([[150, 80], [640, 120], [610, 540], [120, 500]], np.float32)
    cv2.fillConvexPoly(img, quad.astype(np.int32), (235, 235, 230))
    cv2.putText(img, "hello", (220, 320), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 2.5, (30, 30, 90), 4)
    found = find_page_quad(img)
    assert found is not None and np.abs(found - quad).max() < 8
    prep = prepare(_page(img))
    hh, ww = prep.rgb.shape[:2]
    corner = prep.homography @ np.array([ww - 1, hh - 1, 1.0])
    assert np.allclose(corner[:2] / corner[2], quad[2], atol=8)  # maps back onto the photo
    assert prep.mask.any() and prep.mask[:5].sum() == 0  # the desk edge is not ink


def test_corrupt_exif_loads_without_a_warning_on_stderr(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: the orientation tag is read, so the damaged block is parsed
    p = _save(Image.new("RGB", (40, 20), (10, 200, 30)), tmp_path / "phone.jpg", "JPEG", exif=exif.tobytes())
    data = bytearray(p.read_bytes())
    at = data.find(b"Exif")
    data[at + 10:at + 30] = b"\xff" * 20  # the phone wrote a broken EXIF block
    p.write_bytes(bytes(data))
    code = f"from inknotes.imaging import load_pages; print(load_pages({str(p)!r})[0].rgb.shape)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.split("\n")[0].startswith("(")
    assert run.stderr == ""  # the user sees sentences only, not Pillow's warnings


def test_a_pipe_named_like_an_image_is_refused_without_waiting(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this system")
    p = tmp_path / "scan.png"
    os.mkfifo(p)
    _refused(p, "not a regular file")


def test_a_thin_pencil_word_written_flat_is_not_taken_for_a_rule():
    # UNIPEN "cantus firmus" in pencil: "irmus" runs long, flat and one pencil line thin, like a
    # piece of a faint rule, but it is as dark as the rest of the writing
    fix = Path(__file__).parent / "fixtures"
    prep = prepare(load_pages(fix / "imaging_flat_pencil_word.png")[0])
    truth = re.findall(r"<trace>(.*?)</trace>", (fix / "imaging_flat_pencil_word.gt.inkml").read_text(), re.S)
    pts = np.array([[float(v) for v in p.split()[:2]] for t in truth for p in t.split(",")])
    ink = np.argwhere(prep.mask)[:, ::-1] / prep.upsample  # the word's own pixels
    d = cKDTree(ink).query(pts)[0]
    assert (d <= 3.0).mean() >= 0.95, f"only {(d <= 3.0).mean():.2f} of the written line has ink under it"
