#!/usr/bin/env sh
# Install the system Chromium the dashboard tests and benchmark drive (headless, via playwright's
# executable_path). Idempotent: does nothing when /usr/bin/chromium is already there. Never downloads
# playwright's own browser bundles.
set -eu

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"  # overridable so the script itself can be tested

if [ -x "$CHROMIUM" ]; then
    echo "chromium already installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    # CI runners usually have password-less sudo; anyone else gets one clear instruction
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "install_chromium: $CHROMIUM is missing and installing it needs root." >&2
        echo "  run: sudo apt-get update && sudo apt-get install -y chromium   (or: sudo sh $0)" >&2
        exit 1
    fi
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_chromium: apt-get not found; install Chromium with your package manager so that $CHROMIUM exists." >&2
    exit 1
fi

$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium

if [ ! -x "$CHROMIUM" ]; then
    echo "install_chromium: apt-get finished but $CHROMIUM is still missing (is the package named chromium-browser here?)." >&2
    exit 1
fi
echo "chromium installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
