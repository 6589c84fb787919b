"""wallet_features from mergeable partials (partials.py) equals the full build (features.py): on a
simulated market loaded hour by hour, after a re-landed hour, after a worker died half way, and when
the units are computed by separate worker processes from the landing zone."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from hypertrack_pipeline.landing.zone import closed_hours
from hypertrack_pipeline.warehouse import build_wallet_features, load_hours
from hypertrack_pipeline.warehouse.features import data_end_ms
from hypertrack_pipeline.warehouse.loading import loaded_versions
from hypertrack_pipeline.warehouse.partials import (
    DAY_MS,
    HOUR_MS,
    Unit,
    UnitStore,
    merge_units,
    plan_units,
    signature,
    update_units,
)
from hypertrack_pipeline.warehouse.schema import wallet_features_columns
from hypertrack_pipeline_tests.warehouse.conftest import all_hours, market_landing
from hypertrack_pipeline_tests.warehouse.landing_builder import T0

simulator = pytest.importorskip("hypertrack_pipeline.simulator.writer")
market = pytest.importorskip("hypertrack_pipeline.simulator.market")

REL = 1e-9  # of each feature's scale (its largest magnitude over wallets): the summation order differs


def assert_same_features(con: duckdb.DuckDBPyConnection, a: str, b: str) -> None:
    """Same wallets, and every column equal to REL of its scale (integers and flags exactly)."""
    n_a, n_b, both = con.execute(f"""SELECT (SELECT count(*) FROM {a}), (SELECT count(*) FROM {b}),
                                            (SELECT count(*) FROM {a} JOIN {b} USING (wallet))""").fetchall()[0]
    assert n_a == n_b == both and n_a > 0
    bad = {}
    for col in list(wallet_features_columns())[1:]:
        n, worst = con.execute(f"""
            WITH s AS (SELECT greatest(max(abs({col}::DOUBLE)), 1e-300) AS scale FROM {a})
            SELECT count(*) FILTER (WHERE abs(x.{col}::DOUBLE - y.{col}::DOUBLE) > {REL} * s.scale),
                   max(abs(x.{col}::DOUBLE - y.{col}::DOUBLE) / s.scale)
            FROM {a} x JOIN {b} y USING (wallet), s""").fetchall()[0]
        if n:
            bad[col] = (n, worst)
    assert not bad, f"features differ (column: wallets, worst relative difference): {bad}"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A day and a half of a simulated market (so one day becomes a day unit and the rest stays hourly)."""
    out = tmp_path_factory.mktemp("partials_sim")
    simulator.simulate(out, market.SimConfig(seed=3, wallets=80, days=1.3))
    return out


def _versions(hours) -> dict[str, str]:
    return {h.key: "v1" for h in hours}


def test_units_cover_whole_days_once_nothing_later_can_change_them() -> None:
    day = T0 - T0 % DAY_MS
    hours = [day + h * HOUR_MS for h in range(27)]  # a day and three hours
    units = plan_units(hours, data_end=hours[-1] + HOUR_MS)
    assert units[0] == Unit(day, day + DAY_MS)
    assert units[1:] == [Unit(h, h + HOUR_MS) for h in hours[24:]]
    # until the data reaches an hour past its end, a day stays in 6-hour blocks and hours (its last fills'
    # horizons are open)
    six = 6 * HOUR_MS
    assert plan_units(hours[:24], data_end=day + DAY_MS) == [
        Unit(day, day + six), Unit(day + six, day + 2 * six), Unit(day + 2 * six, day + 3 * six),
        *(Unit(h, h + HOUR_MS) for h in hours[18:24])]
    assert plan_units(hours[:25], data_end=day + DAY_MS + HOUR_MS)[0] == Unit(day, day + DAY_MS)
    # a unit's signature moves with the hours in its reach and the data's end inside it, not elsewhere
    u = Unit(day + 5 * HOUR_MS, day + 6 * HOUR_MS)
    v = {h: "a" for h in hours}
    base = signature(u, v, hours[-1] + HOUR_MS)
    assert signature(u, v | {day + 3 * HOUR_MS: "b"}, hours[-1] + HOUR_MS) != base  # 2 h before: in reach
    assert signature(u, v | {day + 2 * HOUR_MS: "b"}, hours[-1] + HOUR_MS) == base  # 3 h before: not
    assert signature(u, v | {day + 6 * HOUR_MS: "b"}, hours[-1] + HOUR_MS) != base  # 1 h after: in reach
    assert signature(u, v | {day + 7 * HOUR_MS: "b"}, hours[-1] + HOUR_MS) == base
    assert signature(u, v, day + 6 * HOUR_MS) != signature(u, v, day + 7 * HOUR_MS)  # data end inside the reach
    assert signature(u, v, day + 7 * HOUR_MS) == signature(u, v, day + 30 * HOUR_MS)


def test_hour_by_hour_equals_full_build(sim: Path, tmp_path: Path) -> None:
    hours = sorted(closed_hours(sim / "raw"))
    con = duckdb.connect()
    store = UnitStore(str(tmp_path / "store"))
    computed = []
    for i, hour in enumerate(hours):
        load_hours(con, sim / "raw", [hour], fingerprints=_versions([hour]))
        work = update_units(con, store, loaded_versions(con), data_end_ms(con))
        computed.append(len(work.computed))
        if i in (len(hours) // 2, len(hours) - 1):  # check mid-way and at the end
            merge_units(con, store.relation(work.units), "wf_incremental")
            build_wallet_features(con)
            assert_same_features(con, "wallet_features", "wf_incremental")
    # an hour recomputes its own unit and its predecessor's (whose forward mark-outs it completes), or the
    # 6-hour block or day it closes: never the history
    assert max(computed) <= 2
    assert sum(computed) < 3 * len(hours)


def test_relanded_hour_and_dead_worker_recompute_only_their_units(sim: Path, tmp_path: Path) -> None:
    hours = sorted(closed_hours(sim / "raw"))
    con = duckdb.connect()
    load_hours(con, sim / "raw", hours, fingerprints=_versions(hours))
    store = UnitStore(str(tmp_path / "store"))
    first = update_units(con, store, loaded_versions(con), data_end_ms(con))
    assert update_units(con, store, loaded_versions(con), data_end_ms(con)).computed == []  # nothing changed
    # an hour re-landed (new markers) and loaded again: only the units whose reach holds it
    again = hours[-5]
    load_hours(con, sim / "raw", [again], fingerprints={again.key: "v2"})
    work = update_units(con, store, loaded_versions(con), data_end_ms(con))
    start = int(again.start.timestamp() * 1000)
    assert work.computed and all(u.reach()[0] <= start < u.reach()[1] for u in work.computed)
    assert len(work.computed) < len(first.units)
    # a worker that died after writing a unit's parquet but before its commit file: that unit is redone
    victim = work.units[0]
    Path(tmp_path / "store" / "units" / f"{victim.key}.json").unlink()
    assert update_units(con, store, loaded_versions(con), data_end_ms(con)).computed == [victim]
    merge_units(con, store.relation(work.units), "wf_incremental")
    build_wallet_features(con)
    assert_same_features(con, "wallet_features", "wf_incremental")
    meta = json.loads((tmp_path / "store" / "units" / f"{victim.key}.json").read_text())
    assert meta["rows"]["wallet"] > 0


def test_separate_worker_processes_from_the_landing_zone(sim: Path, tmp_path: Path) -> None:
    hours = sorted(closed_hours(sim / "raw"))
    con = duckdb.connect()
    load_hours(con, sim / "raw", hours, fingerprints=_versions(hours))
    here, there = UnitStore(str(tmp_path / "here")), UnitStore(str(tmp_path / "workers"))
    a = update_units(con, here, loaded_versions(con), data_end_ms(con))
    b = update_units(con, there, loaded_versions(con), data_end_ms(con), workers=2, landing=str(sim / "raw"))
    assert a.units == b.units and len(b.computed) > 2
    merge_units(con, here.relation(a.units), "wf_here")
    merge_units(con, there.relation(b.units), "wf_workers")
    assert_same_features(con, "wf_here", "wf_workers")


def test_hand_made_market_across_hour_units(tmp_path: Path) -> None:
    """The hand-computed feature market (test_features.py) split into hour units: flips, event gaps,
    counterparties and EVM sets continue exactly across unit boundaries."""
    raw = tmp_path / "raw"
    market_landing(raw)
    con = duckdb.connect()
    hours = all_hours(T0, 5)
    load_hours(con, raw, hours, fingerprints=_versions(hours))
    store = UnitStore(str(tmp_path / "store"))
    work = update_units(con, store, loaded_versions(con), data_end_ms(con))
    assert all(u.end_ms - u.start_ms == HOUR_MS for u in work.units) and len(work.units) == 5
    merge_units(con, store.relation(work.units), "wf_incremental")
    build_wallet_features(con)
    assert_same_features(con, "wallet_features", "wf_incremental")
