"""Land one parsed hourly archive file: one ``exchange_fills`` part and one ``trades`` part per UTC hour.

A file is filed under the node's clock, so its first blocks usually belong to the previous hour: every
fill is landed in the hour of its own ``time``. The part number says which file it came from
(``seq`` = file hour − fill hour, so 0 for the file's own hour, 1 for the spill-over into the previous
hour): a resumed backfill can tell what a file already landed, and ``write_part`` never overwrites.
Closing hours (``mark_closed``) is left to the caller, who knows when the next file has been landed.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hypertrack_pipeline.archive.schema import STREAM, trades_from_fills
from hypertrack_pipeline.landing.zone import Hour, write_part

HOUR_MS = 3_600_000


@dataclass
class Landed:
    """Rows landed per hour and stream by one file, and the parts written."""

    fills: dict[Hour, int] = field(default_factory=dict)
    trades: dict[Hour, int] = field(default_factory=dict)
    parts: list[Path] = field(default_factory=list)


def split_by_hour(table: pa.Table, time_column: str = "time") -> Iterator[tuple[Hour, pa.Table]]:
    """The rows of each UTC hour of ``time_column`` (epoch ms), hours ascending; one pass, no Python row loop."""
    if table.num_rows == 0:
        return
    hours = pc.divide(table[time_column], HOUR_MS).to_numpy()
    uniq = np.unique(hours)
    if len(uniq) == 1:
        yield Hour.of_ms(int(uniq[0]) * HOUR_MS), table
        return
    if (np.diff(hours) >= 0).all():  # blocks are filed in order: each hour is a slice, no copy
        bounds = np.searchsorted(hours, uniq, side="left").tolist() + [len(hours)]
        for h, lo, hi in zip(uniq.tolist(), bounds[:-1], bounds[1:], strict=True):
            yield Hour.of_ms(h * HOUR_MS), table.slice(lo, hi - lo)
        return
    for h in uniq:
        yield Hour.of_ms(int(h) * HOUR_MS), table.filter(pa.array(hours == h))


def land_file(raw_dir: Path, fills: pa.Table, file_hour: datetime | None = None) -> Landed:
    """Write the fills of one archive file and the trades paired from them, one part per stream-hour.

    The ``exchange_fills`` part of an hour is written on a second thread while this one pairs and writes
    its ``trades`` (Parquet encoding and the numpy sort release the GIL): measured in ``bench/backfill.py``,
    landing then costs about the fills write alone instead of the sum of both.
    """
    out = Landed()
    file_h = Hour.of_ms(int(file_hour.timestamp() * 1000)) if file_hour else None
    with ThreadPoolExecutor(1) as pool:
        for hour, part in split_by_hour(fills):
            seq = None
            if file_h is not None:
                diff = int((file_h.start - hour.start).total_seconds()) // 3600
                seq = diff if diff >= 0 else 100 - diff  # a fill after its file's hour: a node clock behind
            written = pool.submit(write_part, raw_dir, STREAM, hour, part, seq)
            out.fills[hour] = part.num_rows
            trades = trades_from_fills(part)  # both fills of a trade share one time, hence one hour
            trade_part = write_part(raw_dir, "trades", hour, trades, seq=seq) if trades.num_rows else None
            out.parts.append(written.result())
            if trade_part is not None:
                out.parts.append(trade_part)
                out.trades[hour] = trades.num_rows
    return out
