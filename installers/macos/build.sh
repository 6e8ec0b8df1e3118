#!/bin/sh
# Build the macOS app: dist/inknotes.app and dist/inknotes-<ver>-macos-<arch>.dmg.
#   installers/macos/build.sh [--with-model] [--clean]
# Signing and notarisation run when CODESIGN_IDENTITY (and NOTARY_PROFILE) are set; see README.md.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
WITH_MODEL=0
CLEAN=""
for arg in "$@"; do
    case "$arg" in
        --with-model) WITH_MODEL=1 ;;
        --clean) CLEAN="--clean" ;;
        *) echo "build.sh: unknown option $arg (use --with-model, --clean)" >&2; exit 2 ;;
    esac
done
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
"$PYTHON" -c "import inknotes, PyInstaller" 2>/dev/null || {
    echo "build.sh: $PYTHON needs inknotes and PyInstaller: $PYTHON -m pip install -e '.[installer]'" >&2; exit 1; }
command -v tesseract >/dev/null 2>&1 || [ -n "${TESSERACT:-}" ] || \
    echo "build.sh: tesseract not found (brew install tesseract); the app will have no OCR" >&2

if [ "$WITH_MODEL" = 1 ]; then NAME=inknotes-model; else NAME=inknotes; fi
VERSION=$("$PYTHON" -c "import inknotes; print(inknotes.__version__)")
ARCH=$(uname -m)
APP="dist/$NAME.app"

start=$(date +%s)
INKNOTES_WITH_MODEL=$WITH_MODEL "$PYTHON" -m PyInstaller --noconfirm $CLEAN --log-level WARN \
    --distpath dist --workpath "build/pyinstaller-$NAME" installers/macos/inknotes.spec

if [ -n "${CODESIGN_IDENTITY:-}" ]; then
    codesign --force --deep --options runtime --timestamp \
        --entitlements installers/macos/entitlements.plist --sign "$CODESIGN_IDENTITY" "$APP"
fi

# Smoke test: the CLI inside the app converts a real page with the bundled Tesseract.
OUT=$(mktemp -d)
PATH=/usr/bin:/bin "$APP/Contents/MacOS/inknotes" convert tests/fixtures/convert/line_scan.png -o "$OUT" \
    -f inkml,pdf -q
[ -s "$OUT/line_scan.inkml" ] && [ -s "$OUT/line_scan.pdf" ] || { echo "build.sh: smoke test failed" >&2; exit 1; }
rm -rf "$OUT"

DMG="dist/$NAME-$VERSION-macos-$ARCH.dmg"
STAGE="build/dmg-$NAME"
rm -rf "$STAGE" "$DMG"
mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
cp LICENSE "$STAGE/LICENSE"
ln -s /Applications "$STAGE/Applications"
hdiutil create -volname "inknotes" -srcfolder "$STAGE" -ov -format UDZO "$DMG"
if [ -n "${CODESIGN_IDENTITY:-}" ]; then
    codesign --sign "$CODESIGN_IDENTITY" --timestamp "$DMG"
    if [ -n "${NOTARY_PROFILE:-}" ]; then
        xcrun notarytool submit "$DMG" --keychain-profile "$NOTARY_PROFILE" --wait
        xcrun stapler staple "$DMG"
    fi
fi
end=$(date +%s)
echo "build.sh: built $APP and $DMG in $((end - start)) s; app size $(du -sh "$APP" | cut -f1)"
