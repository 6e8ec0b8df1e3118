"""The InkSight engine against a small, real TensorFlow SavedModel with the same serving signature.

The stand-in model (``build_standin``, also used by benchmarks/inksight_bench.py) reads the ink's
bounding box from the JPEG and answers two diagonal strokes across it as ``<ink_token_N>``
tokens, plus one out-of-range token and one x without a y. "Recognize and derender." prefixes
the answer with ``STANDIN_TEXT``; "Derender the ink: noink" answers no ink, so the engine's
vanilla retry runs. Each call adds 1 to ``calls`` and logs its prompts in ``prompt_log``.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from inknotes.derender.base import Crop
from inknotes.derender.inksight_tokens import detokenize, split_output, to_text, tokenize
from inknotes.errors import Cancelled, ModelError

ROOT = Path(__file__).resolve().parents[1]
STANDIN_TEXT = "stand-in"
NO_INK_PROMPT = "Derender the ink: noink"


def build_standin(folder: str | Path) -> Path:
    import tensorflow as tf

    def one(args):
        prompt, jpeg = args
        g = tf.cast(tf.io.decode_jpeg(jpeg[0], channels=1)[:, :, 0], tf.int64)
        paper = tf.where(g > 170)  # (y, x) of the paper, inside the black padding
        has_paper = tf.shape(paper)[0] > 0
        big = tf.constant(1 << 20, tf.int64)
        py0 = tf.reduce_min(tf.concat([paper[:, 0], [big]], 0))
        py1 = tf.reduce_max(tf.concat([paper[:, 0], [-big]], 0))
        px0 = tf.reduce_min(tf.concat([paper[:, 1], [big]], 0))
        px1 = tf.reduce_max(tf.concat([paper[:, 1], [-big]], 0))
        # stay clear of the JPEG ringing at a paper/padding edge (not at the image border)
        py0 = tf.where(py0 > 0, py0 + 2, py0)
        px0 = tf.where(px0 > 0, px0 + 2, px0)
        py1 = tf.where(py1 < 223, py1 - 2, py1)
        px1 = tf.where(px1 < 223, px1 - 2, px1)
        ys = tf.range(224, dtype=tf.int64)[:, None]
        xs = tf.range(224, dtype=tf.int64)[None, :]
        inside = (ys >= py0) & (ys <= py1) & (xs >= px0) & (xs <= px1)
        ink = tf.where((g < 100) & inside)
        has_ink = has_paper & (tf.shape(ink)[0] > 0)
        y0 = tf.reduce_min(tf.concat([ink[:, 0], [big]], 0))
        y1 = tf.reduce_max(tf.concat([ink[:, 0], [-big]], 0))
        x0 = tf.reduce_min(tf.concat([ink[:, 1], [big]], 0))
        x1 = tf.reduce_max(tf.concat([ink[:, 1], [-big]], 0))
        toks = tf.stack([tf.constant(450, tf.int64), x0, y0 + 225, x1, y1 + 225,
                         tf.constant(450, tf.int64), x0, y1 + 225, x1, y0 + 225,
                         tf.constant(451, tf.int64), tf.constant(5, tf.int64)])
        inks = tf.strings.reduce_join(tf.strings.join(["<ink_token_", tf.strings.as_string(toks), ">"]))
        out = tf.where(has_ink & tf.not_equal(prompt, NO_INK_PROMPT), inks, tf.constant(""))
        return tf.where(tf.equal(prompt, "Recognize and derender."), STANDIN_TEXT + out, out)

    class StandIn(tf.Module):
        def __init__(self):
            super().__init__()
            self.calls = tf.Variable(0, dtype=tf.int64)
            self.prompt_log = tf.Variable("", dtype=tf.string)

        @tf.function(input_signature=[{
            "input_text": tf.TensorSpec([None], tf.string, name="input_text"),
            "image/encoded": tf.TensorSpec([None, 1], tf.string, name="image/encoded")}])
        def serve(self, features):
            text = features["input_text"]
            images = features["image/encoded"]
            self.calls.assign_add(1)
            self.prompt_log.assign(tf.strings.join(
                [self.prompt_log, tf.strings.reduce_join(text, separator="|"), "\n"]))
            out = tf.map_fn(one, (text, images), fn_output_signature=tf.string)
            return {"output_0": tf.reshape(out, [-1, 1])}

    import logging
    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.ERROR)  # "image/encoded is not a valid parameter name": as in the real export
    try:
        m = StandIn()
        tf.saved_model.save(m, str(folder), signatures={"serving_default": m.serve})
    finally:
        absl.setLevel(level)
    return Path(folder)


def build_wrong_signature(folder: str | Path) -> Path:
    """A valid SavedModel whose serving signature takes a float ``x``: not InkSight."""
    import tensorflow as tf

    class Other(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
        def serve(self, x):
            return {"output_0": x * 2.0}

    m = Other()
    tf.saved_model.save(m, str(folder), signatures={"serving_default": m.serve})
    return Path(folder)


# --- fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def standin(tmp_path_factory) -> Path:
    return build_standin(tmp_path_factory.mktemp("models") / "inksight-standin")


@pytest.fixture(autouse=True)
def _settings_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("INKNOTES_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("INKNOTES_DATA_DIR", str(tmp_path / "data"))


def engine(standin, **kw):
    from inknotes.derender.inksight import InkSightEngine
    return InkSightEngine(model=standin, **kw)


def calls(eng) -> int:
    return int(eng.load().owner.calls.numpy())


def prompt_log(eng) -> list[str]:
    return eng.load().owner.prompt_log.numpy().decode().splitlines()


def word_crop(w=300, h=100, box=(60, 30, 240, 70), text="") -> Crop:
    """White paper with dark handwriting-like ink filling ``box`` (x0, y0, x1, y1)."""
    rgb = np.full((h, w, 3), 245, np.uint8)
    x0, y0, x1, y1 = box
    for i, x in enumerate(range(x0, x1 - 10, 20)):  # zig-zag pen strokes spanning the box
        a, b = ((x, y1), (x + 10, y0)) if i % 2 == 0 else ((x, y0), (x + 10, y1))
        cv2.line(rgb, a, b, (20, 20, 30), 3)
    cv2.line(rgb, (x0, y0), (x0, y1), (20, 20, 30), 3)
    cv2.line(rgb, (x1, y0), (x1, y1), (20, 20, 30), 3)
    mask = rgb[..., 0] < 100
    return Crop(rgb=rgb, mask=mask, text=text, pen_width=3.0)


def stroke_bbox(strokes):
    pts = np.concatenate([s.points for s in strokes])
    return (*pts.min(0), *pts.max(0))


# --- tokens -----------------------------------------------------------------------------------

def test_detokenize_follows_the_inksight_rules():
    toks = [450, 10, 225 + 20, 30, 225 + 40,   # stroke 1: (10,20) (30,40)
            999, 12,                             # out of range dropped; x 12 waits for its y ...
            450,                                 # ... but a new stroke starts: 12 is skipped
            5, 7, 225 + 8,                       # x 5 without y skipped; (7, 8)
            225 + 9,                             # y without x skipped
            224, 449, 450]                       # (224, 224) at the far corner; trailing start
    strokes = detokenize(toks)
    assert [s.tolist() for s in strokes] == [[[10, 20], [30, 40]], [[7, 8], [224, 224]]]
    assert all(s.dtype == np.float32 for s in strokes)
    assert detokenize([450, 450, 3]) == []


def test_tokens_round_trip_and_text_is_split_from_ink():
    strokes = [np.float32([[0, 0], [224, 224]]), np.float32([[100.4, 50.6]])]
    text, toks = split_output("hello " + to_text(tokenize(strokes)))
    assert text == "hello"
    assert [s.tolist() for s in detokenize(toks)] == [[[0, 0], [224, 224]], [[100, 51]]]


# --- loading and errors -----------------------------------------------------------------------

def test_import_does_not_load_tensorflow():
    code = ("import sys, inknotes.derender.inksight, inknotes.derender.model_cli, inknotes.cli;"
            "e = inknotes.derender.inksight;"
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_engine_is_lazy_and_reports_gpu_use_before_loading(standin):
    eng = engine(standin)
    assert eng.name == "inksight" and eng.uses_gpu is True and eng.wants_text is False
    assert eng._model is None  # nothing loaded yet
    assert engine(standin, mode="derender-with-text").wants_text is True
    assert engine(standin, mode="recognize-and-derender").mode == "recognize"


def test_signature_names_resolved_and_model_shared(standin):
    a, b = engine(standin), engine(str(standin) + "/")
    m = a.load()
    assert m is b.load()  # one loaded model per process
    assert m.text_arg == "input_text"
    assert m.image_arg == "image_encoded"  # the export sanitises image/encoded
    assert not a.uses_gpu or m.on_gpu


def test_no_model_set_says_how_to_add_one():
    from inknotes.derender import get_engine
    with pytest.raises(ModelError) as e:
        get_engine("inksight")
    assert "inknotes model add DIR" in str(e.value) and "--model" in str(e.value)


def test_model_from_settings_and_mode_setting(standin):
    from inknotes import settings
    settings.update(inksight_model=str(standin), inksight_mode="recognize")
    eng = engine(None)
    assert eng.model_path == standin.resolve() and eng.mode == "recognize"


def test_bad_model_folders_give_one_sentence_with_the_path(tmp_path):
    from inknotes.derender.inksight import InkSightEngine, load_model
    missing = tmp_path / "nope"
    with pytest.raises(ModelError) as e:
        InkSightEngine(model=missing)
    assert e.value.path == str(missing) and "does not exist" in e.value.message

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelError) as e:
        InkSightEngine(model=empty)
    assert "not a TensorFlow SavedModel" in e.value.message and e.value.path == str(empty)

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "saved_model.pb").write_bytes(b"this is not a protobuf")
    with pytest.raises(ModelError) as e:
        load_model(broken)
    assert "could not be read as a TensorFlow SavedModel" in e.value.message
    assert e.value.path == str(broken.resolve())

    wrong = build_wrong_signature(tmp_path / "wrong")
    with pytest.raises(ModelError) as e:
        load_model(wrong)
    assert "not an InkSight model" in e.value.message and e.value.path == str(wrong.resolve())
    assert e.value.user_line() == f"{wrong.resolve()}: {e.value.message}"
    assert e.value.message.endswith(".") and "\n" not in e.value.message


# --- derendering ------------------------------------------------------------------------------

def test_strokes_come_back_in_crop_pixels_on_the_ink(standin):
    eng = engine(standin)
    wide = word_crop()                                   # padded top and bottom
    tall = word_crop(w=90, h=260, box=(20, 40, 70, 220))  # padded left and right
    outs = eng.derender([wide, tall])
    for crop, out, (x0, y0, x1, y1) in zip([wide, tall], outs, [(60, 30, 240, 70), (20, 40, 70, 220)],
                                          strict=True):
        assert len(out.strokes) == 2  # the out-of-range token and the lone x added nothing
        assert all(len(s) == 2 for s in out.strokes)
        bx0, by0, bx1, by1 = stroke_bbox(out.strokes)
        tol = 4 + 2 * max(crop.rgb.shape[:2]) / 224  # pen half-width + two model pixels
        assert abs(bx0 - x0) < tol and abs(by0 - y0) < tol and abs(bx1 - x1) < tol and abs(by1 - y1) < tol
        assert out.text is None  # vanilla mode keeps the OCR text
        assert all(np.allclose(s.width, 3.0) for s in out.strokes)  # the page's pen width
        times = np.concatenate([s.time for s in out.strokes])
        assert np.all(np.diff(times) > 0)


def test_neighbours_ink_outside_the_word_mask_is_not_derendered(standin):
    c = word_crop()
    cv2.line(c.rgb, (5, 5), (5, 95), (20, 20, 30), 3)  # a neighbour's stroke, not in the mask
    out = engine(standin).derender([c])[0]
    bx0 = stroke_bbox(out.strokes)[0]
    assert abs(bx0 - 60) < 6  # the strokes start at the word's ink, not at x=5


def test_default_width_without_pen_width(standin):
    c = word_crop()
    c.pen_width = 0.0
    out = engine(standin).derender([c])[0]
    assert np.allclose(out.strokes[0].width, 2.0 * 300 / 224, atol=0.05)


def test_prompts_per_mode_and_recognised_text(standin):
    eng = engine(standin, mode="text")
    out = eng.derender([word_crop(text="hello"), word_crop(text="")])
    assert prompt_log(eng)[-1] == "Derender the ink: hello|Derender the ink."
    assert all(o.strokes and o.text is None for o in out)

    eng = engine(standin, mode="recognize")
    out = eng.derender([word_crop(text="ocr says")])
    assert prompt_log(eng)[-1] == "Recognize and derender."
    assert out[0].text == STANDIN_TEXT and len(out[0].strokes) == 2

    eng = engine(standin, mode="vanilla")
    eng.derender([word_crop(text="ignored")])
    assert prompt_log(eng)[-1] == "Derender the ink."


def test_no_ink_answer_is_retried_with_the_vanilla_prompt(standin):
    eng = engine(standin, mode="text")
    before = calls(eng)
    out = eng.derender([word_crop(text="noink"), word_crop(text="fine")])
    assert calls(eng) - before == 2
    assert prompt_log(eng)[-2:] == [f"{NO_INK_PROMPT}|Derender the ink: fine", "Derender the ink."]
    assert len(out[0].strokes) == 2 and len(out[1].strokes) == 2


def test_batches_progress_and_cancel(standin):
    eng = engine(standin, batch_size=2)
    before = calls(eng)
    seen = []
    out = eng.derender([word_crop() for _ in range(5)], progress=lambda d, t: seen.append((d, t)))
    assert calls(eng) - before == 3
    assert seen == [(2, 5), (4, 5), (5, 5)]
    assert len(out) == 5 and all(len(o.strokes) == 2 for o in out)

    before, seen = calls(eng), []
    with pytest.raises(Cancelled):
        eng.derender([word_crop() for _ in range(5)], progress=lambda d, t: seen.append(d),
                     cancel=lambda: len(seen) >= 1)
    assert calls(eng) - before == 1 and seen == [2]  # stopped between batches


def test_strokes_land_on_the_word_boxes_of_a_real_page(standin):
    pytest.importorskip("inknotes.segment", reason="the segmenter has not landed yet")
    from inknotes.pipeline import convert_image
    page = cv2.cvtColor(cv2.imread(str(ROOT / "resources/samples/bench_page.jpg")), cv2.COLOR_BGR2RGB)
    part = np.ascontiguousarray(page[690:1090])  # two real lines: "Bebbington, Martin 24522", "Book ..."
    res = convert_image(part, engine(standin, batch_size=8), source="bench_part.png")
    assert res.engine == "inksight" and len(res.words) >= 8
    good = 0
    for w in res.words:
        assert len(w.stroke_ids) == 2  # every word went through the model once
        x, y, bw, bh = w.box
        bx0, by0, bx1, by1 = stroke_bbox([res.strokes[i] for i in w.stroke_ids])
        ix = max(0.0, min(bx1, x + bw) - max(bx0, x))
        iy = max(0.0, min(by1, y + bh) - max(by0, y))
        union = (bx1 - bx0) * (by1 - by0) + bw * bh - ix * iy
        good += ix * iy / max(union, 1e-6) > 0.7
    assert good >= 0.9 * len(res.words)
    t = np.concatenate([s.time for s in res.strokes])
    assert np.all(np.diff(t) > 0)


# --- XLA flags and the CLI ----------------------------------------------------------------------

def test_xla_flags_are_set_before_import_and_accepted_by_tensorflow():
    code = ("import os; os.environ.pop('XLA_FLAGS', None);"
            "from inknotes.derender.inksight import configure_tensorflow_env as c;"
            "added = c(); assert added, 'no flags';"
            "import tensorflow as tf;"
            "f = tf.function(lambda x: tf.matmul(x, x) + 1.0, jit_compile=True);"
            "print(float(f(tf.ones((4, 4)))[0, 0]));"
            "print(os.environ['XLA_FLAGS'])")
    env = {k: v for k, v in os.environ.items() if k != "INKNOTES_KEEP_XLA_FLAGS"}
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=180, env=env)
    assert r.returncode == 0, r.stderr[-2000:]  # XLA aborts on a flag it does not know
    lines = r.stdout.split("\n")
    assert lines[0] == "5.0"
    assert "--xla_gpu_autotune_level=0" in lines[1]


def test_user_xla_flags_win():
    from inknotes.derender.inksight import configure_tensorflow_env
    old = os.environ.get("XLA_FLAGS")
    try:
        os.environ["XLA_FLAGS"] = "--xla_gpu_autotune_level=2"
        added = configure_tensorflow_env((2, 21))
        assert "--xla_gpu_autotune_level=0" not in added
        assert os.environ["XLA_FLAGS"].split()[0] == "--xla_gpu_autotune_level=2"
        assert configure_tensorflow_env((2, 17)) == []
    finally:
        if old is None:
            os.environ.pop("XLA_FLAGS", None)
        else:
            os.environ["XLA_FLAGS"] = old


def test_model_command_add_show_mode_remove(standin, tmp_path, capsys):
    from inknotes import settings
    from inknotes.cli import main
    assert main(["model", "add", str(standin), "--mode", "text"]) == 0
    s = settings.load()
    assert s["inksight_model"] == str(standin.resolve()) and s["inksight_mode"] == "text"
    assert main(["model", "show"]) == 0
    assert str(standin.resolve()) in capsys.readouterr().out
    assert main(["model", "mode", "recognize-and-derender"]) == 0
    assert settings.load()["inksight_mode"] == "recognize"
    assert main(["model", "remove"]) == 0
    assert settings.load()["inksight_model"] is None

    capsys.readouterr()
    bad = tmp_path / "not-a-model"
    bad.mkdir()
    assert main(["model", "add", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"inknotes: {bad}: ") and "not a TensorFlow SavedModel" in err
    assert "Traceback" not in err
    assert settings.load()["inksight_model"] is None


def test_a_folder_that_only_looks_like_a_model_is_one_line_without_tensorflow_chatter(tmp_path):
    fake = tmp_path / "model"
    (fake / "variables").mkdir(parents=True)
    (fake / "saved_model.pb").write_bytes(b"not a protobuf")
    env = {**os.environ, "INKNOTES_CONFIG_DIR": str(tmp_path / "cfg"), "INKNOTES_DATA_DIR": str(tmp_path)}
    run = subprocess.run([sys.executable, "-m", "inknotes.cli", "model", "add", str(fake)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    assert run.stderr.splitlines() == [f"inknotes: {fake}: This folder could not be read as a TensorFlow "
                                       "SavedModel; download and unzip the InkSight model again."]


def test_only_tensorflows_native_start_up_lines_are_held_back():
    code = r'''
import logging, os, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
from inknotes.derender.inksight import _native_stderr_quiet
with _native_stderr_quiet():
    os.write(2, b"I0000 00:00:1796225855.991316   20237 port.cc:153] oneDNN custom operations are on.\n")
    os.write(2, b"2025-09-17 14:44:05.157831: I external/local_xla/cudart_stub.cc:32] no cuda\n")
    logging.info("TensorFlow started")
    os.write(2, b"F0000 00:00:1.0 1 cpu_feature_guard.cc:1] fatal\n")
try:
    with _native_stderr_quiet():
        os.write(2, b"I0000 00:00:1796225855.991316   20237 port.cc:153] kept when start-up fails\n")
        raise RuntimeError
except RuntimeError:
    pass
'''
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert run.stderr.decode().splitlines() == [
        "TensorFlow started", "F0000 00:00:1.0 1 cpu_feature_guard.cc:1] fatal",
        "I0000 00:00:1796225855.991316   20237 port.cc:153] kept when start-up fails"]
