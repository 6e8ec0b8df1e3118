#!/bin/sh
# One-time set-up on Debian/Ubuntu: system packages (Tesseract OCR, Python venv) and a
# virtual environment in .venv with inknotes and its test tools installed.
set -eu
cd "$(dirname "$0")"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if command -v apt-get >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
        tesseract-ocr tesseract-ocr-eng python3 python3-venv python3-pip \
        libgl1 libglib2.0-0 libegl1 libxkbcommon0 libfontconfig1 libdbus-1-3 >/dev/null
fi
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
echo "inknotes is installed: .venv/bin/inknotes --help"
