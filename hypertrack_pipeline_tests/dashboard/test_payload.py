"""The payload read from DuckDB, the script-safe JSON, the README rendering and the written file."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest

from hypertrack_pipeline.classification import render_final_report, report_rows
from hypertrack_pipeline.classification.rules import DEFAULT_THRESHOLDS
from hypertrack_pipeline.dashboard import (
    build_dashboard_payload,
    open_in_browser,
    render_dashboard,
    write_dashboard,
)
from hypertrack_pipeline.dashboard.render import json_for_script, render_readme_html
from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.feature_names import FEATURE_NAMES


@pytest.fixture
def synthetic_db(synthetic_db: Any) -> Any:
    """The conftest factory, with every synthetic wallet active (tx_count >= 1).

    The dashboard shows only the wallets the report analyzes (tx_count >= TX_COUNT_THRESHOLD), and
    ``create_synthetic_tables`` draws tx_count like the other features, as a fraction in [0, 1).
    Turning those into whole counts keeps the synthetic wallets on the page; a no-op once the
    synthetic tables draw counts of at least 1.
    """

    def make(n: int, **kwargs: Any) -> duckdb.DuckDBPyConnection:
        con = synthetic_db(n, **kwargs)
        con.execute("UPDATE wallet_features SET tx_count = 1 + floor(tx_count * 100) WHERE tx_count < 1")
        return con

    return make


def _decoded_categories(payload: dict, i: int) -> list[tuple[str, float]]:
    names = payload["dicts"]["cat"]
    return [(names[k], c) for k, c in zip(payload["cols"]["cat"][i], payload["cols"]["conf"][i], strict=True)]


def test_payload_columns_match_the_tables(synthetic_db) -> None:
    con = synthetic_db(300)
    payload = build_dashboard_payload(con, {"evaluation": {"spearman": 0.4}})
    cols = payload["cols"]
    assert payload["n"] == 300
    assert cols["addr"] == sorted(r[0] for r in con.execute("SELECT wallet FROM wallet_scores").fetchall())
    assert payload["model"] == {
        "version": "synthetic-v1",
        "versions": [["synthetic-v1", 300]],
        "info": {"evaluation": {"spearman": 0.4}},
    }
    rows = con.execute(
        """SELECT s.wallet, s.risk_score, s.bot_probability, p.total_pnl, p.notional, c.categories,
                  c.primary_category, c.size_cohort, c.kirilenko_class, c.wash_trade_flag
           FROM wallet_scores s JOIN wallet_pnl p USING (wallet) JOIN wallet_categories c USING (wallet)"""
    ).fetchall()
    index = {a: i for i, a in enumerate(cols["addr"])}
    for wallet, risk, bot, tpnl, notional, cats, prim, size, kir, wash in rows:
        i = index[wallet]
        assert cols["risk"][i] == pytest.approx(risk, abs=5e-4)
        assert cols["bot"][i] == pytest.approx(bot, abs=5e-4)
        assert cols["tpnl"][i] == pytest.approx(tpnl, abs=0.006, rel=1e-6)
        assert cols["notional"][i] == pytest.approx(notional, abs=0.006, rel=1e-6)
        assert _decoded_categories(payload, i) == [(n, pytest.approx(c)) for n, c in json.loads(cats)]
        assert (payload["dicts"]["cat"][cols["prim"][i]] if cols["prim"][i] >= 0 else None) == prim
        assert payload["dicts"]["size"][cols["size"][i]] == size
        assert payload["dicts"]["kir"][cols["kir"][i]] == kir
        assert cols["wash"][i] == int(wash)
    # dictionaries are ordered by frequency, most common first
    counts = np.bincount(cols["size"], minlength=len(payload["dicts"]["size"]))
    assert list(counts) == sorted(counts, reverse=True)


def test_struct_categories_give_the_same_payload_as_json_text(synthetic_db) -> None:
    as_json = build_dashboard_payload(synthetic_db(200))
    as_struct = build_dashboard_payload(synthetic_db(200, categories_as_struct=True))
    assert as_struct["dicts"]["cat"] == as_json["dicts"]["cat"]
    assert as_struct["cols"]["cat"] == as_json["cols"]["cat"]
    assert as_struct["cols"]["conf"] == as_json["cols"]["conf"]
    assert sum(1 for c in as_json["cols"]["cat"] if c) > 50


def test_missing_tables_leave_sections_empty() -> None:
    con = duckdb.connect()
    empty = build_dashboard_payload(con)
    assert empty["n"] == 0 and empty["cols"] == {"addr": []}
    assert not any(empty["sections"].values())

    con.execute("CREATE TABLE wallet_scores (wallet VARCHAR, risk_score DOUBLE, model_version VARCHAR)")
    con.execute("INSERT INTO wallet_scores VALUES ('0xcd', NULL, 'm1'), ('0xab', 0.25, 'm1')")
    payload = build_dashboard_payload(con)
    assert payload["n"] == 2
    assert payload["cols"]["addr"] == ["0xab", "0xcd"]  # wallets in address order
    assert payload["cols"]["risk"][0] == 0.25 and np.isnan(payload["cols"]["risk"][1])
    assert "tpnl" not in payload["cols"] and "cat" not in payload["cols"] and "bot" not in payload["cols"]
    assert payload["sections"] == {
        "scores": True,
        "categories": False,
        "pnl": False,
        "curves": False,
        "positions": False,
        "features": False,
        "fills": False,
        "leaderboards": False,
        "positioning": False,
        "holders": False,
    }
    assert list(payload["detail"]["row"]) == [0, 1] and "feat" not in payload["detail"]
    # the JSON text never carries NaN (invalid JSON): missing values are null
    assert json.loads(json_for_script(payload))["cols"]["risk"] == [0.25, None]


def test_only_wallets_the_report_analyzes_are_counted(synthetic_db) -> None:
    con = synthetic_db(20)
    # an address only seen as an ERC-20 transfer counterparty: a wallet_features row with tx_count 0
    transfer_only = "0x" + "ee" * 20
    zeros = ", ".join("0.0" for _ in FEATURE_NAMES)
    con.execute(f"INSERT INTO wallet_features SELECT ?, {zeros}", [transfer_only])
    con.execute(
        "INSERT INTO wallet_categories (wallet, categories, size_cohort) VALUES (?, '[]', 'Shrimp')",
        [transfer_only],
    )
    con.execute("INSERT INTO wallet_scores (wallet, risk_score, model_version) VALUES (?, 0.5, 'synthetic-v1')",
                [transfer_only])
    assert DEFAULT_THRESHOLDS.TX_COUNT_THRESHOLD >= 1

    payload = build_dashboard_payload(con)
    assert transfer_only not in payload["cols"]["addr"]
    assert payload["n"] == len(payload["cols"]["addr"]) == 20
    assert payload["model"]["versions"] == [["synthetic-v1", 20]]
    report = render_final_report(report_rows(con), dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert f"Total wallets analyzed: {payload['n']}" in report
    assert sorted(r.wallet for r in report_rows(con)) == payload["cols"]["addr"]

    # the same cut as the report for another threshold; every wallet when no threshold applies
    lowered = build_dashboard_payload(con, tx_count_threshold=0)
    assert lowered["n"] == 21 and transfer_only in lowered["cols"]["addr"]
    con.execute("ALTER TABLE wallet_features DROP COLUMN tx_count")  # an older stage without tx_count
    assert build_dashboard_payload(con)["n"] == 21


def test_pnl_curves_are_downsampled_keeping_first_and_last_hour() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE wallet_pnl (wallet VARCHAR, notional DOUBLE, total_pnl DOUBLE)")
    con.execute("INSERT INTO wallet_pnl VALUES ('0xaa', 10, 1), ('0xbb', 20, 2), ('0xcc', 5, 0)")
    con.execute(
        """CREATE TABLE wallet_pnl_hourly AS
           SELECT '0xaa' AS wallet, TIMESTAMP '2026-01-01' + to_hours(h) AS hour, h * 2.5 AS cum_total_pnl
           FROM range(500) r(h)
           UNION ALL SELECT '0xbb', TIMESTAMP '2026-03-01' + to_hours(h), -h FROM range(10) r(h)"""
    )
    payload = build_dashboard_payload(con, max_curve_points=48)
    detail = payload["detail"]
    assert list(detail["row"]) == [0, 1, 2]
    curve = detail["curve"]
    off = list(curve["off"])
    assert off[0] == 0 and off[-1] == len(curve["t"]) == len(curve["v"]) and off == sorted(off)
    d = np.repeat(np.arange(len(off) - 1), np.diff(off))
    t, v = np.asarray(curve["t"]) + curve["t0"], np.asarray(curve["v"])
    t0 = int(np.datetime64("2026-01-01T00", "h").astype(np.int64))
    assert curve["t0"] == t0
    a = d == 0
    assert a.sum() == 48
    assert t[a][0] == t0 and t[a][-1] == t0 + 499
    assert np.all(np.diff(t[a]) > 0)
    assert np.allclose(v[a], (t[a] - t0) * 2.5, rtol=5e-4)  # source values at the kept hours (4 digits)
    assert np.all(np.diff(t[a]) <= 12)  # evenly spread, no big holes
    b = d == 1
    assert b.sum() == 10 and np.allclose(v[b], -np.arange(10))
    assert not np.any(d == 2)  # a wallet without hourly PnL has no curve points


def test_detail_is_limited_to_the_largest_notional(synthetic_db) -> None:
    con = synthetic_db(120)
    payload = build_dashboard_payload(con, detail_limit=7)
    top = [
        r[0] for r in con.execute("SELECT wallet FROM wallet_pnl ORDER BY notional DESC LIMIT 7").fetchall()
    ]
    addr = payload["cols"]["addr"]
    rows = list(payload["detail"]["row"])
    assert sorted(addr[i] for i in rows) == sorted(top) and rows == sorted(rows)
    feat = payload["detail"]["feat"]
    assert feat.shape == (7, len(FEATURE_NAMES))
    expect = con.execute(
        f"SELECT {', '.join(FEATURE_NAMES)} FROM wallet_features WHERE wallet = ?", [addr[rows[3]]]
    ).fetchone()
    assert np.allclose(feat[3], expect, rtol=1e-4)
    style = payload["detail"]["style"]
    assert style.shape == (7, 6) and np.all(np.abs(style) <= 1)
    pos = payload["detail"]["pos"]
    assert list(pos["off"]) == [0, 3, 6, 9, 12, 15, 18, 21] and len(pos["coin"]) == 7 * 3
    coins = con.execute(
        "SELECT coin FROM wallet_positions WHERE wallet = ? ORDER BY coin", [addr[rows[2]]]
    ).fetchall()
    assert sorted(pos["coin"][6:9]) == [c[0] for c in coins]
    # positions of one wallet come largest |position * avg_cost| first
    notional = np.abs(np.asarray(pos["size"])[:3] * np.asarray(pos["avg"])[:3])
    assert list(notional) == sorted(notional, reverse=True)


def _decode_fills(payload: dict) -> dict[str, list[tuple]]:
    """Fills per detail wallet as (time_ms, coin, side, maker, px, sz, counterparty), undoing the encoding."""
    f, addr = payload["fills"], payload["cols"]["addr"]
    out: dict[str, list[tuple]] = {}
    for d, w in enumerate(payload["detail"]["row"]):
        rows, t = [], f["newest"]
        for r in range(f["off"][d], f["off"][d + 1]):
            t = (f["newest"] if r == f["off"][d] else t) - int(f["t"][r])
            cp = int(f["cp"][r])
            other = addr[cp] if cp >= 0 else (f["cps"][-1 - cp] if -1 - cp < len(f["cps"]) else None)
            flag = int(f["flag"][r])
            rows.append((t, f["coins"][f["coin"][r]], "B" if flag & 1 else "S", bool(flag & 2),
                         float(f["px"][r]), float(f["sz"][r]), other))
        out[addr[w]] = rows
    return out


def test_fills_are_the_200_newest_of_detail_wallets_only(synthetic_db) -> None:
    con = synthetic_db(60, fills_per_wallet=3)  # every wallet has 3 fills
    top = [r[0] for r in con.execute("SELECT wallet FROM wallet_pnl ORDER BY notional DESC LIMIT 5").fetchall()]
    hand, other = top[0], top[1]
    con.execute("DELETE FROM fills WHERE wallet = ?", [hand])
    rows = [
        (hand, ("BTC", "ETH", "<b>X</b>")[k % 3], 1_700_000_000_000 + k * 7_001, k, "B" if k % 2 else "S",
         k % 3 == 0, 100.0 + k, 0.25 * (k + 1), other if k % 4 else f"0xoutside{k}")
        for k in range(250)
    ]
    con.executemany(
        "INSERT INTO fills (wallet, coin, time_ms, tid, side, is_maker, px, sz, counterparty) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    payload = build_dashboard_payload(con, detail_limit=5)
    assert payload["sections"]["fills"] is True
    fills = _decode_fills(payload)
    assert sorted(fills) == sorted(top)  # only the detail wallets: the other 55 are not embedded
    got = fills[hand]
    assert len(got) == 200 and payload["fills"]["limit"] == 200
    expected = [(t, c, s, m, px, sz, cp) for (_w, c, t, _tid, s, m, px, sz, cp) in reversed(rows[50:])]
    assert got == expected  # newest first, exact values, counterparties in and outside the dashboard
    assert payload["fills"]["newest"] == max(
        r[0] for r in con.execute("SELECT time_ms FROM fills WHERE wallet IN ?", [top]).fetchall()
    )
    cp = np.asarray(payload["fills"]["cp"])
    assert (cp >= 0).any() and (cp < 0).any()
    assert all(c.startswith("0xoutside") or len(c) == 42 for c in payload["fills"]["cps"])
    assert set(payload["fills"]["coins"]) >= {"BTC", "ETH", "<b>X</b>"}
    for w in top[1:]:
        assert len(fills[w]) == 3 and [r[0] for r in fills[w]] == sorted((r[0] for r in fills[w]), reverse=True)
    off = np.asarray(payload["fills"]["off"])
    assert len(off) == 6 and off[-1] == len(payload["fills"]["t"]) == 200 + 4 * 3
    assert np.all(np.asarray(payload["fills"]["t"]) >= 0)  # offsets are small non-negative deltas


def test_no_fills_view_leaves_the_fills_out(synthetic_db, tmp_path: Path) -> None:
    con = synthetic_db(20)
    payload = build_dashboard_payload(con)
    assert payload["sections"]["fills"] is False and "fills" not in payload
    html_path = tmp_path / "d.html"
    render_dashboard(payload, "", html_path)
    assert 'id="dashboard-fills"' not in html_path.read_text()


def test_fills_travel_in_their_own_element_after_the_script(synthetic_db, tmp_path: Path) -> None:
    con = synthetic_db(30, fills_per_wallet=4)
    out = tmp_path / "d.html"
    meta = render_dashboard(build_dashboard_payload(con, detail_limit=10), "", out)
    assert meta["fills"] == 40
    html = out.read_text()
    main = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', html, re.S)
    fills = re.search(r'<script type="application/json" id="dashboard-fills">(.*?)</script>', html, re.S)
    assert main and fills and main.start() < html.index("<script>") < fills.start()
    assert "fills" not in json.loads(main.group(1))
    assert len(json.loads(fills.group(1))["t"]) == 40


def test_json_for_script_cannot_close_the_script_element() -> None:
    data = {"coin": "</script><script>alert(1)</script>", "x": "a & b > c \u2028\u2029", "n": [1.5, None]}
    text = json_for_script(data)
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        assert raw not in text
    assert json.loads(text) == data


def test_readme_raw_html_is_shown_as_text() -> None:
    html = render_readme_html(
        "# Title\n\n<script>window.x=1</script>\n\n<div onclick='y'>d</div>\n\n"
        "[bad](javascript:alert(1)) [ok](https://example.org) ![pic](https://cdn.example.org/p.png)\n\n"
        "```\n<b>code</b> & more\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    assert "<h1>Title</h1>" in html
    assert "<script" not in html and "<div" not in html
    assert "&lt;script&gt;window.x=1&lt;/script&gt;" in html
    assert "javascript:" not in html and "<a>bad</a>" in html
    assert 'href="https://example.org"' in html
    assert "<img" not in html and "[image: pic]" in html
    assert "&lt;b&gt;code&lt;/b&gt; &amp; more" in html
    assert "<table>" in html


def test_render_writes_one_self_contained_file(synthetic_db, tmp_path: Path) -> None:
    con = synthetic_db(50)
    out = tmp_path / "reports" / "wallet_dashboard.html"
    out.parent.mkdir()
    out.write_text("old")
    meta = render_dashboard(build_dashboard_payload(con), "# Readme\n\n[site](https://example.org)", out)
    html = out.read_text(encoding="utf-8")
    assert meta["size_bytes"] == out.stat().st_size and meta["wallets"] == 50 and meta["detail_wallets"] == 50
    assert meta["model_version"] == "synthetic-v1"
    assert [p.name for p in out.parent.iterdir()] == ["wallet_dashboard.html"]  # no temp file left over
    # nothing is loaded from anywhere: no src/href to another resource, no <link>, no import
    markup = re.sub(r"<script\b[^>]*>.*?</script>", "", html, flags=re.S)
    assert not re.search(r"<(link|img|iframe|object|embed|base)\b", markup)
    assert not re.search(r"\ssrc\s*=", markup)
    assert re.findall(r'href="([^"]*)"', markup) == ["https://example.org"]  # the README link, a plain anchor
    # the CSP admits exactly the inline script that is in the file
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in html
    data = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', html, flags=re.S)
    assert json.loads(data.group(1))["n"] == 50


def test_write_dashboard_without_readme(synthetic_db, tmp_path: Path) -> None:
    con = synthetic_db(10)
    when = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)
    info = {"trained_at": when, "checkpoint": tmp_path / "m.pt", 7: np.float32(0.5), "mse": np.array([0.25])}
    meta = write_dashboard(con, tmp_path / "d.html", tmp_path / "missing.md", info)
    html = (tmp_path / "d.html").read_text()
    assert meta["wallets"] == 10
    assert "No README was found" in html
    data = json.loads(re.search(r'id="dashboard-data">(.*?)</script>', html, flags=re.S).group(1))
    assert data["model"]["info"] == {
        "trained_at": "2026-01-02T03:04:00+00:00",
        "checkpoint": str(tmp_path / "m.pt"),
        "7": 0.5,
        "mse": [0.25],
    }


def test_open_in_browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UserError, match="dashboard not found"):
        open_in_browser(tmp_path / "nope.html")
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url, new=0: opened.append(url) or True)
    page = tmp_path / "wallet dashboard.html"
    page.write_text("<!doctype html>")
    assert open_in_browser(page) is True
    assert opened == [page.resolve().as_uri()] and opened[0].startswith("file:///")
