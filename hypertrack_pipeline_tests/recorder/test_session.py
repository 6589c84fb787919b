"""The WebSocket session against the simulator's real server: the reconnect backoff is capped and
starts over after a healthy connection; a URL nobody answers is given up on, quickly, until a
first connection worked."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from hypertrack_pipeline.hyperliquid.pacing import Limits
from hypertrack_pipeline.hyperliquid.session import (
    SessionOptions,
    WsConnection,
    backoff_delay,
    plan_connections,
)
from hypertrack_pipeline.simulator.server import SimServer, TableSource


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recording:
    """A listener that keeps every state change and counts frames."""

    def __init__(self) -> None:
        self.states: list[tuple[str, str | None]] = []
        self.frames = 0

    def on_frame(self, conn: WsConnection, frame: bytes, recv_ns: int) -> None:
        self.frames += 1

    def on_state(self, conn: WsConnection, state: str, cause: str | None) -> None:
        self.states.append((state, cause))


def wait_for(cond: Any, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return bool(cond())


def connection(url: str, listener: Recording, opts: SessionOptions, stop: threading.Event,
               connected_once: threading.Event | None = None) -> WsConnection:
    subs = plan_connections(["BTC"], ["trades"])[0]
    conn = WsConnection(0, url, subs, listener, Limits(connect_per_min=6000), stop, opts, connected_once)
    conn.start()
    return conn


def test_backoff_delay_is_capped_and_jittered() -> None:
    delays = [backoff_delay(a, 0.5, 5.0) for a in range(40)]
    assert max(delays) <= 5.0 and min(delays[8:]) >= 2.5  # capped, never below half the cap
    assert all(0.25 <= backoff_delay(0, 0.5, 5.0) <= 0.5 for _ in range(50))
    assert SessionOptions().backoff_max_s <= 5.0


def test_backoff_is_capped_while_the_server_is_down_and_reset_after_a_healthy_connection(make_market) -> None:  # noqa: ANN001
    opts = SessionOptions(ping_interval_s=0.5, stall_timeout_s=3.0, backoff_base_s=0.05, backoff_max_s=0.4,
                          give_up_after_attempts=None)
    port = free_port()
    chunks = make_market(600, 2.0, coins=("BTC",))
    listener, stop = Recording(), threading.Event()
    srv = SimServer(TableSource(chunks), port=port, speed=5)
    srv.start()
    conn = connection(f"ws://127.0.0.1:{port}/ws", listener, opts, stop)
    try:
        assert wait_for(lambda: listener.frames > 5)  # healthy: data flowed
        srv.stop()  # the server goes away (a restart)
        assert wait_for(lambda: len(conn.delays) >= 8)
        down = list(conn.delays)
        assert down[0] <= opts.backoff_base_s  # the first retry after a healthy connection: the base
        assert max(down) <= opts.backoff_max_s  # never past the cap, however long it is down
        assert max(down[-3:]) > 2 * opts.backoff_base_s  # ... but it did back off
        srv = SimServer(TableSource(chunks), port=port, speed=5)  # back on the same port
        srv.start()
        frames = listener.frames
        assert wait_for(lambda: listener.frames > frames + 5)
        n = len(conn.delays)
        assert srv.inject("drop") == 1  # a healthy connection dropped: back to the base delay
        assert wait_for(lambda: len(conn.delays) > n)
        assert conn.delays[n] <= opts.backoff_base_s
        assert conn.reconnects >= 1 and conn.state != "failed"
    finally:
        stop.set()
        conn.join(10)
        srv.stop()
    assert ("closed", None) == listener.states[-1]


def test_a_url_nobody_answers_is_given_up_on_before_any_connection_worked() -> None:
    opts = SessionOptions(backoff_base_s=0.05, backoff_max_s=0.2, give_up_after_attempts=4, give_up_after_s=10)
    listener, stop = Recording(), threading.Event()
    t0 = time.monotonic()
    conn = connection(f"ws://127.0.0.1:{free_port()}/ws", listener, opts, stop)
    conn.join(15)
    assert not conn.is_alive() and time.monotonic() - t0 < 10
    assert conn.state == "failed" and conn.failed_attempts == 4
    assert listener.states[-1][0] == "failed" and "connect failed" in (listener.states[-1][1] or "")
    # Once any connection of the recorder has worked, a failing one keeps retrying.
    once = threading.Event()
    once.set()
    stop2 = threading.Event()
    conn2 = connection(f"ws://127.0.0.1:{free_port()}/ws", Recording(), opts, stop2, once)
    try:
        assert wait_for(lambda: len(conn2.delays) >= 6)
        assert conn2.is_alive() and conn2.state != "failed"
    finally:
        stop2.set()
        conn2.join(10)
