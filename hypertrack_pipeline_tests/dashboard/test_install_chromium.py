"""scripts/install_chromium.sh: a no-op when Chromium is there, one clear message when it cannot install."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install_chromium.sh"


def _run(chromium: str, prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHROMIUM": chromium}
    return subprocess.run(
        [*(prefix or []), "sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30, check=False
    )


def test_does_nothing_when_chromium_is_installed() -> None:
    done = _run(sys.executable)  # any executable stands in for an installed chromium
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("chromium already installed: Python 3.")


def test_non_root_gets_one_clear_message(tmp_path: Path) -> None:
    prefix: list[str] = []
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv to drop privileges")
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    done = _run(str(tmp_path / "no-chromium"), prefix)
    assert done.returncode == 1
    assert "needs root" in done.stderr and "apt-get install -y chromium" in done.stderr
    assert done.stdout == ""
