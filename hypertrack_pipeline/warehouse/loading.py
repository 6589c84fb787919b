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

from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

import duckdb

from hypertrack_pipeline.datasets import DATASETS, Dataset
from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.landing.zone import Hour
from hypertrack_pipeline.warehouse.audit import LoadProblem, audit_parts
from hypertrack_pipeline.warehouse.schema import RAW_VIEWS, ensure_schema, session_setting

# landed stream → the warehouse tables it feeds (trades also feeds the fills view)
STREAM_TABLES: dict[str, tuple[str, ...]] = {
    name: (d.table.name, "fills") if name == "trades" else (d.table.name,) for name, d in DATASETS.items()
}

_PART_GLOB = "part-*.parquet"


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


def _insert(con: duckdb.DuckDBPyConnection, spec: Dataset, files: list[str]) -> int:
    """Insert every part of ``files`` into the stream's table, each key once per partition; rows inserted.

    A hash count (cheap) decides whether the parts hold a duplicate at all; only the hours that do pay
    for the ``DISTINCT ON`` (equal rows hash equal: a collision can only cause a needless dedup)."""
    def insert(src: str) -> int:
        return int(con.execute(f"INSERT INTO {spec.table.name} SELECT {spec.select_sql} FROM {src}").fetchall()[0][0])

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
    order = f" ORDER BY {keys}, {spec.keep_latest_by}" if spec.keep_latest_by else ""
    return (insert(_source(clean)) if clean else 0) + insert(f"(SELECT DISTINCT ON ({keys}) * FROM {_source(dups)}{order})")


def _hive_key(path: str) -> tuple[str, int]:
    """(date, hour) of a part from its date=…/hour=… folders."""
    parts = path.replace("\\", "/").split("/")
    return parts[-3].removeprefix("date="), int(parts[-2].removeprefix("hour="))


def load_hours(con: duckdb.DuckDBPyConnection, raw_dir: Path | str, hour_starts: Iterable[datetime | Hour | str],
               streams: Iterable[str] | None = None, fingerprints: Mapping[str, str] | None = None,
               problems: list[LoadProblem] | None = None) -> dict[str, int]:
    """Load (or re-load) a range of landed hours in one transaction; rows inserted per table.

    ``raw_dir`` is the landing root holding ``<stream>/date=…/hour=…/part-*.parquet``; a missing stream
    folder loads 0 rows. Hours are tz-aware datetimes (UTC), ``Hour`` objects or partition keys. Any
    error rolls the whole range back (the hours keep their previous rows). ``fingerprints`` (hour key →
    digest of its markers) are recorded in ``landing_loads`` in the same transaction, so the warehouse
    itself says which version of each hour it holds.

    Bad parts never stop the load (:mod:`audit`): an unreadable part is quarantined, a missing part or a
    row count that differs from the marker is reported; each problem is appended to ``problems`` and
    recorded in ``load_errors`` (the rows of the loaded hours are replaced).
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
    found_all: list[LoadProblem] = [] if problems is None else problems
    try:
        return _load_once(con, raw, wanted, hours, where, fingerprints, found_all, deep=False)
    except duckdb.Error:
        if "://" in raw:
            raise
        # a part with a valid footer but unreadable pages: read every page to find and quarantine it
        return _load_once(con, raw, wanted, hours, where, fingerprints, found_all, deep=True)


def _load_once(con: duckdb.DuckDBPyConnection, raw: str, wanted: list[str], hours: list[Hour], where: str,
               fingerprints: Mapping[str, str] | None, found_all: list[LoadProblem], deep: bool) -> dict[str, int]:
    """One attempt at the whole range in one transaction (rolled back on any error)."""
    counts = {t: 0 for s in wanted for t in STREAM_TABLES[s]}
    # parallel appends need no reordering: let DuckDB write in any order while loading
    with session_setting(con, "preserve_insertion_order", False):
        con.execute("BEGIN TRANSACTION")
        try:
            for stream in wanted:
                for table in STREAM_TABLES[stream]:
                    if table not in RAW_VIEWS:
                        con.execute(f"DELETE FROM {table} WHERE {where}")
                files = _list_parts(con, raw, stream, hours)
                if "://" not in raw:
                    files, found = audit_parts(Path(raw), stream, hours, files, deep=deep)
                    found_all += found
                if not files:
                    continue
                n = _insert(con, DATASETS[stream], files)
                counts[STREAM_TABLES[stream][0]] = n
                if stream == "trades":
                    counts["fills"] = 2 * n  # the fills view: a buyer's and a seller's row per trade
            if fingerprints is not None:
                _record_loads(con, hours, fingerprints, where)
            _record_problems(con, found_all, where)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return counts


def _record_problems(con: duckdb.DuckDBPyConnection, found: list[LoadProblem], where: str) -> None:
    con.execute(f"DELETE FROM load_errors WHERE {where}")
    if found:
        con.executemany("INSERT INTO load_errors VALUES (strptime(?, '%Y-%m-%d-%H:%M'), ?, ?, ?, ?)",
                        [(p.hour.key, p.stream, p.path, p.kind, p.message) for p in found])


def load_hour(con: duckdb.DuckDBPyConnection, raw_dir: Path | str, hour: Hour,
              streams: Iterable[str] | None = None) -> dict[str, int]:
    """Replace one hour of the given streams (a one-hour range)."""
    return load_hours(con, raw_dir, [hour], streams)


def _record_loads(con: duckdb.DuckDBPyConnection, hours: list[Hour], fingerprints: Mapping[str, str],
                  where: str) -> None:
    """Replace the landing_loads rows of these hours (inside the load's transaction)."""
    con.execute(f"DELETE FROM landing_loads WHERE {where}")
    rows = [(h.key, fingerprints.get(h.key, "")) for h in hours]
    con.executemany("""INSERT INTO landing_loads
        SELECT strptime(?, '%Y-%m-%d-%H:%M'), ?, 0, now()::TIMESTAMP""", rows)
    con.execute(f"""UPDATE landing_loads l SET trades = t.n
        FROM (SELECT hour, count(*) AS n FROM trades WHERE {where} GROUP BY hour) t
        WHERE l.hour = t.hour""")


def loaded_versions(con: duckdb.DuckDBPyConnection) -> dict[int, str]:
    """Landing hour (start, epoch ms) → the version the warehouse holds (fingerprint and load time, from
    landing_loads): a re-load changes it even when the markers did not. What incremental builds key on."""
    if "landing_loads" not in {r[0] for r in con.execute("SHOW TABLES").fetchall()}:
        return {}
    rows = con.execute("""SELECT epoch_ms(hour), fingerprint || '@' || strftime(loaded_at, '%Y-%m-%dT%H:%M:%S.%f')
                          FROM landing_loads""").fetchall()
    return {int(h): str(v) for h, v in rows}
