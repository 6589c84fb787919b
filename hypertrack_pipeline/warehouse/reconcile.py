"""Exchange-verified PnL: reconcile our position accounting with the node archives' own numbers.

Every archive fill carries the exchange's ``startPosition`` (the wallet's position in the coin before
the fill) and ``closedPnl`` (PnL the fill realized, before fees). Per ``(wallet, coin)``, in exchange
order (``time_ms``, then ``seq``: trade ids are not monotonic inside a block), we check:

- **positions**: the position we reconstruct before each fill (the previous ``startPosition`` plus the
  previous fill's signed size, less a spot buy's fee when it is paid in the bought token) equals the
  fill's ``startPosition``. A jump is a *break*. It is
  expected, and re-seeds the reconstruction, when the history has a hole (an hour without archive
  fills, or a ``gaps`` row of a missing archive file) or when the coin is spot (balances also move by
  deposits, withdrawals and transfers, which are not fills). Any other break is a **mismatch**.
- **realized PnL**: our average-cost engine (:func:`average_cost`, the one ``wallet_pnl`` uses) run
  over the same fills realizes, fill by fill, what the exchange's ``closedPnl`` says, to 1e-6 relative
  (plus 1e-6 USD per fill: the archive prints rounded decimals).

A history that starts mid-position (first ``startPosition`` ≠ 0) is seeded from it and flagged: its
cost basis is unknown. The first ``closedPnl`` of that position reveals the exchange's average entry
price at that fill (``px − closedPnl / closed size``): the engine restarts there with it, and every
later fill is compared (that one is not: it was used). Fills before it, and seeded histories that never
reduce, stay unverified (``cost_basis_unknown``). Funding is not in fills and is not
verified. Nothing is absorbed: mismatching groups keep their figures and the checks list them.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from hypertrack_pipeline.catalog import Column, Step, StepContext, Table
from hypertrack_pipeline.warehouse.avgcost import average_cost, segmented_cumsum
from hypertrack_pipeline.warehouse.checks import markdown_table
from hypertrack_pipeline.warehouse.pnl import base_token_fee_sql
from hypertrack_pipeline.warehouse.window import window_sql

_HOUR_MS = 3_600_000
POSITION_RTOL = 1e-9  # decimal strings parsed to float: far below any lot size
PNL_RTOL = 1e-6
PNL_ATOL_PER_FILL = 1e-6  # closedPnl is printed rounded (USDC has 6 decimals)


def market_sql(coin: str = "coin") -> str:
    """SQL: 'spot' (``@N`` and ``PURR/USDC``-style pairs), 'dex' (builder perps ``dex:COIN``) or 'perp'."""
    return (f"CASE WHEN {coin} LIKE '@%' OR {coin} LIKE '%/%' THEN 'spot' "
            f"WHEN {coin} LIKE '%:%' THEN 'dex' ELSE 'perp' END")


RECONCILIATION_TABLE = Table(
    "pnl_reconciliation",
    "Per wallet and coin of `exchange_fills`: our reconstructed positions and average-cost realized PnL "
    "against the exchange's startPosition and closedPnl (see README, 'What is verified against the exchange').",
    (
        Column("wallet", "VARCHAR NOT NULL", "address, lowercase hex"),
        Column("coin", "VARCHAR NOT NULL", "market, e.g. BTC, @107, xyz:NVDA"),
        Column("market", "VARCHAR NOT NULL", "perp, spot or dex (builder-deployed perp)"),
        Column("fills", "BIGINT NOT NULL", "archive fills of the wallet in the coin"),
        Column("first_start_position", "DOUBLE NOT NULL",
               "the exchange's position before the first fill; ≠ 0: history starts mid-position (seeded)"),
        Column("seeded", "BOOLEAN NOT NULL", "history starts mid-position: seeded, cost basis unknown at first"),
        Column("position_mismatches", "BIGINT NOT NULL",
               "fills whose startPosition differs from our reconstruction, with no hole or transfer to explain it"),
        Column("transfers", "BIGINT NOT NULL", "spot balance changes between fills (deposits, withdrawals, sends)"),
        Column("gap_resets", "BIGINT NOT NULL", "jumps across hours without archive data (re-seeded)"),
        Column("max_position_error", "DOUBLE NOT NULL", "largest |ours − startPosition| among the mismatches"),
        Column("checked_fills", "BIGINT NOT NULL", "fills whose realized PnL was compared (cost basis known)"),
        Column("realized_ours", "DOUBLE NOT NULL", "our realized PnL over the checked fills, USD"),
        Column("closed_pnl_exchange", "DOUBLE NOT NULL", "sum of the exchange's closedPnl over the checked fills"),
        Column("pnl_difference", "DOUBLE NOT NULL", "realized_ours − closed_pnl_exchange"),
        Column("status", "VARCHAR NOT NULL",
               "verified | cost_basis_unknown (no fill could be compared) | position_mismatch | pnl_mismatch"),
    ),
)

RECONCILE_READS: tuple[str, ...] = ("exchange_fills", "gaps", "trades")


def build_reconciliation(con: duckdb.DuckDBPyConnection, start_ms: int | None = None,
                         end_ms: int | None = None) -> dict:
    """(Re)build ``pnl_reconciliation`` from ``exchange_fills`` in [start_ms, end_ms); returns a summary."""
    win = window_sql(start_ms, end_ms)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _rec_groups AS
        SELECT row_number() OVER (ORDER BY wallet, coin) - 1 AS gid, wallet, coin, {market_sql()} AS market
        FROM (SELECT DISTINCT wallet, coin FROM exchange_fills WHERE {win})""")
    src = con.execute(f"""
        SELECT g.gid, g.market = 'spot' AS spot, f.time_ms, f.px,
               CASE f.side WHEN 'B' THEN f.sz ELSE -f.sz END AS qty, f.start_position,
               coalesce(f.closed_pnl, 0) AS closed_pnl, f.closed_pnl IS NOT NULL AS has_pnl,
               CASE WHEN g.market = 'spot' AND f.side = 'B' THEN {base_token_fee_sql('f')} ELSE 0 END AS base_fee
        FROM exchange_fills f JOIN _rec_groups g USING (wallet, coin)
        WHERE {win.replace('time_ms', 'f.time_ms')}
        ORDER BY g.gid, f.time_ms, f.seq, f.tid, f.side""").fetchnumpy()
    gid = np.asarray(src["gid"], np.int64)
    n = len(gid)
    rows = _compare(con, src, gid) if n else pa.table(
        {"gid": gid, **{k: np.zeros(0, bool) for k in ("mismatch", "transfer", "gap", "checked")},
         **{k: np.zeros(0) for k in ("err", "ours", "exch", "tol", "first_start")}})
    con.register("_rec_rows", rows)
    try:
        con.execute(f"""
            CREATE OR REPLACE TABLE pnl_reconciliation AS
            WITH s AS (SELECT gid, count(*) AS fills, sum(first_start) AS first_start,
                              count(*) FILTER (WHERE mismatch) AS mismatches,
                              count(*) FILTER (WHERE transfer) AS transfers, count(*) FILTER (WHERE gap) AS gaps,
                              max(err) AS max_err, count(*) FILTER (WHERE checked) AS checked,
                              sum(ours) AS ours, sum(exch) AS exch, sum(abs(exch)) AS exch_abs, sum(tol) AS tol
                       FROM _rec_rows GROUP BY gid)
            SELECT g.wallet, g.coin, g.market, s.fills::BIGINT AS fills,
                   s.first_start::DOUBLE AS first_start_position, s.first_start <> 0 AS seeded,
                   s.mismatches::BIGINT AS position_mismatches, s.transfers::BIGINT AS transfers,
                   s.gaps::BIGINT AS gap_resets, s.max_err::DOUBLE AS max_position_error,
                   s.checked::BIGINT AS checked_fills, s.ours::DOUBLE AS realized_ours,
                   s.exch::DOUBLE AS closed_pnl_exchange, (s.ours - s.exch)::DOUBLE AS pnl_difference,
                   CASE WHEN s.mismatches > 0 THEN 'position_mismatch'
                        WHEN abs(s.ours - s.exch) > {PNL_RTOL} * s.exch_abs + s.tol
                             THEN 'pnl_mismatch'
                        WHEN s.checked = 0 THEN 'cost_basis_unknown'
                        ELSE 'verified' END AS status
            FROM s JOIN _rec_groups g USING (gid) ORDER BY g.wallet, g.coin""")
    finally:
        con.unregister("_rec_rows")
        con.execute("DROP TABLE IF EXISTS _rec_groups")
    return reconciliation_summary(con)


def _compare(con: duckdb.DuckDBPyConnection, src: dict, gid: np.ndarray) -> pa.Table:
    """Per archive fill (sorted by group, then exchange order): mismatch/transfer/gap flags, and our realized
    PnL against closedPnl where the cost basis is known."""
    n = len(gid)
    t = np.asarray(src["time_ms"], np.int64)
    qty = np.asarray(src["qty"], np.float64)
    px = np.asarray(src["px"], np.float64)
    start = np.asarray(src["start_position"], np.float64)
    starts = np.ones(n, bool)
    starts[1:] = gid[1:] != gid[:-1]

    # 1. breaks: the previous fill's start + size differs from this fill's start
    expected = np.empty(n)
    expected[0] = 0.0
    base_fee = np.asarray(src["base_fee"], np.float64)  # a spot buy's fee in the bought token: off the balance
    expected[1:] = start[:-1] + qty[:-1] - base_fee[:-1]
    err = np.abs(expected - start)
    brk = ~starts & (err > POSITION_RTOL * np.maximum(1.0, np.maximum(np.abs(start), np.abs(expected))))
    kind = _classify_breaks(con, np.flatnonzero(brk), t, np.asarray(src["spot"], bool))
    mismatch = np.zeros(n, bool)
    mismatch[np.flatnonzero(brk)[kind == 0]] = True

    # 2. where a segment starts mid-position (cost basis unknown), the exchange's first closedPnl tells the
    #    average entry price at that fill: the engine restarts there with it (that fill is not compared).
    has_pnl = np.asarray(src["has_pnl"], bool)
    closed = np.asarray(src["closed_pnl"], np.float64)
    seg = starts | brk
    seg_id = np.cumsum(seg) - 1
    closing = (start != 0) & (start * qty < 0)
    cand = np.flatnonzero(closing & has_pnl)
    _, first = np.unique(seg_id[cand], return_index=True)
    infer = cand[first]
    infer = infer[start[np.flatnonzero(seg)[seg_id[infer]]] != 0]  # only in segments that start mid-position
    closed_qty = np.minimum(np.abs(qty), np.abs(start))
    entry = px.copy()  # the seed's cost: the first fill's price, unless inferred
    entry[infer] = px[infer] - closed[infer] / (closed_qty[infer] * np.sign(start[infer]))
    is_infer = np.zeros(n, bool)
    is_infer[infer] = True
    seg |= is_infer

    # 3. our engine over each segment, seeded with the exchange's start position (a row before the segment's
    #    first fill); a spot buy's fee paid in the bought token leaves the balance without moving the entry
    #    (a reducing row after the buy, whose own realized PnL is not a fill's and is not read).
    seeds = np.flatnonzero(seg & (start != 0))
    fee_rows = np.flatnonzero(base_fee != 0)
    keys = np.concatenate([4 * np.arange(n) + 2, 4 * seeds + 1, 4 * fee_rows + 3])
    order = np.argsort(keys, kind="stable")
    row_starts = np.concatenate([seg & (start == 0), np.ones(len(seeds), bool), np.zeros(len(fee_rows), bool)])
    row_qty = np.concatenate([qty, start[seeds], -base_fee[fee_rows]])
    row_px = np.concatenate([px, entry[seeds], px[fee_rows]])
    res = average_cost(row_starts[order], row_qty[order], row_px[order])
    realized = res.realized[np.searchsorted(keys[order], 4 * np.arange(n) + 2)]

    # 4. fills whose cost basis is known: in a segment starting flat; after the position was flat before
    #    a fill (it opens at its price); after a fill closed or flipped a seeded position; after the
    #    inference point. An inferred entry carries the rounding of the closedPnl it came from: half a
    #    micro-dollar over the inferring fill's closed size, scaled to each later fill's closed size.
    flat_before = np.abs(start) <= 1e-12
    crossed = ~flat_before & (start * (start + qty) <= 0)
    flag = flat_before.copy()
    flag[1:] |= (crossed[:-1] | is_infer[:-1]) & ~seg[1:]
    known = segmented_cumsum(flag.astype(np.float64), seg) > 0
    checked = known & has_pnl
    seg_first = np.flatnonzero(seg)[np.cumsum(seg) - 1]
    inferred_seg = is_infer[seg_first]
    scale = np.divide(closed_qty, closed_qty[seg_first], out=np.zeros(n), where=inferred_seg)
    tol = PNL_ATOL_PER_FILL * (1.0 + 0.5 * scale)

    return pa.table({
        "gid": gid, "mismatch": mismatch, "transfer": _at(brk, kind == 1, n), "gap": _at(brk, kind == 2, n),
        "err": np.where(mismatch, err, 0.0), "checked": checked,
        "ours": np.where(checked, realized, 0.0), "exch": np.where(checked, closed, 0.0),
        "tol": np.where(checked, tol, 0.0),
        "first_start": np.where(starts, start, 0.0),
    })


def _at(mask: np.ndarray, sub: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, bool)
    out[np.flatnonzero(mask)[sub]] = True
    return out


def _classify_breaks(con: duckdb.DuckDBPyConnection, idx: np.ndarray, t: np.ndarray,
                     spot: np.ndarray) -> np.ndarray:
    """Per break: 1 spot transfer, 2 a hole in the history (an hour without archive fills between the
    two fills, or a ``gaps`` row of the archive overlapping them), 0 unexplained (a mismatch)."""
    kind = np.where(spot[idx], 1, 0).astype(np.int8)
    todo = np.flatnonzero(kind == 0)
    if not len(todo):
        return kind
    pairs = pa.table({"k": todo, "t0": t[idx[todo] - 1], "t1": t[idx[todo]]})
    con.register("_rec_breaks", pairs)
    try:
        holes = con.execute(f"""
            WITH covered AS (SELECT DISTINCT time_ms // {_HOUR_MS} AS h FROM exchange_fills),
                 b AS (SELECT k, t0 // {_HOUR_MS} AS h0, t1 // {_HOUR_MS} AS h1, t0, t1 FROM _rec_breaks)
            SELECT k FROM b
            WHERE (SELECT count(*) FROM covered WHERE h > b.h0 AND h < b.h1) < b.h1 - b.h0 - 1
               OR EXISTS (SELECT 1 FROM gaps WHERE stream = 'exchange_fills' AND start_ms < b.t1 AND end_ms > b.t0)
            """).fetchnumpy()["k"]
    finally:
        con.unregister("_rec_breaks")
    kind[np.asarray(holes, np.int64)] = 2
    return kind


def reconciliation_summary(con: duckdb.DuckDBPyConnection) -> dict:
    row = con.execute("""
        SELECT count(*), coalesce(sum(fills), 0), count(*) FILTER (WHERE seeded),
               count(*) FILTER (WHERE status = 'verified'), count(*) FILTER (WHERE status = 'cost_basis_unknown'),
               count(*) FILTER (WHERE status = 'position_mismatch'), count(*) FILTER (WHERE status = 'pnl_mismatch'),
               coalesce(sum(transfers), 0), coalesce(sum(gap_resets), 0), coalesce(sum(checked_fills), 0)
        FROM pnl_reconciliation""").fetchall()[0]
    keys = ("groups", "fills", "seeded_groups", "verified_groups", "cost_basis_unknown_groups",
            "position_mismatch_groups", "pnl_mismatch_groups", "spot_transfers", "gap_resets", "checked_fills")
    return {k: int(v) for k, v in zip(keys, row, strict=True)}


def check_positions(con: duckdb.DuckDBPyConnection, limit: int = 20) -> tuple[bool, dict]:
    """Every archive fill's startPosition equals our reconstruction (holes and spot transfers excepted)."""
    meta = reconciliation_summary(con)
    bad = meta["position_mismatch_groups"]
    if bad:
        meta["mismatches"] = markdown_table(con, f"""
            SELECT wallet, coin, market, fills, position_mismatches, max_position_error FROM pnl_reconciliation
            WHERE status = 'position_mismatch' ORDER BY max_position_error DESC LIMIT {int(limit)}""")
    return bad == 0, meta


def check_realized(con: duckdb.DuckDBPyConnection, limit: int = 20) -> tuple[bool, dict]:
    """Our average-cost realized PnL equals the sum of the exchange's closedPnl wherever the cost basis is known."""
    meta = reconciliation_summary(con)
    totals = con.execute("""SELECT coalesce(sum(realized_ours), 0), coalesce(sum(closed_pnl_exchange), 0)
                            FROM pnl_reconciliation WHERE status <> 'position_mismatch'""").fetchall()[0]
    meta["realized_ours_usd"], meta["closed_pnl_exchange_usd"] = float(totals[0]), float(totals[1])
    bad = meta["pnl_mismatch_groups"]
    if bad:
        meta["mismatches"] = markdown_table(con, f"""
            SELECT wallet, coin, checked_fills, realized_ours, closed_pnl_exchange, pnl_difference
            FROM pnl_reconciliation WHERE status = 'pnl_mismatch' ORDER BY abs(pnl_difference) DESC
            LIMIT {int(limit)}""")
    return bad == 0, meta


def check_fills_are_trades(con: duckdb.DuckDBPyConnection) -> tuple[bool, dict]:
    """Every archive fill of a trade (tid ≠ 0) is a side of a row in ``trades``: wallet_pnl, which reads
    ``fills`` (the view over trades), sees exactly the exchange's fills."""
    total, missing = con.execute("""
        SELECT count(*), count(*) FILTER (WHERE t.tid IS NULL)
        FROM exchange_fills f LEFT JOIN trades t
          ON t.coin = f.coin AND t.time_ms = f.time_ms AND t.tid = f.tid
         AND (CASE f.side WHEN 'B' THEN t.buyer ELSE t.seller END) = f.wallet
        WHERE f.tid <> 0""").fetchall()[0]
    return missing == 0, {"trade_fills": int(total), "missing_from_trades": int(missing)}


def _run(con: duckdb.DuckDBPyConnection, ctx: StepContext) -> dict:
    return build_reconciliation(con)


STEP = Step(
    name="pnl_reconciliation",
    description="Reconcile our positions and realized PnL with the exchange's startPosition and closedPnl "
                "(node-archive fills).",
    reads=RECONCILE_READS, writes=(RECONCILIATION_TABLE,), run=_run,
)
