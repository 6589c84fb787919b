"""The Parquet landing zone: layout, atomic part writes and the hour-closed markers.

Layout (SPEC §3)::

    <raw>/<stream>/date=YYYY-MM-DD/hour=HH/part-<seq>.parquet
    <raw>/<stream>/date=YYYY-MM-DD/hour=HH/_SUCCESS      (JSON: rows, parts, complete, closed_by, closed_at)

Parts are written to a dot-prefixed temporary name in the same folder and renamed when complete,
so a reader never sees half a file (readers glob ``part-*.parquet``). An hour is *closed* for a
stream once its ``_SUCCESS`` marker exists; the Dagster sensor loads an hour once every stream
present for that hour is closed. Nothing here ever deletes a part.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from hypertrack_pipeline.landing.schemas import STREAM_SCHEMAS

log = logging.getLogger(__name__)

SUCCESS = "_SUCCESS"
HOUR_FORMAT = "%Y-%m-%d-%H:00"  # Dagster's hourly partition key format
_HOUR_DIR = re.compile(r"date=(\d{4}-\d{2}-\d{2})/hour=(\d{2})$")
_PART = re.compile(r"part-(\d+)\.parquet$")


@dataclass(frozen=True, order=True)
class Hour:
    """A UTC hour: the unit of landing, closing and loading."""

    start: datetime  # tz-aware UTC, minute = second = 0

    @classmethod
    def of_ms(cls, ms: int) -> Hour:
        t = datetime.fromtimestamp(ms / 1000, tz=UTC)
        return cls(t.replace(minute=0, second=0, microsecond=0))

    @classmethod
    def from_key(cls, key: str) -> Hour:
        """Parse a Dagster hourly partition key (``2026-01-01-13:00``)."""
        return cls(datetime.strptime(key, HOUR_FORMAT).replace(tzinfo=UTC))

    @property
    def key(self) -> str:
        return self.start.strftime(HOUR_FORMAT)

    @property
    def start_ms(self) -> int:
        return int(self.start.timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        return self.start_ms + 3_600_000

    @property
    def end(self) -> datetime:
        return self.start + timedelta(hours=1)

    def rel_dir(self) -> str:
        return f"date={self.start:%Y-%m-%d}/hour={self.start:%H}"

    def next(self) -> Hour:
        return Hour(self.end)


def hour_dir(raw_dir: Path, stream: str, hour: Hour) -> Path:
    return Path(raw_dir) / stream / hour.rel_dir()


def part_glob(raw_dir: Path, stream: str, hour: Hour) -> str:
    """Glob of the completed parts of one stream-hour (what DuckDB reads)."""
    return str(hour_dir(raw_dir, stream, hour) / "part-*.parquet")


def next_part_seq(directory: Path) -> int:
    """Next free part number in a folder: restarting appends, never overwrites."""
    best = -1
    if directory.is_dir():
        for name in os.listdir(directory):
            m = _PART.search(name)
            if m:
                best = max(best, int(m.group(1)))
    return best + 1


def write_part(raw_dir: Path, stream: str, hour: Hour, table: pa.Table, seq: int | None = None) -> Path:
    """Write one part atomically (temp name, fsync, rename) and return its final path.

    The table is cast to the stream's declared schema, so a writer can never land a column of the
    wrong type.
    """
    schema = STREAM_SCHEMAS[stream]
    for field in schema:  # an optional column the writer does not know (yet) lands as nulls
        if field.nullable and field.name not in table.column_names:
            table = table.append_column(field, pa.nulls(table.num_rows, field.type))
    table = table.select(schema.names).cast(schema)
    directory = hour_dir(raw_dir, stream, hour)
    directory.mkdir(parents=True, exist_ok=True)
    if seq is None:
        seq = next_part_seq(directory)
    final = directory / f"part-{seq:06d}.parquet"
    while final.exists():  # never overwrite a landed part
        seq += 1
        final = directory / f"part-{seq:06d}.parquet"
    tmp = directory / f".part-{seq:06d}.parquet.tmp"
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    return final


def mark_closed(raw_dir: Path, stream: str, hour: Hour, rows: int | None = None, *, complete: bool = True,
                closed_by: str = "watermark") -> Path:
    """Write (or rewrite) the hour's ``_SUCCESS`` marker atomically with row and part counts.

    ``complete`` is False when a recording stopped while the hour was still running (``closed_by``
    ``"stop"``): the hour holds what was recorded and is loadable all the same. Rewriting the marker of
    a reopened hour changes its size and mtime, hence the hour's fingerprint, so the loader reloads it.
    """
    directory = hour_dir(raw_dir, stream, hour)
    directory.mkdir(parents=True, exist_ok=True)
    parts = sorted(p.name for p in directory.glob("part-*.parquet"))
    if rows is None:
        rows = sum(pq.ParquetFile(directory / p).metadata.num_rows for p in parts)
    body = {
        "stream": stream,
        "hour": hour.key,
        "rows": rows,
        "parts": parts,
        "complete": complete,
        "closed_by": closed_by,
        "closed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    marker = directory / SUCCESS
    tmp = directory / f".{SUCCESS}.tmp"
    tmp.write_text(json.dumps(body, indent=1))
    os.replace(tmp, marker)
    return marker


def read_marker(raw_dir: Path, stream: str, hour: Hour) -> dict | None:
    """The hour's ``_SUCCESS`` body, ``{}`` for an unreadable one, None when the hour is not closed."""
    try:
        body = json.loads((hour_dir(raw_dir, stream, hour) / SUCCESS).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def reopen(raw_dir: Path, stream: str, hour: Hour) -> bool:
    """Remove the hour's marker so that it is not loaded half-written; parts are never touched.

    Used when a new session records more of an hour an earlier session closed on stop; the hour is
    closed again (a new marker, a new fingerprint) when it ends. True if a marker was removed.
    """
    try:
        (hour_dir(raw_dir, stream, hour) / SUCCESS).unlink()
    except FileNotFoundError:
        return False
    return True


def is_closed(raw_dir: Path, stream: str, hour: Hour) -> bool:
    return (hour_dir(raw_dir, stream, hour) / SUCCESS).exists()


def iter_stream_hours(raw_dir: Path, stream: str) -> Iterator[tuple[Hour, bool]]:
    """Every hour folder of a stream with whether it is closed."""
    base = Path(raw_dir) / stream
    if not base.is_dir():
        return
    for date_dir in sorted(base.glob("date=*")):
        for hdir in sorted(date_dir.glob("hour=*")):
            m = _HOUR_DIR.search(hdir.as_posix())
            try:
                if not m:
                    raise ValueError("not date=YYYY-MM-DD/hour=HH")
                start = datetime.strptime(f"{m.group(1)} {m.group(2)}", "%Y-%m-%d %H").replace(tzinfo=UTC)
            except ValueError:  # hour=24, date=2026-02-30, a stray folder: never a traceback
                _warn_once(hdir)
                continue
            yield Hour(start), (hdir / SUCCESS).exists()


_WARNED: set[str] = set()


def _warn_once(folder: Path) -> None:
    """Say once per process that a landing folder is skipped because its name is not a valid hour."""
    if str(folder) not in _WARNED:
        _WARNED.add(str(folder))
        log.warning("skipping landing folder %s: not a valid date=YYYY-MM-DD/hour=HH (00-23) partition", folder)


def closed_hours(raw_dir: Path) -> list[Hour]:
    """Hours ready to load: every stream that has a folder for the hour has closed it."""
    return sorted(closed_hour_fingerprints(raw_dir))


def closed_hour_fingerprints(raw_dir: Path | str) -> dict[Hour, str]:
    """Hours ready to load, each with a digest of its streams' markers (name, size, mtime).

    A marker is rewritten when an hour is reopened and closed again with more rows, so a changed
    fingerprint means the hour must be loaded again; stat calls only, no file is read. ``raw_dir`` may be
    an s3:// prefix (cluster mode): one listing per stream, markers identified by size and ETag.
    """
    if "://" in str(raw_dir):
        return _remote_fingerprints(str(raw_dir))
    hours = {hour for stream in STREAM_SCHEMAS for hour, _ in iter_stream_hours(raw_dir, stream)}
    prints = {h: hour_fingerprint(raw_dir, h) for h in sorted(hours)}
    return {h: fp for h, fp in prints.items() if fp is not None}


def hour_fingerprint(raw_dir: Path | str, hour: Hour) -> str | None:
    """The digest of one hour's markers; None while a stream folder of the hour has no marker (open, or
    reopened by a recorder that is writing more rows)."""
    if "://" in str(raw_dir):
        return _remote_fingerprints(str(raw_dir), hour).get(hour)
    markers = []
    for stream in STREAM_SCHEMAS:
        folder = hour_dir(raw_dir, stream, hour)
        if not folder.is_dir():
            continue
        try:
            st = (folder / SUCCESS).stat()
        except FileNotFoundError:
            return None
        markers.append(f"{stream}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha1("|".join(sorted(markers)).encode()).hexdigest()[:16] if markers else None


_REMOTE_HOUR = re.compile(r"/([^/]+)/date=(\d{4}-\d{2}-\d{2})/hour=(\d{2})/([^/]+)$")


def _remote_fingerprints(url: str, only: Hour | None = None) -> dict[Hour, str]:
    """closed_hour_fingerprints of a landing zone on object storage (every hour, or ``only``)."""
    from hypertrack_pipeline import objectstore

    base = url.rstrip("/")
    seen: dict[Hour, dict[str, str | None]] = {}
    for stream in STREAM_SCHEMAS:
        prefix = f"{base}/{stream}" + (f"/{only.rel_dir()}" if only else "")
        for path, version in objectstore.stat_all(prefix).items():
            m = _REMOTE_HOUR.search(path)
            if not m or m.group(1) != stream:
                continue
            try:
                hour = Hour(datetime.strptime(f"{m.group(2)} {m.group(3)}", "%Y-%m-%d %H").replace(tzinfo=UTC))
            except ValueError:
                continue
            markers = seen.setdefault(hour, {})
            if m.group(4) == SUCCESS:
                markers[stream] = f"{stream}:{version}"
            else:
                markers.setdefault(stream, None)
    out = {}
    for hour, markers in sorted(seen.items()):
        if markers and all(v is not None for v in markers.values()):
            out[hour] = hashlib.sha1("|".join(sorted(markers.values())).encode()).hexdigest()[:16]
    return out
