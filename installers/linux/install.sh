#!/bin/sh
# Add inknotes to your desktop's application menu and your PATH, for you alone (no root):
#   ./install.sh            menu entry, icon and ~/.local/bin/inknotes pointing at this folder
#   ./install.sh --uninstall
# The folder itself stays where you unpacked it; move it first if you want it elsewhere.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data="${XDG_DATA_HOME:-$HOME/.local/share}"
apps="$data/applications"
icons="$data/icons/hicolor"
bin="$HOME/.local/bin"

if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$apps/inknotes.desktop" "$icons/256x256/apps/inknotes.png" "$icons/512x512/apps/inknotes.png" \
          "$icons/scalable/apps/inknotes.svg"
    if [ -L "$bin/inknotes" ]; then rm -f "$bin/inknotes"; fi
    echo "inknotes: removed the menu entry and the command; delete $here to remove the program."
    exit 0
fi

if [ ! -x "$here/inknotes" ]; then
    echo "inknotes: $here/inknotes is missing; run install.sh from the unpacked inknotes folder." >&2
    exit 1
fi
mkdir -p "$apps" "$icons/256x256/apps" "$icons/512x512/apps" "$icons/scalable/apps" "$bin"
cp "$here/icons/inknotes-256.png" "$icons/256x256/apps/inknotes.png"
cp "$here/icons/inknotes-512.png" "$icons/512x512/apps/inknotes.png"
cp "$here/icons/inknotes.svg" "$icons/scalable/apps/inknotes.svg"
sed -e "s|^Exec=inknotes-gui|Exec=\"$here/inknotes-gui\"|" -e "s|^TryExec=inknotes-gui|TryExec=$here/inknotes-gui|" \
    "$here/inknotes.desktop" > "$apps/inknotes.desktop.tmp"
mv "$apps/inknotes.desktop.tmp" "$apps/inknotes.desktop"
ln -sfn "$here/inknotes" "$bin/inknotes"
if command -v update-desktop-database >/dev/null 2>&1; then update-desktop-database "$apps" || true; fi
if command -v gtk-update-icon-cache >/dev/null 2>&1; then gtk-update-icon-cache -q "$icons" || true; fi
echo "inknotes: installed. Open it from your application menu, or run: inknotes gui"
case ":$PATH:" in *":$bin:"*) ;; *) echo "inknotes: add $bin to your PATH to use the inknotes command.";; esac
