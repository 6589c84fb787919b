"""DuckDB DDL, generated from the declarations: the raw tables and the ``fills`` view from the dataset
registry (:mod:`hypertrack_pipeline.datasets`), the bookkeeping table ``landing_loads``, and the
wallet_features layout (36 FEATURE_NAMES + coverage columns) which the feature build creates per window.
Nothing is declared twice: there is no hand-written DDL file."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import duckdb

from hypertrack_pipeline.catalog import Column, Table
from hypertrack_pipeline.datasets import RAW_TABLES as RAW_TABLE_DEFS
from hypertrack_pipeline.feature_names import FEATURE_NAMES
from hypertrack_pipeline.warehouse.audit import LOAD_ERRORS

RAW_TABLES: tuple[str, ...] = tuple(t.name for t in RAW_TABLE_DEFS)
RAW_VIEWS: frozenset[str] = frozenset(t.name for t in RAW_TABLE_DEFS if t.is_view)

# Which landing hours the warehouse holds, written in the same transaction as the rows: the loader's
# record of what it loaded (the plan compares it with the landing markers), not user data.
LANDING_LOADS = Table(
    "landing_loads",
    "Internal: one row per landing hour loaded into the raw tables, written in the load's transaction.",
    (
        Column("hour", "TIMESTAMP NOT NULL", "landing hour (UTC start)"),
        Column("fingerprint", "VARCHAR NOT NULL", "digest of the hour's _SUCCESS markers when it was loaded"),
        Column("trades", "BIGINT NOT NULL", "trades loaded for the hour"),
        Column("loaded_at", "TIMESTAMP NOT NULL", "when the load committed (UTC)"),
    ),
    internal=True,
)
INTERNAL_TABLES: tuple[Table, ...] = (LANDING_LOADS, LOAD_ERRORS)

# Coverage columns of wallet_features: which inputs existed for the wallet (SPEC §7: a feature is 0
# when its data is missing, and these say so instead of defaulting silently).
COVERAGE_COLUMNS: dict[str, str] = {
    "has_fills": "BOOLEAN",
    "has_bbo": "BOOLEAN",
    "has_candles": "BOOLEAN",
    "has_evm": "BOOLEAN",
    "bbo_share": "DOUBLE",
    "candle_share": "DOUBLE",
}
COVERAGE_DOCS: dict[str, str] = {
    "has_fills": "at least one HyperCore fill in the window",
    "has_bbo": "at least one fill with a mid before it (BBO, else L2)",
    "has_candles": "at least one fill matched to a completed 1m candle",
    "has_evm": "at least one HyperEVM transaction sent or ERC-20 transfer",
    "bbo_share": "share of the wallet's fills with a mid before them",
    "candle_share": "share of the wallet's fills matched to a candle",
    "first_time_ms": "first event of the wallet in the window, epoch ms",
    "last_time_ms": "last event of the wallet in the window, epoch ms",
}


def wallet_features_columns() -> dict[str, str]:
    """Column → DuckDB type of a wallet_features table, in order."""
    cols = {"wallet": "VARCHAR"}
    cols.update({name: "DOUBLE" for name in FEATURE_NAMES})
    cols.update(COVERAGE_COLUMNS)
    cols.update({"first_time_ms": "BIGINT", "last_time_ms": "BIGINT"})
    return cols


def schema_sql() -> str:
    """The DDL of every raw table, the fills view and the internal tables (idempotent)."""
    return "\n\n".join(t.ddl() for t in (*RAW_TABLE_DEFS, *INTERNAL_TABLES))


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every raw table (and the fills view) and the internal tables that do not exist yet.

    Warehouses written before fills became a view hold it as a table: its rows are the legs of the
    trades, so it is dropped and replaced by the view (nothing is lost).
    """
    old = con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = 'fills' "
                      "AND table_schema = current_schema()").fetchall()
    if old and old[0][0] == "BASE TABLE":
        con.execute("DROP TABLE fills")
    con.execute(schema_sql())


@contextlib.contextmanager
def session_setting(con: duckdb.DuckDBPyConnection, name: str, value: bool) -> Iterator[None]:
    """Set a boolean DuckDB setting for this connection's session only and restore it afterwards
    (other connections to the same database keep theirs)."""
    previous = con.execute(f"SELECT current_setting('{name}')").fetchall()[0][0]
    con.execute(f"SET SESSION {name} = {'true' if value else 'false'}")
    try:
        yield
    finally:
        con.execute(f"SET SESSION {name} = {'true' if previous else 'false'}")


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Actual column → type of a table or view in the connected database ({} when absent)."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = ? AND table_schema = current_schema() ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return {name: dtype for name, dtype in rows}


def declared_columns(tables: tuple[Table, ...] | None = None) -> dict[str, dict[str, str]]:
    """Column → type of declared tables (default: raw tables and views plus wallet_features)."""
    out = {t.name: {c.name: c.base_type for c in t.columns} for t in (tables or RAW_TABLE_DEFS)}
    if tables is None:
        out["wallet_features"] = wallet_features_columns()
    return out
