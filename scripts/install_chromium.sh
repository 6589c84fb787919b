#!/usr/bin/env sh
# Install the system Chromium the dashboard tests and benchmark drive (headless, via playwright's
# executable_path). Idempotent: does nothing when /usr/bin/chromium is already there. Never downloads
# playwright's own browser bundles.
set -eu

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    echo "chromium already installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install_chromium: $CHROMIUM is missing and installing it needs root." >&2
    echo "  run: sudo apt-get update && sudo apt-get install -y chromium   (or: sudo $0)" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_chromium: apt-get not found; install Chromium with your package manager so that $CHROMIUM exists." >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium

if [ ! -x "$CHROMIUM" ]; then
    echo "install_chromium: apt-get finished but $CHROMIUM is still missing (is the package named chromium-browser here?)." >&2
    exit 1
fi
echo "chromium installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
