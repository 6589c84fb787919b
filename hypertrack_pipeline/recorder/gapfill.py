"""Fills candle gaps after a reconnect from the Info endpoint's ``candleSnapshot``.

While a connection is down, the candles of its coins that were open (or opened and closed) miss
updates. On disconnect the recorder forgets those open candles instead of landing a partial one;
after the reconnect this thread asks ``candleSnapshot`` for the gap's minutes and lands the
completed ones the recorder has not landed yet. Requests share the Info client's weight budget;
a failed request is logged and the gap stays in the gaps log.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from hypertrack_pipeline.hyperliquid.info import InfoClient
from hypertrack_pipeline.hyperliquid.wire import BadMessage, candles_from_snapshot
from hypertrack_pipeline.recorder.candles import CandleCompleter
from hypertrack_pipeline.recorder.writer import LandingWriter

log = logging.getLogger(__name__)
MINUTE_MS = 60_000


class CandleGapFiller(threading.Thread):
    def __init__(
        self,
        info: InfoClient,
        completer: CandleCompleter,
        writer: LandingWriter,
        stop: threading.Event,
        margin_ms: int = 2_000,
    ) -> None:
        super().__init__(name="candle-gap-filler", daemon=True)
        self.info, self.completer, self.writer, self.stop_event = info, completer, writer, stop
        self.margin_ms = margin_ms
        self.filled = 0
        self.failures = 0
        self._queue: queue.Queue[tuple[str, int, int]] = queue.Queue()

    def request(self, coin: str, start_ms: int, end_ms: int) -> None:
        """Fill the candles of ``coin`` opening in [start_ms − 1 min, end_ms]."""
        self._queue.put((coin, start_ms - start_ms % MINUTE_MS - MINUTE_MS, end_ms))

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                coin, start, end = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self.fill(coin, start, end)

    def fill(self, coin: str, start_ms: int, end_ms: int) -> int:
        """One request; lands the completed candles not landed yet and returns how many."""
        try:
            rows = candles_from_snapshot(self.info.candle_snapshot(coin, "1m", start_ms, end_ms), time.time_ns())
        except BadMessage as exc:
            self.failures += 1
            log.warning("candleSnapshot for %r answered a bad candle (%s)", coin, exc.detail)
            return 0
        except Exception as exc:  # noqa: BLE001 - a failed fill leaves the gap logged, never stops recording
            self.failures += 1
            log.warning("candleSnapshot for %r failed: %s", coin, exc)
            return 0
        now = self.writer.watermark.now_ms() or 0
        complete = [r for r in rows if r[0] == coin and r[1] == "1m" and r[3] + self.margin_ms < now]
        done = self.completer.offer_complete(complete)
        if done:
            self.writer.add("candles", done)
            self.filled += len(done)
        return len(done)
