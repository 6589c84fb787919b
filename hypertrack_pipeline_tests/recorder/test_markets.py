"""The recorder on spot pairs and builder-dex perps (real WebSockets and Info on 127.0.0.1), and its
coin list within Hyperliquid's subscription limit."""

from __future__ import annotations

import io
import time
from pathlib import Path

import duckdb

from hypertrack_pipeline.hyperliquid.info import InfoClient
from hypertrack_pipeline.recorder.app import Recorder, RecorderOptions
from hypertrack_pipeline.simulator.server import SimServer, TableSource

COINS = ("BTC", "@107", "PURR/USDC", "xyz:NVDA")


def test_spot_and_dex_coins_are_resolved_and_recorded(tmp_path: Path, run_recorder, make_market) -> None:  # noqa: ANN001
    chunks = make_market(seconds=600, trades_per_s=2.0, coins=COINS, books_per_s=1.0)
    with SimServer(TableSource(chunks), speed=300, paused=True) as srv:
        rt = run_recorder(ws_url=srv.ws_url, info_url=srv.info_url, markets=("perp", "spot", "dex"),
                          streams=("trades", "bbo"))
        assert srv.wait_subscriptions(len(COINS) * 2)
        srv.resume()
        assert srv.wait_done(60)
        deadline = time.monotonic() + 20
        while rt.recorder.counters.msgs["trades"] < srv.stats()["sent_messages"].get("trades", 0):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert rt.stop() == 0
        assert rt.recorder.coins == list(COINS)
    raw = tmp_path / "data" / "raw"
    for stream in ("trades", "bbo"):
        got = {r[0] for r in duckdb.sql(f"select distinct coin from read_parquet('{raw}/{stream}/**/*.parquet')")
               .fetchall()}
        assert got == set(COINS)


def test_perps_only_by_default(tmp_path: Path, make_market) -> None:  # noqa: ANN001
    with SimServer(TableSource(make_market(20, 1.0, coins=COINS)), paused=True) as srv:
        rec = Recorder(RecorderOptions(data_dir=tmp_path, streams=("trades",), ws_url=srv.ws_url,
                                       info_url=srv.info_url), out=io.StringIO())
        rec.info = InfoClient(srv.info_url)
        assert rec._resolve_coins() == ["BTC"]  # noqa: SLF001


def test_over_the_limit_the_busiest_coins_are_kept_and_the_rest_named(tmp_path: Path, make_market) -> None:  # noqa: ANN001
    perps = tuple(f"P{i:03d}" for i in range(200))
    spot = tuple(f"@{i}" for i in range(60))
    dex = tuple(f"xyz:D{i}" for i in range(20))
    coins = perps + spot + dex  # 280 coins × 4 streams = 1120 subscriptions
    with SimServer(TableSource(make_market(120, 40.0, coins=coins, books_per_s=0.05)), speed=0) as srv:
        assert srv.wait_done(60)
        out = io.StringIO()
        rec = Recorder(RecorderOptions(data_dir=tmp_path, streams=("trades", "bbo", "l2book", "candles"),
                                       ws_url=srv.ws_url, info_url=srv.info_url, markets=("perp", "spot", "dex")),
                       out=out)
        rec.info = InfoClient(srv.info_url)
        kept = rec._resolve_coins()  # noqa: SLF001
        info = InfoClient(srv.info_url)
        volumes = info.day_volumes("perp") | info.day_volumes("spot") | info.day_volumes("perp", "xyz")
    assert len(kept) == 250 and len(rec.left_out) == 30 and set(kept) | set(rec.left_out) == set(coins)
    assert min(volumes[c] for c in kept) >= max(volumes[c] for c in rec.left_out)
    (line,) = out.getvalue().splitlines()
    assert "280 coins × 4 streams = 1120 subscriptions exceed Hyperliquid's limit of 1000" in line
    assert all(c in line for c in rec.left_out)
