"""Trader views: leaderboards by time window, positioning by cohort per coin and hour, and who holds a coin.

The public trackers answer "who made the most this week", "how are whales positioned in ETH" and "who holds
the largest HYPE shorts"; these tables answer the same from our own data, each row carrying the wallet's
categories so our classification sits next to the ranking.

Time windows are relative to the newest hour in the warehouse (not the wall clock), so a warehouse built
from a backfill months ago still has a meaningful "24 h": "24h" is the last 24 hours up to the end of the
newest hour, and its PnL is the change of the marked PnL curve over them (``wallet_pnl_hourly`` holds the
start points, marked at that hour). Cohorts are the wallet's current ones (size
ladder on peak position value, PnL ladder on net PnL; see ``wallet_categories``): "how are today's whales
positioned, hour by hour". Positions before a wallet's first fill are the exchange's ``startPosition``
where the node archives hold it (``wallet_positions.seeded_position``), else 0.

Where the recorder polls a wallet's account (``account_state`` / ``account_positions``, the tracked wallets
only), the views add what the trade stream cannot know: the leaderboards' ``roi`` (net PnL over the latest
equity) and the holders' liquidation price and distance. Everyone else gets NULL there, and both views work
on empty account tables.
"""

from __future__ import annotations

import duckdb

from hypertrack_pipeline.catalog import Column, Step, StepContext, Table
from hypertrack_pipeline.warehouse.pnl import LEADERBOARD_HOURS, _marks_sql, fee_usd_sql

_HOUR_MS = 3_600_000
WINDOWS: tuple[tuple[str, int | None], ...] = (*((f"{h}h" if h < 48 else f"{h // 24}d", h) for h in LEADERBOARD_HOURS),
                                               ("all", None))
HOLDERS_PER_COIN = 100

_WINDOWS_SQL = ", ".join(f"('{w}', {h if h is not None else 'NULL'}, {i})" for i, (w, h) in enumerate(WINDOWS))

LEADERBOARDS_VIEW = Table(
    "leaderboards",
    "Per time window (24h, 7d, 30d, all) and wallet: PnL, net PnL, volume and ranks, with the wallet's categories. "
    "Windows end at the newest hour in the warehouse. A view: always current.",
    (
        Column("period", "VARCHAR", "24h, 7d, 30d or all"),
        Column("wallet", "VARCHAR", "address, lowercase hex"),
        Column("pnl", "DOUBLE", "change of cum_total_pnl over the window (realized + unrealized, before fees), USD"),
        Column("fees", "DOUBLE", "fees paid in the window (node-archive fills only), USD"),
        Column("net_pnl", "DOUBLE", "pnl − fees, USD"),
        Column("volume", "DOUBLE", "USD traded in the window"),
        Column("fills", "BIGINT", "fills in the window"),
        Column("pnl_rank", "BIGINT", "1 = highest net PnL in the window"),
        Column("volume_rank", "BIGINT", "1 = highest volume in the window"),
        Column("primary_category", "VARCHAR", "from wallet_categories"),
        Column("categories", "VARCHAR", "from wallet_categories (JSON [[name, confidence], …])"),
        Column("size_cohort", "VARCHAR", "from wallet_categories"),
        Column("roi", "DOUBLE", "net_pnl / the wallet's latest account equity (account_state); null where the "
               "recorder never polled it or the equity is not positive"),
        Column("skill_confidence", "DOUBLE", "P(edge > 0) of the wallet's mark-outs (wallet_features): skill, not luck"),
    ),
    view_sql=f"""
WITH last AS (SELECT max(hour) AS h FROM wallet_pnl_hourly),
     win(period, hours, ord) AS (VALUES {_WINDOWS_SQL}),
     bounds AS (SELECT win.period, win.ord,
                       last.h - to_hours(win.hours) AS base_h,  -- the curve's value at this hour's end is the start
                       last.h - to_hours(win.hours) + INTERVAL 1 HOUR AS start_ts
                FROM win, last),
     endv AS (SELECT wallet, arg_max(cum_total_pnl, hour) AS v FROM wallet_pnl_hourly GROUP BY wallet),
     startv AS (SELECT b.period, p.wallet, arg_max(p.cum_total_pnl, p.hour) AS v
                FROM bounds b JOIN wallet_pnl_hourly p ON b.base_h IS NOT NULL AND p.hour <= b.base_h
                GROUP BY b.period, p.wallet),
     vol AS (SELECT b.period, f.wallet, sum(f.notional) AS volume, count(*) AS fills
             FROM bounds b JOIN fills f ON b.start_ts IS NULL OR f.ts >= b.start_ts
             GROUP BY b.period, f.wallet),
     fee AS (SELECT b.period, e.wallet, sum({fee_usd_sql('e')}) AS fees
             FROM bounds b JOIN exchange_fills e ON b.start_ts IS NULL OR e.ts >= b.start_ts
             GROUP BY b.period, e.wallet),
     rows AS (SELECT b.period, b.ord, e.wallet, e.v - coalesce(s.v, 0) AS pnl, coalesce(fee.fees, 0) AS fees,
                     coalesce(vol.volume, 0) AS volume, coalesce(vol.fills, 0) AS fills
              FROM bounds b CROSS JOIN endv e
              LEFT JOIN startv s ON s.period = b.period AND s.wallet = e.wallet
              LEFT JOIN vol ON vol.period = b.period AND vol.wallet = e.wallet
              LEFT JOIN fee ON fee.period = b.period AND fee.wallet = e.wallet
              WHERE coalesce(vol.fills, 0) > 0 OR e.v - coalesce(s.v, 0) <> 0),
     equity AS (SELECT wallet, arg_max(account_value, time_ms) AS equity FROM account_state GROUP BY wallet)
SELECT r.period, r.wallet, r.pnl, r.fees, r.pnl - r.fees AS net_pnl, r.volume, r.fills,
       row_number() OVER (PARTITION BY r.period ORDER BY r.pnl - r.fees DESC, r.wallet) AS pnl_rank,
       row_number() OVER (PARTITION BY r.period ORDER BY r.volume DESC, r.wallet) AS volume_rank,
       c.primary_category, CAST(c.categories AS VARCHAR) AS categories, c.size_cohort,
       CASE WHEN q.equity > 0 THEN (r.pnl - r.fees) / q.equity END AS roi, sk.skill_confidence
FROM rows r LEFT JOIN wallet_categories c USING (wallet) LEFT JOIN equity q USING (wallet)
LEFT JOIN wallet_features sk ON sk.wallet = r.wallet
ORDER BY r.ord, pnl_rank""",
)

POSITIONING_TABLE = Table(
    "coin_positioning",
    "Per coin, hour and cohort (size ladder and PnL ladder): long and short notional and wallets, from the "
    "positions at each hour's end, marked at the coin's last mid of the hour.",
    (
        Column("hour", "TIMESTAMP NOT NULL", "UTC hour start; positions as of the end of that hour"),
        Column("coin", "VARCHAR NOT NULL", "market"),
        Column("cohort_kind", "VARCHAR NOT NULL", "size or pnl"),
        Column("cohort", "VARCHAR NOT NULL", "Shrimp … Leviathan, or Giga-Rekt … Money Printer ('unclassified' if none)"),
        Column("long_notional", "DOUBLE NOT NULL", "USD, sum of the cohort's long positions × mark"),
        Column("short_notional", "DOUBLE NOT NULL", "USD, sum of |short positions| × mark"),
        Column("long_wallets", "BIGINT NOT NULL", "wallets of the cohort long the coin"),
        Column("short_wallets", "BIGINT NOT NULL", "wallets of the cohort short the coin"),
        Column("mark", "DOUBLE", "the coin's last mid of the hour (carried forward)"),
    ),
)

HOLDERS_TABLE = Table(
    "coin_holders",
    f"Per coin, the {HOLDERS_PER_COIN} largest open positions now, with entry, unrealized PnL and the wallet's "
    "categories.",
    (
        Column("coin", "VARCHAR NOT NULL", "market"),
        Column("rank", "BIGINT NOT NULL", "1 = largest notional in the coin"),
        Column("wallet", "VARCHAR NOT NULL", "address, lowercase hex"),
        Column("side", "VARCHAR NOT NULL", "long or short"),
        Column("size", "DOUBLE NOT NULL", "|position|, base units"),
        Column("notional", "DOUBLE NOT NULL", "|position| × last mid, USD"),
        Column("entry_px", "DOUBLE NOT NULL", "average cost of the position"),
        Column("mark", "DOUBLE", "last mid"),
        Column("unrealized_pnl", "DOUBLE NOT NULL", "USD"),
        Column("share_of_open_interest", "DOUBLE NOT NULL", "notional / the coin's open notional (longs + shorts) / 2"),
        Column("primary_category", "VARCHAR", "from wallet_categories"),
        Column("size_cohort", "VARCHAR", "from wallet_categories"),
        Column("liq_px", "DOUBLE", "the exchange's liquidation price of this position at the wallet's latest "
               "account poll (account_positions), when that poll holds it on the same side; null otherwise"),
        Column("liq_dist", "DOUBLE", "|mark − liq_px| / mark: how far the price must move to liquidate it"),
        Column("skill_confidence", "DOUBLE", "P(edge > 0) of the wallet's mark-outs (wallet_features)"),
    ),
)


def build_leaderboards(con: duckdb.DuckDBPyConnection) -> dict:
    con.execute(f"CREATE OR REPLACE VIEW leaderboards AS {LEADERBOARDS_VIEW.view_sql}")
    rows = dict(con.execute("SELECT period, count(*) FROM leaderboards GROUP BY period").fetchall())
    return {"rows_per_period": {w: int(rows.get(w, 0)) for w, _ in WINDOWS}}


def build_positioning(con: duckdb.DuckDBPyConnection) -> dict:
    """Rebuild ``coin_positioning``: per (wallet, coin) the position at each hour end with a fill, turned into
    per-(coin, cohort) deltas of long/short base units and wallets, summed over a full hour grid. Sizes are
    summed as DECIMAL: exact, so a flat cohort reads 0 (not float residue) and every run gives the same
    numbers whatever the order of the parallel sums."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _pos_hours AS
        WITH q AS (SELECT wallet, coin, time_ms - time_ms % {_HOUR_MS} AS hour_ms,
                          sum((side_sign * sz)::DECIMAL(38, 12)) FILTER (WHERE wallet <> counterparty) AS dq
                   FROM fills GROUP BY ALL),
             p AS (SELECT q.wallet, q.coin, q.hour_ms,
                          coalesce(w.seeded_position, 0)::DECIMAL(38, 12)
                          + sum(coalesce(q.dq, 0)) OVER (PARTITION BY q.wallet, q.coin ORDER BY q.hour_ms) AS position
                   FROM q LEFT JOIN wallet_positions w USING (wallet, coin))
        SELECT wallet, coin, hour_ms,
               CASE WHEN abs(position) < 1e-9 THEN 0 ELSE position END AS position,
               CASE WHEN abs(lag(position) OVER w) < 1e-9 THEN 0 ELSE coalesce(lag(position) OVER w, 0) END AS before
        FROM p WINDOW w AS (PARTITION BY wallet, coin ORDER BY hour_ms)""")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _pos_marks AS {_marks_sql('TRUE')}")
    con.execute(f"""
        CREATE OR REPLACE TABLE coin_positioning AS
        WITH cohorts AS (SELECT wallet, 'size' AS cohort_kind, coalesce(size_cohort, 'unclassified') AS cohort
                         FROM wallet_categories
                         UNION ALL
                         SELECT wallet, 'pnl', coalesce(pnl_cohort, 'unclassified') FROM wallet_categories),
             d AS (SELECT h.coin, c.cohort_kind, c.cohort, h.hour_ms,
                          sum(greatest(h.position, 0) - greatest(h.before, 0)) AS d_long,
                          sum(greatest(-h.position, 0) - greatest(-h.before, 0)) AS d_short,
                          sum((h.position > 0)::INT - (h.before > 0)::INT) AS d_long_w,
                          sum((h.position < 0)::INT - (h.before < 0)::INT) AS d_short_w
                   FROM _pos_hours h JOIN cohorts c USING (wallet) GROUP BY ALL),
             span AS (SELECT min(hour_ms) AS lo,
                             greatest(max(hour_ms), (SELECT max(hour_ms) FROM _pos_marks)) AS hi FROM _pos_hours),
             grid AS (SELECT k.coin, k.cohort_kind, k.cohort, g.hour_ms
                      FROM (SELECT DISTINCT coin, cohort_kind, cohort FROM d) k,
                           span, range(span.lo, span.hi + 1, {_HOUR_MS}) g(hour_ms)),
             run AS (SELECT g.*, sum(coalesce(d.d_long, 0)) OVER w AS long_base,
                            sum(coalesce(d.d_short, 0)) OVER w AS short_base,
                            sum(coalesce(d.d_long_w, 0)) OVER w AS long_wallets,
                            sum(coalesce(d.d_short_w, 0)) OVER w AS short_wallets
                     FROM grid g LEFT JOIN d USING (coin, cohort_kind, cohort, hour_ms)
                     WINDOW w AS (PARTITION BY g.coin, g.cohort_kind, g.cohort ORDER BY g.hour_ms))
        SELECT epoch_ms(r.hour_ms) AS hour, r.coin, r.cohort_kind, r.cohort,
               (greatest(r.long_base, 0) * coalesce(m.mid, 0))::DOUBLE AS long_notional,
               (greatest(r.short_base, 0) * coalesce(m.mid, 0))::DOUBLE AS short_notional,
               r.long_wallets::BIGINT AS long_wallets, r.short_wallets::BIGINT AS short_wallets, m.mid AS mark
        FROM run r ASOF LEFT JOIN _pos_marks m ON r.coin = m.coin AND r.hour_ms >= m.hour_ms
        ORDER BY r.coin, r.cohort_kind, r.cohort, r.hour_ms""")
    con.execute("DROP TABLE IF EXISTS _pos_hours")
    con.execute("DROP TABLE IF EXISTS _pos_marks")
    rows, coins, hours = con.execute(
        "SELECT count(*), count(DISTINCT coin), count(DISTINCT hour) FROM coin_positioning").fetchall()[0]
    return {"rows": int(rows), "coins": int(coins), "hours": int(hours)}


def build_holders(con: duckdb.DuckDBPyConnection) -> dict:
    con.execute(f"""
        CREATE OR REPLACE TABLE coin_holders AS
        WITH open AS (SELECT wallet, coin, position, avg_cost, unrealized_pnl, last_mid,
                             abs(position) * coalesce(last_mid, avg_cost) AS notional
                      FROM wallet_positions WHERE position <> 0),
             oi AS (SELECT coin, sum(notional) / 2 AS oi FROM open GROUP BY coin),
             polled AS (SELECT wallet, max(time_ms) AS time_ms FROM account_state GROUP BY wallet),
             liq AS (SELECT a.wallet, a.coin, a.size, a.liquidation_px, a.mark_px
                     FROM account_positions a JOIN polled USING (wallet, time_ms))
        SELECT o.coin, row_number() OVER (PARTITION BY o.coin ORDER BY o.notional DESC, o.wallet) AS rank,
               o.wallet, CASE WHEN o.position > 0 THEN 'long' ELSE 'short' END AS side,
               abs(o.position)::DOUBLE AS size, o.notional::DOUBLE AS notional, o.avg_cost::DOUBLE AS entry_px,
               o.last_mid AS mark, o.unrealized_pnl::DOUBLE AS unrealized_pnl,
               CASE WHEN oi.oi > 0 THEN o.notional / oi.oi ELSE 0 END::DOUBLE AS share_of_open_interest,
               c.primary_category, c.size_cohort, l.liquidation_px AS liq_px,
               CASE WHEN coalesce(o.last_mid, l.mark_px) > 0
                    THEN abs(coalesce(o.last_mid, l.mark_px) - l.liquidation_px) / coalesce(o.last_mid, l.mark_px)
               END AS liq_dist, sk.skill_confidence
        FROM open o JOIN oi USING (coin) LEFT JOIN wallet_categories c USING (wallet)
        LEFT JOIN wallet_features sk ON sk.wallet = o.wallet
        LEFT JOIN liq l ON l.wallet = o.wallet AND l.coin = o.coin AND sign(l.size) = sign(o.position)
        QUALIFY rank <= {HOLDERS_PER_COIN}
        ORDER BY o.coin, rank""")
    rows, coins = con.execute("SELECT count(*), count(DISTINCT coin) FROM coin_holders").fetchall()[0]
    return {"rows": int(rows), "coins": int(coins)}


def _run(con: duckdb.DuckDBPyConnection, ctx: StepContext) -> dict:
    return {"leaderboards": build_leaderboards(con), "coin_positioning": build_positioning(con),
            "coin_holders": build_holders(con)}


STEP = Step(
    name="trader_views",
    description="Leaderboards by window, positioning by cohort per coin and hour, the largest holders per coin.",
    reads=("wallet_pnl_hourly", "wallet_positions", "fills", "trades", "bbo", "l2_snapshots", "exchange_fills",
           "wallet_categories", "wallet_features", "account_state", "account_positions"),
    writes=(LEADERBOARDS_VIEW, POSITIONING_TABLE, HOLDERS_TABLE), run=_run,
)
