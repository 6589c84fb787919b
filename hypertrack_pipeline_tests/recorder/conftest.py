"""Fixtures for the recorder tests: a small deterministic market (landing-schema tables) served by
the simulator's protocol server, and a helper that runs the recorder in a thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from hypertrack_pipeline.hyperliquid.session import SessionOptions
from hypertrack_pipeline.landing.schemas import BBO, L2BOOK, TRADES
from hypertrack_pipeline.recorder.app import Recorder, RecorderOptions

T0 = 1_767_268_800_000  # 2026-01-01T12:00:00Z


def _make_market(seconds: float, trades_per_s: float, coins: tuple[str, ...] = ("BTC", "ETH"),
                t0: int = T0, seed: int = 7, books_per_s: float = 4.0) -> list[dict[str, pa.Table]]:
    """Trades (unique (coin, time, tid), buyer != seller), BBO and L2 rows, in 10 s chunks."""
    rng = np.random.default_rng(seed)
    chunks = []
    chunk_ms = 10_000
    tid = 1
    for c0 in range(t0, t0 + int(seconds * 1000), chunk_ms):
        n = int(trades_per_s * chunk_ms / 1000)
        times = np.sort(rng.integers(c0, c0 + chunk_ms, n))
        coin = [coins[i] for i in rng.integers(0, len(coins), n)]
        px = np.round(100 + rng.normal(0, 1, n), 2)
        wallets = [f"0x{i:040x}" for i in range(1, 30)]
        buyers = rng.integers(0, len(wallets), n)
        sellers = (buyers + 1 + rng.integers(0, len(wallets) - 1, n)) % len(wallets)
        trades = pa.table({
            "coin": coin, "side": ["B" if s else "A" for s in rng.integers(0, 2, n)],
            "px": px, "sz": np.round(rng.uniform(0.01, 5, n), 3), "time": times,
            "tid": np.arange(tid, tid + n), "hash": ["0x" + "0" * 64] * n,
            "buyer": [wallets[i] for i in buyers], "seller": [wallets[i] for i in sellers],
            "recv_ns": np.zeros(n, dtype=np.int64),
        }, schema=TRADES)
        tid += n
        m = int(books_per_s * chunk_ms / 1000) * len(coins)
        btimes = np.sort(rng.integers(c0, c0 + chunk_ms, m))
        bcoin = [coins[i % len(coins)] for i in range(m)]
        mid = np.round(100 + rng.normal(0, 1, m), 2)
        bbo = pa.table({
            "coin": bcoin, "time": btimes, "bid_px": mid - 0.01, "bid_sz": np.ones(m), "bid_n": np.ones(m, np.int32),
            "ask_px": mid + 0.01, "ask_sz": np.ones(m), "ask_n": np.ones(m, np.int32), "recv_ns": np.zeros(m, np.int64),
        }, schema=BBO)
        l2 = pa.table({
            "coin": bcoin, "time": btimes,
            "bid_px": [[p - 0.01, p - 0.02] for p in mid], "bid_sz": [[1.0, 2.0]] * m, "bid_n": [[1, 2]] * m,
            "ask_px": [[p + 0.01, p + 0.02] for p in mid], "ask_sz": [[1.0, 2.0]] * m, "ask_n": [[1, 2]] * m,
            "recv_ns": np.zeros(m, np.int64),
        }, schema=L2BOOK)
        chunks.append({"trades": trades, "bbo": bbo, "l2book": l2})
    return chunks


def fast_session() -> SessionOptions:
    return SessionOptions(ping_interval_s=0.5, stall_timeout_s=1.5, backoff_base_s=0.05, backoff_max_s=0.3)


class RecorderThread:
    """Runs a Recorder in a background thread (no signal handlers); ``stop`` ends it cleanly."""

    def __init__(self, opts: RecorderOptions) -> None:
        self.recorder = Recorder(opts, out=open(Path(opts.data_dir) / "status.log", "w"))  # noqa: SIM115
        self.result: int | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.result = self.recorder.run(install_signals=False)
        except BaseException as exc:  # noqa: BLE001 - surfaced by stop()
            self.error = exc

    def start(self) -> RecorderThread:
        self.thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> int | None:
        self.recorder.request_stop()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "recorder did not stop"
        if self.error is not None:
            raise self.error
        return self.result


@pytest.fixture
def make_market() -> Callable[..., list[dict[str, pa.Table]]]:
    """``make_market(seconds, trades_per_s, coins=…, t0=T0)`` → chunks for ``TableSource``."""
    return _make_market


@pytest.fixture
def run_recorder(tmp_path: Path) -> Iterator[Callable[..., RecorderThread]]:
    started: list[RecorderThread] = []

    def start(**kw: object) -> RecorderThread:
        kw.setdefault("data_dir", tmp_path / "data")
        kw.setdefault("streams", ("trades", "bbo", "l2book", "candles"))
        kw.setdefault("session", fast_session())
        kw.setdefault("flush_seconds", 0.5)
        kw.setdefault("close_grace_seconds", 1.0)
        kw.setdefault("status_interval_s", 0.5)
        Path(kw["data_dir"]).mkdir(parents=True, exist_ok=True)
        rt = RecorderThread(RecorderOptions(**kw)).start()  # type: ignore[arg-type]
        started.append(rt)
        return rt

    yield start
    for rt in started:
        if rt.thread.is_alive():
            rt.recorder.request_stop()
            rt.thread.join(30)
