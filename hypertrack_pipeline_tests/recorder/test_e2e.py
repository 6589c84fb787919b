"""The recorder end to end against the simulator's Hyperliquid protocol server (real WebSockets
on 127.0.0.1): round trip, the real captured frames, faults, HyperEVM over JSON-RPC."""

from __future__ import annotations

import json
import time
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hypertrack_pipeline.hyperliquid.info import InfoClient
from hypertrack_pipeline.hyperliquid.session import SessionOptions
from hypertrack_pipeline.landing.schemas import EVM_BLOCKS, EVM_TOKEN_TRANSFERS, EVM_TRANSACTIONS
from hypertrack_pipeline.landing.zone import Hour
from hypertrack_pipeline.simulator.replay import ReplaySource
from hypertrack_pipeline.simulator.server import SimServer, TableSource

STREAMS = ("trades", "bbo", "l2book", "candles")
T0 = 1_767_268_800_000  # the markets' start (conftest): 2026-01-01T12:00:00Z


def q(sql: str) -> list[tuple]:
    return duckdb.sql(sql).fetchall()


def parts(raw: Path, stream: str) -> str:
    return f"read_parquet('{raw}/{stream}/**/part-*.parquet', union_by_name=true)"


def wait_caught_up(srv: SimServer, rt,  # noqa: ANN001 - conftest.RecorderThread
                    timeout: float = 30.0) -> None:
    """Until the source is played out and the recorder has read every data frame sent."""
    assert srv.wait_done(timeout)
    deadline = time.monotonic() + timeout
    c = rt.recorder.counters
    while time.monotonic() < deadline:
        sent = srv.stats()["sent_messages"]
        if (c.msgs["trades"] >= sent.get("trades", 0) and c.msgs["bbo"] >= sent.get("bbo", 0)
                and c.msgs["l2book"] >= sent.get("l2Book", 0)):
            return
        time.sleep(0.05)
    raise AssertionError(f"recorder did not catch up: {dict(c.msgs)} vs {srv.stats()['sent_messages']}")


def settle(srv: SimServer, rt, quiet_s: float = 0.5, timeout: float = 20.0) -> None:  # noqa: ANN001
    """Pause the market and wait until the recorder has read everything already sent."""
    srv.pause()
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        n = sum(rt.recorder.counters.msgs.values())
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        time.sleep(0.05)
    raise AssertionError("the recorder kept receiving after the market was paused")


def test_round_trip_every_trade_landed_once_and_hours_closed(tmp_path: Path, run_recorder, make_market) -> None:  # noqa: ANN001
    chunks = make_market(seconds=2 * 3600, trades_per_s=1.5, books_per_s=1.0)
    with SimServer(TableSource(chunks), speed=1800, paused=True) as srv:
        rt = run_recorder(ws_url=srv.ws_url, info_url=srv.info_url, coins=["BTC", "ETH"],
                          close_grace_seconds=60.0, flush_seconds=0.3)
        assert srv.wait_subscriptions(8)
        srv.resume()
        wait_caught_up(srv, rt)
        sent_msgs = srv.stats()["sent_messages"]
        sent = srv.sent_trades()
        assert rt.stop() == 0
    raw = tmp_path / "data" / "raw"
    assert len(sent) == 10_800
    landed = q(f"select coin, time, tid from {parts(raw, 'trades')}")
    assert len(landed) == len(set(landed)) == len(sent)  # exactly once
    assert set(landed) == set(sent)
    # buyer/seller landed as sent (the market's table is the truth)
    truth = pa.concat_tables([c["trades"] for c in chunks])
    duck = duckdb.connect()
    duck.register("truth", truth)
    diff = duck.execute(f"""select count(*) from {parts(raw, 'trades')} l join truth t using (coin, time, tid)
                        where l.buyer <> t.buyer or l.seller <> t.seller or l.px <> t.px or l.sz <> t.sz
                           or l.side <> t.side""").fetchall()
    assert diff == [(0,)]
    assert q(f"select count(*) from {parts(raw, 'bbo')}")[0][0] == sent_msgs["bbo"]
    assert q(f"select count(*) from {parts(raw, 'l2book')}")[0][0] == sent_msgs["l2Book"]
    # Completed candles only, once each, and equal to the candles rebuilt from the landed trades.
    candles = duck.execute(f"select coin, open_time, open, high, low, close, n_trades from {parts(raw, 'candles')} "
                       "order by coin, open_time").fetchall()
    rebuilt = duck.execute(f"""
        select coin, (time // 60000) * 60000 as t, arg_min(px, (time, tid)), max(px), min(px),
               arg_max(px, (time, tid)), count(*)
        from {parts(raw, 'trades')} group by all order by coin, t""").fetchall()
    assert len(candles) == len({(c[0], c[1]) for c in candles})
    last = {coin: max(r[1] for r in rebuilt if r[0] == coin) for coin in ("BTC", "ETH")}
    assert candles == [r for r in rebuilt if r[1] < last[r[0]]]  # the last minute never completed
    # Hour 12 closed by the watermark for every stream, with row counts; hour 13 was still running at
    # the stop: closed as recorded (complete: false), so it reaches the warehouse too.
    h12, h13 = Hour.of_ms(T0), Hour.of_ms(T0 + 3_600_000)
    for stream in STREAMS:
        for hour, complete, closed_by in ((h12, True, "watermark"), (h13, False, "stop")):
            marker = raw / stream / hour.rel_dir() / "_SUCCESS"
            assert marker.is_file(), stream
            body = json.loads(marker.read_text())
            assert (body["complete"], body["closed_by"]) == (complete, closed_by), (stream, hour)
            assert body["rows"] == sum(pq.ParquetFile(p).metadata.num_rows
                                       for p in marker.parent.glob("part-*.parquet"))
    report = (tmp_path / "data" / "data_collection_report.txt").read_text()
    assert "Stream: trades" in report and "rows written:      10800" in report
    assert "Bad input skipped: 0" in report


def test_real_capture_replayed_lands_buyer_and_seller(hl_fixtures: Path, tmp_path: Path, run_recorder) -> None:  # noqa: ANN001
    log = hl_fixtures / "ws" / "hype_20250112_sample.log"
    wire = []
    for line in log.read_bytes().splitlines():
        msg = orjson.loads(line.partition(b" ")[2])
        if msg["channel"] == "trades":
            wire += msg["data"]
    with SimServer(ReplaySource(log), speed=1.0, paused=True, l2_snapshot_on_subscribe=False) as srv:
        rt = run_recorder(ws_url=srv.ws_url, info_url=srv.info_url, coins=None)  # coins from meta
        assert srv.wait_subscriptions(4)
        assert rt.recorder.coins == ["HYPE"]
        srv.resume()
        assert srv.wait_done(20)
        deadline = time.monotonic() + 10
        while rt.recorder.counters.msgs["l2book"] < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        rt.stop()
    raw = tmp_path / "data" / "raw"
    landed = q(f"select tid, buyer, seller, side, px, sz, hash, time from {parts(raw, 'trades')} order by tid")
    expect = sorted((t["tid"], t["users"][0], t["users"][1], t["side"], float(t["px"]), float(t["sz"]), t["hash"],
                     t["time"]) for t in wire)
    assert landed == expect and len(landed) == len(wire)
    assert q(f"select count(*), min(len(bid_px)) from {parts(raw, 'l2book')}")[0][0] == 1


def test_faults_are_counted_gaps_logged_and_the_recorder_recovers(tmp_path: Path, run_recorder, make_market) -> None:  # noqa: ANN001
    odd = '<img src=x onerror="alert(1)">'
    chunks = make_market(seconds=1800, trades_per_s=4, coins=("BTC", "ETH", odd))
    # Reconnect after 0.5–1 s: 60–120 s of market time, so candles complete while disconnected.
    session = SessionOptions(ping_interval_s=0.5, stall_timeout_s=1.5, backoff_base_s=1.0, backoff_max_s=1.0)
    # Like the real server, a trades subscribe is answered with the recent trades: after each
    # reconnect the recorder sees trades it already has (and a few frames are sent twice).
    with SimServer(TableSource(chunks), speed=120, paused=True, recent_trades_on_subscribe=30) as srv:
        rt = run_recorder(ws_url=srv.ws_url, info_url=srv.info_url, coins=None, close_grace_seconds=600.0,
                          session=session)
        assert srv.wait_subscriptions(12)  # 3 coins from meta (delisted ones skipped) × 4 streams
        srv.resume()
        time.sleep(1.0)
        for kind in ("malformed", "truncated", "unknown_channel", "wrong_type"):
            assert srv.inject(kind) == 1
        srv.inject("duplicate", n=5)
        time.sleep(1.0)
        t_drop = srv.sim_time_ms()
        srv.inject("drop")
        assert srv.wait_subscriptions(12)  # resubscribed after the reconnect
        time.sleep(1.0)
        srv.inject("stall", seconds=3.0, pongs=True)  # silence, pongs too: a stall
        time.sleep(3.5)
        assert srv.wait_subscriptions(12)
        time.sleep(1.0)
        settle(srv, rt)
        sent = srv.sent_trades()
        rec = rt.recorder
        stats = srv.stats()
        truth = {c: {k["t"]: k for k in InfoClient(srv.info_url).candle_snapshot(c, "1m", 0, 2**62)}
                 for c in ("BTC", "ETH", odd)}
        rt.stop()
    assert stats["connections_total"] >= 3
    assert sum(c.reconnects for c in rec.connections) >= 2
    assert dict(rec.counters.bad) == {"malformed": 2, "unknown_channel": 1, "wrong_type": 1}
    raw = tmp_path / "data" / "raw"
    landed = q(f"select coin, time, tid from {parts(raw, 'trades')}")
    assert len(landed) == len(set(landed))  # repeats dropped
    assert rec.recent_trades.dropped >= 5
    assert set(landed) <= set(sent)
    assert len(set(sent) - set(landed)) <= 20  # only frames in flight when the socket was cut
    assert max(t for _, t, _ in landed) > t_drop + 60_000  # data flowed again after the reconnect
    assert {c for c, _, _ in landed} == {"BTC", "ETH", odd}  # the odd name is a coin, kept verbatim
    gaps = q(f"select stream, coin, start_ms, end_ms, cause from {parts(raw, 'gaps')}")
    causes = {g[4] for g in gaps}
    assert any(c.startswith("disconnect: closed by server") or c.startswith("disconnect: error") for c in causes)
    assert any("stall" in c for c in causes)
    assert {g[0] for g in gaps} == set(STREAMS) and {g[1] for g in gaps} == {"BTC", "ETH", odd}
    assert all(g[2] <= g[3] for g in gaps)
    # Candles: complete ones only, equal to the exchange's, and the minutes missed while
    # disconnected were filled from candleSnapshot: no hole.
    assert rec.gap_filler.filled >= 1
    candles = q(f"select coin, open_time, open, high, low, close, volume, n_trades from {parts(raw, 'candles')}")
    assert len(candles) == len({(c[0], c[1]) for c in candles})
    for coin, t, o, h, lo, c, v, n in candles:
        k = truth[coin][t]
        assert (o, h, lo, c, v, n) == (float(k["o"]), float(k["h"]), float(k["l"]), float(k["c"]), float(k["v"]),
                                       k["n"])
    for coin in truth:
        minutes = sorted(t for c_, t, *_ in candles if c_ == coin)
        assert minutes == list(range(minutes[0], minutes[-1] + 60_000, 60_000)), coin
    report = (tmp_path / "data" / "data_collection_report.txt").read_text()
    assert "Bad input skipped: 4" in report and "sample malformed: <<this is not json>>" in report
    assert odd in report  # printable text: shown as is in a text file (escaped by HTML writers)


def _evm_tables(n_blocks: int, t0: int, every_ms: int) -> dict[str, pa.Table]:
    numbers = list(range(100, 100 + n_blocks))
    times = [t0 + i * every_ms for i in range(n_blocks)]
    hashes = [f"0x{n:064x}" for n in numbers]
    blocks = pa.table({"number": numbers, "hash": hashes, "parent_hash": [f"0x{n - 1:064x}" for n in numbers],
                       "time": times, "miner": [None] * n_blocks, "gas_used": [21000] * n_blocks,
                       "gas_limit": [30_000_000] * n_blocks, "base_fee": [1e9] * n_blocks,
                       "tx_count": [1] * n_blocks, "recv_ns": [0] * n_blocks}, schema=EVM_BLOCKS)
    txh = [f"0x{n + 10**6:064x}" for n in numbers]
    a, b, token = "0x" + "a1" * 20, "0x" + "b2" * 20, "0x" + "c3" * 20
    txs = pa.table({"hash": txh, "block_number": numbers, "time": times, "tx_index": [0] * n_blocks,
                    "from_address": [a] * n_blocks, "to_address": [token] * n_blocks, "value": [0.0] * n_blocks,
                    "gas": [60000] * n_blocks, "gas_price": [1e9] * n_blocks, "nonce": list(range(n_blocks)),
                    "input_size": [68] * n_blocks, "method_id": ["0xa9059cbb"] * n_blocks,
                    "recv_ns": [0] * n_blocks}, schema=EVM_TRANSACTIONS)
    transfers = pa.table({"block_number": numbers, "time": times, "tx_hash": txh, "log_index": [0] * n_blocks,
                          "token": [token] * n_blocks, "from_address": [a] * n_blocks,
                          "to_address": [b] * n_blocks, "amount_raw": [str(10**18 * (i + 1)) for i in range(n_blocks)],
                          "decimals": [18] * n_blocks, "amount": [float(i + 1) for i in range(n_blocks)],
                          "recv_ns": [0] * n_blocks}, schema=EVM_TOKEN_TRANSFERS)
    return {"evm_blocks": blocks, "evm_transactions": txs, "evm_token_transfers": transfers}


def test_hyperevm_over_json_rpc_with_trades(tmp_path: Path, run_recorder, make_market) -> None:  # noqa: ANN001
    chunk = make_market(seconds=120, trades_per_s=2, coins=("BTC",))[0] | _evm_tables(40, T0, 3000)
    chunk2 = make_market(seconds=120, trades_per_s=2, coins=("BTC",), t0=T0 + 10_000)[0]
    with SimServer(TableSource([chunk, chunk2]), speed=60, paused=True) as srv:
        rt = run_recorder(ws_url=srv.ws_url, info_url=srv.info_url, coins=["BTC"],
                          streams=("trades", "evm_blocks", "evm_transactions", "evm_token_transfers"),
                          rpc_http=srv.evm_url, rpc_requests_per_min=6000, evm_start_block=100,
                          evm_poll_seconds=0.1)
        assert srv.wait_subscriptions(1)
        srv.resume()
        assert srv.wait_done(20)
        deadline = time.monotonic() + 20
        while (rt.recorder.evm.next_block or 0) < 140 and time.monotonic() < deadline:
            time.sleep(0.05)
        rt.stop()
    raw = tmp_path / "data" / "raw"
    assert q(f"select count(*), count(distinct number), min(number), max(number) from {parts(raw, 'evm_blocks')}") \
        == [(40, 40, 100, 139)]
    assert q(f"select count(*) from {parts(raw, 'evm_transactions')} where method_id = '0xa9059cbb'") == [(40,)]
    assert q(f"select sum(amount), min(decimals) from {parts(raw, 'evm_token_transfers')}") == [(820.0, 18)]
    state = json.loads((tmp_path / "data" / "state" / "evm.json").read_text())
    assert state["next_block"] == 140
    assert q(f"select count(*) from {parts(raw, 'trades')}")[0][0] > 0


@pytest.mark.parametrize("bad_url", ["http://127.0.0.1:9/info"])
def test_unreachable_info_endpoint_is_a_clean_user_error(tmp_path: Path, bad_url: str) -> None:
    from hypertrack_pipeline.errors import UserError
    from hypertrack_pipeline.recorder.app import Recorder, RecorderOptions

    rec = Recorder(RecorderOptions(data_dir=tmp_path, streams=("trades",), ws_url="ws://127.0.0.1:9/ws",
                                   info_url=bad_url, coins=None))
    with pytest.raises(UserError, match="cannot reach info endpoint"):
        rec.run(install_signals=False)
