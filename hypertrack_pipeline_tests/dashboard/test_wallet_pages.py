"""Wallet pages in real headless Chromium: deep links (#wallet=0x…), the hash on open/close and
back/forward, recent fills, the explorer link, CSV export of the current view, and injected strings in
coins, counterparties and categories that never run (in the page) nor become formulas (in the CSV).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest

from hypertrack_pipeline.dashboard import build_dashboard_payload, render_dashboard
from hypertrack_pipeline.dashboard.synthetic import create_synthetic_tables
from hypertrack_pipeline.feature_names import FEATURE_NAMES

from .conftest import README, XSS_IMG, XSS_SCRIPT, XSS_SVG, XSS_WALLET, XSS_WALLETS, add_xss_wallets

pytestmark = pytest.mark.browser

N_SYNTH = 400
DETAIL_LIMIT = 100
BASE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
HAND_FILLS = 230  # more than the 200 embedded
EVIL = "0xeeee" + "0" * 36
EVIL_CATS = ['=HYPERLINK("http://evil.invalid","x")', 'a,b "q"\nline two', "+1+2", "@SUM(A1)", "-3", XSS_IMG]
EXPLORER = "https://app.hyperliquid.xyz/explorer/address/"
FILL_COLS = "wallet, coin, time_ms, tid, side, is_maker, px, sz, counterparty"


@dataclass
class Site:
    context: Any
    url: str
    con: duckdb.DuckDBPyConnection
    hand: str  # a detail wallet with hand-made fills
    small: str  # a wallet outside the detail set
    outside_requests: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def open(self, fragment: str = "") -> Any:
        page = self.context.new_page()
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.console_errors.append(f"pageerror: {e}"))
        page.goto(self.url + fragment)
        page.wait_for_function("() => document.documentElement.dataset.ready === '1'", timeout=30_000)
        return page


def _hand_fill(k: int, other: str) -> tuple:
    """Fill k of the hand-made wallet (k = 0 oldest); every value derives from k."""
    return (
        ("BTC", "ETH", XSS_SVG)[k % 3] if k < HAND_FILLS - 1 else "BTC",
        BASE_MS + k * 61_001,
        k,
        "B" if k % 4 == 0 else "S",
        k % 2 == 0,
        100.0 + k,
        0.5 + k / 100,
        other if k % 5 else "0x" + f"{k:040x}",  # every fifth counterparty is outside the dashboard
    )


@pytest.fixture(scope="module")
def site(chromium: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("wallet_pages")
    con = duckdb.connect()
    create_synthetic_tables(con, N_SYNTH, hours=24, fills_per_wallet=5, fills_wallets=DETAIL_LIMIT)
    add_xss_wallets(con)
    # a wallet whose category names are spreadsheet formulas and CSV metacharacters
    con.execute(
        "INSERT INTO wallet_scores VALUES (?, 0, 0, 0, 0, 0, 0, 0.5, 0.5, 0.5, 1.0, 0.5, 'synthetic-v1')", [EVIL]
    )
    con.execute(
        "INSERT INTO wallet_categories VALUES (?, ?, ?, 'HFT', false, 'fish', 'grinder')",
        [EVIL, json.dumps([[c, 0.9 - k / 10] for k, c in enumerate(EVIL_CATS)]), EVIL_CATS[0]],
    )
    con.execute("INSERT INTO wallet_pnl VALUES (?, -5.0, 1.0, -4.0, 1000.0, -0.004, 0.5, 2.0, 0.5, -4.5, 0)", [EVIL])
    con.execute(f"INSERT INTO wallet_features SELECT ?, {', '.join(['1.0'] * len(FEATURE_NAMES))}", [EVIL])

    hand, other = (
        r[0]
        for r in con.execute(
            "SELECT wallet FROM wallet_pnl WHERE wallet LIKE '0x%' AND length(wallet) = 42 "
            "ORDER BY notional DESC LIMIT 2"
        ).fetchall()
    )
    con.execute("DELETE FROM fills WHERE wallet = ?", [hand])
    con.executemany(
        f"INSERT INTO fills ({FILL_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(hand, *_hand_fill(k, other)) for k in range(HAND_FILLS)],
    )
    for n, wallet in enumerate(XSS_WALLETS):  # injected coins and counterparties
        con.executemany(
            f"INSERT INTO fills ({FILL_COLS}) VALUES (?, ?, ?, ?, 'B', true, 1.5, 2.0, ?)",
            [(wallet, coin, BASE_MS + k, 10_000 + n * 10 + k, cp)
             for k, (coin, cp) in enumerate([(XSS_IMG, XSS_SCRIPT), (XSS_SCRIPT, XSS_WALLET), (XSS_SVG, XSS_IMG)])],
        )
    small = con.execute("SELECT wallet FROM wallet_pnl ORDER BY notional LIMIT 1").fetchone()[0]
    con.execute("INSERT INTO fills (wallet, coin, time_ms, tid, side, px, sz) VALUES (?, 'BTC', 1, 1, 'B', 1, 1)", [small])

    out = tmp / "wallet_dashboard.html"
    render_dashboard(build_dashboard_payload(con, detail_limit=DETAIL_LIMIT), README, out)
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    s = Site(context=context, url=out.as_uri(), con=con, hand=hand, small=small)

    def guard(route: Any) -> None:
        url = route.request.url
        s.requests.append(url)
        if url.startswith(("file:", "data:", "about:", "blob:")):
            route.continue_()
        else:
            s.outside_requests.append(url)
            route.abort()

    context.route("**/*", guard)
    yield s
    context.close()
    con.close()


def _panel_wallet(page: Any) -> str:
    panel = page.locator(".wallet-panel")
    panel.wait_for()
    return panel.get_attribute("data-wallet")


def test_deep_link_opens_the_wallet_case_insensitively(site: Site) -> None:
    page = site.open("#wallet=" + site.hand.upper().replace("0X", "0x"))
    assert _panel_wallet(page) == site.hand
    assert page.is_visible("#modal-backdrop")
    page.close()


def test_unknown_address_shows_a_message(site: Site) -> None:
    page = site.open("#wallet=0x" + "ab" * 20)
    page.locator(".wallet-missing").wait_for()
    text = page.text_content("#modal-body")
    assert "No wallet 0x" + "ab" * 20 + " in this dashboard" in text
    assert page.locator(".wallet-panel").count() == 0
    page.keyboard.press("Escape")
    assert page.is_hidden("#modal-backdrop") and page.evaluate("location.hash") == ""
    page.close()


def test_hash_follows_open_close_and_history(site: Site) -> None:
    page = site.open()
    first = page.locator("#grid .card").first
    wallet = first.get_attribute("data-wallet")
    first.click()
    assert _panel_wallet(page) == wallet
    page.wait_for_function(f"() => location.hash === {json.dumps('#wallet=' + wallet)}")
    page.keyboard.press("Escape")
    assert page.is_hidden("#modal-backdrop")
    assert page.evaluate("location.hash") == ""
    page.go_back()  # back to #wallet=…: the panel reopens
    page.wait_for_function("() => !document.getElementById('modal-backdrop').hidden")
    assert _panel_wallet(page) == wallet
    page.go_back()  # back to the grid: the panel closes
    page.wait_for_function("() => document.getElementById('modal-backdrop').hidden")
    page.go_forward()
    page.wait_for_function("() => !document.getElementById('modal-backdrop').hidden")
    assert _panel_wallet(page) == wallet
    # the hash typed by hand switches wallets
    page.evaluate(f"location.hash = {json.dumps('#wallet=' + site.hand)}")
    page.wait_for_function(
        f"() => document.querySelector('.wallet-panel')?.dataset.wallet === {json.dumps(site.hand)}"
    )
    page.close()


def test_fills_table_shows_the_200_newest_with_their_values(site: Site) -> None:
    page = site.open("#wallet=" + site.hand)
    rows = page.locator(".wallet-panel table.fills tr")
    rows.first.wait_for()
    assert rows.count() == 200 + 1  # header
    cells = page.evaluate(
        """() => Array.from(document.querySelectorAll('.wallet-panel table.fills tr')).slice(1).map(tr =>
             [Number(tr.dataset.time), ...Array.from(tr.children).map(td => td.textContent),
              tr.querySelector('td.cp').dataset.address])"""
    )
    other = site.con.execute(
        "SELECT counterparty FROM fills WHERE wallet = ? AND tid = 1", [site.hand]
    ).fetchone()[0]
    times = [c[0] for c in cells]
    assert times == sorted(times, reverse=True)
    for row, k in zip(cells, range(HAND_FILLS - 1, HAND_FILLS - 201, -1), strict=True):
        coin, t, _tid, side, maker, px, sz, cp = _hand_fill(k, other)
        assert row[0] == t
        assert row[1] == f"{dt.datetime.fromtimestamp(t / 1000, dt.UTC):%Y-%m-%d %H:%M:%S.%f}"[:-3]
        assert row[2:5] == [coin, "Buy" if side == "B" else "Sell", f"{px:g}"]
        assert float(row[5]) == pytest.approx(sz)
        assert px * sz < 1000 and row[6] == f"${px * sz:.2f}"
        assert row[7] == ("maker" if maker else "taker")
        assert row[9] == cp
    # a counterparty in the dashboard links to its wallet page
    href = page.locator(".wallet-panel table.fills td.cp a").first.get_attribute("href")
    assert href == "#wallet=" + other
    assert "200 most recent" in page.text_content(".wallet-panel section.fills")
    page.close()


def test_wallet_outside_the_detail_set_shows_the_sql(site: Site) -> None:
    page = site.open("#wallet=" + site.small)
    assert _panel_wallet(page) == site.small
    assert page.locator(".wallet-panel table.fills").count() == 0
    note = page.text_content(".wallet-panel section.fills")
    assert "not embedded" in note
    assert (
        f"hypertrack sql \"select * from fills where wallet = '{site.small}' order by time_ms desc limit 200\""
        in note
    )
    page.close()


def test_explorer_link(site: Site) -> None:
    page = site.open("#wallet=" + site.hand)
    link = page.locator(".wallet-panel a.explorer")
    assert link.get_attribute("href") == EXPLORER + site.hand
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert link.get_attribute("target") == "_blank"
    page.close()


def _download_csv(page: Any) -> list[list[str]]:
    with page.expect_download() as info:
        page.click("#export-csv")
    dl = info.value
    assert dl.suggested_filename.endswith(".csv")
    text = Path(dl.path()).read_bytes().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_csv_export_of_the_sorted_filtered_view(site: Site) -> None:
    page = site.open()
    page.select_option("#sort-key", "risk")
    page.click("#sort-dir")  # ascending
    risk = dict(site.con.execute("SELECT wallet, round(risk_score, 3) FROM wallet_scores").fetchall())
    expected = sorted((w for w in risk if w.startswith("0xe")), key=lambda w: (risk[w], w))
    assert 2 <= len(expected) < 100
    page.fill("#search", "0xe")
    page.wait_for_function(
        f"() => document.getElementById('result-count').textContent.startsWith('showing {len(expected)} ')"
    )
    rows = _download_csv(page)
    header, body = rows[0], rows[1:]
    assert header[:4] == ["address", "primary_category", "categories", "risk_score"]
    assert "total_pnl" in header and "notional" in header
    assert [r[0] for r in body] == expected
    evil = next(r for r in body if r[0] == EVIL)
    assert evil[1] == "'" + EVIL_CATS[0]  # a formula is text now
    cats = evil[2].split("; ")
    assert cats[0] == "'" + EVIL_CATS[0] + " (0.9)"  # only the cell start can trigger a formula
    assert 'a,b "q"\nline two (0.8)' in evil[2]  # comma, quote and newline survive the quoting
    assert XSS_IMG in evil[2]
    notional = header.index("notional")
    assert float(evil[notional]) == 1000.0 and float(evil[header.index("total_pnl")]) == -4.0
    for r in body:
        for cell in r[:3]:
            assert not cell.startswith(("=", "+", "-", "@"))
    # cells starting with + - @ are neutralised too, wherever they start a cell
    page.fill("#search", "")
    page.select_option("#filter-category", label=next(
        o for o in page.locator("#filter-category option").all_text_contents() if o.startswith("+1+2")
    ))
    rows = _download_csv(page)
    assert [r[0] for r in rows[1:]] == [EVIL]
    page.close()


def test_net_pnl_is_the_default_order_and_liquidated_wallets_filter(site: Site) -> None:
    page = site.open()
    assert page.input_value("#sort-key") == "npnl"
    net = dict(site.con.execute("SELECT wallet, round(net_pnl, 2) FROM wallet_pnl").fetchall())
    shown = page.evaluate("() => Array.from(document.querySelectorAll('#grid .card')).map(c => c.dataset.wallet)")
    assert shown[:5] == sorted(net, key=lambda w: (-net[w], w))[:5]
    assert "Net PnL" in page.text_content("#grid .card .card-foot")
    liquidated = {w for (w,) in site.con.execute("SELECT wallet FROM wallet_pnl WHERE liquidations > 0").fetchall()}
    assert 0 < len(liquidated) < N_SYNTH
    page.check("#filter-liq")
    page.wait_for_function(
        f"() => document.getElementById('result-count').textContent.startsWith('showing {len(liquidated)} ')"
    )
    rows = _download_csv(page)
    assert {r[0] for r in rows[1:]} == liquidated and "net_pnl" in rows[0] and "liquidations" in rows[0]
    first = rows[1][0]
    page.evaluate(f"location.hash = {json.dumps('#wallet=' + first)}")
    page.locator(".wallet-panel").wait_for()
    figures = page.text_content(".wallet-panel")
    assert "Net PnL" in figures and "Fees" in figures and "Liquidations" in figures
    page.close()


def test_injected_coins_and_counterparties_never_execute(site: Site) -> None:
    page = site.open("#wallet=" + XSS_WALLETS[0].replace("<", "%3C").replace(">", "%3E"))
    assert _panel_wallet(page) == XSS_WALLET
    text = page.text_content(".wallet-panel table.fills")
    assert XSS_IMG in text and XSS_SCRIPT in text and XSS_SVG in text
    addrs = page.evaluate(
        "() => Array.from(document.querySelectorAll('.wallet-panel td.cp')).map(td => td.dataset.address)"
    )
    assert sorted(addrs) == sorted([XSS_SCRIPT, XSS_WALLET, XSS_IMG])
    page.click(".wallet-panel td.cp a")  # the counterparty in the dashboard: its own page
    page.wait_for_function(
        f"() => document.querySelector('.wallet-panel')?.dataset.wallet === {json.dumps(XSS_WALLET)}"
    )
    link = page.get_attribute(".wallet-panel a.explorer", "href")
    assert link.startswith(EXPLORER) and "<" not in link
    page.wait_for_timeout(200)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate("document.querySelectorAll('[onerror], [onload], img, iframe').length") == 0
    assert page.evaluate("document.scripts.length") == 3  # data, page script, fills
    page.close()


def test_nothing_left_the_page(site: Site) -> None:
    assert site.console_errors == []
    assert site.outside_requests == []
    assert site.requests and all(u.startswith(("file:", "blob:")) for u in site.requests)
