"""Follows HyperEVM blocks into the landing writer and resumes after a restart.

New heads come from polling ``eth_blockNumber`` or, when a WebSocket RPC URL is configured, from
an ``eth_subscribe newHeads`` subscription (polling stays as the fallback). The state file
(``<data>/state/evm.json``) holds the next block to read; it only advances once the rows of the
blocks before it are on disk (the writer's durable checkpoint), so a crash re-reads, never
skips (blocks can repeat after a crash between a flush and the state save: deduplicate by
block number / (tx_hash, log_index) downstream).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import orjson

from hypertrack_pipeline.config import mask_url
from hypertrack_pipeline.files import write_json_atomic
from hypertrack_pipeline.hyperevm.reader import EvmReader
from hypertrack_pipeline.recorder.writer import LandingWriter

log = logging.getLogger(__name__)
EVM_STREAMS = ("evm_blocks", "evm_transactions", "evm_token_transfers")
MARK = "evm"


def load_next_block(state_path: Path) -> int | None:
    try:
        return int(json.loads(state_path.read_text())["next_block"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_next_block(state_path: Path, next_block: int) -> None:
    write_json_atomic(state_path, {"next_block": next_block, "saved_at": int(time.time())}, indent=None)


class HeadWatcher(threading.Thread):
    """``eth_subscribe newHeads`` over WebSocket; sets ``head`` and pokes the follower."""

    def __init__(self, url: str, wake: threading.Event, stop: threading.Event) -> None:
        super().__init__(name="evm-heads", daemon=True)
        self.url, self.wake, self.stop_event = url, wake, stop
        self.head: int | None = None

    def run(self) -> None:
        import websocket

        delay = 1.0
        while not self.stop_event.is_set():
            try:
                ws = websocket.create_connection(self.url, timeout=10, skip_utf8_validation=True)
                ws.send(orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}))
                ws.settimeout(1.0)
                delay = 1.0
                while not self.stop_event.is_set():
                    try:
                        raw = ws.recv()
                    except websocket.WebSocketTimeoutException:
                        continue
                    if not raw:  # a close frame
                        raise ConnectionError("closed by server")
                    try:
                        msg = orjson.loads(raw)
                    except orjson.JSONDecodeError:
                        continue
                    if not isinstance(msg, dict):
                        continue
                    number = ((msg.get("params") or {}).get("result") or {}).get("number")
                    if isinstance(number, str):
                        self.head = int(number, 16)
                        self.wake.set()
                ws.close()
            except Exception as exc:  # noqa: BLE001 - fall back to polling until it comes back
                log.warning("HyperEVM head subscription at %s lost (%s)", mask_url(self.url), type(exc).__name__)
                self.head = None
                if self.stop_event.wait(delay):
                    return
                delay = min(60.0, delay * 2)


class EvmFollower(threading.Thread):
    def __init__(
        self,
        reader: EvmReader,
        writer: LandingWriter,
        state_path: Path,
        stop: threading.Event,
        poll_s: float = 1.0,
        max_batch: int = 10,
        start_block: int | None = None,
        ws_url: str | None = None,
    ) -> None:
        super().__init__(name="evm-follower", daemon=True)
        self.reader, self.writer, self.state_path = reader, writer, state_path
        self.stop_event, self.poll_s, self.max_batch = stop, poll_s, max_batch
        self.start_block = start_block
        self.state = "idle"
        self.blocks = 0
        self.errors = 0
        self.next_block: int | None = None
        self.last_time_ms: int | None = None
        self._wake = threading.Event()
        self._heads = HeadWatcher(ws_url, self._wake, stop) if ws_url else None

    def _head(self) -> int:
        if self._heads is not None and self._heads.head is not None:
            return self._heads.head
        return self.reader.head()

    def run(self) -> None:
        if self._heads is not None:
            self._heads.start()
        failures = 0
        unknown: str | None = None  # an RPC failure before any time was seen
        while not self.stop_event.is_set():
            try:
                if self.next_block is None:
                    saved = load_next_block(self.state_path)
                    if saved is not None:
                        self.next_block = saved
                    elif self.start_block is not None:
                        self.next_block = self.start_block
                    else:
                        self.next_block = self._head() + 1  # no history: start at the next new block
                head = self._head()
                if head < self.next_block:
                    self.state = "waiting"
                    self._wake.wait(self.poll_s)
                    self._wake.clear()
                    continue
                self.state = "reading"
                last = min(head, self.next_block + self.max_batch - 1)
                batch = self.reader.read_range(self.next_block, last)
            except Exception as exc:  # noqa: BLE001 - an RPC failure is a gap, never the end
                self.errors += 1
                failures += 1
                self.state = f"error: {type(exc).__name__}"
                # from the last block (or exchange) time seen, never the wall clock: unknown if none yet
                start = self.last_time_ms or self.writer.watermark.event_ms
                if start is None:
                    unknown = unknown or f"rpc error: {type(exc).__name__}"
                for s in EVM_STREAMS:
                    if start is not None:
                        self.writer.open_gap(("evm", s), s, None, start, f"rpc error: {type(exc).__name__}")
                if self.stop_event.wait(min(60.0, 0.5 * 2**failures)):
                    break
                continue
            if failures and batch.blocks:
                for s in EVM_STREAMS:
                    self.writer.close_gap(("evm", s), batch.blocks[0][3])
            if unknown is not None and batch.blocks:
                first = batch.blocks[0][3]
                for s in EVM_STREAMS:
                    self.writer.open_gap(("evm?", s), s, None, first, f"{unknown} (before the first block; start unknown)")
                    self.writer.close_gap(("evm?", s), first)
                unknown = None
            failures = 0
            self.writer.add("evm_blocks", batch.blocks)
            self.writer.add("evm_transactions", batch.transactions)
            self.writer.add("evm_token_transfers", batch.transfers, mark=(MARK, last))
            self.blocks += len(batch.blocks)
            self.last_time_ms = batch.last_time_ms or self.last_time_ms
            self.next_block = last + 1
        self.state = "stopped"

    def save_state(self) -> None:
        """Persist the next block whose rows are not yet durable."""
        done = self.writer.durable_marks.get(MARK)
        if done is not None:
            save_next_block(self.state_path, done + 1)
