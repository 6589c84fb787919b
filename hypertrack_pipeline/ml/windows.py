"""The walk-forward training windows: the boundaries, per-fold features and next-window PnL.

The profitability head must predict *future* PnL, so training pairs features from one window with
PnL from the window after it, rolled forward: the data is cut into WALK_FORWARD_WINDOWS windows of
equal fill counts (quantiles of fill time, not of the time range: a sparse tail such as the
simulator's 45-day HODLer prehistory would otherwise leave almost every window empty). Fold k
pairs the features of window k with the PnL of window k + 1; the model trains on every fold but the
last, which is the out-of-time test. Nothing of a fold's target window is read by its features
(mark-outs whose horizon crosses the window end are left out). Each piece is its own step:

- ``wallet_training_window`` (:data:`WINDOW_STEP`, reads ``fills``): one row that decides the
  split and the fallback, so it is taken once: ``overlap_wallets`` counts the wallets with a fill in
  the test fold's feature window and traded notional in its target window; fewer than
  ``min_overlap_wallets`` (or data that does not span two windows) means
  ``profitability_window = 'same'`` with a ``note``.
- ``wallet_features_early`` (:data:`EARLY_STEP`): the features of every fold's feature window.
- ``wallet_pnl_late`` (:data:`LATE_STEP`): the PnL summary of every fold's target window.

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
# Walk-forward: the data is cut into this many windows of equal fill counts; fold k pairs the features
# of window k with the PnL of window k + 1 (windows − 1 folds, the last one held out for testing).
WALK_FORWARD_WINDOWS = 4
# Scratch prefix of the late PnL build: its positions and hourly tables are dropped right after.
_LATE_SCRATCH_PREFIX = "_ht_late_"
_EARLY_SCRATCH_PREFIX = "_ht_early_"
_TRAINING_GROUP = "training"

WINDOW_TABLE_DEF = Table(
    WINDOW_TABLE,
    "One row: the walk-forward windows the training targets are built from (boundaries, spans, fallback).",
    (
        Column("profitability_window", "VARCHAR", "'next' (point-in-time: later window) or 'same' (fallback)"),
        Column("feature_window", "VARCHAR", "which windows the training features come from: 'early' or 'full'"),
        Column("data_start_ms", "BIGINT", "first fill, epoch ms (null without fills)"),
        Column("data_end_ms", "BIGINT", "last fill, epoch ms (null without fills)"),
        Column("boundary_ms", "BIGINT",
               "the last boundary: start of the test fold's target window, epoch ms (null when the data does "
               "not span two windows)"),
        Column("feature_start_ms", "BIGINT", "first feature window start, epoch ms"),
        Column("feature_end_ms", "BIGINT", "last feature window end, epoch ms (the last boundary for 'early')"),
        Column("target_start_ms", "BIGINT", "first target window start, epoch ms (the first boundary for 'next')"),
        Column("target_end_ms", "BIGINT", "target window end, epoch ms"),
        Column("overlap_wallets", "BIGINT",
               "wallets with a fill in the test fold's feature window and traded notional in its target window"),
        Column("rows", "BIGINT",
               "(fold, wallet) pairs the windows make eligible, from fills: Σ over folds of the wallets in both "
               "windows ('next') or wallets with a fill ('same'); wallet_training_targets joins them with the "
               "feature tables"),
        Column("note", "VARCHAR", "why the same-window fallback was taken (null when it was not)"),
        Column("boundaries_ms", "BIGINT[]",
               "every window boundary, ascending: window k is [boundary k−1, boundary k), fold k pairs "
               "features of window k with PnL of window k + 1"),
        Column("folds", "BIGINT", "walk-forward folds (feature window → next window pairs); the last is the test fold"),
    ),
)

_FOLD = Column("fold", "BIGINT", "walk-forward fold: features of window fold, PnL of window fold + 1")

EARLY_FEATURES_TABLE_DEF = dataclasses.replace(
    FEATURES_TABLE,
    name=EARLY_FEATURES_TABLE,
    description="wallet_features per walk-forward fold, each over its feature window [boundary k−1, boundary k) "
                "of wallet_training_window: the model's training inputs, so the profitability target never "
                "sees the future (empty without a boundary).",
    columns=(_FOLD, *FEATURES_TABLE.columns),
)

LATE_PNL_TABLE_DEF = dataclasses.replace(
    PNL_TABLE,
    name=LATE_PNL_TABLE,
    description="wallet_pnl per walk-forward fold over its target window (the window after the fold's features): "
                "the next-window profitability the model learns to predict (empty without a boundary).",
    columns=(_FOLD, *PNL_TABLE.columns),
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
    windows: int = WALK_FORWARD_WINDOWS,
) -> dict[str, Any]:
    """The window row (a dict of WINDOW_TABLE_DEF's columns) from ``fills``; writes nothing.

    Default: ``windows`` windows holding equal numbers of fills (each boundary is the first
    millisecond after a fill-time quantile), so fold k trains features of window k on the PnL of
    window k + 1 and the last fold is the out-of-time test. An explicit ``boundary_ms`` gives two
    windows; one outside (first fill, last fill] means the data does not span two windows.
    """
    lo, hi, wallets = con.execute(
        "SELECT min(time_ms), max(time_ms), count(DISTINCT wallet) FROM fills").fetchall()[0]
    cuts: list[int] = []
    if boundary_ms is not None:
        cuts = [int(boundary_ms)]
    elif lo is not None and hi is not None and hi > lo and windows >= 2:
        qs = [k / windows for k in range(1, windows)]
        got = con.execute(f"SELECT quantile_disc(time_ms, {qs}) FROM fills").fetchall()[0][0]
        cuts = [int(q) + 1 if int(q) < int(hi) else int(hi) for q in got]
    cuts = sorted({c for c in cuts if lo is not None and int(lo) < c <= int(hi)})
    row: dict[str, Any] = {
        "profitability_window": "same",
        "feature_window": "full",
        "data_start_ms": int(lo) if lo is not None else None,
        "data_end_ms": int(hi) if hi is not None else None,
        "boundary_ms": None,
        "overlap_wallets": 0,
        "note": None,
        "boundaries_ms": cuts,
        "folds": 1,
    }
    overlaps: list[int] = []
    if cuts:
        edges = [int(lo), *cuts, int(hi) + 1]
        for k in range(len(cuts)):
            a, b, c = edges[k], edges[k + 1], edges[k + 2]
            overlaps.append(int(con.execute(
                f"""SELECT count(*) FROM (
                        SELECT wallet FROM fills WHERE time_ms >= {a} AND time_ms < {c} GROUP BY wallet
                        HAVING min(time_ms) < {b} AND sum(CASE WHEN time_ms >= {b} THEN notional ELSE 0 END) > 0)"""
            ).fetchall()[0][0]))
        row["boundary_ms"], row["overlap_wallets"] = cuts[-1], overlaps[-1]
        if overlaps[-1] >= max(min_overlap_wallets, 2):
            row.update(profitability_window="next", feature_window="early", folds=len(cuts))
        else:
            row["note"] = (
                f"only {overlaps[-1]} wallets traded in both windows (< {min_overlap_wallets}): "
                "profitability target falls back to the same window"
            )
    else:
        row["note"] = "data does not span two windows: profitability target uses the same window"
    nxt = row["profitability_window"] == "next"
    row["feature_start_ms"] = row["data_start_ms"]
    row["feature_end_ms"] = row["boundary_ms"] if nxt else row["data_end_ms"]
    row["target_start_ms"] = cuts[0] if nxt else row["data_start_ms"]
    row["target_end_ms"] = row["data_end_ms"]
    row["rows"] = sum(overlaps) if nxt else int(wallets or 0)
    return {c: row[c] for c in WINDOW_TABLE_DEF.column_names()}


def fold_windows(window: dict[str, Any]) -> list[tuple[int, int | None, int, int, int | None]]:
    """(fold, feature start, feature end = target start, target end) per fold of a 'next' window row;
    None = open (the first feature window starts with the data, the last target window ends with it)."""
    cuts = [int(c) for c in (window.get("boundaries_ms") or [])]
    if window.get("profitability_window") != "next" or not cuts:
        return []
    starts: list[int | None] = [None, *cuts[:-1]]
    ends: list[int | None] = [*cuts[1:], None]
    return [(k, starts[k], cuts[k], cuts[k], ends[k]) for k in range(len(cuts))]


def build_training_window(
    con: duckdb.DuckDBPyConnection,
    boundary_ms: int | None = None,
    *,
    min_overlap_wallets: int = MIN_OVERLAP_WALLETS,
    windows: int = WALK_FORWARD_WINDOWS,
) -> dict[str, Any]:
    """(Re)write the one-row ``wallet_training_window`` (see :func:`decide_window`); return the row."""
    row = decide_window(con, boundary_ms, min_overlap_wallets=min_overlap_wallets, windows=windows)
    select = ", ".join(f"?::{c.base_type} AS {c.name}" for c in WINDOW_TABLE_DEF.columns)
    con.execute(f"CREATE OR REPLACE TABLE {WINDOW_TABLE} AS SELECT {select}", list(row.values()))
    return row


def _run_window(con: duckdb.DuckDBPyConnection, ctx: StepContext) -> dict[str, Any]:
    row = build_training_window(
        con, ctx.options.get("boundary_ms"),
        min_overlap_wallets=int(ctx.options.get("min_overlap_wallets", MIN_OVERLAP_WALLETS)),
        windows=int(ctx.options.get("walk_forward_windows", WALK_FORWARD_WINDOWS)),
    )
    ctx.log(f"training windows: boundaries {row['boundaries_ms']}, profitability {row['profitability_window']}, "
            f"{row['overlap_wallets']} wallets in both windows of the test fold")
    return {k: (", ".join(map(str, v)) if isinstance(v, list) else v) for k, v in row.items() if v is not None}


# ---------------------------------------------------------------------------- wallet_features_early


def build_early_features(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """(Re)build ``wallet_features_early``: one block of rows per fold, the features over that fold's
    feature window (empty without a boundary); return row counts and the window bounds."""
    window = _require_window(con)
    folds = fold_windows(window)
    if not folds:
        _replace_with_empty(con, EARLY_FEATURES_TABLE_DEF)
        info: dict[str, Any] = {"rows": 0}
    else:
        scratch = [f"{_EARLY_SCRATCH_PREFIX}{k}" for k, *_ in folds]
        try:
            for (_k, start, end, _, _), name in zip(folds, scratch, strict=True):
                build_wallet_features(con, start_ms=start, end_ms=end, table=name)
            union = " UNION ALL ".join(f"SELECT {k}::BIGINT AS fold, * FROM {name}"
                                       for (k, *_), name in zip(folds, scratch, strict=True))
            con.execute(f"CREATE OR REPLACE TABLE {EARLY_FEATURES_TABLE} AS {union} ORDER BY fold, wallet")
        finally:
            for name in scratch:
                con.execute(f"DROP TABLE IF EXISTS {name}")
        info = {"rows": _count(con, EARLY_FEATURES_TABLE), "folds": len(folds)}
    return {**info, "window_start_ms": window.get("data_start_ms"), "window_end_ms": window.get("boundary_ms"),
            "boundary_ms": window.get("boundary_ms")}


def _run_early(con: duckdb.DuckDBPyConnection, ctx: StepContext) -> dict[str, Any]:
    return {k: v for k, v in build_early_features(con).items() if v is not None}


# ---------------------------------------------------------------------------- wallet_pnl_late


def build_late_pnl(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """(Re)build ``wallet_pnl_late``: one block of rows per fold, the PnL summary over that fold's target
    window (empty without a boundary). The PnL build's positions and hourly tables are scratch here:
    they are dropped afterwards, also on error, so the late windows leave one declared table behind."""
    window = _require_window(con)
    folds = fold_windows(window)
    scratch = [f"{_LATE_SCRATCH_PREFIX}{t}" for t in ("wallet_positions", "wallet_pnl", "wallet_pnl_hourly")]
    if not folds:
        _replace_with_empty(con, LATE_PNL_TABLE_DEF)
        info: dict[str, Any] = {"rows": 0}
    else:
        cols = ", ".join(PNL_TABLE.column_names())
        realized = unrealized = 0.0
        try:
            con.execute(f"DROP TABLE IF EXISTS {LATE_PNL_TABLE}")
            con.execute(LATE_PNL_TABLE_DEF.ddl())
            for k, _, _, start, end in folds:
                built = build_wallet_pnl(con, start_ms=start, end_ms=end, prefix=_LATE_SCRATCH_PREFIX)
                con.execute(f"INSERT INTO {LATE_PNL_TABLE} SELECT {k}::BIGINT AS fold, {cols} "
                            f"FROM {_LATE_SCRATCH_PREFIX}wallet_pnl")
                realized += float(built["sum_realized_pnl"] or 0)
                unrealized += float(built["sum_unrealized_pnl"] or 0)
        finally:
            for t in scratch:
                con.execute(f"DROP TABLE IF EXISTS {t}")
        info = {"rows": _count(con, LATE_PNL_TABLE), "folds": len(folds), "sum_realized_pnl": realized,
                "sum_unrealized_pnl": unrealized}
    return {**info, "window_start_ms": window.get("target_start_ms"), "window_end_ms": window.get("data_end_ms"),
            "boundary_ms": window.get("boundary_ms")}


def _run_late(con: duckdb.DuckDBPyConnection, ctx: StepContext) -> dict[str, Any]:
    return {k: v for k, v in build_late_pnl(con).items() if v is not None}


# ---------------------------------------------------------------------------- steps

WINDOW_STEP = Step(
    name=WINDOW_TABLE,
    description="The walk-forward split of the data for training: window boundaries at fill-time quantiles, "
                "and whether enough wallets trade on both sides for a next-window profitability target.",
    reads=("fills",), writes=(WINDOW_TABLE_DEF,), run=_run_window, group=_TRAINING_GROUP, training=True,
)

EARLY_STEP = Step(
    name=EARLY_FEATURES_TABLE,
    description="The wallet features over each fold's feature window (before its target window): the model's "
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
