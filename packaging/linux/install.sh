#!/usr/bin/env bash
# Installs this unpacked bundle for the current user: ~/.local/opt, a launcher, the icon and .ifc type.
#   ./install.sh            install (or update)
#   ./install.sh --remove   uninstall (add --forget-token to also delete stored tokens)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
TARGET="$HOME/.local/opt/speckle-uploader"
if [ "${1:-}" = "--remove" ]; then
  if [ "${2:-}" = "--forget-token" ] && [ -x "$TARGET/speckle-uploader" ]; then
    "$TARGET/speckle-uploader" logout || true
  fi
  rm -rf "$TARGET" "$HOME/.local/bin/speckle-uploader" "$DATA/applications/speckle-uploader.desktop" \
    "$DATA/icons/hicolor/256x256/apps/speckle-uploader.png" "$DATA/mime/packages/speckle-uploader-ifc.xml"
  update-mime-database "$DATA/mime" 2>/dev/null || true
  echo "Speckle Uploader removed."
  exit 0
fi
mkdir -p "$TARGET" "$HOME/.local/bin" "$DATA/applications" "$DATA/icons/hicolor/256x256/apps" "$DATA/mime/packages"
cp -a "$HERE/." "$TARGET/"
ln -sf "$TARGET/speckle-uploader" "$HOME/.local/bin/speckle-uploader"
sed "s|^Exec=speckle-uploader|Exec=\"$TARGET/speckle-uploader\"|" "$HERE/speckle-uploader.desktop" \
  > "$DATA/applications/speckle-uploader.desktop"
cp "$HERE/speckle-uploader.png" "$DATA/icons/hicolor/256x256/apps/speckle-uploader.png"
cp "$HERE/speckle-uploader-ifc.xml" "$DATA/mime/packages/"
update-mime-database "$DATA/mime" 2>/dev/null || true
update-desktop-database "$DATA/applications" 2>/dev/null || true
echo "Speckle Uploader installed in $TARGET; find it in your applications menu."
