"""The landing writer: hour buckets, atomic parts, closing by watermark, late rows, gaps, restarts."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from hypertrack_pipeline.landing.zone import Hour, closed_hours, iter_stream_hours
from hypertrack_pipeline.recorder.writer import HOUR_MS, LandingWriter, Watermark

H0 = 1_767_268_800_000  # 2026-01-01T12:00:00Z, an hour start


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def trade(t: int, tid: int, coin: str = "BTC") -> tuple:
    return (coin, "B", 100.0, 1.0, t, tid, "0x" + "0" * 64, "0x" + "a" * 40, "0x" + "b" * 40, 0)


def read(raw: Path, stream: str, hour_ms: int) -> list[dict]:
    d = raw / stream / Hour.of_ms(hour_ms).rel_dir()
    rows: list[dict] = []
    for p in sorted(d.glob("part-*.parquet")):
        rows += pq.read_table(p).to_pylist()
    return rows


def test_rows_land_in_the_hour_of_their_exchange_time(tmp_path: Path) -> None:
    w = LandingWriter(tmp_path, ["trades"], grace_ms=60_000)
    w.add("trades", [trade(H0 + 10, 1), trade(H0 + HOUR_MS + 5, 2), trade(H0 + HOUR_MS - 1, 3)])
    assert w.flush() == 3
    assert [r["tid"] for r in read(tmp_path, "trades", H0)] == [1, 3]
    assert [r["tid"] for r in read(tmp_path, "trades", H0 + HOUR_MS)] == [2]
    w.add("trades", [trade(H0 + 20, 4)])
    w.flush()
    assert len(list((tmp_path / "trades" / Hour.of_ms(H0).rel_dir()).glob("part-*.parquet"))) == 2
    assert not list(tmp_path.rglob("*.tmp"))


def test_hour_closes_after_grace_on_the_watermark_and_late_rows_are_not_landed(tmp_path: Path) -> None:
    clock = FakeClock()
    w = LandingWriter(tmp_path, ["trades"], grace_ms=60_000, clock=clock, tick_after_s=1000)
    w.add("trades", [trade(H0 + 1, 1), trade(H0 + 2, 2)])
    w.add("trades", [trade(H0 + HOUR_MS + 59_000, 3)])  # watermark: end + 59 s < grace
    assert w.close_due_hours() == []
    w.add("trades", [trade(H0 + 500, 4)])  # still open: lands
    w.add("trades", [trade(H0 + HOUR_MS + 60_000, 5)])
    assert w.close_due_hours() == [("trades", Hour.of_ms(H0).key)]
    marker = json.loads((tmp_path / "trades" / Hour.of_ms(H0).rel_dir() / "_SUCCESS").read_text())
    assert marker["rows"] == 3
    assert sorted(r["tid"] for r in read(tmp_path, "trades", H0)) == [1, 2, 4]
    # A late row is counted, not landed, and the closed hour is never reopened.
    assert w.add("trades", [trade(H0 + 7, 6), trade(H0 + 9, 7)]) == 2
    w.flush()
    assert sorted(r["tid"] for r in read(tmp_path, "trades", H0)) == [1, 2, 4]
    assert w.stats["trades"].late_rows == 2
    # Its note lands in the gaps log once the gaps hour is closed (one grace later).
    w.add("trades", [trade(H0 + HOUR_MS + 120_000, 8)])
    closed = w.close_due_hours()
    assert ("gaps", Hour.of_ms(H0).key) in closed
    gaps = read(tmp_path, "gaps", H0)
    assert gaps == [{"stream": "trades", "coin": None, "start_ms": H0 + 7, "end_ms": H0 + 9,
                     "cause": "late: 2 rows after the hour closed"}]
    assert closed_hours(tmp_path) == [Hour.of_ms(H0)]


def test_watermark_keeps_ticking_when_the_stream_goes_quiet(tmp_path: Path) -> None:
    clock = FakeClock()
    wm = Watermark(clock, tick_after_s=10)
    assert wm.now_ms() is None
    wm.observe(H0)
    clock.t += 5
    assert wm.now_ms() == H0  # within tick_after: event time rules
    clock.t += 20
    assert wm.now_ms() == H0 + 15_000
    wm.observe(H0 + 1000)  # older than the ticking watermark: no effect
    assert wm.now_ms() == H0 + 15_000
    wm.observe(H0 + 3_600_000)  # a fast simulator jumps ahead
    assert wm.now_ms() == H0 + 3_600_000

    w = LandingWriter(tmp_path, ["bbo"], grace_ms=1000, clock=clock, tick_after_s=0)
    w.add("bbo", [("BTC", H0 + HOUR_MS - 10, 1.0, 1.0, 1, 2.0, 1.0, 1, 0)])
    assert w.close_due_hours() == []
    clock.t += 2.0
    assert w.close_due_hours() == [("bbo", Hour.of_ms(H0).key)]


def test_gaps_are_split_at_the_hour_boundary(tmp_path: Path) -> None:
    clock = FakeClock()
    w = LandingWriter(tmp_path, ["trades"], grace_ms=1000, clock=clock, tick_after_s=1000)
    w.add("trades", [trade(H0 + HOUR_MS - 5000, 1)])
    w.open_gap("k", "trades", "BTC", H0 + HOUR_MS - 4000, "disconnect: closed by server")
    w.add("trades", [trade(H0 + HOUR_MS + 3000, 2)])  # another connection keeps the clock moving
    closed = w.close_due_hours()
    assert ("trades", Hour.of_ms(H0).key) in closed and ("gaps", Hour.of_ms(H0).key) in closed
    assert read(tmp_path, "gaps", H0) == [{"stream": "trades", "coin": "BTC", "start_ms": H0 + HOUR_MS - 4000,
                                           "end_ms": H0 + HOUR_MS,
                                           "cause": "disconnect: closed by server (continues)"}]
    w.close_gap("k", H0 + HOUR_MS + 2500)
    w.flush()
    assert read(tmp_path, "gaps", H0 + HOUR_MS)[0]["start_ms"] == H0 + HOUR_MS
    assert read(tmp_path, "gaps", H0 + HOUR_MS)[0]["end_ms"] == H0 + HOUR_MS + 2500
    assert w.stats["trades"].gaps == 2 and w.stats["trades"].gap_ms == 6500


def test_restart_appends_and_closes_the_hour_a_previous_run_left_open(tmp_path: Path) -> None:
    w1 = LandingWriter(tmp_path, ["trades"], grace_ms=1000)
    w1.add("trades", [trade(H0 + 1, 1)])
    w1.finish()  # clean exit: the current hour stays open
    assert [h for h, closed in iter_stream_hours(tmp_path, "trades")] == [Hour.of_ms(H0)]
    assert not any(closed for _, closed in iter_stream_hours(tmp_path, "trades"))

    clock = FakeClock()
    w2 = LandingWriter(tmp_path, ["trades"], grace_ms=1000, clock=clock, tick_after_s=1000)
    w2.add("trades", [trade(H0 + 2, 2)])
    w2.flush()
    w2.add("trades", [trade(H0 + HOUR_MS + 1000, 3)])
    assert ("trades", Hour.of_ms(H0).key) in w2.close_due_hours()
    assert sorted(r["tid"] for r in read(tmp_path, "trades", H0)) == [1, 2]
    marker = json.loads((tmp_path / "trades" / Hour.of_ms(H0).rel_dir() / "_SUCCESS").read_text())
    assert marker["rows"] == 2 and marker["parts"] == ["part-000000.parquet", "part-000001.parquet"]
    # A third run treats the hour as closed: late, never reopened.
    w3 = LandingWriter(tmp_path, ["trades"], grace_ms=1000)
    assert w3.add("trades", [trade(H0 + 3, 9)]) == 1


def test_size_trigger_and_durable_marks(tmp_path: Path) -> None:
    w = LandingWriter(tmp_path, ["trades"], flush_rows=3)
    w.add("trades", [trade(H0 + 1, 1), trade(H0 + 2, 2)], mark=("evm", 10))
    assert not w.flush_wanted.is_set()
    w.add("trades", [trade(H0 + 3, 3)], mark=("evm", 11))
    assert w.flush_wanted.is_set()
    assert w.flush_if_big() == 3
    assert w.durable_marks == {}  # a partial flush does not make checkpoints durable
    w.add("trades", [], mark=("evm", 12))
    w.flush()
    assert w.durable_marks == {"evm": 12}
