#!/bin/sh
# Check a built Linux bundle the way a user would meet it, offscreen:
#   installers/linux/smoke_test.sh [BUNDLE_DIR]      (default dist/inknotes)
# --help works; a real fixture page converts to InkML + PDF through the bundled CLI with the
# bundled Tesseract (PATH holds no other); two pages convert in parallel (--jobs 2); the desktop
# app opens a new library and quits; the default bundle holds no TensorFlow. Prints the bundle's
# size and start-up time (median of 3 `--help` runs). Exit 0 only when every check passed.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUNDLE=${1:-$ROOT/dist/inknotes}
BUNDLE=$(cd "$BUNDLE" 2>/dev/null && pwd) || { echo "smoke_test: no bundle at ${1:-dist/inknotes}; run build.sh" >&2; exit 1; }
EXE="$BUNDLE/inknotes"
FIXTURES="$ROOT/tests/fixtures/convert"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
export QT_QPA_PLATFORM=offscreen INKNOTES_CONFIG_DIR="$TMP/config" INKNOTES_DATA_DIR="$TMP/data"
export XDG_CONFIG_HOME="$TMP/xdg-config" XDG_DATA_HOME="$TMP/xdg-data" XDG_STATE_HOME="$TMP/xdg-state" \
    XDG_CACHE_HOME="$TMP/xdg-cache"

fail() { echo "smoke_test: FAIL: $*" >&2; exit 1; }
ok() { echo "smoke_test: ok: $*"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

[ -x "$EXE" ] || fail "$EXE is not an executable program"

"$EXE" --help >"$TMP/help.txt" 2>&1 || fail "inknotes --help exited $? ($(cat "$TMP/help.txt"))"
grep -q "convert" "$TMP/help.txt" || fail "--help does not list the convert command"
ok "inknotes --help"

times=""
for _ in 1 2 3; do
    t0=$(now_ms); "$EXE" --help >/dev/null 2>&1; t1=$(now_ms)
    times="$times $((t1 - t0))"
done
startup=$(printf '%s\n' $times | sort -n | sed -n 2p)

# OCR must come from the bundle: PATH names no folder with a tesseract in it.
TESS="$BUNDLE/_internal/tesseract/tesseract"
if [ -x "$TESS" ]; then
    "$TESS" --list-langs 2>&1 | grep -qx eng || fail "the bundled tesseract does not list English"
    RUN_PATH=/nonexistent
    ok "bundled tesseract runs and has English"
else
    echo "smoke_test: note: this bundle has no Tesseract; using the system one" >&2
    RUN_PATH=$PATH
fi

t0=$(now_ms)
PATH=$RUN_PATH "$EXE" convert "$FIXTURES/line_scan.png" -o "$TMP/out" -f inkml,pdf -q >"$TMP/convert.log" 2>&1 \
    || fail "convert exited $? ($(cat "$TMP/convert.log"))"
t1=$(now_ms)
for f in "$TMP/out/line_scan.inkml" "$TMP/out/line_scan.pdf"; do
    [ -s "$f" ] || fail "convert did not write $(basename "$f")"
done
traces=$(grep -o "<trace" "$TMP/out/line_scan.inkml" | wc -l)
[ "$traces" -ge 10 ] || fail "line_scan.inkml holds only $traces strokes"
grep -q 'type="source">ocr' "$TMP/out/line_scan.inkml" || fail "no word in line_scan.inkml was found by Tesseract"
head -c 5 "$TMP/out/line_scan.pdf" | grep -q "%PDF-" || fail "line_scan.pdf is not a PDF"
ok "convert line_scan.png -> inkml ($traces strokes, OCR words) + pdf in $((t1 - t0)) ms"

PATH=$RUN_PATH "$EXE" convert "$FIXTURES/word_photo.png" "$FIXTURES/line_ruled.png" -o "$TMP/par" -f inkml \
    --jobs 2 -q >"$TMP/par.log" 2>&1 || fail "convert --jobs 2 exited $? ($(cat "$TMP/par.log"))"
[ -s "$TMP/par/word_photo.inkml" ] && [ -s "$TMP/par/line_ruled.inkml" ] || fail "convert --jobs 2 missed a file"
ok "convert --jobs 2 (worker processes from the frozen program)"

t0=$(now_ms)
timeout 120 "$BUNDLE/inknotes-gui" --library "$TMP/library.sqlite" --quit-after-start >"$TMP/gui.log" 2>&1 \
    || fail "the desktop app exited $? ($(tail -n 5 "$TMP/gui.log"))"
t1=$(now_ms)
[ -s "$TMP/library.sqlite" ] || fail "the desktop app did not create its library"
ok "desktop app opened a new library and quit in $((t1 - t0)) ms ($(grep -o 'usable after.*' "$TMP/gui.log"))"

if [ "$(basename "$BUNDLE")" = "inknotes" ]; then
    [ ! -e "$BUNDLE/_internal/tensorflow" ] || fail "the default bundle contains TensorFlow"
    ok "no TensorFlow in the default bundle"
fi
[ -f "$BUNDLE/_internal/resources/icons/inknotes-256.png" ] || fail "resources/ is not in the bundle"
for w in tracer_prior.npz tracer_direction.npz tracer_retrace.npz; do
    [ -f "$BUNDLE/_internal/resources/models/$w" ] || fail "the tracer's learned weights ($w) are not in the bundle"
done
ok "the tracer's learned weights are in the bundle"

echo "smoke_test: bundle size $(du -sh "$BUNDLE" | cut -f1) ($BUNDLE)"
echo "smoke_test: start-up (inknotes --help, median of 3) ${startup} ms; runs:${times} ms"
echo "smoke_test: PASS"
