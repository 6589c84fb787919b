"""Landing layout, atomic parts, hour closing and the markers' fingerprints (what the plan compares)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from hypertrack_pipeline.landing.schemas import STREAM_SCHEMAS
from hypertrack_pipeline.landing.zone import (
    Hour,
    closed_hour_fingerprints,
    closed_hours,
    mark_closed,
    write_part,
)

H0 = Hour(datetime(2026, 1, 5, 13, tzinfo=UTC))


def _trades(n: int, t0: int) -> pa.Table:
    return pa.table({
        "coin": ["BTC"] * n, "side": ["B"] * n, "px": [100.0] * n, "sz": [1.0] * n,
        "time": [t0 + i for i in range(n)], "tid": list(range(n)), "hash": ["0x" + "0" * 64] * n,
        "buyer": ["0x" + "a" * 40] * n, "seller": ["0x" + "b" * 40] * n, "recv_ns": [0] * n,
    })


def test_hour_keys_round_trip():
    assert H0.key == "2026-01-05-13:00"
    assert Hour.from_key(H0.key) == H0
    assert Hour.of_ms(H0.start_ms + 3_599_999) == H0
    assert Hour.of_ms(H0.end_ms) == H0.next()
    assert H0.rel_dir() == "date=2026-01-05/hour=13"


def test_write_part_appends_and_casts_to_schema(tmp_path):
    p1 = write_part(tmp_path, "trades", H0, _trades(3, H0.start_ms))
    p2 = write_part(tmp_path, "trades", H0, _trades(2, H0.start_ms))
    assert p1.name == "part-000000.parquet" and p2.name == "part-000001.parquet"
    assert pq.read_schema(p1).equals(STREAM_SCHEMAS["trades"], check_metadata=False)
    assert not list(p1.parent.glob(".*tmp"))  # no temp file left behind
    marker = mark_closed(tmp_path, "trades", H0)
    body = json.loads(marker.read_text())
    assert body["rows"] == 5 and body["parts"] == [p1.name, p2.name]


def test_closed_hours_needs_every_stream_of_the_hour_closed(tmp_path):
    write_part(tmp_path, "trades", H0, _trades(1, H0.start_ms))
    write_part(tmp_path, "trades", H0.next(), _trades(1, H0.next().start_ms))
    mark_closed(tmp_path, "trades", H0)
    mark_closed(tmp_path, "trades", H0.next())
    (tmp_path / "bbo" / H0.next().rel_dir()).mkdir(parents=True)  # bbo of the 2nd hour still open
    assert closed_hours(tmp_path) == [H0]
    mark_closed(tmp_path, "bbo", H0.next(), rows=0)
    assert closed_hours(tmp_path) == [H0, H0.next()]


def test_fingerprint_changes_when_an_hour_is_closed_again(tmp_path):
    h1, h2 = Hour.from_key("2026-01-01-00:00"), Hour.from_key("2026-01-01-01:00")
    for h in (h1, h2):
        write_part(tmp_path, "trades", h, STREAM_SCHEMAS["trades"].empty_table())
        mark_closed(tmp_path, "trades", h, rows=0)
    before = closed_hour_fingerprints(tmp_path)
    assert set(before) == {h1, h2}
    assert closed_hour_fingerprints(tmp_path) == before  # stable while nothing changes
    time.sleep(0.01)
    mark_closed(tmp_path, "trades", h2, rows=5)  # reopened and closed with more rows
    after = closed_hour_fingerprints(tmp_path)
    assert after[h1] == before[h1] and after[h2] != before[h2]
