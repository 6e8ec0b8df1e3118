"""`inknotes replay`: stroke order made visible, as a still and as an animation."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from inknotes.cli import main
from inknotes.ink import Stroke
from inknotes.replay import dimmed, draw, stroke_colors

FIX = Path(__file__).parent / "fixtures" / "convert"


def test_replay_writes_png_and_gif_next_to_the_name_given(tmp_path, capsys):
    out = tmp_path / "word.replay"
    code = main(["replay", str(FIX / "word_photo.png"), "--inkml", str(FIX / "word_photo.gt.inkml"),
                 "-o", str(out), "--frames", "6"])
    assert code == 0, capsys.readouterr().err
    png, gif = tmp_path / "word.replay.png", tmp_path / "word.replay.gif"
    with Image.open(png) as im, Image.open(FIX / "word_photo.png") as src:
        assert im.size == src.size
    with Image.open(gif) as anim:
        assert anim.n_frames >= 6
        anim.seek(0)
        first = np.asarray(anim.convert("RGB"), float)
        anim.seek(anim.n_frames - 1)
        last = np.asarray(anim.convert("RGB"), float)
    assert np.abs(last - first).sum() > 1000  # the strokes appear over the frames


def test_colours_run_from_red_to_violet_across_strokes_and_darken_to_lighten_within():
    first, last = stroke_colors(5, 3, 0), stroke_colors(5, 3, 4)
    assert first[0][0] > first[0][2]  # red first
    assert last[0][2] > last[0][1]  # violet/blue last
    assert first[-1].sum() > first[0].sum()  # lighter towards the stroke's end


def test_draw_only_the_strokes_so_far():
    canvas = np.full((40, 100, 3), 255, np.uint8)
    a = Stroke.from_points([[10, 20], [40, 20]], 3.0)
    b = Stroke.from_points([[60, 20], [90, 20]], 3.0)
    half = draw(canvas, [a, b], upto=1)
    assert (half[:, :50] < 250).any() and not (half[:, 55:] < 250).any()


def test_gif_is_small_and_shows_what_the_still_shows(tmp_path, capsys):
    """Frames after the first store only their new ink, against one palette with room for the
    rainbow: the animation stays small (a full-frame GIF of a photo page ran to megabytes) and
    its last frame is the still picture."""
    out = tmp_path / "page.replay"
    code = main(["replay", str(FIX / "word_photo.png"), "--inkml", str(FIX / "word_photo.gt.inkml"),
                 "-o", str(out), "--frames", "30"])
    assert code == 0, capsys.readouterr().err
    gif, png = tmp_path / "page.replay.gif", tmp_path / "page.replay.png"
    with Image.open(png) as im:
        still = np.asarray(im.convert("RGB"), float)
    with Image.open(gif) as anim:
        frames = anim.n_frames
        assert frames >= 6
        first = np.asarray(anim.convert("RGB"), float)
        anim.seek(frames - 1)
        last = np.asarray(anim.convert("RGB"), float)
    with Image.open(FIX / "word_photo.png") as src:
        paper = dimmed(np.asarray(src.convert("RGB")), src.size).astype(float)
    assert np.abs(first - paper).max(-1).mean() < 4  # the first frame is the whole dimmed photo
    assert last.shape == still.shape
    err = np.abs(last - still).max(-1)
    assert err.mean() < 4.5 and np.percentile(err, 99) < 40
    h, w = still.shape[:2]
    assert gif.stat().st_size < frames * w * h / 8  # far below full frames of a byte a pixel


def test_replay_into_a_folder_names_the_files_after_the_image(tmp_path, capsys):
    # `-o out/` as with `convert -o out/`: the files go inside, named after the image; a folder
    # named with a trailing slash is made
    folder = tmp_path / "replays"
    folder.mkdir()
    for out in (str(folder), str(tmp_path / "new") + "/"):
        code = main(["replay", str(FIX / "word_photo.png"), "--inkml", str(FIX / "word_photo.gt.inkml"),
                     "-o", out, "--frames", "3"])
        assert code == 0, capsys.readouterr().err
    for where in (folder, tmp_path / "new"):
        assert (where / "word_photo.replay.png").is_file() and (where / "word_photo.replay.gif").is_file()
    assert not (tmp_path / "replays.png").exists()


def test_replay_picks_a_page_of_a_multipage_tiff(tmp_path, capsys):
    scan = tmp_path / "scan.tif"
    word, line = (Image.open(FIX / n).convert("RGB") for n in ("word_photo.png", "line_scan.png"))
    word.save(scan, save_all=True, append_images=[line])
    out = tmp_path / "out"
    assert main(["replay", str(scan), "-o", f"{out}/", "--page", "2", "--animation", "none"]) == 0
    with Image.open(out / "scan-p2.replay.png") as im:
        assert im.size == line.size  # the second page, named for it
    assert main(["replay", str(scan), "-o", f"{out}/", "--animation", "none"]) == 0
    assert "has 2 pages; replaying page 1" in capsys.readouterr().err
    assert (out / "scan-p1.replay.png").exists()
    assert main(["replay", str(scan), "--page", "3"]) == 1
    assert "There is no page 3: the file has 2 pages." in capsys.readouterr().err


def test_replay_of_one_page_does_not_need_the_others_readable(tmp_path, capsys):
    from tests.test_convert_cli import _duplex_tiff

    scan = _duplex_tiff(tmp_path / "duplex.tif", damage_page_2=True)
    assert main(["replay", str(scan), "--page", "3", "-o", f"{tmp_path}/", "--animation", "none"]) == 0
    assert (tmp_path / "duplex-p3.replay.png").exists()
    assert main(["replay", str(scan), "--page", "2", "-o", f"{tmp_path}/"]) == 1
    assert "Page 2: The image file is damaged" in capsys.readouterr().err
