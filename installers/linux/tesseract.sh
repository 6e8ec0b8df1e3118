#!/bin/sh
# Bundled Tesseract: run the real program with the bundle's copies of its shared libraries
# (they sit one folder up, in PyInstaller's library folder); TESSDATA_PREFIX comes from the
# app's runtime hook, or defaults to the bundled English data. Shell built-ins only, so it
# works whatever PATH holds.
case "$0" in */*) here=${0%/*} ;; *) here=. ;; esac
LD_LIBRARY_PATH="$here/..${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
TESSDATA_PREFIX="${TESSDATA_PREFIX:-$here/tessdata}"
export LD_LIBRARY_PATH TESSDATA_PREFIX
exec "$here/tesseract.bin" "$@"
