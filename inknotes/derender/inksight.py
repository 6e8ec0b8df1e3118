"""The ``inksight`` engine: Google's InkSight Small-p TensorFlow SavedModel, run on word crops.

The user downloads the model themselves (nothing is downloaded at run time) and points to it
with ``--model DIR`` or ``inknotes model add DIR``. Each word crop is scaled to fit 224x224
keeping its aspect ratio, centred on black, JPEG-encoded and sent with a prompt; the answer's
``<ink_token_N>`` tokens become strokes (``inksight_tokens``), mapped back through un-pad and
un-scale into crop pixels. Modes: ``vanilla`` ("Derender the ink."), ``text`` (derender with
the OCR text) and ``recognize`` (the model's recognised text becomes the word's text). An
answer without ink is retried once with the vanilla prompt.

TensorFlow is imported only when the model is first loaded, and one loaded model per folder
is shared by every engine in the process.

XLA numerics (TensorFlow 2.18+). The authors pinned TensorFlow 2.15-2.17 because 2.18 and
later turn on XLA custom-kernel fusion passes and GPU autotuning that lower the model's
GEMMs differently; the tiny numeric differences are amplified by autoregressive decoding and
change the ink. Their fix (google-research/inksight PR #29, "configure XLA before TensorFlow
is imported") disables those passes before TensorFlow loads, without touching the model. We
do the same in ``configure_tensorflow_env`` for TensorFlow >= 2.18: ``XLA_FLAGS`` gets
``--xla_gpu_enable_dynamic_slice_fusion=false`` (the custom-kernel fusion rewriter, formerly
``address_computation_fusion``), ``--xla_gpu_autotune_level=0`` (no autotuning: the same
kernels on every run) and ``--xla_gpu_enable_triton_gemm=false`` (GEMMs stay on cuBLAS as in
2.15-2.17). Only flags known to our TensorFlow line are added (XLA aborts the process on an
unknown flag), flags the user already set in ``XLA_FLAGS`` win, and
``INKNOTES_KEEP_XLA_FLAGS=1`` leaves the environment alone. After import, grappler's
remapper (which fuses MatMul+BiasAdd+activation into one kernel) and XLA auto-clustering are
switched off for the same reason. Also ``TF_CPP_MIN_LOG_LEVEL`` defaults to 2 (TF's start-up
chatter is not for users).

GPU: memory growth is turned on; when the GPU cannot be initialised the engine runs on the
CPU and says so in ``notice`` (and the log).
"""
from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import Cancelled, EngineError, ModelError
from ..ink import Stroke, retime_in_order
from .base import CancelFn, Crop, Derendered, ProgressFn
from .inksight_tokens import COORDINATE_LENGTH, detokenize, split_output

log = logging.getLogger(__name__)

IMAGE_SIZE = COORDINATE_LENGTH  # 224
JPEG_QUALITY = 95
DEFAULT_PEN_WIDTH = 2.0  # pixels in the model's 224 space, when the page's pen width is unknown
SIGNATURE = "serving_default"
OUTPUT_KEY = "output_0"

VANILLA_PROMPT = "Derender the ink."
TEXT_PROMPT = "Derender the ink: "
RECOGNIZE_PROMPT = "Recognize and derender."
MODES = {"vanilla": "vanilla", "text": "text", "derender-with-text": "text",
         "recognize": "recognize", "recognize-and-derender": "recognize"}

NO_MODEL = ("No InkSight model is set; download the InkSight Small-p SavedModel and run "
            "`inknotes model add DIR`, or pass --model DIR.")

# XLA flags for TensorFlow >= 2.18 (see the module docstring); checked against TF 2.21's XLA.
_XLA_FLAGS_TF218 = ("--xla_gpu_enable_dynamic_slice_fusion=false",
                    "--xla_gpu_autotune_level=0",
                    "--xla_gpu_enable_triton_gemm=false")


def normalize_mode(mode: str | None) -> str:
    """'vanilla' | 'text' | 'recognize' (long names accepted); None means the setting."""
    if mode is None:
        from .. import settings
        mode = settings.load().get("inksight_mode") or "vanilla"
    key = str(mode).strip().lower()
    if key not in MODES:
        raise EngineError(f"Unknown InkSight mode '{mode}'; choose vanilla, text or recognize.")
    return MODES[key]


def prompt_for(mode: str, text: str = "") -> str:
    """The prompt the model gets for one word in ``mode``."""
    mode = normalize_mode(mode)
    if mode == "recognize":
        return RECOGNIZE_PROMPT
    if mode == "text" and text.strip():
        return TEXT_PROMPT + text.strip()
    return VANILLA_PROMPT


# --- TensorFlow set-up -----------------------------------------------------------------------

def _tf_version() -> tuple[int, int]:
    for dist in ("tensorflow", "tensorflow-cpu", "tf-nightly", "tensorflow-macos", "tensorflow-intel"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError, ValueError):
            major, minor = importlib.metadata.version(dist).split(".")[:2]
            return int(major), int("".join(c for c in minor if c.isdigit()) or 0)
    return (0, 0)


def configure_tensorflow_env(version: tuple[int, int] | None = None) -> list[str]:
    """Set the XLA flags the InkSight model needs, before TensorFlow is imported.

    Returns the flags added. Idempotent; flags already named in ``XLA_FLAGS`` are kept as set.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if os.environ.get("INKNOTES_KEEP_XLA_FLAGS") == "1":
        return []
    version = version or _tf_version()
    if version < (2, 18):
        return []
    current = os.environ.get("XLA_FLAGS", "")
    have = {f.split("=")[0] for f in current.split()}
    added = [f for f in _XLA_FLAGS_TF218 if f.split("=")[0] not in have]
    if added:
        os.environ["XLA_FLAGS"] = " ".join([current.strip(), *added]).strip()
    if "tensorflow" in sys.modules:
        log.debug("TensorFlow was imported before the InkSight XLA flags were set; they apply only "
                  "if XLA has not compiled anything yet")
    return added


@dataclass
class _Runtime:
    tf: Any
    device: str  # "/GPU:0" or "/CPU:0"
    notice: str | None


_runtime: _Runtime | None = None
_runtime_lock = threading.Lock()


# TensorFlow's native log lines: absl ("I0000 00:00:1796225855.991316   20237 port.cc:153] ...",
# after its "WARNING: All log messages before absl::InitializeLog() ..." banner) and TF's own
# ("2025-09-17 14:44:05.157831: I external/...] ..."). Fatal ones (F) are kept.
_TF_NATIVE_LINE = re.compile(rb"^(?:[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] |"
                             rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] |"
                             rb"WARNING: All log messages before absl::InitializeLog\(\) is called)")


@contextlib.contextmanager
def _native_stderr_quiet() -> Iterator[None]:
    """TensorFlow's C++ start-up lines (oneDNN, CUDA stubs, cuInit) go to file descriptor 2
    before TF_CPP_MIN_LOG_LEVEL is read (tensorflow/tensorflow#100442); they are not for the
    person. While TensorFlow starts, fd 2 goes to a temporary file; then every other line written
    meanwhile (Python's log, another thread's messages) is passed on, and on a failure all of it.
    At debug level nothing is held back."""
    if logging.getLogger().getEffectiveLevel() <= logging.DEBUG:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        held = tempfile.TemporaryFile()
    except (OSError, ValueError, AttributeError):  # no real fd 2 (a GUI without a console)
        yield
        return
    failed = True
    try:
        os.dup2(held.fileno(), 2)
        yield
        failed = False
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        held.seek(0)
        lines = held.read().splitlines(keepends=True)
        held.close()
        keep = b"".join(ln for ln in lines if failed or not _TF_NATIVE_LINE.match(ln))
        if keep:
            with contextlib.suppress(OSError):
                os.write(2, keep)


def _tensorflow() -> _Runtime:
    """Import and configure TensorFlow once per process."""
    global _runtime
    with _runtime_lock, _native_stderr_quiet():
        return _start_tensorflow()


def _start_tensorflow() -> _Runtime:
    """The body of ``_tensorflow``, under its lock."""
    global _runtime
    if _runtime is not None:
        return _runtime
    configure_tensorflow_env()
    try:
        import tensorflow as tf
    except ImportError as e:
        raise EngineError("TensorFlow is not installed; install it (pip install tensorflow) "
                          "to use the InkSight engine.") from e
    with contextlib.suppress(Exception):  # grappler fusion and auto-jit off (see docstring)
        tf.config.optimizer.set_experimental_options({"remapping": False})
        tf.config.optimizer.set_jit(False)
    with contextlib.suppress(ImportError):
        import tensorflow_text  # noqa: F401  (registers the tokenizer ops the real model uses)
    device, notice = "/CPU:0", None
    try:
        gpus = tf.config.list_physical_devices("GPU")
    except Exception as e:  # a broken driver can fail here already
        log.warning("listing GPUs failed: %s", e)
        gpus = []
    if gpus:
        try:
            for g in gpus:
                with contextlib.suppress(RuntimeError):  # already initialised: growth is fixed
                    tf.config.experimental.set_memory_growth(g, True)
            with tf.device("/GPU:0"):
                tf.constant([1.0]).numpy()
            device = "/GPU:0"
        except Exception as e:
            log.warning("GPU initialisation failed; running InkSight on the CPU", exc_info=True)
            with contextlib.suppress(Exception):  # keep TF off the broken GPU where it still can
                tf.config.set_visible_devices([], "GPU")
            notice = (f"The GPU could not be initialised ({type(e).__name__}); InkSight runs on the "
                      "CPU, which is much slower.")
    log.info("TensorFlow %s; InkSight runs on %s", tf.__version__, device)
    _runtime = _Runtime(tf, device, notice)
    return _runtime


# --- the model --------------------------------------------------------------------------------

def check_model_dir(path: str | Path) -> Path:
    """Cheap validation (no TensorFlow): the folder exists and holds a saved_model.pb."""
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelError("The InkSight model folder does not exist; check the path or run "
                         "`inknotes model add DIR` again.", p)
    if not p.is_dir():
        raise ModelError("The InkSight model must be a folder (the unzipped SavedModel), not a file.", p)
    if not (p / "saved_model.pb").is_file() and not (p / "saved_model.pbtxt").is_file():
        raise ModelError("This folder is not a TensorFlow SavedModel (it has no saved_model.pb); "
                         "point to the unzipped InkSight model folder.", p)
    return p.resolve()


@dataclass
class InkSightModel:
    """A loaded SavedModel with its serving function and resolved argument names."""

    path: Path
    fn: Any
    text_arg: str
    image_arg: str
    runtime: _Runtime
    owner: Any  # the loaded object: signature functions hold only weak references to variables
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def on_gpu(self) -> bool:
        return self.runtime.device.startswith("/GPU")

    def __call__(self, prompts: Sequence[str], jpegs: Sequence[bytes]) -> list[str]:
        """One decoded answer per (prompt, JPEG)."""
        tf = self.runtime.tf
        with self._lock, tf.device(self.runtime.device):
            out = self.fn(**{self.text_arg: tf.constant(list(prompts), tf.string),
                             self.image_arg: tf.reshape(tf.constant(list(jpegs), tf.string), (-1, 1))})
        values = np.asarray(out[OUTPUT_KEY].numpy()).reshape(-1)
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]


_models: dict[Path, InkSightModel] = {}
_models_lock = threading.Lock()


def _resolve_args(fn: Any, path: Path) -> tuple[str, str]:
    """The serving function's text and image argument names, from its structured signature."""
    wrong = ModelError("This SavedModel's serving signature does not take the InkSight inputs "
                       "(input_text and image/encoded); it is not an InkSight model.", path)
    try:
        _, kwargs = fn.structured_input_signature
        outputs = fn.structured_outputs
    except Exception as e:
        raise wrong from e
    if not isinstance(outputs, dict) or OUTPUT_KEY not in outputs:
        raise ModelError("This SavedModel's serving signature has no output_0; it is not an InkSight "
                         "model.", path)
    text_arg = image_arg = None
    for key, spec in (kwargs or {}).items():
        names = {key, str(getattr(spec, "name", "") or "")}
        if getattr(spec, "dtype", None) is None or spec.dtype.name != "string":
            continue
        if names & {"input_text"}:
            text_arg = key
        elif any("image" in n and "encoded" in n for n in names):
            image_arg = key
    if text_arg is None or image_arg is None:
        raise wrong
    return text_arg, image_arg


def load_model(path: str | Path) -> InkSightModel:
    """The loaded model for ``path``, shared by every caller in this process."""
    p = check_model_dir(path)
    with _models_lock:
        if p in _models:
            return _models[p]
        rt = _tensorflow()
        tf = rt.tf
        log.info("loading InkSight model from %s", p)
        try:
            with tf.device(rt.device):
                loaded = tf.saved_model.load(str(p))
        except Exception as e:
            log.debug("loading %s failed", p, exc_info=True)
            msg = str(e)
            if "Op type not registered" in msg or "not registered" in msg:
                raise ModelError("This model needs TensorFlow Text; install the tensorflow-text version "
                                 f"matching TensorFlow {tf.__version__} and try again.", p) from e
            raise ModelError("This folder could not be read as a TensorFlow SavedModel; download and "
                             "unzip the InkSight model again.", p) from e
        sigs = getattr(loaded, "signatures", None) or {}
        if SIGNATURE not in sigs:
            raise ModelError("This SavedModel has no serving_default signature; it is not an InkSight "
                             "model.", p)
        fn = sigs[SIGNATURE]
        text_arg, image_arg = _resolve_args(fn, p)
        model = InkSightModel(p, fn, text_arg, image_arg, rt, loaded)
        _models[p] = model
        return model


# --- image preparation ------------------------------------------------------------------------

@dataclass(frozen=True)
class Placement:
    """How a crop was put into the 224x224 model image: per-axis scale, then padding."""

    scale_x: float
    scale_y: float
    pad_x: int
    pad_y: int

    def to_crop(self, points: np.ndarray) -> np.ndarray:
        """Model-image points -> crop pixel coordinates (un-pad, un-scale)."""
        p = np.asarray(points, np.float32).reshape(-1, 2)
        return np.stack([(p[:, 0] - self.pad_x) / self.scale_x,
                         (p[:, 1] - self.pad_y) / self.scale_y], 1).astype(np.float32)


def prepare_image(rgb: np.ndarray) -> tuple[np.ndarray, Placement]:
    """The crop scaled to fit 224x224 keeping its aspect ratio, centred, padded with black."""
    img = np.asarray(rgb)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = np.ascontiguousarray(img[..., :3], np.uint8)
    h, w = img.shape[:2]
    if h == 0 or w == 0:
        return np.zeros((IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8), Placement(1.0, 1.0, 0, 0)
    s = IMAGE_SIZE / max(h, w)
    nw, nh = max(1, min(IMAGE_SIZE, round(w * s))), max(1, min(IMAGE_SIZE, round(h * s)))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    small = cv2.resize(img, (nw, nh), interpolation=interp)
    out = np.zeros((IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    px, py = (IMAGE_SIZE - nw) // 2, (IMAGE_SIZE - nh) // 2
    out[py:py + nh, px:px + nw] = small
    return out, Placement(nw / w, nh / h, px, py)


def isolate_word(crop: Crop) -> np.ndarray:
    """The crop's RGB with ink that is not this word's (``crop.mask``) painted as paper, so the
    model does not derender a neighbour's ink a second time. The word keeps a margin of a few
    pen widths of the real page around its own ink."""
    rgb = np.asarray(crop.rgb)
    mask = np.asarray(crop.mask, bool) if crop.mask is not None else None
    if mask is None or mask.shape != rgb.shape[:2] or not mask.any() or mask.all():
        return rgb
    r = int(max(2, round(2 * (crop.pen_width or DEFAULT_PEN_WIDTH))))
    keep = cv2.dilate(mask.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2))
    outside = keep == 0
    if not outside.any():
        return rgb
    out = rgb.copy()
    paper = rgb[~mask].reshape(-1, rgb.shape[2] if rgb.ndim == 3 else 1)
    out[outside] = np.median(paper, axis=0).astype(rgb.dtype)
    return out


def encode_jpeg(rgb: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise EngineError("Could not encode a word image for InkSight.")
    return buf.tobytes()


# --- the engine -------------------------------------------------------------------------------

class InkSightEngine:
    """Derenders word crops with the InkSight SavedModel, ``batch_size`` words per model call."""

    name = "inksight"

    def __init__(self, model: str | Path | None = None, mode: str | None = None, batch_size: int = 32,
                 **ignored: Any):
        if model is None:
            from .. import settings
            model = settings.load().get("inksight_model")
        if not model:
            raise ModelError(NO_MODEL)
        self.model_path = check_model_dir(model)
        self.mode = normalize_mode(mode)
        self.batch_size = max(1, int(batch_size))
        self._model: InkSightModel | None = None
        if ignored:
            log.debug("InkSightEngine ignores options %s", sorted(ignored))

    @property
    def wants_text(self) -> bool:
        """True in text mode: the pipeline runs OCR first and fills Crop.text."""
        return self.mode == "text"

    @property
    def uses_gpu(self) -> bool:
        """True until the model is loaded (so the pool runs one model job at a time), then
        whether TensorFlow runs it on a GPU. Never imports TensorFlow by itself."""
        return True if self._model is None else self._model.on_gpu

    @property
    def notice(self) -> str | None:
        """A sentence for the user when the GPU could not be used (None otherwise)."""
        return self._model.runtime.notice if self._model is not None else None

    def load(self) -> InkSightModel:
        if self._model is None:
            self._model = load_model(self.model_path)
        return self._model

    def derender(self, crops: Sequence[Crop], progress: ProgressFn | None = None,
                 cancel: CancelFn | None = None) -> list[Derendered]:
        total = len(crops)
        if total == 0:
            return []
        if cancel and cancel():
            raise Cancelled()
        model = self.load()
        out: list[Derendered] = []
        for start in range(0, total, self.batch_size):
            if start and cancel and cancel():
                raise Cancelled()
            out += self._derender_batch(model, crops[start:start + self.batch_size])
            if progress:
                progress(len(out), total)
        return out

    def _derender_batch(self, model: InkSightModel, crops: Sequence[Crop]) -> list[Derendered]:
        prepared = [prepare_image(isolate_word(c)) for c in crops]
        jpegs = [encode_jpeg(img) for img, _ in prepared]
        prompts = [prompt_for(self.mode, c.text) for c in crops]
        answers = model(prompts, jpegs)
        parsed = [split_output(a) for a in answers]
        retry = [i for i, (_, toks) in enumerate(parsed)
                 if not detokenize(toks) and prompts[i] != VANILLA_PROMPT]
        if retry:
            log.debug("%d word(s) gave no ink; retrying with the vanilla prompt", len(retry))
            again = model([VANILLA_PROMPT] * len(retry), [jpegs[i] for i in retry])
            for i, a in zip(retry, again, strict=True):
                _, toks = split_output(a)
                parsed[i] = (parsed[i][0], toks)  # the recognised text of the first answer is kept
        results = []
        for crop, (_, place), (text, toks) in zip(crops, prepared, parsed, strict=True):
            width = crop.pen_width if crop.pen_width > 0 else DEFAULT_PEN_WIDTH / max(place.scale_x, 1e-6)
            strokes = [Stroke.from_points(place.to_crop(s), width) for s in detokenize(toks)]
            results.append(Derendered(retime_in_order(strokes),
                                      (text or None) if self.mode == "recognize" else None))
        return results
