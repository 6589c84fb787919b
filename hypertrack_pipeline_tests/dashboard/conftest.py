"""Fixtures for the dashboard tests: synthetic stage-3 tables in DuckDB, and headless system Chromium."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest

from hypertrack_pipeline.dashboard.headless import CHROMIUM_PATH, chromium_available, launch_chromium
from hypertrack_pipeline.dashboard.synthetic import create_synthetic_tables
from hypertrack_pipeline.feature_names import FEATURE_NAMES

# Each payload sets window.__pwned if it ever runs; the page must show them as plain text.
XSS_IMG = '<img src=x onerror="window.__pwned=1">'
XSS_SCRIPT = "</script><script>window.__pwned=1</script>"
XSS_ATTR = '" onerror="window.__pwned=1" x="'
XSS_SVG = "<svg onload=window.__pwned=1>"
XSS_WALLET = "0xdead<script>window.__pwned=1</script>"
XSS_WALLETS = (XSS_WALLET, "0xbeef" + XSS_IMG.lower(), "0xfeed" + XSS_ATTR.lower())

README = """# hypertrack handbook

Dashboards are *offline*.

<script>window.__pwned=1</script>

<img src="https://example.invalid/x.png" onerror="window.__pwned=1">

[click me](javascript:window.__pwned=1) and ![tracker](https://example.invalid/pixel.gif)

```
code & <b>stays</b> text
```
"""


def add_xss_wallets(con: duckdb.DuckDBPyConnection) -> None:
    """Wallets whose every string field (address, category, cohorts, class, coins) is a script payload."""
    for n, wallet in enumerate(XSS_WALLETS):
        con.execute(
            "INSERT INTO wallet_scores VALUES (?, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.9, 0.8, 0.7, 4.0, 0.6, ?)",
            [wallet, XSS_SCRIPT],
        )
        cats = json.dumps([[XSS_IMG, 0.9], [XSS_ATTR, 0.8], [XSS_SVG, 0.7]])
        con.execute(
            "INSERT INTO wallet_categories VALUES (?, ?, ?, ?, true, ?, ?)",
            [wallet, cats, XSS_IMG, XSS_SVG, XSS_SCRIPT, XSS_ATTR],
        )
        con.execute("INSERT INTO wallet_pnl VALUES (?, 10.0, 5.0, 15.0, 1e12, 1.5e-11, 0.5, 1.0, 0.0, 15.0, 0)", [wallet])
        con.execute(
            "INSERT INTO wallet_pnl_hourly SELECT ?, TIMESTAMP '2026-01-01' + to_hours(h), h * 1.0 FROM range(60) r(h)",
            [wallet],
        )
        for coin in (XSS_IMG, XSS_SCRIPT, XSS_SVG):
            con.execute(
                "INSERT INTO wallet_positions VALUES (?, ?, 1.5, 2.0, 3.0, 4.0)", [wallet, coin + str(n)]
            )
        con.execute(
            f"INSERT INTO wallet_features SELECT ?, {', '.join(['1.0'] * len(FEATURE_NAMES))}",
            [wallet],
        )


@pytest.fixture
def synthetic_db() -> Iterator[Any]:
    """A factory: ``synthetic_db(n, **kwargs)`` -> in-memory DuckDB with the six stage-3 tables."""
    cons: list[duckdb.DuckDBPyConnection] = []

    def make(n: int, **kwargs: Any) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        cons.append(con)
        create_synthetic_tables(con, n, **kwargs)
        return con

    yield make
    for con in cons:
        con.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless system Chromium per test module (skipped when /usr/bin/chromium is absent)."""
    if not chromium_available():
        pytest.skip(f"{CHROMIUM_PATH} is not installed (run scripts/install_chromium.sh)")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = launch_chromium(pw)
    try:
        yield browser
    finally:
        browser.close()
        pw.stop()
