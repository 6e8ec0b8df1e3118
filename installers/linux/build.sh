#!/bin/sh
# Build the Linux desktop bundle into dist/:
#   installers/linux/build.sh [--with-model] [--clean]
#     dist/inknotes/                        the app folder (run dist/inknotes/inknotes gui)
#     dist/inknotes-<ver>-linux-<arch>.AppImage   when appimagetool is on PATH, else
#     dist/inknotes-<ver>-linux-<arch>.tar.gz     the folder packed for download
# --with-model builds dist/inknotes-model/ with TensorFlow for the InkSight engine (about 1 GB more).
# Needs: the package and PyInstaller in $PYTHON's environment (pip install -e '.[installer]'),
# and tesseract-ocr installed (it is copied into the bundle with its English data).
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
WITH_MODEL=0
CLEAN=""
for arg in "$@"; do
    case "$arg" in
        --with-model) WITH_MODEL=1 ;;
        --clean) CLEAN="--clean" ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown option $arg (use --with-model, --clean)" >&2; exit 2 ;;
    esac
done

if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
if ! "$PYTHON" -c "import inknotes" 2>/dev/null; then
    echo "build.sh: $PYTHON cannot import inknotes; run ./setup.sh or set PYTHON=/path/to/venv/bin/python" >&2
    exit 1
fi
if ! "$PYTHON" -m PyInstaller --version >/dev/null 2>&1; then
    echo "build.sh: PyInstaller is missing; run: $PYTHON -m pip install -e '.[installer]'" >&2
    exit 1
fi
if [ "$WITH_MODEL" = 1 ] && ! "$PYTHON" -c "import tensorflow" 2>/dev/null; then
    echo "build.sh: --with-model needs TensorFlow in $PYTHON's environment (pip install tensorflow-cpu)" >&2
    exit 1
fi
if ! command -v tesseract >/dev/null 2>&1 && [ -z "${TESSERACT:-}" ]; then
    echo "build.sh: tesseract not found; the bundle will have no OCR (sudo apt install tesseract-ocr)" >&2
fi
[ -f resources/icons/inknotes-256.png ] || "$PYTHON" installers/make_icon.py

if [ "$WITH_MODEL" = 1 ]; then NAME=inknotes-model; else NAME=inknotes; fi
VERSION=$("$PYTHON" -c "import inknotes; print(inknotes.__version__)")
ARCH=$(uname -m)
BUNDLE="dist/$NAME"

start=$(date +%s)
INKNOTES_WITH_MODEL=$WITH_MODEL "$PYTHON" -m PyInstaller --noconfirm $CLEAN --log-level WARN \
    --distpath dist --workpath "build/pyinstaller-$NAME" installers/linux/inknotes.spec

# What a person needs next to the program: menu entry, icons, the installer for the menu.
cp installers/linux/inknotes.desktop installers/linux/install.sh "$BUNDLE/"
mkdir -p "$BUNDLE/icons"
cp resources/icons/inknotes.svg resources/icons/inknotes-256.png resources/icons/inknotes-512.png "$BUNDLE/icons/"
cp installers/linux/README.md "$BUNDLE/README.md"
cp LICENSE "$BUNDLE/LICENSE"
chmod +x "$BUNDLE/install.sh"

if command -v appimagetool >/dev/null 2>&1; then
    APPDIR="build/$NAME.AppDir"
    rm -rf "$APPDIR"
    mkdir -p "$APPDIR/usr"
    cp -a "$BUNDLE" "$APPDIR/usr/inknotes"
    cp installers/linux/inknotes.desktop "$APPDIR/inknotes.desktop"
    cp resources/icons/inknotes-256.png "$APPDIR/inknotes.png"
    printf '#!/bin/sh\nhere=$(dirname "$(readlink -f "$0")")\n[ $# -eq 0 ] && exec "$here/usr/inknotes/inknotes-gui"\nexec "$here/usr/inknotes/inknotes" "$@"\n' \
        > "$APPDIR/AppRun"
    chmod +x "$APPDIR/AppRun"
    PACKAGE="dist/$NAME-$VERSION-linux-$ARCH.AppImage"
    ARCH=$ARCH appimagetool --no-appstream "$APPDIR" "$PACKAGE"
else
    PACKAGE="dist/$NAME-$VERSION-linux-$ARCH.tar.gz"
    tar -C dist -czf "$PACKAGE.tmp" "$NAME"
    mv "$PACKAGE.tmp" "$PACKAGE"
    echo "build.sh: appimagetool not found; packed the folder as $PACKAGE instead"
fi
end=$(date +%s)

echo "build.sh: built $BUNDLE in $((end - start)) s"
echo "build.sh: bundle size $(du -sh "$BUNDLE" | cut -f1), download $(du -h "$PACKAGE" | cut -f1) ($PACKAGE)"
echo "build.sh: check it with installers/linux/smoke_test.sh $BUNDLE"
