"""`hypertrack backfill`: land hours of Hyperliquid's node archives in the landing zone, like the recorder.

For each UTC hour of the range it reads the hour's archive file and the next one (a file is filed by the
node's clock, so its first blocks belong to the previous hour), keeps the fills whose own time lies in the
range (and in ``coins`` when given), lands ``exchange_fills`` and the ``trades`` paired from them, and
closes the hours it landed (``_SUCCESS``), so the pipeline's plan loads them like recorded hours.

- Resumable: each file is recorded in ``<data>/state/backfill.json`` once its parts are written; a
  restart skips the recorded files. A file interrupted half way is landed again; the loader
  deduplicates both streams on their keys, so nothing is counted twice.
- Idempotent: a second run over the same range finds every file recorded and changes nothing (no part,
  no marker rewritten).
- A missing or unreadable archive hour is one line on the terminal and a ``gaps`` row; the rest goes on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from hypertrack_pipeline.archive.land import land_file
from hypertrack_pipeline.archive.parse import parse_lz4
from hypertrack_pipeline.archive.schema import STREAM, with_file_order
from hypertrack_pipeline.archive.source import Archive, find_hour
from hypertrack_pipeline.datasets import GAPS
from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.files import write_json_atomic
from hypertrack_pipeline.landing.zone import Hour, is_closed, mark_closed, write_part

Say = Callable[[str], None]
Progress = Callable[[int, int, int], None]  # (files done, files total, fills landed so far)


@dataclass
class BackfillSummary:
    files_read: int = 0
    files_skipped: int = 0  # already landed by an earlier run
    fills: int = 0
    trades: int = 0
    hours_closed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        rate = self.fills / self.seconds if self.seconds else 0.0
        return (f"backfilled {self.fills:,} fills ({self.trades:,} trades) from {self.files_read} archive file(s) "
                f"({self.files_skipped} already landed), {len(self.hours_closed)} hour(s) closed, "
                f"{len(self.problems)} problem(s), {self.seconds:.1f} s ({rate:,.0f} fills/s)")


def parse_when(text: str, end: bool) -> datetime:
    """``YYYY-MM-DD`` or ``YYYY-MM-DD-HH`` (UTC) → an hour; an end date alone means its last hour."""
    text = text.strip()
    for fmt, whole_day in (("%Y-%m-%d-%H", False), ("%Y-%m-%d", True)):
        try:
            t = datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
        return t + timedelta(hours=23) if (whole_day and end) else t
    raise UserError(f"not a date: {text!r} (use YYYY-MM-DD or YYYY-MM-DD-HH, UTC)")


class _State:
    """The archive files already landed, saved atomically after each file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.done: set[str] = set(json.loads(path.read_text()).get("done", []))
        except FileNotFoundError:
            self.done = set()
        except (OSError, ValueError) as exc:
            raise UserError(f"{path} is not a readable backfill state ({exc}); move it aside to start over") from None

    def add(self, key: str) -> None:
        self.done.add(key)
        write_json_atomic(self.path, {"done": sorted(self.done)}, indent=0)


def _gap(raw: Path, hour: datetime, cause: str) -> None:
    ms = int(hour.timestamp() * 1000)
    row = pa.table({"stream": [STREAM], "coin": pa.array([None], pa.string()), "start_ms": [ms],
                    "end_ms": [ms + 3_600_000], "cause": [cause]}, schema=GAPS.landing)
    write_part(raw, "gaps", Hour.of_ms(ms), row)


def backfill(raw_dir: Path, archive: Archive, start: datetime, end: datetime, state_path: Path,
             coins: Iterable[str] | None = None, say: Say = print, progress: Progress | None = None,
             threads: int = 2) -> BackfillSummary:
    """Land the archive hours ``start`` … ``end`` (both included, UTC); see the module doc."""
    if end < start:
        raise UserError(f"--to {end:%Y-%m-%d-%H} is before --from {start:%Y-%m-%d-%H}")
    t0 = time.monotonic()
    raw = Path(raw_dir)
    raw.mkdir(parents=True, exist_ok=True)
    state = _State(state_path)
    lo, hi = int(start.timestamp() * 1000), int((end + timedelta(hours=1)).timestamp() * 1000)
    wanted = sorted({c.strip() for c in coins if c.strip()}) if coins else None
    files = [start + timedelta(hours=i) for i in range(int((end - start).total_seconds() // 3600) + 2)]
    summary = BackfillSummary()
    touched: set[Hour] = set()
    for i, node_hour in enumerate(files):
        last = i == len(files) - 1  # the file after the range: only its spill into the range's last hour
        found = find_hour(archive, node_hour)
        if found is None:
            if not last:
                msg = f"archive hour {node_hour:%Y-%m-%d %H}h is missing from {archive!r}"
                say(f"  ! {msg}: recorded as a gap, the rest goes on")
                summary.problems.append(msg)
                _gap(raw, node_hour, f"archive hour missing: {msg}")
            continue
        if found.key in state.done:
            summary.files_skipped += 1
            continue
        try:
            with archive.open(found.key) as fh:
                fills = with_file_order(parse_lz4(fh, found.fmt, threads=threads),
                                        int(node_hour.timestamp() * 1000))
        except Exception as exc:  # a corrupt LZ4 frame or JSON: one line, a gap, go on
            msg = f"archive file {found.key} cannot be read ({str(exc).splitlines()[0][:160]})"
            say(f"  ! {msg}: recorded as a gap, the rest goes on")
            summary.problems.append(msg)
            _gap(raw, node_hour, f"archive file unreadable: {found.key}")
            continue
        t = fills["time"]
        keep = pc.and_(pc.greater_equal(t, lo), pc.less(t, hi))
        if wanted is not None:
            keep = pc.and_(keep, pc.is_in(fills["coin"], pa.array(wanted)))
        fills = fills.filter(keep)
        landed = land_file(raw, fills, node_hour)
        state.add(found.key)
        touched |= set(landed.fills)
        summary.files_read += 1
        summary.fills += fills.num_rows
        summary.trades += sum(landed.trades.values())
        if progress:
            progress(i + 1, len(files), summary.fills)
    for hour in _hours(start, end):
        closed_any = False
        for stream in (STREAM, "trades", "gaps"):
            folder = raw / stream / hour.rel_dir()
            # new parts: (re)close; an hour left open (a run killed before this point): close it now.
            # Nothing else is rewritten, so a second run changes no marker (and no fingerprint).
            if folder.is_dir() and (hour in touched or not is_closed(raw, stream, hour)):
                mark_closed(raw, stream, hour, complete=True, closed_by="backfill")
                closed_any = True
        if closed_any:
            summary.hours_closed.append(hour.key)
    summary.seconds = time.monotonic() - t0
    return summary


def _hours(start: datetime, end: datetime) -> list[Hour]:
    n = int((end - start).total_seconds() // 3600) + 1
    return [Hour(start + timedelta(hours=i)) for i in range(n)]
