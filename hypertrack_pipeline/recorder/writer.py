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

Late data. A closed hour is never reopened. A row for a closed (or closing) hour is not landed:
it is counted per stream (status line, collection report, a logged sample) and summarised as a
``gaps`` row with cause ``late: N rows after the hour closed`` (start/end = first/last such
exchange time). The gaps stream closes its hours one grace period after the data streams, so
such notes still have a home.

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
from hypertrack_pipeline.landing.zone import Hour, hour_dir, iter_stream_hours, mark_closed, write_part

log = logging.getLogger(__name__)
HOUR_MS = 3_600_000


@dataclass
class StreamStats:
    """What one stream did in this run (for the status line and the collection report)."""

    rows_written: int = 0
    parts_written: int = 0
    hours_closed: int = 0
    late_rows: int = 0
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
        self._at = 0.0

    def observe(self, event_ms: int) -> None:
        if self._event_ms is not None and event_ms <= self._event_ms:
            return  # the common case: nothing new
        if self._event_ms is None or event_ms > self.now_ms_or(event_ms):
            self._event_ms = event_ms
            self._at = self._clock()

    def now_ms_or(self, default: int) -> int:
        if self._event_ms is None:
            return default
        return self._event_ms + int(max(0.0, self._clock() - self._at - self._tick_after) * 1000)

    def now_ms(self) -> int | None:
        return None if self._event_ms is None else self.now_ms_or(0)


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
        self._buf: dict[str, dict[int, list[tuple]]] = {s: {} for s in self.streams}
        self._buffered = dict.fromkeys(self.streams, 0)
        self._closed: dict[str, set[int]] = {s: set() for s in self.streams}
        self._open: dict[str, set[int]] = {s: set() for s in self.streams}
        self._late: dict[tuple[str, int], list[int]] = {}  # (stream, hour) -> [n, first, last]
        self._gaps: dict[object, _Gap] = {}
        self.marks: dict[str, int] = {}  # producer checkpoints (e.g. last EVM block buffered)
        self.durable_marks: dict[str, int] = {}  # checkpoints whose rows are on disk
        for s in self.streams:  # hours a previous run left open are ours to close
            for hour, closed in iter_stream_hours(self.raw_dir, s):
                (self._closed if closed else self._open)[s].add(hour.start_ms)

    # ---- producers -------------------------------------------------------------------------
    def add(self, stream: str, rows: list[tuple], mark: tuple[str, int] | None = None) -> int:
        """Buffer rows of one stream; returns how many were late (not landed)."""
        if not rows:
            if mark is not None:
                with self._lock:
                    self.marks[mark[0]] = mark[1]
            return 0
        ti = self._time_idx[stream]
        late = 0
        with self._lock:
            bufs = self._buf[stream]
            closed = self._closed[stream]
            top = None
            for row in rows:
                t = row[ti]
                h = t - t % HOUR_MS
                buf = bufs.get(h)
                if buf is None:
                    if h in closed:
                        self._note_late(stream, h, t)
                        late += 1
                        continue
                    buf = bufs[h] = []
                    self._open[stream].add(h)
                buf.append(row)
                if top is None or t > top:
                    top = t
            if top is not None:
                self.watermark.observe(top)
            n = len(rows) - late
            self._buffered[stream] += n
            if mark is not None:
                self.marks[mark[0]] = mark[1]
            if self._buffered[stream] >= self.flush_rows and not self.flush_wanted.is_set():
                self.flush_wanted.set()
        if late:
            self.stats[stream].late_rows += late
        return late

    def _note_late(self, stream: str, h: int, t: int) -> None:
        entry = self._late.get((stream, h))
        if entry is None:
            log.warning("late %s row at %d for closed hour %s: not landed", stream, t, Hour.of_ms(h).key)
            self._late[(stream, h)] = [1, t, t]
        else:
            entry[0] += 1
            entry[1] = min(entry[1], t)
            entry[2] = max(entry[2], t)

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
        """Buffer a gaps row (lock held)."""
        h = gap.start_ms - gap.start_ms % HOUR_MS
        if h in self._closed["gaps"]:
            log.warning("gap of %s/%s in closed hour %s not landed", gap.stream, gap.coin, Hour.of_ms(h).key)
            return
        self._buf["gaps"].setdefault(h, []).append((gap.stream, gap.coin, gap.start_ms, end_ms, gap.cause))
        self._open["gaps"].add(h)
        self._buffered["gaps"] += 1
        st = self.stats.get(gap.stream)
        if st is not None:
            st.gaps += 1
            st.gap_ms += end_ms - gap.start_ms

    @property
    def open_gaps(self) -> int:
        return len(self._gaps)

    # ---- owner thread ----------------------------------------------------------------------
    def _write(self, stream: str, h: int, rows: list[tuple]) -> None:
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

        A full flush also makes the producers' checkpoints durable.
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

    def _close(self, stream: str, hours: list[int]) -> None:
        """Swap out the hours' buffers and mark them closed (later rows for them are late)."""
        with self._lock:
            taken = []
            for h in hours:
                self._closed[stream].add(h)
                self._open[stream].discard(h)
                rows = self._buf[stream].pop(h, None)
                if rows:
                    self._buffered[stream] -= len(rows)
                    taken.append((h, rows))
        for h, rows in taken:
            self._write(stream, h, rows)

    def close_due_hours(self, final: bool = False) -> list[tuple[str, str]]:
        """Close every (stream, hour) the watermark says is over; returns (stream, hour key)."""
        now = self.watermark.now_ms()
        if now is None:
            return []
        closed: list[tuple[str, str]] = []
        data_streams = [s for s in self.streams if s != "gaps"]
        due: dict[str, list[int]] = {}
        with self._lock:
            for s in data_streams:
                due[s] = sorted(h for h in self._open[s] if now >= h + HOUR_MS + self.grace_ms)
            for (s, h), (n, lo, hi) in list(self._late.items()):
                if h + HOUR_MS + self.grace_ms <= now:  # summarise late rows once the hour is done
                    self._gap_row(_Gap(s, None, lo, f"late: {n} rows after the hour closed"), hi)
                    del self._late[(s, h)]
            gap_grace = HOUR_MS + 2 * self.grace_ms
            for gap in self._gaps.values():  # split gaps still open at the end of a due hour
                h = gap.start_ms - gap.start_ms % HOUR_MS
                while now >= h + gap_grace:
                    self._gap_row(_Gap(gap.stream, gap.coin, gap.start_ms, gap.cause + " (continues)"), h + HOUR_MS)
                    gap.start_ms = h = h + HOUR_MS
            gaps_due = sorted(h for h in self._open["gaps"] if now >= h + gap_grace)
        # Write every due hour's last rows before marking any of them, so a reader never sees
        # one stream of an hour closed while another stream's rows for it are still buffered.
        for s, hours in due.items():
            if hours:
                self._close(s, hours)
        if gaps_due:
            self._close("gaps", gaps_due)
        for s, hours in [*due.items(), ("gaps", gaps_due)]:
            for h in hours:
                hour = Hour.of_ms(h)
                if hour_dir(self.raw_dir, s, hour).is_dir():
                    mark_closed(self.raw_dir, s, hour)
                    self.stats[s].hours_closed += 1
                    closed.append((s, hour.key))
        return closed

    def finish(self, end_ms: int | None = None) -> None:
        """Clean exit: end open gaps, flush everything, close the hours that are over."""
        end = end_ms if end_ms is not None else self.watermark.now_ms()
        if end is not None:
            for key in list(self._gaps):
                self.close_gap(key, end)
        self.close_due_hours(final=True)
        self.flush()
