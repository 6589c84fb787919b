"""Load landed hours into DuckDB: one transaction per hour that first deletes the hour and then
inserts it again, so re-loading a partition replaces it (idempotent) and a backfill is a loop.

Trades are deduplicated on ``(coin, time, tid)``: a reconnect can land the same trade in two parts
of the same hour (a trade's hour is a function of its time, so duplicates never span hours).
``fills`` is derived from the deduplicated trades: the buyer's and the seller's row of each trade.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import duckdb

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.landing.zone import Hour
from hypertrack_pipeline.warehouse.schema import ensure_schema

# landed stream → the warehouse tables it feeds
STREAM_TABLES: dict[str, tuple[str, ...]] = {
    "trades": ("trades", "fills"),
    "bbo": ("bbo",),
    "l2book": ("l2_snapshots",),
    "candles": ("candles",),
    "evm_blocks": ("evm_blocks",),
    "evm_transactions": ("evm_transactions",),
    "evm_token_transfers": ("evm_token_transfers",),
    "gaps": ("gaps",),
}

# SELECT list per table over `src` (the parquet parts); `$hour` is the partition as epoch ms.
_TS = "epoch_ms(time)"
_INSERTS: dict[str, str] = {
    "bbo": f"""INSERT INTO bbo SELECT coin, time, {_TS}, bid_px, bid_sz, bid_n, ask_px, ask_sz, ask_n,
        (bid_px + ask_px) / 2, epoch_ms($hour) FROM src""",
    "l2book": f"""INSERT INTO l2_snapshots SELECT coin, time, {_TS}, bid_px, bid_sz, bid_n, ask_px, ask_sz,
        ask_n, CASE WHEN len(bid_px) > 0 AND len(ask_px) > 0 THEN (bid_px[1] + ask_px[1]) / 2 END,
        epoch_ms($hour) FROM src""",
    "candles": """INSERT INTO candles SELECT coin, interval, open_time, close_time, epoch_ms(open_time),
        open, high, low, close, volume, n_trades, epoch_ms($hour)
        FROM (SELECT DISTINCT ON (coin, interval, open_time) * FROM src ORDER BY coin, interval, open_time,
              recv_ns DESC)""",
    "evm_blocks": f"""INSERT INTO evm_blocks SELECT number, hash, parent_hash, time, {_TS}, miner, gas_used,
        gas_limit, base_fee, tx_count, epoch_ms($hour)
        FROM (SELECT DISTINCT ON (number) * FROM src)""",
    "evm_transactions": f"""INSERT INTO evm_transactions SELECT hash, block_number, time, {_TS}, tx_index,
        from_address, to_address, value, gas, gas_price, nonce, input_size, method_id, epoch_ms($hour)
        FROM (SELECT DISTINCT ON (hash) * FROM src)""",
    "evm_token_transfers": f"""INSERT INTO evm_token_transfers SELECT block_number, time, {_TS}, tx_hash,
        log_index, token, from_address, to_address, amount_raw, decimals, amount, epoch_ms($hour)
        FROM (SELECT DISTINCT ON (tx_hash, log_index) * FROM src)""",
    "gaps": "INSERT INTO gaps SELECT stream, coin, start_ms, end_ms, cause, epoch_ms($hour) FROM src",
}

# Trades: deduplicate only when the hour has duplicates (a cheap key count decides), then insert the
# trades and both fills straight from the parts.
_HAS_DUPLICATES = "SELECT count(*) > count(DISTINCT (coin, time, tid)) FROM src"
_DEDUP_SRC = "SELECT * FROM (SELECT DISTINCT ON (coin, time, tid) * FROM read_parquet('{pattern}'))"
_TRADES: tuple[tuple[str, str], ...] = (
    ("trades", """INSERT INTO trades SELECT coin, side, px, sz, px * sz, time, epoch_ms(time), tid, hash, buyer,
        seller, epoch_ms($hour) FROM src"""),
    ("fills", """INSERT INTO fills
        SELECT buyer, coin, time, epoch_ms(time), tid, 'B', 1, side = 'A', px, sz, px * sz, seller, epoch_ms($hour)
        FROM src
        UNION ALL
        SELECT seller, coin, time, epoch_ms(time), tid, 'S', -1, side = 'B', px, sz, px * sz, buyer, epoch_ms($hour)
        FROM src"""),
)


def _glob(raw_dir: Path | str, stream: str, hour: Hour) -> str:
    """Glob of the hour's completed parts, quote-escaped for splicing into a SQL string literal."""
    base = str(raw_dir).rstrip("/")
    return f"{base}/{stream}/{hour.rel_dir()}/part-*.parquet".replace("'", "''")


def _has_files(con: duckdb.DuckDBPyConnection, pattern: str) -> bool:
    return con.execute("SELECT count(*) FROM glob(?)", [pattern.replace("''", "'")]).fetchall()[0][0] > 0


def _as_hour(value: datetime | Hour | str) -> Hour:
    if isinstance(value, Hour):
        return value
    if isinstance(value, str):
        return Hour.from_key(value)
    if value.tzinfo is None:
        raise UserError(f"hour {value!r} must be timezone-aware (UTC)")
    return Hour.of_ms(int(value.timestamp() * 1000))


def load_hour(con: duckdb.DuckDBPyConnection, raw_dir: Path | str, hour: Hour,
              streams: Iterable[str] | None = None) -> dict[str, int]:
    """Replace one hour of the given streams in one transaction; rows inserted per table."""
    wanted = list(STREAM_TABLES) if streams is None else list(streams)
    unknown = [s for s in wanted if s not in STREAM_TABLES]
    if unknown:
        raise UserError(f"unknown stream(s) {', '.join(unknown)}; known: {', '.join(STREAM_TABLES)}")
    counts: dict[str, int] = {}
    hour_ms = hour.start_ms
    con.execute("BEGIN TRANSACTION")
    try:
        for stream in wanted:
            for table in STREAM_TABLES[stream]:
                con.execute(f"DELETE FROM {table} WHERE hour = epoch_ms(?::BIGINT)", [hour_ms])
            pattern = _glob(raw_dir, stream, hour)
            if not _has_files(con, pattern):
                counts.update({t: 0 for t in STREAM_TABLES[stream]})
                continue
            con.execute(f"CREATE OR REPLACE TEMP VIEW src AS SELECT * FROM read_parquet('{pattern}')")
            if stream == "trades":
                if con.execute(_HAS_DUPLICATES).fetchall()[0][0]:
                    con.execute(f"CREATE OR REPLACE TEMP TABLE _dedup AS {_DEDUP_SRC.format(pattern=pattern)}")
                    con.execute("CREATE OR REPLACE TEMP VIEW src AS SELECT * FROM _dedup")
                steps = _TRADES
            else:
                steps = ((STREAM_TABLES[stream][0], _INSERTS[stream]),)
            for table, sql in steps:
                result = con.execute(sql.replace("$hour", f"{hour_ms}::BIGINT")).fetchall()
                counts[table] = int(result[0][0])  # INSERT returns its row count
        con.execute("DROP VIEW IF EXISTS src")
        con.execute("DROP TABLE IF EXISTS _dedup")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts


def load_hours(con: duckdb.DuckDBPyConnection, raw_dir: Path | str, hour_starts: Iterable[datetime | Hour | str],
               streams: Iterable[str] | None = None) -> dict[str, int]:
    """Load (or re-load) a range of landed hours: one transaction per hour; rows per table, summed.

    ``raw_dir`` is the landing root holding ``<stream>/date=…/hour=…/part-*.parquet``; a missing stream
    folder loads 0 rows. Hours are tz-aware datetimes (UTC), ``Hour`` objects or partition keys.
    """
    raw = str(raw_dir)
    if "://" not in raw and not Path(raw).is_dir():
        raise UserError(f"landing folder {raw} does not exist")
    ensure_schema(con)
    stream_list = None if streams is None else list(streams)
    hours = [_as_hour(v) for v in hour_starts]
    totals: dict[str, int] = {}
    # A backfill commits once per hour; without this every commit of a big hour would also trigger a
    # checkpoint (rewriting storage). One checkpoint at the end does the same work once.
    previous = con.execute("SELECT current_setting('checkpoint_threshold')").fetchall()[0][0]
    if len(hours) > 1:
        con.execute("SET checkpoint_threshold = '4GB'")
    try:
        for hour in hours:
            for table, n in load_hour(con, raw, hour, stream_list).items():
                totals[table] = totals.get(table, 0) + n
    finally:
        if len(hours) > 1:
            con.execute(f"SET checkpoint_threshold = '{previous}'")
            con.execute("CHECKPOINT")
    return totals
