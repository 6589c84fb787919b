"""Same arguments → byte-identical Parquet; another seed → another market; chunking is only slicing."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow as pa

from hypertrack_pipeline.landing.zone import closed_hours
from hypertrack_pipeline.simulator import MarketChunk, SimConfig, coin_universe, iter_market, simulate
from hypertrack_pipeline.simulator.market import Market

TINY = SimConfig(seed=5, wallets=40, days=3 / 24, coins=4)


def _parquet_bytes(root: Path) -> dict[str, bytes]:
    files = sorted(root.rglob("*.parquet"))
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


def test_same_seed_gives_byte_identical_parquet(tmp_path: Path) -> None:
    a, b = simulate(tmp_path / "a", TINY), simulate(tmp_path / "b", TINY)
    assert a.trades == b.trades > 0
    fa, fb = _parquet_bytes(tmp_path / "a"), _parquet_bytes(tmp_path / "b")
    assert fa.keys() == fb.keys()
    assert any(k.startswith("ground_truth/") for k in fa)
    assert [k for k in fa if fa[k] != fb[k]] == []
    assert (tmp_path / "a" / "ground_truth" / "manifest.json").read_text() == (
        tmp_path / "b" / "ground_truth" / "manifest.json"
    ).read_text()
    c = simulate(tmp_path / "c", dataclasses.replace(TINY, seed=6))
    fc = _parquet_bytes(tmp_path / "c")
    trades_a = [v for k, v in fa.items() if k.startswith("raw/trades/")]
    trades_c = [v for k, v in fc.items() if k.startswith("raw/trades/")]
    assert trades_a != trades_c and c.trades != a.trades


def test_every_stream_hour_is_closed_and_readable(tmp_path: Path) -> None:
    cfg = dataclasses.replace(TINY, prehistory_days=0)
    summary = simulate(tmp_path / "m", cfg)
    raw = tmp_path / "m" / "raw"
    hours = closed_hours(raw)
    assert [h.start_ms for h in hours] == [cfg.start_ms + i * 3_600_000 for i in range(cfg.hours)]
    streams = sorted(p.name for p in raw.iterdir())
    assert streams == sorted(cfg.landed_streams())
    for stream in streams:
        assert len(list((raw / stream).glob("date=*/hour=*/_SUCCESS"))) == cfg.hours
    assert summary.rows["evm_blocks"] == cfg.hours * 3600


def test_iter_market_chunks_slice_the_same_market() -> None:
    hourly = list(iter_market(TINY))
    minutes = list(iter_market(dataclasses.replace(TINY, chunk_ms=60_000)))
    assert len(hourly) == TINY.hours and len(minutes) == TINY.hours * 60
    assert all(isinstance(c, MarketChunk) for c in minutes)
    assert [c.start_ms for c in minutes[1:]] == [c.end_ms for c in minutes[:-1]]
    for name in ("trades", "bbo", "candles", "l2book", "evm_transactions"):
        whole = pa.concat_tables([c.tables[name] for c in hourly])
        pieces = pa.concat_tables([c.tables[name] for c in minutes])
        assert whole.equals(pieces), name
    for chunk in minutes:
        t = chunk.tables["trades"].column("time").to_numpy()
        assert ((t >= chunk.start_ms) & (t < chunk.end_ms)).all()
        assert (t[1:] >= t[:-1]).all()


def test_coin_universe_and_target_fills() -> None:
    uni = coin_universe(SimConfig(coins=("BTC", "ETH", "DOGE")))
    assert [(u["name"], u["szDecimals"]) for u in uni] == [("BTC", 5), ("ETH", 4), ("DOGE", 0)]
    small = Market(dataclasses.replace(TINY, target_fills=20_000))
    big = Market(dataclasses.replace(TINY, target_fills=200_000))
    assert big.intensity > 5 * small.intensity
    fills = sum(2 * small.hour(h)["trades"].num_rows for h in range(TINY.hours))
    assert 10_000 < fills < 40_000
