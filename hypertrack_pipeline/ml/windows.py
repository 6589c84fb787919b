"""The point-in-time training windows: the boundary, early-window features and late-window PnL.

The profitability head must predict *future* PnL, so training pairs features from before a time
boundary with PnL from after it. Each piece is its own step (its own asset, lineage and checks)
instead of a side effect of the targets build:

- ``wallet_training_window`` (:data:`WINDOW_STEP`, reads ``fills``): one row that decides the
  split. The boundary is just after the median fill time — the midpoint of the data by volume of
  fills (the midpoint of [min, max] would be the same on evenly dense data, but a sparse tail such
  as the simulator's 45-day HODLer prehistory would put it in an almost empty stretch and leave few
  wallets in the late window). This step also makes the fallback decision, so it is taken once:
  ``overlap_wallets`` counts, from ``fills``, the wallets with a fill before the boundary and
  traded notional at or after it; fewer than ``min_overlap_wallets`` (or data that does not span
  two windows) means ``profitability_window = 'same'`` with a ``note``.
- ``wallet_features_early`` (:data:`EARLY_STEP`): the 36 features over [start, boundary).
- ``wallet_pnl_late`` (:data:`LATE_STEP`): the PnL summary over [boundary, end).

Without a boundary the early/late tables are written empty (with their declared columns), so
every asset always exists and downstream reads never fail on a missing table.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import duckdb

from hypertrack_pipeline.catalog import Column, Step, StepContext, Table
from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.warehouse.features import FEATURE_READS, FEATURES_TABLE, build_wallet_features
from hypertrack_pipeline.warehouse.pnl import PNL_READS, PNL_TABLE, build_wallet_pnl

WINDOW_TABLE = "wallet_training_window"
EARLY_FEATURES_TABLE = "wallet_features_early"
LATE_PNL_TABLE = "wallet_pnl_late"
# Fewer wallets than this trading on both sides of the boundary: too few to learn "early features →
# late PnL" from, so the profitability target falls back to the same window.
MIN_OVERLAP_WALLETS = 20
# Scratch prefix of the late PnL build: its positions and hourly tables are dropped right after.
_LATE_SCRATCH_PREFIX = "_ht_late_"
_TRAINING_GROUP = "training"

WINDOW_TABLE_DEF = Table(
    WINDOW_TABLE,
    "One row: the windows the training targets are built from (boundary, spans, fallback decision).",
    (
        Column("profitability_window", "VARCHAR", "'next' (point-in-time: later window) or 'same' (fallback)"),
        Column("feature_window", "VARCHAR", "which window the training features come from: 'early' or 'full'"),
        Column("data_start_ms", "BIGINT", "first fill, epoch ms (null without fills)"),
        Column("data_end_ms", "BIGINT", "last fill, epoch ms (null without fills)"),
        Column("boundary_ms", "BIGINT",
               "split between feature and target windows, epoch ms (null when the data does not span two)"),
        Column("feature_start_ms", "BIGINT", "feature window start, epoch ms"),
        Column("feature_end_ms", "BIGINT", "feature window end, epoch ms (the boundary for 'early')"),
        Column("target_start_ms", "BIGINT", "target (profitability) window start, epoch ms (the boundary for 'next')"),
        Column("target_end_ms", "BIGINT", "target window end, epoch ms"),
        Column("overlap_wallets", "BIGINT",
               "wallets with a fill before the boundary and traded notional at or after it (from fills)"),
        Column("rows", "BIGINT",
               "wallets the window makes eligible, from fills: overlap_wallets ('next') or wallets with a fill "
               "('same'); wallet_training_targets joins them with the feature tables"),
        Column("note", "VARCHAR", "why the same-window fallback was taken (null when it was not)"),
    ),
)

EARLY_FEATURES_TABLE_DEF = dataclasses.replace(
    FEATURES_TABLE,
    name=EARLY_FEATURES_TABLE,
    description="wallet_features over the early window [first data, boundary) of wallet_training_window: the "
                "model's training inputs, so the profitability target never sees the future (empty without a "
                "boundary).",
)

LATE_PNL_TABLE_DEF = dataclasses.replace(
    PNL_TABLE,
    name=LATE_PNL_TABLE,
    description="wallet_pnl over the late window [boundary, last data] of wallet_training_window: the "
                "next-window profitability the model learns to predict (empty without a boundary).",
)


# ---------------------------------------------------------------------------- helpers


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """True when ``name`` is a table or view of the current schema."""
    rows = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchall()
    return bool(rows[0][0])


def read_window(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The row of ``wallet_training_window`` ({} when it was never built)."""
    if not table_exists(con, WINDOW_TABLE):
        return {}
    rows = con.sql(f"SELECT * FROM {WINDOW_TABLE} LIMIT 1").to_arrow_table().to_pylist()
    return rows[0] if rows else {}


def _require_window(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    window = read_window(con)
    if not window:
        raise UserError(f"table {WINDOW_TABLE} does not exist yet (build {WINDOW_TABLE} first)")
    return window


def _replace_with_empty(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    """An empty table with the declared columns: the asset exists and reads of it return no rows."""
    con.execute(f"DROP TABLE IF EXISTS {table.name}")
    con.execute(table.ddl())


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


# ---------------------------------------------------------------------------- wallet_training_window


def decide_window(
    con: duckdb.DuckDBPyConnection,
    boundary_ms: int | None = None,
    *,
    min_overlap_wallets: int = MIN_OVERLAP_WALLETS,
) -> dict[str, Any]:
    """The window row (a dict of WINDOW_TABLE_DEF's columns) from ``fills``; writes nothing.

    ``boundary_ms`` defaults to the first millisecond after the median fill time (so both windows
    hold fills); one outside (first fill, last fill] means the data does not span two windows.
    """
    lo, hi, median, wallets = con.execute(
        "SELECT min(time_ms), max(time_ms), quantile_disc(time_ms, 0.5), count(DISTINCT wallet) FROM fills"
    ).fetchall()[0]
    if boundary_ms is None and lo is not None and hi is not None and hi > lo:
        boundary_ms = int(median) + 1 if int(median) < int(hi) else int(hi)
    row: dict[str, Any] = {
        "profitability_window": "same",
        "feature_window": "full",
        "data_start_ms": int(lo) if lo is not None else None,
        "data_end_ms": int(hi) if hi is not None else None,
        "boundary_ms": None,
        "overlap_wallets": 0,
        "note": None,
    }
    if boundary_ms is not None and lo is not None and int(lo) < int(boundary_ms) <= int(hi):  # spans two windows
        b = int(boundary_ms)
        overlap = con.execute(
            f"""SELECT count(*) FROM (
                    SELECT wallet FROM fills GROUP BY wallet
                    HAVING min(time_ms) < {b} AND sum(CASE WHEN time_ms >= {b} THEN notional ELSE 0 END) > 0)"""
        ).fetchall()[0][0]
        row["boundary_ms"], row["overlap_wallets"] = b, int(overlap)
        if overlap >= max(min_overlap_wallets, 2):
            row.update(profitability_window="next", feature_window="early")
        else:
            row["note"] = (
                f"only {int(overlap)} wallets traded in both windows (< {min_overlap_wallets}): "
                "profitability target falls back to the same window"
            )
    else:
        row["note"] = "data does not span two windows: profitability target uses the same window"
    nxt = row["profitability_window"] == "next"
    row["feature_start_ms"] = row["data_start_ms"]
    row["feature_end_ms"] = row["boundary_ms"] if nxt else row["data_end_ms"]
    row["target_start_ms"] = row["boundary_ms"] if nxt else row["data_start_ms"]
    row["target_end_ms"] = row["data_end_ms"]
    row["rows"] = row["overlap_wallets"] if nxt else int(wallets or 0)
    return {c: row[c] for c in WINDOW_TABLE_DEF.column_names()}


def build_training_window(
    con: duckdb.DuckDBPyConnection,
    boundary_ms: int | None = None,
    *,
    min_overlap_wallets: int = MIN_OVERLAP_WALLETS,
) -> dict[str, Any]:
    """(Re)write the one-row ``wallet_training_window`` (see :func:`decide_window`); return the row."""
    row = decide_window(con, boundary_ms, min_overlap_wallets=min_overlap_wallets)
    select = ", ".join(f"?::{c.base_type} AS {c.name}" for c in WINDOW_TABLE_DEF.columns)
    con.execute(f"CREATE OR REPLACE TABLE {WINDOW_TABLE} AS SELECT {select}", list(row.values()))
    return row


def _run_window(con: duckdb.DuckDBPyConnection, ctx: StepContext) -> dict[str, Any]:
    row = build_training_window(
        con, ctx.options.get("boundary_ms"),
        min_overlap_wallets=int(ctx.options.get("min_overlap_wallets", MIN_OVERLAP_WALLETS)),
    )
    ctx.log(f"training window: boundary {row['boundary_ms']}, profitability {row['profitability_window']}, "
            f"{row['overlap_wallets']} wallets in both windows")
    return {k: v for k, v in row.items() if v is not None}


# ---------------------------------------------------------------------------- wallet_features_early


def build_early_features(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """(Re)build ``wallet_features_early`` over [first data, boundary) of the training window (empty
    without a boundary); return the feature build's metadata and the window bounds."""
    window = _require_window(con)
    boundary = window.get("boundary_ms")
    if boundary is None:
        _replace_with_empty(con, EARLY_FEATURES_TABLE_DEF)
        info: dict[str, Any] = {"rows": 0}
    else:
        info = build_wallet_features(con, start_ms=None, end_ms=int(boundary), table=EARLY_FEATURES_TABLE)
    return {**info, "window_start_ms": window.get("data_start_ms"), "window_end_ms": boundary,
            "boundary_ms": boundary}


def _run_early(con: duckdb.DuckDBPyConnection, ctx: StepContext) -> dict[str, Any]:
    return {k: v for k, v in build_early_features(con).items() if v is not None}


# ---------------------------------------------------------------------------- wallet_pnl_late


def build_late_pnl(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """(Re)build ``wallet_pnl_late``: the PnL summary over [boundary, end) of the training window
    (empty without a boundary). The PnL build's positions and hourly tables are scratch here: they
    are dropped afterwards, also on error, so the late window leaves one declared table behind."""
    window = _require_window(con)
    boundary = window.get("boundary_ms")
    scratch = [f"{_LATE_SCRATCH_PREFIX}{t}" for t in ("wallet_positions", "wallet_pnl", "wallet_pnl_hourly")]
    if boundary is None:
        _replace_with_empty(con, LATE_PNL_TABLE_DEF)
        info: dict[str, Any] = {"rows": 0}
    else:
        try:
            built = build_wallet_pnl(con, start_ms=int(boundary), end_ms=None, prefix=_LATE_SCRATCH_PREFIX)
            con.execute(f"CREATE OR REPLACE TABLE {LATE_PNL_TABLE} AS "
                        f"SELECT {', '.join(PNL_TABLE.column_names())} FROM {_LATE_SCRATCH_PREFIX}wallet_pnl")
        finally:
            for t in scratch:
                con.execute(f"DROP TABLE IF EXISTS {t}")
        info = {"rows": _count(con, LATE_PNL_TABLE), "sum_realized_pnl": built["sum_realized_pnl"],
                "sum_unrealized_pnl": built["sum_unrealized_pnl"]}
    return {**info, "window_start_ms": boundary, "window_end_ms": window.get("data_end_ms"),
            "boundary_ms": boundary}


def _run_late(con: duckdb.DuckDBPyConnection, ctx: StepContext) -> dict[str, Any]:
    return {k: v for k, v in build_late_pnl(con).items() if v is not None}


# ---------------------------------------------------------------------------- steps

WINDOW_STEP = Step(
    name=WINDOW_TABLE,
    description="The point-in-time split of the data for training: boundary just after the median fill, "
                "and whether enough wallets trade on both sides for a next-window profitability target.",
    reads=("fills",), writes=(WINDOW_TABLE_DEF,), run=_run_window, group=_TRAINING_GROUP, training=True,
)

EARLY_STEP = Step(
    name=EARLY_FEATURES_TABLE,
    description="The 36 wallet features over the early window (before the training boundary): the model's "
                "inputs for a point-in-time profitability target.",
    reads=(*FEATURE_READS, WINDOW_TABLE), writes=(EARLY_FEATURES_TABLE_DEF,), run=_run_early,
    group=_TRAINING_GROUP, training=True,
)

LATE_STEP = Step(
    name=LATE_PNL_TABLE,
    description="Per-wallet PnL over the late window (from the training boundary on): the next-window "
                "profitability the model learns to predict.",
    reads=(*PNL_READS, WINDOW_TABLE), writes=(LATE_PNL_TABLE_DEF,), run=_run_late,
    group=_TRAINING_GROUP, training=True,
)
