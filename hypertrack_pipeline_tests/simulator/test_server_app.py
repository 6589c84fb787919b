"""The thin app alone: its wiring, the attributes it forwards to the pieces, its routes, and the
``serve-sim`` options' help text naming their defaults."""

from __future__ import annotations

import argparse
import json
import urllib.request

import pytest

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.simulator import server as server_pkg
from hypertrack_pipeline.simulator import server_cli
from hypertrack_pipeline.simulator.server import SimServer, TableSource


def test_old_import_path_keeps_every_name() -> None:
    for name in ("SimServer", "TableSource", "EventSource", "market_source", "shift_times", "FAULT_KINDS",
                 "GREETING", "CHAIN_ID", "CHANNELS", "DEFAULT_DELISTED"):
        assert hasattr(server_pkg, name), name


def test_pieces_are_wired_and_attributes_forward_to_them() -> None:
    srv = SimServer(TableSource([], universe=["BTC"]), speed=2.5, idle_timeout_s=9, start_ms=5, delisted=["X"],
                    max_subscriptions=3, l2_snapshot_on_subscribe=False, recent_trades_on_subscribe=4,
                    log_trades=False, evm_keep_blocks=10)
    assert (srv.speed, srv.clock.speed) == (2.5, 2.5)
    assert srv.start_ms == srv.pump.start_ms == 5
    assert srv.idle_timeout_s == srv.sessions.idle_timeout_s == 9
    assert srv.max_subscriptions == srv.sessions.max_subscriptions == 3
    assert srv.delisted == srv.info.delisted == ("X",)
    assert srv.l2_snapshot_on_subscribe is srv.snapshots.l2_on_subscribe is False
    assert srv.recent_trades_on_subscribe == srv.recent.frames == 4
    assert srv.log_trades is srv.sent_log.log_trades is False
    assert srv.evm_keep_blocks == srv.chain.keep_blocks == 10
    assert srv.fault_counts is srv.faults.counts and srv.sent_messages is srv.sent_log.messages
    assert srv.connections_total == 0
    srv.speed = 0.0
    assert srv.clock.speed == 0.0
    assert srv.sessions.on_subscribe is srv.snapshots and srv.sessions.pongs_allowed == srv.faults.pongs_allowed
    srv.pause()  # before start: applied directly
    assert srv.clock.paused
    srv.resume()
    assert not srv.clock.paused and srv.sim_time_ms() is None
    with pytest.raises(UserError, match="speed must be"):
        SimServer(TableSource([]), speed=-0.5)
    with pytest.raises(RuntimeError, match="not running"):
        srv.inject("drop")
    with pytest.raises(UserError, match="unknown fault"):
        srv.inject("boom")


def test_routes() -> None:
    srv = SimServer(TableSource([], universe=["BTC"]))
    routes = {(r.method, r.resource.canonical) for r in srv.build_app().router.routes()}
    assert {("GET", "/"), ("GET", "/ws"), ("POST", "/info"), ("POST", "/evm")} <= routes
    with srv:
        req = urllib.request.Request(srv.info_url, data=b'{"type":"meta"}')
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert json.loads(resp.read())["universe"][0]["name"] == "BTC"
        req = urllib.request.Request(srv.evm_url, data=b'{"id":1,"method":"eth_chainId"}')
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert json.loads(resp.read())["result"] == "0x3e7"
        assert srv.wait_done(5) and srv.stats()["done"] is True
        assert srv.ws_url == f"ws://127.0.0.1:{srv.port}/ws"


def test_every_option_with_a_default_names_it_in_its_help() -> None:
    parser = argparse.ArgumentParser()
    server_cli.add_arguments(parser)
    checked = []
    for action in parser._actions:  # noqa: SLF001 - argparse has no public list of actions
        if not action.option_strings or action.nargs == 0 or action.default in (None, argparse.SUPPRESS, []):
            continue  # flags (--help, --live) and options without a default
        assert action.help is not None and action.help.endswith("(default: %(default)s)"), action.dest
        checked.append(action.dest)
    assert {"host", "port", "speed", "idle_timeout", "trades_snapshot"} <= set(checked)
    text = parser.format_help()
    assert "(default: 8765)" in text and "(default: 127.0.0.1)" in text
