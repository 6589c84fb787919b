"""The node-archive parsers: the real 2-block fixture, the three formats, pairing into trades, landing by
each fill's own hour, LZ4 round trip, and the fast parser against the straightforward one."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hypertrack_pipeline.archive import parse
from hypertrack_pipeline.archive.land import land_file, split_by_hour
from hypertrack_pipeline.archive.schema import EXCHANGE_FILLS, STREAM, trades_from_fills, with_file_order
from hypertrack_pipeline.archive.synth import _Gen, hour_lines
from hypertrack_pipeline.datasets import TRADES
from hypertrack_pipeline.landing import schemas
from hypertrack_pipeline.landing.zone import Hour

lz4_frame = pytest.importorskip("lz4.frame")

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
FIXTURE = SHARED / "fixtures" / "hyperliquid" / "node_fills_by_block" / "sample_2_blocks.jsonl"
ORDER = [(c, "ascending") for c in ("time", "tid", "side", "wallet", "oid")]

A1 = "0x" + "ab" * 20
A2 = "0x" + "cd" * 20


def _fill(**kw: object) -> dict:
    f = {"coin": "BTC", "px": "100.5", "sz": "0.2", "side": "B", "time": 1_753_600_000_123, "startPosition": "1.0",
         "dir": "Open Long", "closedPnl": "0.0", "hash": "0x" + "11" * 32, "oid": 7, "crossed": True,
         "fee": "0.01", "tid": 42, "feeToken": "USDC", "twapId": None}
    f.update(kw)
    return f


def _jsonl(objs: list) -> bytes:
    """Compact JSON lines, as the node writes them."""
    return ("\n".join(json.dumps(x, separators=(",", ":")) for x in objs) + "\n").encode()


def _sorted(t: pa.Table) -> pa.Table:
    return t.sort_by(ORDER)


@pytest.fixture
def fixture_bytes() -> bytes:
    if not FIXTURE.is_file():
        pytest.skip("../shared/fixtures/hyperliquid/node_fills_by_block is not present")
    return FIXTURE.read_bytes()


@pytest.fixture
def registry() -> None:
    """exchange_fills is a landed stream of the dataset registry (write_part needs its schema): the parsers'
    schema plus the file order ``seq`` the backfill appends."""
    assert schemas.STREAM_SCHEMAS[STREAM] == EXCHANGE_FILLS.append(pa.field("seq", pa.int64()))


def test_fixture_parses_every_field(fixture_bytes: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = parse.parse_hour_reference(fixture_bytes)
    monkeypatch.setattr(parse, "parse_hour_orjson", None)  # the Arrow path must not fall back
    t = parse.parse_hour(fixture_bytes)
    assert t.schema == EXCHANGE_FILLS
    wire = [(b["block_number"], u, f) for line in fixture_bytes.splitlines() for b in [json.loads(line)]
            for u, f in b["events"]]
    assert t.num_rows == len(wire) == 1362
    rows = t.to_pylist()
    for row, (block, user, f) in zip(rows, wire, strict=True):
        assert row["wallet"] == user.lower() and row["block_number"] == block
        assert (row["coin"], row["side"], row["time"], row["dir"], row["hash"]) == (
            f["coin"], f["side"], f["time"], f["dir"], f["hash"])
        assert (row["px"], row["sz"], row["start_position"]) == (
            float(f["px"]), float(f["sz"]), float(f["startPosition"]))
        assert (row["closed_pnl"], row["fee"]) == (float(f["closedPnl"]), float(f["fee"]))
        assert (row["oid"], row["crossed"], row["tid"], row["fee_token"], row["twap_id"]) == (
            f["oid"], f["crossed"], f["tid"], f["feeToken"], f["twapId"])
        assert (row["cloid"], row["builder"]) == (f.get("cloid"), f.get("builder"))
        assert row["recv_ns"] == 0 and row["liquidated_user"] is None
    coins = set(t["coin"].to_pylist())
    assert {"UNI", "@150", "PURR/USDC", "km:USTECH", "cash:NVDA"} <= coins
    assert min(t["fee"].to_pylist()) < 0  # maker rebates
    assert t["cloid"].null_count not in (0, t.num_rows)
    assert t["twap_id"].null_count < t.num_rows
    assert _sorted(t).equals(_sorted(reference))


def test_fixture_trades_pair_buyer_seller_and_taker_side(fixture_bytes: bytes) -> None:
    fills = parse.parse_hour(fixture_bytes)
    trades = trades_from_fills(fills)
    assert trades.schema == TRADES.landing
    assert trades.num_rows == 9 + 23  # every non-dust tid has exactly two fills in the sample
    assert 0 not in trades["tid"].to_pylist()  # 1298 dust conversions are fills, not trades
    by_tid = {r["tid"]: r for r in trades.to_pylist()}
    uni = by_tid[868180814349127]  # the buyer crossed: aggressor B
    assert (uni["coin"], uni["side"], uni["buyer"], uni["seller"], uni["px"], uni["sz"]) == (
        "UNI", "B", "0x010461c14e146ac35fe42271bdc1134ee31c703a", "0x727956612a8700627451204a3ae26268bd1a1525",
        3.9457, 3.9)
    tech = by_tid[1069495770515718]  # the seller crossed: aggressor A
    assert (tech["coin"], tech["side"], tech["buyer"], tech["seller"]) == (
        "km:USTECH", "A", "0xfc667adba8d4837586078f4fdcdc29804337ca06", "0xc5ed4501500fcbfb2b88fb7f0aa52f834ed44346")
    assert trades["recv_ns"].to_pylist() == [0] * trades.num_rows


def test_fixture_lands_each_fill_in_its_own_hour(fixture_bytes: bytes, tmp_path: Path, registry: None) -> None:
    file_hour = datetime(2026, 3, 15, 0, tzinfo=UTC)  # the node's clock: both blocks filed at 00h
    fills = with_file_order(parse.parse_hour(fixture_bytes), int(file_hour.timestamp() * 1000))
    landed = land_file(tmp_path, fills, file_hour)
    before, at = Hour(datetime(2026, 3, 14, 23, tzinfo=UTC)), Hour(file_hour)
    assert landed.fills == {before: 18, at: 1344}
    assert landed.trades == {before: 9, at: 23}
    names = sorted(p.relative_to(tmp_path).as_posix() for p in landed.parts)
    assert names == [
        "exchange_fills/date=2026-03-14/hour=23/part-000001.parquet",  # spill-over of the next file
        "exchange_fills/date=2026-03-15/hour=00/part-000000.parquet",
        "trades/date=2026-03-14/hour=23/part-000001.parquet",
        "trades/date=2026-03-15/hour=00/part-000000.parquet",
    ]
    back = pq.read_table(tmp_path / names[0])
    assert back.schema == schemas.STREAM_SCHEMAS[STREAM] and back.num_rows == 18
    trades_back = pq.read_table(tmp_path / names[3])
    assert trades_back.num_rows == 23 and trades_back.schema == TRADES.landing  # written next to the fills part


def test_node_fills_line_with_liquidation_and_builder() -> None:
    liq = {"liquidatedUser": A2.upper().replace("0X", "0x"), "markPx": "99.9", "method": "market"}
    lines = [[A1.upper().replace("0X", "0x"), _fill(builder=A2, builderFee="0.002", cloid="0x" + "e" * 32)],
             [A2, _fill(side="A", crossed=False, fee="-0.001", dir="Close Long", closedPnl="-3.5",
                        liquidation=liq)]]
    data = _jsonl(lines)
    assert parse.detect_format(data) == parse.FILLS
    t = parse.parse_hour(data)
    a, b = t.to_pylist()
    assert (a["wallet"], a["builder"], a["builder_fee"], a["cloid"], a["block_number"]) == (
        A1, A2, 0.002, "0x" + "e" * 32, None)
    assert (b["fee"], b["closed_pnl"], b["liquidated_user"], b["liquidation_mark_px"], b["liquidation_method"]) == (
        -0.001, -3.5, A2, 99.9, "market")
    assert t.equals(parse.parse_hour_reference(data))
    assert t.equals(parse.parse_hour_orjson(data))
    trades = trades_from_fills(t).to_pylist()
    assert [(r["buyer"], r["seller"], r["side"]) for r in trades] == [(A1, A2, "B")]
    spaced = ("\n".join(json.dumps(x) for x in lines) + "\n").encode()  # not compact: slower path, same rows
    assert parse.parse_hour(spaced).equals(t)


def test_node_fills_by_block_lines() -> None:
    block = {"local_time": "2025-08-01T10:00:00.2", "block_time": "2025-08-01T09:59:59.9", "block_number": 5,
             "events": [[A1, _fill(coin="@107")], [A2, _fill(coin="@107", side="A", crossed=False)]]}
    empty = {"local_time": "x", "block_time": "y", "block_number": 6, "events": []}
    data = _jsonl([block, empty])
    assert parse.detect_format(data) == parse.BY_BLOCK
    t = parse.parse_hour(data)
    assert t["block_number"].to_pylist() == [5, 5] and t["coin"].to_pylist() == ["@107", "@107"]
    assert t.equals(parse.parse_hour_reference(data))


def test_node_trades_line_becomes_two_fills_and_one_trade() -> None:
    line = {"coin": "ETH", "side": "A", "time": "2025-04-01T10:00:00.123999999", "px": "1800.5", "sz": "2.0",
            "hash": "0x" + "22" * 32, "trade_dir_override": "Na",
            "side_info": [{"user": A1, "start_pos": "-1.0", "oid": 11, "twap_id": None, "cloid": None},
                          {"user": A2, "start_pos": "3.5", "oid": 12, "twap_id": 9, "cloid": "0x" + "f" * 32}]}
    data = _jsonl([line])
    assert parse.detect_format(data) == parse.TRADES
    t = parse.parse_hour(data)
    sides = {r["side"]: r for r in t.to_pylist()}
    buy, sell = sides["B"], sides["A"]
    ms = int(datetime(2025, 4, 1, 10, tzinfo=UTC).timestamp() * 1000) + 123
    tid = parse.synthetic_tid(11, 12)
    assert (buy["wallet"], buy["side"], buy["crossed"], buy["start_position"], buy["oid"], buy["time"]) == (
        A1, "B", False, -1.0, 11, ms)
    assert (sell["wallet"], sell["side"], sell["crossed"], sell["twap_id"], sell["cloid"]) == (
        A2, "A", True, 9, "0x" + "f" * 32)
    assert buy["tid"] == sell["tid"] == tid > 0
    assert buy["fee"] is None and buy["closed_pnl"] is None and buy["dir"] is None
    assert _sorted(t).equals(_sorted(parse.parse_hour_reference(data)))
    (trade,) = trades_from_fills(t).to_pylist()
    assert (trade["buyer"], trade["seller"], trade["side"], trade["tid"], trade["time"]) == (A1, A2, "A", tid, ms)


def test_dust_and_unpaired_and_ambiguous_fills_are_not_trades() -> None:
    zero = "0x" + "0" * 64
    lines = [[A1, _fill(tid=0, hash=zero, dir="Spot Dust Conversion", side="A", coin="PURR/USDC")],
             [A2, _fill(tid=0, hash=zero, dir="Spot Dust Conversion", side="A", coin="PURR/USDC")],
             [A1, _fill(tid=5)],  # its seller is missing
             [A1, _fill(tid=6)], [A2, _fill(tid=6)], [A2, _fill(tid=6, side="A")]]  # two buyers: ambiguous
    t = parse.parse_hour(_jsonl(lines))
    assert t.num_rows == 6
    assert trades_from_fills(t).num_rows == 0


def test_format_for_hour_and_errors() -> None:
    assert parse.format_for_hour(date(2025, 4, 1)) == parse.TRADES
    assert parse.format_for_hour(datetime(2025, 5, 25, 13)) == parse.TRADES
    assert parse.format_for_hour(datetime(2025, 5, 25, 14, tzinfo=UTC)) == parse.FILLS
    assert parse.format_for_hour(datetime(2025, 7, 27, 8, tzinfo=UTC)) == parse.FILLS
    assert parse.format_for_hour(datetime(2025, 7, 27, 9, tzinfo=UTC)) == parse.BY_BLOCK
    with pytest.raises(parse.ArchiveFormatError):
        parse.detect_format(b"hello\n")
    assert parse.parse_hour(b"").num_rows == 0
    assert parse.parse_hour(b"\n\n").schema == EXCHANGE_FILLS
    assert trades_from_fills(EXCHANGE_FILLS.empty_table()).schema == TRADES.landing


@pytest.mark.parametrize("fmt", parse.FORMATS)
def test_fast_parser_equals_straightforward_on_generated_data(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = hour_lines(_Gen(seed=3, wallets=300), datetime(2026, 1, 1, tzinfo=UTC), 6000, fmt, dust_every=2000)
    ref = _sorted(parse.parse_hour_reference(data))
    assert ref.num_rows > 5000
    orjson_version = parse.parse_hour_orjson

    def no_fallback(*a: object, **k: object) -> None:
        raise AssertionError("the Arrow path fell back to orjson on the node's compact JSON")

    monkeypatch.setattr(parse, "parse_hour_orjson", no_fallback)
    chunked = parse.parse_chunks(parse.iter_line_chunks(data, 16 << 10), threads=2)  # many small chunks
    assert _sorted(chunked).equals(ref)
    assert _sorted(parse.parse_hour(data)).equals(ref)
    assert _sorted(orjson_version(data)).equals(ref)
    if fmt != parse.TRADES:
        assert ref["liquidated_user"].null_count < ref.num_rows  # generated liquidations are parsed
        assert (ref["tid"].to_numpy() == 0).any()  # and dust conversions


def test_lz4_round_trip_and_streamed_chunks() -> None:
    data = hour_lines(_Gen(seed=5, wallets=100), datetime(2026, 1, 1, tzinfo=UTC), 3000)
    comp = lz4_frame.compress(data)
    assert parse.decompress(comp) == data
    with lz4_frame.LZ4FrameFile(io.BytesIO(comp)) as lz:
        pieces = list(parse.iter_line_chunks(lz, 10_000))
    assert b"".join(pieces) == data and all(p.endswith(b"\n") for p in pieces) and len(pieces) > 3
    want = _sorted(parse.parse_hour_reference(data))
    assert _sorted(parse.parse_lz4(comp)).equals(want)
    assert _sorted(parse.parse_lz4(io.BytesIO(comp), threads=1)).equals(want)


def test_split_by_hour_uses_each_rows_time() -> None:
    h = int(datetime(2026, 1, 1, 5, tzinfo=UTC).timestamp() * 1000)
    t = pa.table({"time": [h - 1, h, h + 3_599_999, h + 3_600_000]})
    got = {hour.key: part["time"].to_pylist() for hour, part in split_by_hour(t)}
    assert got == {"2026-01-01-04:00": [h - 1], "2026-01-01-05:00": [h, h + 3_599_999],
                   "2026-01-01-06:00": [h + 3_600_000]}
    shuffled = pa.table({"time": [h + 3_600_000, h - 1, h, h + 3_599_999]})  # out of order: filtered, not sliced
    got = {hour.key: sorted(part["time"].to_pylist()) for hour, part in split_by_hour(shuffled)}
    assert got == {"2026-01-01-04:00": [h - 1], "2026-01-01-05:00": [h, h + 3_599_999],
                   "2026-01-01-06:00": [h + 3_600_000]}
