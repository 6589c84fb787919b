"""Headless Chromium for the dashboard's browser tests and benchmark (system Chromium, never a download).

``scripts/install_chromium.sh`` installs /usr/bin/chromium; playwright only drives it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CHROMIUM_PATH = Path(os.environ.get("HYPERTRACK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_available() -> bool:
    """True when the system Chromium the tests drive is installed."""
    return CHROMIUM_PATH.is_file() and os.access(CHROMIUM_PATH, os.X_OK)


def launch_chromium(playwright: Any) -> Any:
    """Launch headless system Chromium through a started ``sync_playwright()`` instance."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM_PATH), args=list(CHROMIUM_ARGS), headless=True
    )
