"""The trader views (Leaderboards, Positioning, Holders tabs): the payload read from the warehouse tables,
and the page in real headless Chromium compared with DuckDB: tab content, the URL fragment (#view=…,
keeping #wallet= working), keyboard tabs, rows that open the wallet panel, optional columns (ROI,
liquidation distance), the message for a missing or empty table, injected strings, and no network request.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest

from hypertrack_pipeline.dashboard import build_dashboard_payload, render_dashboard
from hypertrack_pipeline.dashboard.synthetic import create_synthetic_tables

from .conftest import README, XSS_IMG, XSS_SCRIPT, XSS_SVG

N_SYNTH = 400
HOURS = 30
DASH = "\u2013"


# ---------- the payload ----------


def _wallet(payload: dict, ref: int) -> str:
    return payload["cols"]["addr"][ref] if ref >= 0 else payload["xaddr"][-1 - ref]


def test_leaderboards_payload_is_the_top_rows_of_each_period(synthetic_db: Any) -> None:
    con = synthetic_db(N_SYNTH, hours=HOURS)
    payload = build_dashboard_payload(con, leaderboard_limit=25)
    lb = payload["leaderboards"]
    assert lb["periods"] == ["24h", "7d", "30d", "all"] and lb["metrics"] == ["pnl", "volume"] and lb["limit"] == 25
    c = lb["cols"]
    for k, period in enumerate(lb["periods"]):
        for rank_col, db_rank in (("pr", "pnl_rank"), ("vr", "volume_rank")):
            got = sorted(
                (int(c[rank_col][r]), _wallet(payload, c["w"][r]), c["npnl"][r], c["vol"][r])
                for r in range(lb["rows"]) if c["p"][r] == k and c[rank_col][r] <= 25
            )
            want = con.execute(
                f"SELECT {db_rank}, wallet, net_pnl, volume FROM leaderboards WHERE period = ? AND {db_rank} <= 25 "
                f"ORDER BY {db_rank}", [period]).fetchall()
            assert [g[:2] for g in got] == [w[:2] for w in want]
            for g, w in zip(got, want, strict=True):
                assert g[2] == pytest.approx(w[2], rel=1e-6, abs=0.01) and g[3] == pytest.approx(w[3], rel=1e-6)
    # categories and cohorts decode to the view's strings
    rows = {(p, w): (prim, cats, size) for p, w, prim, cats, size in con.execute(
        "SELECT period, wallet, primary_category, categories, size_cohort FROM leaderboards").fetchall()}
    for r in range(lb["rows"]):
        prim, cats, size = rows[(lb["periods"][c["p"][r]], _wallet(payload, c["w"][r]))]
        d = lb["dicts"]
        assert (d["cat"][c["prim"][r]] if c["prim"][r] >= 0 else None) == prim
        assert [d["cat"][i] for i in c["cats"][r]] == [n for n, _ in json.loads(cats)]
        assert (d["size"][c["size"][r]] if c["size"][r] >= 0 else None) == size


def test_positioning_payload_ranges_and_latest_hour(synthetic_db: Any) -> None:
    con = synthetic_db(N_SYNTH, hours=HOURS)
    ps = build_dashboard_payload(con, positioning_points=8)["positioning"]
    oi = dict(con.execute(
        "SELECT coin, max(o) FROM (SELECT coin, cohort_kind, sum(long_notional + short_notional) / 2 AS o "
        "FROM coin_positioning WHERE hour = (SELECT max(hour) FROM coin_positioning) GROUP BY ALL) GROUP BY coin"
    ).fetchall())
    assert ps["coins"] == sorted(oi, key=lambda c: (-oi[c], c))  # largest open interest first
    assert ps["kinds"] == ["size", "pnl"] and ps["hours"] == HOURS
    last = int(con.execute("SELECT epoch(max(hour)) // 3600 FROM coin_positioning").fetchone()[0])
    recent, whole = ps["ranges"]
    assert (recent["name"], recent["step"], recent["points"]) == ("recent", 1, 8)
    assert whole["name"] == "all" and whole["step"] == 4 and whole["points"] == 8  # 30 hours, every 4th
    for rg in (recent, whole):
        assert rg["t0"] + (rg["points"] - 1) * rg["step"] == last  # the latest hour is the last point
    db = {
        (c, k, h, int(t)): (lo, sh)
        for c, k, h, t, lo, sh in con.execute(
            "SELECT coin, cohort_kind, cohort, epoch(hour) // 3600, long_notional, short_notional FROM coin_positioning"
        ).fetchall()
    }
    s = ps["series"]
    assert len(s["coin"]) == len({(c, k, h) for c, k, h, _t in db})
    for i in range(len(s["coin"])):
        key = (ps["coins"][s["coin"][i]], ps["kinds"][s["kind"][i]], ps["cohorts"][s["cohort"][i]])
        for rg in (recent, whole):
            for j in range(rg["points"]):
                lo, sh = db[(*key, rg["t0"] + j * rg["step"])]
                assert rg["long"][i][j] == pytest.approx(lo, rel=1e-3) and rg["short"][i][j] == pytest.approx(sh, rel=1e-3)
    lat = ps["latest"]
    want = con.execute(
        "SELECT coin, cohort_kind, cohort, long_notional, short_notional, long_wallets, short_wallets "
        "FROM coin_positioning WHERE hour = (SELECT max(hour) FROM coin_positioning)").fetchall()
    got = {(ps["coins"][lat["coin"][r]], ps["kinds"][lat["kind"][r]], ps["cohorts"][lat["cohort"][r]]):
           (lat["long"][r], lat["short"][r], lat["lw"][r], lat["sw"][r]) for r in range(len(lat["coin"]))}
    assert set(got) == {w[:3] for w in want}
    for c, k, h, lo, sh, lw, sw in want:
        g = got[(c, k, h)]
        assert g[0] == pytest.approx(lo, rel=1e-6) and g[1] == pytest.approx(sh, rel=1e-6) and g[2:] == (lw, sw)
    # cohorts follow the ladders (size, then PnL), not the alphabet
    assert ps["cohorts"].index("shrimp") < ps["cohorts"].index("whale") < ps["cohorts"].index("exit liquidity")
    assert ps["cohorts"].index("exit liquidity") < ps["cohorts"].index("money printer")
    # a short history has one range; coins can be capped
    short = build_dashboard_payload(con, positioning_coins=2)["positioning"]
    assert [r["name"] for r in short["ranges"]] == ["recent"] and short["ranges"][0]["points"] == HOURS
    assert short["coins"] == ps["coins"][:2] and short["total_coins"] == len(oi)


def test_holders_payload_matches_the_table_and_optional_columns(synthetic_db: Any) -> None:
    con = synthetic_db(N_SYNTH, hours=HOURS)
    payload = build_dashboard_payload(con)
    hd = payload["holders"]
    assert "liq_px" not in hd["cols"] and "liq_dist" not in hd["cols"]
    c = hd["cols"]
    want = con.execute(
        "SELECT coin, rank, wallet, side, notional, entry_px, share_of_open_interest, primary_category FROM coin_holders"
    ).fetchall()
    got = {(hd["coins"][c["coin"][r]], int(c["rank"][r])): r for r in range(hd["rows"])}
    assert len(got) == len(want) == hd["rows"]
    for coin, rank, wallet, side, notional, entry, share, prim in want:
        r = got[(coin, rank)]
        assert _wallet(payload, c["w"][r]) == wallet and c["side"][r] == (side == "short")
        assert c["notional"][r] == pytest.approx(notional, rel=1e-6) and c["entry"][r] == pytest.approx(entry, rel=1e-5)
        assert c["share"][r] == pytest.approx(share, rel=1e-3)
        assert (hd["dicts"]["cat"][c["prim"][r]] if c["prim"][r] >= 0 else None) == prim
    # a warehouse with liquidation prices (account state) carries them; a wallet outside the dashboard is named
    con.execute("ALTER TABLE coin_holders ADD COLUMN liq_px DOUBLE")
    con.execute("ALTER TABLE coin_holders ADD COLUMN liq_dist DOUBLE")
    con.execute("UPDATE coin_holders SET liq_px = mark * 0.8, liq_dist = 0.2")
    outsider = "0x" + "7" * 40
    con.execute("UPDATE coin_holders SET wallet = ? WHERE rank = 1 AND coin = 'BTC'", [outsider])
    payload = build_dashboard_payload(con)
    c = payload["holders"]["cols"]
    assert np.allclose(c["liq_dist"], 0.2) and payload["xaddr"] == [outsider]
    first = next(r for r in range(payload["holders"]["rows"]) if c["rank"][r] == 1
                 and payload["holders"]["coins"][c["coin"][r]] == "BTC")
    assert c["w"][first] == -1 and _wallet(payload, c["w"][first]) == outsider
    # columns from account state that nobody has yet (all null) stay out, like ROI
    con.execute("UPDATE coin_holders SET liq_px = NULL, liq_dist = NULL")
    con.execute("CREATE OR REPLACE TABLE leaderboards AS SELECT *, NULL::DOUBLE AS roi FROM leaderboards")
    payload = build_dashboard_payload(con)
    assert "liq_dist" not in payload["holders"]["cols"] and payload["leaderboards"]["metrics"] == ["pnl", "volume"]


def test_missing_and_empty_trader_tables() -> None:
    con = duckdb.connect()
    create_synthetic_tables(con, 50, hours=6, trader_views=False)
    payload = build_dashboard_payload(con)
    assert not any(payload["sections"][k] for k in ("leaderboards", "positioning", "holders"))
    assert not {"leaderboards", "positioning", "holders", "xaddr"} & set(payload)
    con.execute("CREATE TABLE coin_holders (coin VARCHAR)")  # an older layout: not usable
    assert not build_dashboard_payload(con)["sections"]["holders"]
    con.close()
    con = duckdb.connect()
    create_synthetic_tables(con, 50, hours=6)
    for t in ("leaderboards", "coin_positioning", "coin_holders"):
        con.execute(f"DELETE FROM {t}")
    payload = build_dashboard_payload(con)
    assert all(payload["sections"][k] for k in ("leaderboards", "positioning", "holders"))
    assert payload["leaderboards"]["rows"] == 0 and payload["holders"]["rows"] == 0
    assert payload["positioning"]["coins"] == [] and payload["positioning"]["ranges"] == []
    con.close()


# ---------- the page ----------

def fmt_usd(v: float) -> str:
    """The page's fmtUsd."""
    a, s = abs(v), "-" if v < 0 else ""
    if a >= 1e9:
        return f"{s}${a / 1e9:.2f}B"
    if a >= 1e6:
        return f"{s}${a / 1e6:.2f}M"
    if a >= 1e3:
        return f"{s}${a / 1e3:.1f}k"
    return f"{s}${a:.2f}"


def fmt_hour(h: int) -> str:
    return f"{dt.datetime.fromtimestamp(h * 3600, dt.UTC):%Y-%m-%d %H}:00Z"


@dataclass
class Site:
    context: Any
    con: duckdb.DuckDBPyConnection
    urls: dict[str, str]
    outside_requests: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def open(self, which: str = "main", fragment: str = "") -> Any:
        page = self.context.new_page()
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.console_errors.append(f"pageerror: {e}"))
        page.goto(self.urls[which] + fragment)
        page.wait_for_function("() => document.documentElement.dataset.ready === '1'", timeout=30_000)
        return page


def _xss_positions(con: duckdb.DuckDBPyConnection) -> None:
    """A coin and a cohort named like script payloads, in both the holders and the positioning table."""
    wallet = con.execute("SELECT wallet FROM wallet_pnl ORDER BY wallet LIMIT 1").fetchone()[0]
    con.execute(
        "INSERT INTO coin_holders VALUES (?, 1, ?, 'long', 2.0, 10.0, 5.0, 5.0, 0.0, 1.0, ?, ?)",
        [XSS_IMG, wallet, XSS_SCRIPT, XSS_SVG],
    )
    con.execute(
        "INSERT INTO coin_positioning SELECT DISTINCT hour, ?, 'size', ?, 7.0, 3.0, 1, 1, 1.5 FROM coin_positioning",
        [XSS_IMG, XSS_SCRIPT],
    )


@pytest.fixture(scope="module")
def site(chromium: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("trader_views")
    urls: dict[str, str] = {}
    con = duckdb.connect()
    create_synthetic_tables(con, N_SYNTH, hours=HOURS)
    _xss_positions(con)
    render_dashboard(build_dashboard_payload(con), README, tmp / "main.html")
    urls["main"] = (tmp / "main.html").as_uri()
    # an older warehouse: no trader tables at all
    old = duckdb.connect()
    create_synthetic_tables(old, 60, hours=6, trader_views=False)
    render_dashboard(build_dashboard_payload(old), README, tmp / "old.html")
    urls["old"] = (tmp / "old.html").as_uri()
    # a newer one: ROI and liquidation distance present, and no position at all yet
    new = duckdb.connect()
    create_synthetic_tables(new, 60, hours=6)
    new.execute("CREATE OR REPLACE TABLE leaderboards AS SELECT *, net_pnl / nullif(volume, 0) * 10 AS roi FROM leaderboards")
    new.execute("CREATE OR REPLACE TABLE coin_holders AS SELECT *, mark * 0.7 AS liq_px, 0.3 AS liq_dist FROM coin_holders")
    new.execute("DELETE FROM coin_positioning")
    render_dashboard(build_dashboard_payload(new), README, tmp / "new.html")
    urls["new"] = (tmp / "new.html").as_uri()
    s = Site(context=chromium.new_context(viewport={"width": 1280, "height": 900}), con=con, urls=urls)
    s.new = new  # type: ignore[attr-defined]

    def guard(route: Any) -> None:
        url = route.request.url
        s.requests.append(url)
        if url.startswith(("file:", "data:", "about:")):
            route.continue_()
        else:
            s.outside_requests.append(url)
            route.abort()

    s.context.route("**/*", guard)
    yield s
    s.context.close()
    for c in (con, old, new):
        c.close()


def _selected_tab(page: Any) -> str:
    return page.evaluate("() => document.querySelector('[role=tab][aria-selected=true]').dataset.view")


def _lb_rows(page: Any) -> list[list[Any]]:
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('table.lb-table tbody tr')).map(tr => [
             Number(tr.querySelector('td.rank').textContent), tr.dataset.wallet,
             Number(tr.querySelector('td.npnl').dataset.v), tr.querySelector('td.npnl').textContent,
             Number(tr.querySelector('td.vol').dataset.v), Number(tr.querySelector('td.fills').dataset.v),
             tr.querySelector('td.cats .prim').textContent, JSON.parse(tr.querySelector('td.cats').dataset.categories),
             tr.querySelector('td.cohort').textContent])"""
    )


def _check_leaderboard(site: Site, page: Any, period: str, metric: str) -> None:
    rank = {"pnl": "pnl_rank", "volume": "volume_rank"}[metric]
    want = site.con.execute(
        f"SELECT {rank}, wallet, net_pnl, volume, fills, primary_category, categories, size_cohort FROM leaderboards "
        f"WHERE period = ? AND {rank} <= 100 ORDER BY {rank}", [period]).fetchall()
    got = _lb_rows(page)
    assert len(got) == len(want) > 0
    for g, (r, wallet, npnl, vol, fills, prim, cats, size) in zip(got, want, strict=True):
        assert g[:2] == [r, wallet]
        assert g[2] == pytest.approx(npnl, rel=1e-6, abs=0.01)
        assert g[3] == ("+" if g[2] > 0 else "") + fmt_usd(g[2])
        assert g[4] == pytest.approx(vol, rel=1e-6) and g[5] == fills
        names = [n for n, _ in json.loads(cats)]
        assert g[6] == (prim or (names[0] if names else DASH)) and g[7] == names and g[8] == (size or DASH)
    # the wallet's skill confidence sits next to its ranking
    skill = dict(site.con.execute("SELECT wallet, skill_confidence FROM wallet_features").fetchall())
    shown = page.evaluate("""() => Array.from(document.querySelectorAll('table.lb-table tbody tr')).map(tr =>
                                 [tr.dataset.wallet, tr.querySelector('td.skill').dataset.v])""")
    checked = [(w, v) for w, v in shown if skill.get(w) is not None]
    assert checked and all(float(v) == pytest.approx(skill[w], abs=5e-4) for w, v in checked)


@pytest.mark.browser
def test_leaderboards_tab_periods_and_metrics(site: Site) -> None:
    page = site.open()
    assert _selected_tab(page) == "wallets" and page.is_visible("#grid") and page.is_hidden("#view-leaderboards")
    page.click("#tab-leaderboards")
    page.locator("table.lb-table").wait_for()
    assert _selected_tab(page) == "leaderboards" and page.is_hidden("#view-wallets")
    assert page.evaluate("location.hash") == "#view=leaderboards"
    _check_leaderboard(site, page, "24h", "pnl")
    page.click("#view-leaderboards .seg-btn[data-value='7d']")
    page.wait_for_function("() => document.querySelector('table.lb-table')?.dataset.period === '7d'")
    page.click("#view-leaderboards .seg-btn[data-value='volume']")
    page.wait_for_function("() => document.querySelector('table.lb-table')?.dataset.metric === 'volume'")
    assert page.evaluate("location.hash") == "#view=leaderboards&period=7d&metric=volume"
    assert page.get_attribute("#view-leaderboards .seg-btn[data-value='volume']", "aria-pressed") == "true"
    _check_leaderboard(site, page, "7d", "volume")
    # the choice survives a reload from the URL
    again = site.open(fragment="#view=leaderboards&period=all&metric=pnl")
    assert _selected_tab(again) == "leaderboards"
    _check_leaderboard(site, again, "all", "pnl")
    page.close()
    again.close()


@pytest.mark.browser
def test_a_leaderboard_row_opens_the_wallet_panel_and_keeps_the_view(site: Site) -> None:
    page = site.open(fragment="#view=leaderboards&period=30d&metric=pnl")
    second = page.locator("table.lb-table tbody tr").nth(1)
    wallet = second.get_attribute("data-wallet")
    second.locator("td.cohort").click()  # anywhere on the row
    page.locator(".wallet-panel").wait_for()
    assert page.get_attribute(".wallet-panel", "data-wallet") == wallet
    assert page.evaluate("location.hash") == f"#view=leaderboards&period=30d&metric=pnl&wallet={wallet}"
    page.keyboard.press("Escape")
    assert page.is_hidden("#modal-backdrop")
    assert page.evaluate("location.hash") == "#view=leaderboards&period=30d&metric=pnl"
    assert _selected_tab(page) == "leaderboards"
    # the address link, from the keyboard
    link = page.locator("table.lb-table tbody tr").first.locator("a.wallet-link")
    link.focus()
    page.keyboard.press("Enter")
    page.locator(".wallet-panel").wait_for()
    assert page.get_attribute(".wallet-panel", "data-wallet") == link.get_attribute("title")
    page.go_back()
    page.wait_for_function("() => document.getElementById('modal-backdrop').hidden")
    assert _selected_tab(page) == "leaderboards"
    page.close()


@pytest.mark.browser
def test_fragment_navigation_keyboard_tabs_and_history(site: Site) -> None:
    page = site.open(fragment="#view=positioning&coin=ETH&kind=pnl")
    assert _selected_tab(page) == "positioning"
    assert page.input_value("#positioning-coin") == "ETH"
    assert page.get_attribute("#view-positioning .seg-btn[data-value='pnl']", "aria-pressed") == "true"
    # arrow keys move between tabs (roving tabindex) and select them
    page.focus("#tab-positioning")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => location.hash.startsWith('#view=holders')")
    assert _selected_tab(page) == "holders" and page.evaluate("document.activeElement.id") == "tab-holders"
    assert page.get_attribute("#tab-holders", "tabindex") == "0" and page.get_attribute("#tab-wallets", "tabindex") == "-1"
    assert page.input_value("#holders-coin") == "ETH"  # the coin carries over
    page.keyboard.press("Home")
    page.wait_for_function("() => location.hash === ''")
    assert _selected_tab(page) == "wallets" and page.locator("#grid .card").count() > 0
    page.go_back()
    page.wait_for_function("() => location.hash.startsWith('#view=holders')")
    assert _selected_tab(page) == "holders"
    page.go_back()
    page.wait_for_function("() => location.hash.startsWith('#view=positioning')")
    assert _selected_tab(page) == "positioning"
    # #wallet= alone still opens a wallet on the wallets view; an unknown view falls back to it
    wallet = site.con.execute("SELECT wallet FROM wallet_pnl ORDER BY notional DESC LIMIT 1").fetchone()[0]
    other = site.open(fragment="#wallet=" + wallet)
    assert _selected_tab(other) == "wallets"
    assert other.get_attribute(".wallet-panel", "data-wallet") == wallet
    other.close()
    odd = site.open(fragment="#view=nope")
    assert _selected_tab(odd) == "wallets"
    odd.close()
    page.close()


def _check_positioning(site: Site, page: Any, coin: str, kind: str) -> None:
    con = site.con
    latest = "hour = (SELECT max(hour) FROM coin_positioning)"
    want = con.execute(
        "SELECT cohort, long_notional, short_notional, long_wallets, short_wallets FROM coin_positioning "
        f"WHERE coin = ? AND cohort_kind = ? AND {latest} "
        "AND (long_notional <> 0 OR short_notional <> 0 OR long_wallets <> 0 OR short_wallets <> 0)",
        [coin, kind]).fetchall()
    got = page.evaluate(
        """() => Array.from(document.querySelectorAll('table.pos-table tbody tr:not(.total)')).map(tr => [
             tr.dataset.cohort, Number(tr.querySelector('td.long').dataset.v),
             Number(tr.querySelector('td.short').dataset.v), Number(tr.querySelector('td.net').dataset.v),
             tr.querySelector('td.wallets').textContent])"""
    )
    assert len(got) == len(want) > 0
    by = {g[0]: g for g in got}
    for cohort, lo, sh, lw, sw in want:
        g = by[cohort]
        assert g[1] == pytest.approx(lo, rel=1e-6) and g[2] == pytest.approx(sh, rel=1e-6)
        assert g[3] == pytest.approx(lo - sh, rel=1e-5, abs=0.02) and g[4] == f"{lw:,} / {sw:,}"
    # the chart: one hover column per hour; the last one gives the latest hour's totals
    assert int(page.get_attribute("svg.positioning-chart", "data-points")) == HOURS
    cols = page.locator("svg.positioning-chart rect.col")
    assert cols.count() == HOURS
    last_h = int(con.execute(f"SELECT epoch(max(hour)) // 3600 FROM coin_positioning WHERE {latest}").fetchone()[0])
    longs = sum(float(f"{lo:.4g}") for _c, lo, _s, _lw, _sw in want)
    shorts = sum(float(f"{sh:.4g}") for _c, _lo, sh, _lw, _sw in want)
    first_line = cols.last.locator("title").text_content().split("\n")[0]
    assert first_line.startswith(f"{fmt_hour(last_h)} \u00b7 long {fmt_usd(longs)} \u00b7 short {fmt_usd(shorts)}")
    assert page.locator(".legend .legend-item").count() == len(want)
    cols.nth(3).hover()
    page.wait_for_function("() => document.querySelector('.pos-readout').textContent.includes(':00Z')")


@pytest.mark.browser
def test_positioning_chart_and_latest_hour(site: Site) -> None:
    top = site.con.execute(
        "SELECT coin FROM coin_positioning WHERE hour = (SELECT max(hour) FROM coin_positioning) AND cohort_kind = 'size' "
        "GROUP BY coin ORDER BY sum(long_notional + short_notional) DESC, coin LIMIT 1").fetchone()[0]
    page = site.open(fragment="#view=positioning")
    assert page.input_value("#positioning-coin") == top  # the largest open interest by default
    _check_positioning(site, page, top, "size")
    other = "HYPE" if top != "HYPE" else "ETH"
    page.select_option("#positioning-coin", other)
    page.wait_for_function(f"() => location.hash.includes('coin={other}')")
    page.click("#view-positioning .seg-btn[data-value='pnl']")
    page.wait_for_function("() => location.hash.includes('kind=pnl')")
    assert page.input_value("#positioning-coin") == other
    _check_positioning(site, page, other, "pnl")
    page.close()


@pytest.mark.browser
def test_holders_tab_and_click_into_the_wallet_panel(site: Site) -> None:
    page = site.open(fragment="#view=holders&coin=ETH")
    page.locator("table.holders-table").wait_for()
    want = site.con.execute(
        "SELECT rank, wallet, side, size, notional, entry_px, mark, unrealized_pnl, share_of_open_interest, "
        "primary_category, size_cohort FROM coin_holders WHERE coin = 'ETH' ORDER BY rank").fetchall()
    got = page.evaluate(
        """() => Array.from(document.querySelectorAll('table.holders-table tbody tr')).map(tr => [
             Number(tr.querySelector('td.rank').textContent), tr.dataset.wallet, tr.querySelector('td.side').textContent,
             ...['size', 'notional', 'entry', 'mark', 'upnl', 'share'].map(c => Number(tr.querySelector('td.' + c).dataset.v)),
             tr.querySelector('td.cats').textContent, tr.querySelector('td.cohort').textContent,
             tr.querySelector('td.notional').textContent])"""
    )
    assert len(got) == len(want) == 100
    for g, (rank, wallet, side, size, notional, entry, mark, upnl, share, prim, cohort) in zip(got, want, strict=True):
        assert g[:3] == [rank, wallet, side.capitalize()]
        for a, b in zip(g[3:9], (size, notional, entry, mark, upnl, share), strict=True):
            assert a == pytest.approx(b, rel=1e-3, abs=0.01)
        assert g[9:11] == [prim or DASH, cohort or DASH] and g[11] == fmt_usd(g[4])
    assert page.locator("table.holders-table th", has_text="Liq.").count() == 0
    summary = page.text_content(".holders-summary")
    assert summary.startswith("ETH: open interest ")
    page.locator("table.holders-table tbody tr").nth(2).locator("a.wallet-link").click()
    page.locator(".wallet-panel").wait_for()
    assert page.get_attribute(".wallet-panel", "data-wallet") == want[2][1]
    assert page.evaluate("location.hash") == f"#view=holders&coin=ETH&wallet={want[2][1]}"
    page.keyboard.press("Escape")
    assert _selected_tab(page) == "holders" and page.evaluate("location.hash") == "#view=holders&coin=ETH"
    page.select_option("#holders-coin", "BTC")
    page.wait_for_function("() => document.querySelector('table.holders-table')?.dataset.coin === 'BTC'")
    assert page.evaluate("location.hash") == "#view=holders&coin=BTC"
    page.close()


@pytest.mark.browser
def test_roi_and_liquidation_columns_show_when_present_and_empty_positioning(site: Site) -> None:
    page = site.open("new", "#view=leaderboards&metric=roi")
    page.locator("table.lb-table").wait_for()
    assert page.get_attribute("#view-leaderboards .seg-btn[data-value='roi']", "aria-pressed") == "true"
    new = site.new  # type: ignore[attr-defined]
    want = new.execute(
        "SELECT wallet, roi FROM leaderboards WHERE period = '24h' AND roi IS NOT NULL "
        "ORDER BY roi DESC, wallet LIMIT 100").fetchall()
    got = page.evaluate(
        """() => Array.from(document.querySelectorAll('table.lb-table tbody tr')).map(tr =>
             [tr.dataset.wallet, Number(tr.querySelector('td.roi').dataset.v)])""")
    assert [g[0] for g in got] == [w[0] for w in want]
    assert all(g[1] == pytest.approx(w[1], rel=1e-4) for g, w in zip(got, want, strict=True))
    page.click("#tab-holders")
    page.locator("table.holders-table").wait_for()
    assert page.locator("table.holders-table th", has_text="Liq. distance").count() == 1
    assert set(page.locator("table.holders-table td.liq-dist").all_text_contents()) == {"30.0%"}
    page.click("#tab-positioning")
    page.locator("#view-positioning .view-empty").wait_for()
    assert "no wallet holds a position yet" in page.text_content("#view-positioning")
    page.close()


@pytest.mark.browser
def test_an_older_warehouse_says_the_views_are_missing(site: Site) -> None:
    page = site.open("old")
    for view, table in (("leaderboards", "leaderboards"), ("positioning", "coin_positioning"), ("holders", "coin_holders")):
        page.click(f"#tab-{view}")
        msg = page.locator(f"#view-{view} .view-missing")
        msg.wait_for()
        text = msg.text_content()
        assert "not in this dashboard" in text and f"no {table} table" in text
    page.click("#tab-wallets")
    assert page.locator("#grid .card").count() > 0
    page.close()


@pytest.mark.browser
def test_injected_coin_and_cohort_names_stay_text(site: Site) -> None:
    page = site.open(fragment="#view=holders")
    page.select_option("#holders-coin", XSS_IMG)
    page.wait_for_function(f"() => document.querySelector('table.holders-table')?.dataset.coin === {json.dumps(XSS_IMG)}")
    row = page.locator("table.holders-table tbody tr").first
    assert row.locator("td.cats").text_content() == XSS_SCRIPT and row.locator("td.cohort").text_content() == XSS_SVG
    page.click("#tab-positioning")
    page.wait_for_function(f"() => document.getElementById('positioning-coin')?.value === {json.dumps(XSS_IMG)}")
    assert XSS_SCRIPT in page.text_content("table.pos-table")
    page.wait_for_timeout(200)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate("document.querySelectorAll('[onerror], [onload], img, iframe').length") == 0
    page.close()


@pytest.mark.browser
def test_nothing_left_the_page(site: Site) -> None:
    assert site.console_errors == []
    assert site.outside_requests == []
    assert site.requests and all(u.startswith("file:") for u in site.requests)


def test_dashboard_step_reads_the_trader_views() -> None:
    from hypertrack_pipeline.publish import DASHBOARD_STEP

    assert {"leaderboards", "coin_positioning", "coin_holders"} <= set(DASHBOARD_STEP.reads)


def test_bench_sizes_are_synthetic_trader_views(tmp_path: Path) -> None:
    con = duckdb.connect()
    create_synthetic_tables(con, 2000, hours=12, curve_wallets=100)
    counts = dict(con.execute("SELECT period, count(*) FROM leaderboards GROUP BY 1").fetchall())
    assert counts["all"] == 2000 and 0 < counts["24h"] < counts["7d"] < counts["30d"] < 2000
    assert con.execute("SELECT count(DISTINCT coin), max(rank) FROM coin_holders").fetchone() == (6, 100)
    assert con.execute("SELECT count(DISTINCT hour) FROM coin_positioning").fetchone()[0] == 12
    con.close()
