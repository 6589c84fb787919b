"""The sent log, the recent-trades buffer and the snapshot sent after a subscribe ack, alone."""

from __future__ import annotations

import asyncio
import json

from hypertrack_pipeline.simulator.server.sentlog import SentLog
from hypertrack_pipeline.simulator.server.sessions import Connection
from hypertrack_pipeline.simulator.server.snapshots import RecentTrades, SubscribeSnapshots
from hypertrack_pipeline.simulator.server.state import MarketState
from hypertrack_pipeline.simulator.wire import WireEvent


def trades_frame(*tids: int) -> bytes:
    return json.dumps({"channel": "trades", "data": [{"coin": "BTC", "tid": t} for t in tids]},
                      separators=(",", ":")).encode()


def test_sent_log_counts_and_logs_trades_in_order() -> None:
    log = SentLog()
    log.count("trades")
    log.count("trades", 2)
    log.count("bbo")
    log.log([("BTC", 1, 1), ("BTC", 1, 2)])
    log.log([("ETH", 2, 3)])
    assert log.messages == {"trades": 3, "bbo": 1}
    assert log.trades() == [("BTC", 1, 1), ("BTC", 1, 2), ("ETH", 2, 3)]
    quiet = SentLog(log_trades=False)
    quiet.log([("BTC", 1, 1)])
    assert quiet.trades() == []


def test_recent_trades_keep_the_last_frames_per_coin() -> None:
    off = RecentTrades(0)
    off.record("BTC", trades_frame(1), [("BTC", 1, 1)], False)
    assert off.get("BTC") is None and off.frame("BTC") is None
    recent = RecentTrades(2)
    for tid in (1, 2, 3):
        recent.record("BTC", trades_frame(tid), [("BTC", tid, tid)], tid == 3)
    got = recent.frame("BTC")
    assert got is not None
    frame, items = got
    assert [t["tid"] for t in json.loads(frame)["data"]] == [2, 3]
    assert [e[2] for e in items] == [False, True]
    assert recent.frame("ETH") is None


def test_subscribe_snapshot_sends_recent_trades_once_logged_and_the_latest_book() -> None:
    sent: list[tuple[Connection, bytes]] = []

    async def send(conn: Connection, payload: bytes) -> None:
        sent.append((conn, payload))

    state, log, recent = MarketState(), SentLog(), RecentTrades(5)
    recent.record("BTC", trades_frame(1), [("BTC", 1, 1)], False)  # never reached anyone
    recent.record("BTC", trades_frame(2), [("BTC", 2, 2)], True)  # already in the log
    book = b'{"channel":"l2Book","data":{"coin":"BTC","levels":[[],[]]}}'
    state.apply(WireEvent(1, "l2Book", "BTC", book, state=("1.0", "2.0")))
    snap = SubscribeSnapshots(send, recent, state, log, l2_on_subscribe=True)
    conn = Connection(ws=None, transport=None)  # type: ignore[arg-type] - the snapshot never touches it
    asyncio.run(snap(conn, ("trades", "BTC")))
    asyncio.run(snap(conn, ("trades", "BTC")))  # a second subscribe: sent again, not logged again
    asyncio.run(snap(conn, ("l2Book", "BTC")))
    asyncio.run(snap(conn, ("l2Book", "ETH")))  # no book yet: nothing
    assert [json.loads(p)["channel"] for _, p in sent] == ["trades", "trades", "l2Book"]
    assert [t["tid"] for t in json.loads(sent[0][1])["data"]] == [1, 2]
    assert log.trades() == [("BTC", 1, 1)]
    sent.clear()
    snap.l2_on_subscribe = False
    asyncio.run(snap(conn, ("l2Book", "BTC")))
    assert sent == []
