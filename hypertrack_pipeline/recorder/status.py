"""Live counters and their display: a rich table on a terminal, a periodic plain line otherwise."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

from rich.markup import escape


def printable(text: str, limit: int = 60) -> str:
    """Show any exchange string safely in a terminal or text file (no control chars, bounded)."""
    out = text if text.isprintable() else text.encode("unicode_escape").decode("ascii")
    return out if len(out) <= limit else out[: limit - 1] + "…"


@dataclass
class Counters:
    """Thread-safe enough for monotone counters updated from a few threads."""

    msgs: Counter[str] = field(default_factory=Counter)  # per landed stream (data frames)
    rows_in: Counter[str] = field(default_factory=Counter)
    control: Counter[str] = field(default_factory=Counter)  # acks, pongs, errors
    bad: Counter[str] = field(default_factory=Counter)  # per kind
    bad_samples: dict[str, list[str]] = field(default_factory=dict)
    last_msg_mono: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bad_message(self, kind: str, sample: bytes | str, keep: int = 3) -> bool:
        """Count a bad frame; True when its sample is one of the first ``keep`` of its kind."""
        with self.lock:
            self.bad[kind] += 1
            samples = self.bad_samples.setdefault(kind, [])
            if len(samples) < keep:
                raw = sample if isinstance(sample, str) else sample[:300].decode("utf-8", "replace")
                samples.append(printable(raw[:300], 300))
                return True
        return False


class StatusBoard:
    """Renders ``Counters`` + writer stats + connection states every ``interval_s``."""

    def __init__(self, out: TextIO, interval_s: float = 5.0, live: bool | None = None) -> None:
        self.out = out
        self.interval_s = interval_s
        self.live_mode = out.isatty() if live is None else live
        self._next = time.monotonic() + interval_s
        self._prev_msgs: Counter[str] = Counter()
        self._prev_t = time.monotonic()
        self._live = None

    def start(self) -> None:
        if self.live_mode:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(console=Console(file=self.out), refresh_per_second=2, transient=False)
            self._live.start()

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def rows(self, counters: Counters, writer_stats: dict, conns: list[tuple[str, str, int]]) -> list[dict]:
        now = time.monotonic()
        dt = max(1e-6, now - self._prev_t)
        out = []
        for stream, st in writer_stats.items():
            n = counters.msgs.get(stream, 0)
            last = counters.last_msg_mono.get(stream)
            out.append(
                {
                    "stream": stream,
                    "msgs": n,
                    "msgs_s": (n - self._prev_msgs.get(stream, 0)) / dt,
                    "rows_written": st.rows_written,
                    "late": st.late_rows,
                    "gaps": st.gaps,
                    "age_s": None if last is None else now - last,
                }
            )
        return out

    def tick(self, counters: Counters, writer_stats: dict, conns: list[tuple[str, str, int]], force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._next:
            return
        self._next = now + self.interval_s
        rows = self.rows(counters, writer_stats, conns)
        self._prev_msgs = Counter(counters.msgs)
        self._prev_t = now
        reconnects = sum(r for _, _, r in conns)
        states = Counter(state for _, state, _ in conns)
        bad = sum(counters.bad.values())
        if self._live is not None:
            from rich.table import Table

            table = Table(title=escape(f"hypertrack recorder — connections {dict(states)} reconnects {reconnects} bad {bad}"))
            for col in ("stream", "msgs/s", "msgs", "rows written", "late", "gaps", "last msg age"):
                table.add_column(col, justify="left" if col == "stream" else "right")
            for r in rows:
                age = "-" if r["age_s"] is None else f"{r['age_s']:.1f}s"
                table.add_row(
                    escape(r["stream"]), f"{r['msgs_s']:.0f}", str(r["msgs"]), str(r["rows_written"]),
                    str(r["late"]), str(r["gaps"]), age,
                )
            self._live.update(table)
            return
        parts = []
        for r in rows:
            age = "-" if r["age_s"] is None else f"{r['age_s']:.0f}s"
            late = f" late={r['late']}" if r["late"] else ""
            parts.append(f"{r['stream']} {r['msgs_s']:.0f}/s rows={r['rows_written']}{late} age={age}")
        conn_txt = " ".join(f"{k}={v}" for k, v in sorted(states.items()))
        print(f"[record] {time.strftime('%H:%M:%S')} conns {conn_txt or '-'} reconnects={reconnects} "
              f"bad={bad} | " + " | ".join(parts), file=self.out, flush=True)
