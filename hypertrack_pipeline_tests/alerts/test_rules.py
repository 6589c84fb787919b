"""The alert rules on hand-made warehouse tables: what fires, what does not, the first evaluation, and
idempotence (evaluating the same refresh twice inserts once)."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pytest

from hypertrack_pipeline.alerts.rules import (
    CATEGORY_NEW,
    NEAR_LIQUIDATION,
    POSITION_INCREASED,
    POSITION_NEW,
    AlertThresholds,
    evaluate_alerts,
)
from hypertrack_pipeline_tests.alerts.conftest import (
    H0,
    W1,
    W2,
    W3,
    hours,
    set_categories,
    set_positions,
)

T = AlertThresholds()  # $1 M, +10 %, 5 %, Whale / Profitable Trader / Bot


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def alerts(con) -> list[tuple]:
    return con.execute("SELECT kind, wallet, coin, category, value, threshold, created_at FROM alerts "
                       "ORDER BY created_at, kind, wallet, coin").fetchall()


def primed(con, positions=(), categories=None) -> None:
    """A first evaluation (records the baseline, alerts nothing) at hour H0."""
    set_positions(con, H0, list(positions))
    set_categories(con, categories or {})
    info = evaluate_alerts(con, T)
    assert info["new_alerts"] == 0


def test_first_evaluation_records_the_baseline_and_alerts_nothing(con):
    set_positions(con, H0, [(W1, "BTC", 50.0, 60_000.0)])  # $3 M
    set_categories(con, {W1: [("Whale", 0.9)]})
    info = evaluate_alerts(con, T)
    assert info["new_alerts"] == 0 and alerts(con) == []
    assert "baseline recorded" in info["rules"]["position"] and "baseline recorded" in info["rules"]["category"]
    assert info["rules"]["liquidation"].startswith("skipped")  # no account_positions table: a no-op
    assert con.execute("SELECT count(*) FROM alert_baseline WHERE rule IN ('position', 'category')").fetchall() == [(2,)]
    # the same state again: still nothing
    assert evaluate_alerts(con, T)["new_alerts"] == 0


def test_a_new_position_over_the_threshold_alerts_once(con):
    primed(con, [(W1, "ETH", 10.0, 3_000.0)])
    set_positions(con, H0 + hours(1), [(W1, "ETH", 10.0, 3_000.0), (W2, "BTC", -25.0, 60_000.0)])  # short $1.5 M
    info = evaluate_alerts(con, T)
    assert info["new_alerts"] == 1 and info["by_kind"][POSITION_NEW] == 1
    [(kind, wallet, coin, category, value, threshold, created_at)] = alerts(con)
    assert (kind, wallet, coin, category) == (POSITION_NEW, W2, "BTC", None)
    assert value == pytest.approx(1_500_000.0) and threshold == 1_000_000.0
    assert created_at == H0 + hours(2)  # data time: the end of the newest hour
    message = con.execute("SELECT message FROM alerts").fetchall()[0][0]
    assert "BTC short" in message and "$1,500,000" in message and W2 in message
    # the same refresh evaluated again (a re-run): nothing new
    assert evaluate_alerts(con, T)["new_alerts"] == 0
    assert len(alerts(con)) == 1


def test_below_the_threshold_nothing_fires(con):
    primed(con)
    set_positions(con, H0 + hours(1), [(W1, "BTC", 16.0, 62_000.0)])  # $992 k
    assert evaluate_alerts(con, T)["new_alerts"] == 0
    # a custom threshold is honoured
    set_positions(con, H0 + hours(2), [(W1, "BTC", 16.0, 62_000.0), (W2, "BTC", 1.0, 62_000.0)])
    assert evaluate_alerts(con, AlertThresholds(min_notional=50_000))["new_alerts"] == 1


def test_an_increased_position_alerts_but_a_price_move_or_a_small_top_up_does_not(con):
    primed(con, [(W1, "BTC", 20.0, 60_000.0)])  # $1.2 M already
    set_positions(con, H0 + hours(1), [(W1, "BTC", 20.0, 66_000.0)])  # price only
    assert evaluate_alerts(con, T)["new_alerts"] == 0
    set_positions(con, H0 + hours(2), [(W1, "BTC", 20.5, 66_000.0)])  # +2.5 %
    assert evaluate_alerts(con, T)["new_alerts"] == 0
    set_positions(con, H0 + hours(3), [(W1, "BTC", 25.0, 66_000.0)])  # +22 % on 20.5
    info = evaluate_alerts(con, T)
    assert info["new_alerts"] == 1 and info["by_kind"][POSITION_INCREASED] == 1
    assert "20.5 → 25 BTC" in con.execute("SELECT message FROM alerts").fetchall()[0][0]
    set_positions(con, H0 + hours(4), [(W1, "BTC", 10.0, 66_000.0)])  # reduced: nothing
    assert evaluate_alerts(con, T)["new_alerts"] == 0


def test_growing_across_the_threshold_alerts_and_a_flip_is_new(con):
    primed(con, [(W1, "BTC", 16.0, 60_000.0), (W2, "ETH", 400.0, 3_000.0)])  # $960 k, $1.2 M long
    set_positions(con, H0 + hours(1), [(W1, "BTC", 17.0, 60_000.0),  # +6 %, but now $1.02 M
                                       (W2, "ETH", -400.0, 3_000.0)])  # flipped to short
    evaluate_alerts(con, T)
    kinds = {(k, w) for k, w, *_ in alerts(con)}
    assert kinds == {(POSITION_INCREASED, W1), (POSITION_NEW, W2)}
    assert "flipped from long" in con.execute(
        "SELECT message FROM alerts WHERE wallet = ?", [W2]).fetchall()[0][0]


def test_a_wallet_newly_classified_in_a_watched_category_alerts(con):
    primed(con, categories={W1: [("Whale", 0.9)], W2: []})
    set_categories(con, {W1: [("Whale", 0.95), ("Bot", 0.7)],  # Bot is new for W1
                         W2: [("Scalper", 0.8), ("Possible Whale", 0.5)],  # neither is watched
                         W3: [("Profitable Trader", 0.6)]})  # a wallet seen for the first time
    info = evaluate_alerts(con, T)
    got = {(w, c, round(v, 2)) for k, w, _, c, v, *_ in alerts(con) if k == CATEGORY_NEW}
    assert got == {(W1, "Bot", 0.7), (W3, "Profitable Trader", 0.6)} and info["new_alerts"] == 2
    # staying classified does not alert again; losing and regaining a category does
    assert evaluate_alerts(con, T)["new_alerts"] == 0
    set_positions(con, H0 + hours(1), [])
    set_categories(con, {W1: [("Whale", 0.95)], W3: [("Profitable Trader", 0.6)]})
    evaluate_alerts(con, T)
    set_positions(con, H0 + hours(2), [])
    set_categories(con, {W1: [("Whale", 0.95), ("Bot", 0.75)], W3: [("Profitable Trader", 0.6)]})
    assert evaluate_alerts(con, T)["by_kind"][CATEGORY_NEW] == 1


def test_watching_another_category_later_does_not_flood(con):
    primed(con, categories={W1: [("Scalper", 0.8)], W2: [("Scalper", 0.7)]})
    assert evaluate_alerts(con, AlertThresholds(categories=("Scalper",)))["new_alerts"] == 0


def _ms(t: datetime) -> int:
    return int((t - datetime(1970, 1, 1)).total_seconds() * 1000)


def set_account(con, t: datetime, positions: list[tuple[str, str, float, float, float | None]],
                polled: tuple[str, ...] = ()) -> None:
    """One poll at ``t`` of every wallet in ``polled`` and of each position's wallet: (wallet, coin, size,
    mark, liquidation price). Earlier polls stay (the latest per wallet counts)."""
    from hypertrack_pipeline.graph import table

    state, pos = table("account_state"), table("account_positions")
    for decl in (state, pos):
        con.execute(decl.ddl())
    for wallet in sorted({*polled, *(p[0] for p in positions)}):
        con.execute("INSERT INTO account_state (wallet, time_ms, ts, account_value, total_ntl_pos, total_margin_used, "
                    "withdrawable, positions, hour) VALUES (?, ?, ?, 0, 0, 0, 0, 0, ?)", [wallet, _ms(t), t, t])
    for wallet, coin, size, mark, liq in positions:
        con.execute("INSERT INTO account_positions (wallet, coin, time_ms, ts, size, position_value, mark_px, "
                    "unrealized_pnl, liquidation_px, margin_used, hour) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, 0, ?)",
                    [wallet, coin, _ms(t), t, size, abs(size) * mark, mark, liq, t])


def test_liquidation_rule_is_a_no_op_without_account_positions_then_alerts_on_entering_the_zone(con):
    primed(con)
    from hypertrack_pipeline.graph import table

    con.execute(table("account_positions").ddl())  # the table exists, but nothing was polled yet
    info = evaluate_alerts(con, T)
    assert info["rules"]["liquidation"].startswith("skipped") and info["new_alerts"] == 0
    t0 = H0 + hours(1) + timedelta(minutes=30)
    # first polls: W1 already 3 % from liquidation — recorded, not alerted (first evaluation of the rule)
    set_account(con, t0, [(W1, "BTC", 2.0, 60_000.0, 58_200.0), (W2, "ETH", -50.0, 3_000.0, 3_600.0)])
    info = evaluate_alerts(con, T)
    assert "baseline recorded" in info["rules"]["liquidation"] and alerts(con) == []
    # next poll: W2's short is now 4 % from its liquidation price; W1 stays in the zone (no repeat)
    t1 = t0 + hours(1)
    set_account(con, t1, [(W1, "BTC", 2.0, 59_000.0, 58_200.0), (W2, "ETH", -50.0, 3_460.0, 3_600.0)])
    info = evaluate_alerts(con, T)
    assert info["by_kind"][NEAR_LIQUIDATION] == 1
    [(kind, wallet, coin, _, value, threshold, created_at)] = alerts(con)
    assert (kind, wallet, coin, threshold) == (NEAR_LIQUIDATION, W2, "ETH", 0.05)
    assert value == pytest.approx((3_600 - 3_460) / 3_460) and created_at == t1
    assert evaluate_alerts(con, T)["new_alerts"] == 0  # the same poll again: nothing
    # W1 closes everything (a poll with no position: account_state only) and W2 leaves the zone…
    t2 = t1 + hours(1)
    set_account(con, t2, [(W2, "ETH", -50.0, 3_000.0, 3_600.0)], polled=(W1,))
    assert evaluate_alerts(con, T)["new_alerts"] == 0
    # …then W1 reopens close to liquidation: it entered the zone again
    t3 = t2 + hours(1)
    set_account(con, t3, [(W1, "BTC", 2.0, 60_000.0, 58_500.0), (W2, "ETH", -50.0, 3_000.0, 3_600.0)])
    evaluate_alerts(con, T)
    assert [(k, w) for k, w, *_ in alerts(con)][-1] == (NEAR_LIQUIDATION, W1)


def test_the_alert_id_keeps_a_rerun_from_inserting_twice_even_without_the_baseline(con):
    """A refresh re-run after its baseline was lost (or an hour reloaded with more fills) finds the alert's
    deterministic id already stored: one row, not two."""
    primed(con)
    set_positions(con, H0 + hours(1), [(W1, "BTC", 30.0, 60_000.0)])
    assert evaluate_alerts(con, T)["new_alerts"] == 1
    con.execute("DELETE FROM alert_baseline WHERE rule = 'position'")
    assert evaluate_alerts(con, T)["new_alerts"] == 0
    assert len(alerts(con)) == 1


def test_a_failed_evaluation_leaves_neither_alerts_nor_baseline(con, monkeypatch):
    from hypertrack_pipeline.alerts import rules

    primed(con)
    set_positions(con, H0 + hours(1), [(W1, "BTC", 30.0, 60_000.0)])
    before = con.execute("SELECT * FROM alert_baseline ORDER BY ALL").fetchall()

    def broken(*args, **kwargs):
        raise RuntimeError("killed half way")

    monkeypatch.setattr(rules, "_category_rule", broken)
    with pytest.raises(RuntimeError):
        evaluate_alerts(con, T)
    assert alerts(con) == [] and con.execute("SELECT * FROM alert_baseline ORDER BY ALL").fetchall() == before
    monkeypatch.undo()
    assert evaluate_alerts(con, T)["new_alerts"] == 1


def test_the_step_runs_on_exactly_its_declared_tables(tmp_path, monkeypatch):
    """The step's reads are what it needs: a warehouse holding only them (account tables empty) works, and
    the thresholds come from the HYPERTRACK_ALERT_* settings."""
    from hypertrack_pipeline.alerts.rules import STEP
    from hypertrack_pipeline.catalog import StepContext
    from hypertrack_pipeline.config import load_settings
    from hypertrack_pipeline.graph import RAW_ASSETS, table

    monkeypatch.setenv("HYPERTRACK_ALERT_MIN_NOTIONAL", "100000")
    monkeypatch.setenv("HYPERTRACK_ALERT_CATEGORIES", "Whale,Nonsense")
    settings = load_settings(tmp_path)
    con = duckdb.connect()
    for name in STEP.reads:
        if name in RAW_ASSETS:
            con.execute(table(name).ddl())
    set_positions(con, H0, [])
    set_categories(con, {})
    said: list[str] = []
    STEP.run(con, StepContext(settings=settings, log=said.append))
    set_positions(con, H0 + hours(1), [(W1, "SOL", 1_000.0, 150.0)])  # $150 k ≥ the configured $100 k
    info = STEP.run(con, StepContext(settings=settings, log=said.append))
    assert info["new_alerts"] == 1 and info["unknown_categories"] == ["Nonsense"]
    assert any("Nonsense" in line for line in said)
    assert {r[0] for r in con.execute("SHOW TABLES").fetchall()} >= {"alerts", "alert_baseline"}
