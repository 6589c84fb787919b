"""``hypertrack simulate --format node-archive``: the simulated market as Hyperliquid's node archive,
with spot pairs and builder-dex perps, checked against the landing zone and the exchange ground truth."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import lz4.frame
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from hypertrack_pipeline.archive.parse import parse_hour_reference, parse_lz4
from hypertrack_pipeline.archive.schema import trades_from_fills
from hypertrack_pipeline.simulator.market import SimConfig
from hypertrack_pipeline.simulator.writer import simulate

COINS = ("BTC", "kPEPE", "@107", "PURR/USDC", "xyz:NVDA", "km:USTECH")
START = datetime(2026, 1, 5, tzinfo=UTC)


def _config(**kw: object) -> SimConfig:
    base: dict = {"seed": 5, "wallets": 30, "days": 0.25, "coins": COINS, "start": START,
                  "streams": ("trades", "bbo", "candles")}
    base.update(kw)
    return SimConfig(**base)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "out"
    simulate(out, _config(), formats=("landing", "node-archive"))
    return out


@pytest.fixture(scope="module")
def fills(run: Path) -> pa.Table:
    files = sorted((run / "node_fills_by_block").rglob("*.lz4"))
    return pa.concat_tables([parse_lz4(p.read_bytes()) for p in files])


def _archive_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix in (".lz4", ".parquet")}


def test_same_arguments_same_bytes(tmp_path: Path, run: Path) -> None:
    simulate(tmp_path / "again", _config(), formats=("node-archive",))
    a = _archive_bytes(run / "node_fills_by_block")
    assert a and a == _archive_bytes(tmp_path / "again" / "node_fills_by_block")
    name = "ground_truth/exchange_positions.parquet"
    assert (run / name).read_bytes() == (tmp_path / "again" / name).read_bytes()
    assert not (tmp_path / "again" / "raw").exists()  # node-archive alone writes no landing zone


def test_archive_trades_are_the_landing_trades(run: Path, fills: pa.Table) -> None:
    cols = ["coin", "side", "px", "sz", "time", "tid", "hash", "buyer", "seller"]
    landed = pq.read_table(run / "raw" / "trades").select(cols)
    paired = trades_from_fills(fills).select(cols)
    assert fills.num_rows == 2 * landed.num_rows == 2 * paired.num_rows
    assert {tuple(r.values()) for r in paired.to_pylist()} == {tuple(r.values()) for r in landed.to_pylist()}
    assert set(fills["coin"].to_pylist()) == set(COINS)  # spot and dex names as the exchange writes them


def test_layout_and_clock(run: Path) -> None:
    files = sorted((run / "node_fills_by_block" / "hourly").rglob("*.lz4"))
    window = [p for p in files if p.parent.name == "20260105"]
    assert [p.name for p in window] == [f"{h}.lz4" for h in range(7)]  # 6 window hours + the spill-over hour
    last_number = 0
    for h, path in enumerate(window):
        lines = lz4.frame.decompress(path.read_bytes()).splitlines()
        for line in lines:
            block = json.loads(line)
            assert list(block) == ["local_time", "block_time", "block_number", "events"]
            # filed by the node's clock: local_time in the file's hour, a little after block_time, which
            # may still lie in the previous hour
            assert block["local_time"].startswith(f"2026-01-05T{h:02d}:")
            assert block["block_time"] < block["local_time"] and block["block_number"] > last_number
            assert block["block_time"][:13] in (f"2026-01-05T{h:02d}", f"2026-01-05T{h - 1:02d}")
            last_number = block["block_number"]
    assert parse_hour_reference(lz4.frame.decompress(window[1].read_bytes())).num_rows > 0


def test_field_order_matches_the_real_sample(run: Path, hl_fixtures: Path) -> None:
    sample = hl_fixtures / "node_fills_by_block" / "sample_2_blocks.jsonl"
    real = [list(f) for line in sample.read_text().splitlines() for _, f in json.loads(line)["events"]]
    order = {k: i for f in real for i, k in enumerate(f)}  # the real position of every key seen
    raw = b"".join(lz4.frame.decompress(p.read_bytes()) for p in (run / "node_fills_by_block").rglob("*.lz4"))
    seen = set()
    for line in raw.splitlines():
        for user, fill in json.loads(line)["events"]:
            assert user == user.lower() and fill["twapId"] is None
            keys = [k for k in fill if k not in ("builderFee", "liquidation")]
            assert keys == sorted(keys, key=order.__getitem__)
            seen.update(fill)
            for k in ("px", "sz", "startPosition", "closedPnl", "fee"):
                assert isinstance(fill[k], str) and "e" not in fill[k] and "." in fill[k]
    assert {"cloid", "builder", "builderFee"} <= seen


def _sorted_groups(fills: pa.Table) -> dict[tuple[str, str], list[dict]]:
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in fills.to_pylist():
        groups[(r["wallet"], r["coin"])].append(r)
    for rows in groups.values():
        rows.sort(key=lambda r: (r["time"], r["tid"], r["side"] != "B"))  # a self-trade: buy, then sell
    return groups


def test_start_position_is_continuous_and_spot_never_negative(fills: pa.Table) -> None:
    spot_starts_mid = 0
    for (_, coin), rows in _sorted_groups(fills).items():
        spot = coin.startswith("@") or "/" in coin
        if spot:
            spot_starts_mid += rows[0]["start_position"] > 0
        for a, b in zip(rows, rows[1:], strict=False):
            delta = a["sz"] if a["side"] == "B" else -a["sz"]
            if spot and a["side"] == "B" and a["fee_token"] not in ("USDC",):
                delta -= a["fee"]  # a spot buy's fee is paid in the bought token
            assert b["start_position"] == pytest.approx(a["start_position"] + delta, abs=1e-9)
            if spot:
                assert a["start_position"] >= 0 and a["dir"] in ("Buy", "Sell")
                assert a["start_position"] + delta >= -1e-12
            else:
                assert a["dir"] in ("Open Long", "Open Short", "Close Long", "Close Short", "Long > Short",
                                    "Short > Long")
    assert spot_starts_mid > 0  # deposits made before the window: history starts mid-position


def test_closed_pnl_fees_and_liquidations_match_the_ground_truth(run: Path, fills: pa.Table) -> None:
    truth = pq.read_table(run / "ground_truth" / "exchange_positions.parquet").to_pylist()
    groups = _sorted_groups(fills)
    assert {(t["wallet"], t["coin"]) for t in truth} == set(groups)
    for t in truth:
        rows = groups[(t["wallet"], t["coin"])]
        assert t["fills"] == len(rows)
        assert sum(r["closed_pnl"] for r in rows) == pytest.approx(t["closed_pnl"], abs=1e-6)
        assert t["start_position"] == pytest.approx(rows[0]["start_position"], abs=1e-9)
        last = rows[-1]
        end = last["start_position"] + (last["sz"] if last["side"] == "B" else -last["sz"])
        if last["side"] == "B" and t["market"] == "spot" and last["fee_token"] != "USDC":
            end -= last["fee"]
        assert t["end_position"] == pytest.approx(end, abs=1e-9)
        liq = [r for r in rows if r["liquidated_user"] == t["wallet"]]
        assert t["liquidation_fills"] == len(liq)
        assert t["builder_fees_usd"] >= 0
    assert any(t["builder_fees_usd"] > 0 for t in truth) and any(t["fees_usd"] < 0 for t in truth)  # rebates
    tokens = set(fills["fee_token"].to_pylist())
    assert {"USDC", "USDH", "HYPE", "PURR"} <= tokens  # dex collateral, spot buys pay in the base token
    taker = fills.filter(pc.and_(fills["crossed"], pc.equal(fills["coin"], "BTC")))
    rate = pc.divide(taker["fee"], pc.multiply(taker["px"], taker["sz"])).to_pylist()
    assert min(rate) == pytest.approx(0.00045, abs=2e-6)  # the perp taker fee (builders add on top)


def test_liquidations_are_live_trades_too(tmp_path: Path) -> None:
    out = tmp_path / "liq"
    simulate(out, _config(seed=3, wallets=60, days=1.0, coins=("BTC", "ETH", "xyz:NVDA"), streams=("trades",)),
             formats=("landing", "node-archive"))
    fills = pa.concat_tables([parse_lz4(p.read_bytes()) for p in (out / "node_fills_by_block").rglob("*.lz4")])
    liq = fills.filter(pc.is_valid(fills["liquidated_user"]))
    assert liq.num_rows > 0 and liq.num_rows % 2 == 0  # both fills of a liquidation trade carry it
    victims = liq.filter(pc.equal(liq["wallet"], liq["liquidated_user"]))
    assert victims.num_rows == liq.num_rows // 2 and all(victims["crossed"].to_pylist())
    assert set(victims["liquidation_method"].to_pylist()) == {"market"}
    assert all(d.startswith("Close") or ">" in d for d in victims["dir"].to_pylist())
    landed = {(r["coin"], r["time"], r["tid"]) for r in pq.read_table(out / "raw" / "trades").to_pylist()}
    assert {(r["coin"], r["time"], r["tid"]) for r in victims.to_pylist()} <= landed
    truth = pq.read_table(out / "ground_truth" / "exchange_positions.parquet")
    assert pc.sum(truth["liquidation_fills"]).as_py() == victims.num_rows


def test_hours_before_the_by_block_era_use_node_fills(tmp_path: Path) -> None:
    out = tmp_path / "old"
    simulate(out, _config(start=datetime(2025, 6, 1, tzinfo=UTC), days=1 / 24, prehistory_days=0),
             formats=("node-archive",))
    files = sorted((out / "node_fills").rglob("*.lz4"))
    assert [p.relative_to(out).as_posix() for p in files][:1] == ["node_fills/hourly/20250601/0.lz4"]
    first = lz4.frame.decompress(files[0].read_bytes()).splitlines()[0]
    assert first.startswith(b'["0x')
    assert parse_lz4(files[0].read_bytes()).num_rows > 0
