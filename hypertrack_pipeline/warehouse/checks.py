"""Asset-check SQL: each check returns (passed, metadata) with plain floats/ints/strs/lists in the
metadata, so the Dagster layer can hand them to AssetCheckResult unchanged."""

from __future__ import annotations

import duckdb

from hypertrack_pipeline.feature_names import FEATURE_NAMES
from hypertrack_pipeline.warehouse.schema import declared_columns, table_columns
from hypertrack_pipeline.warehouse.window import check_identifier

KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "trades": ("coin", "time_ms", "tid", "buyer", "seller"),
    "fills": ("wallet", "coin", "time_ms", "tid"),
    "bbo": ("coin", "time_ms"),
    "l2_snapshots": ("coin", "time_ms"),
    "candles": ("coin", "open_time_ms"),
    "evm_transactions": ("hash", "from_address"),
    "evm_token_transfers": ("tx_hash", "log_index", "token"),
    "wallet_features": ("wallet",),
    "wallet_pnl": ("wallet",),
}


def markdown_table(con: duckdb.DuckDBPyConnection, sql: str, width: int = 60) -> str:
    """The rows of ``sql`` as a markdown table (check metadata, asset previews)."""
    rel = con.execute(sql)
    cols = [d[0] for d in rel.description]

    def cell(v: object) -> str:
        text = f"{v:.9g}" if isinstance(v, float) else str(v)
        return text.replace("|", "\\|").replace("\n", " ")[:width]

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rel.fetchall()]
    return "\n".join(lines)


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    return con.execute(sql).fetchall()[0]


def check_schema(con: duckdb.DuckDBPyConnection, tables: list[str] | None = None) -> tuple[bool, dict]:
    """Every table exists with the declared columns and types (extra tables are ignored)."""
    declared = declared_columns()
    problems: list[str] = []
    for table in tables or list(declared):
        actual = table_columns(con, table)
        if not actual:
            problems.append(f"{table}: missing")
            continue
        for col, dtype in declared[table].items():
            if col not in actual:
                problems.append(f"{table}.{col}: missing")
            elif actual[col] != dtype:
                problems.append(f"{table}.{col}: {actual[col]} (expected {dtype})")
    return not problems, {"tables_checked": len(tables or declared), "problems": problems}


def check_no_null_keys(con: duckdb.DuckDBPyConnection, tables: list[str] | None = None) -> tuple[bool, dict]:
    """No NULL in the key columns of the given tables (default: all with declared keys that exist)."""
    nulls: dict[str, int] = {}
    for table in tables or list(KEY_COLUMNS):
        if not table_columns(con, table):
            continue
        cond = " OR ".join(f"{c} IS NULL" for c in KEY_COLUMNS[table])
        nulls[table] = int(_one(con, f"SELECT count(*) FROM {table} WHERE {cond}")[0])
    return all(v == 0 for v in nulls.values()), {"null_key_rows": nulls}


def check_unique_trade_ids(con: duckdb.DuckDBPyConnection) -> tuple[bool, dict]:
    """(coin, time_ms, tid) identifies one trade."""
    total, distinct = _one(con, "SELECT count(*), count(DISTINCT (coin, time_ms, tid)) FROM trades")
    return total == distinct, {"trades": int(total), "duplicates": int(total - distinct)}


def check_fills_match_trades(con: duckdb.DuckDBPyConnection) -> tuple[bool, dict]:
    """Every trade has exactly its buyer's and its seller's fill."""
    trades = int(_one(con, "SELECT count(*) FROM trades")[0])
    fills = int(_one(con, "SELECT count(*) FROM fills")[0])
    return fills == 2 * trades, {"trades": trades, "fills": fills}


def check_features_non_constant(con: duckdb.DuckDBPyConnection,
                                table: str = "wallet_features") -> tuple[bool, dict]:
    """No feature takes one value over every wallet (the prototype had 18 such); lists the constant ones."""
    table = check_identifier(table)
    exprs = ", ".join(f"min({f}) = max({f})" for f in FEATURE_NAMES)
    wallets = int(_one(con, f"SELECT count(*) FROM {table}")[0])
    flags = _one(con, f"SELECT {exprs} FROM {table}") if wallets else (True,) * len(FEATURE_NAMES)
    constant = [f for f, c in zip(FEATURE_NAMES, flags, strict=True) if c]
    return wallets >= 2 and not constant, {"wallets": wallets, "constant_features": constant,
                                           "n_constant": len(constant)}


def check_candle_coverage(con: duckdb.DuckDBPyConnection, min_share: float = 0.9) -> tuple[bool, dict]:
    """Share of fills whose coin-minute has a completed 1m candle (features 24, 27–36 need it)."""
    fills, covered = _one(con, """
        SELECT count(*), count(c.coin) FROM fills f
        LEFT JOIN (SELECT DISTINCT coin, open_time_ms FROM candles WHERE interval = '1m') c
          ON f.coin = c.coin AND c.open_time_ms = f.time_ms - f.time_ms % 60000""")
    share = covered / fills if fills else 0.0
    return fills > 0 and share >= min_share, {"fills": int(fills), "fills_with_candle": int(covered),
                                              "candle_share": float(share), "min_share": min_share}


def check_gaps(con: duckdb.DuckDBPyConnection, max_gap_share: float = 0.05) -> tuple[bool, dict]:
    """Report recorded gaps per stream; fails when a stream's gaps cover more than ``max_gap_share``
    of the loaded time span."""
    span = _one(con, "SELECT min(time_ms), max(time_ms) FROM trades")
    lo, hi = span if span[0] is not None else (None, None)
    rows = con.execute("""
        SELECT stream, count(*), sum(end_ms - start_ms), max(end_ms - start_ms) FROM gaps GROUP BY stream
        ORDER BY stream""").fetchall()
    per_stream = {s: {"gaps": int(n), "seconds": float(total) / 1000, "longest_s": float(longest) / 1000}
                  for s, n, total, longest in rows}
    span_ms = (hi - lo) if lo is not None and hi > lo else None
    worst = max((v["seconds"] * 1000 / span_ms for v in per_stream.values()), default=0.0) if span_ms else 0.0
    return worst <= max_gap_share, {"gaps_total": sum(v["gaps"] for v in per_stream.values()),
                                     "per_stream": per_stream, "worst_gap_share": float(worst),
                                     "max_gap_share": max_gap_share}


def check_landing_files(con: duckdb.DuckDBPyConnection) -> tuple[bool, dict]:
    """No loaded hour had a quarantined part, a part missing from disk or a row count that differs from
    its _SUCCESS marker (load_errors); the problems are listed as a table."""
    sql = """SELECT strftime(hour, '%Y-%m-%d-%H:00') AS hour, stream, kind, message, coalesce(path, '') AS path
             FROM load_errors ORDER BY hour, stream"""
    rows = con.execute(sql).fetchall()
    table = markdown_table(con, f"{sql} LIMIT 50", width=400)
    kinds: dict[str, int] = {}
    for r in rows:
        kinds[r[2]] = kinds.get(r[2], 0) + 1
    return not rows, {"problems": len(rows), "by_kind": kinds, "hours": len({r[0] for r in rows}),
                      **({"details": table} if rows else {})}
