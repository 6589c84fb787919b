"""DuckDB DDL, declared once: ``schema.sql`` for the raw and PnL tables (``fills`` is a view over
``trades``), and the wallet_features layout (36 FEATURE_NAMES + coverage columns) which is created per
window by the feature build."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib import resources

import duckdb

from hypertrack_pipeline.feature_names import FEATURE_NAMES

RAW_TABLES: tuple[str, ...] = (
    "trades",
    "fills",
    "bbo",
    "l2_snapshots",
    "candles",
    "evm_blocks",
    "evm_transactions",
    "evm_token_transfers",
    "gaps",
)
PNL_TABLES: tuple[str, ...] = ("wallet_positions", "wallet_pnl", "wallet_pnl_hourly")
RAW_VIEWS: frozenset[str] = frozenset({"fills"})  # derived from trades, never written by a load

# Coverage columns of wallet_features: which inputs existed for the wallet (SPEC §7: a feature is 0
# when its data is missing, and these say so instead of defaulting silently).
COVERAGE_COLUMNS: dict[str, str] = {
    "has_fills": "BOOLEAN",  # at least one HyperCore fill in the window
    "has_bbo": "BOOLEAN",  # at least one fill with a mid before it (BBO, else L2)
    "has_candles": "BOOLEAN",  # at least one fill matched to a completed 1m candle
    "has_evm": "BOOLEAN",  # at least one HyperEVM transaction sent or ERC-20 transfer
    "bbo_share": "DOUBLE",  # share of fills with a mid before them
    "candle_share": "DOUBLE",  # share of fills matched to a candle
}


def schema_sql() -> str:
    return resources.files("hypertrack_pipeline.warehouse").joinpath("schema.sql").read_text()


def wallet_features_columns() -> dict[str, str]:
    """Column → DuckDB type of a wallet_features table, in order."""
    cols = {"wallet": "VARCHAR"}
    cols.update({name: "DOUBLE" for name in FEATURE_NAMES})
    cols.update(COVERAGE_COLUMNS)
    cols.update({"first_time_ms": "BIGINT", "last_time_ms": "BIGINT"})
    return cols


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every raw and PnL table (and the fills view) that does not exist yet (idempotent).

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
    """Actual column → type of a table in the connected database ({} when absent)."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = ? AND table_schema = current_schema() ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return {name: dtype for name, dtype in rows}


def declared_columns() -> dict[str, dict[str, str]]:
    """Column → type of every declared table, read back from an in-memory DuckDB built from the DDL."""
    mem = duckdb.connect()
    try:
        ensure_schema(mem)
        out = {t: table_columns(mem, t) for t in RAW_TABLES + PNL_TABLES}
    finally:
        mem.close()
    out["wallet_features"] = wallet_features_columns()
    return out


_FEATURE_UNITS = "see SPEC §7 (0 when its input data is missing; the coverage columns say which)"
_COVERAGE_DOCS = {
    "has_fills": "at least one HyperCore fill in the window",
    "has_bbo": "at least one fill with a mid before it (BBO, else L2)",
    "has_candles": "at least one fill matched to a completed 1m candle",
    "has_evm": "at least one HyperEVM transaction sent or ERC-20 transfer",
    "bbo_share": "share of the wallet's fills with a mid before them",
    "candle_share": "share of the wallet's fills matched to a candle",
    "first_time_ms": "first event of the wallet in the window, epoch ms",
    "last_time_ms": "last event of the wallet in the window, epoch ms",
}


_COMMON_DOCS = {
    "coin": "market, e.g. BTC",
    "time_ms": "exchange time, epoch ms (UTC)",
    "ts": "time_ms as TIMESTAMP (UTC)",
    "tid": "trade id",
    "px": "price, USD",
    "sz": "size, base units",
    "hour": "landing partition: UTC hour the row was loaded from",
    "bid_px": "best bid price (L2: per level, best first)",
    "bid_sz": "size at the bid, base units",
    "ask_px": "best ask price (L2: per level, best first)",
    "ask_sz": "size at the ask, base units",
    "ask_n": "orders at the level",
    "bid_n": "orders at the level",
    "n_trades": "trades in the candle",
    "tx_count": "transactions in the block",
    "to_address": "receiver",
    "open": "first trade price of the minute",
    "high": "highest trade price",
    "low": "lowest trade price",
    "close": "last trade price",
    "close_time_ms": "candle close time, epoch ms",
    "open_time_ms": "candle open time, epoch ms",
    "number": "block number",
    "hash": "hash, 0x hex",
    "parent_hash": "parent block hash",
    "miner": "block producer",
    "gas_used": "gas used",
    "gas_limit": "gas limit",
    "block_number": "block number",
    "tx_hash": "transaction hash",
    "log_index": "log position in the block",
    "gas": "gas limit of the transaction",
    "nonce": "sender nonce",
    "tx_index": "position in the block",
    "from_address": "sender",
    "stream": "landed stream",
    "start_ms": "gap start, epoch ms",
    "end_ms": "gap end, epoch ms",
    "cause": "why data is missing (disconnect, stall, ...)",
    "wallet": "address, lowercase hex",
}


def _parse_ddl_docs() -> dict[str, tuple[str, list[tuple[str, str, str]]]]:
    """table → (description, [(column, type, comment)]) from the comments in schema.sql.

    A table's columns are its DDL lines; a view's are the lines of its first SELECT branch (one
    column per line, ``expr AS name`` or ``name``) with the type left empty: DuckDB binds it
    (``declared_columns``), which is only needed for the dictionary, not at import.
    """
    out: dict[str, tuple[str, list[tuple[str, str, str]]]] = {}
    comment: list[str] = []
    table = None
    in_view = False  # reading a view's first branch
    for raw in schema_sql().splitlines():
        line = raw.strip()
        if line.startswith(("CREATE TABLE", "CREATE VIEW")):
            words = line.split()
            table = words[5] if "IF NOT EXISTS" in line else words[2]
            out[table] = (" ".join(comment), [])
            comment = []
            in_view = line.startswith("CREATE VIEW")
        elif in_view:
            if line.startswith("FROM"):  # end of the first branch; the rest of the view is not documented
                table, in_view = None, False
                continue
            body, _, note = line.removeprefix("SELECT ").partition("--")
            out[table][1].append((body.strip().rstrip(",").split()[-1], "", note.strip()))
        elif line.startswith(");"):
            table = None
        elif line.startswith("--"):
            if table is None:
                comment.append(line.lstrip("- ").strip())
        elif table is not None and line:
            body, _, note = line.partition("--")
            # a storage hint (USING COMPRESSION …) is not part of the column's type
            parts = body.strip().rstrip(",").split(" USING COMPRESSION ")[0].split()
            out[table][1].append((parts[0], " ".join(parts[1:]), note.strip()))
        else:
            comment = [] if not line else comment
    return out


def data_dictionary_markdown() -> str:
    """The README data dictionary, generated from the DDL (schema.sql) and the feature layout."""
    lines = ["| table | column | type | meaning |", "|---|---|---|---|"]
    bound = declared_columns()  # the types of view columns
    for table, (desc, cols) in _parse_ddl_docs().items():
        lines.append(f"| **{table}** | | | {desc} |")
        for name, dtype, note in cols:
            lines.append(f"| {table} | {name} | {dtype or bound[table][name]} | {note or _COMMON_DOCS.get(name, '')} |")
    lines.append("| **wallet_features** | | | one row per wallet, the 36 features of SPEC §7 over a window |")
    for name, dtype in wallet_features_columns().items():
        note = "address, lowercase hex" if name == "wallet" else _COVERAGE_DOCS.get(name, _FEATURE_UNITS)
        lines.append(f"| wallet_features | {name} | {dtype} | {note} |")
    return "\n".join(lines) + "\n"


def raw_table_descriptions() -> dict[str, str]:
    """Raw table → its one-line description from schema.sql (for asset descriptions)."""
    docs = _parse_ddl_docs()
    return {t: docs[t][0] for t in RAW_TABLES}


RAW_TABLE_DESCRIPTIONS: dict[str, str] = raw_table_descriptions()
