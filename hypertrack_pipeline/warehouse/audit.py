"""Landing parts checked before they are loaded, so one bad file never stops the other hours.

- A part that cannot be read (zero bytes, truncated, not Parquet, wrong columns) is moved aside to
  ``<raw>/_quarantine/<stream>/date=…/hour=…/`` (never deleted: it may be recoverable) and reported.
- An hour's ``_SUCCESS`` marker lists its parts and rows: a listed part that is missing, or a row
  count that differs from what the readable parts hold, is reported (the hour still loads what is
  there, and the ``landing_files_ok`` check fails loudly instead of the data going silently missing).

Each problem becomes a row of the internal ``load_errors`` table, written in the load's transaction.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from hypertrack_pipeline.catalog import Column, Table
from hypertrack_pipeline.datasets import DATASETS
from hypertrack_pipeline.landing.zone import SUCCESS, Hour

QUARANTINE = "_quarantine"

LOAD_ERRORS = Table(
    "load_errors",
    "Internal: problems found in the landing parts of the loaded hours (quarantined files, parts listed "
    "in _SUCCESS but missing, row counts that differ from the marker), replaced with every load of the hour.",
    (
        Column("hour", "TIMESTAMP NOT NULL", "landing hour (UTC start)"),
        Column("stream", "VARCHAR NOT NULL", "landed stream"),
        Column("path", "VARCHAR", "the part concerned (its quarantine path when it was moved aside)"),
        Column("kind", "VARCHAR NOT NULL", "quarantined | missing part | row count mismatch"),
        Column("message", "VARCHAR NOT NULL", "what was wrong, in one line"),
    ),
    internal=True,
)


@dataclass(frozen=True)
class LoadProblem:
    hour: Hour
    stream: str
    path: str | None
    kind: str
    message: str
    part: str = ""  # the part's file name in its hour folder (for a quarantined or missing part)

    def line(self) -> str:
        return f"{self.stream} {self.hour.key}: {self.kind}: {self.message}"


def footer(path: str, stream: str) -> tuple[int | None, str | None]:
    """(rows, None) when the part can be read as the stream's Parquet; else (None, why not, one line).
    One footer read gives both the verdict and the row count the marker check needs."""
    try:
        meta = pq.ParquetFile(path).metadata
        names = meta.schema.to_arrow_schema().names
    except Exception as exc:  # pyarrow raises several types for zero-byte, truncated and foreign files
        return None, f"not a readable Parquet file ({str(exc).splitlines()[0][:160]})"
    missing = [n for n in DATASETS[stream].landing.names if n not in names]
    if missing:
        return None, f"missing column(s) {', '.join(missing)}"
    return meta.num_rows, None


def fully_readable(path: str) -> str | None:
    """Read every page (a valid footer does not prove the data pages are intact)."""
    try:
        pq.read_table(path)
    except Exception as exc:
        return f"data pages cannot be read ({str(exc).splitlines()[0][:160]})"
    return None


def quarantine(raw_dir: Path, path: str) -> str:
    """Move a bad part under <raw>/_quarantine keeping its stream/date/hour folders; returns the new path."""
    src = Path(path)
    rel = src.relative_to(raw_dir)
    dest = Path(raw_dir) / QUARANTINE / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    while dest.exists():  # a part of the same name was quarantined before: keep both
        n += 1
        dest = dest.with_name(f"{src.stem}.{n}{src.suffix}")
    os.replace(src, dest)
    return str(dest)


def _hour_of(path: str) -> Hour:
    parts = Path(path).parts
    return Hour.from_key(f"{parts[-3].removeprefix('date=')}-{parts[-2].removeprefix('hour=')}:00")


def audit_parts(raw_dir: Path, stream: str, hours: list[Hour], files: list[str],
                deep: bool = False) -> tuple[list[str], list[LoadProblem]]:
    """(parts to load, problems) for one stream over the given hours; bad parts are quarantined.

    ``deep`` reads every page of every part (used only when a load failed despite valid footers).
    """
    problems: list[LoadProblem] = []
    good: list[str] = []
    rows_by_hour: dict[Hour, int] = {}
    for f in files:
        rows, why = footer(f, stream)
        why = why or (fully_readable(f) if deep else None)
        if why is None and rows is not None:
            good.append(f)
            h = _hour_of(f)
            rows_by_hour[h] = rows_by_hour.get(h, 0) + rows
            continue
        moved = quarantine(raw_dir, f)
        problems.append(LoadProblem(_hour_of(f), stream, moved, "quarantined", f"{Path(f).name}: {why}",
                                    part=Path(f).name))
    quarantined = {(p.hour, p.part) for p in problems}
    for h in hours:
        marker = Path(raw_dir) / stream / h.rel_dir() / SUCCESS
        if not marker.is_file():
            continue
        try:
            body = json.loads(marker.read_text())
        except (OSError, ValueError) as exc:
            problems.append(LoadProblem(h, stream, str(marker), "unreadable marker", str(exc)[:160]))
            continue
        present = {Path(f).name for f in good if _hour_of(f) == h}
        listed = [p for p in body.get("parts") or [] if (h, p) not in quarantined]
        for name in listed:
            if name in present:
                continue
            aside = Path(raw_dir) / QUARANTINE / stream / h.rel_dir() / name
            if aside.exists():  # moved aside by an earlier load: still missing from the hour, say why
                problems.append(LoadProblem(h, stream, str(aside), "quarantined",
                                            f"{name}: quarantined by an earlier load (unreadable)"))
            else:
                problems.append(LoadProblem(h, stream, str(marker.parent / name), "missing part",
                                            f"{name} is listed in _SUCCESS but not on disk"))
        want, got = body.get("rows"), rows_by_hour.get(h, 0)
        if want is not None and not any(p.hour == h and p.kind == "quarantined" for p in problems) and want != got:
            problems.append(LoadProblem(h, stream, str(marker), "row count mismatch",
                                        f"_SUCCESS says {want} rows, the parts hold {got}"))
    return good, problems
