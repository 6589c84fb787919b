"""``hypertrack simulate`` through its register() + argparse, and the mistakes it rejects."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.simulator import SimConfig, commands
from hypertrack_pipeline.simulator.market import Market


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hypertrack")
    commands.register(parser.add_subparsers(dest="command"))
    return parser


def test_simulate_command_writes_a_landing_zone(tmp_path: Path, capsys) -> None:
    out = tmp_path / "s"
    args = _parser().parse_args(["simulate", "--out", str(out), "--seed", "3", "--wallets", "30",
                                 "--days", "0.125", "--coins", "BTC,ETH,SOL", "--no-evm", "--quiet"])
    assert args.func(args) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("simulated ") and "fills" in line and "30 wallets" in line
    assert sorted(p.name for p in (out / "raw").iterdir()) == ["bbo", "candles", "l2book", "trades"]
    manifest = json.loads((out / "ground_truth" / "manifest.json").read_text())
    assert [c["name"] for c in manifest["coins"]] == ["BTC", "ETH", "SOL"] and manifest["seed"] == 3
    # a second run into the same folder refuses, --force replaces it
    with pytest.raises(UserError, match="already holds"):
        args.func(args)
    forced = _parser().parse_args([*map(str, ["simulate", "--out", out, "--wallets", "30", "--days", "0.125",
                                              "--quiet", "--force"])])
    assert forced.func(forced) == 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--wallets", "1"], "--wallets"),
        (["--days", "0"], "--days"),
        (["--coins", "BTC,NOPE"], "unknown coin"),
        (["--coins", "99"], "--coins"),
        (["--start", "yesterday"], "--start"),
        (["--start", "2026-01-05T00:30:00Z"], "whole hour"),
        (["--target-fills", "0"], "--target-fills"),
        (["--l2-every", "0.1"], "l2"),
        (["--prehistory-days", "5"], "prehistory"),
    ],
)
def test_bad_arguments_raise_user_error(tmp_path: Path, argv: list[str], message: str) -> None:
    args = _parser().parse_args(["simulate", "--out", str(tmp_path / "x"), "--quiet", *argv])
    with pytest.raises(UserError, match=message):
        args.func(args)
    assert not (tmp_path / "x").exists()


def test_out_must_not_be_a_file(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    args = _parser().parse_args(["simulate", "--out", str(f), "--wallets", "20", "--days", "0.05", "--quiet"])
    with pytest.raises(UserError, match="not a folder"):
        args.func(args)


def test_config_errors_are_user_errors() -> None:
    with pytest.raises(UserError):
        Market(SimConfig(mix=(("market_maker", 1.0), ("dragon", 1.0))))
    with pytest.raises(UserError):
        Market(SimConfig(chunk_ms=7_000))
