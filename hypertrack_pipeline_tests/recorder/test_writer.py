"""The landing writer: hour buckets, atomic parts, closing by watermark, late rows, gaps, restarts."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from hypertrack_pipeline.landing.zone import Hour, closed_hour_fingerprints, closed_hours, iter_stream_hours
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


def marker(raw: Path, stream: str, hour_ms: int) -> dict:
    return json.loads((raw / stream / Hour.of_ms(hour_ms).rel_dir() / "_SUCCESS").read_text())


def test_hour_closes_after_grace_and_late_rows_reopen_it(tmp_path: Path) -> None:
    clock = FakeClock()
    w = LandingWriter(tmp_path, ["trades"], grace_ms=60_000, clock=clock, tick_after_s=1000)
    w.add("trades", [trade(H0 + 1, 1), trade(H0 + 2, 2)])
    w.add("trades", [trade(H0 + HOUR_MS + 59_000, 3)])  # watermark: end + 59 s < grace
    assert w.close_due_hours() == []
    w.add("trades", [trade(H0 + 500, 4)])  # still open: lands
    w.add("trades", [trade(H0 + HOUR_MS + 60_000, 5)])
    assert w.close_due_hours() == [("trades", Hour.of_ms(H0).key)]
    first = marker(tmp_path, "trades", H0)
    assert (first["rows"], first["complete"], first["closed_by"]) == (3, True, "watermark")
    assert sorted(r["tid"] for r in read(tmp_path, "trades", H0)) == [1, 2, 4]
    fp = closed_hour_fingerprints(tmp_path)[Hour.of_ms(H0)]
    # Late rows are counted and held; a flush does not touch the closed hour...
    assert w.add("trades", [trade(H0 + 7, 6), trade(H0 + 9, 7)]) == 2
    w.flush()
    assert sorted(r["tid"] for r in read(tmp_path, "trades", H0)) == [1, 2, 4]
    assert w.close_due_hours() == []  # re-closed one grace after the reopening, not at once
    assert w.add("trades", [trade(H0 + 11, 9)]) == 1  # joins the same reopening
    assert w.stats["trades"].late_rows == 3
    # ...one grace later they land as a new part, with a rewritten marker: a new fingerprint.
    w.add("trades", [trade(H0 + HOUR_MS + 120_000, 8)])
    closed = w.close_due_hours()
    assert ("trades", Hour.of_ms(H0).key) in closed
    assert sorted(r["tid"] for r in read(tmp_path, "trades", H0)) == [1, 2, 4, 6, 7, 9]
    again = marker(tmp_path, "trades", H0)
    assert again["rows"] == 6 and again["parts"] == ["part-000000.parquet", "part-000001.parquet"]
    assert again["complete"] is True
    assert closed_hour_fingerprints(tmp_path)[Hour.of_ms(H0)] != fp
    assert w.stats["trades"].hours_reopened == 1
    assert not list(tmp_path.rglob("gaps/**/*.parquet"))  # landed rows are no gap
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


def test_stop_closes_running_hours_and_a_restart_reopens_them(tmp_path: Path) -> None:
    w1 = LandingWriter(tmp_path, ["trades"], grace_ms=1000)
    w1.add("trades", [trade(H0 + 1, 1)])
    assert w1.finish() == [("trades", Hour.of_ms(H0).key)]  # clean stop mid-hour: closed as recorded
    first = marker(tmp_path, "trades", H0)
    assert (first["rows"], first["complete"], first["closed_by"]) == (1, False, "stop")
    fp1 = closed_hour_fingerprints(tmp_path)[Hour.of_ms(H0)]
    assert w1.stats["trades"].hours_closed_on_stop == 1

    # A restart within the hour records on: not late; the stop marker goes before the new part lands.
    clock = FakeClock()
    w2 = LandingWriter(tmp_path, ["trades"], grace_ms=1000, clock=clock, tick_after_s=1000)
    assert w2.add("trades", [trade(H0 + 2, 2)]) == 0
    assert Hour.of_ms(H0) in closed_hours(tmp_path)  # nothing written yet: the old version stays loadable
    w2.flush()
    assert Hour.of_ms(H0) not in closed_hours(tmp_path)  # being recorded again
    w2.add("trades", [trade(H0 + HOUR_MS + 1000, 3)])
    assert ("trades", Hour.of_ms(H0).key) in w2.close_due_hours()
    assert sorted(r["tid"] for r in read(tmp_path, "trades", H0)) == [1, 2]
    second = marker(tmp_path, "trades", H0)
    assert second["rows"] == 2 and second["parts"] == ["part-000000.parquet", "part-000001.parquet"]
    assert (second["complete"], second["closed_by"]) == (False, "watermark")  # the restart left a hole
    fp2 = closed_hour_fingerprints(tmp_path)[Hour.of_ms(H0)]
    assert fp2 != fp1
    assert w2.finish() == [("trades", Hour.of_ms(H0 + HOUR_MS).key)]  # the running hour, as recorded

    # A third run, after the hour was over: its rows are late, but land (reopened, closed again).
    w3 = LandingWriter(tmp_path, ["trades"], grace_ms=1000)
    assert w3.add("trades", [trade(H0 + 3, 9)]) == 1
    w3.finish()
    assert sorted(r["tid"] for r in read(tmp_path, "trades", H0)) == [1, 2, 9]
    third = marker(tmp_path, "trades", H0)
    assert third["rows"] == 3 and len(third["parts"]) == 3
    assert closed_hour_fingerprints(tmp_path)[Hour.of_ms(H0)] not in (fp1, fp2)
    assert [h for h, _ in iter_stream_hours(tmp_path, "trades")] == [Hour.of_ms(H0), Hour.of_ms(H0 + HOUR_MS)]
    assert all(closed for _, closed in iter_stream_hours(tmp_path, "trades"))


def test_a_crashed_runs_open_hour_is_closed_on_the_next_stop(tmp_path: Path) -> None:
    from hypertrack_pipeline.landing.zone import write_part
    from hypertrack_pipeline.recorder.writer import _table

    write_part(tmp_path, "trades", Hour.of_ms(H0), _table("trades", [trade(H0 + 1, 1)]))  # no marker: a crash
    w = LandingWriter(tmp_path, ["trades"], grace_ms=1000)
    w.finish()
    assert (marker(tmp_path, "trades", H0)["rows"], marker(tmp_path, "trades", H0)["closed_by"]) == (1, "stop")


def test_late_gap_rows_reopen_the_closed_gaps_hour(tmp_path: Path) -> None:
    clock = FakeClock()
    w = LandingWriter(tmp_path, ["trades"], grace_ms=1000, clock=clock, tick_after_s=1000)
    w.add("trades", [trade(H0 + 1, 1)])
    w.open_gap("a", "trades", "BTC", H0 + 10, "disconnect: x")
    w.close_gap("a", H0 + 20)
    w.add("trades", [trade(H0 + HOUR_MS + 5000, 2)])
    assert ("gaps", Hour.of_ms(H0).key) in w.close_due_hours()
    w.open_gap("b", "trades", "ETH", H0 + 30, "disconnect: y")  # a gap of a closed hour, noted late
    w.close_gap("b", H0 + 40)
    w.finish()
    assert [g["coin"] for g in read(tmp_path, "gaps", H0)] == ["BTC", "ETH"]
    assert marker(tmp_path, "gaps", H0)["rows"] == 2


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
