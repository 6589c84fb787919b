"""The dashboard in real headless Chromium: loads clean and offline, search / filter / sort, panels,
docs, clipboard, virtualization, and injected payloads that never run.

One browser and one page for the module; the tests run in file order and share that page.
"""

from __future__ import annotations

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

from .conftest import README, XSS_ATTR, XSS_IMG, XSS_SCRIPT, XSS_SVG, XSS_WALLET, XSS_WALLETS, add_xss_wallets

pytestmark = pytest.mark.browser

N_SYNTH = 3000
N = N_SYNTH + len(XSS_WALLETS)
DETAIL_LIMIT = 2000  # the other 1 003 wallets carry no curve, positions or features


@dataclass
class Dash:
    page: Any
    con: duckdb.DuckDBPyConnection
    shots: Path
    console_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def count(self) -> int:
        text = self.page.text_content("#result-count")
        return int(text.split(" of ")[0].removeprefix("showing ").replace(",", ""))

    def card_wallets(self) -> list[str]:
        """Wallets of the cards in the DOM, in view order (rank)."""
        return self.page.evaluate(
            """() => Array.from(document.querySelectorAll('#grid .card'))
                 .map(c => [parseInt(c.querySelector('.rank').textContent.slice(1), 10), c.dataset.wallet])
                 .sort((a, b) => a[0] - b[0]).map(x => x[1])"""
        )

    def reset_controls(self) -> None:
        self.page.evaluate(
            """() => {
                 const s = document.getElementById('search'); s.value = '';
                 s.dispatchEvent(new Event('input'));
                 for (const id of ['filter-category', 'filter-size', 'filter-pnl', 'filter-kir']) {
                   const e = document.getElementById(id); e.value = ''; e.dispatchEvent(new Event('change'));
                 }
                 const w = document.getElementById('filter-wash');
                 if (w.checked) { w.checked = false; w.dispatchEvent(new Event('change')); }
               }"""
        )
        self.page.wait_for_function(
            f"() => document.getElementById('result-count').textContent.startsWith('showing {N:,}')"
        )
        self.page.evaluate("window.scrollTo(0, 0)")


@pytest.fixture(scope="module")
def dash(chromium: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dash]:
    tmp = tmp_path_factory.mktemp("dashboard")
    con = duckdb.connect()
    create_synthetic_tables(con, N_SYNTH, hours=120)
    add_xss_wallets(con)
    info = {
        "evaluation": {"risk": {"mse": 0.0123, "baseline_mse": 0.05}, "note": XSS_SCRIPT},
        XSS_IMG: XSS_SVG,
    }
    out = tmp / "wallet_dashboard.html"
    render_dashboard(build_dashboard_payload(con, info, detail_limit=DETAIL_LIMIT), README, out)

    context = chromium.new_context(
        viewport={"width": 1280, "height": 900}, permissions=["clipboard-read", "clipboard-write"]
    )
    d = Dash(page=None, con=con, shots=tmp)

    def guard(route: Any) -> None:
        url = route.request.url
        d.requests.append(url)
        if url.startswith(("file:", "data:", "about:")):
            route.continue_()
        else:
            d.outside_requests.append(url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("console", lambda m: d.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: d.console_errors.append(f"pageerror: {e}"))
    d.page = page
    page.goto(out.as_uri())
    page.wait_for_function("() => document.documentElement.dataset.ready === '1'", timeout=30_000)
    yield d
    context.close()
    con.close()


def _categories(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    return {
        w: [n for n, _ in json.loads(c)]
        for w, c in con.execute("SELECT wallet, categories FROM wallet_categories").fetchall()
    }


def test_loads_clean_with_summary_and_screenshot(dash: Dash) -> None:
    page = dash.page
    assert dash.console_errors == []
    assert dash.outside_requests == []
    assert page.text_content("#stat-wallets") == f"{N:,}"
    cats = _categories(dash.con)
    assert page.text_content("#stat-categorized") == f"{sum(1 for v in cats.values() if v):,}"
    bots = sum(1 for v in cats.values() if "Bot" in v)
    chip = page.locator(".category-count", has_text="Bot ").filter(has_not_text="Possible").first
    assert chip.locator(".n").text_content() == f"{bots:,}"
    assert page.text_content("#model-version") == "synthetic-v1"
    page.click("#model-panel summary")
    assert "0.0123" in page.text_content("#model-info")
    assert dash.count() == N
    shot = dash.shots / "dashboard.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000


def test_grid_renders_only_visible_cards(dash: Dash) -> None:
    page = dash.page
    in_dom = page.locator("#grid .card").count()
    assert 4 <= in_dom < 80  # a few rows, not 3 003 cards
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_function(
        f"() => !!Array.from(document.querySelectorAll('#grid .card .rank')).find(r => r.textContent === '#{N}')"
    )
    assert page.locator("#grid .card").count() < 80
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_function(
        "() => !!Array.from(document.querySelectorAll('#grid .card .rank')).find(r => r.textContent === '#1')"
    )


def test_default_and_chosen_sort_orders(dash: Dash) -> None:
    page = dash.page
    # the payload keeps 7 significant digits of cents-rounded PnL; ties break by address
    pnl = {
        w: float(f"{round(v, 2):.7g}")
        for w, v in dash.con.execute("SELECT wallet, total_pnl FROM wallet_pnl").fetchall()
    }
    by_pnl = sorted(pnl, key=lambda w: (-pnl[w], w))[:8]
    assert dash.card_wallets()[:8] == by_pnl
    page.select_option("#sort-key", "risk")
    page.click("#sort-dir")  # ascending
    risk = dict(dash.con.execute("SELECT wallet, round(risk_score, 3) FROM wallet_scores").fetchall())
    assert dash.card_wallets()[:8] == sorted(risk, key=lambda w: (risk[w], w))[:8]
    page.select_option("#sort-key", "notional")
    page.click("#sort-dir")  # descending again
    assert dash.card_wallets()[:3] == sorted(XSS_WALLETS)  # the three 1e12-notional wallets
    page.select_option("#sort-key", "tpnl")
    assert dash.card_wallets()[:8] == by_pnl


def test_search_by_address_prefix(dash: Dash) -> None:
    page = dash.page
    wallets = [r[0] for r in dash.con.execute("SELECT wallet FROM wallet_scores").fetchall()]
    prefix = wallets[17][:5]
    expected = sorted(w for w in wallets if w.startswith(prefix))
    page.fill("#search", prefix.upper())
    page.wait_for_function(
        f"() => document.getElementById('result-count').textContent.startsWith('showing {len(expected)} ')"
    )
    assert sorted(dash.card_wallets()) == expected
    page.fill("#search", wallets[17][2:12])  # without 0x
    page.wait_for_function(
        "() => document.getElementById('result-count').textContent.startsWith('showing 1 ')"
    )
    assert dash.card_wallets() == [wallets[17]]
    page.fill("#search", "0xzz")
    page.wait_for_function(
        "() => document.getElementById('result-count').textContent.startsWith('showing 0 ')"
    )
    assert page.is_visible("#empty")
    dash.reset_controls()


def test_filter_by_category_and_cohorts(dash: Dash) -> None:
    page = dash.page
    cats = _categories(dash.con)
    cohorts = dict(dash.con.execute("SELECT wallet, size_cohort FROM wallet_categories").fetchall())
    classes = dict(dash.con.execute("SELECT wallet, kirilenko_class FROM wallet_categories").fetchall())
    page.select_option("#filter-category", label=f"Bot ({sum(1 for v in cats.values() if 'Bot' in v):,})")
    bots = {w for w, v in cats.items() if "Bot" in v}
    assert dash.count() == len(bots)
    assert set(dash.card_wallets()) <= bots
    page.select_option(
        "#filter-size",
        label=next(
            o for o in page.locator("#filter-size option").all_text_contents() if o.startswith("whale (")
        ),
    )
    both = {w for w in bots if cohorts[w] == "whale"}
    assert dash.count() == len(both) and set(dash.card_wallets()) <= both
    page.select_option(
        "#filter-kir",
        label=next(
            o for o in page.locator("#filter-kir option").all_text_contents() if o.startswith("HFT (")
        ),
    )
    assert dash.count() == sum(1 for w in both if classes[w] == "HFT")
    dash.reset_controls()
    # the per-category chips filter too, and a second click clears the filter
    chip = page.locator(".category-count", has_text="Scalper").first
    chip.click()
    assert dash.count() == sum(1 for v in cats.values() if "Scalper" in v)
    chip.click()
    assert dash.count() == N
    page.check("#filter-wash")
    wash = dash.con.execute("SELECT count(*) FROM wallet_categories WHERE wash_trade_flag").fetchone()[0]
    assert dash.count() == wash
    dash.reset_controls()


def _open_panel(dash: Dash, wallet: str) -> Any:
    page = dash.page
    page.fill("#search", wallet)
    page.wait_for_function(
        "() => document.getElementById('result-count').textContent.startsWith('showing 1 ')"
    )
    page.click(f"#grid .card[data-wallet='{wallet}']")
    panel = page.locator(".wallet-panel")
    panel.wait_for()
    assert panel.get_attribute("data-wallet") == wallet
    return panel


def test_wallet_panel_shows_curve_positions_features_categories(dash: Dash) -> None:
    page = dash.page
    # a synthetic wallet inside the detail set (largest notional after the three 1e12 ones)
    wallet = dash.con.execute(
        "SELECT wallet FROM wallet_pnl ORDER BY notional DESC LIMIT 1 OFFSET 3"
    ).fetchone()[0]
    _open_panel(dash, wallet)
    assert wallet in page.text_content("#modal-body")
    points = int(page.get_attribute(".wallet-panel svg.pnl-curve", "data-points"))
    assert points == 48  # 120 hourly rows downsampled
    assert page.locator(".wallet-panel polyline").count() == 1
    n_pos = dash.con.execute("SELECT count(*) FROM wallet_positions WHERE wallet = ?", [wallet]).fetchone()[0]
    assert page.locator(".wallet-panel table.positions tr").count() == n_pos + 1
    assert page.locator(".wallet-panel .features .kv").count() == len(FEATURE_NAMES)
    n_cat = len(_categories(dash.con)[wallet])
    assert page.locator(".wallet-panel .bar-row.category").count() == n_cat
    risk = dash.con.execute("SELECT risk_score FROM wallet_scores WHERE wallet = ?", [wallet]).fetchone()[0]
    assert page.get_attribute(".wallet-panel .gauge svg", "aria-label") == f"Risk {round(risk, 3):.2f}"
    page.keyboard.press("Escape")
    assert page.is_hidden("#modal-backdrop")
    # a wallet outside the detail set: scores, PnL and categories, and one note instead of the rest
    small = dash.con.execute("SELECT wallet FROM wallet_pnl ORDER BY notional LIMIT 1").fetchone()[0]
    _open_panel(dash, small)
    assert page.locator(".wallet-panel .detail-note").count() == 1
    assert "2,000 wallets with the largest notional" in page.text_content(".wallet-panel .detail-note")
    assert (
        page.locator(
            ".wallet-panel svg.pnl-curve, .wallet-panel table.positions, .wallet-panel .features"
        ).count()
        == 0
    )
    # net, total, fees, realized, unrealized, notional, PnL/notional, win rate, drawdown (+ liquidations if any)
    liq = dash.con.execute("SELECT liquidations FROM wallet_pnl WHERE wallet = ?", [small]).fetchone()[0]
    # nine PnL figures, the skill figure (P(edge > 0), when wallet_features has it), liquidations if any
    assert page.locator(".wallet-panel .figure").count() == 9 + 1 + (liq > 0)
    page.keyboard.press("Escape")
    dash.reset_controls()


def test_docs_modal_renders_the_readme(dash: Dash) -> None:
    page = dash.page
    page.click("#docs-btn")
    page.locator(".readme h1").wait_for()
    assert page.text_content(".readme h1") == "hypertrack handbook"
    body = page.text_content("#modal-body")
    assert "<script>window.__pwned=1</script>" in body  # raw HTML shown as text
    assert page.locator("#modal-body img, #modal-body script").count() == 0
    assert page.get_attribute("#modal-body a", "href") is None  # the javascript: link lost its href
    page.click("#modal-close")
    assert page.is_hidden("#modal-backdrop")


def test_copy_button_puts_the_full_address_on_the_clipboard(dash: Dash) -> None:
    page = dash.page
    wallet = dash.card_wallets()[1]
    page.click(f"#grid .card[data-wallet='{wallet}'] button.copy")
    page.wait_for_function("() => document.getElementById('toast').classList.contains('show')")
    assert page.evaluate("navigator.clipboard.readText()") == wallet
    assert page.is_hidden("#modal-backdrop")  # copying does not open the wallet panel


def test_injected_payloads_never_execute(dash: Dash) -> None:
    page = dash.page
    page.fill("#search", "0xdead<")
    page.wait_for_function(
        "() => document.getElementById('result-count').textContent.startsWith('showing 1 ')"
    )
    card = page.locator("#grid .card").first
    assert card.get_attribute("data-wallet") == XSS_WALLET
    assert XSS_IMG in card.text_content()  # category name shown literally
    card.click()
    page.locator(".wallet-panel").wait_for()
    text = page.text_content("#modal-body")
    for payload in (XSS_WALLET, XSS_IMG, XSS_ATTR, XSS_SVG, XSS_SCRIPT):
        assert payload in text
    assert page.locator(".wallet-panel td.coin").first.text_content().startswith("<")
    page.keyboard.press("Escape")
    for wallet in XSS_WALLETS[1:]:
        page.fill("#search", wallet[:8])
        page.wait_for_function(
            "() => document.getElementById('result-count').textContent.startsWith('showing 1 ')"
        )
        page.locator("#grid .card").first.click()
        page.locator(".wallet-panel").wait_for()
        assert wallet in page.text_content("#modal-body")
        page.keyboard.press("Escape")
    assert XSS_IMG in page.text_content("#category-counts")
    assert XSS_SCRIPT in page.text_content("#model-info") and XSS_SVG in page.text_content("#model-info")
    page.wait_for_timeout(200)  # give any onerror/onload a chance to fire
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate("document.querySelectorAll('[onerror], [onload], img, iframe').length") == 0
    assert page.evaluate("document.scripts.length") == 2  # the JSON data and the dashboard script
    dash.reset_controls()


def test_nothing_left_the_page(dash: Dash) -> None:
    assert dash.console_errors == []
    assert dash.outside_requests == []
    assert dash.requests and all(u.startswith("file:") for u in dash.requests)
