"""Shared test fixtures: paths to the third-party fixtures (skipped cleanly when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures" / "hyperliquid"


@pytest.fixture
def hl_fixtures() -> Path:
    """``../shared/fixtures/hyperliquid``; the test is skipped when that folder is absent."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("../shared/fixtures/hyperliquid is not present")
    return SHARED_FIXTURES


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch, tmp_path_factory):
    """Tests never read the developer's .env or HYPERTRACK_*/RECORD_* variables."""
    import os

    for name in list(os.environ):
        if name.startswith(("HYPERTRACK_", "RECORD_", "MAINNET_RPC_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HYPERTRACK_ENV_FILE", str(tmp_path_factory.getbasetemp() / "no.env"))
