"""categorize_wallets → wallet_categories, report rows and the report file, on a real DuckDB."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest

from hypertrack_pipeline.classification import (
    ARCHETYPE_CATEGORIES,
    UNSCORED_ARCHETYPES,
    Thresholds,
    archetype_predictions,
    categorize_wallets,
    classify_wallet,
    labels_by_wallet,
    render_final_report,
    report_rows,
    write_final_report,
)
from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.feature_names import FEATURE_NAMES

DAY0 = 1_767_571_200_000
WALLETS = [f"0x{k:040x}" for k in range(1, 41)]
MM, SELLER, WASH_A, WASH_B, QUIET = WALLETS[0], WALLETS[1], WALLETS[2], WALLETS[3], WALLETS[4]


def build(con, add_trades, with_scores: bool = True, with_pnl: bool = True) -> dict[str, dict]:
    rng = np.random.default_rng(5)
    features: dict[str, dict] = {}
    for j, wallet in enumerate(WALLETS):
        f = {name: float(rng.uniform(0, 1)) for name in FEATURE_NAMES}
        f.update(
            tx_count=float(rng.integers(0, 60)),
            tx_per_day=float(rng.choice([0.05, 0.7, 2.0, 40.0, 80.0])),
            age_days=float(rng.choice([0.5, 10.0, 45.0, 70.0])),
            total_value=float(rng.choice([100.0, 60_000.0, 600_000.0])),
            max_value=float(rng.choice([10.0, 20_000.0, 80_000.0])),
            unique_tokens=float(rng.integers(1, 15)),
            erc20_count=float(rng.integers(0, 100)),
            avg_candle_volatility=float(rng.choice([0.001, 0.012, 0.03])),
            avg_candle_momentum=float(rng.choice([-0.003, 0.0, 0.003])),
            avg_candle_volume=float(rng.choice([1e3, 5e5])),
        )
        if j == 4:  # QUIET: skipped by TX_COUNT_THRESHOLD
            f["tx_count"] = 0.0
        features[wallet] = f
    con.execute(
        "CREATE TABLE wallet_features (wallet VARCHAR, "
        + ", ".join(f"{n} DOUBLE" for n in FEATURE_NAMES)
        + ", first_time_ms BIGINT)"
    )
    con.executemany(
        f"INSERT INTO wallet_features VALUES (?, {', '.join('?' for _ in FEATURE_NAMES)}, 0)",
        [[w, *[f[n] for n in FEATURE_NAMES]] for w, f in features.items()],
    )
    scores: dict[str, dict] = {}
    if with_scores:
        con.execute(
            "CREATE TABLE wallet_scores (wallet VARCHAR, style_0 DOUBLE, style_1 DOUBLE, style_2 DOUBLE, "
            "style_3 DOUBLE, style_4 DOUBLE, style_5 DOUBLE, risk_score DOUBLE, profitability_score DOUBLE, "
            "bot_probability DOUBLE, influence_score DOUBLE, sophistication_score DOUBLE, model_version VARCHAR)"
        )
        for wallet in WALLETS[:-1]:  # the last wallet has no score row: scores count as 0
            s = {
                "trading_style": [float(v) for v in rng.uniform(-1, 1, 6)],
                "risk_score": float(rng.uniform()),
                "profitability_score": float(rng.uniform()),
                "bot_probability": float(rng.uniform()),
                "influence_score": float(rng.uniform(0, 10)),
                "sophistication_score": float(rng.uniform()),
            }
            scores[wallet] = s
            con.execute(
                "INSERT INTO wallet_scores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'v1')",
                [wallet, *s["trading_style"], s["risk_score"], s["profitability_score"], s["bot_probability"],
                 s["influence_score"], s["sophistication_score"]],
            )
    trades = []
    for k in range(40):  # MM quotes; SELLER and WALLETS[5] take: a flat, passive book of $20k trades
        buyer, seller = (MM, SELLER) if k % 2 == 0 else (WALLETS[5], MM)
        trades.append(("BTC", DAY0 + k * 60_000, k + 1, buyer, seller, 100.0, 200.0, buyer != MM))
    for k in range(6):  # a washing pair
        buyer, seller = (WASH_A, WASH_B) if k % 2 == 0 else (WASH_B, WASH_A)
        trades.append(("ETH", DAY0 + k * 5_000, 100 + k, buyer, seller, 2000.0, 3.0))
    add_trades(con, trades)
    if with_pnl:
        con.execute("CREATE TABLE wallet_pnl (wallet VARCHAR, realized_pnl DOUBLE, total_pnl DOUBLE, net_pnl DOUBLE)")
        con.executemany("INSERT INTO wallet_pnl VALUES (?, 0, ?, ? - 100)",
                        [[MM, 12_000.0, 12_000.0], [SELLER, -2_000_000.0, -2_000_000.0]])
    return {"features": features, "scores": scores}


def test_wallet_categories_table(con, add_trades):
    data = build(con, add_trades)
    summary = categorize_wallets(con)
    assert summary["rows"] == len(WALLETS)
    columns = [r[0] for r in con.execute("DESCRIBE wallet_categories").fetchall()]
    for column in ("wallet", "categories", "primary_category", "n_categories", "kirilenko_class",
                   "wash_trade_flag", "wash_trade_count", "size_cohort", "pnl_cohort"):
        assert column in columns
    rows = {r[0]: r for r in con.execute(
        "SELECT wallet, categories, primary_category, n_categories, kirilenko_class, wash_trade_flag, "
        "wash_trade_count, size_cohort, pnl_cohort FROM wallet_categories").fetchall()}
    empty_scores = {"trading_style": [0.0] * 6}
    for wallet in WALLETS:
        expected = classify_wallet(data["features"][wallet], data["scores"].get(wallet, empty_scores))
        got = [tuple(item) for item in json.loads(rows[wallet][1])]
        assert got == expected, wallet
        assert rows[wallet][2] == (expected[0][0] if expected else None)
        assert rows[wallet][3] == len(expected)
    assert json.loads(rows[QUIET][1]) == []
    assert summary["wallets_with_categories"] == sum(1 for r in rows.values() if json.loads(r[1]))
    assert sum(summary["category_counts"].values()) == sum(r[3] for r in rows.values())
    # Beyond-prototype columns.
    assert rows[MM][4] == "Market Maker"
    assert rows[SELLER][4] == "Fundamental"
    assert rows[WALLETS[10]][4] == "Small"  # no fills at all
    assert rows[WASH_A][5] is True and rows[WASH_A][6] == 6
    assert rows[WASH_A][4] == "Small"  # wash volume is not economic volume
    assert rows[MM][5] is False and rows[MM][6] == 0
    assert rows[MM][7] == "Dolphin"  # peak long 200 × $100 = $20k
    assert rows[WALLETS[10]][7] == "Shrimp"
    assert rows[MM][8] == "Grinder" and rows[SELLER][8] == "Giga-Rekt" and rows[WASH_A][8] is None
    assert summary["kirilenko_class_counts"]["Market Maker"] == 1
    assert summary["wash_trade_wallets"] == 2


def test_rebuild_replaces_and_degrades_without_optional_tables(con, add_trades):
    build(con, add_trades, with_scores=False, with_pnl=False)
    categorize_wallets(con)
    categorize_wallets(con)
    assert con.execute("SELECT count(*), count(DISTINCT wallet) FROM wallet_categories").fetchone() == (40, 40)
    assert con.execute("SELECT count(*) FROM wallet_categories WHERE pnl_cohort IS NOT NULL").fetchone()[0] == 0
    # Without model scores only feature-based categories can appear.
    names = {n for (c,) in con.execute("SELECT categories FROM wallet_categories").fetchall() for n, _ in json.loads(c)}
    assert names and not names & {"Bot", "Possible Bot", "Profitable Trader", "High Risk Trader"}


def test_missing_features_is_a_user_error(con):
    with pytest.raises(UserError, match="wallet_features"):
        categorize_wallets(con)
    with pytest.raises(UserError, match="wallet_categories"):
        report_rows(con)


def test_report_rows_and_file(con, add_trades, tmp_path):
    data = build(con, add_trades)
    categorize_wallets(con)
    rows = report_rows(con)
    assert QUIET not in {r.wallet for r in rows}  # tx_count 0 < TX_COUNT_THRESHOLD
    assert len(rows) == sum(1 for f in data["features"].values() if f["tx_count"] >= 1)
    mm = next(r for r in rows if r.wallet == MM)
    assert mm.tx_count == int(data["features"][MM]["tx_count"])
    assert mm.trading_style == tuple(data["scores"][MM]["trading_style"])
    assert mm.bot_probability == data["scores"][MM]["bot_probability"]
    assert list(mm.categories) == classify_wallet(data["features"][MM], data["scores"][MM])
    when = datetime(2026, 1, 22, 12, tzinfo=UTC)
    meta = write_final_report(con, tmp_path / "reports" / "final_report.txt", generated_at=when)
    text = (tmp_path / "reports" / "final_report.txt").read_text()
    assert text == render_final_report(rows, when)
    assert meta["wallets_analyzed"] == len(rows) == meta["wallets_listed"]
    assert f"Total wallets analyzed: {len(rows)}" in text
    # Only categorized wallets when SHOW_NO_CATEGORIES is off; stricter TX_COUNT_THRESHOLD drops wallets.
    t = Thresholds(SHOW_NO_CATEGORIES=False, TX_COUNT_THRESHOLD=30)
    meta = write_final_report(con, tmp_path / "r2.txt", generated_at=when, thresholds=t)
    strict_rows = report_rows(con, t)
    assert all(r.tx_count >= 30 for r in strict_rows) and len(strict_rows) < len(rows)
    assert meta["wallets_listed"] == sum(1 for r in strict_rows if r.categories)
    assert "Categories: None" not in (tmp_path / "r2.txt").read_text()


def test_labels_and_archetype_predictions(con, add_trades):
    build(con, add_trades)
    categorize_wallets(con)
    labels = labels_by_wallet(con)
    assert "Market Maker" in labels[MM]
    assert "Wash Trader" in labels[WASH_A] and "Wash Trader" in labels[WASH_B]
    predicted = archetype_predictions(labels)
    assert set(predicted) == set(ARCHETYPE_CATEGORIES)
    assert MM in predicted["market_maker"]
    assert predicted["wash_trader"] == {WASH_A, WASH_B}
    assert predicted["retail"] == set() and UNSCORED_ARCHETYPES == {"retail"}


def test_archetype_predictions_accept_pairs_and_names():
    predicted = archetype_predictions({
        "a": [("Scalper", 0.9), ("Possible Whale", 0.5)],
        "b": ["Whale", "HFT"],
        "c": [["Momentum Follower", 0.7]],
        "d": [],
        "e": ["Whale", "Market Maker"],  # a market maker's turnover is not a whale
        "f": [("Scalper", 0.8), ("Wash Trader", 1.0)],
    })
    assert predicted["hft_scalper"] == {"a"}
    assert predicted["whale"] == set()  # "Possible Whale" does not count; "b" is vetoed by HFT
    assert predicted["market_maker"] == {"b", "e"}
    assert "e" not in predicted["whale"] and "f" not in predicted["hft_scalper"]
    assert predicted["wash_trader"] == {"f"}
    assert predicted["momentum"] == {"c"}
    known = {"Market Maker", "HFT", "Wash Trader"} | set(__import__(
        "hypertrack_pipeline.classification", fromlist=["CATEGORY_NAMES"]).CATEGORY_NAMES)
    assert all(labels <= known for labels in ARCHETYPE_CATEGORIES.values())
