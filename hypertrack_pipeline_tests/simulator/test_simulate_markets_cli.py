"""``hypertrack simulate`` with spot pairs and dex perps: coin names kept as the exchange spells them,
``--spot``/``--dex`` counts, ``--format``, and a default run left exactly as it was."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.simulator import commands
from hypertrack_pipeline.simulator.book import price_decimals
from hypertrack_pipeline.simulator.universe import COINS, select_coins


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hypertrack")
    commands.register(parser.add_subparsers(dest="command"))
    return parser


def test_coin_names_are_matched_not_upper_cased() -> None:
    assert commands.parse_coins("btc, kpepe,@107,XYZ:nvda,purr/usdc") == ("BTC", "kPEPE", "@107", "xyz:NVDA",
                                                                        "PURR/USDC")
    assert commands.parse_coins(" 6 ") == 6
    assert [c.kind for c in select_coins(("kPEPE", "@107", "xyz:NVDA"))] == ["perp", "spot", "dex"]
    assert select_coins(6) == COINS[:6]


def test_spot_and_dex_counts_add_markets_only_when_asked() -> None:
    assert commands.with_markets(6, 0, 0) == 6  # the default run is untouched
    assert commands.with_markets(2, 1, 2) == ("BTC", "ETH", "@107", "xyz:NVDA", "km:USTECH")
    assert commands.with_markets(("SOL", "@107"), 2, 0) == ("SOL", "@107", "PURR/USDC")
    with pytest.raises(UserError, match="--spot"):
        commands.with_markets(6, 99, 0)


def test_spot_prices_may_carry_eight_decimals_less_size_decimals() -> None:
    assert price_decimals(np.array([0.012]), np.array([0])).tolist() == [6]  # perp kPEPE: 6 - 0
    assert price_decimals(np.array([0.012]), np.array([0]), 8).tolist() == [6]  # 5 significant figures
    assert price_decimals(np.array([0.0009]), np.array([0]), 8).tolist() == [8]  # spot: up to 8 - 0


def test_simulate_node_archive_only(tmp_path: Path, capsys) -> None:
    out = tmp_path / "a"
    args = _parser().parse_args(["simulate", "--out", str(out), "--wallets", "20", "--days", "0.125", "--coins", "1",
                                 "--spot", "1", "--dex", "1", "--format", "node-archive", "--no-evm", "--quiet"])
    assert args.func(args) == 0
    assert "fills" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["ground_truth", "node_fills_by_block"]
    manifest = json.loads((out / "ground_truth" / "manifest.json").read_text())
    assert [c["name"] for c in manifest["coins"]] == ["BTC", "@107", "xyz:NVDA"]
    assert manifest["formats"] == ["node-archive"] and manifest["node_archive"]["fills"] > 0
    assert (out / "ground_truth" / "exchange_positions.parquet").is_file()
    with pytest.raises(UserError, match="already holds"):
        args.func(args)
