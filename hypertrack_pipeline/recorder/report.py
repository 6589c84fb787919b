"""``data_collection_report.txt``: what this recording session landed, stream by stream."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hypertrack_pipeline.files import write_text_atomic
from hypertrack_pipeline.recorder.status import Counters, printable
from hypertrack_pipeline.recorder.writer import StreamStats

REPORT_NAME = "data_collection_report.txt"


def _ts(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def render_report(
    stats: dict[str, StreamStats],
    counters: Counters,
    settings: dict[str, str],
    started: datetime,
    ended: datetime,
    reconnects: int,
    extra: dict[str, str] | None = None,
) -> str:
    lines = [
        "=" * 80,
        "DATA COLLECTION REPORT",
        "=" * 80,
        f"Session: {started.isoformat(timespec='seconds')} → {ended.isoformat(timespec='seconds')} "
        f"({(ended - started).total_seconds():.1f} s)",
    ]
    for key, value in settings.items():  # URLs arrive masked (Settings.describe / mask_url)
        lines.append(f"{key}: {printable(str(value), 200)}")
    for key, value in (extra or {}).items():
        lines.append(f"{key}: {printable(str(value), 200)}")
    lines.append(f"Reconnects: {reconnects}")
    lines.append("=" * 80)
    for stream, st in stats.items():
        coins = sorted(st.coins)
        shown = ", ".join(printable(c, 40) for c in coins[:20]) + (f", … ({len(coins)} in all)" if len(coins) > 20 else "")
        lines += [
            f"Stream: {stream}",
            "-" * 80,
            f"  messages received: {counters.msgs.get(stream, 0)}",
            f"  rows written:      {st.rows_written} in {st.parts_written} parts",
            f"  time range:        {_ts(st.first_ms)} .. {_ts(st.last_ms)}",
            f"  coins:             {len(coins)}" + (f" ({shown})" if coins else ""),
            f"  hours closed:      {st.hours_closed} ({st.hours_closed_on_stop} on stop, as recorded)",
            f"  hours reopened:    {st.hours_reopened} (more rows landed after the hour was closed)",
            f"  gaps:              {st.gaps} ({st.gap_ms / 1000:.1f} s in all)",
            f"  late rows:         {st.late_rows} (arrived after their hour closed; landed, hour reopened)",
        ]
    lines.append("=" * 80)
    bad = sum(counters.bad.values())
    lines.append(f"Bad input skipped: {bad}" + (" (" + ", ".join(f"{k}={v}" for k, v in sorted(counters.bad.items())) + ")" if bad else ""))
    for kind, samples in sorted(counters.bad_samples.items()):
        for sample in samples:
            lines.append(f"  sample {kind}: {sample}")
    return "\n".join(lines) + "\n"


def write_report(data_dir: Path, text: str) -> Path:
    return write_text_atomic(Path(data_dir) / REPORT_NAME, text)
