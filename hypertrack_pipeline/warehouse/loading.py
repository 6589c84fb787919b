"""Load landed hours into DuckDB. A call replaces a whole range of hours in ONE transaction: per
stream it deletes the range's hours and inserts every part of the range with one INSERT … SELECT,
so re-loading a partition replaces it (idempotent) and a backfill of N hours costs one statement
per table instead of N (one commit, no per-hour checkpoints, parallel scans over many parts).

The ``hour`` column is the landing partition, read from each part's ``date=…/hour=…`` folder.
Trades are deduplicated on ``(coin, time, tid)`` within their partition: a reconnect can land the
same trade twice (a trade's hour is a function of its time, so duplicates never span hours). A
cheap hash count decides whether the range has duplicates at all; only the hours that do pay for
the ``DISTINCT ON``. ``fills`` is then derived from the freshly inserted trades in one pass (the
buyer's and the seller's row of each trade), so the parts are decoded once.

Speed notes (bench/features.py): ``preserve_insertion_order`` is off while loading so DuckDB appends
in parallel; the random hex hashes of ``trades`` and ``evm_blocks`` are stored uncompressed
(schema.sql ``USING COMPRESSION uncompressed``): dictionary+FSST analysis of an incompressible
66-character hex string cost about 40% of the trades insert for a 2× size gain on a rarely read column.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
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

_PART_GLOB = "part-*.parquet"
# The landing partition of a row, from its part's hive folders (date=YYYY-MM-DD/hour=HH).
_HOUR = "(date::TIMESTAMP + to_hours(hour))"
_TS = "epoch_ms(time)"

# SELECT per table over `src` (the range's parts, with the hive columns date and hour). Dedup keys
# include the partition, so loading hours together or one by one gives the same rows.
_INSERTS: dict[str, str] = {
    "bbo": f"""INSERT INTO bbo SELECT coin, time, {_TS}, bid_px, bid_sz, bid_n, ask_px, ask_sz, ask_n,
        (bid_px + ask_px) / 2, {_HOUR} FROM src""",
    "l2book": f"""INSERT INTO l2_snapshots SELECT coin, time, {_TS}, bid_px, bid_sz, bid_n, ask_px, ask_sz,
        ask_n, CASE WHEN len(bid_px) > 0 AND len(ask_px) > 0 THEN (bid_px[1] + ask_px[1]) / 2 END,
        {_HOUR} FROM src""",
    "candles": f"""INSERT INTO candles SELECT coin, interval, open_time, close_time, epoch_ms(open_time),
        open, high, low, close, volume, n_trades, {_HOUR}
        FROM (SELECT DISTINCT ON (date, hour, coin, interval, open_time) * FROM src
              ORDER BY date, hour, coin, interval, open_time, recv_ns DESC)""",
    "evm_blocks": f"""INSERT INTO evm_blocks SELECT number, hash, parent_hash, time, {_TS}, miner, gas_used,
        gas_limit, base_fee, tx_count, {_HOUR}
        FROM (SELECT DISTINCT ON (date, hour, number) * FROM src)""",
    "evm_transactions": f"""INSERT INTO evm_transactions SELECT hash, block_number, time, {_TS}, tx_index,
        from_address, to_address, value, gas, gas_price, nonce, input_size, method_id, {_HOUR}
        FROM (SELECT DISTINCT ON (date, hour, hash) * FROM src)""",
    "evm_token_transfers": f"""INSERT INTO evm_token_transfers SELECT block_number, time, {_TS}, tx_hash,
        log_index, token, from_address, to_address, amount_raw, decimals, amount, {_HOUR}
        FROM (SELECT DISTINCT ON (date, hour, tx_hash, log_index) * FROM src)""",
    "gaps": f"INSERT INTO gaps SELECT stream, coin, start_ms, end_ms, cause, {_HOUR} FROM src",
}

_TRADE_KEY = "hash(coin, time, tid)"  # equal trades hash equal: a collision can only cause needless dedup
_TRADES_SELECT = f"""SELECT coin, side, px, sz, px * sz, time, {_TS}, tid, hash, buyer, seller, {_HOUR}
    FROM {{src}}"""
_FILLS = """INSERT INTO fills
    SELECT buyer, coin, time_ms, ts, tid, 'B', 1, side = 'A', px, sz, notional, seller, hour
    FROM trades WHERE {where}
    UNION ALL
    SELECT seller, coin, time_ms, ts, tid, 'S', -1, side = 'B', px, sz, notional, buyer, hour
    FROM trades WHERE {where}"""


def _sql_list(items: Iterable[str]) -> str:
    """A DuckDB list literal of quoted strings (paths, hour literals)."""
    return "[" + ", ".join("'" + s.replace("'", "''") + "'" for s in items) + "]"


def _source(files: list[str]) -> str:
    return (f"read_parquet({_sql_list(files)}, hive_partitioning = true, "
            "hive_types = {'date': DATE, 'hour': INTEGER})")


def _list_parts(con: duckdb.DuckDBPyConnection, raw: str, stream: str, hours: list[Hour]) -> list[str]:
    """Completed parts of ``stream`` in the given hours (temp files of a writer never match)."""
    base = raw.rstrip("/")
    if "://" in base:  # object storage: let DuckDB (httpfs) list each hour
        files: list[str] = []
        for hour in hours:
            pattern = f"{base}/{stream}/{hour.rel_dir()}/{_PART_GLOB}"
            files += [r[0] for r in con.execute("SELECT file FROM glob(?) ORDER BY file", [pattern]).fetchall()]
        return files
    files = []
    for hour in hours:
        folder = Path(base) / stream / hour.rel_dir()
        if folder.is_dir():
            files += sorted(str(p) for p in folder.glob(_PART_GLOB))
    return files


def _as_hour(value: datetime | Hour | str) -> Hour:
    if isinstance(value, Hour):
        return value
    if isinstance(value, str):
        return Hour.from_key(value)
    if value.tzinfo is None:
        raise UserError(f"hour {value!r} must be timezone-aware (UTC)")
    return Hour.of_ms(int(value.timestamp() * 1000))


def _hour_predicate(hours: list[Hour]) -> str:
    """SQL predicate on ``hour`` selecting exactly these (sorted, distinct) hours."""
    if hours[-1].start_ms - hours[0].start_ms == (len(hours) - 1) * 3_600_000:  # contiguous range
        return f"hour BETWEEN epoch_ms({hours[0].start_ms}) AND epoch_ms({hours[-1].start_ms})"
    return f"hour IN (SELECT epoch_ms(unnest([{', '.join(str(h.start_ms) for h in hours)}])))"


def _insert_trades(con: duckdb.DuckDBPyConnection, files: list[str], where: str) -> dict[str, int]:
    src = _source(files)
    has_dups = con.execute(f"SELECT count(*) > count(DISTINCT {_TRADE_KEY}) FROM {src}").fetchall()[0][0]
    if not has_dups:
        n = con.execute("INSERT INTO trades " + _TRADES_SELECT.format(src=src)).fetchall()[0][0]
    else:
        # only the hours holding a duplicate pay for DISTINCT ON; the rest go straight in
        dup_hours = {(str(d), int(h)) for d, h in con.execute(f"""
            SELECT date, hour FROM {src} GROUP BY date, hour
            HAVING count(*) > count(DISTINCT {_TRADE_KEY})""").fetchall()}
        dup_files = [f for f in files if _hive_key(f) in dup_hours]
        clean = [f for f in files if _hive_key(f) not in dup_hours]
        n = 0
        if clean:
            n += con.execute("INSERT INTO trades " + _TRADES_SELECT.format(src=_source(clean))).fetchall()[0][0]
        dedup = f"(SELECT DISTINCT ON (date, hour, coin, time, tid) * FROM {_source(dup_files)})"
        n += con.execute("INSERT INTO trades " + _TRADES_SELECT.format(src=dedup)).fetchall()[0][0]
    fills = con.execute(_FILLS.format(where=where)).fetchall()[0][0]
    return {"trades": int(n), "fills": int(fills)}


def _hive_key(path: str) -> tuple[str, int]:
    """(date, hour) of a part from its date=…/hour=… folders."""
    parts = path.replace("\\", "/").split("/")
    return parts[-3].removeprefix("date="), int(parts[-2].removeprefix("hour="))


@contextlib.contextmanager
def _bulk_settings(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Let DuckDB write in any order while loading (parallel appends need no reordering). Session
    scope: other connections to the same database keep their setting; this one gets it back after."""
    previous = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute("SET SESSION preserve_insertion_order = false")
    try:
        yield
    finally:
        con.execute(f"SET SESSION preserve_insertion_order = {'true' if previous else 'false'}")


def load_hours(con: duckdb.DuckDBPyConnection, raw_dir: Path | str, hour_starts: Iterable[datetime | Hour | str],
               streams: Iterable[str] | None = None) -> dict[str, int]:
    """Load (or re-load) a range of landed hours in one transaction; rows inserted per table.

    ``raw_dir`` is the landing root holding ``<stream>/date=…/hour=…/part-*.parquet``; a missing stream
    folder loads 0 rows. Hours are tz-aware datetimes (UTC), ``Hour`` objects or partition keys. Any
    error rolls the whole range back (the hours keep their previous rows).
    """
    raw = str(raw_dir)
    if "://" not in raw and not Path(raw).is_dir():
        raise UserError(f"landing folder {raw} does not exist")
    wanted = list(STREAM_TABLES) if streams is None else list(streams)
    unknown = [s for s in wanted if s not in STREAM_TABLES]
    if unknown:
        raise UserError(f"unknown stream(s) {', '.join(unknown)}; known: {', '.join(STREAM_TABLES)}")
    hours = sorted({_as_hour(v) for v in hour_starts})
    ensure_schema(con)
    counts = {t: 0 for s in wanted for t in STREAM_TABLES[s]}
    if not hours:
        return counts
    where = _hour_predicate(hours)
    with _bulk_settings(con):
        con.execute("BEGIN TRANSACTION")
        try:
            for stream in wanted:
                for table in STREAM_TABLES[stream]:
                    con.execute(f"DELETE FROM {table} WHERE {where}")
                files = _list_parts(con, raw, stream, hours)
                if not files:
                    continue
                if stream == "trades":
                    counts.update(_insert_trades(con, files, where))
                else:
                    sql = _INSERTS[stream].replace("FROM src", f"FROM {_source(files)}")
                    counts[STREAM_TABLES[stream][0]] = int(con.execute(sql).fetchall()[0][0])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return counts


def load_hour(con: duckdb.DuckDBPyConnection, raw_dir: Path | str, hour: Hour,
              streams: Iterable[str] | None = None) -> dict[str, int]:
    """Replace one hour of the given streams (a one-hour range)."""
    return load_hours(con, raw_dir, [hour], streams)
