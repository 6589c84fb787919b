"""The account_state stream against the simulator's Info server on 127.0.0.1: pacing within the stated share
of the 1200-weight budget (a simulated clock drives the poller through ten minutes of requests), backoff on
429s injected by the server, wallets from the pipeline's file (re-read when it changes), and the recorder
landing and closing the account hours that the warehouse then loads."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import duckdb
import pytest

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.hyperliquid.account import account_rows
from hypertrack_pipeline.hyperliquid.info import InfoClient
from hypertrack_pipeline.landing.zone import closed_hours
from hypertrack_pipeline.recorder.account import (
    AccountOptions,
    AccountPoller,
    TrackedWallets,
    cycle_minutes,
    polls_per_minute,
)
from hypertrack_pipeline.recorder.cli import parse_wallets
from hypertrack_pipeline.recorder.status import Counters
from hypertrack_pipeline.recorder.writer import LandingWriter
from hypertrack_pipeline.simulator.server import SimServer, TableSource
from hypertrack_pipeline.warehouse import load_hours, tracked
from hypertrack_pipeline.warehouse.schema import ensure_schema

WALLETS = [f"0x{i:040x}" for i in range(1, 30)]  # the conftest market's wallets


class FakeClock:
    """Simulated seconds: ``sleep`` advances them at once; stops the poller past ``end``."""

    def __init__(self, end: float) -> None:
        self.t = 1000.0
        self.end = 1000.0 + end
        self.stop = threading.Event()

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> bool:
        self.t += max(s, 1e-6)
        if self.t >= self.end:
            self.stop.set()
        return self.stop.is_set()


def poller(srv: SimServer, tmp_path: Path, clock: FakeClock, wallets: list[str], **opts: object) -> AccountPoller:
    writer = LandingWriter(tmp_path / "raw", ("account_state", "account_positions"), grace_ms=1000)
    tracked_wallets = TrackedWallets(tmp_path / "state" / "tracked_wallets.json", 200, wallets)
    info = InfoClient(srv.info_url, weight_per_min=1e9)  # the shared client's own limit is not under test here
    return AccountPoller(info, writer, Counters(), tracked_wallets, clock.stop, AccountOptions(**opts),
                         say=lambda _line: None, clock=clock, sleep=clock.sleep)


def run(p: AccountPoller, clock: FakeClock) -> None:
    while not clock.stop.is_set():
        p.step()


@pytest.fixture
def served(make_market):  # noqa: ANN001
    with SimServer(TableSource(make_market(seconds=120, trades_per_s=5)), speed=0) as srv:
        assert srv.wait_done(30)
        yield srv


@pytest.mark.parametrize("share", [0.25, 1.0])
def test_polls_stay_within_the_share_of_the_budget_every_minute(served: SimServer, tmp_path: Path,
                                                                 share: float) -> None:
    clock = FakeClock(end=600.0)  # ten simulated minutes
    p = poller(served, tmp_path, clock, WALLETS[:7], share=share)
    run(p, clock)
    budget = share * 1200  # weight a minute; a poll weighs 2
    times = list(p.poll_times)
    assert len(times) == p.polls == served.stats()["info_requests"]["clearinghouseState"]
    # in every 60 s window (sliding, from each request): at most the share, plus the one poll the bucket holds
    worst = max(sum(1 for u in times[i:] if u < t + 60.0) for i, t in enumerate(times))
    assert 2 * worst <= budget + 2
    assert 2 * p.polls >= 0.97 * budget * 10  # and it uses what it may: ~150 (0.25) or ~600 (1.0) a minute
    assert polls_per_minute(share) == budget / 2 and cycle_minutes(7, 0.25) == pytest.approx(7 / 150)
    # round robin: each of the 7 wallets in turn, a row landed for every poll
    assert p.counters.msgs["account_state"] == p.polls
    assert p.writer.flush() >= p.polls
    got = duckdb.sql(f"SELECT wallet, count(*) FROM read_parquet('{tmp_path}/raw/account_state/**/*.parquet') "
                     "GROUP BY 1").fetchall()
    counts = dict(got)
    assert set(counts) == set(WALLETS[:7]) and max(counts.values()) - min(counts.values()) <= 1


def test_429_backs_off_exponentially_then_resumes_and_logs_a_gap(served: SimServer, tmp_path: Path) -> None:
    clock = FakeClock(end=300.0)
    p = poller(served, tmp_path, clock, WALLETS[:3], share=0.25, backoff_base_s=1.0, backoff_max_s=8.0)
    for _ in range(20):  # a few good polls first, so the gap has a known start
        p.step()
    assert p.polls >= 3 and not p.failures
    served.inject("info_429", n=6, type="clearinghouseState")
    starts: list[float] = []
    while p.failures["HTTP 429"] < 6:
        before = p.polls
        p.step()
        if p.polls > before:
            starts.append(clock.t)
    ok_before = p.counters.msgs["account_state"]
    for _ in range(20):
        p.step()
    assert p.counters.msgs["account_state"] > ok_before  # resumed, nothing crashed
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    # jittered doubling (half to all of 1, 2, 4, 8, 8 s: capped at 8), never sooner than the pacing
    for k, g in enumerate(gaps):
        full = min(8.0, 2.0**k)
        assert 0.5 * full - 1e-6 <= g <= full + 0.4 + 1e-6, (k, gaps)
    assert p.backoffs == 6 and p._attempt == 0  # noqa: SLF001 - reset by the first success
    p.writer.finish()
    gap_rows = duckdb.sql(f"SELECT stream, cause, end_ms - start_ms FROM read_parquet("
                          f"'{tmp_path}/raw/gaps/**/*.parquet') ORDER BY stream").fetchall()
    assert [(s, c) for s, c, _ in gap_rows] == [("account_positions", "account polling: HTTP 429"),
                                                ("account_state", "account polling: HTTP 429")]


def test_a_wallet_the_exchange_refuses_leaves_the_rotation(served: SimServer, tmp_path: Path) -> None:
    clock = FakeClock(end=60.0)
    p = poller(served, tmp_path, clock, [WALLETS[0], "0x" + "zz" * 20, WALLETS[1]])
    run(p, clock)
    assert p.refused == {"0x" + "zz" * 20} and p.failures == {"HTTP 422": 1}
    assert p.wallets == WALLETS[:2] and p.polls > 100


def test_wallets_come_from_the_pipelines_file_and_follow_its_changes(tmp_path: Path) -> None:
    path = tmp_path / "tracked.json"
    tw = TrackedWallets(path, top=1, explicit=[WALLETS[5]])
    assert tw.refresh() is False and tw.wallets == [WALLETS[5]]  # no file yet: the explicit ones
    rows = [{"wallet": WALLETS[0], "reason": "top_notional", "notional_rank": 1},
            {"wallet": WALLETS[1], "reason": "top_notional", "notional_rank": 2},
            {"wallet": WALLETS[2].upper().replace("0X", "0x"), "reason": "Whale", "notional_rank": 9}]
    tracked.write_tracked_wallets(path, rows, 2)
    assert tw.refresh() is True and tw.wallets == [WALLETS[5], WALLETS[0], WALLETS[2]]
    assert tw.refresh() is False  # unchanged file: not re-read
    path.write_text("{half a fi")
    assert tw.refresh() is False and tw.wallets == [WALLETS[5], WALLETS[0], WALLETS[2]]  # keeps the old list
    tracked.write_tracked_wallets(path, rows[1:2], 2)
    tw.top = 5
    assert tw.refresh() is True and tw.wallets == [WALLETS[5], WALLETS[1]]
    assert parse_wallets(f" {WALLETS[3].upper().replace('0X', '0x')},{WALLETS[3]}") == (WALLETS[3],)
    with pytest.raises(UserError, match="not a wallet address"):
        parse_wallets("0x12")


def test_account_flags_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hypertrack_pipeline.cli import build_parser
    from hypertrack_pipeline.recorder.cli import options_from_args

    def opts(*argv: str):  # noqa: ANN202
        return options_from_args(build_parser().parse_args(["record", "--data-dir", str(tmp_path), *argv]))

    default = opts().account
    assert (default.top, default.share, default.wallets) == (200, 0.25, ())
    monkeypatch.setenv("HYPERTRACK_ACCOUNT_TOP", "50")
    monkeypatch.setenv("HYPERTRACK_ACCOUNT_SHARE", "0.1")
    assert (opts().account.top, opts().account.share) == (50, 0.1)
    got = opts("--account-top", "7", "--account-share", "0.5", "--account-wallets", f"{WALLETS[0]},{WALLETS[1]}",
               "--streams", "account").account
    assert (got.top, got.share, got.wallets) == (7, 0.5, (WALLETS[0], WALLETS[1]))
    for argv, message in ((["--account-share", "1.5"], "--account-share must be in"),
                          (["--account-top", "-1"], "--account-top must be"),
                          (["--account-wallets", "bob"], "not a wallet address")):
        with pytest.raises(UserError, match=message):
            opts(*argv)
    assert opts("--streams", "account").streams == ("account_state", "account_positions")


def test_the_real_2023_answer_parses(hl_fixtures: Path) -> None:
    body = json.loads((hl_fixtures / "info" / "test_get_user_state__clearinghouseState.json").read_text())
    user = body["request"]["user"]
    state, positions = account_rows(user, body["response"], 123, 0)
    assert state == (user, 123, 1182.312496, 3434.815334, 86.549602, 171.740766, None, 1010.57173, 12, 0)
    btc = positions[0]
    assert btc[2:13] == ("BTC", -0.00785, 26951.0, 211.64542, -0.08007, -0.00756643, 20.0, "cross",
                         173198.69592357, 10.582271, None)
    assert positions[1][10] is None  # ETH: no liquidation price


def test_the_recorder_lands_account_hours_the_warehouse_loads(tmp_path: Path, run_recorder, make_market) -> None:  # noqa: ANN001
    data = tmp_path / "data"
    with SimServer(TableSource(make_market(seconds=2 * 3600, trades_per_s=1.0, books_per_s=0.5)), speed=1800,
                   paused=True) as srv:
        # the pipeline's choice: two wallets from its file, one more given on the command line
        tracked.write_tracked_wallets(data / "state" / "tracked_wallets.json",
                                      [{"wallet": w, "reason": "top_notional", "notional_rank": i + 1}
                                       for i, w in enumerate(WALLETS[:2])], 2)
        rt = run_recorder(ws_url=srv.ws_url, info_url=srv.info_url, coins=["BTC", "ETH"],
                          streams=("trades", "account_state", "account_positions"), close_grace_seconds=30.0,
                          account=AccountOptions(share=1.0, wallets=(WALLETS[2],)))
        assert srv.wait_subscriptions(2)
        srv.resume()
        assert srv.wait_done(60)
        time.sleep(1.0)
        assert rt.stop() == 0
        polls = srv.stats()["info_requests"]["clearinghouseState"]
    raw = data / "raw"
    got = duckdb.sql(f"SELECT wallet, count(*), min(time), max(time) FROM read_parquet("
                     f"'{raw}/account_state/**/part-*.parquet') GROUP BY 1 ORDER BY 1").fetchall()
    assert [r[0] for r in got] == WALLETS[:3] and sum(r[1] for r in got) == polls
    assert (raw / "account_state" / "date=2026-01-01" / "hour=12" / "_SUCCESS").is_file()  # closed by watermark
    assert json.loads((raw / "account_state" / "date=2026-01-01" / "hour=12" / "_SUCCESS").read_text())["complete"]
    report = (data / "data_collection_report.txt").read_text()
    assert "account_state polls:" in report and "Stream: account_positions" in report
    status = (data / "status.log").read_text()
    assert "account_state: polling 3 wallet(s) (1 given, 2 from tracked_wallets.json)" in status
    con = duckdb.connect()
    ensure_schema(con)
    load_hours(con, raw, closed_hours(raw))
    assert con.execute("SELECT count(*) FROM account_state").fetchall()[0][0] == polls
    # positions as the exchange sees them equal the wallet's fills up to the answer's time
    mismatch = con.execute("""
        WITH pos AS (SELECT a.wallet, a.time_ms, p.coin, p.size FROM account_state a
                     JOIN account_positions p USING (wallet, time_ms)),
             want AS (SELECT s.wallet, s.time_ms, f.coin, sum(f.side_sign * f.sz) AS size
                      FROM account_state s JOIN fills f ON f.wallet = s.wallet AND f.time_ms <= s.time_ms
                      WHERE f.wallet <> f.counterparty GROUP BY ALL HAVING abs(sum(f.side_sign * f.sz)) > 1e-9)
        SELECT wallet, time_ms, coin, pos.size, want.size FROM pos FULL JOIN want USING (wallet, time_ms, coin)
        WHERE pos.size IS NULL OR want.size IS NULL OR abs(pos.size - want.size) > 1e-6""").fetchall()
    assert mismatch == []


def test_no_wallets_means_idle_said_once(tmp_path: Path, run_recorder, make_market) -> None:  # noqa: ANN001
    with SimServer(TableSource(make_market(seconds=60, trades_per_s=1.0)), speed=60) as srv:
        rt = run_recorder(ws_url=srv.ws_url, info_url=srv.info_url, coins=["BTC"],
                          streams=("trades", "account_state", "account_positions"),
                          account=AccountOptions(reload_check_s=0.1))
        time.sleep(1.0)
        assert rt.stop() == 0
        assert srv.stats()["info_requests"].get("clearinghouseState", 0) == 0
    status = (tmp_path / "data" / "status.log").read_text()
    assert status.count("account_state: idle") == 1
