"""Buffers landing rows per stream and UTC hour, writes parts, closes hours, keeps the gaps log.

Thread model: producer threads (WebSocket connections, the HyperEVM reader) call :meth:`add`;
one owner thread calls :meth:`flush`, :meth:`close_due_hours` and :meth:`finish`. Buffers are
swapped out under a lock and written outside it, so producers never wait on disk.

Clock. An hour of a stream is closed (``_SUCCESS``) once the *watermark* passed the hour's end
plus a grace period. The watermark is event time that keeps ticking: the largest exchange time
seen, advanced by the wall time elapsed since it last moved. Live, that equals the wall clock;
a simulator at 60× closes hours 60× faster; a replay of an old capture is not instantly 'late'
(as a plain wall clock would make it); a stream that went quiet still closes its hours (the
watermark starts ticking ``tick_after_s`` after the last advance, so a simulator slower than
real time is never overtaken by its own watermark).

Closed means loadable, not final. A clean stop (:meth:`finish`) closes every hour still open as
recorded (``complete: false``, ``closed_by: stop``), so every recording reaches the warehouse.
Rows for a closed hour are never dropped, they reopen it:

- *late rows* (the hour is over: closed by the watermark, or closed on stop and now past its end
  plus grace) are held in memory and written as new parts one grace period later: the old marker
  is removed, the parts written, the marker rewritten at once (new row count and parts list, hence
  a new fingerprint for the loader), so a marker never disagrees with its parts. They are counted
  per stream (status line, report) and a sample is logged.
- rows for an hour an earlier session closed *on stop* while the hour is still running (a restart
  within the hour) are recorded as usual: the old marker is removed before the first new part is
  written (so no marker ever disagrees with the parts for long) and the hour closes again when it
  ends, still ``complete: false`` (the restart left a hole).

The gaps stream closes its hours one grace period after the data streams.

Gaps. A disconnect opens a gap per affected (stream, coin); it ends when data flows again.
A gap still open when its hour closes is split at the hour boundary, so each hour's gaps are
complete when the hour's marker is written.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from hypertrack_pipeline.landing.schemas import PARTITION_TIME_COLUMN, STREAM_SCHEMAS
from hypertrack_pipeline.landing.zone import (
    Hour,
    hour_dir,
    iter_stream_hours,
    mark_closed,
    read_marker,
    reopen,
    write_part,
)

log = logging.getLogger(__name__)
HOUR_MS = 3_600_000


@dataclass
class StreamStats:
    """What one stream did in this run (for the status line and the collection report)."""

    rows_written: int = 0
    parts_written: int = 0
    hours_closed: int = 0
    hours_closed_on_stop: int = 0
    hours_reopened: int = 0
    late_rows: int = 0  # arrived after their hour closed (landed all the same, the hour reopened)
    first_ms: int | None = None
    last_ms: int | None = None
    coins: set[str] = field(default_factory=set)
    gaps: int = 0
    gap_ms: int = 0


@dataclass
class _Gap:
    stream: str
    coin: str | None
    start_ms: int
    cause: str


def _table(stream: str, rows: list[tuple]) -> pa.Table:
    schema = STREAM_SCHEMAS[stream]
    cols = list(zip(*rows, strict=True))
    return pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(cols, schema, strict=True)], schema=schema)


class Watermark:
    """Largest event time seen, kept ticking with the wall clock (see module doc)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, tick_after_s: float = 10.0) -> None:
        self._clock = clock
        self._tick_after = tick_after_s
        self._event_ms: int | None = None
        self._max_ms: int | None = None
        self._at = 0.0

    def observe(self, event_ms: int) -> None:
        if self._event_ms is not None and event_ms <= self._event_ms:
            return  # the common case: nothing new
        if self._max_ms is None or event_ms > self._max_ms:
            self._max_ms = event_ms
        if self._event_ms is None or event_ms > self.now_ms_or(event_ms):
            self._event_ms = event_ms
            self._at = self._clock()

    def now_ms_or(self, default: int) -> int:
        if self._event_ms is None:
            return default
        return self._event_ms + int(max(0.0, self._clock() - self._at - self._tick_after) * 1000)

    def now_ms(self) -> int | None:
        return None if self._event_ms is None else self.now_ms_or(0)

    @property
    def event_ms(self) -> int | None:
        """The largest exchange time seen (not ticked on): where a disconnect's gap starts."""
        return self._max_ms


class LandingWriter:
    """Per-stream, per-hour buffers over the landing zone (``raw_dir``)."""

    def __init__(
        self,
        raw_dir: Path,
        streams: Iterable[str],
        grace_ms: int = 120_000,
        flush_rows: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
        tick_after_s: float = 10.0,
    ) -> None:
        self.raw_dir = Path(raw_dir)
        self.streams = tuple(dict.fromkeys([*streams, "gaps"]))
        self.grace_ms = grace_ms
        self.flush_rows = flush_rows
        self.watermark = Watermark(clock, tick_after_s)
        self.stats = {s: StreamStats() for s in self.streams}
        self.flush_wanted = threading.Event()
        self._lock = threading.Lock()
        self._time_idx = {s: STREAM_SCHEMAS[s].names.index(PARTITION_TIME_COLUMN[s]) for s in self.streams}
        # An hour of a stream is due once the watermark passed its start + this (gaps: one grace more).
        self._due_after = {s: HOUR_MS + grace_ms * (2 if s == "gaps" else 1) for s in self.streams}
        self._buf: dict[str, dict[int, list[tuple]]] = {s: {} for s in self.streams}
        self._buffered = dict.fromkeys(self.streams, 0)
        self._closed: dict[str, set[int]] = {s: set() for s in self.streams}  # a marker exists
        self._open: dict[str, set[int]] = {s: set() for s in self.streams}  # ours to close
        self._held: dict[str, dict[int, list[tuple]]] = {s: {} for s in self.streams}  # late rows
        self._reclose_at: dict[tuple[str, int], int] = {}  # (stream, hour) -> watermark time
        self._stopped: dict[str, set[int]] = {s: set() for s in self.streams}  # closed on stop once
        self._unmark: dict[str, set[int]] = {s: set() for s in self.streams}  # marker to remove first
        self._kind: dict[tuple[str, int], str] = {}  # closed hours' closed_by, read lazily
        self._gaps: dict[object, _Gap] = {}
        self.marks: dict[str, int] = {}  # producer checkpoints (e.g. last EVM block buffered)
        self.durable_marks: dict[str, int] = {}  # checkpoints whose rows are on disk
        for s in self.streams:  # hours a previous run left open are ours to close
            for hour, closed in iter_stream_hours(self.raw_dir, s):
                (self._closed if closed else self._open)[s].add(hour.start_ms)

    # ---- producers -------------------------------------------------------------------------
    def add(self, stream: str, rows: list[tuple], mark: tuple[str, int] | None = None) -> int:
        """Buffer rows of one stream; returns how many were late (held, then landed in a reopened hour)."""
        if not rows:
            if mark is not None:
                with self._lock:
                    self.marks[mark[0]] = mark[1]
            return 0
        ti = self._time_idx[stream]
        late = 0
        with self._lock:
            bufs = self._buf[stream]
            top = None
            for row in rows:
                t = row[ti]
                if top is None or t > top:
                    top = t
                h = t - t % HOUR_MS
                buf = bufs.get(h)
                if buf is None:
                    buf, held = self._slot(stream, h, t, top)
                    late += held
                buf.append(row)
            self.watermark.observe(top)
            self._buffered[stream] += len(rows) - late
            if mark is not None:
                self.marks[mark[0]] = mark[1]
            if self._buffered[stream] >= self.flush_rows and not self.flush_wanted.is_set():
                self.flush_wanted.set()
        if late:
            self.stats[stream].late_rows += late
        return late

    def _slot(self, stream: str, h: int, t: int, top: int) -> tuple[list[tuple], bool]:
        """Where a row of an hour without a flush buffer goes (lock held): (list, held as late)."""
        held = self._held[stream].get(h)
        if held is None and h in self._closed[stream]:
            now = max(self.watermark.now_ms_or(top), top)
            if self._closed_kind(stream, h) == "stop" and now < h + self._due_after[stream]:
                # a restart within an hour an earlier session closed on stop: record on as usual
                self._closed[stream].discard(h)
                self._unmark[stream].add(h)
            else:
                held = self._held[stream][h] = []
                self._reclose_at[(stream, h)] = max(now, h + self._due_after[stream]) + self.grace_ms
                log.warning("late %s row at %d for closed hour %s: reopening it", stream, t, Hour.of_ms(h).key)
        if held is not None:
            return held, True
        buf = self._buf[stream][h] = []
        self._open[stream].add(h)
        return buf, False

    def _closed_kind(self, stream: str, h: int) -> str:
        """``stop`` or ``watermark``: how the hour's marker says it was closed (read once, lock held)."""
        kind = self._kind.get((stream, h))
        if kind is None:
            body = read_marker(self.raw_dir, stream, Hour.of_ms(h)) or {}
            kind = self._kind[(stream, h)] = "stop" if body.get("closed_by") == "stop" else "watermark"
            if kind == "stop" or body.get("complete") is False:
                self._stopped[stream].add(h)
        return kind

    def open_gap(self, key: object, stream: str, coin: str | None, start_ms: int, cause: str) -> None:
        with self._lock:
            if key not in self._gaps:
                self._gaps[key] = _Gap(stream, coin, start_ms, cause)

    def close_gap(self, key: object, end_ms: int) -> None:
        with self._lock:
            gap = self._gaps.pop(key, None)
            if gap is not None:
                self._gap_row(gap, max(end_ms, gap.start_ms))

    def _gap_row(self, gap: _Gap, end_ms: int) -> None:
        """Buffer a gaps row (lock held); a row for a closed gaps hour reopens it like any late row."""
        h = gap.start_ms - gap.start_ms % HOUR_MS
        buf = self._buf["gaps"].get(h)
        if buf is None:
            buf, held = self._slot("gaps", h, gap.start_ms, gap.start_ms)
            if held:
                self.stats["gaps"].late_rows += 1
            else:
                self._buffered["gaps"] += 1
        else:
            self._buffered["gaps"] += 1
        buf.append((gap.stream, gap.coin, gap.start_ms, end_ms, gap.cause))
        st = self.stats.get(gap.stream)
        if st is not None:
            st.gaps += 1
            st.gap_ms += end_ms - gap.start_ms

    @property
    def open_gaps(self) -> int:
        return len(self._gaps)

    # ---- owner thread ----------------------------------------------------------------------
    def _write(self, stream: str, h: int, rows: list[tuple]) -> None:
        with self._lock:
            unmark = h in self._unmark[stream]
            self._unmark[stream].discard(h)
        if unmark and reopen(self.raw_dir, stream, Hour.of_ms(h)):
            self.stats[stream].hours_reopened += 1
            log.info("reopened %s hour %s", stream, Hour.of_ms(h).key)
        table = _table(stream, rows)
        write_part(self.raw_dir, stream, Hour.of_ms(h), table)
        st = self.stats[stream]
        st.rows_written += len(rows)
        st.parts_written += 1
        tcol = table.column(PARTITION_TIME_COLUMN[stream])
        lo, hi = pc.min(tcol).as_py(), pc.max(tcol).as_py()
        st.first_ms = lo if st.first_ms is None else min(st.first_ms, lo)
        st.last_ms = hi if st.last_ms is None else max(st.last_ms, hi)
        if "coin" in table.column_names:
            st.coins.update(c for c in pc.unique(table.column("coin")).to_pylist() if c is not None)

    def flush(self, streams: Iterable[str] | None = None) -> int:
        """Write every buffer (of ``streams``, default all) as new parts; returns rows written.

        Rows held for a reopened hour are not written here but with the hour's new marker. A full
        flush also makes the producers' checkpoints durable.
        """
        full = streams is None
        with self._lock:
            self.flush_wanted.clear()
            taken: list[tuple[str, int, list[tuple]]] = []
            for s in self.streams if full else streams:
                for h, rows in self._buf[s].items():
                    if rows:
                        taken.append((s, h, rows))
                self._buf[s] = {}
                self._buffered[s] = 0
            marks = dict(self.marks)
        for s, h, rows in taken:
            self._write(s, h, rows)
        if full:
            self.durable_marks = marks
        return sum(len(r) for _, _, r in taken)

    def flush_if_big(self) -> int:
        big = [s for s in self.streams if self._buffered[s] >= self.flush_rows]
        return self.flush(big) if big else 0

    def _take(self, stream: str, hours: list[int], closed_by: str) -> list[tuple[str, int, list[tuple]]]:
        """Swap out the hours' buffers and mark them closed (lock held; later rows for them are late)."""
        taken = []
        for h in hours:
            self._closed[stream].add(h)
            self._open[stream].discard(h)
            self._kind[(stream, h)] = closed_by
            rows = self._buf[stream].pop(h, None)
            if rows:
                self._buffered[stream] -= len(rows)
                taken.append((stream, h, rows))
        return taken

    def _mark(self, stream: str, h: int, closed_by: str) -> bool:
        """Write the marker of an hour whose parts are all on disk; False when it has no folder."""
        hour = Hour.of_ms(h)
        if not hour_dir(self.raw_dir, stream, hour).is_dir():
            return False
        with self._lock:
            if closed_by == "stop":
                self._stopped[stream].add(h)
                self._kind[(stream, h)] = "stop"
            complete = h not in self._stopped[stream]
        mark_closed(self.raw_dir, stream, hour, complete=complete, closed_by=closed_by)
        st = self.stats[stream]
        st.hours_closed += 1
        if closed_by == "stop":
            st.hours_closed_on_stop += 1
        return True

    def close_due_hours(self, final: bool = False) -> list[tuple[str, str]]:
        """Close every (stream, hour) the watermark says is over, and re-close reopened hours that
        are due (``final``: all of them); returns (stream, hour key) of every marker written."""
        now = self.watermark.now_ms()
        if now is None:
            return []
        taken: list[tuple[str, int, list[tuple]]] = []
        to_mark: list[tuple[str, int]] = []
        with self._lock:
            for gap in self._gaps.values():  # split gaps still open at the end of a due gaps hour
                h = gap.start_ms - gap.start_ms % HOUR_MS
                while now >= h + self._due_after["gaps"]:
                    self._gap_row(_Gap(gap.stream, gap.coin, gap.start_ms, gap.cause + " (continues)"), h + HOUR_MS)
                    gap.start_ms = h = h + HOUR_MS
            for s in self.streams:
                due = sorted(h for h in self._open[s] if now >= h + self._due_after[s])
                taken += self._take(s, due, "watermark")
                to_mark += [(s, h) for h in due]
            for (s, h), at in list(self._reclose_at.items()):
                held = self._held[s][h]
                if final or now >= at or len(held) >= self.flush_rows:
                    del self._reclose_at[(s, h)], self._held[s][h]
                    taken.append((s, h, held))
                    to_mark.append((s, h))
                    # the old marker goes first: the hour is briefly not loadable, never mismatched
                    self._unmark[s].add(h)
        # Write every due hour's last rows before marking any of them, so a reader never sees
        # one stream of an hour closed while another stream's rows for it are still buffered.
        for s, h, rows in taken:
            self._write(s, h, rows)
        closed: list[tuple[str, str]] = []
        for s, h in to_mark:
            if self._mark(s, h, "watermark"):
                closed.append((s, Hour.of_ms(h).key))
        return closed

    def close_open_hours(self) -> list[tuple[str, str]]:
        """Clean stop: write and close every hour still open as recorded (``complete: false``).

        Open hours include those an earlier run left without a marker (it crashed), so they reach the
        warehouse too.
        """
        with self._lock:
            to_mark = [(s, h) for s in self.streams for h in sorted(self._open[s])]
            taken = [t for s in self.streams for t in self._take(s, sorted(self._open[s]), "stop")]
        for s, h, rows in taken:
            self._write(s, h, rows)
        return [(s, Hour.of_ms(h).key) for s, h in to_mark if self._mark(s, h, "stop")]

    def finish(self, end_ms: int | None = None) -> list[tuple[str, str]]:
        """Clean exit: end open gaps, close the hours that are over, re-close reopened ones, and
        close every other hour as recorded, so the loader gets everything this session wrote."""
        end = end_ms if end_ms is not None else self.watermark.now_ms()
        if end is not None:
            for key in list(self._gaps):
                self.close_gap(key, end)
        closed = self.close_due_hours(final=True)
        closed += self.close_open_hours()
        self.flush()
        return closed
