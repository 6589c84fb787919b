"""wallet_positions, wallet_pnl and wallet_pnl_hourly (SPEC §8).

DuckDB sorts the window's fills by (coin, wallet, time, tid) and hands numeric arrays to the
vectorized average-cost pass in :mod:`avgcost`; the results go back into DuckDB, where marking
(last mid per coin), per-wallet aggregation, the hourly curve and its drawdown are SQL.

Self-trades (buyer == seller) are left out of the accounting: their two legs cancel for the
wallet (no position, no PnL), but they still count in ``fills`` and ``notional``. The position
before the window's first fill is unknown and taken as 0 — unless the node archives hold that fill
(``exchange_fills``): then the history is seeded from the exchange's ``startPosition`` at the first
fill's price (cost basis unknown, so PnL on the seeded part counts from that price) and flagged.
Fees, builder fees and liquidations come from ``exchange_fills`` too (the live trade feed has none):
``fee`` is the fill's total fee including the builder's part, negative for a rebate; a fee in a
stablecoin counts 1:1, a fee in another token (spot buys pay in the bought token) at the fill price.
Mark price of a coin: the mid of its last BBO row before the window end; when the coin has no BBO,
the last L2 mid; when it has neither, the last trade price.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from hypertrack_pipeline.catalog import Column, Step, StepContext, Table
from hypertrack_pipeline.warehouse.avgcost import average_cost
from hypertrack_pipeline.warehouse.loading import loaded_versions
from hypertrack_pipeline.warehouse.window import check_identifier, window_sql

_HOUR_MS = 3_600_000
_DAY_MS = 24 * _HOUR_MS

POSITIONS_TABLE = Table("wallet_positions", "Per wallet and coin: average-cost position at the end of the PnL "
                        "window (SPEC §8).", (
    Column("wallet", "VARCHAR NOT NULL", "address, lowercase hex"),
    Column("coin", "VARCHAR NOT NULL", "market, e.g. BTC"),
    Column("position", "DOUBLE NOT NULL", "signed base units (+ long, - short); before the first fill: the "
           "exchange's startPosition when archived (seeded_position), else 0"),
    Column("avg_cost", "DOUBLE NOT NULL", "average entry price of the open position, USD (0 when flat)"),
    Column("realized_pnl", "DOUBLE NOT NULL", "USD, no fees"),
    Column("unrealized_pnl", "DOUBLE NOT NULL", "position * (last_mid - avg_cost), USD"),
    Column("last_mid", "DOUBLE", "mark price: last BBO mid (fallback: last L2 mid, then last trade px)"),
    Column("fills", "BIGINT NOT NULL", "fills of the wallet in this coin (self-trades included)"),
    Column("notional", "DOUBLE NOT NULL", "USD traded (self-trades included)"),
    Column("seeded_position", "DOUBLE NOT NULL", "the exchange's position before our first fill (0: started flat "
           "or unknown); ≠ 0: history starts mid-position, cost basis taken at that fill's price"),
))

PNL_TABLE = Table("wallet_pnl", "Per wallet PnL summary (SPEC §8).", (
    Column("wallet", "VARCHAR NOT NULL", "address, lowercase hex"),
    Column("realized_pnl", "DOUBLE NOT NULL", "USD"),
    Column("unrealized_pnl", "DOUBLE NOT NULL", "USD"),
    Column("total_pnl", "DOUBLE NOT NULL", "realized + unrealized, USD"),
    Column("notional", "DOUBLE NOT NULL", "USD traded"),
    Column("pnl_per_notional", "DOUBLE NOT NULL", "total_pnl / notional"),
    Column("win_rate", "DOUBLE NOT NULL", "share of closing fills with realized PnL > 0 (0 when none)"),
    Column("closing_fills", "BIGINT NOT NULL", "fills that reduced, closed or flipped a position"),
    Column("max_drawdown", "DOUBLE NOT NULL",
           "USD, largest fall of the hourly cum_total_pnl from its running peak (start 0)"),
    Column("peak_position_notional", "DOUBLE NOT NULL", "USD, max over coins and fills of abs(position) * fill px"),
    Column("coins", "BIGINT NOT NULL", "coins traded"),
    Column("fees", "DOUBLE NOT NULL", "USD fees paid, builder fees included, rebates negative (archive fills only)"),
    Column("builder_fees", "DOUBLE NOT NULL", "USD paid to builders (part of fees)"),
    Column("net_pnl", "DOUBLE NOT NULL", "total_pnl − fees, USD"),
    Column("fee_fills", "BIGINT NOT NULL", "fills with a known fee (from the node archives); 0: net = gross"),
    Column("liquidations", "BIGINT NOT NULL", "fills that liquidated this wallet"),
    Column("liquidation_notional", "DOUBLE NOT NULL", "USD notional of those fills"),
    Column("seeded_coins", "BIGINT NOT NULL", "coins whose history starts mid-position (see wallet_positions)"),
))

# Fee tokens valued 1:1 in USD; any other fee token is the fill's base token (spot buys), valued at px.
STABLE_FEE_TOKENS: tuple[str, ...] = ("USDC", "USDT0", "USDT", "USDH", "USDE", "USDHL", "FEUSD", "USR")
_STABLES_SQL = ", ".join(f"'{t}'" for t in STABLE_FEE_TOKENS)


def fee_usd_sql(alias: str = "") -> str:
    """SQL: an archive fill's fee in USD — a stablecoin fee 1:1, a fee in another token at the fill price."""
    p = f"{alias}." if alias else ""
    return f"CASE WHEN {p}fee_token IS NULL OR {p}fee_token IN ({_STABLES_SQL}) THEN {p}fee ELSE {p}fee * {p}px END"


def base_token_fee_sql(alias: str = "") -> str:
    """SQL: the fee an archive fill paid in its own base token (a spot buy's), in base units; else 0."""
    p = f"{alias}." if alias else ""
    return f"CASE WHEN {p}fee_token NOT IN ({_STABLES_SQL}) THEN coalesce({p}fee, 0) ELSE 0 END"

# Leaderboard periods that end at the newest hour (warehouse/trader_views.py): the curve holds their start points.
LEADERBOARD_HOURS: tuple[int, ...] = (24, 24 * 7, 24 * 30)

PNL_HOURLY_TABLE = Table("wallet_pnl_hourly", "Hourly PnL curve per wallet: one row per hour with a fill of the "
                         "wallet, plus the window's last hour and the hours 24, 168 and 720 before it (where the "
                         "wallet already traded: the leaderboards' start points).", (
    Column("wallet", "VARCHAR NOT NULL", "address, lowercase hex"),
    Column("hour", "TIMESTAMP NOT NULL", "UTC hour start; values are as of the end of that hour"),
    Column("cum_realized_pnl", "DOUBLE NOT NULL", "USD"),
    Column("cum_total_pnl", "DOUBLE NOT NULL", "USD, open positions marked at each coin's last mid of that hour"),
))

# What the PnL build reads: fills (the view over trades) and the marks (BBO, else L2, else the last trade).
PNL_READS: tuple[str, ...] = ("fills", "trades", "bbo", "l2_snapshots", "exchange_fills")


def _marks_sql(win: str) -> str:
    """(coin, hour_ms, mid): each coin's last mark in each hour — the last BBO mid of that coin-hour, else its
    last L2 mid, else its last trade price (decided per coin-hour, so an hour's marks depend on that hour only)."""
    return f"""
    WITH b AS (SELECT coin, time_ms - time_ms % {_HOUR_MS} AS hour_ms, arg_max(mid, time_ms) AS mid
               FROM bbo WHERE mid IS NOT NULL AND {win} GROUP BY ALL),
         l AS (SELECT coin, time_ms - time_ms % {_HOUR_MS} AS hour_ms, arg_max(mid, time_ms) AS mid
               FROM l2_snapshots WHERE mid IS NOT NULL AND {win} GROUP BY ALL),
         t AS (SELECT coin, time_ms - time_ms % {_HOUR_MS} AS hour_ms, arg_max(px, (time_ms, tid)) AS mid
               FROM trades WHERE {win} GROUP BY ALL)
    SELECT * FROM b
    UNION ALL SELECT * FROM l WHERE (coin, hour_ms) NOT IN (SELECT coin, hour_ms FROM b)
    UNION ALL SELECT * FROM t WHERE (coin, hour_ms) NOT IN (SELECT coin, hour_ms FROM b UNION ALL SELECT coin, hour_ms FROM l)
    """


def _fees_sql(win: str) -> str:
    """Per wallet from the archive fills: fees and builder fees in USD, fills with a fee, liquidations."""
    return f"""SELECT wallet,
            sum({fee_usd_sql()}) AS fees,
            sum(builder_fee) AS builder_fees,  -- builder codes are paid in USDC
            count(fee) AS fee_fills,
            count(*) FILTER (WHERE liquidated_user = wallet) AS liquidations,
            sum(px * sz) FILTER (WHERE liquidated_user = wallet) AS liquidation_notional
        FROM exchange_fills WHERE {win} GROUP BY wallet"""


def _seed_sql(win: str) -> str:
    """One seed row per (wallet, coin) whose history starts mid-position: the exchange's position before the
    group's first archived trade fill in the window (exchange order), when that fill's millisecond is also
    the first of the group's fills (nothing recorded before it), bought at that fill's price. A group that
    continues a carried state (``_pnl_carry``) has a history already: never seeded."""
    return f"""
        SELECT g.gid, e.time_ms - e.time_ms % {_HOUR_MS} AS hour_ms, e.seed AS qty, e.px, 0 AS ord,
               e.time_ms, 0::BIGINT AS tid
        FROM (SELECT wallet, coin, min(time_ms) AS time_ms, arg_min(start_position, (time_ms, seq, tid)) AS seed,
                     arg_min(px, (time_ms, seq, tid)) AS px
              FROM exchange_fills WHERE {win} AND tid <> 0 GROUP BY wallet, coin) e
        JOIN _pnl_groups g USING (wallet, coin)
        WHERE e.seed <> 0 AND e.time_ms = g.first_ms
          AND NOT EXISTS (SELECT 1 FROM _pnl_carry c WHERE c.wallet = g.wallet AND c.coin = g.coin)"""


# Per (wallet, coin, hour with a fill): the average-cost state at the end of the hour and what the hour added.
_STATE_COLUMNS = {"wallet": "VARCHAR", "coin": "VARCHAR", "hour_ms": "BIGINT", "position": "DOUBLE",
                  "avg_cost": "DOUBLE", "cum_realized": "DOUBLE", "closing": "BIGINT", "wins": "BIGINT",
                  "peak": "DOUBLE", "seed": "DOUBLE"}


def _accounting_pass(con: duckdb.DuckDBPyConnection, win: str) -> pa.Table:
    """The average-cost pass over the fills in ``win``: per (wallet, coin, hour) the state after the hour's
    last fill and the hour's closing fills, wins and peak position value. Each group continues from its row
    in ``_pnl_carry`` (position, average cost and realized PnL before the window; empty for a full build):
    the carried position enters as a first fill at its own average cost, which leaves the average, the
    realized PnL and every later fill exactly as a pass over the whole history would."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _pnl_groups AS
        SELECT row_number() OVER (ORDER BY coin, wallet) - 1 AS gid, coin, wallet, first_ms
        FROM (SELECT coin, wallet, min(time_ms) AS first_ms FROM fills WHERE {win} GROUP BY coin, wallet)""")
    src = con.execute(f"""
        SELECT g.gid, c.hour_ms, c.position AS qty, c.avg_cost AS px, -1 AS ord, 0::BIGINT AS time_ms, 0::BIGINT AS tid
        FROM _pnl_carry c JOIN _pnl_groups g USING (wallet, coin)
        UNION ALL
        SELECT gid, hour_ms, qty, px, ord, time_ms, tid FROM ({_seed_sql(win)})
        UNION ALL
        SELECT g.gid, f.time_ms - f.time_ms % {_HOUR_MS}, f.side_sign * f.sz, f.px, 1, f.time_ms, f.tid
        FROM fills f JOIN _pnl_groups g USING (coin, wallet)
        WHERE {win.replace('time_ms', 'f.time_ms')} AND f.wallet <> f.counterparty
        ORDER BY gid, ord, time_ms, tid""").fetchnumpy()
    gid = np.asarray(src["gid"], dtype=np.int64)
    hour_ms = np.asarray(src["hour_ms"], dtype=np.int64)
    px = np.asarray(src["px"], dtype=np.float64)
    qty = np.asarray(src["qty"], dtype=np.float64)
    ord_ = np.asarray(src["ord"], dtype=np.int64)
    carried, is_seed = ord_ < 0, ord_ == 0
    n = len(gid)
    starts = np.ones(n, dtype=bool)
    starts[1:] = gid[1:] != gid[:-1]
    res = average_cost(starts, qty, px)
    first = np.flatnonzero(starts)
    cum_realized = np.cumsum(res.realized)  # per group: subtract the group's starting offset below
    offset = np.where(first > 0, cum_realized[np.maximum(first - 1, 0)], 0.0)
    cum_realized = cum_realized - np.repeat(offset, np.diff(np.append(first, n)))
    carry_realized = con.execute("""SELECT g.gid, c.cum_realized FROM _pnl_carry c
                                    JOIN _pnl_groups g USING (wallet, coin)""").fetchnumpy()
    base = np.zeros(len(first))
    base[np.searchsorted(gid[first], np.asarray(carry_realized["gid"], dtype=np.int64))] = \
        np.asarray(carry_realized["cum_realized"], dtype=np.float64)
    cum_realized += np.repeat(base, np.diff(np.append(first, n)))
    # one segment per (group, hour) of the window's own rows (a carried row is the state before it)
    own = ~carried
    seg_start = own.copy()
    seg_start[1:] &= (gid[1:] != gid[:-1]) | (hour_ms[1:] != hour_ms[:-1]) | carried[:-1]
    seg = np.cumsum(seg_start) - 1
    last = np.flatnonzero(own & np.append((gid[1:] != gid[:-1]) | (hour_ms[1:] != hour_ms[:-1]), True))
    rows, segs = np.flatnonzero(own), seg[own]
    n_seg = int(seg_start.sum())
    value = np.abs(res.position) * px
    peak = np.full(n_seg, -np.inf)
    np.maximum.at(peak, segs, value[rows])
    names = con.execute("SELECT gid, wallet, coin FROM _pnl_groups ORDER BY gid").fetchnumpy()
    wallet_of, coin_of = np.asarray(names["wallet"], dtype=object), np.asarray(names["coin"], dtype=object)
    g_last = gid[last]
    return pa.table({
        "wallet": pa.array(wallet_of[g_last].tolist(), pa.string()), "coin": pa.array(coin_of[g_last].tolist(), pa.string()),
        "hour_ms": hour_ms[last], "position": res.position[last], "avg_cost": res.avg_cost[last],
        "cum_realized": cum_realized[last],
        "closing": np.bincount(segs, res.closing[rows].astype(np.int64), minlength=n_seg).astype(np.int64),
        "wins": np.bincount(segs, (res.realized[rows] > 0).astype(np.int64), minlength=n_seg).astype(np.int64),
        "peak": peak,
        "seed": np.bincount(segs, np.where(is_seed[rows], qty[rows], 0.0), minlength=n_seg),
    })


def _fill_hours_sql(win: str) -> str:
    """Per (wallet, coin, hour): fills (self-trades included), notional and the first fill's time."""
    return f"""SELECT wallet, coin, time_ms - time_ms % {_HOUR_MS} AS hour_ms, count(*) AS fills,
                      sum(notional) AS notional, min(time_ms) AS first_ms
               FROM fills WHERE {win} GROUP BY ALL"""


_EMPTY_CARRY = "SELECT NULL::VARCHAR AS wallet, NULL::VARCHAR AS coin, NULL::BIGINT AS hour_ms, NULL::DOUBLE AS position, " \
               "NULL::DOUBLE AS avg_cost, NULL::DOUBLE AS cum_realized WHERE FALSE"


def build_wallet_pnl(con: duckdb.DuckDBPyConnection, start_ms: int | None = None, end_ms: int | None = None,
                     prefix: str = "") -> dict:
    """Rebuild {prefix}wallet_positions, {prefix}wallet_pnl and {prefix}wallet_pnl_hourly for the window
    [start_ms, end_ms) (default: all data) in one pass; returns row counts and totals as metadata."""
    prefix = check_identifier(prefix)
    win = window_sql(start_ms, end_ms)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _pnl_carry AS {_EMPTY_CARRY}")
    try:
        con.register("_pnl_pass", _accounting_pass(con, win))
        con.execute("CREATE OR REPLACE TEMP TABLE _pnl_state_rows AS SELECT * FROM _pnl_pass")
        con.unregister("_pnl_pass")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _pnl_fill_rows AS {_fill_hours_sql(win)}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _pnl_mark_rows AS {_marks_sql(win)}")
        _finish(con, prefix, win, "_pnl_state_rows", "_pnl_fill_rows", "_pnl_mark_rows")
    finally:
        for t in ("_pnl_carry", "_pnl_state_rows", "_pnl_fill_rows", "_pnl_mark_rows"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    return _summary(con, prefix)


def _finish(con: duckdb.DuckDBPyConnection, prefix: str, win: str, states: str, fills: str, marks: str) -> None:
    """The output tables from per-hour state rows, fill rows and marks (the whole history's)."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _pnl_groups AS
        SELECT row_number() OVER (ORDER BY coin, wallet) - 1 AS gid, coin, wallet, fills, notional, first_ms
        FROM (SELECT coin, wallet, sum(fills) AS fills, sum(notional) AS notional, min(first_ms) AS first_ms
              FROM {fills} GROUP BY coin, wallet)""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _pnl_states AS
                    SELECT g.gid, s.hour_ms, s.position, s.avg_cost, s.cum_realized
                    FROM {states} s JOIN _pnl_groups g USING (wallet, coin)""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _pnl_per_group AS
                    SELECT g.gid, sum(s.seed) AS seed, sum(s.closing) AS closing_fills, sum(s.wins) AS wins,
                           max(s.peak) AS peak_notional
                    FROM {states} s JOIN _pnl_groups g USING (wallet, coin) GROUP BY g.gid""")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _pnl_marks AS SELECT coin, hour_ms, mid FROM {marks}")
    try:
        _write_tables(con, prefix, win)
    finally:
        for t in ("_pnl_groups", "_pnl_states", "_pnl_per_group", "_pnl_marks"):
            con.execute(f"DROP TABLE IF EXISTS {t}")


def _write_tables(con: duckdb.DuckDBPyConnection, prefix: str, win: str) -> None:
    last_hour = con.execute("""SELECT max(h) FROM (
        SELECT max(hour_ms) AS h FROM _pnl_states UNION ALL SELECT max(hour_ms) FROM _pnl_marks)""").fetchall()[0][0]
    con.execute(f"""
        CREATE OR REPLACE TABLE {prefix}wallet_positions AS
        WITH last_state AS (SELECT gid, arg_max(position, hour_ms) AS position,
                                   arg_max(avg_cost, hour_ms) AS avg_cost,
                                   arg_max(cum_realized, hour_ms) AS realized
                            FROM _pnl_states GROUP BY gid),
             last_mid AS (SELECT coin, arg_max(mid, hour_ms) AS mid FROM _pnl_marks GROUP BY coin)
        SELECT g.wallet, g.coin,
               coalesce(s.position, 0)::DOUBLE AS position,
               CASE WHEN coalesce(s.position, 0) = 0 THEN 0 ELSE s.avg_cost END::DOUBLE AS avg_cost,
               coalesce(s.realized, 0)::DOUBLE AS realized_pnl,
               CASE WHEN coalesce(s.position, 0) = 0 THEN 0
                    ELSE s.position * (m.mid - s.avg_cost) END::DOUBLE AS unrealized_pnl,
               m.mid AS last_mid, g.fills::BIGINT AS fills, g.notional::DOUBLE AS notional,
               coalesce(p.seed, 0)::DOUBLE AS seeded_position
        FROM _pnl_groups g LEFT JOIN last_state s USING (gid) LEFT JOIN last_mid m USING (coin)
        LEFT JOIN _pnl_per_group p USING (gid)
        ORDER BY g.wallet, g.coin""")
    # Hourly curve: every (wallet, hour with a fill) plus the window's last hour and the leaderboard
    # boundaries before it (24 h, 7 d, 30 d), each coin's state carried forward (ASOF) and marked at that
    # coin's last mid as of that hour.
    last = last_hour
    boundaries = ", ".join(f"({(last or 0) - h * _HOUR_MS})" for h in LEADERBOARD_HOURS)
    con.execute(f"""
        CREATE OR REPLACE TABLE {prefix}wallet_pnl_hourly AS
        WITH sg AS (SELECT s.*, g.wallet, g.coin FROM _pnl_states s JOIN _pnl_groups g USING (gid)),
             grid_hours AS (SELECT DISTINCT wallet, hour_ms FROM sg
                            UNION SELECT DISTINCT wallet, {last if last is not None else 0}::BIGINT FROM sg
                            UNION SELECT DISTINCT sg.wallet, b.h FROM sg, (VALUES {boundaries}) b(h)
                            WHERE b.h >= sg.hour_ms),
             grid AS (SELECT h.wallet, h.hour_ms, c.gid, c.coin
                      FROM grid_hours h JOIN (SELECT DISTINCT wallet, gid, coin FROM sg) c USING (wallet)),
             carried AS (SELECT grid.wallet, grid.hour_ms, grid.coin, s.position, s.avg_cost, s.cum_realized
                         FROM grid ASOF JOIN _pnl_states s
                           ON grid.gid = s.gid AND grid.hour_ms >= s.hour_ms),
             marked AS (SELECT c.*, m.mid FROM carried c ASOF LEFT JOIN _pnl_marks m
                          ON c.coin = m.coin AND c.hour_ms >= m.hour_ms)
        SELECT wallet, epoch_ms(hour_ms) AS hour,
               sum(cum_realized)::DOUBLE AS cum_realized_pnl,
               sum(cum_realized + CASE WHEN position = 0 THEN 0
                                       ELSE position * (coalesce(mid, avg_cost) - avg_cost) END)::DOUBLE
                   AS cum_total_pnl
        FROM marked GROUP BY wallet, hour_ms ORDER BY wallet, hour_ms""")
    con.execute(f"""
        CREATE OR REPLACE TABLE {prefix}wallet_pnl AS
        WITH pos AS (SELECT wallet, sum(realized_pnl) AS realized_pnl, sum(unrealized_pnl) AS unrealized_pnl,
                            sum(notional) AS notional, count(*) AS coins,
                            count(*) FILTER (WHERE seeded_position <> 0) AS seeded_coins
                     FROM {prefix}wallet_positions GROUP BY wallet),
             fee AS ({_fees_sql(win)}),
             grp AS (SELECT g.wallet, sum(p.closing_fills) AS closing_fills, sum(p.wins) AS wins,
                            max(p.peak_notional) AS peak
                     FROM _pnl_groups g JOIN _pnl_per_group p USING (gid) GROUP BY g.wallet),
             dd AS (SELECT wallet, max(greatest(peak, 0) - cum_total_pnl) AS max_drawdown
                    FROM (SELECT wallet, cum_total_pnl,
                                 max(cum_total_pnl) OVER (PARTITION BY wallet ORDER BY hour
                                                         ROWS UNBOUNDED PRECEDING) AS peak
                          FROM {prefix}wallet_pnl_hourly) GROUP BY wallet)
        SELECT pos.wallet, pos.realized_pnl::DOUBLE AS realized_pnl, pos.unrealized_pnl::DOUBLE AS unrealized_pnl,
               (pos.realized_pnl + pos.unrealized_pnl)::DOUBLE AS total_pnl, pos.notional::DOUBLE AS notional,
               CASE WHEN pos.notional > 0 THEN (pos.realized_pnl + pos.unrealized_pnl) / pos.notional
                    ELSE 0 END::DOUBLE AS pnl_per_notional,
               CASE WHEN coalesce(grp.closing_fills, 0) > 0 THEN grp.wins / grp.closing_fills
                    ELSE 0 END::DOUBLE AS win_rate,
               coalesce(grp.closing_fills, 0)::BIGINT AS closing_fills,
               greatest(coalesce(dd.max_drawdown, 0), 0)::DOUBLE AS max_drawdown,
               coalesce(grp.peak, 0)::DOUBLE AS peak_position_notional, pos.coins::BIGINT AS coins,
               coalesce(fee.fees, 0)::DOUBLE AS fees, coalesce(fee.builder_fees, 0)::DOUBLE AS builder_fees,
               (pos.realized_pnl + pos.unrealized_pnl - coalesce(fee.fees, 0))::DOUBLE AS net_pnl,
               coalesce(fee.fee_fills, 0)::BIGINT AS fee_fills, coalesce(fee.liquidations, 0)::BIGINT AS liquidations,
               coalesce(fee.liquidation_notional, 0)::DOUBLE AS liquidation_notional,
               pos.seeded_coins::BIGINT AS seeded_coins
        FROM pos LEFT JOIN grp USING (wallet) LEFT JOIN dd USING (wallet) LEFT JOIN fee USING (wallet)
        ORDER BY pos.wallet""")


# The accounting state kept between runs (internal): what makes a new hour cost the hour, not the history.
_STATE_DOCS = {"wallet": "address, lowercase hex", "coin": "market", "hour_ms": "UTC hour start, epoch ms",
               "position": "signed base units after the hour's last fill", "avg_cost": "average entry price then, USD",
               "cum_realized": "realized PnL of the group up to the end of the hour, USD (no fees)",
               "closing": "fills of the hour that reduced, closed or flipped the position",
               "wins": "closing fills of the hour with realized PnL > 0",
               "peak": "largest abs(position) * fill px in the hour, USD",
               "seed": "the exchange's position before the group's first archived fill (its first hour only)"}
PNL_STATE_TABLES: tuple[Table, ...] = (
    Table("pnl_state_hours", "Internal: per wallet, coin and hour with a fill, the average-cost state after the "
          "hour and what the hour added (wallet_pnl resumes from it).", tuple(
              Column(name, f"{dtype} NOT NULL" if name in ("wallet", "coin", "hour_ms") else dtype, _STATE_DOCS[name])
              for name, dtype in _STATE_COLUMNS.items()), internal=True),
    Table("pnl_fill_hours", "Internal: per wallet, coin and hour, fills (self-trades included) and notional.", (
        Column("wallet", "VARCHAR NOT NULL", "address, lowercase hex"), Column("coin", "VARCHAR NOT NULL", "market"),
        Column("hour_ms", "BIGINT NOT NULL", "UTC hour start, epoch ms"), Column("fills", "BIGINT", "fills in the hour"),
        Column("notional", "DOUBLE", "USD traded in the hour"), Column("first_ms", "BIGINT", "the hour's first fill, epoch ms")),
          internal=True),
    Table("pnl_marks", "Internal: each coin's mark at the end of each hour (BBO, else L2, else last trade).", (
        Column("coin", "VARCHAR NOT NULL", "market"), Column("hour_ms", "BIGINT NOT NULL", "UTC hour start, epoch ms"),
        Column("mid", "DOUBLE", "the coin-hour's last BBO mid, else last L2 mid, else last trade price")),
          internal=True),
    Table("pnl_state_loads", "Internal: the landing hours (and their versions) the PnL state was computed from.", (
        Column("hour_ms", "BIGINT NOT NULL", "landing hour start, epoch ms"),
        Column("version", "VARCHAR NOT NULL", "landing_loads fingerprint and load time when the state used it")),
          internal=True),
)


def update_wallet_pnl(con: duckdb.DuckDBPyConnection) -> dict:
    """wallet_positions, wallet_pnl and wallet_pnl_hourly over all data, resuming from the stored state.

    The state (PNL_STATE_TABLES) holds, per (wallet, coin, hour), the position, average cost and realized
    PnL after the hour. When hours are loaded (new, or re-loaded with another version) the state from the
    earliest such hour on is dropped and recomputed from the fills of those hours, each group continuing
    from its last state before them: a new hour reads that hour's fills and the state of the groups it
    touches. The outputs are then rebuilt from the state (rows per wallet-hour, not per fill). A warehouse
    whose raw tables were not written by the hourly loader gets a full build."""
    hours = loaded_versions(con)
    if not hours:
        return build_wallet_pnl(con) | {"mode": "full"}
    for t in PNL_STATE_TABLES:
        con.execute(t.ddl())
    stored = dict(con.execute("SELECT hour_ms, version FROM pnl_state_loads").fetchall())
    changed = [h for h, v in hours.items() if stored.get(h) != v] + [h for h in stored if h not in hours]
    info: dict = {"mode": "incremental", "hours_recomputed": len({h for h in changed if h in hours})}
    if changed:
        start = min(changed)
        con.execute("BEGIN TRANSACTION")
        try:
            for t in ("pnl_state_hours", "pnl_fill_hours", "pnl_marks"):
                con.execute(f"DELETE FROM {t} WHERE hour_ms >= {start}")
            # a UTC day at a time, each continuing from the state the previous one left: memory is bounded
            # by a day's fills however long the history being (re)computed
            for day in sorted({h - h % _DAY_MS for h in hours if h >= start - start % _DAY_MS}):
                _resume(con, window_sql(max(day, start), day + _DAY_MS))
            con.execute("DELETE FROM pnl_state_loads")
            con.executemany("INSERT INTO pnl_state_loads VALUES (?, ?)", sorted(hours.items()))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        info["from_hour_ms"] = start
    _finish(con, "", "TRUE", "pnl_state_hours", "pnl_fill_hours", "pnl_marks")
    return _summary(con, "") | info


def _resume(con: duckdb.DuckDBPyConnection, win: str) -> None:
    """Append the state rows, fill rows and marks of the fills in ``win``, each group continuing from its last
    stored state before it."""
    con.execute("""CREATE OR REPLACE TEMP TABLE _pnl_carry AS
                   SELECT wallet, coin, max(hour_ms) AS hour_ms, arg_max(position, hour_ms) AS position,
                          arg_max(avg_cost, hour_ms) AS avg_cost, arg_max(cum_realized, hour_ms) AS cum_realized
                   FROM pnl_state_hours GROUP BY wallet, coin""")
    try:
        con.register("_pnl_pass", _accounting_pass(con, win))
        con.execute(f"INSERT INTO pnl_state_hours SELECT {', '.join(_STATE_COLUMNS)} FROM _pnl_pass")
        con.unregister("_pnl_pass")
        con.execute(f"INSERT INTO pnl_fill_hours {_fill_hours_sql(win)}")
        con.execute(f"INSERT INTO pnl_marks {_marks_sql(win)}")
    finally:
        con.execute("DROP TABLE IF EXISTS _pnl_carry")


def _summary(con: duckdb.DuckDBPyConnection, prefix: str) -> dict:
    rows = {t: con.execute(f"SELECT count(*) FROM {prefix}{t}").fetchall()[0][0]
            for t in ("wallet_positions", "wallet_pnl", "wallet_pnl_hourly")}
    realized, unrealized = con.execute(
        f"SELECT coalesce(sum(realized_pnl), 0), coalesce(sum(unrealized_pnl), 0) FROM {prefix}wallet_pnl"
    ).fetchall()[0]
    return {"rows": rows, "wallets": rows["wallet_pnl"], "sum_realized_pnl": float(realized),
            "sum_unrealized_pnl": float(unrealized)}


def _run(con: duckdb.DuckDBPyConnection, ctx: StepContext) -> dict:
    return update_wallet_pnl(con)


STEP = Step(
    name="wallet_pnl_tables",
    description="Average-cost position accounting over every fill (SPEC §8): positions, PnL, hourly curve.",
    reads=PNL_READS, writes=(POSITIONS_TABLE, PNL_TABLE, PNL_HOURLY_TABLE, *PNL_STATE_TABLES), run=_run,
)
