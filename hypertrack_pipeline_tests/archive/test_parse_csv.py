"""The polars CSV candidate (``parse_chunk_csv`` / ``parse_hour_csv``) against the straightforward parser:
the real fixture, generated hours of both line formats with every optional field, and the layouts it must
hand back to the JSON path instead of misreading them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from hypertrack_pipeline.archive import parse
from hypertrack_pipeline.archive.synth import _Gen, hour_lines
from hypertrack_pipeline_tests.archive.test_parse import FIXTURE, _fill, _jsonl

pytest.importorskip("polars")

A1 = "0x" + "AB" * 20
A2 = "0x" + "cd" * 20



def _no_json_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*a: object, **k: object) -> None:
        raise AssertionError("the CSV path fell back to the JSON reader on the node's compact JSON")

    monkeypatch.setattr(parse, "_read_json", fail)
    monkeypatch.setattr(parse, "parse_hour_orjson", fail)


def test_fixture_equals_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    if not FIXTURE.is_file():
        pytest.skip("../shared/fixtures/hyperliquid/node_fills_by_block is not present")
    data = FIXTURE.read_bytes()
    ref = parse.parse_hour_reference(data)
    _no_json_path(monkeypatch)
    got = parse.parse_hour_csv(data)
    assert got.num_rows == 1362 and got.equals(ref)  # same rows in the same (file) order


@pytest.mark.parametrize("fmt", [parse.BY_BLOCK, parse.FILLS])
def test_generated_hours_equal_reference(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = hour_lines(_Gen(seed=11, wallets=300), datetime(2026, 1, 1, tzinfo=UTC), 20_000, fmt, dust_every=3000)
    ref = parse.parse_hour_reference(data)
    assert ref["builder"].null_count < ref.num_rows and ref["liquidated_user"].null_count < ref.num_rows
    assert ref["cloid"].null_count < ref.num_rows and ref["twap_id"].null_count < ref.num_rows
    _no_json_path(monkeypatch)
    whole = parse.parse_chunk_csv(data, fmt)
    assert whole is not None and whole.equals(ref)
    chunked = parse.parse_chunks(parse.iter_line_chunks(data, 64 << 10), threads=2, csv=True)
    assert chunked.combine_chunks().equals(ref)


def test_every_optional_field_and_odd_values() -> None:
    liq = {"liquidatedUser": A2.upper().replace("0X", "0x"), "markPx": "99.9", "method": "market"}
    fills = [
        [A1, _fill(coin="@107", cloid="0x" + "e" * 32, fee="-0.000461")],
        [A2, _fill(coin="PURR/USDC", side="A", crossed=False, builder=A1, builderFee="0.002", twapId=12345)],
        [A1, _fill(coin="km:USTECH", px="12817942.2417900003", feeToken="USDH", cloid="0x" + "1" * 32,
                   builder=A2.upper().replace("0X", "0x"), builderFee="0.1", liquidation=liq)],
        [A2, _fill(tid=0, hash="0x" + "0" * 64, dir="Spot Dust Conversion", side="A", coin="PURR/USDC")],
        [A1, _fill(coin="xyz:NVDA", liquidation=liq)],
    ]
    block = {"local_time": "2025-08-01T10:00:00.2", "block_time": "2025-08-01T09:59:59.9", "block_number": 5,
             "events": fills}
    empty = {"local_time": "x", "block_time": "y", "block_number": 6, "events": []}
    last = {"local_time": "x", "block_time": "y", "block_number": 7, "events": fills[:1]}
    for fmt, data in ((parse.BY_BLOCK, _jsonl([block, empty, last])), (parse.FILLS, _jsonl(fills))):
        got = parse.parse_chunk_csv(data, fmt)
        ref = parse.parse_hour_reference(data)
        assert got is not None and got.equals(ref), fmt
    rows = parse.parse_chunk_csv(_jsonl([block, empty, last]), parse.BY_BLOCK).to_pylist()
    assert [r["block_number"] for r in rows] == [5, 5, 5, 5, 5, 7]
    assert rows[2]["px"] == 12817942.2417900003 and rows[2]["builder"] == A2 and rows[2]["liquidated_user"] == A2
    assert rows[0]["wallet"] == A1.lower() and rows[1]["twap_id"] == 12345 and rows[0]["fee"] == -0.000461


@pytest.mark.parametrize("line", [
    [A1, _fill(dir='Open "Long"')],  # an escaped quote
    [A1, _fill(coin="A,B")],  # a comma inside a value shifts the cells
    [A1, {**_fill(), "extra": "x"}],  # an unknown field after twapId: decoded by key, ignored like the reference
    [A1, {"px": "1.0", **_fill()}],  # another field order
    [A1, {**_fill(), **{f"f{i}": i for i in range(12)}}],  # more tail fields than the layout holds
])
def test_other_layouts_fall_back_or_match(line: list) -> None:
    """Whatever the CSV path does not return (None) goes to the JSON reader; what it returns is right."""
    data = _jsonl([line, [A2, _fill(side="A")]])
    got = parse.parse_chunk_csv(data, parse.FILLS)
    ref = parse.parse_hour_reference(data)
    if got is not None:
        assert got.equals(ref)
    assert parse.parse_hour_csv(data).equals(ref)
    spaced = ("\n".join(json.dumps(x) for x in [line, [A2, _fill(side="A")]]) + "\n").encode()
    assert parse.parse_chunk_csv(spaced, parse.FILLS) is None  # not compact: the JSON path reads it
    assert parse.parse_hour_csv(spaced).equals(ref)


@pytest.mark.parametrize("line", [
    [A1, _fill(px=100.5)],  # a number where the node writes a string
    [A1, _fill(twapId="9")],  # a string where the node writes a number
])
def test_wrong_types_are_not_read(line: list) -> None:
    """Types the node never writes (the other parsers reject them too): the CSV path must not guess."""
    assert parse.parse_chunk_csv(_jsonl([line]), parse.FILLS) is None


def test_empty_chunks_and_schema() -> None:
    assert parse.parse_hour_csv(b"").num_rows == 0
    data = _jsonl([{"local_time": "x", "block_time": "y", "block_number": 6, "events": []}])
    got = parse.parse_chunk_csv(data, parse.BY_BLOCK)
    assert got is not None and got.num_rows == 0 and got.schema == parse.EXCHANGE_FILLS
    assert isinstance(parse.parse_hour_csv(_jsonl([[A1, _fill()]])), pa.Table)
