"""What every inknotes bundle holds, shared by the Linux, Windows and macOS PyInstaller specs.

One list of inclusions and exclusions for all three systems, so a fix (say, a module that
PyInstaller cannot see) reaches every installer. The specs import this file; it needs only
PyInstaller, the standard library and the source tree.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTALLERS = ROOT / "installers"
ICONS = ROOT / "resources" / "icons"

# TensorFlow and what only it pulls in: left out of the default bundle (about 1 GB more);
# the "model" variant keeps them so the InkSight engine can run.
TENSORFLOW_MODULES = [
    "tensorflow", "tensorflow_text", "tensorflow_intel", "tensorflow_io_gcs_filesystem", "tensorboard",
    "tensorboard_data_server", "keras", "tf_keras", "ml_dtypes", "h5py", "grpc", "google.protobuf",
    "absl", "flatbuffers", "opt_einsum", "gast", "astunparse", "termcolor", "libclang", "clang",
    "jax", "jaxlib", "optree", "namex", "wrapt",
]
# Never needed at run time, whatever the variant.
ALWAYS_EXCLUDED = [
    "tkinter", "_tkinter", "matplotlib", "IPython", "jupyter_client", "notebook", "pytest", "pytestqt",
    "_pytest", "ruff", "PyQt5", "PyQt6", "PySide2", "pandas", "sphinx", "numba", "dask", "pooch",
    "PyInstaller",
]
# Qt modules the app never uses (the PySide6 hook would otherwise pull some in with their plugins).
UNUSED_QT = ["PySide6.QtWebEngineCore", "PySide6.QtWebEngineWidgets", "PySide6.QtQuick", "PySide6.QtQml",
             "PySide6.Qt3DCore", "PySide6.QtMultimedia", "PySide6.QtBluetooth", "PySide6.QtPositioning",
             "PySide6.QtDesigner", "PySide6.QtNetworkAuth", "PySide6.QtSql", "PySide6.QtTest"]


def with_model() -> bool:
    """The "model" variant is asked for through the environment (build scripts set it)."""
    return os.environ.get("INKNOTES_WITH_MODEL", "") not in ("", "0")


def bundle_name() -> str:
    return "inknotes-model" if with_model() else "inknotes"


def excludes(model: bool | None = None) -> list[str]:
    model = with_model() if model is None else model
    return ALWAYS_EXCLUDED + UNUSED_QT + ([] if model else TENSORFLOW_MODULES)


def hiddenimports(model: bool | None = None) -> list[str]:
    """inknotes loads its subcommands, engines and GUI by name, which PyInstaller cannot follow."""
    from PyInstaller.utils.hooks import collect_submodules

    model = with_model() if model is None else model
    mods = collect_submodules("inknotes", filter=lambda name: ".tests" not in name)
    mods += ["sqlalchemy.dialects.sqlite", "alembic.runtime.migration", "alembic.ddl.sqlite",
             "logging.handlers", "multiprocessing.forkserver", "multiprocessing.spawn"]
    if model:
        mods += collect_submodules("tensorflow_text") if _importable("tensorflow_text") else []
    return mods


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def resource_datas(model: bool | None = None) -> list[tuple[str, str]]:
    """resources/ lands at <bundle>/resources, where Path(inknotes.__file__).parents[1] finds it.

    The built-in tracer's own weights (resources/models/tracer_*.npz, a few KB of numpy) go
    into every variant: without them the tracer silently falls back to its rules. Any other
    model file under resources/models only goes into the "model" variant.
    """
    model = with_model() if model is None else model
    datas = []
    for path in sorted((ROOT / "resources").rglob("*")):
        rel = path.relative_to(ROOT)
        tracer_weights = path.name.startswith("tracer_") and path.suffix == ".npz"
        wanted = model or "models" not in rel.parts or tracer_weights
        if path.is_file() and wanted and path.name != "README.md":
            datas.append((str(path), str(rel.parent)))
    # Alembic reads the migration scripts from disk, next to inknotes/store/schema.py.
    migrations = ROOT / "inknotes" / "store" / "migrations"
    for path in sorted(migrations.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            datas.append((str(path), str(path.parent.relative_to(ROOT))))
    return datas


def find_tesseract() -> Path | None:
    """The Tesseract program to bundle: $TESSERACT, else the one on PATH."""
    cand = os.environ.get("TESSERACT") or shutil.which("tesseract")
    return Path(cand).resolve() if cand and Path(cand).is_file() else None


def find_tessdata(tesseract: Path) -> Path | None:
    """Tesseract's language folder: $TESSDATA_PREFIX, else the usual places for each system."""
    candidates = [os.environ.get("TESSDATA_PREFIX", "")]
    candidates += [str(tesseract.parent / "tessdata"), str(tesseract.parent.parent / "share" / "tessdata")]
    candidates += [str(p) for p in sorted(Path("/usr/share/tesseract-ocr").glob("*/tessdata"), reverse=True)]
    candidates += ["/usr/share/tessdata", "/usr/local/share/tessdata", "/opt/homebrew/share/tessdata"]
    for c in candidates:
        if c and (Path(c) / "eng.traineddata").is_file():
            return Path(c)
    return None


def tesseract_files() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(binaries, datas) that put Tesseract and its English data under <bundle>/tesseract.

    Its shared libraries are found by PyInstaller's dependency scan and land in the bundle's
    library folder; the runtime hook points the app at this copy. Returns empty lists (and says
    so) when no Tesseract is installed: the app then asks the user to install one.
    """
    exe = find_tesseract()
    data = find_tessdata(exe) if exe else None
    if not exe or not data:
        print("inknotes installer: Tesseract or its English data not found; building WITHOUT OCR "
              "(the app will ask the user to install Tesseract)", file=sys.stderr)
        return [], []
    binaries = [(str(exe), "tesseract")]
    if sys.platform == "win32":  # the UB Mannheim build keeps its DLLs next to tesseract.exe
        binaries += [(str(p), "tesseract") for p in sorted(exe.parent.glob("*.dll"))]
    # English only; segment.py runs --psm 4, which needs no orientation data (osd, 10 MB).
    datas = [(str(data / "eng.traineddata"), "tesseract/tessdata")]
    for sub in ("configs", "tessconfigs"):
        for p in sorted((data / sub).glob("*")) if (data / sub).is_dir() else []:
            datas.append((str(p), f"tesseract/tessdata/{sub}"))
    print(f"inknotes installer: bundling {exe} with English data from {data}", file=sys.stderr)
    return binaries, datas


def runtime_hooks() -> list[str]:
    return [str(INSTALLERS / "pyi_rth_inknotes.py")]
