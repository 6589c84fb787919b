"""Load landed hours into DuckDB. A call replaces a whole range of hours in ONE transaction: per
stream it deletes the range's hours and inserts every part of the range with one INSERT … SELECT,
so re-loading a partition replaces it (idempotent) and a backfill of N hours costs one statement
per table instead of N (one commit, no per-hour checkpoints, parallel scans over many parts).

The ``hour`` column is the landing partition, read from each part's ``date=…/hour=…`` folder.
Rows with a key are deduplicated within their partition (``_STREAMS``): trades on ``(coin, time, tid)``
(a reconnect can land a trade twice; its hour is a function of its time, so duplicates never span
hours), candles on ``(coin, interval, open_time)`` keeping the last received, EVM blocks, transactions
and transfers on their ids. A cheap hash count finds the hours that hold a duplicate at all; only
those pay for the ``DISTINCT ON``. ``fills`` is a view over ``trades`` (schema.sql): loading writes
each trade once.

Speed notes (bench/features.py): ``preserve_insertion_order`` is off while loading so DuckDB appends
in parallel; the random hex hashes of ``trades`` and ``evm_blocks`` are stored uncompressed
(schema.sql ``USING COMPRESSION uncompressed``): dictionary+FSST analysis of an incompressible
66-character hex string cost about 40% of the trades insert for a 2× size gain on a rarely read column.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.landing.zone import Hour
from hypertrack_pipeline.warehouse.schema import RAW_VIEWS, ensure_schema, session_setting

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

@dataclass(frozen=True)
class _Stream:
    """How one landed stream becomes rows of its table: the SELECT list over its Parquet columns (plus
    the hive columns date and hour), and the key that identifies a row within a partition when the
    landing may hold it twice (reconnect overlaps, a re-sent candle, a block re-read after a crash)."""

    table: str
    select: str
    key: tuple[str, ...] = ()
    latest_first: str = ""  # ORDER BY of the duplicates: the first one is kept (default: any)


_STREAMS: dict[str, _Stream] = {
    "trades": _Stream("trades", f"coin, side, px, sz, px * sz, time, {_TS}, tid, hash, buyer, seller, {_HOUR}",
                      key=("coin", "time", "tid")),
    "bbo": _Stream("bbo", f"""coin, time, {_TS}, bid_px, bid_sz, bid_n, ask_px, ask_sz, ask_n,
        (bid_px + ask_px) / 2, {_HOUR}"""),
    "l2book": _Stream("l2_snapshots", f"""coin, time, {_TS}, bid_px, bid_sz, bid_n, ask_px, ask_sz, ask_n,
        CASE WHEN len(bid_px) > 0 AND len(ask_px) > 0 THEN (bid_px[1] + ask_px[1]) / 2 END, {_HOUR}"""),
    "candles": _Stream("candles", f"""coin, interval, open_time, close_time, epoch_ms(open_time), open, high, low,
        close, volume, n_trades, {_HOUR}""", key=("coin", "interval", "open_time"), latest_first="recv_ns DESC"),
    "evm_blocks": _Stream("evm_blocks", f"""number, hash, parent_hash, time, {_TS}, miner, gas_used, gas_limit,
        base_fee, tx_count, {_HOUR}""", key=("number",)),
    "evm_transactions": _Stream("evm_transactions", f"""hash, block_number, time, {_TS}, tx_index, from_address,
        to_address, value, gas, gas_price, nonce, input_size, method_id, {_HOUR}""", key=("hash",)),
    "evm_token_transfers": _Stream("evm_token_transfers", f"""block_number, time, {_TS}, tx_hash, log_index,
        token, from_address, to_address, amount_raw, decimals, amount, {_HOUR}""", key=("tx_hash", "log_index")),
    "gaps": _Stream("gaps", f"stream, coin, start_ms, end_ms, cause, {_HOUR}"),
}


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


def _insert(con: duckdb.DuckDBPyConnection, spec: _Stream, files: list[str]) -> int:
    """Insert every part of ``files`` into the stream's table, each key once per partition; rows inserted.

    A hash count (cheap) decides whether the parts hold a duplicate at all; only the hours that do pay
    for the ``DISTINCT ON`` (equal rows hash equal: a collision can only cause a needless dedup)."""
    def insert(src: str) -> int:
        return int(con.execute(f"INSERT INTO {spec.table} SELECT {spec.select} FROM {src}").fetchall()[0][0])

    src = _source(files)
    if not spec.key:
        return insert(src)
    key_hash = f"hash({', '.join(spec.key)})"
    dup_hours = {(str(d), int(h)) for d, h in con.execute(f"""
        SELECT date, hour FROM {src} GROUP BY date, hour HAVING count(*) > count(DISTINCT {key_hash})""").fetchall()}
    if not dup_hours:
        return insert(src)
    clean = [f for f in files if _hive_key(f) not in dup_hours]
    dups = [f for f in files if _hive_key(f) in dup_hours]
    keys = ", ".join(("date", "hour", *spec.key))
    order = f" ORDER BY {keys}, {spec.latest_first}" if spec.latest_first else ""
    return (insert(_source(clean)) if clean else 0) + insert(f"(SELECT DISTINCT ON ({keys}) * FROM {_source(dups)}{order})")


def _hive_key(path: str) -> tuple[str, int]:
    """(date, hour) of a part from its date=…/hour=… folders."""
    parts = path.replace("\\", "/").split("/")
    return parts[-3].removeprefix("date="), int(parts[-2].removeprefix("hour="))


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
    # parallel appends need no reordering: let DuckDB write in any order while loading
    with session_setting(con, "preserve_insertion_order", False):
        con.execute("BEGIN TRANSACTION")
        try:
            for stream in wanted:
                for table in STREAM_TABLES[stream]:
                    if table not in RAW_VIEWS:
                        con.execute(f"DELETE FROM {table} WHERE {where}")
                files = _list_parts(con, raw, stream, hours)
                if not files:
                    continue
                n = _insert(con, _STREAMS[stream], files)
                counts[STREAM_TABLES[stream][0]] = n
                if stream == "trades":
                    counts["fills"] = 2 * n  # the fills view: a buyer's and a seller's row per trade
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return counts


def load_hour(con: duckdb.DuckDBPyConnection, raw_dir: Path | str, hour: Hour,
              streams: Iterable[str] | None = None) -> dict[str, int]:
    """Replace one hour of the given streams (a one-hour range)."""
    return load_hours(con, raw_dir, [hour], streams)
