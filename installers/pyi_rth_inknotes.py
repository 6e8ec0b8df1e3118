"""PyInstaller runtime hook: make the bundled Tesseract the one pytesseract runs.

pytesseract starts the program named ``tesseract`` found on PATH, so putting the bundle's copy
first on PATH (and its language folder in TESSDATA_PREFIX) is enough; nothing is imported here,
which keeps ``inknotes --help`` fast. Set INKNOTES_SYSTEM_TESSERACT=1 to use the system one.
"""
import os
import sys


def _use_bundled_tesseract() -> None:
    base = getattr(sys, "_MEIPASS", None)
    if not base or os.environ.get("INKNOTES_SYSTEM_TESSERACT"):
        return
    folder = os.path.join(base, "tesseract")
    exe = os.path.join(folder, "tesseract.exe" if sys.platform == "win32" else "tesseract")
    if not os.path.isfile(exe):
        return  # a bundle built without Tesseract: the system one (if any) is used
    os.environ["PATH"] = folder + os.pathsep + os.environ.get("PATH", "")
    os.environ["TESSDATA_PREFIX"] = os.path.join(folder, "tessdata")
    # On Linux ``tesseract`` is a small wrapper that points the loader at the bundled libraries
    # for Tesseract alone; LD_LIBRARY_PATH is not changed for other programs the app starts.


_use_bundled_tesseract()
