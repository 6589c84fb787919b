"""Wash-trade detection in DuckDB over the ``fills`` table: self-trades and tight two-wallet cycles.

- Self-trade: buyer == seller (a fill whose counterparty is the wallet itself).
- Cycle: within one coin and one unordered wallet pair, two *consecutive* trades of that pair in
  opposite directions (A buys from B, then B buys from A) within ``WASH_WINDOW_MS``, with sizes within
  ``WASH_SIZE_TOL`` and prices within ``WASH_PRICE_TOL`` of each other. Consecutive-in-pair keeps the
  scan linear (one window pass) instead of a quadratic self-join.
- A pair counts as washing only when it has ≥ ``WASH_MIN_CYCLES`` cycles and the notional of its cycle
  trades is ≥ ``WASH_MIN_SHARE`` of *both* partners' traded notional. That second condition protects
  market makers: a constant-size scalper that happens to buy from and sell to the same maker forms
  cycles, but they are a negligible share of the maker's volume.

Per wallet: ``self_trade_count``, ``wash_cycle_trades`` (trades in qualifying cycles),
``wash_trade_count`` (their sum) and ``wash_trade_flag``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hypertrack_pipeline.classification.thresholds import Thresholds

if TYPE_CHECKING:
    import duckdb


def wash_sql(t: Thresholds, wash_pairs: str | None = None) -> str:
    """SELECT producing (wallet, self_trade_count, wash_cycle_trades, wash_trade_count, wash_trade_flag).

    ``wash_pairs``: a materialized ``washing_pairs_sql`` table; None computes it inline.
    """
    pairs = wash_pairs if wash_pairs is not None else f"({washing_pairs_sql(t)})"
    return f"""
    WITH washing_pairs AS (SELECT * FROM {pairs}),
    self_trades AS (
        SELECT wallet, count(*) AS self_trade_count
        FROM fills WHERE side_sign > 0 AND counterparty = wallet GROUP BY wallet
    ),
    cycle_wallets AS (
        SELECT wallet, sum(cycle_trades) AS wash_cycle_trades FROM (
            SELECT a AS wallet, cycle_trades FROM washing_pairs
            UNION ALL
            SELECT b AS wallet, cycle_trades FROM washing_pairs
        ) GROUP BY wallet
    )
    SELECT wallet,
           CAST(coalesce(s.self_trade_count, 0) AS BIGINT) AS self_trade_count,
           CAST(coalesce(c.wash_cycle_trades, 0) AS BIGINT) AS wash_cycle_trades,
           CAST(coalesce(s.self_trade_count, 0) + coalesce(c.wash_cycle_trades, 0) AS BIGINT) AS wash_trade_count,
           coalesce(s.self_trade_count, 0) >= {int(t.WASH_MIN_SELF_TRADES)}
               OR coalesce(c.wash_cycle_trades, 0) > 0 AS wash_trade_flag
    FROM self_trades s FULL OUTER JOIN cycle_wallets c USING (wallet)
    """


def washing_pairs_sql(t: Thresholds) -> str:
    """SELECT producing the washing pairs (a, b, cycles, cycle_trades, cycle_notional), a < b."""
    return f"WITH {_pairs_ctes(t)} SELECT a, b, cycles, cycle_trades, cycle_notional FROM washing_pairs"


def _pairs_ctes(t: Thresholds) -> str:
    """CTEs ending in ``washing_pairs``."""
    window = int(t.WASH_WINDOW_MS)
    size_tol = float(t.WASH_SIZE_TOL)
    price_tol = float(t.WASH_PRICE_TOL)
    return f"""
    buys AS (
        SELECT coin, time_ms, tid, wallet AS buyer, counterparty AS seller, px, sz, abs(notional) AS notional
        FROM fills WHERE side_sign > 0
    ),
    pair_trades_all AS (
        SELECT *, least(buyer, seller) AS a, greatest(buyer, seller) AS b
        FROM buys WHERE buyer <> seller
    ),
    busy_pairs AS (  -- a pair needs more trades than cycles; most pairs trade once or twice
        SELECT a, b FROM pair_trades_all GROUP BY a, b HAVING count(*) > {int(t.WASH_MIN_CYCLES)}
    ),
    pair_trades AS (
        SELECT p.* FROM pair_trades_all p SEMI JOIN busy_pairs USING (a, b)
    ),
    seq AS (
        SELECT a, b, coin, tid, notional, buyer,
               lag(buyer) OVER w AS p_buyer, lag(time_ms) OVER w AS p_time,
               lag(sz) OVER w AS p_sz, lag(px) OVER w AS p_px,
               lead(buyer) OVER w AS n_buyer, lead(time_ms) OVER w AS n_time,
               lead(sz) OVER w AS n_sz, lead(px) OVER w AS n_px,
               time_ms, sz, px
        FROM pair_trades
        WINDOW w AS (PARTITION BY coin, a, b ORDER BY time_ms, tid)
    ),
    legs AS (
        SELECT a, b, coin, tid, notional,
               coalesce(p_buyer <> buyer AND time_ms - p_time <= {window}
                        AND abs(sz - p_sz) <= {size_tol!r} * greatest(sz, p_sz)
                        AND abs(px - p_px) <= {price_tol!r} * greatest(px, p_px), false) AS closes_cycle,
               coalesce(n_buyer <> buyer AND n_time - time_ms <= {window}
                        AND abs(sz - n_sz) <= {size_tol!r} * greatest(sz, n_sz)
                        AND abs(px - n_px) <= {price_tol!r} * greatest(px, n_px), false) AS opens_cycle
        FROM seq
    ),
    pairs AS (
        SELECT a, b,
               count(*) FILTER (WHERE closes_cycle) AS cycles,
               count(*) FILTER (WHERE closes_cycle OR opens_cycle) AS cycle_trades,
               coalesce(sum(notional) FILTER (WHERE closes_cycle OR opens_cycle), 0) AS cycle_notional
        FROM legs GROUP BY a, b
        HAVING count(*) FILTER (WHERE closes_cycle) >= {int(t.WASH_MIN_CYCLES)}
    ),
    traded AS (
        SELECT wallet, sum(abs(notional)) AS traded_notional FROM fills GROUP BY wallet
    ),
    washing_pairs AS (
        SELECT p.* FROM pairs p
        JOIN traded ta ON ta.wallet = p.a
        JOIN traded tb ON tb.wallet = p.b
        WHERE p.cycle_notional >= {float(t.WASH_MIN_SHARE)!r} * ta.traded_notional
          AND p.cycle_notional >= {float(t.WASH_MIN_SHARE)!r} * tb.traded_notional
    )"""


def wash_trades(con: duckdb.DuckDBPyConnection, thresholds: Thresholds | None = None) -> dict[str, tuple[int, bool]]:
    """wallet → (wash_trade_count, wash_trade_flag) for wallets with any detected wash activity."""
    sql = f"SELECT wallet, wash_trade_count, wash_trade_flag FROM ({wash_sql(thresholds or Thresholds())})"
    return {w: (int(n), bool(flag)) for w, n, flag in con.execute(sql).fetchall()}
